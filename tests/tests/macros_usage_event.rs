//! `#[usage_event]`: one usage event per call, sent through the anonymous usage layer (never
//! the trace pipeline), with `duration_ms` and `success` filled in, on every function shape.
//! The layer exports to an in-memory `UsageOptions::span_exporter`, which turns it on; the process
//! environment (`CI=true` in CI) is not seen, so its opt-outs do not apply unless a test injects
//! them.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use zdk_trace_runtime::usage::{UsageLabel, UsageOptions, UsageReason};
use zdk_trace_runtime::{agent_span, usage_event, usage_keys, TelemetryBuilder};
use zdk_trace_tests::harness::{attr, one, Harness};

/// A harness whose usage events go to the returned exporter.
fn install(
    configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder,
) -> (Harness, InMemorySpanExporter) {
    Harness::install_usage(configure)
}

/// Flushes and returns every usage event exported so far (as spans).
fn events(h: &Harness, usage: &InMemorySpanExporter) -> Vec<SpanData> {
    if let Err(e) = h.telemetry.force_flush() {
        panic!("flush failed: {e}");
    }
    usage.get_finished_spans().unwrap_or_default()
}

fn success(event: &SpanData) -> Option<Value> {
    attr(event, "event.success")
}

fn duration_ms(event: &SpanData) -> f64 {
    match attr(event, "event.duration_ms") {
        Some(Value::F64(ms)) => ms,
        other => panic!("duration_ms is not an f64: {other:?}"),
    }
}

#[derive(Clone, Copy)]
enum ToolType {
    Function,
    Retrieval,
}

impl UsageLabel for ToolType {
    fn label(&self) -> &'static str {
        match self {
            ToolType::Function => "function",
            ToolType::Retrieval => "retrieval",
        }
    }
}

#[usage_event(name = "tool.run", fields(tool.type = kind, component = "parser"))]
fn parse(kind: ToolType, input: &str) -> Result<u32, String> {
    let n: u32 = input
        .parse()
        .map_err(|_| format!("not a number: {input}"))?;
    Ok(n)
}

#[test]
fn sync_fn_reports_success_from_result_and_its_fields() {
    let (h, usage) = install(|b| b);
    assert_eq!(parse(ToolType::Function, "7"), Ok(7));
    assert!(parse(ToolType::Retrieval, "hunter2").is_err());
    let events = events(&h, &usage);
    assert_eq!(events.len(), 2);
    let (ok, err) = (&events[0], &events[1]);
    for event in &events {
        assert_eq!(event.name, "tool.run");
        assert_eq!(attr(event, "event.component"), Some(Value::from("parser")));
        assert!(duration_ms(event) >= 0.0);
    }
    assert_eq!(success(ok), Some(Value::Bool(true)));
    assert_eq!(attr(ok, "event.tool_type"), Some(Value::from("function")));
    assert_eq!(success(err), Some(Value::Bool(false)));
    assert_eq!(attr(err, "event.tool_type"), Some(Value::from("retrieval")));
    // The user's input (nor the error message quoting it) is nowhere in the event.
    assert!(err
        .attributes
        .iter()
        .all(|kv| !kv.value.as_str().contains("hunter2")));
    // Usage events never enter the trace pipeline.
    assert!(h.spans().is_empty());
}

#[usage_event(name = "command.run", fields(command.name = "sleep", feature.name = None::<ToolType>))]
fn sleepy() -> u8 {
    std::thread::sleep(Duration::from_millis(20));
    1
}

#[test]
fn duration_covers_the_call_and_none_leaves_a_key_out() {
    let (h, usage) = install(|b| b);
    assert_eq!(sleepy(), 1);
    let events = events(&h, &usage);
    let event = one(&events, "command.run");
    assert!(duration_ms(event) >= 20.0, "{}", duration_ms(event));
    assert_eq!(
        success(event),
        Some(Value::Bool(true)),
        "not a Result: success"
    );
    assert_eq!(attr(event, "event.feature_name"), None);
    // The exported span lasts the call.
    let span_ms = event
        .end_time
        .duration_since(event.start_time)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default();
    assert!(span_ms >= 20.0, "{span_ms}");
}

#[usage_event(name = "agent.run", fields(agent.type = "react", framework = "zdk", framework.name = 3_u8 > 2))]
async fn agent_run(fail: bool) -> Result<&'static str, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(15)).await;
    if fail {
        return Err(std::io::Error::other("boom"));
    }
    Ok("done")
}

