//! The anonymous usage layer end to end: opt-outs in precedence, the OTLP/JSON payload as a
//! real receiver on 127.0.0.1 sees it, the sanitizer, identity, notice, debug mode, and an
//! endpoint that is down (circuit breaker) then up again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_sdk::trace::InMemorySpanExporter;
use serde_json::{json, Value};
use zdk_trace_runtime::usage::{
    self, CircuitState, EventType, UsageOptions, UsageReason, UsageStatus, UsageValue,
};
use zdk_trace_runtime::{Config, Span, Telemetry, TelemetryBuilder};
use zdk_trace_tests::harness::{isolated_builder, serial, Recorder};
use zdk_trace_tests::JsonReceiver;

const WAIT: Duration = Duration::from_secs(10);

/// A scratch configuration directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("zdk-usage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Dir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What the layer printed (notice, debug output, warning).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A builder that sees only `vars` (no process environment, no config file), keeps its files
/// in `dir`, prints nothing, and sends usage to `endpoint`.
fn builder(dir: &Path, vars: &[(&str, &str)], endpoint: &str) -> TelemetryBuilder {
    isolated_builder()
        .service_name("my-app")
        .service_version("1.2.3")
        .span_exporter(InMemorySpanExporter::default())
        .env_vars(vars.iter().map(|(k, v)| (*k, *v)))
        .usage(
            UsageOptions::new()
                .config_dir(dir)
                .notice(false)
                .output(std::io::sink())
                .enabled(true)
                .endpoint(endpoint),
        )
}

fn install(b: TelemetryBuilder) -> Telemetry {
    match b.install() {
        Ok(t) => t,
        Err(e) => panic!("install failed: {e}"),
    }
}

fn flush(t: &Telemetry) {
    if let Err(e) = t.force_flush() {
        panic!("flush failed: {e}");
    }
}

fn shutdown(t: &Telemetry) {
    if let Err(e) = t.shutdown() {
        panic!("shutdown failed: {e}");
    }
}

fn one_of_each() {
    usage::track_agent_run("simple", "pydantic_ai", true, 1234.5);
    usage::track_feature_usage("streaming");
    usage::track_error("timeout", "llm_client");
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn attributes(value: &Value) -> Value {
    value["attributes"].clone()
}

fn is_hex(v: &Value, len: usize) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0')
    })
}

fn nanos(v: &Value) -> u128 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a string of nanoseconds: {v}"))
}

