//! The built-in OTLP exporters (gRPC through tonic, HTTP/protobuf through the async reqwest
//! client), built from the resolved [`OtlpSettings`]. They send requests the pipeline encoded
//! straight from the span records ([`super::encode`]): no `SpanData`, no protobuf structs.
//! Each transport is compiled only with its Cargo feature (`otlp-grpc`, `otlp-http`); asking
//! for one that is not compiled in is `ExporterBuildError::NotCompiled`, naming the feature to
//! enable.
//!
//! Both transports are driven by the pipeline's exporter thread, which owns one `tokio`
//! current-thread runtime and `block_on`s every export. Two rules follow:
//!
//! - The gRPC exporter must be **built inside that runtime** (`rt.enter()` or inside
//!   `rt.block_on`): tonic spawns its channel worker onto the current runtime when the channel
//!   is created. Without a runtime, [`build_otlp_sender`] returns
//!   [`ExporterBuildError::NoRuntime`] instead of letting tonic panic.
//! - The **same** runtime must drive every export: both clients keep pooled connections whose
//!   tasks live on the runtime that created them.
//!
//! Failed requests are retried as the OTLP specification allows (throttled or unavailable
//! collectors, broken connections), with exponential backoff, all within the export timeout
//! ([`super::wire::with_retries`]).

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use http::header::{HeaderMap, HeaderName, HeaderValue};
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
use http::Uri;

#[cfg(feature = "otlp-grpc")]
use super::grpc::GrpcSender;
#[cfg(feature = "otlp-http")]
use super::http::HttpSender;
use super::wire::{with_retries, SendError};
use crate::config::{OtlpProtocol, OtlpSettings};

/// Why an OTLP exporter could not be built from its settings.
///
/// Header values are secrets: no variant ever contains one.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExporterBuildError {
    /// The protocol's transport is not compiled in: its Cargo feature is off.
    #[cfg(not(all(feature = "otlp-grpc", feature = "otlp-http")))]
    #[error(
        "OTLP over {protocol} is not compiled in: enable the `{feature}` feature of \
         zdk-trace-runtime, or choose another exporter or protocol"
    )]
    NotCompiled {
        protocol: &'static str,
        feature: &'static str,
    },
    /// The endpoint is not an absolute `http://` or `https://` URL.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    #[error("invalid OTLP {protocol} endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        protocol: &'static str,
        endpoint: String,
        reason: String,
    },
    /// A header name is not a valid HTTP header name.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    #[error("invalid OTLP header name `{name}`: {reason}; use letters, digits and `-`")]
    InvalidHeaderName { name: String, reason: String },
    /// A header value contains characters HTTP does not allow (the value is not shown).
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    #[error(
        "invalid value for OTLP header `{name}`: only visible ASCII characters, spaces and tabs \
         are allowed (value not shown)"
    )]
    InvalidHeaderValue { name: String },
    /// The gRPC exporter was built outside a tokio runtime.
    #[cfg(feature = "otlp-grpc")]
    #[error(
        "the OTLP gRPC exporter must be built inside the tokio runtime that will run its \
         exports (call it within `Runtime::enter` or `block_on`)"
    )]
    NoRuntime,
    /// The HTTP or gRPC client refused the settings.
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    #[error("building the OTLP {protocol} client for `{endpoint}` failed: {reason}")]
    Client {
        protocol: &'static str,
        endpoint: String,
        reason: String,
    },
}

/// A built-in OTLP exporter: sends encoded `ExportTraceServiceRequest`s, retrying within the
/// timeout.
#[derive(Debug)]
pub(crate) struct OtlpSender {
    transport: Transport,
    timeout: Duration,
}

#[derive(Debug)]
enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc(GrpcSender),
    #[cfg(feature = "otlp-http")]
    Http(HttpSender),
    /// Neither transport is compiled in: no sender can be built.
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    #[allow(dead_code)]
    None(std::convert::Infallible),
}