#[tokio::test]
async fn async_fn_success_and_error() {
    let (h, usage) = install(|b| b);
    assert!(agent_run(false).await.is_ok());
    assert!(agent_run(true).await.is_err());
    let events = events(&h, &usage);
    assert_eq!(events.len(), 2);
    assert_eq!(success(&events[0]), Some(Value::Bool(true)));
    assert_eq!(success(&events[1]), Some(Value::Bool(false)));
    for event in &events {
        assert!(duration_ms(event) >= 15.0, "{}", duration_ms(event));
        assert_eq!(attr(event, "event.agent_type"), Some(Value::from("react")));
        assert_eq!(attr(event, "event.framework_name"), Some(Value::Bool(true)));
    }
}

#[usage_event(name = "workflow.run", fields(workflow.type = "parallel", component = steps))]
fn workflow_future(steps: u32) -> impl Future<Output = Result<u32, String>> {
    async move {
        if steps == 0 {
            Err("no steps".to_owned())
        } else {
            Ok(steps)
        }
    }
}

#[tokio::test]
async fn impl_future_success_error_and_dropped_before_completion() {
    let (h, usage) = install(|b| b);
    assert_eq!(workflow_future(2).await, Ok(2));
    assert!(workflow_future(0).await.is_err());
    drop(workflow_future(5)); // never polled to completion
    let events = events(&h, &usage);
    let outcomes: Vec<_> = events
        .iter()
        .map(|e| (attr(e, "event.component"), success(e)))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Some(Value::I64(2)), Some(Value::Bool(true))),
            (Some(Value::I64(0)), Some(Value::Bool(false))),
            (Some(Value::I64(5)), Some(Value::Bool(false))),
        ]
    );
}

#[async_trait::async_trait]
trait Tool {
    async fn call(&self, input: u32) -> Result<u32, String>;
}

struct Doubler;

#[async_trait::async_trait]
impl Tool for Doubler {
    #[usage_event(name = "tool.call", fields(tool.type = ToolType::Function))]
    async fn call(&self, input: u32) -> Result<u32, String> {
        if input == 0 {
            return Err("zero".into());
        }
        Ok(input * 2)
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test]
async fn boxed_future_of_async_trait_stays_send() {
    let (h, usage) = install(|b| b);
    let tool: &(dyn Tool + Sync) = &Doubler;
    assert_eq!(assert_send(tool.call(4)).await, Ok(8));
    assert!(tool.call(0).await.is_err());
    let events = events(&h, &usage);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].name, "tool.call");
    assert_eq!(success(&events[0]), Some(Value::Bool(true)));
    assert_eq!(success(&events[1]), Some(Value::Bool(false)));
    assert_eq!(
        attr(&events[0], "event.tool_type"),
        Some(Value::from("function"))
    );
}

struct Count {
    next: u32,
    end: u32,
}

impl Stream for Count {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.next == self.end {
            return Poll::Ready(None);
        }
        self.next += 1;
        Poll::Ready(Some(self.next))
    }
}

#[usage_event(name = "chat.stream", fields(component = "stream"))]
fn tokens(n: u32) -> impl Stream<Item = u32> {
    Count { next: 0, end: n }
}

async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[tokio::test]
async fn stream_consumed_fully_or_dropped_early() {
    let (h, usage) = install(|b| b);
    let mut full = Box::pin(tokens(2));
    while next(&mut full).await.is_some() {}
    let first = one(&events(&h, &usage), "chat.stream").clone();
    assert_eq!(
        success(&first),
        Some(Value::Bool(true)),
        "sent when the stream ends"
    );
    drop(full);
    let mut partial = Box::pin(tokens(5));
    assert_eq!(next(&mut partial).await, Some(1));
    drop(partial);
    let events = events(&h, &usage);
    assert_eq!(events.len(), 2);
    assert_eq!(success(&events[1]), Some(Value::Bool(false)));
}

#[usage_event(name = "agent.crash", fields(error.type = "panic_test"))]
fn crashes() -> u8 {
    panic!("boom")
}

#[usage_event(name = "agent.crash_async")]
async fn crashes_async() -> u8 {
    tokio::task::yield_now().await;
    panic!("async boom")
}

#[tokio::test]
async fn panic_reports_failure_and_goes_on() {
    let (h, usage) = install(|b| b);
    let caught = std::panic::catch_unwind(crashes);
    assert!(caught.is_err(), "the panic continues");
    let joined = tokio::spawn(crashes_async()).await;
    assert!(joined.is_err_and(|e| e.is_panic()));
    let events = events(&h, &usage);
    assert_eq!(
        success(one(&events, "agent.crash")),
        Some(Value::Bool(false))
    );
    assert_eq!(
        success(one(&events, "agent.crash_async")),
        Some(Value::Bool(false))
    );
}

#[agent_span(name = "support")]
#[usage_event(name = "agent.run", fields(agent.type = "support"))]
async fn support(question: u32) -> Result<u32, String> {
    Ok(question + 1)
}

