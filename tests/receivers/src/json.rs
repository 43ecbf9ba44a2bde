//! [`JsonReceiver`]: OTLP/HTTP with JSON bodies (the usage layer's payload), keeping each raw
//! decompressed body so tests can check its exact shape.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::request::header_list;
use crate::server::ServerThread;
use crate::store::lock;

/// One OTLP/JSON request as [`JsonReceiver`] saw it.
#[derive(Debug, Clone)]
pub struct JsonRequest {
    /// The request path.
    pub path: String,
    /// Headers with lowercase names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body after gunzip (when `content-encoding: gzip`), as received.
    pub raw: Vec<u8>,
    /// The body parsed as JSON; `None` if it is not JSON.
    pub json: Option<serde_json::Value>,
    /// Whether the receiver answered with success.
    pub accepted: bool,
}

impl JsonRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every span of the body (`resourceSpans[*].scopeSpans[*].spans[*]`).
    pub fn spans(&self) -> Vec<serde_json::Value> {
        let Some(json) = &self.json else {
            return Vec::new();
        };
        let list = |v: &serde_json::Value, key: &str| -> Vec<serde_json::Value> {
            v.get(key)
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        list(json, "resourceSpans")
            .iter()
            .flat_map(|rs| list(rs, "scopeSpans"))
            .flat_map(|ss| list(&ss, "spans"))
            .collect()
    }
}

#[derive(Debug)]
struct JsonStore {
    requests: Mutex<Vec<JsonRequest>>,
    changed: Condvar,
    /// HTTP status to answer with (200 unless told otherwise).
    status: Mutex<u16>,
}

/// An OTLP/HTTP receiver for JSON bodies on `127.0.0.1`: `POST /v1/traces`,
/// `content-type: application/json`, gzip or not. Records every request's raw (decompressed)
/// body; answers 404/405/415/400 to what an OTLP/JSON client would not send.
///
/// ```
/// use zdk_trace_receivers::JsonReceiver;
///
/// let receiver = JsonReceiver::start();
/// assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));
/// assert!(receiver.requests().is_empty());
/// ```
#[derive(Debug)]
pub struct JsonReceiver {
    store: Arc<JsonStore>,
    server: ServerThread,
}

impl JsonReceiver {
    /// Starts the receiver on a free port; it is listening when this returns, stops on drop.
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// Starts the receiver on `127.0.0.1:port` (to bring back an endpoint that was down).
    pub fn start_on(port: u16) -> Self {
        let store = Arc::new(JsonStore {
            requests: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            status: Mutex::new(200),
        });
        let app = axum::Router::new()
            .fallback(handle_json)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(Arc::clone(&store));
        let server =
            ServerThread::spawn_on("otlp-json-receiver", port, move |listener| async move {
                let _ = axum::serve(listener, app).await;
            });
        JsonReceiver { store, server }
    }

    /// The base endpoint, `http://127.0.0.1:PORT` (the usage layer appends `/v1/traces`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<JsonRequest> {
        lock(&self.store.requests).clone()
    }

    /// The spans of every accepted request, in arrival order.
    pub fn spans(&self) -> Vec<serde_json::Value> {
        lock(&self.store.requests)
            .iter()
            .filter(|r| r.accepted)
            .flat_map(JsonRequest::spans)
            .collect()
    }

    /// Waits until at least `n` requests arrived or `timeout` passed, then returns
    /// [`requests`](Self::requests).
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<JsonRequest> {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.store.requests);
        while requests.len() < n {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            requests = match self.store.changed.wait_timeout(requests, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        requests.clone()
    }

    /// Answers every following valid request with `status` (200 again with `200`).
    pub fn respond_with_status(&self, status: u16) {
        *lock(&self.store.status) = status;
    }

    /// The address the receiver listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }
}

async fn handle_json(
    State(store): State<Arc<JsonStore>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers = header_list(&headers);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let raw = match header("content-encoding").as_deref() {
        None | Some("identity") => Ok(body.to_vec()),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut out)
                .map(|_| out)
                .map_err(|e| format!("bad gzip body: {e}"))
        }
        Some(other) => Err(format!("unsupported content-encoding `{other}`")),
    };
    let json = raw
        .as_ref()
        .ok()
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(raw).ok());
    let rejected = if uri.path() != "/v1/traces" {
        Some(StatusCode::NOT_FOUND)
    } else if method != Method::POST {
        Some(StatusCode::METHOD_NOT_ALLOWED)
    } else if header("content-type").as_deref() != Some("application/json") {
        Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
    } else if json.is_none() {
        Some(StatusCode::BAD_REQUEST)
    } else {
        None
    };
    let status = rejected.unwrap_or_else(|| {
        StatusCode::from_u16(*lock(&store.status)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    });
    lock(&store.requests).push(JsonRequest {
        path: uri.path().to_owned(),
        headers,
        raw: raw.unwrap_or_default(),
        json,
        accepted: status.is_success(),
    });
    store.changed.notify_all();
    if status.is_success() {
        // An empty ExportTraceServiceResponse: full success.
        (status, [("content-type", "application/json")], "{}").into_response()
    } else {
        status.into_response()
    }
}
