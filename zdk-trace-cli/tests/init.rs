//! `zdk-trace init`: a commented `zdk-trace.toml` per backend that resolves with no warning,
//! that `zdk-trace status` then shows, and that is never overwritten without `--force`.

// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{run, TempDir};
use zdk_trace_runtime::{Config, ConfigSource, Telemetry};

/// The line of `key` in `zdk-trace status`'s text output.
fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no `{key}` in\n{stdout}"))
}

/// `key`'s value and that it comes from the written file.
fn from_file(stdout: &str, key: &str, value: &str) {
    let line = line(stdout, key);
    let shown = line.trim_start()[key.len()..].trim_start();
    assert!(
        shown.starts_with(&format!("{value}  ")),
        "{key}: `{line}`, expected {value}"
    );
    assert!(line.contains("(file ./zdk-trace.toml:"), "{line}");
}

/// The file resolves as an application would read it, with no warning.
fn resolves_cleanly(path: &std::path::Path) -> zdk_trace_runtime::ConfigReport {
    let file = Config::from_file(path).expect("the written file is a valid configuration");
    let report = Telemetry::builder()
        .ignore_env()
        .config(file)
        .config_report()
        .expect("it resolves");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    report
}

#[test]
fn each_backend_writes_a_file_that_status_shows() {
    // (backend, exporters, the exporter's endpoint key and value, its protocol key and value)
    let otlp = (
        "telemetry.tracing.otlp.endpoint",
        "telemetry.tracing.otlp.protocol",
    );
    let entry = (
        "telemetry.tracing.exporters[0].endpoint",
        "telemetry.tracing.exporters[0].protocol",
    );
    for (backend, exporters, keys, endpoint, protocol) in [
        ("console", "stdout", None, "", ""),
        (
            "otlp",
            "otlp",
            Some(otlp),
            "http://localhost:4318/v1/traces",
            "http/protobuf",
        ),
        (
            "phoenix",
            "otlp",
            Some(otlp),
            "http://127.0.0.1:6006/v1/traces",
            "http/protobuf",
        ),
        (
            "jaeger",
            "jaeger",
            Some(entry),
            "http://localhost:4317",
            "grpc",
        ),
        (
            "tempo",
            "tempo",
            Some(entry),
            "http://localhost:4317",
            "grpc",
        ),
    ] {
        let dir = TempDir::new(&format!("init-{backend}"));
        let out = run(dir.path(), &["init", "--backend", backend], &[]);
        assert_eq!(out.code, Some(0), "{backend}: {}", out.stderr);
        assert!(
            out.stdout.starts_with("wrote zdk-trace.toml for "),
            "{}",
            out.stdout
        );
        let path = dir.path().join("zdk-trace.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        // Every line that sets a value says what it is for.
        for set in text
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains(" = "))
        {
            assert!(set.contains("  # "), "{backend}: no comment on `{set}`");
        }
        let report = resolves_cleanly(&path);
        assert_eq!(
            report.entry("telemetry.tracing.exporters").unwrap().value,
            exporters
        );

        let status = run(dir.path(), &["status"], &[]);
        assert_eq!(status.code, Some(0), "{backend}: {}", status.stderr);
        let s = &status.stdout;
        assert!(!s.contains("warning:"), "{backend}: {s}");
        from_file(s, "telemetry.tracing.exporters", exporters);
        if let Some((endpoint_key, protocol_key)) = keys {
            from_file(s, endpoint_key, endpoint);
            from_file(s, protocol_key, protocol);
        }
        from_file(s, "telemetry.metrics.enabled", "false");
        from_file(s, "telemetry.profiling.enabled", "false");
        assert!(
            text.contains("[telemetry.metrics]\nenabled = false"),
            "{text}"
        );
        assert!(
            text.contains("[telemetry.profiling]\nenabled = false"),
            "{text}"
        );
    }
}

#[test]
fn an_existing_file_is_left_unchanged_without_force() {
    let dir = TempDir::new("init-force");
    let path = dir.path().join("zdk-trace.toml");
    assert_eq!(run(dir.path(), &["init"], &[]).code, Some(0));
    let mine = "[telemetry]\nservice_name = \"mine\"\n";
    std::fs::write(&path, mine).unwrap();

    let again = run(dir.path(), &["init", "--backend", "jaeger"], &[]);
    assert_eq!(again.code, Some(1), "{}", again.stdout);
    assert_eq!(
        again.stderr.trim(),
        "error: zdk-trace.toml already exists; it was left unchanged (pass `--force` to \
         replace it)"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), mine);

    let forced = run(dir.path(), &["init", "--backend", "jaeger", "--force"], &[]);
    assert_eq!(forced.code, Some(0), "{}", forced.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("mine") && text.contains("type = \"jaeger\""),
        "{text}"
    );
    resolves_cleanly(&path);
}

