//! Shared helpers for the zdk-trace integration tests (cases live in `tests/tests/`).
//!
//! - [`harness`]: installs the runtime with an in-memory exporter, one test at a time, and
//!   reads back finished spans;
//! - [`scrape`]: scrapes a Prometheus endpoint and reads its samples;
//! - [`phoenix`]: runs the example binaries against a real Arize Phoenix and reads back what it
//!   stored (the end-to-end tests);
//! - the OTLP receivers ([`GrpcReceiver`], [`HttpReceiver`], [`JsonReceiver`],
//!   [`CountingReceiver`]) and the proto attribute helpers ([`attr_str`], [`attr_i64`]…),
//!   re-exported from `zdk-trace-receivers`, which the runtime's own tests use too.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod harness;
pub mod phoenix;
pub mod scrape;

pub use zdk_trace_receivers::{
    attr, attr_bool, attr_f64, attr_i64, attr_str, attr_text, count_spans, hex, CountingReceiver,
    FlappingProxy, GrpcCode, GrpcReceiver, HasAttributes, HttpReceiver, JsonReceiver, JsonRequest,
    MetricsReceiver, ReceivedRequest, ReceivedSpan, TraceCount, WireError, GRPC_EXPORT_PATH,
};
