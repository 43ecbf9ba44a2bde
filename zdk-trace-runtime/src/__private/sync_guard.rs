//! The guard of a sync function's span: entered for the call, a panic recorded on the way
//! out.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

use crate::span::{Head, Span};

/// The span of a sync function, entered for the call. Ends the span when dropped, after
/// recording a panic if the function is unwinding (and was not already, when it started).
///
/// It borrows the span where the expansion declared it rather than taking it: a span moved
/// right after it was written is read back while its writes are still in flight (a
/// store-forwarding stall, a few ns per move on the hot path).
#[derive(Debug)]
#[must_use = "the span is current only while this guard lives"]
pub struct SyncGuard<'a> {
    span: &'a mut Span,
    /// 0: nothing was pushed.
    span_id: u64,
    _not_send: PhantomData<*const ()>,
}

/// Where a sync function's span lies while the call runs (the expansion declares it, empty,
/// and [`start_entered`] starts the span in it). It has no drop of its own: the
/// [`SyncGuard`] always leaves the span ended and empty, so the function's exit checks
/// nothing more.
#[derive(Debug)]
pub struct SyncSpan(ManuallyDrop<Span>);

impl SyncSpan {
    /// An empty (disabled) span.
    #[inline]
    pub const fn new() -> SyncSpan {
        SyncSpan(ManuallyDrop::new(Span::disabled()))
    }
}

impl Default for SyncSpan {
    fn default() -> SyncSpan {
        SyncSpan::new()
    }
}

/// Starts a span named and of the kind `head` says in `span` and enters it for a sync
/// function's call, with one visit to the thread's state; the guard ends it. The expansion
/// sets the span's attributes through the guard.
#[inline]
pub fn start_entered<'a>(span: &'a mut SyncSpan, head: &'static Head) -> SyncGuard<'a> {
    let span: &'a mut Span = &mut span.0;
    // A span started while the thread unwinds is marked there (only one that records can).
    let span_id = span.start_entered(head);
    SyncGuard {
        span,
        span_id,
        _not_send: PhantomData,
    }
}

/// Enters `span` for a sync function's call; the guard ends it.
#[inline]
pub fn enter(span: &mut Span) -> SyncGuard<'_> {
    let span_id = span.push_frame();
    if std::thread::panicking() {
        span.mark_was_panicking();
    }
    SyncGuard {
        span,
        span_id,
        _not_send: PhantomData,
    }
}

impl Deref for SyncGuard<'_> {
    type Target = Span;

    fn deref(&self) -> &Span {
        self.span
    }
}

impl DerefMut for SyncGuard<'_> {
    fn deref_mut(&mut self) -> &mut Span {
        self.span
    }
}

impl Drop for SyncGuard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // Head-dropped without metrics (a sampled-out span): no panic to record, only the
        // frame to pop. Inlined, so the expansion sees the span end and drops nothing more.
        if !self.span.end_head_dropped(self.span_id) {
            self.span.exit_and_end_unwinding(self.span_id);
        }
    }
}
