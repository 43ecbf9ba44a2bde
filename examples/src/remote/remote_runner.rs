//! An agent whose tools run in another process: the client half of a cross-process trace.
//! Each tool call is an HTTP request to `tool_server` carrying the W3C `traceparent` header,
//! so the server's spans join this agent's trace. No tracing code is written for it: the
//! HTTP client is a `reqwest-middleware` client with the runtime's `ClientTracing`, which opens
//! the CLIENT span of each request and sends its context on.
//!
//! ```sh
//! cargo run -p zdk-trace-examples --bin tool_server -- --port 7070
//! cargo run -p zdk-trace-examples --bin remote_runner -- --tools-url http://127.0.0.1:7070
//! ```
//!
//! Tracing is configured as in `agent_app` (trees on stdout, or OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; `--project NAME` for Arize Phoenix). The last stdout
//! line is `trace_id=<32 hex digits>`, the trace both processes recorded.
//!
//! # Spans
//!
//! ```text
//! runner.run                           app.service = "remote-runner"
//! └─ invoke_agent travel_agent         gen_ai.agent.id = "travel-1"
//!    ├─ execute_tool get_weather       gen_ai.tool.call.id = "call_1"
//!    │  └─ POST                 CLIENT  http.request.method, url.full, server.address,
//!    │     │                            server.port, http.response.status_code = 200
//!    │     └─ (tool_server) POST /tools/{name}  SERVER
//!    │        └─ (tool_server) tool.handle      app.service = "tool-server"
//!    │           └─ (tool_server) forecast.lookup
//!    └─ execute_tool search_flights    ERROR, error.type = "tool_unavailable"
//!       └─ POST                 CLIENT  ERROR, error.type = "503"
//!          └─ (tool_server) POST /tools/{name}  SERVER  ERROR, error.type = "503"
//!             └─ (tool_server) tool.handle      ERROR, error.type = "timeout"
//! ```
//!
//! The failed tool does not fail the run: the agent answers without flights, as agents do.
//! Phoenix does not keep resource attributes such as `service.name`, so `runner.run` carries
//! `app.service` to tell the two services apart in one trace.
#![forbid(unsafe_code)]

use std::fmt;
use std::process::ExitCode;

use clap::Parser;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use zdk_trace_runtime::http::ClientTracing;
use zdk_trace_runtime::{agent_span, current_span_context, span, tool_call, ErrorType, Telemetry};

/// The `app.service` span attribute of this process's root span.
const SERVICE: &str = "remote-runner";
/// The resource attribute Arize Phoenix files spans under.
const PROJECT_ATTRIBUTE: &str = "openinference.project.name";

/// An agent that calls its tools on a `tool_server` over HTTP, propagating the trace.
#[derive(Debug, Parser)]
#[command(name = "remote_runner", version)]
struct Args {
    /// Base URL of the tool server (as `tool_server` prints it).
    #[arg(long, value_name = "URL")]
    tools_url: String,

    /// The project to file the traces under in Arize Phoenix (`openinference.project.name`).
    #[arg(long, value_name = "NAME")]
    project: Option<String>,

    /// The service name (`service.name`); OTEL_SERVICE_NAME and zdk-trace.toml override it.
    #[arg(long, value_name = "NAME", default_value = SERVICE)]
    service: String,
}

/// Why a call to the tool server failed.
#[derive(Debug)]
enum HttpError {
    /// No answer: connection refused, reset, or timed out.
    Transport(reqwest_middleware::Error),
    /// The server answered with an error status.
    Status(reqwest::StatusCode, String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Transport(e) => write!(f, "no answer from the tool server: {e}"),
            HttpError::Status(status, body) => write!(f, "tool server answered {status}: {body}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Why a tool failed, as the agent sees it.
#[derive(Debug)]
struct ToolUnavailable(HttpError);

impl fmt::Display for ToolUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tool unavailable: {}", self.0)
    }
}

impl std::error::Error for ToolUnavailable {}

impl ErrorType for ToolUnavailable {
    fn error_type(&self) -> &'static str {
        "tool_unavailable"
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = Telemetry::builder().service_name(args.service.as_str());
    if let Some(project) = &args.project {
        builder = builder.resource_attribute(PROJECT_ATTRIBUTE, project.as_str());
    }
    let telemetry = match builder.install() {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("remote_runner: cannot install tracing: {e}");
            return ExitCode::FAILURE;
        }
    };

