//! `zdk-trace check`: one test span through the runtime's own OTLP exporter, then, on
//! failure, a raw TCP probe of the endpoint to say *why* in terms a user can act on.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use zdk_trace_runtime::{
    ConfigReport, InstallError, OtlpCheck, Protocol, Telemetry, TelemetryBuilder,
};

use crate::paint::{self, Painter, GREEN, RED};
use crate::{EXIT_CONFIG, EXIT_FAILURE};

/// The client connection preface of HTTP/2 followed by an empty SETTINGS frame: an HTTP/2
/// (gRPC) server answers with frames, an HTTP/1 server with `HTTP/1.1 4xx`.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
/// The longest the probe waits, whatever the configured timeout.
const PROBE_TIMEOUT_MAX: Duration = Duration::from_secs(5);

pub(crate) fn run() -> u8 {
    let p = Painter {
        on: paint::stdout_colors(),
    };
    let builder = Telemetry::builder();
    let report = match builder.config_report() {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return EXIT_CONFIG;
        }
    };
    let traces = check_traces(&builder, &report, p);
    if traces == EXIT_CONFIG {
        return traces;
    }
    // Then the metrics endpoints, whatever the traces' outcome, so one run says everything.
    let metrics_ok = crate::check_metrics::check(&report, p);
    match (traces, metrics_ok) {
        (0, true) => 0,
        (0, false) => EXIT_FAILURE,
        (code, _) => code,
    }
}

/// The traces part: one test span, and a diagnosis when it fails.
fn check_traces(builder: &TelemetryBuilder, report: &ConfigReport, p: Painter) -> u8 {
    let value = |key: &str| {
        report
            .entry(key)
            .map(|e| e.value.clone())
            .unwrap_or_default()
    };
    let endpoint = value("telemetry.tracing.otlp.endpoint");
    let protocol = value("telemetry.tracing.otlp.protocol");
    let timeout = report
        .entry("telemetry.tracing.otlp.timeout_seconds")
        .and_then(|e| e.value.trim_end_matches('s').parse::<f64>().ok())
        .map_or(PROBE_TIMEOUT_MAX, Duration::from_secs_f64);
    println!("checking OTLP export: {protocol} to {endpoint}");

    if endpoint.starts_with("https://") {
        fail(
            p,
            "TLS: this build of zdk-trace has no TLS support, so `https://` endpoints cannot \
             connect",
            "send to a collector or sidecar reachable over `http://` (for example an \
             OpenTelemetry Collector on localhost that forwards over TLS)",
        );
        return EXIT_FAILURE;
    }

    let check = match builder.check_otlp() {
        Ok(check) => check,
        Err(InstallError::Config(e)) => {
            eprintln!("error: invalid configuration: {e}");
            return EXIT_CONFIG;
        }
        Err(e) => {
            fail(p, &e.to_string(), "fix the endpoint or header named above");
            return EXIT_FAILURE;
        }
    };
    if !check.configured {
        println!(
            "note: no OTLP exporter is configured (set `OTEL_EXPORTER_OTLP_ENDPOINT` or \
             `telemetry.tracing.otlp.endpoint`); checking the default endpoint"
        );
    }
    match &check.error {
        None => {
            println!(
                "{} the endpoint accepted the test span in {} (trace id {})",
                p.paint(GREEN, "ok:"),
                millis(check.elapsed),
                check.trace_id
            );
            0
        }
        Some(error) => {
            let (what, hint) = diagnose(&check, error, timeout.min(PROBE_TIMEOUT_MAX));
            fail(p, &what, &hint);
            eprintln!("  after {}; exporter said: {error}", millis(check.elapsed));
            EXIT_FAILURE
        }
    }
}