impl OtlpSender {
    /// How warnings name this exporter.
    pub(crate) fn name(&self) -> &'static str {
        match &self.transport {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(_) => "the OTLP/gRPC exporter",
            #[cfg(feature = "otlp-http")]
            Transport::Http(_) => "the OTLP/HTTP exporter",
            #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
            Transport::None(never) => match *never {},
        }
    }

    /// One attempt of one encoded request, within the timeout (the pipeline keeps a request
    /// that failed for a retry, without holding up the next ones).
    ///
    /// The request is `parts` one after the other: each an `ExportTraceServiceRequest` (or
    /// `ExportMetricsServiceRequest`) of its own, so that, their `resource_spans` being a
    /// repeated field, the concatenation is one request holding them all. They go out as one
    /// body without being copied together.
    pub(crate) async fn attempt(&self, parts: &[Bytes]) -> Result<(), SendError> {
        let once = async {
            match &self.transport {
                #[cfg(feature = "otlp-grpc")]
                Transport::Grpc(grpc) => grpc.send(parts).await,
                #[cfg(feature = "otlp-http")]
                Transport::Http(http) => http.send(parts).await,
                #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
                Transport::None(never) => {
                    let _ = parts;
                    match *never {}
                }
            }
        };
        match tokio::time::timeout(self.timeout, once).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(self.timeout)),
        }
    }

    /// Sends one encoded request (retried as the specification allows, within the timeout).
    pub(crate) async fn send(&self, request: Bytes) -> Result<(), SendError> {
        with_retries(self.timeout, || {
            let request = request.clone();
            async move {
                match &self.transport {
                    #[cfg(feature = "otlp-grpc")]
                    Transport::Grpc(grpc) => grpc.send(std::slice::from_ref(&request)).await,
                    #[cfg(feature = "otlp-http")]
                    Transport::Http(http) => http.send(std::slice::from_ref(&request)).await,
                    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
                    Transport::None(never) => {
                        let _ = request;
                        match *never {}
                    }
                }
            }
        })
        .await
    }
}

/// Builds the OTLP exporter described by `s`. Headers, compression and timeout come from the
/// settings only (the configuration layers already merged `OTEL_EXPORTER_OTLP_*` into them).
///
/// # Errors
///
/// [`ExporterBuildError`] naming the bad endpoint or header, [`ExporterBuildError::NoRuntime`]
/// for gRPC outside a tokio runtime, `ExporterBuildError::NotCompiled` when the protocol's
/// feature is off.
pub(crate) fn build_otlp_sender(s: &OtlpSettings) -> Result<OtlpSender, ExporterBuildError> {
    build_sender(s, Signal::Traces)
}

/// [`build_otlp_sender`] for metrics: the same transports, sending encoded
/// `ExportMetricsServiceRequest`s (`MetricsService/Export` over gRPC; over HTTP `s.endpoint`
/// is the full metrics URL).
///
/// # Errors
///
/// As [`build_otlp_sender`].
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) fn build_otlp_metrics_sender(
    s: &OtlpSettings,
) -> Result<OtlpSender, ExporterBuildError> {
    build_sender(s, Signal::Metrics)
}

/// What an OTLP sender sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(dead_code)
)]
enum Signal {
    Traces,
    Metrics,
}

fn build_sender(s: &OtlpSettings, signal: Signal) -> Result<OtlpSender, ExporterBuildError> {
    let transport = match s.protocol {
        OtlpProtocol::Grpc => build_grpc(s, signal)?,
        OtlpProtocol::HttpProtobuf => build_http(s, signal)?,
    };
    Ok(OtlpSender {
        transport,
        timeout: s.timeout,
    })
}

