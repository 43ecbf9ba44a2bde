//! The built-in GenAI metrics and the application's `Meter`, read back as Prometheus reads
//! them: a GET of the runtime's scrape endpoint on 127.0.0.1.

use std::time::Duration;

use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
use zdk_trace_runtime::{
    agent_span, llm_call, tool_call, workflow, Config, KeyValue, Sampler, Telemetry,
};
use zdk_trace_tests::harness::Harness;
use zdk_trace_tests::scrape::{samples, scrape, value};

/// The endpoint on a port the system picks.
const ENDPOINT: &str = "[telemetry.metrics.prometheus]\nenabled = true\nport = 0\n";

fn install(sampler: Sampler, extra: &str) -> Harness {
    let config = Config::from_toml_str(&format!("{ENDPOINT}{extra}"))
        .unwrap_or_else(|e| panic!("config: {e}"));
    Harness::install(move |b| b.config(config).sampler(sampler))
}

/// A scrape after a flush: a recorded span's metrics are added by the collector thread when
/// it takes the span (sampled-out ones by the calling thread at once).
fn scrape_text(telemetry: &Telemetry) -> String {
    telemetry
        .force_flush()
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let addr = telemetry
        .prometheus_addr()
        .unwrap_or_else(|| panic!("the endpoint is not running"));
    scrape(addr, "/metrics", None).body
}

#[tool_call(name = "count_me")]
fn counted_tool(n: u64) -> u64 {
    n + 1
}

#[agent_span(name = "sampled_agent")]
async fn counted_agent(n: u64) -> u64 {
    tokio::task::yield_now().await;
    n
}

#[test]
fn every_call_is_counted_and_timed_whatever_the_sampler() {
    let h = install(Sampler::TraceIdRatio(0.01), "");
    for i in 0..10_000 {
        std::hint::black_box(counted_tool(i));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let tasks: Vec<_> = (0..1000).map(|i| tokio::spawn(counted_agent(i))).collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("{e}"));
        }
    });
    drop(rt);
    let exported = h.spans().len();
    // About 1 % of 11 000 traces are exported; the metrics saw every call.
    assert!(exported < 400, "{exported} spans exported at ratio 0.01");
    let text = scrape_text(&h.telemetry);
    let tool = [("gen_ai_tool_name", "count_me")];
    assert_eq!(
        value(&text, "gen_ai_execute_tool_duration_seconds_count", &tool),
        10_000.0
    );
    assert_eq!(
        value(
            &text,
            "gen_ai_execute_tool_duration_seconds_bucket",
            &[("gen_ai_tool_name", "count_me"), ("le", "+Inf")]
        ),
        10_000.0
    );
    let agent = [("gen_ai_agent_name", "sampled_agent")];
    assert_eq!(
        value(&text, "gen_ai_invoke_agent_duration_seconds_count", &agent),
        1000.0
    );
    // None is running any more.
    assert_eq!(value(&text, "gen_ai_agent_active", &agent), 0.0);
    assert_eq!(
        value(
            &text,
            "gen_ai_execute_tool_duration_seconds_count",
            &[
                ("gen_ai_operation_name", "execute_tool"),
                ("gen_ai_tool_name", "count_me")
            ]
        ),
        10_000.0
    );
}

#[tool_call(name = "sleepy_tool")]
fn sleepy_tool(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn a_recorded_spans_duration_is_its_histogram_value() {
    let h = install(Sampler::AlwaysOn, "");
    sleepy_tool(30);
    let spans = h.spans();
    let span = zdk_trace_tests::harness::one(&spans, "execute_tool sleepy_tool");
    let seconds = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_else(|e| panic!("{e}"))
        .as_secs_f64();
    let text = scrape_text(&h.telemetry);
    let sum = value(
        &text,
        "gen_ai_execute_tool_duration_seconds_sum",
        &[("gen_ai_tool_name", "sleepy_tool")],
    );
    assert!(
        (sum - seconds).abs() < 1e-6,
        "histogram {sum} s, span {seconds} s"
    );
    // 30 ms falls in the (0.02, 0.04] bucket.
    let bucket = |le: &str| {
        value(
            &text,
            "gen_ai_execute_tool_duration_seconds_bucket",
            &[("gen_ai_tool_name", "sleepy_tool"), ("le", le)],
        )
    };
    assert_eq!((bucket("0.02"), bucket("0.04")), (0.0, 1.0));
}

/// A model's reply.
struct Reply {
    input: u64,
    output: u64,
}

impl LlmOutput for Reply {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(self.input, self.output))
    }

    fn response_model(&self) -> Option<&str> {
        Some("gpt-4o-2024-08-06")
    }
}

