//! The guard of a sync function's span: entered for the call, a panic recorded on the way
//! out.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use opentelemetry::trace::SpanKind;

use crate::span::Span;

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

/// Starts a span of `kind` named `name` in `span` (a disabled one the expansion declared) and
/// enters it for a sync function's call, with one visit to the thread's state; the guard ends
/// it. The expansion sets the span's attributes through the guard.
#[inline]
pub fn start_entered<'a>(span: &'a mut Span, name: &'static str, kind: SpanKind) -> SyncGuard<'a> {
    let span_id = span.start_entered(name, kind);
    if std::thread::panicking() {
        span.mark_was_panicking();
    }
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
    #[inline]
    fn drop(&mut self) {
        if std::thread::panicking() && !self.span.was_panicking() {
            self.span.record_error("panic", "panicked");
            self.span.meter_error("panic");
        }
        self.span.exit_and_end(self.span_id);
    }
}