    // Every request of this client gets a CLIENT span and carries its `traceparent`.
    let tools = ToolClient {
        http: ClientBuilder::new(reqwest::Client::new())
            .with(ClientTracing::new())
            .build(),
        base: args.tools_url.trim_end_matches('/').to_owned(),
    };
    let code = match run(&tools).await {
        Ok((answer, trace_id)) => {
            println!("{answer}");
            println!("trace_id={trace_id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("remote_runner: {e}");
            ExitCode::FAILURE
        }
    };
    // Exports everything still queued.
    if let Err(e) = telemetry.shutdown() {
        eprintln!("remote_runner: shutting tracing down: {e}");
        return ExitCode::FAILURE;
    }
    let stats = telemetry.stats();
    eprintln!(
        "remote_runner: {} spans exported, {} dropped, {} export errors",
        stats.spans_exported,
        stats.dropped(),
        stats.export_errors
    );
    code
}

/// The root span: one request to the agent. Returns the answer and the trace id.
#[span(name = "runner.run", fields(app.service = SERVICE))]
async fn run(tools: &ToolClient) -> Result<(String, String), ToolUnavailable> {
    let trace_id = current_span_context()
        .map(|sc| sc.trace_id().to_string())
        .unwrap_or_default();
    let answer = travel_agent(tools, "Lisbon").await?;
    Ok((answer, trace_id))
}

/// The agent: asks for the weather and for flights; a failed tool leaves a gap in the answer
/// instead of failing the run. (The `?` in `run` is for a transport failure of get_weather,
/// which means the tool server is not there at all.)
#[agent_span(name = "travel_agent", id = "travel-1")]
async fn travel_agent(tools: &ToolClient, city: &str) -> Result<String, ToolUnavailable> {
    let weather = get_weather(tools, "call_1", city).await?;
    let flights = match search_flights(tools, "call_2", city).await {
        Ok(flights) => flights,
        Err(e) => format!("no flights ({e})"),
    };
    Ok(format!("{weather}; {flights}"))
}

/// Tool call executed remotely: the forecast for `city`.
#[tool_call(name = "get_weather", call_id = call_id, err)]
async fn get_weather(
    tools: &ToolClient,
    call_id: &str,
    city: &str,
) -> Result<String, ToolUnavailable> {
    tools
        .call("get_weather", city)
        .await
        .map_err(ToolUnavailable)
}

/// Tool call executed remotely: flights to `city`. The server's flight API always times out.
#[tool_call(name = "search_flights", call_id = call_id, err)]
async fn search_flights(
    tools: &ToolClient,
    call_id: &str,
    city: &str,
) -> Result<String, ToolUnavailable> {
    tools
        .call("search_flights", city)
        .await
        .map_err(ToolUnavailable)
}

/// The HTTP client for the tool server.
#[derive(Debug)]
struct ToolClient {
    http: ClientWithMiddleware,
    base: String,
}

impl ToolClient {
    /// `POST {base}/tools/{tool}`. `ClientTracing` opens the CLIENT span (a child of the tool
    /// span) and sends its `traceparent`, so the server's span is its child, as the HTTP
    /// conventions lay the trace out.
    async fn call(&self, tool: &str, argument: &str) -> Result<String, HttpError> {
        let url = format!("{}/tools/{tool}", self.base);
        let response = self
            .http
            .post(url)
            .body(argument.to_owned())
            .send()
            .await
            .map_err(HttpError::Transport)?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| HttpError::Transport(e.into()))?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(HttpError::Status(status, text))
        }
    }
}
