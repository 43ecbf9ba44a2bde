//! Shared helpers for the zdk-trace integration tests (cases live in `tests/tests/`).
//!
//! Two real OTLP receivers listening on `127.0.0.1` with ephemeral ports, each on its own tokio
//! runtime in a background thread, so tests can stay synchronous:
//!
//! - [`GrpcReceiver`]: a tonic `TraceService` (accepts gzip);
//! - [`HttpReceiver`]: HTTP/1.1 `POST /v1/traces` with `application/x-protobuf` (gunzips
//!   `content-encoding: gzip`).
//! - [`JsonReceiver`]: HTTP/1.1 `POST /v1/traces` with `application/json` (OTLP/JSON, the
//!   usage layer's payload), keeping each raw decompressed body so tests can check its exact
//!   shape.
//!
//! [`CountingReceiver`] only counts spans (gRPC or HTTP, optionally stalled), for benchmarks.
//!
//! Both record every request (headers included) and can be told to fail. Attribute helpers
//! ([`attr_str`], [`attr_i64`]…) read proto spans, events and resources.
//!
//! [`phoenix`] runs the example binaries against a real Arize Phoenix and reads back what it
//! stored (the end-to-end tests).
//!
//! `zdk-trace-runtime` dev-depends on this crate for its exporter wire tests, so Cargo builds
//! two copies of the runtime in those tests: keep `zdk-trace-runtime` types out of this
//! crate's public API.
#![warn(missing_docs, unreachable_pub)]

mod counting;
pub mod harness;
pub mod phoenix;

use std::future::Future;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding;

pub use counting::{count_spans, CountingReceiver, WireError};
pub use tonic::Code as GrpcCode;

/// The gRPC method every OTLP trace export calls.
pub const GRPC_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// One request as a receiver saw it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// `POST` for every gRPC call.
    pub method: String,
    /// The request path ([`GRPC_EXPORT_PATH`] for gRPC).
    pub path: String,
    /// Headers (gRPC: metadata) with lowercase names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The decoded body; `None` when it could not be decoded (see `error`).
    pub body: Option<ExportTraceServiceRequest>,
    /// Whether the receiver answered with success.
    pub accepted: bool,
    /// Why the body was rejected, if it was.
    pub error: Option<String>,
}

impl ReceivedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The spans of this request, flattened.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let Some(body) = &self.body else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for rs in &body.resource_spans {
            let resource = rs.resource.clone().unwrap_or_default();
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    out.push(ReceivedSpan {
                        resource: resource.clone(),
                        scope: ss.scope.clone(),
                        span: span.clone(),
                    });
                }
            }
        }
        out
    }
}

/// A span as it arrived, with its resource and scope.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The resource of the enclosing `ResourceSpans`.
    pub resource: Resource,
    /// The scope of the enclosing `ScopeSpans`.
    pub scope: Option<InstrumentationScope>,
    /// The span itself.
    pub span: Span,
}

/// How a receiver answers the next requests.
#[derive(Debug, Clone)]
enum Reply {
    Ok,
    Grpc(GrpcCode, String),
    Http(u16),
}

