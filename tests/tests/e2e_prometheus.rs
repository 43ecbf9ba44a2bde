//! End to end against a real Prometheus: `agent_app` serves its metrics on 127.0.0.1,
//! Prometheus (started by `tests/backends/prometheus/start.sh`, scraping that port every
//! second) stores them, and the test asks Prometheus's query API whether the call counts,
//! token sums and errors equal what the app did, as its own spans (JSON lines) record it.
//!
//! Skipped unless `PROMETHEUS_BASE_URL` is set; with `ZDK_E2E_PROMETHEUS=1` (CI) a missing
//! Prometheus is a failure.

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use zdk_trace_tests::phoenix::{example_bin, run_to_end};

/// The port `agent_app` serves metrics on (what start.sh's default target scrapes).
const APP_PORT: u16 = 19464;

fn prometheus() -> Option<String> {
    match std::env::var("PROMETHEUS_BASE_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("ZDK_E2E_PROMETHEUS").as_deref() == Ok("1") => {
            panic!("ZDK_E2E_PROMETHEUS=1 but PROMETHEUS_BASE_URL is not set: start tests/backends/prometheus/start.sh")
        }
        Err(_) => None,
    }
}

/// Prometheus's whole answer to PromQL `promql` (an instant query).
fn answer(base: &str, promql: &str) -> Json {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let url =
        reqwest::Url::parse_with_params(&format!("{base}/api/v1/query"), &[("query", promql)])
            .unwrap_or_else(|e| panic!("{base}: {e}"));
    let text = rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("query {promql}: {e}"))
            .text()
            .await
            .unwrap_or_else(|e| panic!("query {promql}: {e}"))
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("query {promql}: {e}: {text}"))
}

/// The value of PromQL `query` (one series, or `None` when it has none).
fn query(base: &str, promql: &str) -> Option<f64> {
    let body = answer(base, promql);
    let result = &body["data"]["result"];
    match result.as_array().map(Vec::as_slice) {
        Some([one]) => one["value"][1].as_str().and_then(|v| v.parse().ok()),
        Some([]) => None,
        _ => panic!("{promql} gave several series: {body}"),
    }
}