#[derive(Debug)]
struct RateLimited;

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("429 from the provider")
    }
}

impl zdk_trace_runtime::ErrorType for RateLimited {
    fn error_type(&self) -> &'static str {
        "rate_limited"
    }
}

#[llm_call(provider = "openai", model = "gpt-4o", err)]
fn chat(input: u64, fail: bool) -> Result<Reply, RateLimited> {
    if fail {
        return Err(RateLimited);
    }
    Ok(Reply { input, output: 5 })
}

#[test]
fn model_calls_report_tokens_response_models_and_errors() {
    let h = install(Sampler::AlwaysOff, "");
    for input in [10, 20, 30] {
        let _ = chat(input, false);
    }
    let _ = chat(1, true);
    let text = scrape_text(&h.telemetry);
    let tokens = |kind: &str| {
        value(
            &text,
            "gen_ai_client_token_usage_sum",
            &[
                ("gen_ai_request_model", "gpt-4o"),
                ("gen_ai_response_model", "gpt-4o-2024-08-06"),
                ("gen_ai_provider_name", "openai"),
                ("gen_ai_token_type", kind),
            ],
        )
    };
    assert_eq!((tokens("input"), tokens("output")), (60.0, 15.0));
    assert_eq!(
        value(
            &text,
            "gen_ai_client_operation_duration_seconds_count",
            &[
                ("gen_ai_request_model", "gpt-4o"),
                ("gen_ai_response_model", "gpt-4o-2024-08-06"),
                ("gen_ai_operation_name", "chat"),
            ]
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            "gen_ai_client_operation_duration_seconds_count",
            &[
                ("gen_ai_request_model", "gpt-4o"),
                ("error_type", "rate_limited")
            ]
        ),
        1.0
    );
    // The failed call reported no tokens: none were recorded for it.
    assert_eq!(
        value(
            &text,
            "gen_ai_client_token_usage_count",
            &[
                ("gen_ai_request_model", "gpt-4o"),
                ("gen_ai_token_type", "input")
            ]
        ),
        3.0
    );
}

#[workflow(name = "quiet_flow", no_metrics)]
fn quiet_flow() {}

#[workflow(name = "loud_flow")]
fn loud_flow() {}

#[test]
fn no_metrics_turns_one_functions_metrics_off() {
    let h = install(Sampler::AlwaysOn, "");
    quiet_flow();
    loud_flow();
    let text = scrape_text(&h.telemetry);
    assert!(!text.contains("quiet_flow"), "{text}");
    assert_eq!(
        value(
            &text,
            "gen_ai_workflow_duration_seconds_count",
            &[("gen_ai_workflow_name", "loud_flow")]
        ),
        1.0
    );
    // The span is still there.
    assert_eq!(h.spans().len(), 2);
}

#[tool_call(name = "switched_tool")]
fn switched_tool() {}

#[test]
fn the_setting_turns_every_built_in_metric_off() {
    let h = install(Sampler::AlwaysOn, "[telemetry.metrics]\nenabled = false\n");
    assert!(h.telemetry.prometheus_addr().is_none());
    switched_tool();
    switched_tool();
    drop(h);
    let h = install(Sampler::AlwaysOn, "");
    switched_tool();
    let text = scrape_text(&h.telemetry);
    // Only the call made while metrics were on.
    assert_eq!(
        value(
            &text,
            "gen_ai_execute_tool_duration_seconds_count",
            &[("gen_ai_tool_name", "switched_tool")]
        ),
        1.0
    );
}

#[agent_span(name = "busy_agent")]
fn busy_agent(telemetry: &Telemetry) -> f64 {
    value(
        &scrape_text(telemetry),
        "gen_ai_agent_active",
        &[("gen_ai_agent_name", "busy_agent")],
    )
}

#[test]
fn the_running_agents_gauge_counts_calls_in_flight() {
    let h = install(Sampler::AlwaysOff, "");
    assert_eq!(busy_agent(&h.telemetry), 1.0);
    let text = scrape_text(&h.telemetry);
    assert_eq!(
        value(
            &text,
            "gen_ai_agent_active",
            &[("gen_ai_agent_name", "busy_agent")]
        ),
        0.0
    );
}

