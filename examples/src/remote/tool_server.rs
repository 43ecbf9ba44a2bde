//! A tool server: the other half of a cross-process trace. An agent (`remote_runner`) calls
//! its tools over HTTP; the W3C `traceparent` header it sends makes this process's spans
//! children of the agent's, so a backend shows one trace across both services. No tracing
//! code is written for it: the runtime's `ServerTracing` tower layer, added to the axum
//! router, reads the headers and opens each request's SERVER span, and the callbacks of the
//! conformance endpoint go through a `reqwest-middleware` client with `ClientTracing`.
//!
//! ```sh
//! cargo run -p zdk-trace-examples --bin tool_server -- --port 7070
//! cargo run -p zdk-trace-examples --bin remote_runner -- --tools-url http://127.0.0.1:7070
//! ```
//!
//! It listens on 127.0.0.1 only and prints `listening on http://127.0.0.1:PORT` as its first
//! line on stdout (`--port 0`, the default, picks a free port), so a script or a test can read
//! the address. It stops after `--requests N` requests, or on Ctrl-C, and then shuts tracing
//! down so every span is exported. Tracing is configured as in `agent_app`: trees on stdout,
//! or OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; `--project NAME` sets the resource
//! attribute `openinference.project.name` that Arize Phoenix files traces under.
//!
//! # API
//!
//! `POST /tools/{name}` with the tool's argument as the text body. `get_weather` answers
//! `200` with a forecast; `search_flights` always fails with `503`, as an upstream timeout
//! would; any other name gets `404`.
//!
//! `POST /test` is the test service of the W3C Trace Context conformance suite
//! (`tests/w3c/run.sh` runs the suite against it): the body is a JSON array of
//! `{"url": ..., "arguments": ...}`; for each element the server calls `url` back with
//! `arguments` as its JSON body, from a CLIENT span of the request's trace, so the suite can
//! check the `traceparent` and `tracestate` it sends on. Every line of the request's headers is
//! read (a `tracestate` may come on several).
//!
//! # Spans (per request)
//!
//! ```text
//! POST /tools/{name}     SERVER  http.request.method, url.path, http.route, server.address,
//! │                              http.response.status_code; parent: the caller's span from
//! │                              `traceparent`; ERROR, error.type = "503" for search_flights
//! └─ tool.handle                 app.service = "tool-server", gen_ai.tool.name;
//!    │                           ERROR, error.type = "timeout" for search_flights
//!    └─ forecast.lookup          only for get_weather: city
//!
//! POST /test             SERVER  http.route = "/test"; parent: the harness's traceparent
//! └─ POST                CLIENT  url.full: one per callback, its traceparent sent on
//! ```
//!
//! Phoenix does not keep resource attributes such as `service.name`, so the server span
//! carries `app.service` to tell the two services apart in one trace.
#![forbid(unsafe_code)]

use std::fmt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, State};
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Router;
use clap::Parser;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tokio::sync::Notify;
use zdk_trace_runtime::http::{ClientTracing, ServerTracing};
use zdk_trace_runtime::{span, ErrorType, Telemetry};

/// The `app.service` span attribute of this process's spans.
const SERVICE: &str = "tool-server";
/// The resource attribute Arize Phoenix files spans under.
const PROJECT_ATTRIBUTE: &str = "openinference.project.name";
/// How long the simulated forecast lookup takes.
const LOOKUP_LATENCY: Duration = Duration::from_millis(15);

/// An HTTP tool server traced with zdk-trace; continues the caller's trace from `traceparent`.
#[derive(Debug, Parser)]
#[command(name = "tool_server", version)]
struct Args {
    /// The port to listen on, on 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    port: u16,

    /// Stop after answering N requests (default: run until Ctrl-C).
    #[arg(long, value_name = "N")]
    requests: Option<u64>,

    /// The project to file the traces under in Arize Phoenix (`openinference.project.name`).
    #[arg(long, value_name = "NAME")]
    project: Option<String>,

    /// The service name (`service.name`); OTEL_SERVICE_NAME and zdk-trace.toml override it.
    #[arg(long, value_name = "NAME", default_value = SERVICE)]
    service: String,
}

/// Counts answered requests and wakes the shutdown when `--requests` is reached.
#[derive(Debug)]
struct Shared {
    answered: AtomicU64,
    limit: Option<u64>,
    done: Notify,
}

/// Why a tool call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ToolError {
    /// No tool has this name.
    Unknown(String),
    /// The tool's upstream API did not answer in time.
    Timeout(&'static str),
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Unknown(name) => write!(f, "no tool named `{name}`"),
            ToolError::Timeout(api) => write!(f, "{api} did not answer in time"),
        }
    }
}

impl std::error::Error for ToolError {}

/// `error.type` on the failed server span.
impl ErrorType for ToolError {
    fn error_type(&self) -> &'static str {
        match self {
            ToolError::Unknown(_) => "unknown_tool",
            ToolError::Timeout(_) => "timeout",
        }
    }
}