fn fail(p: Painter, what: &str, hint: &str) {
    eprintln!("{} {what}", p.paint(RED, "error:"));
    eprintln!("  hint: {hint}");
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// What the server at the endpoint's address answered to the probe.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    Refused,
    ConnectTimeout,
    /// Resolving or connecting failed otherwise.
    Unreachable(String),
    /// An HTTP/1 status line came back.
    Http1,
    /// HTTP/2 frames came back (a gRPC server).
    Http2,
    /// Connected, but nothing came back in time.
    Silent,
    /// Connected, then closed without a byte, or something else came back.
    Other,
}

fn probe(endpoint: &str, timeout: Duration) -> Probe {
    let Some(addr) = socket_addr(endpoint) else {
        return Probe::Unreachable(format!("cannot resolve the host of `{endpoint}`"));
    };
    let mut stream = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Probe::Refused,
        Err(e) if e.kind() == ErrorKind::TimedOut => return Probe::ConnectTimeout,
        Err(e) => return Probe::Unreachable(e.to_string()),
    };
    if stream.set_read_timeout(Some(timeout)).is_err() || stream.write_all(H2_PREFACE).is_err() {
        return Probe::Other;
    }
    let mut buf = [0_u8; 64];
    match stream.read(&mut buf) {
        Ok(n) if buf[..n].starts_with(b"HTTP/1") => Probe::Http1,
        // A frame header: 3 bytes length, then the type: SETTINGS (4) or GOAWAY (7).
        Ok(n) if n >= 9 && matches!(buf[3], 4 | 7) => Probe::Http2,
        Ok(_) => Probe::Other,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Probe::Silent,
        Err(_) => Probe::Other,
    }
}

/// `http://host:port/path` → the first address of `host:port` (port 80 when absent).
fn socket_addr(endpoint: &str) -> Option<SocketAddr> {
    let rest = endpoint.strip_prefix("http://")?;
    let authority = rest.split(['/', '?']).next()?;
    let authority = authority.rsplit('@').next()?;
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    let target = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    target.to_socket_addrs().ok()?.next()
}

/// One empty export with tonic, as the runtime's gRPC exporter does it, for the status the
/// exporter's error leaves out. `None` when the call succeeded or could not be made.
fn grpc_call(endpoint: &str, timeout: Duration) -> Option<tonic::Status> {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
            .ok()?
            .timeout(timeout)
            .connect_timeout(timeout)
            .connect()
            .await
            .ok()?;
        TraceServiceClient::new(channel)
            .export(ExportTraceServiceRequest::default())
            .await
            .err()
    })
}