#[test]
fn the_applications_meter_records_next_to_the_built_in_metrics() {
    let h = install(Sampler::AlwaysOn, "");
    let meter = h.telemetry.meter("my_app");
    let retries = meter.u64_counter("agent.retries").build();
    let queue = meter.i64_up_down_counter("work.queued").build();
    let latency = meter
        .f64_histogram("search.latency")
        .with_unit("s")
        .with_boundaries(vec![0.1, 1.0])
        .build();
    let temperature = meter.f64_gauge("gpu.temperature").with_unit("Cel").build();
    let _observed = meter
        .u64_observable_gauge("cache.entries")
        .with_callback(|o| o.observe(42, &[KeyValue::new("cache", "prompts")]))
        .build();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..500 {
                    retries.add(1, &[KeyValue::new("gen_ai.agent.name", "planner")]);
                }
            });
        }
    });
    queue.add(5, &[]);
    queue.add(-7, &[]);
    latency.record(0.05, &[]);
    latency.record(0.5, &[]);
    temperature.record(71.5, &[]);
    let text = scrape_text(&h.telemetry);
    assert_eq!(
        value(
            &text,
            "agent_retries_total",
            &[
                ("gen_ai_agent_name", "planner"),
                ("otel_scope_name", "my_app")
            ]
        ),
        1000.0
    );
    assert_eq!(value(&text, "work_queued", &[]), -2.0);
    assert_eq!(value(&text, "search_latency_seconds_count", &[]), 2.0);
    assert_eq!(
        value(&text, "search_latency_seconds_bucket", &[("le", "0.1")]),
        1.0
    );
    assert_eq!(value(&text, "gpu_temperature_Cel", &[]), 71.5);
    assert_eq!(value(&text, "cache_entries", &[("cache", "prompts")]), 42.0);
    assert!(text.contains("# TYPE agent_retries counter"), "{text}");
    // The process gauges are there too.
    assert!(value(&text, "process_memory_usage_bytes", &[]) > 0.0);
}

#[tool_call(name = "om_tool")]
fn om_tool() {}

#[test]
fn openmetrics_is_served_when_asked_for() {
    let h = install(Sampler::AlwaysOn, "");
    om_tool();
    h.telemetry
        .force_flush()
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let addr = h
        .telemetry
        .prometheus_addr()
        .unwrap_or_else(|| panic!("no endpoint"));
    let om = scrape(
        addr,
        "/metrics",
        Some("application/openmetrics-text; version=1.0.0"),
    );
    assert!(
        om.content_type.starts_with("application/openmetrics-text"),
        "{}",
        om.content_type
    );
    assert!(om.body.ends_with("# EOF\n"), "{}", om.body);
    assert!(om
        .body
        .contains("# UNIT gen_ai_execute_tool_duration_seconds seconds"));
    // The sampled-in call is its bucket's exemplar: its trace and span ids.
    let spans = h.spans();
    let span = zdk_trace_tests::harness::one(&spans, "execute_tool om_tool");
    let exemplar = format!(
        "# {{trace_id=\"{}\",span_id=\"{}\"}}",
        span.span_context.trace_id(),
        span.span_context.span_id()
    );
    let line = om
        .body
        .lines()
        .find(|l| l.contains("gen_ai_tool_name=\"om_tool\"") && l.contains(" # {"))
        .unwrap_or_else(|| panic!("no exemplar for om_tool in:\n{}", om.body));
    assert!(
        line.starts_with("gen_ai_execute_tool_duration_seconds_bucket{"),
        "{line}"
    );
    assert!(line.contains(&exemplar), "{line} lacks {exemplar}");
    let text = scrape(addr, "/metrics", Some("text/plain"));
    assert!(text.content_type.starts_with("text/plain; version=0.0.4"));
    assert!(!text.body.contains("# EOF"));
    assert!(
        !text.body.contains(" # {"),
        "no exemplars in the text format"
    );
}

#[test]
fn attribute_sets_past_the_limit_fold_into_the_overflow_series() {
    let h = install(
        Sampler::AlwaysOn,
        "[telemetry.metrics]\ncardinality_limit = 50\n",
    );
    let meter = h.telemetry.meter("overflow_test");
    let calls = meter.u64_counter("calls.by_model").build();
    for i in 0..500 {
        calls.add(1, &[KeyValue::new("model", format!("user-model-{i}"))]);
    }
    let text = scrape_text(&h.telemetry);
    let series = samples(&text)
        .into_iter()
        .filter(|(n, _, _)| n == "calls_by_model_total")
        .count();
    assert_eq!(series, 50);
    assert_eq!(
        value(
            &text,
            "calls_by_model_total",
            &[("otel_metric_overflow", "true")]
        ),
        451.0
    );
}

