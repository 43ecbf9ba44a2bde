//! Bad input without a bound: attribute values over the length limit are truncated, attributes,
//! events and links over their counts dropped, export requests cut to the size limit; every
//! one of them counted, and what a collector receives says so (`dropped_*_count`).

use std::time::Duration;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::{Array, KeyValue, Value};
use zdk_trace_runtime::{Config, Protocol, Span};
use zdk_trace_tests::harness::{isolated_builder, serial};
use zdk_trace_tests::{attr_str, HttpReceiver};

fn otlp(receiver: &HttpReceiver) -> Config {
    Config::default()
        .with_otlp_endpoint(receiver.endpoint())
        .with_otlp_protocol(Protocol::HttpProtobuf)
        .with_otlp_exporter()
}

fn link() -> SpanContext {
    SpanContext::new(
        TraceId::from(7u128),
        SpanId::from(9u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

#[test]
fn a_huge_attribute_value_is_truncated_by_default_and_counted() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    let telemetry = isolated_builder()
        .config(otlp(&receiver))
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    // 100 MB, as a prompt pasted by mistake could be; multi-byte characters at the cut.
    let huge = "é".repeat(50_000_000);
    {
        let mut span = Span::start("llm.call");
        span.set_attribute(KeyValue::new("gen_ai.input.messages", huge));
        span.set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4o"));
    }
    telemetry
        .force_flush()
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let spans = receiver.wait_for_spans(1, Duration::from_secs(10));
    let value = attr_str(&spans[0].span, "gen_ai.input.messages")
        .unwrap_or_else(|| panic!("the value was dropped, not truncated"));
    // 1 MiB, cut at a character boundary: "é" is two bytes.
    assert_eq!(value.len(), 1 << 20);
    assert!(value.chars().all(|c| c == 'é'));
    assert_eq!(
        attr_str(&spans[0].span, "gen_ai.request.model"),
        Some("gpt-4o")
    );
    let stats = telemetry.stats();
    assert_eq!(stats.attribute_values_truncated, 1, "{stats:?}");
    assert_eq!(stats.spans_exported, 1);
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
}

#[test]
fn the_otel_limit_variables_bound_values_attributes_events_and_links() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    let vars = [
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
        // The span-specific variable wins over the general one.
        ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8"),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2"),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "1"),
    ];
    let telemetry = isolated_builder()
        .env_vars(vars)
        .config(otlp(&receiver))
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    {
        let mut span = Span::start("tool");
        span.set_attribute(KeyValue::new("a", "0123456789abcdef"));
        span.set_attribute(KeyValue::new(
            "b",
            Value::Array(Array::String(vec!["short".into(), "much too long".into()])),
        ));
        span.set_attribute(KeyValue::new("c", 42_i64));
        span.set_attribute(KeyValue::new("d", "over the count"));
        span.set_attribute(KeyValue::new("e", true));
        for i in 0..5 {
            span.add_event(
                "retry",
                vec![
                    KeyValue::new("i", i64::from(i)),
                    KeyValue::new("why", "a long reason"),
                    KeyValue::new("x", 1_i64),
                    KeyValue::new("y", 2_i64),
                ],
            );
        }
        span.add_link(link(), vec![]);
        span.add_link(link(), vec![]);
    }
    telemetry
        .force_flush()
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let spans = receiver.wait_for_spans(1, Duration::from_secs(10));
    let span = &spans[0].span;
    let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c"]);
    assert_eq!(attr_str(span, "a"), Some("01234567"));
    assert_eq!(span.dropped_attributes_count, 2);
    assert_eq!(span.events.len(), 2);
    assert_eq!(span.dropped_events_count, 3);
    assert_eq!(span.events[0].attributes.len(), 3);
    assert_eq!(span.events[0].dropped_attributes_count, 1);
    assert_eq!(attr_str(&span.events[0], "why"), Some("a long r"));
    assert_eq!(span.links.len(), 1);
    assert_eq!(span.dropped_links_count, 1);
    let stats = telemetry.stats();
    // "a", "much too long", and "why" of the two events kept.
    assert_eq!(stats.attribute_values_truncated, 4, "{stats:?}");
    assert_eq!(stats.attributes_dropped, 2 + 2, "{stats:?}");
    assert_eq!(stats.events_dropped, 3);
    assert_eq!(stats.links_dropped, 1);
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
}

#[test]
fn export_requests_are_cut_to_the_size_limit_and_an_oversized_span_is_dropped_alone() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    let limit = 64 * 1024;
    let telemetry = isolated_builder()
        .config(otlp(&receiver).with_max_request_bytes(limit))
        .max_export_batch_size(512)
        .scheduled_delay(Duration::from_secs(5))
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    for i in 0..100 {
        let mut span = Span::start("llm.call");
        span.set_attribute(KeyValue::new("gen_ai.output.messages", "x".repeat(4000)));
        if i == 50 {
            // One span that alone is larger than a request may be.
            span.set_attribute(KeyValue::new("too.large", "y".repeat(100_000)));
        }
    }
    telemetry
        .force_flush()
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let spans = receiver.wait_for_spans(99, Duration::from_secs(10));
    assert_eq!(spans.len(), 99, "every other span arrives");
    let requests = receiver.requests();
    assert!(requests.len() >= 7, "{} requests", requests.len());
    for request in &requests {
        assert!(request.accepted);
        assert!(
            request.body_len() <= limit,
            "a request of {} bytes",
            request.body_len()
        );
    }
    let stats = telemetry.stats();
    assert_eq!(stats.spans_too_large, 1, "{stats:?}");
    assert_eq!(stats.spans_exported, 99);
    assert_eq!(stats.dropped_export_failed, 1);
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
}