/// State shared between a receiver's server thread and the test.
#[derive(Debug)]
struct Store {
    requests: Mutex<Vec<ReceivedRequest>>,
    changed: Condvar,
    /// The reply, and for how many more requests (`None`: until changed).
    reply: Mutex<(Reply, Option<usize>)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Store {
    fn new() -> Arc<Self> {
        Arc::new(Store {
            requests: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            reply: Mutex::new((Reply::Ok, None)),
        })
    }

    fn next_reply(&self) -> Reply {
        let mut reply = lock(&self.reply);
        let current = reply.0.clone();
        if let Some(left) = &mut reply.1 {
            *left = left.saturating_sub(1);
            if *left == 0 {
                *reply = (Reply::Ok, None);
            }
        }
        current
    }

    fn set_reply(&self, reply: Reply, times: Option<usize>) {
        *lock(&self.reply) = match times {
            Some(0) => (Reply::Ok, None),
            _ => (reply, times),
        };
    }

    fn record(&self, request: ReceivedRequest) {
        lock(&self.requests).push(request);
        self.changed.notify_all();
    }

    fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.requests).clone()
    }

    fn spans(&self) -> Vec<ReceivedSpan> {
        lock(&self.requests)
            .iter()
            .filter(|r| r.accepted)
            .flat_map(ReceivedRequest::spans)
            .collect()
    }

    /// Waits until `done` holds for the recorded requests, or `timeout` passes.
    fn wait(&self, timeout: Duration, done: impl Fn(&[ReceivedRequest]) -> bool) {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.requests);
        while !done(&requests) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            requests = match self.changed.wait_timeout(requests, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn count_spans(requests: &[ReceivedRequest]) -> usize {
        requests
            .iter()
            .filter(|r| r.accepted)
            .filter_map(|r| r.body.as_ref())
            .flat_map(|b| &b.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum()
    }
}

/// A server thread with its own current-thread runtime, stopped on drop.
#[derive(Debug)]
struct ServerThread {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    /// Binds `127.0.0.1:0` now (so the port accepts connections when this returns) and serves
    /// with `serve` on a background thread.
    fn spawn<F, Fut>(name: &str, serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        Self::spawn_on(name, 0, serve)
    }

    /// [`spawn`](Self::spawn) serving an OTLP trace service over gRPC.
    fn spawn_grpc<S>(name: &str, service: S) -> Self
    where
        S: tonic::codegen::Service<
                tonic::codegen::http::Request<tonic::body::Body>,
                Response = tonic::codegen::http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + tonic::server::NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        Self::spawn(name, move |listener| async move {
            // No Nagle: without it the server's response frames can wait for the client's
            // delayed ACK (40 ms on Linux), which stalls each export that hits it; real
            // collectors (Go's net package, the default) do the same.
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await;
        })
    }

    /// [`spawn`](Self::spawn) on `127.0.0.1:port` (`0`: any free port).
    fn spawn_on<F, Fut>(name: &str, port: u16, serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => l,
            Err(e) => panic!("{name}: cannot bind 127.0.0.1:{port}: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("{name}: no local address: {e}"),
        };
        if let Err(e) = listener.set_nonblocking(true) {
            panic!("{name}: {e}");
        }
        let (tx, rx) = oneshot::channel::<()>();
        let thread_name = name.to_owned();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => panic!("{thread_name}: cannot build runtime: {e}"),
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => panic!("{thread_name}: {e}"),
                    };
                    // Not a graceful shutdown: an exporter may keep its connection open.
                    tokio::select! {
                        () = serve(listener) => {}
                        _ = rx => {}
                    }
                });
            });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => panic!("{name}: cannot spawn thread: {e}"),
        };
        ServerThread {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accessors shared by both receivers.
macro_rules! receiver_accessors {
    () => {
        /// Every request received so far, including rejected ones.
        pub fn requests(&self) -> Vec<ReceivedRequest> {
            self.store.requests()
        }

        /// The spans of every *accepted* request, flattened in arrival order.
        pub fn spans(&self) -> Vec<ReceivedSpan> {
            self.store.spans()
        }

        /// Waits until at least `n` spans were accepted or `timeout` passed, then returns
        /// [`spans`](Self::spans) (which may hold fewer than `n`: assert on its length).
        pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<ReceivedSpan> {
            self.store
                .wait(timeout, |requests| Store::count_spans(requests) >= n);
            self.spans()
        }

        /// Waits until at least `n` requests (accepted or not) arrived or `timeout` passed,
        /// then returns [`requests`](Self::requests).
        pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<ReceivedRequest> {
            self.store.wait(timeout, |requests| requests.len() >= n);
            self.requests()
        }

        /// Forgets every recorded request.
        pub fn clear(&self) {
            lock(&self.store.requests).clear();
        }

        /// Answers success again (the default).
        pub fn respond_ok(&self) {
            self.store.set_reply(Reply::Ok, None);
        }

        /// The address the receiver listens on.
        pub fn addr(&self) -> SocketAddr {
            self.server.addr
        }
    };
}

/// An OTLP/gRPC trace receiver on `127.0.0.1`.
///
/// ```
/// use zdk_trace_tests::GrpcReceiver;
///
/// let receiver = GrpcReceiver::start();
/// assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));
/// assert!(receiver.spans().is_empty());
/// ```
#[derive(Debug)]
pub struct GrpcReceiver {
    store: Arc<Store>,
    server: ServerThread,
}

#[derive(Debug)]
struct GrpcService {
    store: Arc<Store>,
}

#[tonic::async_trait]
impl TraceService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = header_list(&request.metadata().clone().into_headers());
        let body = request.into_inner();
        let reply = self.store.next_reply();
        self.store.record(ReceivedRequest {
            method: "POST".to_owned(),
            path: GRPC_EXPORT_PATH.to_owned(),
            headers,
            body: Some(body),
            accepted: matches!(reply, Reply::Ok),
            error: None,
        });
        match reply {
            Reply::Grpc(code, message) => Err(tonic::Status::new(code, message)),
            Reply::Http(status) => Err(tonic::Status::unknown(format!("http status {status}"))),
            Reply::Ok => Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: None,
            })),
        }
    }
}

