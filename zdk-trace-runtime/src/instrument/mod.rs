//! Futures and streams that carry a span (or a trace context) across every poll, and helpers
//! that keep the parent when work moves to another task or thread.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project::{pin_project, pinned_drop};

mod in_span;
mod panic;
mod stream;
mod with;

pub use in_span::{in_span, BeforeEnd, InSpan};
pub use stream::{
    instrument_boxed_stream, instrument_llm_boxed_stream, instrument_llm_boxed_stream_captured,
    instrument_llm_stream, instrument_llm_stream_captured, instrument_stream, BoxedStream,
    InstrumentedStream, STREAM_ITEMS, STREAM_TIME_TO_FIRST_ITEM_MS,
};
pub(crate) use stream::{
    meter_usage, model_cost, record_cost, saturating_i64, set_finish_reasons, set_usage,
};
pub use with::{instrument_with, InstrumentedWith};

use crate::context::{pop_frame, push_frame, TraceContext};
use crate::span::Span;

/// A future or stream that runs inside `span`: the span is current during every poll, ends
/// when the future completes or the stream ends, and is marked `cancelled = true` (then ended)
/// if it is dropped before that.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{FutureExt, Span};
///
/// # async fn call_model() -> u32 { 42 }
/// # async fn run() {
/// let answer = call_model().instrument(Span::start("chat gpt-4o")).await;
/// # let _ = answer;
/// # }
/// ```
#[pin_project(PinnedDrop)]
#[derive(Debug)]
#[must_use = "futures and streams do nothing unless polled"]
pub struct Instrumented<T> {
    // `ManuallyDrop` so that `PinnedDrop` can drop the inner future or stream while the span is
    // entered: whatever its drop does (guards ending, cleanup spans) happens inside the span.
    #[pin]
    inner: ManuallyDrop<T>,
    span: Span,
}

/// The inner value of a pinned `ManuallyDrop` field, pinned.
///
/// # Safety
///
/// The caller must guarantee that the `T` inside is still alive (not yet dropped with
/// [`ManuallyDrop::drop`]) and that, once pinned here, it is never moved out of its
/// `ManuallyDrop` and is dropped only in place (by the owner's `PinnedDrop`, which then never
/// polls it again). Both wrappers that use it, [`Instrumented`] and [`InSpan`], drop the value
/// only in their `PinnedDrop`, after which no poll can run.
#[inline]
pub(crate) unsafe fn pin_inner<T>(inner: Pin<&mut ManuallyDrop<T>>) -> Pin<&mut T> {
    // SAFETY: `ManuallyDrop<T>` is a transparent wrapper, so pinning it pins the `T` inside;
    // the caller guarantees that the `T` is alive, never moved out, and only dropped in place.
    unsafe { inner.map_unchecked_mut(|inner| &mut **inner) }
}

impl<T> Instrumented<T> {
    /// The span.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// The span, to set attributes as results come in.
    pub fn span_mut(&mut self) -> &mut Span {
        &mut self.span
    }

    /// The span, through a pin (for use inside another future's `poll`).
    pub fn span_pin_mut(self: Pin<&mut Self>) -> &mut Span {
        self.project().span
    }

    /// The wrapped future or stream.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.poll_then(cx, |_, _| {})
    }
}

impl<F: Future> Instrumented<F> {
    /// Polls like [`Future::poll`], and when the future completes calls `on_ready` with the
    /// span and the output *before* the span ends (the macros record `Err` results and token
    /// usage this way, through `__private::InstrumentedWith`).
    #[inline]
    pub(crate) fn poll_then(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        on_ready: impl FnOnce(&mut Span, &F::Output),
    ) -> Poll<F::Output> {
        let this = self.project();
        let measured = this.span.resume_usage();
        let (poll, paused_at) = {
            let _guard = this.span.enter();
            // SAFETY: the inner future is only dropped by `PinnedDrop`, after which it is
            // never polled; it is never moved out.
            let poll = unsafe { pin_inner(this.inner) }.poll(cx);
            // A poll that leaves the future pending is closed here, before the frame is
            // popped: the pop then runs while the clock read completes.
            let paused_at = if measured && poll.is_pending() {
                crate::clock::now_raw()
            } else {
                0
            };
            (poll, paused_at)
        };
        match &poll {
            // The span ends inside this poll: `end` closes the poll's busy time with the
            // clock read that is its end time (one read saved per span).
            Poll::Ready(output) => {
                on_ready(this.span, output);
                this.span.end();
            }
            Poll::Pending => {
                if measured {
                    this.span.pause_usage_at(paused_at);
                }
            }
        }
        poll
    }
}

impl<S: Stream> Instrumented<S> {
    /// Polls like [`Stream::poll_next`], calling `on_ready` with the span and each result
    /// (`Some(item)`, or `None` at the end) before the span ends (the macros count items and
    /// sum token usage this way, through `__private::InstrumentedStream`).
    #[inline]
    pub(crate) fn poll_next_then(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        on_ready: impl FnOnce(&mut Span, Option<&S::Item>),
    ) -> Poll<Option<S::Item>> {
        let this = self.project();
        let measured = this.span.resume_usage();
        let (poll, paused_at) = {
            let _guard = this.span.enter();
            // SAFETY: the inner stream is only dropped by `PinnedDrop`, after which it is
            // never polled; it is never moved out.
            let poll = unsafe { pin_inner(this.inner) }.poll_next(cx);
            // As for futures: a poll after which the stream goes on is closed before the
            // frame is popped.
            let paused_at = if measured && !matches!(poll, Poll::Ready(None)) {
                crate::clock::now_raw()
            } else {
                0
            };
            (poll, paused_at)
        };
        match &poll {
            // The stream ends inside this poll: `end` closes the poll's busy time with the
            // clock read that is its end time.
            Poll::Ready(None) => {
                on_ready(this.span, None);
                this.span.end();
            }
            Poll::Ready(Some(item)) => {
                if measured {
                    this.span.pause_usage_at(paused_at);
                }
                on_ready(this.span, Some(item));
            }
            Poll::Pending => {
                if measured {
                    this.span.pause_usage_at(paused_at);
                }
            }
        }
        poll
    }
}

