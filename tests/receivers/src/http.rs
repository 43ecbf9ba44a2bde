//! [`HttpReceiver`]: OTLP/HTTP with protobuf bodies, gzip or not.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use crate::request::{header_list, ReceivedRequest, ReceivedSpan};
use crate::server::ServerThread;
use crate::store::{lock, receiver_accessors, Reply, Store};

/// An OTLP/HTTP (protobuf) trace receiver on `127.0.0.1`.
///
/// Accepts `POST /v1/traces` with `content-type: application/x-protobuf` (gzip or not); answers
/// 404 for other paths, 405 for other methods, 415 for other content types and 400 for bodies
/// that do not decode. Every request is recorded.
///
/// ```
/// use zdk_trace_receivers::HttpReceiver;
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
        self.store.set_reply(Reply::Http(status, None), None);
    }

    /// Answers the next `times` valid requests with `status`, then success again.
    pub fn respond_with_status_times(&self, status: u16, times: usize) {
        self.store.set_reply(Reply::Http(status, None), Some(times));
    }

    /// Answers every following valid request with `status` and `Retry-After: {seconds}`
    /// until [`respond_ok`](Self::respond_ok).
    pub fn respond_with_retry_after(&self, status: u16, seconds: u64) {
        self.store
            .set_reply(Reply::Http(status, Some(seconds)), None);
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
        Reply::Http(status, retry_after) => {
            let mut response = StatusCode::from_u16(status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response();
            if let Some(seconds) = retry_after {
                if let Ok(value) = seconds.to_string().parse() {
                    response.headers_mut().insert("retry-after", value);
                }
            }
            response
        }
        Reply::Grpc(code, message) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{code:?}: {message}"),
        )
            .into_response(),
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpStream;

    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;
    use crate::attrs::tests::kv;
    use crate::{attr_str, hex};

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
}