#[test]
fn payload_arrives_in_the_seed_shape() {
    let _serial = serial();
    let dir = Dir::new("payload");
    let receiver = JsonReceiver::start();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let telemetry = install(builder(dir.path(), &[], &receiver.endpoint()));
    one_of_each();
    flush(&telemetry);
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());

    let requests = receiver.wait_for_requests(1, WAIT);
    assert_eq!(requests.len(), 1, "one batch");
    let request = &requests[0];
    assert_eq!(request.path, "/v1/traces");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert!(request.accepted);

    let status = telemetry.usage_status();
    let json = request.json.clone().unwrap_or_default();
    assert_eq!(
        json["resourceSpans"][0]["resource"],
        json!({"attributes":[
            {"key":"service.name","value":{"stringValue":"my-app"}},
            {"key":"service.version","value":{"stringValue":"1.2.3"}},
            {"key":"user.id","value":{"stringValue":status.anonymous_id.clone().unwrap_or_default()}},
            {"key":"session.id","value":{"stringValue":status.session_id.clone()}}]})
    );
    let spans = request.spans();
    let names: Vec<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["agent.run", "feature.used", "agent.error"]);
    let os = std::env::consts::OS;
    let arch = std::env::consts::ARCH;
    assert_eq!(
        attributes(&spans[0]),
        json!([
            {"key":"system.os","value":{"stringValue":os}},
            {"key":"system.arch","value":{"stringValue":arch}},
            {"key":"event.agent_type","value":{"stringValue":"simple"}},
            {"key":"event.framework","value":{"stringValue":"pydantic_ai"}},
            {"key":"event.success","value":{"boolValue":true}},
            {"key":"event.duration_ms","value":{"doubleValue":1234.5}}])
    );
    assert_eq!(
        attributes(&spans[1]),
        json!([
            {"key":"system.os","value":{"stringValue":os}},
            {"key":"system.arch","value":{"stringValue":arch}},
            {"key":"event.feature_name","value":{"stringValue":"streaming"}}])
    );
    assert_eq!(
        attributes(&spans[2]),
        json!([
            {"key":"system.os","value":{"stringValue":os}},
            {"key":"system.arch","value":{"stringValue":arch}},
            {"key":"event.error_type","value":{"stringValue":"timeout"}},
            {"key":"event.component","value":{"stringValue":"llm_client"}}])
    );
    // Each span ends when the event was recorded and starts `duration_ms` earlier, if any.
    for (span, duration_ns) in spans.iter().zip([1_234_500_000, 0, 0]) {
        assert!(is_hex(&span["traceId"], 32), "{span}");
        assert!(is_hex(&span["spanId"], 16), "{span}");
        let end = nanos(&span["endTimeUnixNano"]);
        assert!(before <= end && end <= after, "{span}");
        assert_eq!(nanos(&span["startTimeUnixNano"]), end - duration_ns);
        // Exactly the seed's fields plus ids and times.
        let mut keys: Vec<&str> = span
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "attributes",
                "endTimeUnixNano",
                "name",
                "spanId",
                "startTimeUnixNano",
                "traceId"
            ]
        );
    }
    assert_ne!(spans[0]["traceId"], spans[1]["traceId"]);

    assert!(status.enabled);
    assert_eq!(status.reason, UsageReason::Enabled);
    assert_eq!(
        status.endpoint,
        Some(format!("{}/v1/traces", receiver.endpoint()))
    );
    assert_eq!((status.counters.queued, status.counters.sent), (3, 3));
    assert_eq!(status.counters.dropped(), 0);
    assert_eq!(status.circuit, CircuitState::Closed);
    assert_eq!(
        usage::usage_status(),
        status,
        "the free function sees the installed layer"
    );
    shutdown(&telemetry);
    assert_eq!(usage::usage_status().reason, UsageReason::NotInstalled);
}

#[test]
fn sanitizer_lets_no_content_leave() {
    let _serial = serial();
    let dir = Dir::new("sanitizer");
    let receiver = JsonReceiver::start();
    let telemetry = install(builder(dir.path(), &[], &receiver.endpoint()));
    let message = format!(
        "the user asked about {} and more",
        "their medical history ".repeat(10)
    );
    usage::track_event(
        EventType::FeatureUsed,
        [
            ("feature.name", UsageValue::from("memory")),
            ("user.ssn", UsageValue::from("123-45-6789")),
            ("api_key", UsageValue::from("sk-live-4f9a8b7c6d5e")),
            ("email", UsageValue::from("jane.doe@example.com")),
            ("component", UsageValue::from(&*message.clone().leak())),
        ],
    );
    flush(&telemetry);
    let requests = receiver.wait_for_requests(1, WAIT);
    let body = String::from_utf8_lossy(&requests[0].raw).into_owned();
    for secret in [
        "123-45-6789",
        "sk-live",
        "jane.doe@example.com",
        "ssn",
        "api_key",
        "email",
    ] {
        assert!(!body.contains(secret), "{secret} left the machine: {body}");
    }
    assert!(!body.contains(&message));
    let spans = requests[0].spans();
    let cut: String = message.chars().take(usage::MAX_STRING_LEN).collect();
    assert_eq!(
        attributes(&spans[0])[3],
        json!({"key":"event.component","value":{"stringValue":cut}})
    );
    let counters = telemetry.usage_status().counters;
    assert_eq!((counters.keys_dropped, counters.strings_truncated), (3, 1));
    assert_eq!(counters.sent, 1);
    shutdown(&telemetry);
}

