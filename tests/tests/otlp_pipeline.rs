//! The installed pipeline, configured the way users configure it (file + environment), sending
//! real OTLP to real receivers on 127.0.0.1; and the configuration precedence as it reaches
//! the wire.

use std::time::Duration;

use opentelemetry::KeyValue;
use zdk_trace_runtime::{Config, Protocol, Span, SpanKind, Status, Telemetry};
use zdk_trace_tests::harness::{isolated_builder, serial};
use zdk_trace_tests::{
    attr_i64, attr_str, hex, CountingReceiver, GrpcReceiver, HttpReceiver, ReceivedSpan,
};

/// A root with a client child that fails, as an agent would record a failing tool call.
fn record_trace() {
    let _root = Span::builder("invoke_agent support")
        .kind(SpanKind::Server)
        .start()
        .entered();
    let mut tool = Span::start_with_kind("execute_tool get_weather", SpanKind::Client);
    tool.set_attribute(KeyValue::new("gen_ai.tool.name", "get_weather"));
    tool.set_attribute(KeyValue::new("gen_ai.usage.input_tokens", 42_i64));
    tool.record_error("TimeoutError", "weather API did not answer");
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.span.name == name)
        .unwrap_or_else(|| panic!("no span named {name}"))
}

fn assert_trace_on_the_wire(spans: &[ReceivedSpan], service: &str) {
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let root = by_name(spans, "invoke_agent support");
    let tool = by_name(spans, "execute_tool get_weather");
    assert_eq!(tool.span.trace_id, root.span.trace_id);
    assert_eq!(hex(&tool.span.parent_span_id), hex(&root.span.span_id));
    assert!(root.span.parent_span_id.is_empty());
    assert_eq!(root.span.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(tool.span.kind, 3, "SPAN_KIND_CLIENT");
    assert_eq!(
        attr_str(&tool.span, "gen_ai.tool.name"),
        Some("get_weather")
    );
    assert_eq!(attr_i64(&tool.span, "gen_ai.usage.input_tokens"), Some(42));
    assert_eq!(attr_str(&tool.span, "error.type"), Some("TimeoutError"));
    let status = tool.span.status.clone().unwrap_or_default();
    assert_eq!(status.code, 2, "STATUS_CODE_ERROR");
    assert_eq!(status.message, "weather API did not answer");
    assert_eq!(tool.span.events[0].name, "exception");
    assert!(tool.span.end_time_unix_nano >= tool.span.start_time_unix_nano);
    assert!(root.span.end_time_unix_nano >= tool.span.end_time_unix_nano);
    assert_eq!(attr_str(&root.resource, "service.name"), Some(service));
    assert_eq!(
        attr_str(&root.resource, "telemetry.sdk.name"),
        Some("zdk-trace")
    );
    assert_eq!(
        attr_str(&root.resource, "telemetry.sdk.language"),
        Some("rust")
    );
    let scope = root.scope.clone().unwrap_or_default();
    assert_eq!(scope.name, "zdk-trace");
}

#[test]
fn grpc_from_a_config_file_with_gzip_and_secret_headers() {
    let _serial = serial();
    let receiver = GrpcReceiver::start();
    let file = Config::from_toml_str(&format!(
        r#"
[telemetry]
service_name = "from-file"
[telemetry.tracing.otlp]
endpoint = "{}"
protocol = "grpc"
compression = "gzip"
[telemetry.tracing.otlp.headers]
"x-api-key" = "${{TEST_API_KEY}}"
"#,
        receiver.endpoint()
    ))
    .expect("valid config");
    let telemetry = Telemetry::builder()
        .service_name("from-code")
        .config(file)
        .env_vars([("TEST_API_KEY", "s3cr3t")])
        .install()
        .expect("install");
    record_trace();
    telemetry.shutdown().expect("shutdown");
    let requests = receiver.wait_for_requests(1, Duration::from_secs(10));
    assert_eq!(requests[0].header("x-api-key"), Some("s3cr3t"));
    assert_eq!(requests[0].header("grpc-encoding"), Some("gzip"));
    assert_trace_on_the_wire(&receiver.spans(), "from-file");
    assert_eq!(telemetry.stats().spans_exported, 2);
}

#[test]
fn http_protobuf_from_environment_variables_overriding_the_file() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    let file = Config::from_toml_str(
        r#"
[telemetry]
service_name = "from-file"
[telemetry.tracing.otlp]
endpoint = "http://127.0.0.1:9"
protocol = "grpc"
"#,
    )
    .expect("valid config");
    let telemetry = Telemetry::builder()
        .config(file)
        .env_vars([
            ("OTEL_SERVICE_NAME", "from-env".to_string()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_string()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20abc".to_string(),
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_string()),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=test".to_string(),
            ),
        ])
        .install()
        .expect("install");
    record_trace();
    telemetry.shutdown().expect("shutdown");
    let requests = receiver.wait_for_requests(1, Duration::from_secs(10));
    assert_eq!(requests[0].path, "/v1/traces");
    assert_eq!(
        requests[0].header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(requests[0].header("content-encoding"), Some("gzip"));
    assert_eq!(requests[0].header("authorization"), Some("Bearer abc"));
    let spans = receiver.spans();
    assert_trace_on_the_wire(&spans, "from-env");
    assert_eq!(
        attr_str(&spans[0].resource, "deployment.environment"),
        Some("test")
    );
}