impl GrpcReceiver {
    /// Starts the receiver; it is listening when this returns and stops on drop.
    pub fn start() -> Self {
        let store = Store::new();
        let service = TraceServiceServer::new(GrpcService {
            store: Arc::clone(&store),
        })
        .accept_compressed(CompressionEncoding::Gzip);
        let server = ServerThread::spawn_grpc("otlp-grpc-receiver", service);
        GrpcReceiver { store, server }
    }

    /// The gRPC endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Answers every following request with `code` until [`respond_ok`](Self::respond_ok).
    pub fn respond_with_error(&self, code: GrpcCode, message: &str) {
        self.store
            .set_reply(Reply::Grpc(code, message.to_owned()), None);
    }

    /// Answers the next `times` requests with `code`, then success again (retry tests).
    pub fn respond_with_error_times(&self, code: GrpcCode, message: &str, times: usize) {
        self.store
            .set_reply(Reply::Grpc(code, message.to_owned()), Some(times));
    }

    receiver_accessors!();
}

/// An OTLP/HTTP (protobuf) trace receiver on `127.0.0.1`.
///
/// Accepts `POST /v1/traces` with `content-type: application/x-protobuf` (gzip or not); answers
/// 404 for other paths, 405 for other methods, 415 for other content types and 400 for bodies
/// that do not decode. Every request is recorded.
///
/// ```
/// use zdk_trace_tests::HttpReceiver;
///
/// let receiver = HttpReceiver::start();
/// assert!(receiver.traces_url().ends_with("/v1/traces"));
/// ```
#[derive(Debug)]
pub struct HttpReceiver {
    store: Arc<Store>,
    server: ServerThread,
}

impl HttpReceiver {
    /// Starts the receiver; it is listening when this returns and stops on drop.
    pub fn start() -> Self {
        let store = Store::new();
        let app = axum::Router::new()
            .fallback(handle_http)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(Arc::clone(&store));
        let server = ServerThread::spawn("otlp-http-receiver", move |listener| async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpReceiver { store, server }
    }

    /// The base endpoint, `http://127.0.0.1:PORT` (what `OTEL_EXPORTER_OTLP_ENDPOINT` takes).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The full traces URL, `http://127.0.0.1:PORT/v1/traces`.
    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.server.addr)
    }

    /// Answers every following valid request with `status` until
    /// [`respond_ok`](Self::respond_ok).
    pub fn respond_with_status(&self, status: u16) {
        self.store.set_reply(Reply::Http(status), None);
    }

    /// Answers the next `times` valid requests with `status`, then success again.
    pub fn respond_with_status_times(&self, status: u16, times: usize) {
        self.store.set_reply(Reply::Http(status), Some(times));
    }

    receiver_accessors!();
}

async fn handle_http(
    State(store): State<Arc<Store>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = ReceivedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: header_list(&headers),
        body: None,
        accepted: false,
        error: None,
    };
    let rejected = if request.path != "/v1/traces" {
        Some((StatusCode::NOT_FOUND, "not found".to_owned()))
    } else if method != Method::POST {
        Some((StatusCode::METHOD_NOT_ALLOWED, "use POST".to_owned()))
    } else if request.header("content-type") != Some("application/x-protobuf") {
        Some((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected application/x-protobuf".to_owned(),
        ))
    } else {
        match decode_body(request.header("content-encoding"), &body) {
            Ok(decoded) => {
                request.body = Some(decoded);
                None
            }
            Err(e) => Some((StatusCode::BAD_REQUEST, e)),
        }
    };
    if let Some((status, error)) = rejected {
        request.error = Some(error.clone());
        store.record(request);
        return (status, error).into_response();
    }
    let reply = store.next_reply();
    request.accepted = matches!(reply, Reply::Ok);
    store.record(request);
    match reply {
        Reply::Ok => {
            let response = ExportTraceServiceResponse {
                partial_success: None,
            };
            (
                [("content-type", "application/x-protobuf")],
                response.encode_to_vec(),
            )
                .into_response()
        }
        Reply::Http(status) => StatusCode::from_u16(status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Reply::Grpc(code, message) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{code:?}: {message}"),
        )
            .into_response(),
    }
}

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
/// use zdk_trace_tests::JsonReceiver;
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

