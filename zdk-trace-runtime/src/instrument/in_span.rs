//! [`InSpan`]: the body of an `async fn` run inside a span that the `async fn` owns (what
//! `#[span] async fn` and friends expand to).

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::{pin_project, pinned_drop};

use super::panic::record_panic;
use super::pin_inner;
use crate::span::Span;

/// The body of an `async fn` run inside a span that the `async fn` itself owns (a local of
/// its state machine, borrowed here), with `on_ready` called on the span and the output just
/// before the span ends, and a panic recorded on the span.
///
/// Why a borrow and not [`InstrumentedWith`], which owns the span: a span record is 320 bytes,
/// and every future that holds one is moved at least once more (into the `.await` slot of the
/// `async fn`). Owning the span here made `#[span] async fn` copy the record once more than
/// the hand-written `fut.instrument(span)`; borrowing it leaves only this small future to move.
///
/// Drop behaves as [`Instrumented`]'s: a body dropped before it completes is dropped with the
/// span entered, and the span is marked `cancelled = true` (it ends when the `async fn`'s
/// local drops, right after).
///
/// [`Instrumented`]: super::Instrumented
/// [`InstrumentedWith`]: super::InstrumentedWith
#[pin_project(PinnedDrop)]
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct InSpan<'s, F, H, E: BeforeEnd = ()> {
    // `ManuallyDrop` so that `PinnedDrop` can drop the body while the span is entered.
    #[pin]
    inner: ManuallyDrop<F>,
    span: &'s mut Span,
    on_ready: H,
    /// Runs before the span ends on every path (completion, panic, drop).
    before_end: E,
}

impl<'s, F, H, E: BeforeEnd> InSpan<'s, F, H, E> {
    /// A body run inside `span`, with `before_end` run before the span ends on every path
    /// (for `__private::in_span_loop`).
    #[inline]
    pub(crate) fn with_before_end(
        future: F,
        span: &'s mut Span,
        on_ready: H,
        before_end: E,
    ) -> Self {
        InSpan {
            inner: ManuallyDrop::new(future),
            span,
            on_ready,
            before_end,
        }
    }
}

/// Runs the body `future` of an `async fn` inside `span`, a local of that `async fn` (see
/// [`InSpan`]); `on_ready` sees the span and the output before the span ends.
#[inline]
pub fn in_span<F, H>(future: F, span: &mut Span, on_ready: H) -> InSpan<'_, F, H>
where
    F: Future,
    H: Fn(&mut Span, &F::Output),
{
    InSpan {
        inner: ManuallyDrop::new(future),
        span,
        on_ready,
        before_end: (),
    }
}

/// What runs just before a macro's span ends, on every path.
pub trait BeforeEnd {
    /// Adds what was gathered while the body ran to `span`.
    fn before_end(&self, span: &mut Span);
}

impl BeforeEnd for () {
    #[inline(always)]
    fn before_end(&self, _: &mut Span) {}
}

impl<F, H, E> Future for InSpan<'_, F, H, E>
where
    F: Future,
    H: Fn(&mut Span, &F::Output),
    E: BeforeEnd,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let span: &mut Span = this.span;
        // SAFETY: the body is only dropped by `PinnedDrop`, below, after which it is never
        // polled again; it is never moved out.
        let inner = unsafe { pin_inner(this.inner) };
        // A panic in the body is recorded on the span, which then ends, and the panic goes
        // on. `catch_unwind` costs nothing until something panics, and keeps the message.
        let measured = span.resume_usage();
        let (polled, paused_at) = {
            let _guard = span.enter();
            let polled = panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx)));
            // A poll that leaves the body pending is closed here, before the frame is
            // popped: the pop then runs while the clock read completes.
            let paused_at = if measured && matches!(polled, Ok(Poll::Pending)) {
                crate::clock::now_raw()
            } else {
                0
            };
            (polled, paused_at)
        };
        match polled {
            Ok(Poll::Pending) => {
                if measured {
                    span.pause_usage_at(paused_at);
                }
                Poll::Pending
            }
            // The span ends inside this poll: `end` closes the poll's busy time with the
            // clock read that is its end time (one read saved per span).
            Ok(Poll::Ready(output)) => {
                (this.on_ready)(span, &output);
                this.before_end.before_end(span);
                span.end();
                Poll::Ready(output)
            }
            Err(payload) => {
                span.pause_usage();
                record_panic(span, &*payload);
                this.before_end.before_end(span);
                span.end();
                panic::resume_unwind(payload)
            }
        }
    }
}

#[pinned_drop]
impl<F, H, E: BeforeEnd> PinnedDrop for InSpan<'_, F, H, E> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        let span: &mut Span = this.span;
        if !span.is_ended() {
            span.mark_cancelled();
            this.before_end.before_end(span);
        }
        let _guard = span.enter();
        // SAFETY: `PinnedDrop::drop` runs once, so the body is dropped exactly once; it is
        // dropped in place (not moved), as its pin requires, and never used again.
        unsafe { ManuallyDrop::drop(this.inner.get_unchecked_mut()) }
    }
}
