//! `[[telemetry.tracing.exporters]]` entries of `type = "jaeger"` and `"tempo"`: OTLP to the
//! entry's own endpoint, sent by the installed pipeline to real OTLP receivers on 127.0.0.1
//! (Jaeger 1.35+ and Tempo ingest OTLP natively, so a receiver that decodes OTLP is what they
//! would see).

// Tests panic on failure by design (helpers too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use zdk_trace_runtime::{Config, Span, Telemetry};
use zdk_trace_tests::harness::{isolated_builder, serial};
use zdk_trace_tests::{attr_str, GrpcReceiver, HttpReceiver};

fn record_trace() {
    let _root = Span::start("invoke_agent support").entered();
    let _tool = Span::start("execute_tool get_weather");
}

fn install(file: &str) -> Telemetry {
    isolated_builder()
        .config(Config::from_toml_str(file).expect("valid config"))
        .env_vars([("TEST_API_KEY", "s3cr3t")])
        .install()
        .expect("install")
}

fn names(spans: &[zdk_trace_tests::ReceivedSpan]) -> Vec<String> {
    let mut names: Vec<_> = spans.iter().map(|s| s.span.name.clone()).collect();
    names.sort();
    names
}

#[test]
fn a_jaeger_entry_exports_otlp_over_grpc_to_its_own_endpoint() {
    let _serial = serial();
    let jaeger = GrpcReceiver::start();
    // The `[telemetry.tracing.otlp]` section is another endpoint's: its headers must not
    // reach Jaeger, its timeout applies.
    let telemetry = install(&format!(
        r#"
[telemetry]
service_name = "to-jaeger"
[telemetry.tracing.otlp]
timeout_seconds = 5
[telemetry.tracing.otlp.headers]
"x-api-key" = "${{TEST_API_KEY}}"

[[telemetry.tracing.exporters]]
type = "jaeger"
endpoint = "{}"
"#,
        jaeger.endpoint()
    ));
    record_trace();
    telemetry.shutdown().expect("shutdown");
    let requests = jaeger.wait_for_requests(1, Duration::from_secs(10));
    // No `protocol` and a port other than 4318: gRPC.
    assert_eq!(requests[0].header("content-type"), Some("application/grpc"));
    assert_eq!(requests[0].header("x-api-key"), None);
    let spans = jaeger.spans();
    assert_eq!(
        names(&spans),
        ["execute_tool get_weather", "invoke_agent support"]
    );
    assert_eq!(
        attr_str(&spans[0].resource, "service.name"),
        Some("to-jaeger")
    );
    assert_eq!(telemetry.stats().spans_exported, 2);
}

#[test]
fn a_tempo_entry_with_http_protobuf_posts_to_v1_traces_beside_the_otlp_exporter() {
    let _serial = serial();
    let tempo = HttpReceiver::start();
    let collector = GrpcReceiver::start();
    let telemetry = install(&format!(
        r#"
[telemetry.tracing.otlp]
endpoint = "{}"
protocol = "grpc"

[[telemetry.tracing.exporters]]
type = "tempo"
endpoint = "{}"
protocol = "http/protobuf"

[[telemetry.tracing.exporters]]
type = "otlp"
"#,
        collector.endpoint(),
        tempo.endpoint()
    ));
    record_trace();
    telemetry.shutdown().expect("shutdown");
    let requests = tempo.wait_for_requests(1, Duration::from_secs(10));
    assert_eq!(requests[0].path, "/v1/traces");
    assert_eq!(
        requests[0].header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(
        names(&tempo.spans()),
        ["execute_tool get_weather", "invoke_agent support"]
    );
    // Both exporters run: the `otlp` entry still sends to `[telemetry.tracing.otlp]`.
    collector.wait_for_requests(1, Duration::from_secs(10));
    assert_eq!(names(&collector.spans()), names(&tempo.spans()));
}

#[test]
fn the_legacy_port_warning_is_in_the_report_and_install_goes_on() {
    let _serial = serial();
    let file = Config::from_toml_str(
        "[[telemetry.tracing.exporters]]\ntype = \"jaeger\"\nendpoint = \"http://127.0.0.1:14250\"\n",
    )
    .expect("valid config");
    let report = isolated_builder()
        .config(file.clone())
        .config_report()
        .expect("report");
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0]
        .to_string()
        .starts_with("`telemetry.tracing.exporters[0].endpoint` (file <string>:3): "));
    assert_eq!(
        report
            .entry("telemetry.tracing.exporters[0].protocol")
            .map(|e| e.value.as_str()),
        Some("grpc")
    );
    // A warning is not an error: the pipeline installs (and its export would fail).
    let telemetry = isolated_builder()
        .config(file)
        .install()
        .expect("installs despite the warning");
    let _ = telemetry.shutdown_with_timeout(Duration::from_millis(100));
}
