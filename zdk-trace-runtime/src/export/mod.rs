//! Exporters: OTLP (gRPC, HTTP/protobuf), console trees, JSON-lines files, and any
//! `opentelemetry_sdk` `SpanExporter`.

mod console;
mod file;
mod otlp;

pub use console::ConsoleExporter;
pub use file::JsonLinesExporter;
pub(crate) use otlp::build_otlp_exporter;

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
