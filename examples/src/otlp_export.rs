//! The quickstart flow, exported over OTLP to a backend. Configuration comes from a
//! `zdk-trace.toml` document (inline here; an app would just put the file in its working
//! directory and drop `.config(...)`), and `OTEL_*` variables override it:
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run -p zdk-trace-examples --bin otlp_export
//! ```
#![forbid(unsafe_code)]

use std::time::Duration;

use zdk_trace_runtime::{Config, FutureExt, KeyValue, Span, SpanKind, Telemetry};

const ZDK_TRACE_TOML: &str = r#"
[telemetry]
service_name = "otlp-export"

[telemetry.resource]
"deployment.environment" = "dev"

[telemetry.tracing.otlp]
endpoint = "http://localhost:4318"  # OTEL_EXPORTER_OTLP_ENDPOINT wins over this
protocol = "http/protobuf"          # or "grpc" (port 4317)
timeout_seconds = 5

[telemetry.tracing.sampling]
strategy = "parent_based"
always_sample_errors = true

[[telemetry.tracing.exporters]]
type = "otlp"

[[telemetry.tracing.exporters]]
type = "stdout"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = Telemetry::builder()
        .config(Config::from_toml_str(ZDK_TRACE_TOML)?)
        .install()?; // reads OTEL_* variables too

    let agent = Span::start("invoke_agent support").entered();
    let chat = Span::builder("chat gpt-4o")
        .kind(SpanKind::Client)
        .attribute(KeyValue::new("gen_ai.operation.name", "chat"))
        .attribute(KeyValue::new("gen_ai.provider.name", "openai"))
        .attribute(KeyValue::new("gen_ai.request.model", "gpt-4o"))
        .attribute(KeyValue::new("gen_ai.usage.input_tokens", 412))
        .start();
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
    flights.record_error("timeout", "flight API did not answer within 5s");
    drop(flights);
    drop(agent);

    telemetry.shutdown()?;
    // Export failures do not fail shutdown: they are counted.
    let stats = telemetry.stats();
    eprintln!(
        "exported {} spans, dropped {} ({} export errors)",
        stats.spans_exported,
        stats.dropped(),
        stats.export_errors
    );
    Ok(())
}
