//! [`GrpcReceiver`]: OTLP/gRPC, a tonic `TraceService` that accepts gzip.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;

use crate::request::{header_list, ReceivedRequest, ReceivedSpan};
use crate::server::ServerThread;
use crate::store::{lock, receiver_accessors, Reply, Store};
use crate::GrpcCode;

/// The gRPC method every OTLP trace export calls.
pub const GRPC_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// An OTLP/gRPC trace receiver on `127.0.0.1`.
///
/// ```
/// use zdk_trace_receivers::GrpcReceiver;
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
            Reply::Http(status, _) => Err(tonic::Status::unknown(format!("http status {status}"))),
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn wait_for_spans_gives_up_after_timeout() {
        let receiver = GrpcReceiver::start();
        let started = Instant::now();
        assert!(receiver
            .wait_for_spans(1, Duration::from_millis(100))
            .is_empty());
        assert!(started.elapsed() >= Duration::from_millis(100));
    }
}
