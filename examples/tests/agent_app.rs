//! Runs the real `agent_app` binary with zero OTLP configuration and `--jsonl`, and checks the
//! whole span tree it documents, from the JSON lines, plus the console tree on stdout.

// A test that cannot run the binary or read its output has failed: say why and stop.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// OTLP span kinds and status codes, as numbers in OTLP/JSON.
const KIND_INTERNAL: i64 = 1;
const KIND_SERVER: i64 = 2;
const KIND_CLIENT: i64 = 3;
const STATUS_UNSET: i64 = 0;
const STATUS_ERROR: i64 = 2;

/// A scratch directory, removed on drop: the app runs there, so no `zdk-trace.toml` of the
/// developer's is picked up.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("zdk-agent-app-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with no `OTEL_*` variable and no named config file.
fn agent_app(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agent_app"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("ZDK_TRACE_CONFIG")
        .env_remove("AGENT_APP_JSONL")
        .env_remove("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            cmd.env_remove(name);
        }
    }
    cmd.output().expect("run agent_app")
}

/// One span of the JSON-lines file.
#[derive(Debug)]
struct Span {
    trace: String,
    id: String,
    parent: String,
    name: String,
    kind: i64,
    start: u64,
    attrs: HashMap<String, Value>,
    status_code: i64,
    status_message: String,
    /// (name, attributes) of each event.
    events: Vec<(String, HashMap<String, Value>)>,
    resource: HashMap<String, Value>,
}

impl Span {
    fn str(&self, key: &str) -> Option<&str> {
        self.attrs.get(key)?.get("stringValue")?.as_str()
    }

    fn int(&self, key: &str) -> Option<i64> {
        int_value(self.attrs.get(key)?)
    }

    fn double(&self, key: &str) -> Option<f64> {
        self.attrs.get(key)?.get("doubleValue")?.as_f64()
    }
}

/// OTLP/JSON writes 64-bit ints as strings.
fn int_value(value: &Value) -> Option<i64> {
    match value.get("intValue")? {
        Value::String(s) => s.parse().ok(),
        other => other.as_i64(),
    }
}

fn key_values(list: &Value) -> HashMap<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|kv| {
            Some((
                kv.get("key")?.as_str()?.to_owned(),
                kv.get("value")?.clone(),
            ))
        })
        .collect()
}

fn parse_spans(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    for line in text.lines() {
        let request: Value = serde_json::from_str(line).expect("a JSON line");
        for resource_spans in request["resourceSpans"].as_array().expect("resourceSpans") {
            let resource = key_values(&resource_spans["resource"]["attributes"]);
            for scope in resource_spans["scopeSpans"].as_array().expect("scopeSpans") {
                for s in scope["spans"].as_array().expect("spans") {
                    let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                    spans.push(Span {
                        trace: text("traceId"),
                        id: text("spanId"),
                        parent: text("parentSpanId"),
                        name: text("name"),
                        kind: s["kind"].as_i64().unwrap_or(-1),
                        start: text("startTimeUnixNano").parse().unwrap_or(0),
                        attrs: key_values(&s["attributes"]),
                        status_code: s["status"]["code"].as_i64().unwrap_or(-1),
                        status_message: s["status"]["message"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        events: s["events"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|e| {
                                (
                                    e["name"].as_str().unwrap_or_default().to_owned(),
                                    key_values(&e["attributes"]),
                                )
                            })
                            .collect(),
                        resource: resource.clone(),
                    });
                }
            }
        }
    }
    spans
}

/// The children of `parent`, in start order.
fn children<'a>(spans: &'a [Span], parent: &Span) -> Vec<&'a Span> {
    let mut kids: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace == parent.trace && s.parent == parent.id)
        .collect();
    kids.sort_by_key(|s| s.start);
    kids
}

fn sorted_names(spans: &[&Span]) -> Vec<String> {
    let mut names: Vec<String> = spans.iter().map(|s| s.name.clone()).collect();
    names.sort();
    names
}

