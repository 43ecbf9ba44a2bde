//! `zdk-trace status`: every value with its source, secrets masked, opt-outs explained.

// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{run, TempDir};

/// The line of `key` in the text output.
fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no `{key}` in\n{stdout}"))
}

#[test]
fn defaults_env_and_file_with_their_sources() {
    let dir = TempDir::new("status-sources");
    std::fs::write(
        dir.path().join("zdk-trace.toml"),
        "[telemetry]\nservice_name = \"from-file\"\n\n[telemetry.tracing.otlp]\n\
         endpoint = \"http://collector:4317\"\nprotocol = \"grpc\"\n\n\
         [telemetry.tracing.otlp.headers]\n\"x-api-key\" = \"${API_KEY}\"\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["status"],
        &[
            ("OTEL_SERVICE_NAME", "from-env"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20env-secret",
            ),
            ("API_KEY", "file-secret"),
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = &out.stdout;
    assert!(line(s, "telemetry.service_name").contains("from-env"));
    assert!(line(s, "telemetry.service_name").contains("(env `OTEL_SERVICE_NAME`)"));
    let endpoint = line(s, "telemetry.tracing.otlp.endpoint");
    assert!(endpoint.contains("http://collector:4317"), "{endpoint}");
    assert!(endpoint.contains("(file ./zdk-trace.toml:5)"), "{endpoint}");
    assert!(line(s, "telemetry.tracing.otlp.protocol").contains("grpc"));
    assert!(line(s, "telemetry.tracing.exporters").contains("otlp"));
    assert!(line(s, "telemetry.tracing.otlp.batch.max_queue_size").contains("32768  (default)"));
    // Secrets masked, whatever their source.
    assert!(
        !s.contains("env-secret") && !s.contains("file-secret"),
        "{s}"
    );
    assert!(line(s, "telemetry.tracing.otlp.headers.x-api-key").contains("****"));
    assert!(line(s, "telemetry.tracing.otlp.headers.authorization")
        .contains("(env `OTEL_EXPORTER_OTLP_HEADERS`)"));
}

#[test]
fn opt_out_reason_and_anonymous_id_is_never_created() {
    let dir = TempDir::new("status-optout");
    std::fs::write(
        dir.path().join("zdk-trace.toml"),
        "[telemetry.usage]\nenabled = true\nendpoint = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["status"], &[("DO_NOT_TRACK", "1")]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "Anonymous usage telemetry: off: `DO_NOT_TRACK` is set  (env `DO_NOT_TRACK`)"
        ),
        "{}",
        out.stdout
    );
    assert!(line(&out.stdout, "usage.anonymous_id").contains("not created yet"));
    // Reading only: no id file, not even the directory.
    assert!(!dir.path().join(".config/zdk").exists());

    // Enabled by the application, no opt-out: on, and an existing id is shown.
    let zdk = dir.path().join(".config/zdk");
    std::fs::create_dir_all(&zdk).unwrap();
    let id = "0d3e4bb6-4c3b-4a3a-9d6b-8f0b0e7a9c11";
    std::fs::write(zdk.join("anonymous_id"), format!("{id}\n")).unwrap();
    let out = run(dir.path(), &["status"], &[]);
    assert!(
        out.stdout
            .contains("Anonymous usage telemetry: on: enabled by the application"),
        "{}",
        out.stdout
    );
    assert!(line(&out.stdout, "usage.anonymous_id").contains(id));

    // The opt-out file wins over the application.
    std::fs::write(zdk.join("no-tracing"), "").unwrap();
    let out = run(dir.path(), &["status"], &[]);
    assert!(
        out.stdout.contains("off: the opt-out file"),
        "{}",
        out.stdout
    );

    // CI, and the way to keep it on.
    std::fs::remove_file(zdk.join("no-tracing")).unwrap();
    let out = run(dir.path(), &["status"], &[("GITHUB_ACTIONS", "true")]);
    assert!(
        out.stdout
            .contains("running in CI (`GITHUB_ACTIONS` is set)"),
        "{}",
        out.stdout
    );
}

#[test]
fn metrics_settings_under_their_own_heading() {
    let dir = TempDir::new("status-metrics");
    std::fs::write(
        dir.path().join("zdk-trace.toml"),
        "[telemetry.metrics.prometheus]\nenabled = true\nport = 9090\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["status"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = &out.stdout;
    let at = |text: &str| {
        s.find(text)
            .unwrap_or_else(|| panic!("no {text:?} in\n{s}"))
    };
    assert!(
        at("telemetry.tracing.otlp.endpoint") < at("Metrics:")
            && at("Metrics:") < at("telemetry.metrics.enabled")
            && at("telemetry.metrics.otlp.temporality") < at("Anonymous usage telemetry:"),
        "{s}"
    );
    assert!(line(s, "telemetry.metrics.enabled").contains("true  (default)"));
    assert!(line(s, "telemetry.metrics.exporters").contains("otlp, prometheus"));
    assert!(
        line(s, "telemetry.metrics.prometheus.port").contains("9090  (file ./zdk-trace.toml:3)")
    );
    let endpoint = line(s, "telemetry.metrics.otlp.endpoint");
    assert!(
        endpoint.contains("http://collector:4318/v1/metrics  (env `OTEL_EXPORTER_OTLP_ENDPOINT`)"),
        "{endpoint}"
    );
    assert!(line(s, "telemetry.metrics.otlp.interval_seconds")
        .contains("15s  (env `OTEL_METRIC_EXPORT_INTERVAL`)"));

    let out = run(
        dir.path(),
        &["status"],
        &[("OTEL_METRICS_EXPORTER", "prometheus,statsd")],
    );
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr
            .contains("`OTEL_METRICS_EXPORTER=prometheus,statsd`"),
        "{}",
        out.stderr
    );
}

#[test]
fn json_output() {
    let dir = TempDir::new("status-json");
    let out = run(
        dir.path(),
        &["status", "--json"],
        &[
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-key=hidden"),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stdout.contains("hidden"));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["tracing_enabled"], false);
    let enabled = v["tracing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "telemetry.enabled")
        .unwrap();
    assert_eq!(enabled["value"], "false");
    assert_eq!(enabled["source"]["kind"], "env");
    assert_eq!(enabled["source"]["var"], "OTEL_SDK_DISABLED");
    assert_eq!(v["usage_enabled"], false);
}

#[test]
fn invalid_configuration_names_the_key_and_line() {
    let dir = TempDir::new("status-invalid");
    std::fs::write(
        dir.path().join("zdk-trace.toml"),
        "[telemetry]\nenabled = \"yes\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["status"], &[]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("zdk-trace.toml:2"), "{}", out.stderr);
}
