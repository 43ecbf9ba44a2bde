//! Cancellation: a future or stream dropped before it finished is exported, ended, with
//! `cancelled = true`; one that finished carries no `cancelled` attribute.

use std::future::poll_fn;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use tokio::time::{sleep, timeout};
use zdk_trace_runtime::{FutureExt, Span, StreamExt};
use zdk_trace_tests::harness::{assert_child_of, assert_root, attr, one, Harness};

fn duration(span: &SpanData) -> Duration {
    span.end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
}

fn cancelled(span: &SpanData) -> Option<Value> {
    attr(span, "cancelled")
}

/// Yields `0..len`, starting a span per item inside `poll_next`, and returning `Pending` once
/// before each item, as a stream fed by the network would.
struct Items {
    next: u32,
    len: u32,
    ready: bool,
}

impl Items {
    fn new(len: u32) -> Items {
        Items {
            next: 0,
            len,
            ready: false,
        }
    }
}

impl Stream for Items {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.next == self.len {
            return Poll::Ready(None);
        }
        if !self.ready {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.ready = false;
        let item = self.next;
        self.next += 1;
        let _produce = Span::start(format!("produce {item}"));
        Poll::Ready(Some(item))
    }
}

async fn next<S: Stream>(mut stream: Pin<&mut S>) -> Option<S::Item> {
    poll_fn(|cx| stream.as_mut().poll_next(cx)).await
}

#[tokio::test]
async fn select_loser_is_cancelled_and_winner_is_not() {
    let h = Harness::install(|b| b);
    tokio::select! {
        _ = sleep(Duration::from_secs(30)).instrument(Span::start("loser")) => {}
        _ = sleep(Duration::from_millis(5)).instrument(Span::start("winner")) => {}
    }

    let spans = h.spans();
    assert_eq!(spans.len(), 2);
    let loser = one(&spans, "loser");
    assert_eq!(cancelled(loser), Some(Value::Bool(true)));
    // Ended when dropped, not when its 30 s sleep would have finished.
    assert!(
        duration(loser) < Duration::from_secs(5),
        "{:?}",
        duration(loser)
    );
    assert_eq!(cancelled(one(&spans, "winner")), None);
}

#[tokio::test]
async fn timeout_cancels_the_future_and_its_instrumented_children() {
    let h = Harness::install(|b| b);
    let result = timeout(
        Duration::from_millis(20),
        async {
            let _before = Span::start("before wait");
            sleep(Duration::from_secs(30))
                .instrument(Span::start("slow call"))
                .await;
        }
        .instrument(Span::start("request")),
    )
    .await;
    assert!(result.is_err());
    let ok = timeout(
        Duration::from_secs(5),
        sleep(Duration::from_millis(1)).instrument(Span::start("fast request")),
    )
    .await;
    assert!(ok.is_ok());

    let spans = h.spans();
    assert_eq!(spans.len(), 4);
    let request = one(&spans, "request");
    let slow = one(&spans, "slow call");
    assert_root(request);
    assert_child_of(slow, request);
    assert_child_of(one(&spans, "before wait"), request);
    assert_eq!(cancelled(request), Some(Value::Bool(true)));
    assert_eq!(cancelled(slow), Some(Value::Bool(true)));
    assert_eq!(cancelled(one(&spans, "before wait")), None);
    assert!(duration(request) >= Duration::from_millis(20));
    assert!(duration(request) < Duration::from_secs(5));
    // The inner future is dropped first, so the child ends no later than its parent.
    assert!(slow.end_time <= request.end_time);
    assert_eq!(cancelled(one(&spans, "fast request")), None);
}

/// Whatever the cancelled future does while it is dropped (a guard's `Drop` that records a
/// cleanup span) still happens inside its span, as tracing's `Instrumented` does.
#[tokio::test]
async fn drop_of_a_cancelled_future_runs_inside_its_span() {
    struct Cleanup;
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _span = Span::start("cleanup");
        }
    }

    let h = Harness::install(|b| b);
    async {
        let result = timeout(
            Duration::from_millis(5),
            async {
                let _cleanup = Cleanup;
                sleep(Duration::from_secs(30)).await;
            }
            .instrument(Span::start("holds a guard")),
        )
        .await;
        assert!(result.is_err());
    }
    .instrument(Span::start("caller"))
    .await;

    let spans = h.spans();
    assert_eq!(spans.len(), 3);
    let holder = one(&spans, "holds a guard");
    assert_child_of(holder, one(&spans, "caller"));
    assert_child_of(one(&spans, "cleanup"), holder);
    assert_eq!(cancelled(holder), Some(Value::Bool(true)));
}

#[tokio::test]
async fn a_future_dropped_before_its_first_poll_is_cancelled() {
    let h = Harness::install(|b| b);
    let never_polled = async { 1 }.instrument(Span::start("never polled"));
    drop(never_polled);

    let spans = h.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(
        cancelled(one(&spans, "never polled")),
        Some(Value::Bool(true))
    );
}

#[tokio::test]
async fn a_stream_dropped_early_is_cancelled() {
    let h = Harness::install(|b| b);
    {
        let mut stream = pin!(Items::new(5).instrument_stream(Span::start("stream")));
        assert_eq!(next(stream.as_mut()).await, Some(0));
        assert_eq!(next(stream.as_mut()).await, Some(1));
    }

    let spans = h.spans();
    assert_eq!(spans.len(), 3);
    let stream = one(&spans, "stream");
    assert_eq!(cancelled(stream), Some(Value::Bool(true)));
    assert_child_of(one(&spans, "produce 0"), stream);
    assert_child_of(one(&spans, "produce 1"), stream);
}

#[tokio::test]
async fn a_stream_run_to_the_end_is_not_cancelled() {
    let h = Harness::install(|b| b);
    let mut items = Vec::new();
    async {
        let mut stream = pin!(Items::new(5).instrument_stream(Span::start("stream")));
        while let Some(item) = next(stream.as_mut()).await {
            items.push(item);
        }
        // The stream span ended on `Ready(None)`, before the stream itself was dropped.
        let _after = Span::start("after stream");
    }
    .instrument(Span::start("consumer"))
    .await;
    assert_eq!(items, [0, 1, 2, 3, 4]);

    let spans = h.spans();
    assert_eq!(spans.len(), 2 + 5 + 1);
    let consumer = one(&spans, "consumer");
    let stream = one(&spans, "stream");
    assert_child_of(stream, consumer);
    assert_eq!(cancelled(stream), None);
    for i in 0..5 {
        let produce = one(&spans, &format!("produce {i}"));
        assert_child_of(produce, stream);
        assert!(produce.end_time <= stream.end_time);
    }
    assert_child_of(one(&spans, "after stream"), consumer);
    assert!(stream.end_time <= one(&spans, "after stream").start_time);
}
