//! `zdk-trace check`, metrics part: can the Prometheus endpoint listen where it is
//! configured, and does the OTLP metrics endpoint accept an (empty) export?

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use zdk_trace_runtime::{ConfigReport, ConfigSource};

use crate::paint::{Painter, GREEN, RED, YELLOW};

/// How long one export or probe may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Checks what `report` configures for metrics; `false` when something configured for
/// metrics on purpose cannot work.
pub(crate) fn check(report: &ConfigReport, p: Painter) -> bool {
    let value = |key: &str| {
        report
            .entry(key)
            .map(|e| e.value.clone())
            .unwrap_or_default()
    };
    if value("telemetry.metrics.enabled") == "false" {
        println!("metrics: off (`telemetry.metrics.enabled = false`)");
        return true;
    }
    let exporters = value("telemetry.metrics.exporters");
    let named = |name: &str| exporters.split(',').any(|e| e.trim() == name);
    let mut ok = true;
    if value("telemetry.metrics.prometheus.enabled") == "true" || named("prometheus") {
        ok &= prometheus(
            &value("telemetry.metrics.prometheus.address"),
            &value("telemetry.metrics.prometheus.port"),
            &value("telemetry.metrics.prometheus.path"),
            p,
        );
    }
    let endpoint = report.entry("telemetry.metrics.otlp.endpoint");
    if let Some(entry) = endpoint.filter(|_| named("otlp")) {
        // Set for metrics on purpose (a metrics key or variable), or inherited from the
        // endpoint every signal uses: then a collector without metrics is only a warning.
        let explicit = !matches!(&entry.source, ConfigSource::Env { var } if var == "OTEL_EXPORTER_OTLP_ENDPOINT");
        let protocol = value("telemetry.metrics.otlp.protocol");
        ok &= otlp(&entry.value, &protocol, explicit, p);
    }
    ok
}

fn prometheus(address: &str, port: &str, path: &str, p: Painter) -> bool {
    let Ok(addr) = format!("{address}:{port}").parse::<SocketAddr>() else {
        eprintln!(
            "{} Prometheus endpoint: bad address `{address}:{port}`",
            p.paint(RED, "error:")
        );
        return false;
    };
    println!("checking the Prometheus endpoint: http://{addr}{path}");
    match TcpListener::bind(addr) {
        Ok(_) => {
            println!(
                "{} the endpoint can listen on {addr}",
                p.paint(GREEN, "ok:")
            );
            true
        }
        Err(e) => {
            // Taken: by the application itself, serving metrics already?
            if serves_metrics(addr, path) {
                println!(
                    "{} metrics are already served at http://{addr}{path} (your application?)",
                    p.paint(GREEN, "ok:")
                );
                return true;
            }
            eprintln!(
                "{} the Prometheus endpoint cannot listen on {addr}: {e}",
                p.paint(RED, "error:")
            );
            eprintln!(
                "  hint: choose another `telemetry.metrics.prometheus.port` (9464 is the \
                 OpenTelemetry convention; 9090 is Prometheus's own), or stop what holds it"
            );
            false
        }
    }
}

/// Whether something at `addr` answers `GET path` with an exposition text.
fn serves_metrics(addr: SocketAddr, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, TIMEOUT) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.take(1 << 20).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.starts_with("HTTP/1.1 200") && text.contains("# TYPE")
}

fn otlp(url: &str, protocol: &str, explicit: bool, p: Painter) -> bool {
    println!("checking OTLP metrics export: {protocol} to {url}");
    let started = Instant::now();
    let result = if protocol == "grpc" {
        grpc_export(url)
    } else {
        http_export(url)
    };
    match result {
        Ok(()) => {
            println!(
                "{} the endpoint accepted an empty metrics export in {:.1} ms",
                p.paint(GREEN, "ok:"),
                started.elapsed().as_secs_f64() * 1000.0
            );
            true
        }
        Err(e) if explicit => {
            eprintln!(
                "{} the metrics endpoint refused an export: {e}",
                p.paint(RED, "error:")
            );
            eprintln!(
                "  hint: check `telemetry.metrics.otlp.endpoint` / \
                 `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` and its protocol"
            );
            false
        }
        Err(e) => {
            println!(
                "{} metrics go to the same endpoint as traces (`OTEL_EXPORTER_OTLP_ENDPOINT`), \
                 which refused a metrics export: {e}",
                p.paint(YELLOW, "warning:")
            );
            println!(
                "  hint: a traces-only backend? set `OTEL_METRICS_EXPORTER=none`, or point \
                 `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` at a collector that takes metrics"
            );
            true
        }
    }
}

fn grpc_export(endpoint: &str) -> Result<(), String> {
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| e.to_string())?
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .connect()
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        MetricsServiceClient::new(channel)
            .export(ExportMetricsServiceRequest::default())
            .await
            .map(drop)
            .map_err(|status| format!("gRPC {:?}: {}", status.code(), status.message()))
    })
}

/// `POST` of an empty `ExportMetricsServiceRequest` (zero bytes of protobuf) over plain HTTP/1.1.
fn http_export(url: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}` is not an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .map_err(|e| format!("cannot resolve `{authority}`: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for `{authority}`"))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("cannot connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let _ = stream.take(4096).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text.split_whitespace().nth(1).unwrap_or("");
    if status.starts_with('2') {
        Ok(())
    } else if status.is_empty() {
        Err("no HTTP answer (a gRPC port? set the protocol to `grpc`)".to_owned())
    } else {
        Err(format!("HTTP {status}"))
    }
}
