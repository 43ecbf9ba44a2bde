//! [`MetricsReceiver`]: OTLP metrics over gRPC (a tonic `MetricsService`) or HTTP/protobuf
//! (`POST /v1/metrics`, plain or gzip), keeping every decoded `ExportMetricsServiceRequest`.

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message as _;
use tonic::codec::CompressionEncoding;

use crate::server::ServerThread;

/// What a [`MetricsReceiver`] got.
type Received = Arc<Mutex<Vec<ExportMetricsServiceRequest>>>;

/// An OTLP metrics receiver on `127.0.0.1`.
///
/// ```
/// use zdk_trace_receivers::MetricsReceiver;
///
/// let receiver = MetricsReceiver::http();
/// assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));
/// assert!(receiver.requests().is_empty());
/// ```
#[derive(Debug)]
pub struct MetricsReceiver {
    received: Received,
    server: ServerThread,
    path: &'static str,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

#[derive(Debug, Clone)]
struct Service {
    received: Received,
}

#[tonic::async_trait]
impl MetricsService for Service {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        lock(&self.received).push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

async fn handle_http(
    State(received): State<Received>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if uri.path() != "/v1/metrics" {
        return (StatusCode::NOT_FOUND, format!("no {}", uri.path()));
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-protobuf") {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected application/x-protobuf".into(),
        );
    }
    let gzip = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        == Some("gzip");
    let bytes = if gzip {
        let mut out = Vec::new();
        if let Err(e) = flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out) {
            return (StatusCode::BAD_REQUEST, format!("bad gzip: {e}"));
        }
        out
    } else {
        body.to_vec()
    };
    match ExportMetricsServiceRequest::decode(&bytes[..]) {
        Ok(request) => {
            lock(&received).push(request);
            (StatusCode::OK, String::new())
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            format!("not a metrics request: {e}"),
        ),
    }
}

impl MetricsReceiver {
    /// An OTLP/gRPC metrics receiver (accepts gzip).
    pub fn grpc() -> Self {
        let received = Received::default();
        let service = MetricsServiceServer::new(Service {
            received: Arc::clone(&received),
        })
        .accept_compressed(CompressionEncoding::Gzip);
        let server = ServerThread::spawn_grpc("otlp-metrics-grpc-receiver", service);
        MetricsReceiver {
            received,
            server,
            path: "",
        }
    }

    /// An OTLP/HTTP metrics receiver (`POST /v1/metrics`).
    pub fn http() -> Self {
        let received = Received::default();
        let app = axum::Router::new()
            .fallback(handle_http)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(Arc::clone(&received));
        let server =
            ServerThread::spawn("otlp-metrics-http-receiver", move |listener| async move {
                let _ = axum::serve(listener, app).await;
            });
        MetricsReceiver {
            received,
            server,
            path: "/v1/metrics",
        }
    }

    /// The endpoint to configure: `http://127.0.0.1:PORT` for gRPC,
    /// `http://127.0.0.1:PORT/v1/metrics` for HTTP.
    pub fn endpoint(&self) -> String {
        format!("http://{}{}", self.server.addr, self.path)
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ExportMetricsServiceRequest> {
        lock(&self.received).clone()
    }

    /// Waits until `n` requests arrived (or `timeout` passed); the requests so far.
    pub fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Vec<ExportMetricsServiceRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.requests();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
