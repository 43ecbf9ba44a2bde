//! [`HttpSpanFuture`]: the future of one HTTP exchange, run inside its span.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::{pin_project, pinned_drop};

use crate::span::Span;

/// What an [`HttpSpanFuture`] records on its span from the output, before the span ends.
type OnReady<T> = fn(&mut Span, &T);

/// The future of one HTTP exchange, run inside its span: the span is current on every poll
/// (spans started by the inner future are its children), the baggage that came with the
/// request is OpenTelemetry's current `Context` meanwhile, and when the future completes the
/// response (status code, error) is recorded and the span ends. Dropped before it completes,
/// the span is marked `cancelled = true` and ends.
///
/// It is the response future of [`ServerTracingService`](crate::http::ServerTracingService)
/// (feature `tower`); [`ClientTracing`](crate::http::ClientTracing) (feature `reqwest`) runs
/// the rest of the middleware chain in one.
///
/// The span ends when the response *head* is ready: streaming the body afterwards is not in
/// its duration.
#[pin_project(PinnedDrop)]
#[must_use = "futures do nothing unless polled"]
pub struct HttpSpanFuture<F: Future> {
    #[pin]
    inner: F,
    span: Span,
    baggage: Option<opentelemetry::Context>,
    on_ready: OnReady<F::Output>,
}

impl<F: Future> HttpSpanFuture<F> {
    /// `inner` run inside `span`, with `baggage` attached on every poll; `on_ready` sees the
    /// output before the span ends.
    pub(crate) fn new(
        inner: F,
        span: Span,
        baggage: Option<opentelemetry::Context>,
        on_ready: OnReady<F::Output>,
    ) -> Self {
        HttpSpanFuture {
            inner,
            span,
            baggage,
            on_ready,
        }
    }
}

impl<F: Future> fmt::Debug for HttpSpanFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSpanFuture")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<F: Future> Future for HttpSpanFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let poll = {
            // Baggage first, span second: dropped in reverse, so the span leaves first.
            let _baggage = this
                .baggage
                .as_ref()
                .map(|baggage| baggage.clone().attach());
            let _entered = this.span.enter();
            this.inner.poll(cx)
        };
        if let Poll::Ready(output) = &poll {
            (this.on_ready)(this.span, output);
            this.span.end();
        }
        poll
    }
}

#[pinned_drop]
impl<F: Future> PinnedDrop for HttpSpanFuture<F> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        if !this.span.is_ended() {
            this.span.mark_cancelled();
        }
        // The span ends when its field drops, right after this.
    }
}
