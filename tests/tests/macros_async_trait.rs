//! The macros inside `#[async_trait]` impls and on functions returning a boxed future: the span
//! covers the whole future (not just building it), and the future stays `Send`.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use opentelemetry::trace::Status;
use opentelemetry::Value;
use zdk_trace_runtime::{span, tool_call, Span};
use zdk_trace_tests::harness::{assert_child_of, attr, one, Harness};

#[async_trait]
trait Tool {
    async fn call(&self, input: u32) -> Result<u32, String>;
}

struct Doubler;

#[async_trait]
impl Tool for Doubler {
    #[tool_call(name = "double", call_id = input, err)]
    async fn call(&self, input: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        let _inner = Span::start("inside the tool");
        if input == 0 {
            return Err("zero".to_owned());
        }
        Ok(input * 2)
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test]
async fn tool_call_in_async_trait_impl() {
    let h = Harness::install(|b| b);
    let tool: Box<dyn Tool + Send + Sync> = Box::new(Doubler);
    assert_eq!(assert_send(tool.call(4)).await, Ok(8));
    assert!(tool.call(0).await.is_err());
    let spans = h.spans();
    let tools: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "execute_tool double")
        .collect();
    assert_eq!(tools.len(), 2);
    let ok = tools
        .iter()
        .find(|s| attr(s, "gen_ai.tool.call.id") == Some(Value::from("4".to_owned())))
        .expect("span of call(4)");
    assert_eq!(ok.status, Status::Unset);
    let failed = tools
        .iter()
        .find(|s| attr(s, "gen_ai.tool.call.id") == Some(Value::from("0".to_owned())))
        .expect("span of call(0)");
    assert_eq!(failed.status, Status::error("zero"));
    assert_eq!(attr(failed, "error.type"), Some(Value::from("String")));
    // The span covers the future's body, after `yield_now`: it is the parent of spans there.
    for inner in spans.iter().filter(|s| s.name == "inside the tool") {
        assert!(tools
            .iter()
            .any(|t| inner.parent_span_id == t.span_context.span_id()));
    }
}

#[span(name = "boxed")]
fn boxed(n: u8) -> Pin<Box<dyn Future<Output = u8> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        let _inner = Span::start("inside boxed");
        n
    })
}

#[tokio::test]
async fn boxed_future_return_type() {
    let h = Harness::install(|b| b);
    assert_eq!(boxed(3).await, 3);
    let spans = h.spans();
    assert_child_of(one(&spans, "inside boxed"), one(&spans, "boxed"));
}

#[span(name = "slow")]
async fn slow() {
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
}

#[tokio::test]
async fn dropped_async_fn_future_ends_its_span_as_cancelled() {
    let h = Harness::install(|b| b);
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(5), slow()).await;
    assert!(timed_out.is_err());
    let spans = h.spans();
    let slow = one(&spans, "slow");
    assert_eq!(attr(slow, "cancelled"), Some(Value::Bool(true)));
}

mod reexport {
    pub use zdk_trace_runtime as runtime;
}

#[span(crate = reexport::runtime, name = "through.reexport", err)]
fn through_reexport() -> Result<(), std::fmt::Error> {
    Err(std::fmt::Error)
}

#[test]
fn crate_override() {
    let h = Harness::install(|b| b);
    assert!(through_reexport().is_err());
    let spans = h.spans();
    let span = one(&spans, "through.reexport");
    assert_eq!(attr(span, "error.type"), Some(Value::from("Error")));
}

#[tool_call(name = "explode")]
fn explode_sync() {
    panic!("tool blew up");
}

#[tool_call(name = "explode_async")]
async fn explode_async() {
    tokio::task::yield_now().await;
    panic!("async tool blew up");
}

#[tokio::test]
async fn panics_are_recorded_and_go_on() {
    let h = Harness::install(|b| b);
    let sync = std::panic::catch_unwind(explode_sync);
    assert!(sync.is_err(), "the panic continues");
    let task = tokio::spawn(explode_async()).await;
    assert!(task.expect_err("the task panics").is_panic());
    let spans = h.spans();
    let sync = one(&spans, "execute_tool explode");
    assert_eq!(sync.status, Status::error("panicked"));
    assert_eq!(attr(sync, "error.type"), Some(Value::from("panic")));
    let task = one(&spans, "execute_tool explode_async");
    assert_eq!(task.status, Status::error("async tool blew up"));
    assert_eq!(attr(task, "error.type"), Some(Value::from("panic")));
    assert_eq!(attr(task, "cancelled"), None, "ended, not cancelled");
}