#[test]
fn endpoint_override_and_its_protocol() {
    let dir = TempDir::new("init-endpoint");
    let out = run(
        dir.path(),
        &[
            "init",
            "--backend",
            "jaeger",
            "--endpoint",
            "http://jaeger.internal:4318",
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report = resolves_cleanly(&dir.path().join("zdk-trace.toml"));
    let endpoint = report
        .entry("telemetry.tracing.exporters[0].endpoint")
        .unwrap();
    assert_eq!(endpoint.value, "http://jaeger.internal:4318/v1/traces");
    assert!(matches!(endpoint.source, ConfigSource::File { .. }));
    // Port 4318 is OTLP/HTTP.
    assert_eq!(
        report
            .entry("telemetry.tracing.exporters[0].protocol")
            .unwrap()
            .value,
        "http/protobuf"
    );

    // Phoenix over gRPC, on its 4317.
    let out = run(
        dir.path(),
        &[
            "init",
            "--backend",
            "phoenix",
            "--force",
            "--endpoint",
            "http://phoenix:4317",
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let status = run(dir.path(), &["status"], &[]);
    from_file(
        &status.stdout,
        "telemetry.tracing.otlp.endpoint",
        "http://phoenix:4317",
    );
    from_file(&status.stdout, "telemetry.tracing.otlp.protocol", "grpc");
}

#[test]
fn bad_arguments_write_nothing() {
    let dir = TempDir::new("init-bad");
    let path = dir.path().join("zdk-trace.toml");
    let out = run(
        dir.path(),
        &["init", "--backend", "tempo", "--endpoint", "tempo:4317"],
        &[],
    );
    assert_eq!(out.code, Some(2), "{}", out.stdout);
    assert!(
        out.stderr
            .starts_with("error: `--endpoint tempo:4317` is not a valid endpoint: "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("an `http://` or `https://` URL"),
        "{}",
        out.stderr
    );
    assert!(!path.exists());

    let out = run(
        dir.path(),
        &["init", "--endpoint", "http://localhost:4317"],
        &[],
    );
    assert_eq!(out.code, Some(2));
    assert!(out
        .stderr
        .contains("`--backend console` prints traces on stdout"));
    assert!(!path.exists());

    let out = run(dir.path(), &["init", "--backend", "zipkin"], &[]);
    assert_eq!(out.code, Some(2));
    assert!(out
        .stderr
        .contains("possible values: console, otlp, phoenix, jaeger, tempo"));
    assert!(!path.exists());
}

#[test]
fn another_path_is_read_through_zdk_trace_config() {
    let dir = TempDir::new("init-path");
    let out = run(
        dir.path(),
        &["init", "--backend", "otlp", "--path", "conf/tracing.toml"],
        &[],
    );
    // The directory does not exist: nothing is created but the file.
    assert_eq!(out.code, Some(1));
    assert!(out
        .stderr
        .starts_with("error: cannot write conf/tracing.toml: "));
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let out = run(
        dir.path(),
        &["init", "--backend", "otlp", "--path", "conf/tracing.toml"],
        &[],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("set ZDK_TRACE_CONFIG=conf/tracing.toml"),
        "{}",
        out.stdout
    );
    let status = run(
        dir.path(),
        &["status"],
        &[("ZDK_TRACE_CONFIG", "conf/tracing.toml")],
    );
    let endpoint = line(&status.stdout, "telemetry.tracing.otlp.endpoint");
    assert!(endpoint.contains("http://localhost:4318/v1/traces  (file conf/tracing.toml:"));
}

#[test]
fn status_lists_the_legacy_port_warning() {
    let dir = TempDir::new("init-warning");
    let out = run(
        dir.path(),
        &[
            "init",
            "--backend",
            "jaeger",
            "--endpoint",
            "http://localhost:14250",
        ],
        &[],
    );
    // Written (it is valid), with the warning on stderr.
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out
        .stderr
        .starts_with("warning: `http://localhost:14250` is on port 14250"));
    let status = run(dir.path(), &["status"], &[]);
    let first = status.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(
            "warning: `telemetry.tracing.exporters[0].endpoint` (file ./zdk-trace.toml:"
        ),
        "{first}"
    );
    assert!(
        first.contains("use `http://localhost:4317` for OTLP over gRPC"),
        "{first}"
    );
    let json = run(dir.path(), &["status", "--json"], &[]);
    let body: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let warning = &body["warnings"][0];
    assert_eq!(warning["key"], "telemetry.tracing.exporters[0].endpoint");
    assert_eq!(warning["source"]["kind"], "file");
    assert!(warning["message"]
        .as_str()
        .unwrap()
        .contains("does not accept OTLP"));
}
