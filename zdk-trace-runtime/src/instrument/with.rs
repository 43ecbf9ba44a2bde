//! [`InstrumentedWith`]: an owned span around a future, with a hook that sees the output
//! before the span ends (what `#[span]` and friends use on a non-`async` function that returns
//! a future, to record an `Err` or token usage).

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;

use super::panic::record_panic;
use super::Instrumented;
use crate::span::Span;

/// A future run inside a span, with `on_ready` called on the span and the output just before
/// the span ends (to record an `Err` or token usage), and a panic recorded on the span.
/// Cancellation and drop behave as in [`Instrumented`], which it wraps.
///
/// `on_ready` is `Fn` and stored as is, not in an `Option` to `take()`: the hooks the macros
/// write capture nothing, so the field is zero-sized, while an `Option` flag would grow the
/// future by a whole 64-byte alignment unit of the span record (and every move of it).
#[pin_project]
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct InstrumentedWith<F, H> {
    #[pin]
    inner: Instrumented<F>,
    on_ready: H,
}

impl<F, H> Future for InstrumentedWith<F, H>
where
    F: Future,
    H: Fn(&mut Span, &F::Output),
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let on_ready = &*this.on_ready;
        let mut inner = this.inner;
        // A panic in the body is recorded on the span, which then ends, and the panic goes
        // on. `catch_unwind` costs nothing until something panics.
        let polled =
            panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_then(cx, on_ready)));
        match polled {
            Ok(poll) => poll,
            Err(payload) => {
                let span = inner.span_pin_mut();
                record_panic(span, &*payload);
                span.end();
                panic::resume_unwind(payload)
            }
        }
    }
}

/// Runs `future` inside `span`, calling `on_ready` with the span and the output before the
/// span ends.
#[inline]
pub fn instrument_with<F, H>(future: F, span: Span, on_ready: H) -> InstrumentedWith<F, H>
where
    F: Future,
    H: Fn(&mut Span, &F::Output),
{
    InstrumentedWith {
        inner: super::FutureExt::instrument(future, span),
        on_ready,
    }
}
