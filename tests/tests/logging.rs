//! `[telemetry] logging = true`: `tracing` and `log` records become events of the span current
//! where they are emitted, with no subscriber set up by the application (the bridge is
//! installed as the global subscriber; this test binary sets none of its own).

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use zdk_trace_runtime::{tool_call, Config};
use zdk_trace_tests::harness::{one, Harness};

fn event_attr(span: &SpanData, event: &str, key: &str) -> Option<Value> {
    span.events
        .iter()
        .find(|e| e.name == event)?
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

#[tool_call(name = "fetch")]
fn fetch(attempts: u32) {
    for attempt in 1..=attempts {
        tracing::info!(attempt, "trying the upstream");
    }
    log::warn!("upstream slow: {} ms", 1200);
    tracing::debug!("below info: not recorded");
    log::error!("upstream gave up");
}

#[test]
fn logging_true_records_tracing_and_log_records_as_events_of_the_current_span() {
    let config = Config::from_toml_str("[telemetry]\nlogging = true\n").expect("config");
    let h = Harness::install(|b| b.config(config));
    // Outside any span: nowhere to put it, nothing recorded, nothing breaks.
    tracing::info!("before any span");
    fetch(2);

    let spans = h.spans();
    assert_eq!(spans.len(), 1);
    let span = one(&spans, "execute_tool fetch");
    let names: Vec<&str> = span.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "trying the upstream",
            "trying the upstream",
            "upstream slow: 1200 ms",
            "upstream gave up"
        ]
    );
    assert_eq!(
        event_attr(span, "upstream slow: 1200 ms", "level"),
        Some(Value::from("WARN"))
    );
    // A `log` record keeps where it came from.
    assert_eq!(
        event_attr(span, "upstream slow: 1200 ms", "log.target"),
        Some(Value::from("logging"))
    );
    assert_eq!(span.events[1].attributes[2].value, Value::I64(2));
    // `error!` (here a `log::error!`) marks the span's status.
    assert_eq!(span.status, Status::error("upstream gave up"));
}
