//! The macros on functions returning `impl Stream`: the span is current during every
//! `poll_next`, ends when the stream ends, and is marked cancelled when the stream is dropped
//! early.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use opentelemetry::Value;
use zdk_trace_runtime::{span, Span};
use zdk_trace_tests::harness::{all, assert_child_of, attr, one, Harness};

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

struct Chunk {
    tokens: u64,
}

impl zdk_trace_runtime::genai::LlmOutput for Chunk {
    fn usage(&self) -> Option<zdk_trace_runtime::genai::TokenUsage> {
        Some(zdk_trace_runtime::genai::TokenUsage::new(
            u64::from(self.tokens == 1) * 10,
            self.tokens,
        ))
    }

    fn response_model(&self) -> Option<&str> {
        Some("gpt-4o-2024-08-06")
    }
}

struct Chunks {
    left: u64,
}

impl Stream for Chunks {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Chunk>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Chunk { tokens: 1 }))
    }
}

#[zdk_trace_runtime::llm_call(provider = "openai", model = "gpt-4o")]
fn chat_stream(chunks: u64) -> impl Stream<Item = Chunk> {
    Chunks { left: chunks }
}

#[tokio::test]
async fn llm_call_stream_sums_usage_and_counts_items() {
    let h = Harness::install(|b| b);
    let mut full = Box::pin(chat_stream(4));
    while next(&mut full).await.is_some() {}
    drop(full);
    let mut partial = Box::pin(chat_stream(4));
    assert!(next(&mut partial).await.is_some());
    drop(partial);

    let spans = h.spans();
    let chats = all(&spans, "chat gpt-4o");
    assert_eq!(chats.len(), 2);
    let full = chats
        .iter()
        .find(|s| attr(s, "cancelled").is_none())
        .copied();
    let partial = chats
        .iter()
        .find(|s| attr(s, "cancelled") == Some(Value::Bool(true)))
        .copied();
    let (Some(full), Some(partial)) = (full, partial) else {
        panic!("a full and a dropped stream: {chats:?}");
    };
    assert_eq!(attr(full, "stream.items"), Some(Value::I64(4)));
    assert_eq!(
        attr(full, "gen_ai.usage.input_tokens"),
        Some(Value::I64(40))
    );
    assert_eq!(
        attr(full, "gen_ai.usage.output_tokens"),
        Some(Value::I64(4))
    );
    assert_eq!(
        attr(full, "gen_ai.response.model"),
        Some(Value::from("gpt-4o-2024-08-06"))
    );
    assert!(matches!(
        attr(full, "stream.time_to_first_item_ms"),
        Some(Value::F64(ms)) if ms >= 0.0
    ));
    // The GenAI conventions' (v1.41.0) names for a streaming model call, in seconds.
    assert_eq!(attr(full, "gen_ai.request.stream"), Some(Value::Bool(true)));
    assert!(matches!(
        (
            attr(full, "gen_ai.response.time_to_first_chunk"),
            attr(full, "stream.time_to_first_item_ms"),
        ),
        (Some(Value::F64(s)), Some(Value::F64(ms))) if (s * 1000.0 - ms).abs() < 1e-6
    ));
    assert_eq!(attr(partial, "stream.items"), Some(Value::I64(1)));
    assert_eq!(
        attr(partial, "gen_ai.usage.output_tokens"),
        Some(Value::I64(1))
    );
}

/// What `futures::stream::BoxStream` is; an alias the macro cannot see through.
type Tokens<'a> = Pin<Box<dyn Stream<Item = u32> + Send + 'a>>;

/// `Pin<Box<dyn Stream>>` written out: detected from the signature.
#[span(name = "boxed.stream", fields(max = i64::from(n)))]
fn boxed_tokens(n: u32) -> Pin<Box<dyn Stream<Item = u32> + Send + 'static>> {
    if n == 0 {
        // An early return is instrumented too.
        return Box::pin(Count { next: 0, end: 0 });
    }
    Box::pin(Count { next: 0, end: n })
}

struct Source {
    end: u32,
}

impl Source {
    /// An alias borrowing `self`: the `stream` option says what the type does not show.
    #[span(name = "aliased.stream", stream)]
    fn tokens(&self) -> Tokens<'_> {
        drop(Span::start("build"));
        Box::pin(Count {
            next: 0,
            end: self.end,
        })
    }
}

#[tokio::test]
async fn boxed_streams_detected_or_marked_with_the_stream_option() {
    let h = Harness::install(|b| b);
    let mut full = boxed_tokens(2);
    let mut items = Vec::new();
    while let Some(item) = next(&mut full).await {
        items.push(item);
    }
    assert_eq!(items, [1, 2]);
    drop(full);
    let mut empty = boxed_tokens(0);
    assert_eq!(next(&mut empty).await, None);
    drop(empty);
    let source = Source { end: 3 };
    let mut partial = source.tokens();
    assert_eq!(next(&mut partial).await, Some(1));
    drop(partial);

    let spans = h.spans();
    let boxed = all(&spans, "boxed.stream");
    assert_eq!(boxed.len(), 2);
    let full = boxed
        .iter()
        .find(|s| attr(s, "max") == Some(Value::I64(2)))
        .copied();
    let empty = boxed
        .iter()
        .find(|s| attr(s, "max") == Some(Value::I64(0)))
        .copied();
    let (Some(full), Some(empty)) = (full, empty) else {
        panic!("both boxed streams exported: {boxed:?}");
    };
    assert_eq!(attr(full, "stream.items"), Some(Value::I64(2)));
    assert_eq!(attr(full, "cancelled"), None);
    assert!(attr(full, "stream.time_to_first_item_ms").is_some());
    assert_eq!(attr(empty, "stream.items"), Some(Value::I64(0)));
    assert_eq!(attr(empty, "cancelled"), None);
    let aliased = one(&spans, "aliased.stream");
    assert_eq!(attr(aliased, "stream.items"), Some(Value::I64(1)));
    assert_eq!(attr(aliased, "cancelled"), Some(Value::Bool(true)));
    // The body runs inside the span, and so does every poll_next.
    assert_child_of(one(&spans, "build"), aliased);
    let chunks = all(&spans, "chunk");
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        chunks
            .iter()
            .filter(|c| c.parent_span_id == full.span_context.span_id())
            .count(),
        2
    );
    assert_child_of(
        chunks
            .iter()
            .find(|c| c.parent_span_id == aliased.span_context.span_id())
            .copied()
            .unwrap_or_else(|| panic!("a chunk of the aliased stream: {chunks:?}")),
        aliased,
    );
}

/// What `futures::stream::LocalBoxStream` is.
type LocalChunks = Pin<Box<dyn Stream<Item = Chunk>>>;

#[zdk_trace_runtime::llm_call(provider = "openai", model = "gpt-4o-mini", stream)]
fn local_chat_stream(chunks: u64) -> LocalChunks {
    Box::pin(Chunks { left: chunks })
}

#[tokio::test]
async fn llm_call_boxed_stream_sums_usage() {
    let h = Harness::install(|b| b);
    let mut stream = local_chat_stream(3);
    while next(&mut stream).await.is_some() {}
    drop(stream);

    let spans = h.spans();
    let chat = one(&spans, "chat gpt-4o-mini");
    assert_eq!(attr(chat, "stream.items"), Some(Value::I64(3)));
    assert_eq!(
        attr(chat, "gen_ai.usage.input_tokens"),
        Some(Value::I64(30))
    );
    assert_eq!(
        attr(chat, "gen_ai.usage.output_tokens"),
        Some(Value::I64(3))
    );
    assert_eq!(attr(chat, "cancelled"), None);
}
