//! Exporters: OTLP (gRPC, HTTP/protobuf), console trees, JSON-lines files, and any
//! `opentelemetry_sdk` `SpanExporter`.

mod buffers;
mod console;
mod encode;
mod file;
#[cfg(feature = "otlp-grpc")]
mod gather;
#[cfg(feature = "otlp-grpc")]
mod grpc;
#[cfg(feature = "otlp-http")]
mod http;
pub(crate) mod metrics_summary;
mod otlp;
mod probe;
mod wire;

pub(crate) use buffers::RequestBuffers;
pub use console::ConsoleExporter;
pub(crate) use encode::{OtlpBatch, TraceEncoder};
pub use file::JsonLinesExporter;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) use otlp::build_otlp_metrics_sender;
pub(crate) use otlp::{build_otlp_sender, ExporterBuildError, OtlpSender};
pub use probe::OtlpCheck;
pub(crate) use probe::{scope, send_test_span};
pub(crate) use wire::SendError;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

/// A boxed future, as the object-safe exporter returns it.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Object-safe view of [`SpanExporter`] (whose `export` returns `impl Future`, so it cannot be
/// a trait object), so the pipeline can hold several exporters of different types.
pub(crate) trait DynExporter: Send + Sync + std::fmt::Debug {
    /// The exporter's type name, for warnings.
    fn name(&self) -> &'static str;
    fn export(&self, batch: Vec<SpanData>) -> BoxFuture<'_, OTelSdkResult>;
    fn force_flush(&self) -> OTelSdkResult;
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult;
    fn set_resource(&mut self, resource: &Resource);
}

impl<E: SpanExporter + 'static> DynExporter for E {
    fn name(&self) -> &'static str {
        std::any::type_name::<E>()
    }
    fn export(&self, batch: Vec<SpanData>) -> BoxFuture<'_, OTelSdkResult> {
        Box::pin(SpanExporter::export(self, batch))
    }
    fn force_flush(&self) -> OTelSdkResult {
        SpanExporter::force_flush(self)
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        SpanExporter::shutdown_with_timeout(self, timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        SpanExporter::set_resource(self, resource)
    }
}

/// Hand-made `SpanData` for the exporters' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::borrow::Cow;
    use std::time::{Duration, SystemTime};

    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

    /// Seconds since the epoch of every fixture span's start (plus its offset).
    pub(crate) const T0: u64 = 1_700_000_000;

    /// An internal, sampled span with no attributes, starting `T0 + start`, lasting `duration`.
    pub(crate) fn span_data(
        trace: u128,
        id: u64,
        parent: u64,
        name: &'static str,
        start: Duration,
        duration: Duration,
    ) -> SpanData {
        let start_time = SystemTime::UNIX_EPOCH + Duration::from_secs(T0) + start;
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(trace),
                SpanId::from(id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed(name),
            start_time,
            end_time: start_time + duration,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("zdk-trace").build(),
        }
    }
}