/// Checks a `chat sim-chat-1` span; returns its (input, output) token counts.
fn check_chat(chat: &Span) -> (i64, i64) {
    assert_eq!(chat.name, "chat sim-chat-1");
    assert_eq!(chat.kind, KIND_CLIENT);
    assert_eq!(chat.str("gen_ai.operation.name"), Some("chat"));
    assert_eq!(chat.str("gen_ai.provider.name"), Some("simulated"));
    assert_eq!(chat.str("gen_ai.request.model"), Some("sim-chat-1"));
    assert_eq!(
        chat.str("gen_ai.response.model"),
        Some("sim-chat-1-2025-06-01")
    );
    assert_eq!(chat.double("gen_ai.request.temperature"), Some(0.2));
    assert_eq!(chat.int("gen_ai.request.max_tokens"), Some(256));
    assert_eq!(chat.status_code, STATUS_UNSET);
    // Content capture is off by default: no prompt or completion is recorded.
    assert_eq!(chat.attrs.get("gen_ai.input.messages"), None);
    assert_eq!(chat.attrs.get("gen_ai.output.messages"), None);
    let input = chat.int("gen_ai.usage.input_tokens").expect("input tokens");
    let output = chat
        .int("gen_ai.usage.output_tokens")
        .expect("output tokens");
    // One token per streamed chunk: the usage on the last chunk is what the span sums.
    assert_eq!(chat.int("stream.items"), Some(output));
    assert!(chat.double("stream.time_to_first_item_ms").is_some());
    (input, output)
}

fn check_agent(agent: &Span, name: &str, id: &str) {
    assert_eq!(agent.name, format!("invoke_agent {name}"));
    assert_eq!(agent.kind, KIND_INTERNAL);
    assert_eq!(agent.str("gen_ai.operation.name"), Some("invoke_agent"));
    assert_eq!(agent.str("gen_ai.agent.name"), Some(name));
    assert_eq!(agent.str("gen_ai.agent.id"), Some(id));
    assert_eq!(agent.str("gen_ai.conversation.id"), Some("trip-1"));
}

fn check_workflow(workflow: &Span, name: &str, kind: &str) {
    assert_eq!(workflow.name, format!("invoke_workflow {name}"));
    assert_eq!(
        workflow.str("gen_ai.operation.name"),
        Some("invoke_workflow")
    );
    assert_eq!(workflow.str("gen_ai.workflow.name"), Some(name));
    assert_eq!(workflow.str("workflow.type"), Some(kind));
    assert_eq!(workflow.status_code, STATUS_UNSET);
}