#[usage_event(name = "agent.run", fields(agent.type = "triage"))]
#[agent_span(name = "triage", err)]
fn triage() -> Result<(), String> {
    Err("no route".into())
}

#[tokio::test]
async fn stacked_with_agent_span_in_either_order() {
    let (h, usage) = install(|b| b);
    assert_eq!(support(1).await, Ok(2));
    assert!(triage().is_err());
    let events = events(&h, &usage);
    let spans = h.spans();
    let names = |v: &[SpanData]| v.iter().map(|s| s.name.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&events), ["agent.run", "agent.run"]);
    assert_eq!(
        attr(&events[0], "event.agent_type"),
        Some(Value::from("support"))
    );
    assert_eq!(success(&events[0]), Some(Value::Bool(true)));
    assert_eq!(
        attr(&events[1], "event.agent_type"),
        Some(Value::from("triage"))
    );
    assert_eq!(success(&events[1]), Some(Value::Bool(false)));
    let mut span_names = names(&spans);
    span_names.sort();
    assert_eq!(span_names, ["invoke_agent support", "invoke_agent triage"]);
}

usage_keys!(pub APP_USAGE_KEYS = ["plugin.name", "model.family"]);

#[usage_event(
    name = "plugin.load",
    keys = APP_USAGE_KEYS,
    fields(plugin.name = "pdf", model.family = "small", component = "loader")
)]
fn load_plugin() {}

#[test]
fn app_keys_arrive_when_the_runtime_allows_them() {
    let (h, usage) = install(|b| b.usage(UsageOptions::new().allowlist(APP_USAGE_KEYS)));
    load_plugin();
    let events = events(&h, &usage);
    let event = one(&events, "plugin.load");
    assert_eq!(attr(event, "event.plugin_name"), Some(Value::from("pdf")));
    assert_eq!(
        attr(event, "event.model_family"),
        Some(Value::from("small"))
    );
    assert_eq!(attr(event, "event.component"), Some(Value::from("loader")));
}

#[test]
fn app_keys_are_dropped_when_the_runtime_does_not_know_them() {
    let (h, usage) = install(|b| b);
    load_plugin();
    let events = events(&h, &usage);
    let event = one(&events, "plugin.load");
    assert_eq!(attr(event, "event.plugin_name"), None);
    assert_eq!(attr(event, "event.component"), Some(Value::from("loader")));
}

static PROBES: AtomicU32 = AtomicU32::new(0);

fn probe() -> u32 {
    PROBES.fetch_add(1, Ordering::Relaxed)
}

#[usage_event(name = "feature.used", fields(feature.name = "probe", component = probe()))]
fn probed() {}

/// A change to the harness's builder.
type Configure = fn(TelemetryBuilder) -> TelemetryBuilder;

#[test]
fn nothing_is_built_while_the_layer_is_off() {
    let before = PROBES.load(Ordering::Relaxed);
    {
        // No usage exporter, no endpoint: the application did not turn usage on.
        let h = Harness::install(|b| b);
        probed();
        assert!(h.spans().is_empty());
        assert_eq!(
            h.telemetry.usage_status().reason,
            UsageReason::NotEnabledByApp
        );
    }
    // An exporter turns the layer on, but not against the code's own `usage(false)`, nor
    // against the user's opt-outs (CI runs with `CI=true`: injected here, as CI would).
    let off: [(Configure, UsageReason); 3] = [
        (
            |b| b.usage(UsageOptions::new().enabled(false)),
            UsageReason::NotEnabledByApp,
        ),
        (
            |b| b.env_vars([("CI", "true")]),
            UsageReason::Ci("CI".to_owned()),
        ),
        (
            |b| b.env_vars([("DO_NOT_TRACK", "1")]),
            UsageReason::DoNotTrack,
        ),
    ];
    for (configure, reason) in off {
        let (h, usage) = install(configure);
        probed();
        assert_eq!(h.telemetry.usage_status().reason, reason);
        assert!(events(&h, &usage).is_empty(), "{reason:?}");
    }
    assert_eq!(
        PROBES.load(Ordering::Relaxed),
        before,
        "field values were computed"
    );
    // With the layer on, the value is computed once per call; tracing being off
    // (`OTEL_SDK_DISABLED`) does not stop usage events: the layers are independent.
    let (h, usage) = install(|b| b.env_vars([("OTEL_SDK_DISABLED", "true")]));
    assert_eq!(h.telemetry.usage_status().reason, UsageReason::Enabled);
    probed();
    assert_eq!(PROBES.load(Ordering::Relaxed), before + 1);
    assert_eq!(events(&h, &usage).len(), 1);
    assert!(h.spans().is_empty());
}