/// Installs with `vars` (and the opt-out file if `file`), tracks, flushes: nothing may arrive,
/// no id may be created. Returns the status.
fn opted_out(vars: &[(&str, &str)], file: bool) -> UsageStatus {
    let dir = Dir::new("optout");
    if file {
        std::fs::create_dir_all(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("no-tracing"), "").unwrap_or_else(|e| panic!("{e}"));
    }
    let receiver = JsonReceiver::start();
    let telemetry = install(builder(dir.path(), vars, &receiver.endpoint()));
    one_of_each();
    flush(&telemetry);
    let status = telemetry.usage_status();
    shutdown(&telemetry);
    assert!(
        receiver.requests().is_empty(),
        "{vars:?}: something was sent"
    );
    assert!(!status.enabled);
    assert_eq!(status.counters.queued, 0);
    assert_eq!(status.anonymous_id, None);
    assert!(
        !dir.path().join("anonymous_id").exists(),
        "{vars:?}: an id was created"
    );
    status
}

#[test]
fn each_opt_out_alone() {
    let _serial = serial();
    assert_eq!(
        opted_out(&[("ZDK_DISABLE_ALL_TRACING", "1")], false).reason,
        UsageReason::DisableAllTracing
    );
    assert_eq!(
        opted_out(&[("ZDK_TELEMETRY_ENABLED", "false")], false).reason,
        UsageReason::TelemetryDisabled
    );
    assert_eq!(
        opted_out(&[("DO_NOT_TRACK", "1")], false).reason,
        UsageReason::DoNotTrack
    );
    let status = opted_out(&[], true);
    assert!(
        matches!(&status.reason, UsageReason::OptOutFile(p) if p.ends_with("no-tracing")),
        "{:?}",
        status.reason
    );
    for var in [
        "CI",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "BUILDKITE",
        "JENKINS_URL",
        "TF_BUILD",
        "CIRCLECI",
        "TRAVIS",
    ] {
        assert_eq!(
            opted_out(&[(var, "true")], false).reason,
            UsageReason::Ci(var.to_owned())
        );
    }
}

#[test]
fn opt_outs_in_precedence() {
    let _serial = serial();
    let mut vars = vec![
        ("ZDK_DISABLE_ALL_TRACING", "1"),
        ("ZDK_TELEMETRY_ENABLED", "false"),
        ("DO_NOT_TRACK", "1"),
        ("CI", "true"),
    ];
    assert_eq!(
        opted_out(&vars, true).reason,
        UsageReason::DisableAllTracing
    );
    vars.remove(0);
    assert_eq!(
        opted_out(&vars, true).reason,
        UsageReason::TelemetryDisabled
    );
    vars.remove(0);
    assert_eq!(opted_out(&vars, true).reason, UsageReason::DoNotTrack);
    vars.remove(0);
    assert!(matches!(
        opted_out(&vars, true).reason,
        UsageReason::OptOutFile(_)
    ));
    assert_eq!(
        opted_out(&vars, false).reason,
        UsageReason::Ci("CI".to_owned())
    );
    // The CI override does not beat an explicit opt-out.
    assert_eq!(
        opted_out(
            &[
                ("CI", "true"),
                ("ZDK_ENABLE_TRACING_IN_CI", "1"),
                ("DO_NOT_TRACK", "1")
            ],
            false
        )
        .reason,
        UsageReason::DoNotTrack
    );
}

#[test]
fn ci_override_keeps_it_on() {
    let _serial = serial();
    let dir = Dir::new("ci-override");
    let receiver = JsonReceiver::start();
    let vars = [
        ("GITHUB_ACTIONS", "true"),
        ("ZDK_ENABLE_TRACING_IN_CI", "1"),
    ];
    let telemetry = install(builder(dir.path(), &vars, &receiver.endpoint()));
    usage::track_feature_usage("ci");
    flush(&telemetry);
    assert_eq!(telemetry.usage_status().reason, UsageReason::Enabled);
    assert_eq!(receiver.wait_for_requests(1, WAIT).len(), 1);
    shutdown(&telemetry);
}

#[test]
fn disable_all_turns_tracing_off_and_other_opt_outs_do_not() {
    let _serial = serial();
    let dir = Dir::new("disable-all");
    for (vars, traced) in [
        (&[("ZDK_DISABLE_ALL_TRACING", "1")][..], false),
        (&[("DO_NOT_TRACK", "1")][..], true),
    ] {
        let exporter = InMemorySpanExporter::default();
        let telemetry = install(
            builder(dir.path(), vars, "http://127.0.0.1:9").span_exporter(exporter.clone()),
        );
        drop(Span::start("work"));
        flush(&telemetry);
        let spans = exporter.get_finished_spans().unwrap_or_default();
        assert_eq!(spans.len(), usize::from(traced), "{vars:?}");
        assert!(!telemetry.usage_status().enabled);
        shutdown(&telemetry);
    }
}

