//! The overflow lane: one shared, lock-free channel to the collector for the spans that do not
//! fit in their thread's ring, used only when a burst outruns the collector. Bounded by the
//! export queue's size, set by each pipeline at start.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{unbounded, Receiver, Sender};
use once_cell::sync::Lazy;

use super::slot::Filled;
use super::wake::wake_collector;

/// Spans that did not fit in their thread's ring: a shared lock-free lane to the collector,
/// used only when a burst outruns it. Bounded by `OVERFLOW_CAP` (the queue size).
static OVERFLOW: Lazy<(Sender<Filled>, Receiver<Filled>)> = Lazy::new(unbounded);
static OVERFLOW_LEN: AtomicUsize = AtomicUsize::new(0);
static OVERFLOW_CAP: AtomicUsize = AtomicUsize::new(0);

/// Sends a span down the overflow lane; `false` (span dropped) when the lane is full.
pub(crate) fn push_overflow(span: Filled) -> bool {
    let accepted = OVERFLOW_LEN.fetch_add(1, Ordering::AcqRel)
        < OVERFLOW_CAP.load(Ordering::Relaxed)
        && OVERFLOW.0.send(span).is_ok();
    if !accepted {
        OVERFLOW_LEN.fetch_sub(1, Ordering::AcqRel);
    }
    wake_collector();
    accepted
}

/// Takes the next span from the overflow lane (collector side), if any.
#[inline]
pub(crate) fn pop_overflow() -> Option<Filled> {
    let span = OVERFLOW.1.try_recv().ok()?;
    OVERFLOW_LEN.fetch_sub(1, Ordering::AcqRel);
    Some(span)
}

/// Bounds the lane to `cap` spans (a new pipeline's queue size).
pub(crate) fn set_overflow_cap(cap: usize) {
    OVERFLOW_CAP.store(cap, Ordering::Relaxed);
}
