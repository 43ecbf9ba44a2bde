//! Zero configuration: no OTLP endpoint is set, so each finished trace prints as a tree on
//! stdout. Run it with `cargo run -p zdk-trace-examples --bin quickstart`.

use std::time::Duration;

use zdk_trace_runtime::{FutureExt, KeyValue, Span, SpanKind, Telemetry};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = Telemetry::builder().service_name("quickstart").install()?;

    // Current until dropped: the spans below are its children.
    let agent = Span::start("invoke_agent support").entered();

    let mut chat = Span::start_with_kind("chat gpt-4o", SpanKind::Client);
    chat.set_attributes([
        KeyValue::new("gen_ai.operation.name", "chat"),
        KeyValue::new("gen_ai.provider.name", "openai"),
        KeyValue::new("gen_ai.request.model", "gpt-4o"),
        KeyValue::new("gen_ai.usage.input_tokens", 412),
        KeyValue::new("gen_ai.usage.output_tokens", 37),
    ]);
    // The span is current on every poll and ends when the future completes.
    tokio::time::sleep(Duration::from_millis(30))
        .instrument(chat)
        .await;

    let weather = Span::builder("execute_tool get_weather")
        .attribute(KeyValue::new("gen_ai.operation.name", "execute_tool"))
        .attribute(KeyValue::new("gen_ai.tool.name", "get_weather"))
        .start();
    tokio::time::sleep(Duration::from_millis(10))
        .instrument(weather)
        .await;

    let mut flights = Span::start("execute_tool search_flights");
    flights.set_attribute(KeyValue::new("gen_ai.tool.name", "search_flights"));
    flights.record_error("timeout", "flight API did not answer within 5s");
    drop(flights); // ends it

    // A spawned task keeps "invoke_agent support" as its parent.
    zdk_trace_runtime::spawn(async {
        let summary = Span::start("summarize_conversation");
        tokio::time::sleep(Duration::from_millis(5))
            .instrument(summary)
            .await;
    })
    .await?;

    drop(agent);
    telemetry.shutdown()?; // exports (prints) everything still queued
    Ok(())
}
