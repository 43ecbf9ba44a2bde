//! [`OtlpCheck`]: one test span sent through the configured OTLP exporter (`zdk-trace check`).

use std::borrow::Cow;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;

use super::otlp::{build_otlp_exporter, ExporterBuildError};
use crate::config::{OtlpProtocol, OtlpSettings, Protocol};

/// The name of the span [`TelemetryBuilder::check_otlp`](crate::TelemetryBuilder::check_otlp)
/// sends, so it can be found in the backend.
pub(crate) const CHECK_SPAN_NAME: &str = "zdk-trace check";

/// What happened to the one test span sent by
/// [`TelemetryBuilder::check_otlp`](crate::TelemetryBuilder::check_otlp).
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{Protocol, Telemetry};
///
/// let check = Telemetry::builder()
///     .env_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")])
///     .check_otlp()?;
/// assert_eq!(check.protocol, Protocol::HttpProtobuf);
/// if let Some(error) = &check.error {
///     println!("export to {} failed after {:?}: {error}", check.endpoint, check.elapsed);
/// }
/// # Ok::<(), zdk_trace_runtime::InstallError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpCheck {
    /// The URL the span was sent to (for HTTP, with `/v1/traces`).
    pub endpoint: String,
    /// The transport used.
    pub protocol: Protocol,
    /// Whether the configuration turns the OTLP exporter on; `false` means the default OTLP
    /// settings were checked although the application would not export over OTLP.
    pub configured: bool,
    /// The trace id of the test span, as 32 hex digits.
    pub trace_id: String,
    /// How long the export took, answer included.
    pub elapsed: Duration,
    /// The exporter's error when the export failed (never contains a header value).
    pub error: Option<String>,
}

/// Builds the exporter as `install()` does, on `runtime` (made like the pipeline's, by the
/// caller), and exports one span. The only error is the exporter's that could not be built; a
/// failed export is reported in [`OtlpCheck::error`].
pub(crate) fn send_test_span(
    otlp: &OtlpSettings,
    configured: bool,
    resource: &Resource,
    runtime: &tokio::runtime::Runtime,
) -> Result<OtlpCheck, ExporterBuildError> {
    let mut exporter = {
        // gRPC clients start their worker on the runtime current when they are built.
        let _guard = runtime.enter();
        build_otlp_exporter(otlp)?
    };
    exporter.set_resource(resource);
    let ids = RandomIdGenerator::default();
    let trace_id = ids.new_trace_id();
    let end = SystemTime::now();
    let span = SpanData {
        span_context: SpanContext::new(
            trace_id,
            ids.new_span_id(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed(CHECK_SPAN_NAME),
        start_time: end.checked_sub(Duration::from_millis(1)).unwrap_or(end),
        end_time: end,
        attributes: vec![KeyValue::new("zdk.check", true)],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("zdk-trace")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    };
    let started = Instant::now();
    let result = runtime.block_on(exporter.export(vec![span]));
    let elapsed = started.elapsed();
    let _ = exporter.shutdown_with_timeout(Duration::from_secs(5));
    Ok(OtlpCheck {
        endpoint: otlp.endpoint.clone(),
        protocol: match otlp.protocol {
            OtlpProtocol::Grpc => Protocol::Grpc,
            OtlpProtocol::HttpProtobuf => Protocol::HttpProtobuf,
        },
        configured,
        trace_id: format!("{trace_id}"),
        elapsed,
        error: result.err().map(|e| e.to_string()),
    })
}
