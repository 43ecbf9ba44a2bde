//! The guard of a sync function's span: entered for the call, a panic recorded on the way
//! out.

use std::ops::{Deref, DerefMut};

use crate::span::{EnteredSpan, Span};

/// The span of a sync function, entered for the call. Ends the span when dropped, after
/// recording a panic if the function is unwinding (and was not already, when it started).
#[derive(Debug)]
#[must_use = "the span is current only while this guard lives"]
pub struct SyncGuard {
    // One field, so the guard is two words and returned in registers: whether the thread was
    // already panicking when it entered is a flag of the span's record.
    span: EnteredSpan,
}

/// Enters `span` for a sync function's call.
#[inline]
pub fn enter(span: Span) -> SyncGuard {
    let mut span = span.entered();
    if std::thread::panicking() {
        span.mark_was_panicking();
    }
    SyncGuard { span }
}

impl Deref for SyncGuard {
    type Target = Span;

    fn deref(&self) -> &Span {
        &self.span
    }
}

impl DerefMut for SyncGuard {
    fn deref_mut(&mut self) -> &mut Span {
        &mut self.span
    }
}

impl Drop for SyncGuard {
    #[inline]
    fn drop(&mut self) {
        if std::thread::panicking() && !self.span.was_panicking() {
            self.span.record_error("panic", "panicked");
        }
    }
}
