//! Zero configuration: no OTLP endpoint is set, so each finished trace prints as a tree on
//! stdout. Run it with `cargo run -p zdk-trace-examples --bin quickstart`.
#![forbid(unsafe_code)]

use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
use zdk_trace_runtime::{agent_span, llm_call, tool_call, Telemetry};

struct Reply(String);

impl LlmOutput for Reply {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(412, 37)) // what the provider reported
    }
}

#[llm_call(provider = "openai", model = "gpt-4o")]
async fn chat(prompt: &str) -> Reply {
    Reply(format!("{prompt} Let me check.")) // a real app calls the model here
}

#[tool_call(name = "get_weather")]
async fn get_weather(city: &str) -> String {
    format!("sunny in {city}")
}

#[tool_call(name = "search_flights", err)]
async fn search_flights(to: &str) -> Result<Vec<String>, String> {
    Err(format!("flight API did not answer within 5s (to {to})"))
}

#[agent_span(name = "support")]
async fn support(question: &str) -> String {
    let reply = chat(question).await;
    let weather = get_weather("Lisbon").await;
    let flights = search_flights("LIS").await.unwrap_or_default();
    format!("{} {weather}, {} flights", reply.0, flights.len())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = Telemetry::builder().service_name("quickstart").install()?;
    support("Weekend in Lisbon?").await;
    telemetry.shutdown()?; // prints the trace still queued
    Ok(())
}
