//! zdk-trace runtime (manual written at the end of the runtime issue).
#![warn(missing_docs, unreachable_pub)]

mod config;
mod context;
mod export;
mod instrument;
mod pipeline;
mod sampling;
mod span;
mod telemetry;

pub use context::propagation;
pub use export::{ConsoleExporter, JsonLinesExporter};
pub use context::{current_span_context, ContextGuard, TraceContext};
pub use instrument::{spawn, spawn_thread, FutureExt, Instrumented, StreamExt, WithContext};
pub use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId};
pub use opentelemetry::{KeyValue, Value};
pub use pipeline::stats::Stats;
pub use sampling::{Sampler, TailSampling};
pub use span::{EnterGuard, EnteredSpan, Span, SpanBuilder};
pub use telemetry::{
    FlushError, InstallError, ShutdownError, Telemetry, TelemetryBuilder, DROP_TIMEOUT_DEFAULT,
    FLUSH_TIMEOUT_DEFAULT,
};
pub use config::{Config, ConfigError, Protocol};