#[test]
fn a_port_in_use_is_an_error_naming_the_setting() {
    let _serial = zdk_trace_tests::harness::serial();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = taken.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    let config = Config::from_toml_str(&format!(
        "[telemetry.metrics.prometheus]\nenabled = true\nport = {port}\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let err = zdk_trace_tests::harness::isolated_builder()
        .config(config)
        .install()
        .err()
        .unwrap_or_else(|| panic!("installed on a taken port"));
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(
        message.contains("telemetry.metrics.prometheus.port"),
        "{message}"
    );
}

#[tool_call(name = "tail_tool")]
fn tail_tool() {}

#[test]
fn traces_a_tail_rule_drops_are_still_counted() {
    let config = Config::from_toml_str(ENDPOINT).unwrap_or_else(|e| panic!("config: {e}"));
    let h = Harness::install(move |b| {
        b.config(config)
            .sampler(Sampler::AlwaysOn)
            .tail_sampling(zdk_trace_runtime::TailSampling::default().max_traces_per_second(1.0))
    });
    for _ in 0..50 {
        tail_tool();
    }
    // The tail rule keeps about one trace a second.
    let kept = h.spans().len();
    assert!(kept < 10, "{kept} of 50 kept");
    let text = scrape_text(&h.telemetry);
    assert_eq!(
        value(
            &text,
            "gen_ai_execute_tool_duration_seconds_count",
            &[("gen_ai_tool_name", "tail_tool")]
        ),
        50.0
    );
}

/// A streamed reply's chunk: one output token each, the prompt's 10 tokens on the first.
struct Chunk {
    first: bool,
}

impl LlmOutput for Chunk {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(if self.first { 10 } else { 0 }, 1))
    }

    fn response_model(&self) -> Option<&str> {
        Some("stream-model-1")
    }
}

#[llm_call(provider = "local", model = "stream-model")]
fn stream_chat(chunks: usize) -> impl futures_core::Stream<Item = Chunk> {
    futures_util_free::chunks(chunks)
}

/// A ready stream of `n` chunks, without a futures-util dependency.
mod futures_util_free {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub(super) struct Chunks(usize, bool);

    pub(super) fn chunks(n: usize) -> Chunks {
        Chunks(n, true)
    }

    impl futures_core::Stream for Chunks {
        type Item = super::Chunk;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<super::Chunk>> {
            if self.0 == 0 {
                return Poll::Ready(None);
            }
            self.0 -= 1;
            let first = std::mem::replace(&mut self.1, false);
            Poll::Ready(Some(super::Chunk { first }))
        }
    }
}

#[test]
fn a_streamed_model_call_times_its_chunks_and_sums_its_tokens() {
    let h = install(Sampler::AlwaysOff, "");
    for _ in 0..3 {
        let mut stream = Box::pin(stream_chat(5));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        while let std::task::Poll::Ready(Some(_)) =
            futures_core::Stream::poll_next(stream.as_mut(), &mut cx)
        {}
    }
    let text = scrape_text(&h.telemetry);
    let model = ("gen_ai_request_model", "stream-model");
    assert_eq!(
        value(
            &text,
            "gen_ai_client_operation_time_to_first_chunk_seconds_count",
            &[model]
        ),
        3.0
    );
    // Four gaps between five chunks, per call.
    assert_eq!(
        value(
            &text,
            "gen_ai_client_operation_time_per_output_chunk_seconds_count",
            &[model]
        ),
        12.0
    );
    let tokens = |kind: &str| {
        value(
            &text,
            "gen_ai_client_token_usage_sum",
            &[model, ("gen_ai_token_type", kind)],
        )
    };
    assert_eq!((tokens("input"), tokens("output")), (30.0, 15.0));
    assert_eq!(
        value(
            &text,
            "gen_ai_client_operation_duration_seconds_count",
            &[model, ("gen_ai_response_model", "stream-model-1")]
        ),
        3.0
    );
}

/// A reply whose client reports what it cost.
struct Billed;

impl LlmOutput for Billed {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(100, 20))
    }

    fn cost(&self) -> Option<zdk_trace_runtime::genai::Cost> {
        Some(zdk_trace_runtime::genai::Cost::usd(0.0125))
    }
}

#[llm_call(provider = "billing-provider", model = "billed-model")]
fn billed_chat() -> Billed {
    Billed
}

/// A reply with usage only: the price table prices it.
struct Unbilled;

impl LlmOutput for Unbilled {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(1_000, 500))
    }
}

#[llm_call(provider = "local-provider", model = "priced-model")]
fn priced_chat() -> Unbilled {
    Unbilled
}