/// The tree of one turn, as the module docs of `agent_app` draw it.
fn check_turn(spans: &[Span], root: &Span, turn: i64) {
    assert_eq!(root.name, "runner.run");
    assert_eq!(root.kind, KIND_SERVER);
    assert_eq!(root.int("turn"), Some(turn));
    assert_eq!(root.str("session.id"), Some("trip-1"));
    assert_eq!(root.status_code, STATUS_UNSET);
    let in_trace = spans.iter().filter(|s| s.trace == root.trace).count();
    assert_eq!(in_trace, 25, "spans in turn {turn}");

    let top = children(spans, root);
    assert_eq!(
        top.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        [
            "session.get_or_create",
            "session.append_event",
            "invoke_workflow trip_planner",
            "session.append_event",
        ]
    );
    assert_eq!(top[1].str("session.event.author"), Some("user"));
    assert_eq!(top[3].str("session.event.author"), Some("agent"));
    let sequential = top[2];
    check_workflow(sequential, "trip_planner", "sequential");

    // Sequential: the steps run one after the other, in this order.
    let steps = children(spans, sequential);
    assert_eq!(
        steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        [
            "invoke_agent planner",
            "invoke_workflow research",
            "invoke_workflow refine"
        ]
    );

    // The planner: chat, both tools, chat.
    let planner = steps[0];
    check_agent(planner, "planner", "planner-1");
    let planner_steps = children(spans, planner);
    assert_eq!(
        planner_steps
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        [
            "chat sim-chat-1",
            "execute_tool get_weather",
            "execute_tool search_flights",
            "chat sim-chat-1"
        ]
    );
    assert_eq!(check_chat(planner_steps[0]), (8, 13));
    assert_eq!(check_chat(planner_steps[3]), (36, 16));

    let weather = planner_steps[1];
    assert_eq!(weather.str("gen_ai.operation.name"), Some("execute_tool"));
    assert_eq!(weather.str("gen_ai.tool.name"), Some("get_weather"));
    assert_eq!(weather.str("gen_ai.tool.type"), Some("function"));
    assert_eq!(weather.str("gen_ai.tool.call.id"), Some("call_1"));
    assert_eq!(weather.status_code, STATUS_UNSET);
    assert_eq!(weather.attrs.get("error.type"), None);
    let http = children(spans, weather);
    assert_eq!(sorted_names(&http), ["GET /v1/forecast"]);
    assert_eq!(http[0].kind, KIND_CLIENT);
    assert_eq!(http[0].str("http.request.method"), Some("GET"));

    let flights = planner_steps[2];
    assert_eq!(flights.str("gen_ai.tool.name"), Some("search_flights"));
    assert_eq!(flights.str("gen_ai.tool.call.id"), Some("call_2"));
    assert_eq!(flights.status_code, STATUS_ERROR);
    assert_eq!(
        flights.status_message,
        "flight API did not answer within 10ms"
    );
    assert_eq!(flights.str("error.type"), Some("timeout"));
    let exception = flights
        .events
        .iter()
        .find(|(name, _)| name == "exception")
        .expect("an exception event");
    assert_eq!(
        exception
            .1
            .get("exception.type")
            .and_then(|v| v["stringValue"].as_str()),
        Some("timeout")
    );
    assert!(children(spans, flights).is_empty());

    // Parallel: one researcher per task, all children of the workflow.
    let parallel = steps[1];
    check_workflow(parallel, "research", "parallel");
    let branches = children(spans, parallel);
    assert_eq!(branches.len(), 3);
    let mut ids: Vec<&str> = branches
        .iter()
        .map(|b| b.str("gen_ai.agent.id").unwrap_or_default())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["researcher-1", "researcher-2", "researcher-3"]);
    for branch in &branches {
        let id = branch.str("gen_ai.agent.id").unwrap_or_default();
        check_agent(branch, "researcher", id);
        let chats = children(spans, branch);
        assert_eq!(chats.len(), 1);
        assert_eq!(check_chat(chats[0]), (2, 9));
    }

    // Loop: three rounds, each an event and a critic run.
    let looped = steps[2];
    check_workflow(looped, "refine", "loop");
    assert_eq!(looped.int("workflow.iterations"), Some(3));
    let rounds: Vec<i64> = looped
        .events
        .iter()
        .filter(|(name, _)| name == "workflow.iteration")
        .map(|(_, attrs)| {
            attrs
                .get("workflow.iteration.number")
                .and_then(int_value)
                .unwrap_or(-1)
        })
        .collect();
    assert_eq!(rounds, [1, 2, 3]);
    let critics = children(spans, looped);
    assert_eq!(critics.len(), 3);
    let mut inputs = Vec::new();
    for critic in critics {
        check_agent(critic, "critic", "critic-1");
        let chats = children(spans, critic);
        assert_eq!(chats.len(), 1);
        let (input, output) = check_chat(chats[0]);
        assert_eq!(output, 7);
        inputs.push(input);
    }
    // Each round critiques the previous round's longer draft.
    assert_eq!(inputs, [45, 52, 59]);
}

