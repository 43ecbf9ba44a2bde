//! Real OTLP trace receivers for the zdk-trace tests and benchmarks, listening on `127.0.0.1`
//! with ephemeral ports, each on its own tokio runtime in a background thread, so tests can
//! stay synchronous:
//!
//! - [`GrpcReceiver`]: a tonic `TraceService` (accepts gzip);
//! - [`HttpReceiver`]: HTTP/1.1 `POST /v1/traces` with `application/x-protobuf` (gunzips
//!   `content-encoding: gzip`);
//! - [`JsonReceiver`]: HTTP/1.1 `POST /v1/traces` with `application/json` (OTLP/JSON, the
//!   usage layer's payload), keeping each raw decompressed body so tests can check its exact
//!   shape;
//! - [`CountingReceiver`]: only counts spans (gRPC or HTTP, optionally stalled), for benchmarks;
//! - [`PyroscopeReceiver`]: Pyroscope's `POST /ingest` for pprof profiles (raw body with
//!   `format=pprof`, or a multipart form), keeping each profile decoded.
//!
//! The first three record every request (headers included) and can be told to fail. Attribute
//! helpers ([`attr_str`], [`attr_i64`]…) read proto spans, events and resources.
//!
//! This crate does not depend on `zdk-trace-runtime`, so the runtime can dev-depend on it for
//! its exporter wire tests and benchmarks without building a second copy of itself;
//! `zdk-trace-tests` re-exports everything here.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod attrs;
mod counting;
mod flapping;
mod grpc;
mod http;
mod json;
mod metrics;
mod pyroscope;
mod request;
mod server;
mod store;

pub use attrs::{attr, attr_bool, attr_f64, attr_i64, attr_str, attr_text, hex, HasAttributes};
pub use counting::{count_spans, CountingReceiver, TraceCount, WireError};
pub use flapping::FlappingProxy;
pub use grpc::{GrpcReceiver, GRPC_EXPORT_PATH};
pub use http::HttpReceiver;
pub use json::{JsonReceiver, JsonRequest};
pub use metrics::MetricsReceiver;
pub use pyroscope::{
    PyroscopePush, PyroscopeReceiver, PyroscopeRequest, PYROSCOPE_DEFAULT_SAMPLE_RATE,
};
pub use request::{ReceivedRequest, ReceivedSpan};
pub use tonic::Code as GrpcCode;
