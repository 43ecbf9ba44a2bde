//! The expansions are clean under strict lints (thiserror's `test_lints.rs`): clippy pedantic
//! and `unused_qualifications` on code that uses every macro on every shape.
#![deny(clippy::pedantic, unused_qualifications, warnings)]

use std::future::Future;
use std::pin::Pin;

use futures_core::Stream;
use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
use zdk_trace_runtime::{agent_span, llm_call, span, tool_call, usage_event, usage_keys, workflow};

struct Reply(u64);

impl LlmOutput for Reply {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(self.0, self.0))
    }
}

#[span(name = "sync", kind = client, fields(n = i64::from(n)))]
fn sync(n: u32) -> u32 {
    n
}

// Every form of field value (issue 16): borrowed references, `Option`, sigils, shorthands.
#[span(fields(n, ?text, len = text.len(), shown = %n, owned = &owned, opt = Some(n), lit = "x"))]
fn field_forms(n: u32, text: &str, owned: String) -> String {
    owned + text + &n.to_string()
}

#[span(err)]
fn sync_err(n: u32) -> Result<u32, std::fmt::Error> {
    if n == 0 {
        return Err(std::fmt::Error);
    }
    Ok(n)
}

#[agent_span(name = "agent", id = 1, conversation = "c", err)]
async fn agent() -> Result<u64, std::fmt::Error> {
    Ok(chat("gpt-4o").await?.0 + tool(2)?)
}

#[llm_call(provider = "openai", model = model, err)]
async fn chat(model: &str) -> Result<Reply, std::fmt::Error> {
    Ok(Reply(model.len() as u64))
}

#[tool_call(name = "tool", call_id = "c-1", err)]
fn tool(n: u64) -> Result<u64, std::fmt::Error> {
    Ok(n)
}

#[workflow(kind = "loop", name = "retry")]
fn retry() -> impl Future<Output = u8> {
    async { 1 }
}

#[workflow(kind = "loop", name = "refine", err)]
fn refine(n: u8) -> Result<u8, std::fmt::Error> {
    let mut total = 0;
    for i in 0..n {
        total += i;
    }
    Ok(total)
}

#[workflow(kind = "loop", name = "refine_async")]
async fn refine_async(n: u8) -> u8 {
    let mut i = 0;
    while i < n {
        i += 1;
    }
    i
}

type Tokens<'a> = Pin<Box<dyn Stream<Item = u8> + Send + 'a>>;

#[span(stream)]
fn boxed_stream(items: &[u8]) -> Tokens<'_> {
    struct Empty<'a>(&'a [u8]);
    impl Stream for Empty<'_> {
        type Item = u8;
        fn poll_next(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<u8>> {
            std::task::Poll::Ready(self.0.first().copied())
        }
    }
    Box::pin(Empty(items))
}

#[derive(Debug)]
struct Timeout;

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timeout")
    }
}

impl zdk_trace_runtime::ErrorType for Timeout {
    fn error_type(&self) -> &'static str {
        "timeout"
    }
}

#[tool_call(err)]
async fn timed_out() -> Result<(), Timeout> {
    Err(Timeout)
}

#[span]
fn boxed() -> Pin<Box<dyn Future<Output = u8> + Send>> {
    Box::pin(async { 1 })
}

#[span]
fn stream() -> impl Stream<Item = u8> {
    struct Empty;
    impl Stream for Empty {
        type Item = u8;
        fn poll_next(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<u8>> {
            std::task::Poll::Ready(None)
        }
    }
    Empty
}

usage_keys!(APP_KEYS = ["plugin.name"]);

#[usage_event(name = "u.sync", keys = APP_KEYS, fields(plugin.name = "x", component = n))]
fn usage_sync(n: u32) -> Result<u32, std::fmt::Error> {
    Ok(n)
}

#[agent_span(name = "stacked")]
#[usage_event(name = "u.async", fields(agent.type = "react", feature.name = Some(true)))]
async fn usage_async() -> u8 {
    1
}

#[usage_event(name = "u.unit", fields(component = 1_u8))]
fn usage_unit() {}

#[usage_event(name = "u.future")]
fn usage_future() -> impl Future<Output = u8> {
    async { 1 }
}

#[usage_event(name = "u.boxed")]
fn usage_boxed() -> Pin<Box<dyn Future<Output = u8> + Send>> {
    Box::pin(async { 1 })
}

#[usage_event(name = "u.stream")]
fn usage_stream() -> impl Stream<Item = u8> {
    stream()
}

#[tokio::test]
async fn every_macro_under_strict_lints() {
    assert_eq!(usage_sync(1), Ok(1));
    usage_unit();
    assert_eq!(usage_async().await, 1);
    assert_eq!(usage_future().await, 1);
    assert_eq!(usage_boxed().await, 1);
    drop(usage_stream());
    assert_eq!(sync(1), 1);
    assert_eq!(field_forms(1, "ab", "c".to_owned()), "cab1");
    assert!(sync_err(0).is_err());
    assert_eq!(agent().await.ok(), Some(8));
    assert_eq!(retry().await, 1);
    assert_eq!(boxed().await, 1);
    assert_eq!(refine(3), Ok(3));
    assert_eq!(refine_async(2).await, 2);
    drop(boxed_stream(&[1]));
    assert!(timed_out().await.is_err());
    drop(stream());
}
