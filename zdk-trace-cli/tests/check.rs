//! `zdk-trace check` against real receivers on 127.0.0.1.

// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{closed_port, run, Run, TempDir};
use zdk_trace_tests::{GrpcReceiver, HttpReceiver};

fn check(name: &str, vars: &[(&str, &str)]) -> Run {
    let dir = TempDir::new(name);
    run(dir.path(), &["check"], vars)
}

#[test]
fn success_over_http() {
    let receiver = HttpReceiver::start();
    let out = check(
        "check-http",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint()),
            ("OTEL_SERVICE_NAME", "checked-svc"),
        ],
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("ok: the endpoint accepted the test span in"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&receiver.traces_url()),
        "{}",
        out.stdout
    );
    let spans = receiver.wait_for_spans(1, Duration::from_secs(5));
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].span.name, "zdk-trace check");
    assert_eq!(
        zdk_trace_tests::attr_str(&spans[0].resource, "service.name"),
        Some("checked-svc")
    );
}

#[test]
fn success_over_grpc_with_headers_from_a_file() {
    let receiver = GrpcReceiver::start();
    let dir = TempDir::new("check-grpc");
    std::fs::write(
        dir.path().join("zdk-trace.toml"),
        format!(
            "[telemetry.tracing.otlp]\nendpoint = \"{}\"\nprotocol = \"grpc\"\n\
             [telemetry.tracing.otlp.headers]\n\"x-api-key\" = \"${{API_KEY}}\"\n",
            receiver.endpoint()
        ),
    )
    .unwrap();
    let out = run(dir.path(), &["check"], &[("API_KEY", "k3y")]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("grpc to"), "{}", out.stdout);
    receiver.wait_for_spans(1, Duration::from_secs(5));
    assert_eq!(receiver.requests()[0].header("x-api-key"), Some("k3y"));
}

#[test]
fn connection_refused() {
    let port = closed_port();
    let out = check(
        "check-refused",
        &[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            &format!("http://127.0.0.1:{port}"),
        )],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains(&format!(
            "connection refused: nothing listens on 127.0.0.1:{port}"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn bad_path_is_404() {
    let receiver = HttpReceiver::start();
    let url = format!("{}/wrong/path", receiver.endpoint());
    let out = check("check-404", &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url)]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("bad path"), "{}", out.stderr);
    assert!(out.stderr.contains("404"), "{}", out.stderr);
    assert!(
        out.stderr.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        "{}",
        out.stderr
    );
}

#[test]
fn unauthorized_names_the_headers() {
    for status in [401, 403] {
        let receiver = HttpReceiver::start();
        receiver.respond_with_status(status);
        let out = check(
            "check-401",
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint())],
        );
        assert_eq!(out.code, Some(1));
        assert!(
            out.stderr.contains(&format!(
                "the backend refused the credentials (HTTP {status})"
            )),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("OTEL_EXPORTER_OTLP_HEADERS"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn unauthenticated_over_grpc() {
    let receiver = GrpcReceiver::start();
    receiver.respond_with_error(zdk_trace_tests::GrpcCode::Unauthenticated, "bad key");
    let out = check(
        "check-grpc-401",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("refused the credentials"),
        "{}",
        out.stderr
    );
}

#[test]
fn grpc_to_an_http_port() {
    let receiver = HttpReceiver::start();
    let out = check(
        "check-grpc-to-http",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("wrong protocol for the port")
            && out
                .stderr
                .contains("is an HTTP port (OTLP/HTTP), but the exporter uses gRPC"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"),
        "{}",
        out.stderr
    );
}

#[test]
fn http_to_a_grpc_port() {
    let receiver = GrpcReceiver::start();
    let out = check(
        "check-http-to-grpc",
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint())],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains("is a gRPC port (HTTP/2), but the exporter uses http/protobuf"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
        "{}",
        out.stderr
    );
}

#[test]
fn timeout_when_the_server_never_answers() {
    // Accepts connections (the kernel's backlog does) and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = check(
        "check-timeout",
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                &format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "300"),
        ],
    );
    drop(listener);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("timeout:") && out.stderr.contains("did not answer in time"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("OTEL_EXPORTER_OTLP_TIMEOUT"),
        "{}",
        out.stderr
    );
}

#[test]
fn https_is_not_supported_by_this_build() {
    let out = check(
        "check-tls",
        &[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://collector.example.com:4318",
        )],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains("TLS: this build of zdk-trace has no TLS support"),
        "{}",
        out.stderr
    );
}

#[test]
fn invalid_configuration_exits_2() {
    let out = check(
        "check-bad-config",
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")],
    );
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("OTEL_EXPORTER_OTLP_TIMEOUT"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_metrics_endpoints_are_checked_too() {
    let traces = HttpReceiver::start();
    let metrics = zdk_trace_tests::MetricsReceiver::http();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = TempDir::new("check-metrics");
    std::fs::write(
        dir.path().join("zdk-trace.toml"),
        format!("[telemetry.metrics.prometheus]\nenabled = true\nport = {port}\n"),
    )
    .unwrap();
    let vars = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.traces_url()),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metrics.endpoint()),
        (
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "http/protobuf".to_owned(),
        ),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run(dir.path(), &["check"], &vars);
    // The port is taken by something that serves no metrics: a failure naming the setting.
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("telemetry.metrics.prometheus.port"),
        "{}",
        out.stderr
    );
    // The OTLP metrics endpoint took the empty export, and the traces one the test span.
    assert!(
        out.stdout
            .contains("ok: the endpoint accepted an empty metrics export"),
        "{}",
        out.stdout
    );
    assert_eq!(
        metrics.wait_for_requests(1, Duration::from_secs(5)).len(),
        1
    );
    assert!(
        out.stdout
            .contains("ok: the endpoint accepted the test span"),
        "{}",
        out.stdout
    );
    drop(taken);
    let out = run(dir.path(), &["check"], &vars);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("ok: the endpoint can listen on 127.0.0.1:{port}")),
        "{}",
        out.stdout
    );
}