#[test]
fn usage_runs_when_tracing_is_off() {
    let _serial = serial();
    let dir = Dir::new("independent");
    let receiver = JsonReceiver::start();
    let telemetry = install(builder(
        dir.path(),
        &[("OTEL_SDK_DISABLED", "true")],
        &receiver.endpoint(),
    ));
    usage::track_feature_usage("independent");
    flush(&telemetry);
    assert_eq!(receiver.wait_for_requests(1, WAIT).len(), 1);
    shutdown(&telemetry);
}

#[test]
fn off_unless_the_app_turns_it_on() {
    let _serial = serial();
    let dir = Dir::new("app-off");
    let receiver = JsonReceiver::start();
    let telemetry = install(
        builder(dir.path(), &[], &receiver.endpoint()).usage(UsageOptions::new().enabled(false)),
    );
    one_of_each();
    flush(&telemetry);
    let status = telemetry.usage_status();
    assert_eq!(status.reason, UsageReason::NotEnabledByApp);
    assert!(!status.enabled);
    shutdown(&telemetry);

    let telemetry = install(
        isolated_builder()
            .span_exporter(InMemorySpanExporter::default())
            .env_vars([("HOME", "/nonexistent")])
            .usage(UsageOptions::new().config_dir(dir.path()).enabled(true)),
    );
    usage::track_feature_usage("x");
    assert_eq!(telemetry.usage_status().reason, UsageReason::NoEndpoint);
    shutdown(&telemetry);
    assert!(receiver.requests().is_empty());
    assert!(!dir.path().exists(), "nothing written while off");
}