#[cfg(feature = "otlp-grpc")]
fn build_grpc(s: &OtlpSettings, signal: Signal) -> Result<Transport, ExporterBuildError> {
    validate_endpoint(s.protocol, &s.endpoint, signal)?;
    let headers = header_map(&s.headers)?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(ExporterBuildError::NoRuntime);
    }
    let path = match signal {
        Signal::Traces => super::grpc::TRACES_PATH,
        Signal::Metrics => super::grpc::METRICS_PATH,
    };
    GrpcSender::new(&s.endpoint, headers, s.gzip, s.timeout, path)
        .map(Transport::Grpc)
        .map_err(|reason| client_error(s, reason))
}

#[cfg(not(feature = "otlp-grpc"))]
fn build_grpc(s: &OtlpSettings, _: Signal) -> Result<Transport, ExporterBuildError> {
    Err(ExporterBuildError::NotCompiled {
        protocol: protocol_name(s.protocol),
        feature: "otlp-grpc",
    })
}

#[cfg(feature = "otlp-http")]
fn build_http(s: &OtlpSettings, signal: Signal) -> Result<Transport, ExporterBuildError> {
    validate_endpoint(s.protocol, &s.endpoint, signal)?;
    let headers = header_map(&s.headers)?;
    HttpSender::new(&s.endpoint, headers, s.gzip, s.timeout)
        .map(Transport::Http)
        .map_err(|reason| client_error(s, reason))
}

#[cfg(not(feature = "otlp-http"))]
fn build_http(s: &OtlpSettings, _: Signal) -> Result<Transport, ExporterBuildError> {
    Err(ExporterBuildError::NotCompiled {
        protocol: protocol_name(s.protocol),
        feature: "otlp-http",
    })
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn client_error(s: &OtlpSettings, reason: String) -> ExporterBuildError {
    ExporterBuildError::Client {
        protocol: protocol_name(s.protocol),
        endpoint: s.endpoint.clone(),
        reason,
    }
}

fn protocol_name(protocol: OtlpProtocol) -> &'static str {
    match protocol {
        OtlpProtocol::Grpc => "gRPC",
        OtlpProtocol::HttpProtobuf => "HTTP/protobuf",
    }
}

/// Checks the endpoint up front: HTTP clients accept scheme-less URIs such as
/// `collector:4318` and only fail, without naming the endpoint, at the first export.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn validate_endpoint(
    protocol: OtlpProtocol,
    endpoint: &str,
    signal: Signal,
) -> Result<(), ExporterBuildError> {
    let invalid = |reason: String| ExporterBuildError::InvalidEndpoint {
        protocol: protocol_name(protocol),
        endpoint: endpoint.to_owned(),
        reason,
    };
    let example = match (protocol, signal) {
        (OtlpProtocol::Grpc, _) => "http://localhost:4317",
        (OtlpProtocol::HttpProtobuf, Signal::Traces) => "http://localhost:4318/v1/traces",
        (OtlpProtocol::HttpProtobuf, Signal::Metrics) => "http://localhost:4318/v1/metrics",
    };
    let uri = Uri::from_str(endpoint).map_err(|e| invalid(format!("{e}; expected `{example}`")))?;
    match uri.scheme_str() {
        Some("http") => {}
        // Neither client is built with a TLS backend, so an https endpoint could never connect.
        Some("https") => {
            return Err(invalid(
                "https is not supported by this build (no TLS backend); use http:// or a local \
                 collector"
                    .to_owned(),
            ))
        }
        Some(other) => {
            return Err(invalid(format!(
                "unsupported scheme `{other}`; expected `{example}`"
            )))
        }
        None => return Err(invalid(format!("missing `http://`; expected `{example}`"))),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid(format!("missing host; expected `{example}`")));
    }
    Ok(())
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn header_map(
    headers: &[(String, crate::config::Secret)],
) -> Result<HeaderMap, ExporterBuildError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let header_name =
            HeaderName::from_str(name).map_err(|e| ExporterBuildError::InvalidHeaderName {
                name: name.clone(),
                reason: e.to_string(),
            })?;
        let header_value = HeaderValue::from_str(&value.0)
            .map_err(|_| ExporterBuildError::InvalidHeaderValue { name: name.clone() })?;
        // Later entries win, as for every other layered setting.
        map.insert(header_name, header_value);
    }
    Ok(map)
}