fn decode_body(encoding: Option<&str>, body: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    let bytes = match encoding {
        None | Some("identity") => body.to_vec(),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|e| format!("bad gzip body: {e}"))?;
            out
        }
        Some(other) => return Err(format!("unsupported content-encoding `{other}`")),
    };
    ExportTraceServiceRequest::decode(bytes.as_slice()).map_err(|e| format!("bad protobuf: {e}"))
}

fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Anything carrying OTLP attributes: spans, events, links, resources, scopes.
pub trait HasAttributes {
    /// The attribute list.
    fn attributes(&self) -> &[KeyValue];
}

impl HasAttributes for Span {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for Event {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for Link {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for Resource {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for InstrumentationScope {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for [KeyValue] {
    fn attributes(&self) -> &[KeyValue] {
        self
    }
}
impl HasAttributes for Vec<KeyValue> {
    fn attributes(&self) -> &[KeyValue] {
        self
    }
}

/// The value of attribute `key`, if present (the last one wins on duplicates).
pub fn attr<'a>(item: &'a (impl HasAttributes + ?Sized), key: &str) -> Option<&'a Value> {
    item.attributes()
        .iter()
        .rev()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

/// The string value of attribute `key` (`None` if absent or not a string).
pub fn attr_str<'a>(item: &'a (impl HasAttributes + ?Sized), key: &str) -> Option<&'a str> {
    match attr(item, key) {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// The integer value of attribute `key` (`None` if absent or not an integer).
pub fn attr_i64(item: &(impl HasAttributes + ?Sized), key: &str) -> Option<i64> {
    match attr(item, key) {
        Some(Value::IntValue(i)) => Some(*i),
        _ => None,
    }
}

/// The double value of attribute `key` (`None` if absent or not a double).
pub fn attr_f64(item: &(impl HasAttributes + ?Sized), key: &str) -> Option<f64> {
    match attr(item, key) {
        Some(Value::DoubleValue(d)) => Some(*d),
        _ => None,
    }
}

/// The bool value of attribute `key` (`None` if absent or not a bool).
pub fn attr_bool(item: &(impl HasAttributes + ?Sized), key: &str) -> Option<bool> {
    match attr(item, key) {
        Some(Value::BoolValue(b)) => Some(*b),
        _ => None,
    }
}

/// Any attribute value as display text (`"gpt-4o"` → `gpt-4o`, `42` → `42`, arrays as
/// `[a, b]`), for quick comparisons.
pub fn attr_text(item: &(impl HasAttributes + ?Sized), key: &str) -> Option<String> {
    attr(item, key).map(value_text)
}

fn value_text(value: &Value) -> String {
    match value {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        Value::ArrayValue(a) => {
            let items: Vec<String> = a
                .values
                .iter()
                .filter_map(|v| v.value.as_ref())
                .map(value_text)
                .collect();
            format!("[{}]", items.join(", "))
        }
        Value::KvlistValue(kv) => {
            let items: Vec<String> = kv
                .values
                .iter()
                .map(|kv| {
                    let v = kv
                        .value
                        .as_ref()
                        .and_then(|v| v.value.as_ref())
                        .map(value_text)
                        .unwrap_or_default();
                    format!("{}={v}", kv.key)
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::BytesValue(b) => hex(b),
        Value::StringValueStrindex(i) => format!("strindex:{i}"),
    }
}

/// Lowercase hex of an id (`trace_id`, `span_id`, `parent_span_id`); `""` for an empty id.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpStream;

    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    use super::*;

    fn kv(k: &str, v: Value) -> KeyValue {
        KeyValue {
            key: k.to_owned(),
            value: Some(AnyValue { value: Some(v) }),
            ..KeyValue::default()
        }
    }

    fn body(names: &[&str]) -> Vec<u8> {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", Value::StringValue("svc".into()))],
                    ..Resource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: names
                        .iter()
                        .map(|n| Span {
                            name: (*n).to_owned(),
                            span_id: vec![0, 0, 0, 0, 0, 0, 0, 1],
                            ..Span::default()
                        })
                        .collect(),
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
        .encode_to_vec()
    }

    /// Sends one raw HTTP/1.1 request and returns the response status code.
    fn send(addr: SocketAddr, head: &str, body: &[u8]) -> u16 {
        let mut stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let request = format!(
            "{head}\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let mut response = String::new();
        let sent = stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.read_to_string(&mut response));
        if let Err(e) = sent {
            panic!("{e}");
        }
        response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    const PROTOBUF: &str = "content-type: application/x-protobuf";

    #[test]
    fn http_receiver_decodes_plain_and_gzip() {
        let receiver = HttpReceiver::start();
        let head = format!("POST /v1/traces HTTP/1.1\r\n{PROTOBUF}");
        assert_eq!(send(receiver.addr(), &head, &body(&["a"])), 200);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let zipped = gz
            .write_all(&body(&["b", "c"]))
            .and_then(|()| gz.finish())
            .unwrap_or_default();
        let head = format!("{head}\r\ncontent-encoding: gzip\r\nx-custom: 1");
        assert_eq!(send(receiver.addr(), &head, &zipped), 200);

        let spans = receiver.wait_for_spans(3, Duration::from_secs(5));
        let names: Vec<_> = spans.iter().map(|s| s.span.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(attr_str(&spans[0].resource, "service.name"), Some("svc"));
        assert_eq!(hex(&spans[0].span.span_id), "0000000000000001");
        let requests = receiver.requests();
        assert_eq!(requests[1].header("X-Custom"), Some("1"));
        assert_eq!(requests[1].method, "POST");
        assert_eq!(requests[1].path, "/v1/traces");
    }

    #[test]
    fn http_receiver_rejects_what_otlp_would_not_send() {
        let receiver = HttpReceiver::start();
        let addr = receiver.addr();
        let cases = [
            (
                format!("POST /v1/logs HTTP/1.1\r\n{PROTOBUF}"),
                body(&["x"]),
                404,
            ),
            (
                format!("GET /v1/traces HTTP/1.1\r\n{PROTOBUF}"),
                Vec::new(),
                405,
            ),
            (
                "POST /v1/traces HTTP/1.1\r\ncontent-type: application/json".to_owned(),
                b"{}".to_vec(),
                415,
            ),
            (
                format!("POST /v1/traces HTTP/1.1\r\n{PROTOBUF}"),
                vec![0xff, 0xff, 0xff],
                400,
            ),
        ];
        for (head, payload, status) in cases {
            assert_eq!(send(addr, &head, &payload), status, "{head}");
        }
        let requests = receiver.wait_for_requests(4, Duration::from_secs(5));
        assert_eq!(requests.len(), 4);
        assert!(requests.iter().all(|r| !r.accepted && r.error.is_some()));
        assert!(receiver.spans().is_empty());
    }

    #[test]
    fn http_receiver_fails_then_recovers() {
        let receiver = HttpReceiver::start();
        let head = format!("POST /v1/traces HTTP/1.1\r\n{PROTOBUF}");
        receiver.respond_with_status_times(503, 2);
        assert_eq!(send(receiver.addr(), &head, &body(&["a"])), 503);
        assert_eq!(send(receiver.addr(), &head, &body(&["a"])), 503);
        assert_eq!(send(receiver.addr(), &head, &body(&["a"])), 200);
        assert_eq!(receiver.spans().len(), 1, "only accepted requests count");
        assert_eq!(receiver.requests().len(), 3);

        receiver.respond_with_status(401);
        assert_eq!(send(receiver.addr(), &head, &body(&["a"])), 401);
        receiver.respond_ok();
        assert_eq!(send(receiver.addr(), &head, &body(&["a"])), 200);
        receiver.clear();
        assert!(receiver.requests().is_empty());
    }

    #[test]
    fn wait_for_spans_gives_up_after_timeout() {
        let receiver = GrpcReceiver::start();
        let started = Instant::now();
        assert!(receiver
            .wait_for_spans(1, Duration::from_millis(100))
            .is_empty());
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn attribute_helpers() {
        let attrs = vec![
            kv("s", Value::StringValue("x".to_owned())),
            kv("i", Value::IntValue(3)),
            kv("d", Value::DoubleValue(0.5)),
            kv("b", Value::BoolValue(true)),
        ];
        assert_eq!(attr_str(&attrs, "s"), Some("x"));
        assert_eq!(attr_i64(&attrs, "i"), Some(3));
        assert_eq!(attr_f64(&attrs, "d"), Some(0.5));
        assert_eq!(attr_bool(&attrs, "b"), Some(true));
        assert_eq!(attr_str(&attrs, "i"), None);
        assert_eq!(attr_str(&attrs, "missing"), None);
        assert_eq!(attr_text(&attrs, "i").as_deref(), Some("3"));
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }
}
