//! What a build without some Cargo features does: each test is compiled only when the feature
//! it is about is off (`.ci/features` runs this file with `--no-default-features`), and checks the
//! named error or the behaviour documented in the crate's `# Cargo features` section.

// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry_sdk::trace::InMemorySpanExporter;

#[cfg(not(all(feature = "otlp-grpc", feature = "otlp-http")))]
use zdk_trace_runtime::{Config, InstallError};
use zdk_trace_runtime::{ConsoleExporter, Sampler, Span, Telemetry};

/// `install()` replaces the one global pipeline: the tests that install run one at a time.
static INSTALL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The exporter's error, checked to name the protocol, the feature and the fix.
#[cfg(not(all(feature = "otlp-grpc", feature = "otlp-http")))]
fn assert_not_compiled(result: Result<Telemetry, InstallError>, protocol: &str, feature: &str) {
    let err = match result {
        Ok(telemetry) => {
            let _ = telemetry.shutdown();
            panic!("OTLP over {protocol} installed although `{feature}` is off");
        }
        Err(err) => err,
    };
    assert!(matches!(err, InstallError::Exporter(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("OTLP over {protocol} is not compiled in")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "enable the `{feature}` feature of zdk-trace-runtime"
        )),
        "{msg}"
    );
}

#[cfg(not(feature = "otlp-grpc"))]
#[test]
fn otlp_grpc_without_its_feature_is_a_named_error() {
    use zdk_trace_runtime::Protocol;

    let _serial = serial();
    // Chosen in code.
    let code = Telemetry::builder()
        .env_vars([("HOME", "/nonexistent")])
        .config(
            Config::default()
                .with_otlp_exporter()
                .with_otlp_protocol(Protocol::Grpc),
        )
        .install();
    assert_not_compiled(code, "gRPC", "otlp-grpc");
    // Chosen with the standard variables.
    let env = Telemetry::builder()
        .env_vars([
            ("HOME", "/nonexistent"),
            // An endpoint turns the OTLP exporter on.
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .install();
    assert_not_compiled(env, "gRPC", "otlp-grpc");
    // `zdk-trace check` says the same.
    let check = Telemetry::builder()
        .env_vars([("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])
        .check_otlp()
        .unwrap_err();
    assert!(check.to_string().contains("`otlp-grpc`"), "{check}");
}

#[cfg(not(feature = "otlp-http"))]
#[test]
fn otlp_http_without_its_feature_is_a_named_error() {
    let _serial = serial();
    // HTTP/protobuf is the default protocol.
    let code = Telemetry::builder()
        .env_vars([("HOME", "/nonexistent")])
        .config(Config::default().with_otlp_exporter())
        .install();
    assert_not_compiled(code, "HTTP/protobuf", "otlp-http");
    let env = Telemetry::builder()
        .env_vars([
            ("HOME", "/nonexistent"),
            // An endpoint turns the OTLP exporter on.
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .install();
    assert_not_compiled(env, "HTTP/protobuf", "otlp-http");
}

/// Spans still reach the console exporter and any `SpanExporter`, whatever is compiled in.
#[test]
fn console_and_in_memory_exporters_work() {
    let _serial = serial();
    let console = Shared::default();
    let memory = InMemorySpanExporter::default();
    let telemetry = Telemetry::builder()
        .env_vars([("HOME", "/nonexistent")])
        .service_name("features")
        .sampler(Sampler::AlwaysOn)
        .span_exporter(ConsoleExporter::with_writer(console.clone(), false))
        .span_exporter(memory.clone())
        .install()
        .unwrap();
    {
        let _span = Span::start("feature.work").entered();
    }
    telemetry.force_flush().unwrap();
    let spans = memory.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "feature.work");
    telemetry.shutdown().unwrap();
    let printed = String::from_utf8(console.0.lock().unwrap().clone()).unwrap();
    assert!(printed.contains("feature.work"), "{printed}");
}

#[cfg(not(feature = "usage"))]
#[test]
fn usage_status_says_the_layer_is_not_compiled_in() {
    use zdk_trace_runtime::usage::{self, UsageOptions, UsageReason};

    let _serial = serial();
    assert_eq!(usage::usage_status().reason, UsageReason::NotCompiled);
    // Even an application that turns the layer on gets no layer, and is told why.
    let events = InMemorySpanExporter::default();
    let telemetry = Telemetry::builder()
        .env_vars([("HOME", "/nonexistent")])
        .span_exporter(InMemorySpanExporter::default())
        .usage(
            UsageOptions::new()
                .enabled(true)
                .endpoint("http://127.0.0.1:9")
                .span_exporter(events.clone()),
        )
        .install()
        .unwrap();
    usage::track_feature_usage("streaming");
    let status = telemetry.usage_status();
    assert!(!status.enabled);
    assert_eq!(status.reason, UsageReason::NotCompiled);
    assert!(
        status
            .reason
            .to_string()
            .contains("enable the `usage` feature of zdk-trace-runtime"),
        "{}",
        status.reason
    );
    assert_eq!(usage::usage_status().reason, UsageReason::NotCompiled);
    let report = Telemetry::builder()
        .env_vars([("HOME", "/nonexistent")])
        .config_report()
        .unwrap();
    assert_eq!(
        report.entry("usage.state").unwrap().value,
        status.reason.to_string()
    );
    telemetry.shutdown().unwrap();
    assert!(events.get_finished_spans().unwrap().is_empty());
}
