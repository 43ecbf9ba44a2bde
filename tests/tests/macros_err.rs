//! `err` and `error.type`: an error implementing `ErrorType` names itself (per variant),
//! any other error is named by its type; on sync and async fns, through `?` conversions, and in
//! generic fns (where only a written `E: ErrorType` bound is seen).

use std::fmt;

use opentelemetry::trace::Status;
use opentelemetry::Value;
use zdk_trace_runtime::{span, tool_call, ErrorType};
use zdk_trace_tests::harness::{attr, one, Harness};

#[derive(Debug)]
enum FetchError {
    Timeout,
    Status(u16),
    Io(std::io::Error),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::Status(code) => write!(f, "status {code}"),
            FetchError::Io(e) => write!(f, "io: {e}"),
        }
    }
}

impl ErrorType for FetchError {
    fn error_type(&self) -> &'static str {
        match self {
            FetchError::Timeout => "timeout",
            FetchError::Status(_) => "http_status",
            FetchError::Io(_) => "io",
        }
    }
}

impl From<std::io::Error> for FetchError {
    fn from(e: std::io::Error) -> Self {
        FetchError::Io(e)
    }
}

/// No `ErrorType`: named by its type.
#[derive(Debug)]
struct PlainError;

impl fmt::Display for PlainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("plain")
    }
}

fn read_config() -> Result<u32, std::io::Error> {
    Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no file"))
}

#[tool_call(name = "fetch", err)]
fn fetch(code: u16) -> Result<u32, FetchError> {
    if code == 0 {
        return Err(FetchError::Timeout);
    }
    if code == 1 {
        // `?` converts the `io::Error` into `FetchError::Io`, which names itself.
        return Ok(read_config()?);
    }
    Err(FetchError::Status(code))
}

#[span(name = "fetch.async", err)]
async fn fetch_async(code: u16) -> Result<u32, FetchError> {
    tokio::task::yield_now().await;
    Ok(read_config()? + u32::from(code))
}

#[span(name = "plain", err)]
fn plain() -> Result<(), PlainError> {
    Err(PlainError)
}

#[span(name = "plain.async", err)]
async fn plain_async() -> Result<(), PlainError> {
    Err(PlainError)
}

#[span(name = "generic.unbounded", err)]
fn generic_unbounded<E: fmt::Display>(error: E) -> Result<(), E> {
    Err(error)
}

#[span(name = "generic.bounded", err)]
async fn generic_bounded<E: fmt::Display + ErrorType>(error: E) -> Result<(), E> {
    Err(error)
}

#[tokio::test]
async fn error_type_from_the_trait_or_the_type_name() {
    let h = Harness::install(|b| b);
    assert!(fetch(0).is_err());
    assert!(fetch(1).is_err());
    assert!(fetch_async(5).await.is_err());
    assert!(plain().is_err());
    assert!(plain_async().await.is_err());
    assert!(generic_unbounded(FetchError::Timeout).is_err());
    assert!(generic_bounded(FetchError::Status(503)).await.is_err());

    let spans = h.spans();
    let types: Vec<(String, Option<Value>)> = spans
        .iter()
        .map(|s| (s.name.to_string(), attr(s, "error.type")))
        .collect();
    let s = |v: &str| Some(Value::from(v.to_owned()));
    assert_eq!(
        types,
        [
            ("execute_tool fetch".to_owned(), s("timeout")),
            ("execute_tool fetch".to_owned(), s("io")),
            ("fetch.async".to_owned(), s("io")),
            ("plain".to_owned(), s("PlainError")),
            ("plain.async".to_owned(), s("PlainError")),
            // The bound does not say `E: ErrorType`: the fallback, the concrete type's name.
            ("generic.unbounded".to_owned(), s("FetchError")),
            ("generic.bounded".to_owned(), s("http_status")),
        ]
    );
    let bounded = one(&spans, "generic.bounded");
    assert_eq!(bounded.status, Status::error("status 503"));
    let exception = bounded
        .events
        .iter()
        .find(|e| e.name == "exception")
        .unwrap_or_else(|| panic!("an exception event: {:?}", bounded.events));
    assert!(exception
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "exception.type" && kv.value == Value::from("http_status")));
}

#[span(name = "fine", err)]
fn fine() -> Result<u8, FetchError> {
    Ok(1)
}

#[test]
fn ok_sets_no_error() {
    let h = Harness::install(|b| b);
    assert_eq!(fine().ok(), Some(1));
    let spans = h.spans();
    let span = one(&spans, "fine");
    assert_eq!(attr(span, "error.type"), None);
    assert_eq!(span.status, Status::Unset);
}
