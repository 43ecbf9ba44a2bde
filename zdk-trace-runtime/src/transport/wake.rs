//! Waking the collector: producers unpark it when their ring is half full (or full), and
//! control requests unpark it at once; otherwise it sleeps between drains.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::Thread;

use arc_swap::ArcSwapOption;
use once_cell::sync::Lazy;

/// The collector thread, for producers to wake when their ring fills up.
static COLLECTOR: Lazy<ArcSwapOption<Thread>> = Lazy::new(ArcSwapOption::empty);
static WAKE_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Wakes the collector (once until it runs again).
#[inline]
pub(crate) fn wake_collector() {
    // Load first: while a wake is pending, callers pay a shared read, not a locked swap.
    if !WAKE_REQUESTED.load(Ordering::Relaxed) && !WAKE_REQUESTED.swap(true, Ordering::AcqRel) {
        if let Some(thread) = COLLECTOR.load().as_ref() {
            thread.unpark();
        }
    }
}

/// Registers the calling thread as the collector to wake (`None` when it stops).
pub(crate) fn set_collector(thread: Option<Thread>) {
    COLLECTOR.store(thread.map(Arc::new));
}

/// Called by the collector at the start of each cycle: later producers must wake it again.
#[inline]
pub(crate) fn clear_wake_request() {
    WAKE_REQUESTED.store(false, Ordering::Release);
}

/// Wakes the collector now, whether or not a wake is pending (for control requests).
pub(crate) fn unpark_collector() {
    if let Some(thread) = COLLECTOR.load().as_ref() {
        thread.unpark();
    }
}