#[test]
fn an_unreachable_collector_costs_the_application_nothing_and_is_counted() {
    let _serial = serial();
    // Port 9 (discard) is closed on loopback: every export fails fast.
    let telemetry = Telemetry::builder()
        .config(Config::default())
        .env_vars([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
        ])
        .install()
        .expect("install");
    let start = std::time::Instant::now();
    for _ in 0..1000 {
        record_trace();
    }
    // Recording never waits for the network.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The flush says the collector did not take the spans; they are kept for a retry (a
    // refused connection may be a collector restarting), counted, not lost silently.
    assert!(telemetry.force_flush().is_err());
    let stats = telemetry.stats();
    assert_eq!(stats.spans_recorded, 2000);
    assert!(stats.export_errors >= 1, "{stats:?}");
    assert_eq!(stats.spans_exported, 0);
    assert_eq!(
        stats.spans_awaiting_retry + stats.dropped_queue_full,
        2000,
        "{stats:?}"
    );
    // At shutdown, with the collector still unreachable, what is kept is given up and counted.
    assert!(telemetry
        .shutdown_with_timeout(Duration::from_secs(2))
        .is_err());
    let stats = telemetry.stats();
    assert_eq!(stats.spans_awaiting_retry, 0);
    assert_eq!(stats.dropped(), 2000, "{stats:?}");
    assert!(stats.dropped_shutdown >= 1, "{stats:?}");
}

#[test]
fn otel_sdk_disabled_turns_everything_off() {
    let _serial = serial();
    let receiver = GrpcReceiver::start();
    let telemetry = Telemetry::builder()
        .config(Config::default())
        .env_vars([
            ("OTEL_SDK_DISABLED", "true".to_string()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_string()),
        ])
        .install()
        .expect("install");
    let mut span = Span::start("not recorded");
    assert!(!span.is_recording());
    span.set_status(Status::Ok);
    drop(span);
    telemetry.shutdown().expect("shutdown");
    std::thread::sleep(Duration::from_millis(200));
    assert!(receiver.requests().is_empty());
    assert_eq!(telemetry.stats().spans_started, 0);
}