/// The HTTP status in an OTLP/HTTP export error (`… answered HTTP 401 …`), if any.
fn http_status(error: &str) -> Option<u16> {
    let lower = error.to_ascii_lowercase();
    // The runtime's OTLP/HTTP sender says "the collector answered HTTP 404".
    let at = ["answered http", "status code"]
        .iter()
        .find_map(|marker| lower.find(marker).map(|at| at + marker.len()))?;
    let digits: String = lower[at..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Turns a failed export into (what went wrong, what to do).
fn diagnose(check: &OtlpCheck, error: &str, timeout: Duration) -> (String, String) {
    let endpoint = &check.endpoint;
    let grpc = check.protocol == Protocol::Grpc;
    let addr = socket_addr(endpoint).map_or_else(|| endpoint.clone(), |a| a.to_string());
    let lower = error.to_ascii_lowercase();
    let auth_hint = "set the credentials the backend expects with `OTEL_EXPORTER_OTLP_HEADERS` \
                     (e.g. `authorization=Bearer …`) or `[telemetry.tracing.otlp.headers]`; \
                     `zdk-trace status` lists the headers configured (values masked)";
    // An HTTP status proves an HTTP server answered: it says more than any probe.
    if !grpc {
        match http_status(error) {
            Some(status @ (401 | 403)) => {
                return (
                    format!("the backend refused the credentials (HTTP {status})"),
                    auth_hint.to_owned(),
                )
            }
            Some(404) => {
                return (
                    format!("bad path: nothing at {endpoint} (HTTP 404)"),
                    "`OTEL_EXPORTER_OTLP_ENDPOINT` takes the base URL (`http://host:4318`, \
                     `/v1/traces` is appended); use `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` for a \
                     full URL with a different path"
                        .to_owned(),
                )
            }
            Some(status) => {
                return (
                    format!("the backend answered HTTP {status}"),
                    "see the backend's logs for why it rejected the request".to_owned(),
                )
            }
            None => {}
        }
    }
    let http_port = || {
        (
            format!(
                "wrong protocol for the port: {addr} is an HTTP port (OTLP/HTTP), but the \
                 exporter uses gRPC"
            ),
            "set `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`, or use the collector's OTLP gRPC \
             port (usually 4317)"
                .to_owned(),
        )
    };
    let probe = probe(endpoint, timeout);
    match probe {
        Probe::Refused => {
            return (
                format!("connection refused: nothing listens on {addr}"),
                "start the collector or backend, or point `OTEL_EXPORTER_OTLP_ENDPOINT` at the \
                 address it listens on (OTLP default ports: 4317 gRPC, 4318 HTTP)"
                    .to_owned(),
            )
        }
        Probe::ConnectTimeout => {
            return (
                format!("timeout: could not connect to {addr} within {timeout:?}"),
                "check the host name, firewalls and that the collector is up".to_owned(),
            )
        }
        Probe::Unreachable(why) => {
            return (
                format!("cannot reach {addr}: {why}"),
                "check the host name in the endpoint".to_owned(),
            )
        }
        Probe::Http2 if !grpc => {
            return (
                format!(
                    "wrong protocol for the port: {addr} is a gRPC port (HTTP/2), but the \
                     exporter uses http/protobuf"
                ),
                "set `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, or use the collector's OTLP/HTTP port \
                 (usually 4318)"
                    .to_owned(),
            )
        }
        Probe::Http1 if grpc => return http_port(),
        _ => {}
    }
    if grpc {
        let status = grpc_call(endpoint, timeout);
        // A gRPC server answers `application/grpc`; a plain HTTP server (many speak HTTP/2
        // too, so the probe above cannot tell) answers something else, without gRPC status.
        let plain_http = status.as_ref().is_some_and(|s| {
            let content_type = s
                .metadata()
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            content_type.is_some_and(|ct| !ct.starts_with("application/grpc"))
                || s.message().contains("grpc-status header missing")
        });
        if plain_http {
            return http_port();
        }
        let code = status.as_ref().map(tonic::Status::code);
        if matches!(
            code,
            Some(tonic::Code::Unauthenticated | tonic::Code::PermissionDenied)
        ) || lower.contains("unauthenticated")
            || lower.contains("permissiondenied")
        {
            return (
                "the backend refused the credentials (gRPC `Unauthenticated`/`PermissionDenied`)"
                    .to_owned(),
                auth_hint.to_owned(),
            );
        }
        if code == Some(tonic::Code::Unimplemented) || lower.contains("unimplemented") {
            return (
                format!("{addr} answers gRPC but has no OTLP trace service"),
                "point the endpoint at a collector's OTLP gRPC receiver".to_owned(),
            );
        }
    }
    if probe == Probe::Silent || lower.contains("timed out") || lower.contains("timeout") {
        return (
            format!("timeout: {addr} accepted the connection but did not answer in time"),
            "check that this port is an OTLP receiver and the backend is healthy; raise \
             `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds) if it is just slow"
                .to_owned(),
        );
    }
    (
        format!("the export to {endpoint} failed"),
        "check the endpoint and protocol with `zdk-trace status`".to_owned(),
    )
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn status_code_is_read_from_the_error() {
        assert_eq!(
            http_status("HTTP export failed. Url: x, Status Code: 401, Response: no"),
            Some(401)
        );
        assert_eq!(http_status("connection refused"), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            socket_addr("http://127.0.0.1:4318/v1/traces")
                .unwrap()
                .port(),
            4318
        );
        assert_eq!(socket_addr("http://127.0.0.1").unwrap().port(), 80);
        assert_eq!(socket_addr("http://[::1]:4317").unwrap().port(), 4317);
    }
}
