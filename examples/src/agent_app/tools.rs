//! The planner's tools: one that calls a (simulated) HTTP API, one that always times out.

use std::fmt;
use std::time::Duration;

use zdk_trace_runtime::{span, tool_call, ErrorType};

/// How long the simulated weather API takes to answer.
const WEATHER_API_LATENCY: Duration = Duration::from_millis(15);
/// How long the flight search waits before giving up.
const FLIGHT_SEARCH_TIMEOUT: Duration = Duration::from_millis(10);

/// Why a tool failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// The upstream API did not answer in time.
    Timeout {
        /// The API that did not answer.
        api: &'static str,
        /// How long the tool waited.
        after: Duration,
    },
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Timeout { api, after } => {
                write!(f, "{api} did not answer within {}ms", after.as_millis())
            }
        }
    }
}

impl std::error::Error for ToolError {}

/// The low-cardinality `error.type` a failed tool span gets (`"timeout"`), instead of the
/// type name `ToolError`.
impl ErrorType for ToolError {
    fn error_type(&self) -> &'static str {
        match self {
            ToolError::Timeout { .. } => "timeout",
        }
    }
}

/// The weather in `city`, from a (simulated) forecast API.
#[tool_call(name = "get_weather", call_id = call_id, err, capture(arguments = city))]
pub async fn get_weather(call_id: &str, city: &str) -> Result<String, ToolError> {
    let forecast = fetch_forecast(city).await;
    Ok(format!("{city}: {forecast}"))
}

/// The HTTP request `get_weather` makes: a `CLIENT` span with the HTTP semantic conventions'
/// attributes, so the tool's latency shows as a network call in the trace.
#[span(
    name = "GET /v1/forecast",
    kind = client,
    fields(
        http.request.method = "GET",
        url.template = "/v1/forecast",
        server.address = "weather.example"
    )
)]
async fn fetch_forecast(city: &str) -> String {
    tokio::time::sleep(WEATHER_API_LATENCY).await;
    if city.is_empty() {
        "unknown".to_owned()
    } else {
        "sunny, 24°C".to_owned()
    }
}

/// Flights from `origin` to `destination`. The simulated flight API never answers, so this
/// always fails with a timeout: the span gets status error, `error.type = "timeout"` and an
/// `exception` event.
#[tool_call(name = "search_flights", call_id = call_id, err, capture(arguments = [origin, destination]))]
pub async fn search_flights(
    call_id: &str,
    origin: &str,
    destination: &str,
) -> Result<Vec<String>, ToolError> {
    tokio::time::sleep(FLIGHT_SEARCH_TIMEOUT).await;
    let _route = (origin, destination);
    Err(ToolError::Timeout {
        api: "flight API",
        after: FLIGHT_SEARCH_TIMEOUT,
    })
}
