//! [`ErrorType`]: the `error.type` an error reports to the macros' `err` option.

/// The `error.type` attribute an error sets when a function traced with `err` returns it.
///
/// Without an implementation, `err` uses the error's short type name (`FetchError`); an enum
/// usually names its variant instead, so that failures can be told apart in a backend.
/// OpenTelemetry wants `error.type` to be low-cardinality (`"timeout"`, not a message with an
/// id in it), which is why the value is a `&'static str`; the message goes into the
/// `exception` event, from the error's `Display`.
///
/// The macros see the implementation where the error type is concrete. In a generic function
/// (`-> Result<T, E>` with `E` a type parameter) they see it only when `E: ErrorType` is among
/// its bounds; otherwise they fall back to the type name.
///
/// # Examples
///
/// ```
/// use std::fmt;
/// use zdk_trace_runtime::{tool_call, ErrorType};
///
/// #[derive(Debug)]
/// enum FetchError {
///     Timeout,
///     Status(u16),
/// }
///
/// impl fmt::Display for FetchError {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         match self {
///             FetchError::Timeout => f.write_str("timed out"),
///             FetchError::Status(code) => write!(f, "status {code}"),
///         }
///     }
/// }
///
/// impl ErrorType for FetchError {
///     fn error_type(&self) -> &'static str {
///         match self {
///             FetchError::Timeout => "timeout",
///             FetchError::Status(_) => "http_status",
///         }
///     }
/// }
///
/// // An `Err` sets `error.type = "timeout"` (or `"http_status"`) on the span.
/// #[tool_call(name = "fetch", err)]
/// fn fetch(url: &str) -> Result<String, FetchError> {
///     if url.is_empty() {
///         return Err(FetchError::Timeout);
///     }
///     Err(FetchError::Status(503))
/// }
/// assert_eq!(fetch("").unwrap_err().error_type(), "timeout");
/// ```
pub trait ErrorType {
    /// A short, low-cardinality name for this error: `"timeout"`, `"rate_limited"`.
    fn error_type(&self) -> &'static str;
}