#[test]
fn enabled_from_the_config_file() {
    let _serial = serial();
    let dir = Dir::new("config-file");
    let receiver = JsonReceiver::start();
    let config = Config::from_toml_str(&format!(
        "[telemetry.usage]\nenabled = true\nendpoint = \"{}\"\nnotice = false\n",
        receiver.endpoint()
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let telemetry = install(
        Telemetry::builder()
            .config(config)
            .env_vars([("HOME", "/nonexistent")])
            .span_exporter(InMemorySpanExporter::default())
            .usage(
                UsageOptions::new()
                    .config_dir(dir.path())
                    .output(std::io::sink()),
            ),
    );
    usage::track_feature_usage("from-file");
    flush(&telemetry);
    assert_eq!(receiver.wait_for_requests(1, WAIT).len(), 1);
    shutdown(&telemetry);
    let err = Config::from_toml_str("[telemetry.usage]\nenabeld = true\n")
        .map(|_| ())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("enabeld") && err.contains("enabled"), "{err}");
}

#[test]
fn debug_mode_prints_instead_of_sending() {
    let _serial = serial();
    let dir = Dir::new("debug");
    let receiver = JsonReceiver::start();
    let out = Captured::default();
    let telemetry = install(
        builder(
            dir.path(),
            &[("ZDK_TELEMETRY_DEBUG", "1")],
            &receiver.endpoint(),
        )
        .usage(UsageOptions::new().output(out.clone())),
    );
    usage::track_agent_run("simple", "pydantic_ai", true, 1234.5);
    flush(&telemetry);
    let status = telemetry.usage_status();
    shutdown(&telemetry);
    assert!(receiver.requests().is_empty(), "debug mode sent something");
    assert!(status.debug && status.enabled);
    assert_eq!((status.counters.printed, status.counters.sent), (1, 0));

    let text = out.text();
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.contains("ZDK_TELEMETRY_DEBUG") && header.contains("/v1/traces"),
        "{text}"
    );
    let printed: Value = serde_json::from_str(lines.next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not the JSON body: {e}\n{text}"));
    let span = &printed["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["name"], "agent.run");
    assert_eq!(
        attributes(span)[2],
        json!({"key":"event.agent_type","value":{"stringValue":"simple"}})
    );
}

#[test]
fn notice_is_shown_once_per_user() {
    let _serial = serial();
    let dir = Dir::new("notice");
    let out = Captured::default();
    for _ in 0..2 {
        let telemetry = install(
            builder(dir.path(), &[], "http://127.0.0.1:9")
                .usage(UsageOptions::new().notice(true).output(out.clone())),
        );
        shutdown(&telemetry);
    }
    let text = out.text();
    assert_eq!(
        text.matches("anonymous usage statistics").count(),
        1,
        "{text}"
    );
    for needed in [
        "DO_NOT_TRACK=1",
        "ZDK_TELEMETRY_ENABLED=false",
        "no-tracing",
        "Never",
    ] {
        assert!(text.contains(needed), "notice lacks {needed}: {text}");
    }

    let quiet_dir = Dir::new("notice-suppressed");
    let quiet = Captured::default();
    let telemetry = install(
        builder(quiet_dir.path(), &[], "http://127.0.0.1:9")
            .usage(UsageOptions::new().output(quiet.clone())),
    );
    shutdown(&telemetry);
    assert_eq!(quiet.text(), "", "suppressed by the application");
}

#[test]
fn anonymous_id_is_private_reused_and_resettable() {
    let _serial = serial();
    let dir = Dir::new("identity");
    let status = |b: TelemetryBuilder| {
        let telemetry = install(b);
        let status = telemetry.usage_status();
        shutdown(&telemetry);
        status
    };
    let first = status(builder(dir.path(), &[], "http://127.0.0.1:9"));
    let file = dir.path().join("anonymous_id");
    assert_eq!(first.anonymous_id_file.as_deref(), Some(file.as_path()));
    let stored = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(Some(stored.trim().to_owned()), first.anonymous_id);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = status(builder(dir.path(), &[], "http://127.0.0.1:9"));
    assert_eq!(second.anonymous_id, first.anonymous_id);
    assert_eq!(
        second.session_id, first.session_id,
        "one session per process"
    );

    assert_eq!(usage::reset_anonymous_id_in(dir.path()).ok(), Some(true));
    let third = status(builder(dir.path(), &[], "http://127.0.0.1:9"));
    assert!(third.anonymous_id.is_some());
    assert_ne!(third.anonymous_id, first.anonymous_id);

    // XDG_CONFIG_HOME names the directory when the application does not.
    let xdg = Dir::new("xdg");
    let xdg_path = xdg.path().display().to_string();
    let from_xdg = status(
        isolated_builder()
            .span_exporter(InMemorySpanExporter::default())
            .env_vars([("XDG_CONFIG_HOME", xdg_path.as_str())])
            .usage(
                UsageOptions::new()
                    .notice(false)
                    .enabled(true)
                    .endpoint("http://127.0.0.1:9"),
            ),
    );
    assert_eq!(
        from_xdg.anonymous_id_file,
        Some(xdg.path().join("zdk").join("anonymous_id"))
    );
}

#[test]
fn unwritable_directory_uses_an_id_in_memory() {
    let _serial = serial();
    // A regular file where the directory should be: not writable, even for root.
    let blocker = Dir::new("blocker");
    std::fs::write(blocker.path(), "").unwrap_or_else(|e| panic!("{e}"));
    let receiver = JsonReceiver::start();
    let telemetry = install(builder(
        &blocker.path().join("zdk"),
        &[],
        &receiver.endpoint(),
    ));
    usage::track_feature_usage("memory-id");
    flush(&telemetry);
    let status = telemetry.usage_status();
    shutdown(&telemetry);
    assert!(status.enabled);
    assert_eq!(status.anonymous_id_file, None);
    let requests = receiver.wait_for_requests(1, WAIT);
    let resource = &requests[0].json.clone().unwrap_or_default()["resourceSpans"][0]["resource"];
    assert_eq!(
        resource["attributes"][2],
        json!({"key":"user.id","value":{"stringValue":status.anonymous_id.unwrap_or_default()}})
    );
}

#[test]
fn unreachable_endpoint_opens_the_circuit_and_never_blocks() {
    let _serial = serial();
    let dir = Dir::new("down");
    let out = Captured::default();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let telemetry = install(
        builder(dir.path(), &[], &endpoint).usage(
            UsageOptions::new()
                .output(out.clone())
                .circuit_cooldown(Duration::from_secs(3600)),
        ),
    );
    usage::track_feature_usage("first");
    flush(&telemetry);
    let status = telemetry.usage_status();
    assert_eq!(status.circuit, CircuitState::Open);
    assert_eq!(status.counters.dropped_export_failed, 1);
    assert_eq!(status.counters.retries, 2, "a few retries before giving up");
    assert_eq!(status.counters.circuit_opened, 1);

    // The endpoint stays down: calls return at once, events are dropped and counted.
    for i in 0..10_000 {
        match i % 3 {
            0 => usage::track_agent_run("simple", "pydantic_ai", true, 1.0),
            1 => usage::track_feature_usage("busy"),
            _ => usage::track_error("timeout", "llm_client"),
        }
    }
    flush(&telemetry);
    let counters = telemetry.usage_status().counters;
    assert_eq!(counters.queued + counters.dropped_queue_full, 10_001);
    assert_eq!(counters.sent, 0);
    assert_eq!(counters.dropped(), 10_001, "{counters:?}");
    assert!(counters.dropped_circuit_open > 0, "{counters:?}");
    assert_eq!(counters.circuit_opened, 1, "no retry storm while open");
    shutdown(&telemetry);
    assert!(
        out.text().matches("could not be sent").count() <= 1,
        "{}",
        out.text()
    );
}

#[test]
fn circuit_cooldown_from_the_config_file() {
    // `[telemetry.usage] circuit_cooldown_seconds` (one entry in the settings table) reaches
    // the usage sender, and the file wins over the code's `UsageOptions::circuit_cooldown`.
    let _serial = serial();
    let dir = Dir::new("cooldown-file");
    let file = Config::from_toml_str("[telemetry.usage]\ncircuit_cooldown_seconds = 0.2\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let telemetry = install(
        builder(
            dir.path(),
            &[],
            &format!("http://127.0.0.1:{}", closed_port()),
        )
        .usage(UsageOptions::new().circuit_cooldown(Duration::from_secs(3600)))
        .config(file),
    );
    usage::track_feature_usage("while-down");
    flush(&telemetry);
    assert_eq!(telemetry.usage_status().circuit, CircuitState::Open);
    let mut waited = 0;
    while telemetry.usage_status().circuit != CircuitState::HalfOpen && waited < 500 {
        std::thread::sleep(Duration::from_millis(20));
        waited += 1;
    }
    let circuit = telemetry.usage_status().circuit;
    shutdown(&telemetry);
    assert_eq!(circuit, CircuitState::HalfOpen);
}

#[test]
fn circuit_recovers_when_the_endpoint_comes_back() {
    let _serial = serial();
    let dir = Dir::new("down-up");
    let port = closed_port();
    let telemetry = install(
        builder(dir.path(), &[], &format!("http://127.0.0.1:{port}"))
            .usage(UsageOptions::new().circuit_cooldown(Duration::from_millis(200))),
    );
    usage::track_feature_usage("while-down");
    flush(&telemetry);
    assert_eq!(telemetry.usage_status().circuit, CircuitState::Open);

    let receiver = JsonReceiver::start_on(port);
    // Wait for the cool-down to end (polling state, not asserting on time).
    let mut waited = 0;
    while telemetry.usage_status().circuit != CircuitState::HalfOpen && waited < 500 {
        std::thread::sleep(Duration::from_millis(20));
        waited += 1;
    }
    assert_eq!(telemetry.usage_status().circuit, CircuitState::HalfOpen);
    usage::track_feature_usage("after-recovery");
    flush(&telemetry);
    let status = telemetry.usage_status();
    shutdown(&telemetry);
    assert_eq!(status.circuit, CircuitState::Closed);
    assert_eq!(status.counters.sent, 1);
    let spans = receiver.wait_for_requests(1, WAIT)[0].spans();
    assert_eq!(
        attributes(&spans[0])[2],
        json!({"key":"event.feature_name","value":{"stringValue":"after-recovery"}})
    );
}

#[test]
fn usage_span_exporter_receives_what_would_be_sent() {
    let _serial = serial();
    let dir = Dir::new("exporter");
    let exporter = InMemorySpanExporter::default();
    let telemetry = install(
        builder(dir.path(), &[], "http://127.0.0.1:9")
            .usage(UsageOptions::new().span_exporter(exporter.clone())),
    );
    usage::track_event(
        EventType::ToolExecuted,
        [
            ("tool.type", UsageValue::from("search")),
            ("query", UsageValue::from("secret")),
        ],
    );
    flush(&telemetry);
    // Read before shutdown: `InMemorySpanExporter` forgets its spans when shut down.
    let spans = exporter.get_finished_spans().unwrap_or_default();
    shutdown(&telemetry);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "tool.executed");
    let keys: Vec<&str> = spans[0]
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(keys, ["system.os", "system.arch", "event.tool_type"]);
}

#[test]
fn usage_span_exporter_turns_it_on_unless_told_otherwise() {
    let _serial = serial();
    let dir = Dir::new("exporter-on");
    // Only an exporter: no `usage(true)`, no endpoint.
    let quiet = |b: TelemetryBuilder| {
        b.span_exporter(InMemorySpanExporter::default())
            .env_vars([("HOME", "/nonexistent")])
            .usage(
                UsageOptions::new()
                    .config_dir(dir.path())
                    .output(std::io::sink()),
            )
    };
    let exporter = InMemorySpanExporter::default();
    let telemetry = install(
        quiet(isolated_builder()).usage(UsageOptions::new().span_exporter(exporter.clone())),
    );
    usage::track_feature_usage("exporter");
    flush(&telemetry);
    let status = telemetry.usage_status();
    let spans = exporter.get_finished_spans().unwrap_or_default();
    shutdown(&telemetry);
    assert_eq!(status.reason, UsageReason::Enabled);
    assert_eq!(status.endpoint, None);
    assert_eq!(spans.len(), 1);

    // The configuration file (which beats code) can still say no.
    let file = Config::from_toml_str("[telemetry.usage]\nenabled = false\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let exporter = InMemorySpanExporter::default();
    let telemetry = install(
        quiet(Telemetry::builder().config(file))
            .usage(UsageOptions::new().span_exporter(exporter.clone())),
    );
    usage::track_feature_usage("exporter");
    flush(&telemetry);
    assert_eq!(
        telemetry.usage_status().reason,
        UsageReason::NotEnabledByApp
    );
    assert!(exporter.get_finished_spans().unwrap_or_default().is_empty());
    shutdown(&telemetry);
}

#[test]
fn shutdown_delivers_what_is_queued() {
    let _serial = serial();
    let dir = Dir::new("shutdown");
    // Keeps its spans after shutdown, unlike `InMemorySpanExporter`.
    let recorder = Recorder::default();
    let telemetry = install(
        builder(dir.path(), &[], "http://127.0.0.1:9")
            .usage(UsageOptions::new().span_exporter(recorder.clone())),
    );
    one_of_each();
    shutdown(&telemetry);
    assert_eq!(
        recorder.names(),
        ["agent.run", "feature.used", "agent.error"]
    );
}

#[test]
fn https_endpoint_is_a_config_error_at_install() {
    let _serial = serial();
    let dir = Dir::new("https");
    let err = builder(dir.path(), &[], "https://usage.example.com")
        .install()
        .map(|t| drop(t.shutdown()))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("https://usage.example.com") && err.contains("no TLS backend"),
        "{err}"
    );
}

/// Values a usage event must never carry: emails, URLs, paths, addresses, host names, UUIDs,
/// long numbers, credentials (at least 50; the runtime's unit tests check the reason of each
/// shape, this checks that none leaves by any entry point).
const PERSONAL: &[&str] = &[
    "alice.smith@example.com",
    "bob@corp.internal",
    "mail from carol+tag@gmail.com failed",
    "dan@mail.example.de",
    "https://api.example.com/v1?key=abc",
    "http://localhost:8080/admin",
    "ftp://files.example.org/a",
    "www.example.com",
    "s3://bucket/private/key",
    "/home/alice/x.txt",
    "~/projects/secret",
    "./config/app.toml",
    "../etc/passwd",
    "C:\\Users\\alice\\Desktop",
    "D:/data/file.csv",
    "\\\\server\\share\\doc",
    "home/alice/notes.txt",
    "cannot open /var/lib/app.db",
    "10.0.0.7",
    "192.168.1.20:8080",
    "connect to 172.16.4.2 failed",
    "::1",
    "fe80::1ff:fe23:4567:890a",
    "[2001:db8::1]:443",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "alice-laptop.local",
    "db01.internal",
    "build.corp",
    "nas.lan",
    "router.home",
    "api.openai.com",
    "example.co.uk",
    "myhost.example.org",
    "550e8400-e29b-41d4-a716-446655440000",
    "550E8400E29B41D4A716446655440000",
    "order 123e4567-e89b-12d3-a456-426614174000",
    "4111111111111111",
    "+1 5551234567",
    "user 1234567",
    "sk-proj-abcdefghijklmnop1234",
    "sk_live_51H8abcdefGHIJK",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "github_pat_11ABCDEFG0123456789",
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-123456-abcdef-ghijkl",
    "Bearer abc.def.ghi",
    "glpat-xxxxxxxxxxxxxxxxxxxx",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv",
    "eyJhbGciOiJIUzI1NiJ9",
    "q8Zt3Lm9Xp2Rv7Ws4Ky1Hb6N",
    "a9F3kL0pQ7zX2mN8vB4cR6tY1wE5",
];

/// Labels that must still be sent.
const LABELS: &[&str] = &[
    "react",
    "openai",
    "timeout",
    "web_search",
    "gpt-4.1",
    "gemini-1.5-pro",
    "claude-3.5-sonnet",
];

/// Every run-time entry point, with `value` in every string it takes: 6 string attributes.
fn track_everywhere(value: &'static str) {
    usage::track_error(value, value);
    usage::track_agent_run(value, value, true, 1.0);
    usage::track_feature_usage(value);
    usage::track_event(
        EventType::FeatureUsed,
        [("feature.name", UsageValue::from(value))],
    );
}

#[test]
fn personal_data_never_leaves_by_any_entry_point() {
    let _serial = serial();
    // Once into a span exporter (what would be sent), once in debug mode (what is printed).
    let dir = Dir::new("screen");
    let exporter = InMemorySpanExporter::default();
    let telemetry = install(
        builder(dir.path(), &[], "http://127.0.0.1:9")
            .usage(UsageOptions::new().span_exporter(exporter.clone())),
    );
    for value in PERSONAL.iter().chain(LABELS) {
        track_everywhere(value);
    }
    flush(&telemetry);
    let spans = exporter.get_finished_spans().unwrap_or_default();
    let status = telemetry.usage_status();
    shutdown(&telemetry);
    let sent: Vec<String> = spans
        .iter()
        .flat_map(|s| s.attributes.iter().map(|kv| kv.value.as_str().into_owned()))
        .collect();
    for value in PERSONAL {
        assert!(
            !sent.iter().any(|s| s.contains(value)),
            "{value} was exported"
        );
    }
    for label in LABELS {
        let seen = sent.iter().filter(|s| s.as_str() == *label).count();
        assert_eq!(seen, 6, "{label} should be sent in all 6 attributes");
    }
    assert_eq!(
        status.counters.values_screened.total(),
        6 * PERSONAL.len() as u64,
        "{:?}",
        status.counters
    );

    let dir = Dir::new("screen-debug");
    let out = Captured::default();
    let telemetry = install(
        builder(
            dir.path(),
            &[("ZDK_TELEMETRY_DEBUG", "1")],
            "http://127.0.0.1:9",
        )
        .usage(UsageOptions::new().output(out.clone())),
    );
    for value in PERSONAL.iter().chain(LABELS) {
        track_everywhere(value);
    }
    flush(&telemetry);
    shutdown(&telemetry);
    let printed = out.text();
    for value in PERSONAL {
        // The JSON print escapes backslashes: look for both spellings.
        let escaped = value.replace('\\', "\\\\");
        assert!(
            !printed.contains(value) && !printed.contains(&escaped),
            "{value} was printed"
        );
    }
    for label in LABELS {
        assert!(printed.contains(&format!("\"{label}\"")), "{label} missing");
    }
}