/// Waits until `promql` equals `want` (Prometheus scrapes every second), or panics with what
/// it last saw.
fn wait_for(base: &str, promql: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = query(base, promql);
        if got == Some(want) {
            return;
        }
        if Instant::now() > deadline {
            panic!("Prometheus gives {got:?} for `{promql}`, the app did {want}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// What the app's spans say it did.
#[derive(Debug, Default)]
struct Did {
    chats: u64,
    input_tokens: i64,
    output_tokens: i64,
    agents: u64,
    tools: u64,
    failed_tools: u64,
    session_events: u64,
    /// Trace ids (hex) of the spans.
    traces: std::collections::HashSet<String>,
}

fn read_spans(path: &std::path::Path) -> Did {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut did = Did::default();
    for line in text.lines() {
        let doc: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let span = &doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        let attr = |key: &str| {
            span["attributes"]
                .as_array()
                .and_then(|a| a.iter().find(|kv| kv["key"] == key))
                .map(|kv| kv["value"].clone())
        };
        let int = |key: &str| {
            attr(key)
                .and_then(|v| v["intValue"].as_str().and_then(|s| s.parse::<i64>().ok()))
                .unwrap_or(0)
        };
        if let Some(trace) = span["traceId"].as_str() {
            did.traces.insert(trace.to_owned());
        }
        let op = attr("gen_ai.operation.name")
            .and_then(|v| v["stringValue"].as_str().map(str::to_owned));
        match op.as_deref() {
            Some("chat") => {
                did.chats += 1;
                did.input_tokens += int("gen_ai.usage.input_tokens");
                did.output_tokens += int("gen_ai.usage.output_tokens");
            }
            Some("invoke_agent") => did.agents += 1,
            Some("execute_tool") => {
                did.tools += 1;
                if span["status"]["code"] == 2 {
                    did.failed_tools += 1;
                }
            }
            _ => {}
        }
        if span["name"] == "session.append_event" {
            did.session_events += 1;
        }
    }
    did
}

#[test]
fn prometheus_scrapes_what_the_agent_app_did() {
    let Some(base) = prometheus() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("zdk-e2e-prom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let config = dir.join("zdk-trace.toml");
    std::fs::write(
        &config,
        format!(
            "[telemetry.tracing.sampling]\nstrategy = \"always_on\"\n\n\
             [telemetry.metrics.prometheus]\nenabled = true\nport = {APP_PORT}\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let jsonl = dir.join("spans.jsonl");
    let mut command = std::process::Command::new(example_bin("agent_app"));
    for (key, _) in std::env::vars_os() {
        let text = key.to_string_lossy();
        if text.starts_with("OTEL_") || text.starts_with("ZDK_TRACE") {
            command.env_remove(&key);
        }
    }
    command
        .env("ZDK_TRACE_CONFIG", &config)
        .args([
            "--turns",
            "3",
            "--delay-ms",
            "2",
            "--linger-secs",
            "8",
            "--jsonl",
        ])
        .arg(&jsonl);
    let run = run_to_end(&mut command);
    let did = read_spans(&jsonl);
    assert!(
        did.chats > 0 && did.tools > 0 && did.failed_tools > 0,
        "{did:?}"
    );
    // The console summary printed under the trees agrees too.
    assert!(run.stdout.contains("metrics (every call"), "{}", run.stdout);

    // The app has exited: its series are stale now, so each query reads the last values
    // scraped while it lingered.
    let job = "job=\"zdk\"";
    wait_for(
        &base,
        &format!(
            "sum(last_over_time(gen_ai_client_operation_duration_seconds_count{{{job}}}[1m]))"
        ),
        did.chats as f64,
    );
    wait_for(
        &base,
        &format!("sum(last_over_time(gen_ai_client_token_usage_sum{{{job},gen_ai_token_type=\"input\"}}[1m]))"),
        did.input_tokens as f64,
    );
    wait_for(
        &base,
        &format!("sum(last_over_time(gen_ai_client_token_usage_sum{{{job},gen_ai_token_type=\"output\"}}[1m]))"),
        did.output_tokens as f64,
    );
    wait_for(
        &base,
        &format!("sum(last_over_time(gen_ai_invoke_agent_duration_seconds_count{{{job}}}[1m]))"),
        did.agents as f64,
    );
    wait_for(
        &base,
        &format!("sum(last_over_time(gen_ai_execute_tool_duration_seconds_count{{{job}}}[1m]))"),
        did.tools as f64,
    );
    wait_for(
        &base,
        &format!("sum(last_over_time(gen_ai_execute_tool_duration_seconds_count{{{job},error_type!=\"\"}}[1m]))"),
        did.failed_tools as f64,
    );
    // The application's own counter, through `telemetry.meter()`.
    wait_for(
        &base,
        &format!("sum(last_over_time(session_events_total{{{job}}}[1m]))"),
        did.session_events as f64,
    );
    // No agent runs any more, and the resource came along as `target_info`.
    wait_for(
        &base,
        &format!("sum(last_over_time(gen_ai_agent_active{{{job}}}[1m]))"),
        0.0,
    );
    wait_for(
        &base,
        &format!("count(last_over_time(target_info{{{job},service_name=\"agent-app\"}}[1m]))"),
        1.0,
    );
    // Prometheus scraped OpenMetrics with exemplars: each names a trace the app exported.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/api/v1/query_exemplars"),
        &[
            (
                "query",
                "gen_ai_client_operation_duration_seconds_bucket{job=\"zdk\"}".to_owned(),
            ),
            ("start", (now - 300).to_string()),
            ("end", (now + 60).to_string()),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("query_exemplars: {e}"))
            .text()
            .await
            .unwrap_or_else(|e| panic!("query_exemplars: {e}"))
    });
    let body: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let exemplars: Vec<String> = body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
        .collect();
    assert!(!exemplars.is_empty(), "no exemplars stored: {body}");
    for trace in &exemplars {
        assert!(
            did.traces.contains(trace),
            "exemplar trace {trace} is not one the app exported"
        );
    }
    // Every query of the Grafana dashboard in docs/ is valid PromQL for these series.
    let dashboard: Json = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/grafana-genai-dashboard.json"
        ))
        .unwrap_or_else(|e| panic!("dashboard: {e}")),
    )
    .unwrap_or_else(|e| panic!("dashboard: {e}"));
    let panels = dashboard["panels"].as_array().cloned().unwrap_or_default();
    assert!(panels.len() >= 10);
    for panel in panels {
        for target in panel["targets"].as_array().cloned().unwrap_or_default() {
            let expr = target["expr"].as_str().unwrap_or_default();
            let promql = expr.replace("$__rate_interval", "1m");
            let body = answer(&base, &promql);
            assert_eq!(
                body["status"], "success",
                "{}: {promql}: {body}",
                panel["title"]
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