impl<S: Stream> Stream for Instrumented<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.poll_next_then(cx, |_, _| {})
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[pinned_drop]
impl<T> PinnedDrop for Instrumented<T> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        if !this.span.is_ended() {
            this.span.mark_cancelled();
        }
        {
            let _guard = this.span.enter();
            // SAFETY: `PinnedDrop::drop` runs once, so the inner value is dropped exactly once;
            // it is dropped in place (not moved), as its pin requires, and never used again.
            unsafe { ManuallyDrop::drop(this.inner.get_unchecked_mut()) }
        }
        // The span ends when the field drops, right after this.
    }
}

/// A future or stream that runs with a captured [`TraceContext`] current on every poll,
/// without a span of its own. Made by [`FutureExt::in_current_span`] and
/// [`FutureExt::in_trace_context`].
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::FutureExt;
/// # async fn run() {
/// let task = async { /* spans here are children of the current span */ }.in_current_span();
/// tokio::spawn(task);
/// # }
/// ```
#[pin_project]
#[derive(Debug)]
#[must_use = "futures and streams do nothing unless polled"]
pub struct WithContext<T> {
    #[pin]
    inner: T,
    context: TraceContext,
}

impl<T> WithContext<T> {
    fn enter(context: &TraceContext) -> Option<u64> {
        context.frame.as_ref().map(|frame| {
            push_frame(frame.clone());
            frame.span_id
        })
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let entered = Self::enter(this.context);
        let poll = this.inner.poll(cx);
        if let Some(id) = entered {
            pop_frame(id);
        }
        poll
    }
}

impl<S: Stream> Stream for WithContext<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let entered = Self::enter(this.context);
        let poll = this.inner.poll_next(cx);
        if let Some(id) = entered {
            pop_frame(id);
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Tracing for any future.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{FutureExt, Span, SpanKind};
/// # async fn fetch() {}
/// # async fn run() {
/// fetch().instrument(Span::start_with_kind("GET /weather", SpanKind::Client)).await;
/// # }
/// ```
pub trait FutureExt: Future + Sized {
    /// Runs this future inside `span` (see [`Instrumented`]).
    fn instrument(self, span: Span) -> Instrumented<Self> {
        Instrumented {
            inner: ManuallyDrop::new(self),
            span,
        }
    }

    /// Runs this future with the span current *now* as its parent context, wherever it is
    /// polled later (another task, another thread).
    fn in_current_span(self) -> WithContext<Self> {
        self.in_trace_context(TraceContext::current())
    }

    /// Runs this future with `context` current.
    /// (Named so it does not clash with `opentelemetry::context::FutureExt::with_context`.)
    fn in_trace_context(self, context: TraceContext) -> WithContext<Self> {
        WithContext {
            inner: self,
            context,
        }
    }
}

impl<F: Future> FutureExt for F {}

/// Tracing for any stream.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{Span, StreamExt};
/// # fn tokens() -> impl futures_core::Stream<Item = String> { futures_util_stub::empty() }
/// # mod futures_util_stub {
/// #     pub fn empty() -> Empty { Empty }
/// #     pub struct Empty;
/// #     impl futures_core::Stream for Empty { type Item = String;
/// #         fn poll_next(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<String>> { std::task::Poll::Ready(None) } }
/// # }
/// let traced = tokens().instrument_stream(Span::start("chat gpt-4o"));
/// # drop(traced);
/// ```
pub trait StreamExt: Stream + Sized {
    /// Runs this stream inside `span`: current during every `poll_next`, ended when the
    /// stream ends, marked cancelled if dropped early.
    fn instrument_stream(self, span: Span) -> Instrumented<Self> {
        Instrumented {
            inner: ManuallyDrop::new(self),
            span,
        }
    }

    /// Runs this stream with the span current now as its parent context.
    fn stream_in_current_span(self) -> WithContext<Self> {
        WithContext {
            inner: self,
            context: TraceContext::current(),
        }
    }
}

impl<S: Stream> StreamExt for S {}

/// `tokio::spawn`, keeping the current span as the parent of the task's spans.
///
/// Must be called from within a tokio runtime, as `tokio::spawn`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let _span = zdk_trace_runtime::Span::start("parallel").entered();
/// let handle = zdk_trace_runtime::spawn(async {
///     let _child = zdk_trace_runtime::Span::start("branch"); // child of "parallel"
/// });
/// handle.await.unwrap();
/// # }
/// ```
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_span())
}

/// `std::thread::spawn`, keeping the current span as the parent of the thread's spans.
///
/// # Examples
///
/// ```
/// let _span = zdk_trace_runtime::Span::start("batch").entered();
/// let handle = zdk_trace_runtime::spawn_thread(|| {
///     let _child = zdk_trace_runtime::Span::start("worker"); // child of "batch"
/// });
/// handle.join().unwrap();
/// ```
pub fn spawn_thread<F, T>(f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let context = TraceContext::current();
    std::thread::spawn(move || context.in_scope(f))
}
