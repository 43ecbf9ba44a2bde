//! The macros on functions returning `impl Stream`: the span is current during every
//! `poll_next`, ends when the stream ends, and is marked cancelled when the stream is dropped
//! early.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use opentelemetry::Value;
use zdk_trace_runtime::{span, Span};
use zdk_trace_tests::harness::{all, assert_child_of, attr, Harness};

struct Count {
    next: u32,
    end: u32,
}

impl Stream for Count {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.next == self.end {
            return Poll::Ready(None);
        }
        drop(Span::start("chunk"));
        self.next += 1;
        Poll::Ready(Some(self.next))
    }
}

#[span(name = "chat.stream", fields(max = i64::from(n)))]
fn tokens(n: u32) -> impl Stream<Item = u32> {
    Count { next: 0, end: n }
}

async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[tokio::test]
async fn stream_consumed_fully_and_dropped_early() {
    let h = Harness::install(|b| b);
    let mut full = Box::pin(tokens(3));
    let mut items = Vec::new();
    while let Some(item) = next(&mut full).await {
        items.push(item);
    }
    assert_eq!(items, [1, 2, 3]);
    let mut partial = Box::pin(tokens(5));
    assert_eq!(next(&mut partial).await, Some(1));
    drop(partial);
    drop(full);

    let spans = h.spans();
    let streams = all(&spans, "chat.stream");
    assert_eq!(streams.len(), 2);
    let full = streams
        .iter()
        .find(|s| attr(s, "max") == Some(Value::I64(3)))
        .copied();
    let partial = streams
        .iter()
        .find(|s| attr(s, "max") == Some(Value::I64(5)))
        .copied();
    let (Some(full), Some(partial)) = (full, partial) else {
        panic!("both streams exported: {streams:?}");
    };
    assert_eq!(attr(full, "cancelled"), None);
    assert_eq!(attr(partial, "cancelled"), Some(Value::Bool(true)));
    let chunks = all(&spans, "chunk");
    assert_eq!(chunks.len(), 4);
    for chunk in chunks.iter().take(3) {
        assert_child_of(chunk, full);
    }
}
