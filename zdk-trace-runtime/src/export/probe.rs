//! [`OtlpCheck`]: one test span sent through the configured OTLP exporter (`zdk-trace check`).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use opentelemetry::trace::SpanKind;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use opentelemetry_sdk::Resource;

use super::encode::TraceEncoder;
use super::otlp::{build_otlp_sender, ExporterBuildError};
use crate::clock;
use crate::config::{OtlpProtocol, OtlpSettings, Protocol};
use crate::record::{RawSpan, FLAG_RECORDING, FLAG_SAMPLED};

/// The instrumentation scope of every span zdk-trace exports.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("zdk-trace")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

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
    let sender = {
        // gRPC clients start their worker on the runtime current when they are built.
        let _guard = runtime.enter();
        build_otlp_sender(otlp)?
    };
    let ids = RandomIdGenerator::default();
    let trace_id = ids.new_trace_id();
    let end = clock::now_raw();
    let span = RawSpan {
        trace_id: u128::from_be_bytes(trace_id.to_bytes()),
        span_id: u64::from_be_bytes(ids.new_span_id().to_bytes()),
        parent_id: 0,
        start: end,
        end,
        name: Cow::Borrowed(CHECK_SPAN_NAME),
        kind: SpanKind::Internal,
        flags: FLAG_SAMPLED | FLAG_RECORDING,
        dropped: 0,
        plain: 0,
        attributes: [KeyValue::new("zdk.check", true)].into_iter().collect(),
        extras: None,
        meter: None,
        agent: None,
        random: false,
    };
    // Encoded and sent exactly as the pipeline does it.
    let mut encoder = TraceEncoder::new(resource, &scope());
    let mut batch = encoder.begin(Vec::new());
    encoder.push(&mut batch, &span);
    encoder.finish(&mut batch);
    let request = batch.into_bytes();
    let started = Instant::now();
    let result = runtime.block_on(sender.send(request));
    let elapsed = started.elapsed();
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