#[test]
fn two_turns_export_the_documented_tree() {
    let scratch = Scratch::new("tree");
    let jsonl = scratch.0.join("spans.jsonl");
    let out = agent_app(
        &scratch.0,
        &[
            "--turns",
            "2",
            "--delay-ms",
            "1",
            "--jsonl",
            jsonl.to_str().expect("utf-8 temp path"),
            "--project",
            "agent-app-test",
            "--service",
            "agent-app-svc",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {stderr}",
        out.status
    );
    assert!(
        stderr.contains("2 turn(s), 50 spans exported, 0 dropped, 0 export errors"),
        "summary on stderr: {stderr}"
    );

    let text = std::fs::read_to_string(&jsonl).expect("the JSON-lines file");
    let spans = parse_spans(&text);
    assert_eq!(spans.len(), 50);
    for span in &spans {
        assert_eq!(
            span.resource
                .get("openinference.project.name")
                .and_then(|v| v["stringValue"].as_str()),
            Some("agent-app-test")
        );
        assert_eq!(
            span.resource
                .get("service.name")
                .and_then(|v| v["stringValue"].as_str()),
            Some("agent-app-svc")
        );
    }

    let mut roots: Vec<&Span> = spans.iter().filter(|s| s.parent.is_empty()).collect();
    roots.sort_by_key(|s| s.start);
    assert_eq!(roots.len(), 2, "one root per turn");
    assert_ne!(roots[0].trace, roots[1].trace, "one trace per turn");
    for (turn, root) in (1..).zip(&roots) {
        check_turn(&spans, root, turn);
    }

    // The console tree, uncoloured since stdout is a pipe.
    assert_eq!(
        stdout.matches("\ntrace ").count() + usize::from(stdout.starts_with("trace ")),
        2
    );
    for line in [
        "runner.run  ",
        "├─ session.get_or_create  ",
        "├─ invoke_workflow trip_planner  ",
        "│  ├─ invoke_agent planner  ",
        "│  │  ├─ execute_tool search_flights  ",
        "ERROR: flight API did not answer within 10ms",
        "│  │  │  └─ GET /v1/forecast  ",
        "│     │  • workflow.iteration ",
        "└─ session.append_event  ",
    ] {
        assert!(stdout.contains(line), "stdout lacks `{line}`:\n{stdout}");
    }
    assert!(!stdout.contains('\u{1b}'), "no ANSI colours on a pipe");
}

#[test]
fn an_unwritable_jsonl_path_fails_the_install() {
    let scratch = Scratch::new("bad-path");
    let missing = scratch.0.join("no-such-dir").join("spans.jsonl");
    let out = agent_app(
        &scratch.0,
        &["--jsonl", missing.to_str().expect("utf-8 temp path")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot install tracing: cannot open") && stderr.contains("--jsonl"),
        "stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran: {:?}", out.stdout);
}

#[test]
fn the_console_metrics_exporter_prints_the_summary_without_the_trees() {
    let dir = std::env::temp_dir().join(format!("agent-app-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Traces to a port nothing listens on (no console trees); metrics to the console.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agent_app"));
    cmd.current_dir(&dir)
        .args(["--delay-ms", "1"])
        .env_remove("ZDK_TRACE_CONFIG")
        .env_remove("AGENT_APP_JSONL");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            cmd.env_remove(name);
        }
    }
    let out = cmd
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("http://127.0.0.1:{closed}/v1/traces"),
        )
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
        .env("OTEL_METRICS_EXPORTER", "console")
        .output()
        .expect("run agent_app");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("metrics (every call, sampled or not):"),
        "{stdout}"
    );
    assert!(stdout.contains("tool     search_flights"), "{stdout}");
    assert!(
        !stdout.contains("invoke_workflow trip_planner"),
        "trees printed: {stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(target_os = "linux")]
#[test]
fn profile_writes_a_cpu_profile_of_the_run_and_says_where() {
    let scratch = Scratch::new("profile");
    let out = agent_app(
        &scratch.0,
        &["--profile", "--delay-ms", "5", "--turns", "3"],
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let pprof = scratch.0.join("profiles").join("agent_app-cpu.pb.gz");
    assert!(
        stderr.contains("profiles/agent_app-cpu.pb.gz"),
        "stderr: {stderr}"
    );
    let bytes = std::fs::read(&pprof).expect("the profile file");
    let profile =
        zdk_trace_runtime::profiling::Profile::from_pprof(&bytes).expect("a pprof profile");
    assert_eq!(
        profile.sample_types(),
        [
            ("samples".to_owned(), "count".to_owned()),
            ("cpu".to_owned(), "nanoseconds".to_owned())
        ]
    );
    // The flamegraph is written when the run was sampled at all (its CPU is a few tens of
    // milliseconds, sampled at ~250 Hz), and the output says where either way.
    assert!(
        stderr.contains("flamegraph:") || stderr.contains("no flamegraph"),
        "stderr: {stderr}"
    );
}