#[test]
fn jsonl_file_exporter_from_the_builder() {
    let _serial = serial();
    let dir = std::env::temp_dir().join(format!("zdk-trace-jsonl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("traces.jsonl");
    let _ = std::fs::remove_file(&path);
    let telemetry = isolated_builder()
        .service_name("jsonl")
        .jsonl_file(&path)
        .install()
        .expect("install");
    record_trace();
    telemetry.shutdown().expect("shutdown");
    let text = std::fs::read_to_string(&path).expect("file written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    let span = |v: &serde_json::Value| v["resourceSpans"][0]["scopeSpans"][0]["spans"][0].clone();
    let names: Vec<String> = lines
        .iter()
        .map(|l| span(l)["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        names.contains(&"execute_tool get_weather".to_owned()),
        "{names:?}"
    );
    let tool = lines
        .iter()
        .map(span)
        .find(|s| s["name"] == "execute_tool get_weather")
        .expect("tool span");
    let root = lines
        .iter()
        .map(span)
        .find(|s| s["name"] == "invoke_agent support")
        .expect("root span");
    assert_eq!(tool["parentSpanId"], root["spanId"]);
    assert_eq!(tool["traceId"].as_str().map(str::len), Some(32));
    let _ = std::fs::remove_dir_all(&dir);
}

/// How long the stalled receivers below take to answer each request.
const STALL: Duration = Duration::from_millis(300);

/// `n` spans without attributes (`value`: one attribute of that many bytes).
fn record_spans(n: usize, value: usize) {
    for _ in 0..n {
        let mut span = Span::start("execute_tool");
        if value > 0 {
            span.set_attribute(KeyValue::new("tool.output", "x".repeat(value)));
        }
    }
}

/// Waits until the receiver has had `n` requests (counted on arrival).
fn wait_for_requests(receiver: &CountingReceiver, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while receiver.requests() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the receiver had {} requests after 10 s, expected {n}",
            receiver.requests()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Batches of 10 spans; one request goes out and is answered only after [`STALL`]; six batches
/// are cut meanwhile. Returns what the receiver and `stats()` saw.
fn six_batches_behind_a_slow_request(
    receiver: &CountingReceiver,
    protocol: Protocol,
    max_request_bytes: Option<usize>,
    value: usize,
) -> zdk_trace_runtime::Stats {
    let mut config = Config::default()
        .with_otlp_endpoint(receiver.endpoint())
        .with_otlp_protocol(protocol)
        .with_otlp_exporter();
    if let Some(bytes) = max_request_bytes {
        config = config.with_max_request_bytes(bytes);
    }
    let telemetry: Telemetry = isolated_builder()
        .config(config)
        .max_export_batch_size(10)
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    record_spans(10, value);
    wait_for_requests(receiver, 1);
    record_spans(60, value);
    telemetry
        .force_flush()
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let stats = telemetry.stats();
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    stats
}

/// The exporter found six batches waiting when its request came back: they went out in one
/// request (one write, one answer), and every span arrived once.
fn assert_six_batches_went_together(receiver: &CountingReceiver, stats: &zdk_trace_runtime::Stats) {
    assert_eq!(receiver.spans(), 70, "every span arrives once");
    assert_eq!(receiver.malformed(), 0);
    assert_eq!(
        receiver.requests(),
        2,
        "the six batches that waited behind the first request went out in one"
    );
    assert_eq!(stats.spans_exported, 70, "{stats:?}");
    assert_eq!(stats.batches_exported, 7, "{stats:?}");
    assert_eq!(stats.dropped(), 0, "{stats:?}");
}

#[test]
fn grpc_batches_waiting_behind_a_slow_request_go_out_in_one_request() {
    let _serial = serial();
    let receiver = CountingReceiver::grpc_stalled(STALL);
    let stats = six_batches_behind_a_slow_request(&receiver, Protocol::Grpc, None, 0);
    assert_six_batches_went_together(&receiver, &stats);
}

#[test]
fn http_batches_waiting_behind_a_slow_request_go_out_in_one_request() {
    let _serial = serial();
    let receiver = CountingReceiver::http_stalled(STALL);
    let stats = six_batches_behind_a_slow_request(&receiver, Protocol::HttpProtobuf, None, 0);
    assert_six_batches_went_together(&receiver, &stats);
}

/// Batches of ~10 KiB under a 16 KiB `max_request_bytes`: two would not fit in one request, so
/// each waiting batch goes in a request of its own.
#[test]
fn waiting_batches_go_together_only_within_max_request_bytes() {
    let _serial = serial();
    let receiver = CountingReceiver::grpc_stalled(Duration::from_millis(50));
    let stats =
        six_batches_behind_a_slow_request(&receiver, Protocol::Grpc, Some(16 * 1024), 1_000);
    assert_eq!(receiver.spans(), 70);
    assert_eq!(
        receiver.requests(),
        7,
        "one request per batch: two do not fit"
    );
    assert_eq!(stats.spans_exported, 70, "{stats:?}");
    assert_eq!(stats.dropped(), 0, "{stats:?}");
}

/// A tool call as the macros record it: literal and scalar fields (whose record the collector
/// leaves undropped, as they own no memory) and a shared one (which it must release).
#[zdk_trace_runtime::span(
    name = "execute_tool search",
    fields(gen_ai.tool.name = "search", turn = turn, query = query)
)]
fn tool_call(turn: i64, query: &std::sync::Arc<str>) {}

/// The same fields, the shared one first.
#[zdk_trace_runtime::span(name = "execute_tool lookup", fields(query = query, turn = turn))]
fn tool_call_shared_first(turn: i64, query: &std::sync::Arc<str>) {}

/// Literal and scalar fields only.
#[zdk_trace_runtime::span(name = "execute_tool plain", fields(gen_ai.tool.name = "plain", turn = turn))]
fn tool_call_plain(turn: i64) {}

/// Spans whose attributes own nothing are encoded whole and their records are not dropped;
/// a span holding anything shared gives it back once exported, wherever it was set.
#[test]
fn records_are_released_once_exported_and_those_owning_nothing_arrive_whole() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    let config = Config::default()
        .with_otlp_endpoint(receiver.endpoint())
        .with_otlp_protocol(Protocol::HttpProtobuf)
        .with_otlp_exporter();
    let telemetry = isolated_builder()
        .config(config)
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    let query: std::sync::Arc<str> = std::sync::Arc::from("weather in Paris");
    for turn in 0..100 {
        tool_call(turn, &query);
        tool_call_shared_first(turn, &query);
        tool_call_plain(turn);
    }
    {
        let mut span = Span::start("manual");
        span.set_attribute(KeyValue::new("turn", 1_i64));
        span.set_attribute(KeyValue::new(
            "query",
            opentelemetry::Value::String(query.clone().into()),
        ));
    }
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    let spans = receiver.spans();
    assert_eq!(spans.len(), 301, "every span exported");
    assert_eq!(
        std::sync::Arc::strong_count(&query),
        1,
        "every record that shared the query released it"
    );
    let plain: Vec<_> = spans
        .iter()
        .filter(|s| s.span.name == "execute_tool plain")
        .collect();
    assert_eq!(plain.len(), 100);
    let mut turns: Vec<i64> = plain
        .iter()
        .map(|s| {
            assert_eq!(attr_str(&s.span, "gen_ai.tool.name"), Some("plain"));
            attr_i64(&s.span, "turn").unwrap_or(-1)
        })
        .collect();
    turns.sort_unstable();
    assert_eq!(turns, (0..100).collect::<Vec<_>>());
    for s in spans
        .iter()
        .filter(|s| s.span.name.starts_with("execute_tool l"))
    {
        assert_eq!(attr_str(&s.span, "query"), Some("weather in Paris"));
    }
    let search = by_name(&spans, "execute_tool search");
    assert_eq!(attr_str(&search.span, "gen_ai.tool.name"), Some("search"));
    assert_eq!(attr_str(&search.span, "query"), Some("weather in Paris"));
}