impl ToolError {
    fn status(&self) -> StatusCode {
        match self {
            ToolError::Unknown(_) => StatusCode::NOT_FOUND,
            ToolError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
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
            eprintln!("tool_server: cannot install tracing: {e}");
            return ExitCode::FAILURE;
        }
    };

    let code = match serve(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tool_server: {e}");
            ExitCode::FAILURE
        }
    };
    // Exports everything still queued: without it the last requests' spans would be lost.
    if let Err(e) = telemetry.shutdown() {
        eprintln!("tool_server: shutting tracing down: {e}");
        return ExitCode::FAILURE;
    }
    let stats = telemetry.stats();
    eprintln!(
        "tool_server: {} spans exported, {} dropped, {} export errors",
        stats.spans_exported,
        stats.dropped(),
        stats.export_errors
    );
    code
}

/// Listens on 127.0.0.1 until `--requests` requests are answered or Ctrl-C.
async fn serve(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let shared = Arc::new(Shared {
        answered: AtomicU64::new(0),
        limit: args.requests,
        done: Notify::new(),
    });
    // `Router::layer` runs the layer after routing, so axum's `MatchedPath` names the span.
    let app = Router::new()
        .route("/tools/{name}", post(call_tool))
        .route("/test", post(conformance_test))
        .layer(ServerTracing::new().route(route))
        .with_state(Arc::clone(&shared));
    // The first stdout line is the address, for whoever started this process (Rust's stdout
    // is line-buffered, so the line reaches a pipe at once).
    println!("listening on http://{}", listener.local_addr()?);

    let stop = async move {
        tokio::select! {
            () = shared.done.notified() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await?;
    Ok(())
}

/// The route template a request matched, which names its SERVER span (`POST /tools/{name}`).
fn route(request: &Request<Body>) -> Option<String> {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
}

/// The route handler: runs the tool (inside the request's SERVER span, which the layer
/// opened), maps errors to statuses.
async fn call_tool(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: String,
) -> (StatusCode, String) {
    let result = handle(&name, &body).await;

    let answered = shared.answered.fetch_add(1, Ordering::SeqCst) + 1;
    if shared.limit.is_some_and(|limit| answered >= limit) {
        // `notify_one` stores a permit, so the wake-up is not lost if `serve` is not waiting yet.
        shared.done.notify_one();
    }
    match result {
        Ok(text) => (StatusCode::OK, text),
        Err(e) => (e.status(), e.to_string()),
    }
}

/// One tool call, a child of the request's SERVER span: what this service adds to the span
/// the layer opened (the tool's name, the failure's cause).
#[span(
    name = "tool.handle",
    fields(app.service = SERVICE, gen_ai.tool.name = tool.to_owned()),
    err
)]
async fn handle(tool: &str, argument: &str) -> Result<String, ToolError> {
    match tool {
        "get_weather" => Ok(lookup_forecast(argument).await),
        "search_flights" => {
            tokio::time::sleep(LOOKUP_LATENCY).await;
            Err(ToolError::Timeout("flight API"))
        }
        other => Err(ToolError::Unknown(other.to_owned())),
    }
}

/// The work behind `get_weather`.
#[span(name = "forecast.lookup", fields(city = city.to_owned()))]
async fn lookup_forecast(city: &str) -> String {
    tokio::time::sleep(LOOKUP_LATENCY).await;
    format!("{city}: sunny, 24°C")
}

/// The W3C conformance suite's endpoint: inside the request's SERVER span (`POST /test`, a
/// child of the harness's `traceparent`, opened by the layer), calls back each URL of the body
/// with its arguments, in order.
async fn conformance_test(body: Bytes) -> (StatusCode, String) {
    let actions: Vec<serde_json::Value> = match serde_json::from_slice(&body) {
        Ok(serde_json::Value::Array(actions)) => actions,
        Ok(_) => return (StatusCode::BAD_REQUEST, "expected a JSON array".to_owned()),
        Err(e) => return (StatusCode::BAD_REQUEST, format!("not JSON: {e}")),
    };
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(ClientTracing::new())
        .build();
    for action in actions {
        let Some(url) = action.get("url").and_then(serde_json::Value::as_str) else {
            continue;
        };
        let arguments = action
            .get("arguments")
            .cloned()
            .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
        callback(&client, url, &arguments).await;
    }
    (StatusCode::OK, "{}".to_owned())
}

/// One callback: `ClientTracing` opens its CLIENT span (`POST`) and sends its `traceparent`
/// (and the trace's `tracestate`) with the request.
async fn callback(client: &ClientWithMiddleware, url: &str, arguments: &serde_json::Value) {
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .body(arguments.to_string());
    if let Err(e) = request.send().await {
        eprintln!("tool_server: callback to {url} failed: {e}");
    }
}