// The wire tests need both transports.
#[cfg(all(test, feature = "otlp-grpc", feature = "otlp-http"))]
mod tests {
    use std::time::Duration;

    use opentelemetry::KeyValue;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::SpanData;
    use opentelemetry_sdk::Resource;
    use zdk_trace_receivers::{attr_i64, attr_str, hex, GrpcCode, GrpcReceiver, HttpReceiver};

    use super::*;
    use crate::config::Secret;
    use crate::export::fixtures;

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

    fn settings(protocol: OtlpProtocol, endpoint: &str) -> OtlpSettings {
        OtlpSettings {
            endpoint: endpoint.to_owned(),
            protocol,
            headers: Vec::new(),
            timeout: Duration::from_secs(5),
            gzip: false,
        }
    }

    fn span(name: &'static str, id: u64, parent: u64) -> SpanData {
        let mut span = fixtures::span_data(
            TRACE,
            id,
            parent,
            name,
            Duration::ZERO,
            Duration::from_millis(12),
        );
        span.attributes = vec![
            KeyValue::new("gen_ai.request.model", "gpt-4o"),
            KeyValue::new("gen_ai.usage.input_tokens", 42_i64),
        ];
        span
    }

    fn runtime() -> tokio::runtime::Runtime {
        // Exactly what the pipeline's background thread does.
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("cannot build the test runtime: {e}"),
        }
    }

    /// Builds the exporter inside `rt`, sets the resource, exports `batch` twice (the second
    /// time reusing pooled connections) and returns both results.
    fn export_twice(
        rt: &tokio::runtime::Runtime,
        s: &OtlpSettings,
        batch: Vec<SpanData>,
    ) -> (Result<(), SendError>, Result<(), SendError>) {
        let sender = {
            let _guard = rt.enter();
            match build_otlp_sender(s) {
                Ok(e) => e,
                Err(e) => panic!("build failed: {e}"),
            }
        };
        // Encoded by opentelemetry-proto, independently of the pipeline's encoder: these tests
        // are about the transports.
        let resource = Resource::builder_empty()
            .with_service_name("checkout")
            .build();
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                batch,
                &ResourceAttributesWithSchema::from(&resource),
            ),
        };
        let request = Bytes::from(prost::Message::encode_to_vec(&request));
        let first = rt.block_on(sender.send(request.clone()));
        let second = rt.block_on(sender.send(request));
        (first, second)
    }

    fn assert_error(result: Result<OtlpSender, ExporterBuildError>, needle: &str) -> String {
        match result {
            Ok(_) => panic!("expected an error containing {needle:?}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(needle), "{msg:?} does not contain {needle:?}");
                msg
            }
        }
    }

    #[test]
    fn endpoint_without_scheme_is_rejected_naming_it() {
        let rt = runtime();
        let _guard = rt.enter();
        for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
            let msg = assert_error(
                build_otlp_sender(&settings(protocol, "collector:4317")),
                "`collector:4317`",
            );
            assert!(msg.contains("http://"), "{msg}");
        }
    }

    #[test]
    fn endpoint_that_is_not_a_uri_is_rejected() {
        assert_error(
            build_otlp_sender(&settings(OtlpProtocol::HttpProtobuf, "http://bad host/")),
            "invalid OTLP HTTP/protobuf endpoint `http://bad host/`",
        );
        assert_error(
            build_otlp_sender(&settings(OtlpProtocol::HttpProtobuf, "")),
            "invalid OTLP HTTP/protobuf endpoint ``",
        );
        assert_error(
            build_otlp_sender(&settings(OtlpProtocol::HttpProtobuf, "ftp://x/v1/traces")),
            "unsupported scheme `ftp`",
        );
    }

    #[test]
    fn https_is_rejected_without_tls_backend() {
        assert_error(
            build_otlp_sender(&settings(OtlpProtocol::HttpProtobuf, "https://x/v1/traces")),
            "no TLS backend",
        );
    }

    #[test]
    fn bad_header_name_is_named() {
        let mut s = settings(
            OtlpProtocol::HttpProtobuf,
            "http://127.0.0.1:4318/v1/traces",
        );
        s.headers = vec![("bad header".to_owned(), Secret("v".to_owned()))];
        assert_error(
            build_otlp_sender(&s),
            "invalid OTLP header name `bad header`",
        );
    }

    #[test]
    fn bad_header_value_is_named_but_not_shown() {
        let mut s = settings(OtlpProtocol::Grpc, "http://127.0.0.1:4317");
        s.headers = vec![(
            "authorization".to_owned(),
            Secret("Bearer sk-secret\n".to_owned()),
        )];
        let msg = assert_error(build_otlp_sender(&s), "`authorization`");
        assert!(!msg.contains("sk-secret"), "{msg}");
    }

    #[test]
    fn grpc_outside_a_runtime_is_an_error_not_a_panic() {
        assert!(matches!(
            build_otlp_sender(&settings(OtlpProtocol::Grpc, "http://127.0.0.1:4317")),
            Err(ExporterBuildError::NoRuntime)
        ));
    }

    #[test]
    fn http_builds_outside_a_runtime() {
        let s = settings(
            OtlpProtocol::HttpProtobuf,
            "http://127.0.0.1:4318/v1/traces",
        );
        assert!(build_otlp_sender(&s).is_ok());
    }

    #[test]
    fn grpc_delivers_spans_with_gzip_and_headers() {
        let receiver = GrpcReceiver::start();
        let mut s = settings(OtlpProtocol::Grpc, &receiver.endpoint());
        s.gzip = true;
        s.headers = vec![
            ("x-api-key".to_owned(), Secret("k%20ey".to_owned())),
            ("X-Tenant".to_owned(), Secret("acme".to_owned())),
        ];
        let rt = runtime();
        let (first, second) = export_twice(&rt, &s, vec![span("child", 2, 1), span("root", 1, 0)]);
        assert!(first.is_ok(), "{first:?}");
        assert!(second.is_ok(), "{second:?}");

        let spans = receiver.wait_for_spans(4, Duration::from_secs(5));
        assert_eq!(spans.len(), 4);
        let names: Vec<_> = spans.iter().map(|s| s.span.name.as_str()).collect();
        assert_eq!(names, ["child", "root", "child", "root"]);

        let child = &spans[0];
        assert_eq!(hex(&child.span.trace_id), format!("{TRACE:032x}"));
        assert_eq!(hex(&child.span.span_id), "0000000000000002");
        assert_eq!(hex(&child.span.parent_span_id), "0000000000000001");
        assert!(spans[1].span.parent_span_id.is_empty());
        assert_eq!(
            attr_str(&child.span, "gen_ai.request.model"),
            Some("gpt-4o")
        );
        assert_eq!(attr_i64(&child.span, "gen_ai.usage.input_tokens"), Some(42));
        assert_eq!(attr_str(&child.resource, "service.name"), Some("checkout"));

        let request = &receiver.requests()[0];
        assert_eq!(request.header("grpc-encoding"), Some("gzip"));
        // gRPC metadata is not percent-decoded.
        assert_eq!(request.header("x-api-key"), Some("k%20ey"));
        assert_eq!(request.header("x-tenant"), Some("acme"));
    }

    #[test]
    fn grpc_error_status_fails_the_export() {
        let receiver = GrpcReceiver::start();
        receiver.respond_with_error(GrpcCode::PermissionDenied, "bad key");
        let rt = runtime();
        let (first, _) = export_twice(
            &rt,
            &settings(OtlpProtocol::Grpc, &receiver.endpoint()),
            vec![span("root", 1, 0)],
        );
        assert!(first.is_err());
        assert!(receiver.spans().is_empty());
        assert!(!receiver.requests().is_empty());
    }

    /// A port nobody listens on (bound, then released).
    fn closed_port() -> u16 {
        match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
            Ok(addr) => addr.port(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn unreachable_endpoint_fails_within_timeout() {
        let port = closed_port();
        for (protocol, endpoint) in [
            (OtlpProtocol::Grpc, format!("http://127.0.0.1:{port}")),
            (
                OtlpProtocol::HttpProtobuf,
                format!("http://127.0.0.1:{port}/v1/traces"),
            ),
        ] {
            let mut s = settings(protocol, &endpoint);
            s.timeout = Duration::from_millis(500);
            let rt = runtime();
            let started = std::time::Instant::now();
            let (first, second) = export_twice(&rt, &s, vec![span("root", 1, 0)]);
            assert!(first.is_err() && second.is_err(), "{endpoint}");
            // Retries stay within the timeout budget (two exports here).
            assert!(started.elapsed() < Duration::from_secs(5), "{endpoint}");
        }
    }

    #[test]
    fn http_delivers_protobuf_with_gzip_and_headers() {
        let receiver = HttpReceiver::start();
        let mut s = settings(OtlpProtocol::HttpProtobuf, &receiver.traces_url());
        s.gzip = true;
        s.headers = vec![
            (
                "Authorization".to_owned(),
                Secret("Bearer a%2Fb".to_owned()),
            ),
            ("x-tenant".to_owned(), Secret("acme".to_owned())),
        ];
        let rt = runtime();
        let (first, second) = export_twice(&rt, &s, vec![span("child", 2, 1), span("root", 1, 0)]);
        assert!(first.is_ok(), "{first:?}");
        assert!(second.is_ok(), "{second:?}");

        let spans = receiver.wait_for_spans(4, Duration::from_secs(5));
        assert_eq!(spans.len(), 4);
        assert_eq!(spans[0].span.name, "child");
        assert_eq!(hex(&spans[0].span.parent_span_id), "0000000000000001");
        assert_eq!(
            attr_str(&spans[1].resource, "service.name"),
            Some("checkout")
        );
        assert_eq!(
            attr_str(&spans[1].span, "gen_ai.request.model"),
            Some("gpt-4o")
        );

        let request = &receiver.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/traces");
        assert_eq!(
            request.header("content-type"),
            Some("application/x-protobuf")
        );
        assert_eq!(request.header("content-encoding"), Some("gzip"));
        // The value arrives exactly as configured: not percent-decoded.
        assert_eq!(request.header("authorization"), Some("Bearer a%2Fb"));
        assert_eq!(request.header("x-tenant"), Some("acme"));
        assert!(request
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("zdk-trace/")));
    }

    #[test]
    fn http_without_gzip_sends_plain_body() {
        let receiver = HttpReceiver::start();
        let rt = runtime();
        let (first, _) = export_twice(
            &rt,
            &settings(OtlpProtocol::HttpProtobuf, &receiver.traces_url()),
            vec![span("root", 1, 0)],
        );
        assert!(first.is_ok(), "{first:?}");
        let request = &receiver.requests()[0];
        assert_eq!(request.header("content-encoding"), None);
        assert_eq!(receiver.spans().len(), 2);
    }

    #[test]
    fn http_error_status_fails_the_export() {
        for status in [401, 500] {
            let receiver = HttpReceiver::start();
            receiver.respond_with_status(status);
            let rt = runtime();
            let (first, second) = export_twice(
                &rt,
                &settings(OtlpProtocol::HttpProtobuf, &receiver.traces_url()),
                vec![span("root", 1, 0)],
            );
            let msg = format!("{first:?}");
            assert!(msg.contains(&status.to_string()), "{msg}");
            assert!(second.is_err());
            assert!(receiver.spans().is_empty());
            // Not retried: 401 and 500 are not retryable in OTLP.
            assert_eq!(receiver.requests().len(), 2);
        }
    }
}