#[test]
fn model_call_cost_comes_from_the_client_or_the_price_table() {
    let h = install(
        Sampler::AlwaysOn,
        "[telemetry.genai.prices.\"priced-model\"]\ninput_per_million = 2.0\n\
         output_per_million = 8.0\n",
    );
    for _ in 0..2 {
        billed_chat();
        priced_chat();
    }
    let spans = h.spans();
    let billed = spans
        .iter()
        .find(|s| s.name == "chat billed-model")
        .unwrap_or_else(|| panic!("no billed span"));
    let attr = |s: &opentelemetry_sdk::trace::SpanData, key: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    };
    assert_eq!(
        attr(billed, "gen_ai.usage.cost.amount"),
        Some(zdk_trace_runtime::Value::F64(0.0125))
    );
    assert_eq!(
        attr(billed, "zdk.gen_ai.usage.cost.source"),
        Some("provider".into())
    );
    let priced = spans
        .iter()
        .find(|s| s.name == "chat priced-model")
        .unwrap_or_else(|| panic!("no priced span"));
    // 1 000 input tokens at 2 per million, 500 output at 8 per million.
    assert_eq!(
        attr(priced, "gen_ai.usage.cost.amount"),
        Some(zdk_trace_runtime::Value::F64(0.006))
    );
    assert_eq!(
        attr(priced, "gen_ai.usage.cost.currency"),
        Some("USD".into())
    );
    assert_eq!(
        attr(priced, "zdk.gen_ai.usage.cost.source"),
        Some("local".into())
    );

    let text = scrape_text(&h.telemetry);
    let cost = |model: &str, source: &str| {
        value(
            &text,
            "gen_ai_usage_cost_total",
            &[
                ("gen_ai_request_model", model),
                ("zdk_gen_ai_usage_cost_source", source),
                ("gen_ai_usage_cost_currency", "USD"),
            ],
        )
    };
    assert!((cost("billed-model", "provider") - 0.025).abs() < 1e-12);
    assert!((cost("priced-model", "local") - 0.012).abs() < 1e-12);
}

#[tool_call(name = "agent_tool")]
fn agent_tool() {}

#[llm_call(provider = "billing-provider", model = "agent-model", err)]
fn agent_chat(fail: bool) -> Result<Billed, RateLimited> {
    if fail {
        Err(RateLimited)
    } else {
        Ok(Billed)
    }
}

#[agent_span(name = "sync_agent")]
fn sync_agent() {
    agent_tool();
    let _ = agent_chat(false);
    let _ = agent_chat(true);
}

#[agent_span(name = "async_agent")]
async fn async_agent() {
    agent_tool();
    // A task spawned with the runtime's `spawn` carries the context: still this agent's.
    zdk_trace_runtime::spawn(async { agent_tool() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = agent_chat(false);
}

#[test]
fn calls_inside_an_agent_are_counted_under_its_name_sampled_in_or_out() {
    for (sampler, round) in [(Sampler::AlwaysOn, 1.0), (Sampler::AlwaysOff, 2.0)] {
        let h = install(sampler, "");
        sync_agent();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async_agent());
        drop(rt);
        agent_tool(); // outside any agent
        let text = scrape_text(&h.telemetry);
        let tools = |agent: &str| {
            samples(&text)
                .into_iter()
                .filter(|(n, l, _)| {
                    n == "gen_ai_execute_tool_duration_seconds_count"
                        && l.get("gen_ai_tool_name").map(String::as_str) == Some("agent_tool")
                        && l.get("gen_ai_agent_name").map(String::as_str) == Some(agent)
                })
                .map(|(_, _, v)| v)
                .sum::<f64>()
        };
        // Cumulative over the two rounds.
        assert_eq!(tools("sync_agent"), round, "{text}");
        assert_eq!(tools("async_agent"), 2.0 * round, "{text}");
        let outside = samples(&text)
            .into_iter()
            .filter(|(n, l, _)| {
                n == "gen_ai_execute_tool_duration_seconds_count"
                    && l.get("gen_ai_tool_name").map(String::as_str) == Some("agent_tool")
                    && !l.contains_key("gen_ai_agent_name")
            })
            .map(|(_, _, v)| v)
            .sum::<f64>();
        assert_eq!(outside, round, "{text}");
        // Model errors and cost, by agent.
        assert_eq!(
            value(
                &text,
                "gen_ai_client_operation_duration_seconds_count",
                &[
                    ("gen_ai_request_model", "agent-model"),
                    ("gen_ai_agent_name", "sync_agent"),
                    ("error_type", "rate_limited"),
                ]
            ),
            round
        );
        let cost = value(
            &text,
            "gen_ai_usage_cost_total",
            &[
                ("gen_ai_request_model", "agent-model"),
                ("gen_ai_agent_name", "async_agent"),
            ],
        );
        assert!((cost - 0.0125 * round).abs() < 1e-12, "{cost}");
        drop(h);
    }
}
