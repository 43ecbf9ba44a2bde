//! OTLP/HTTP with protobuf bodies: one `POST` of the encoded request per batch, on an HTTP/1.1
//! connection driven by hyper's client connection directly; gzip by flate2 when configured.
//! One connection per endpoint, dialled on first use and again after it closes (a collector
//! that drops idle connections, a restart); the answer's body is read to its end, so the
//! connection stays usable.
//!
//! Why not reqwest's client: its pool, URL handling and request building cost the exporter
//! thread about a third of its CPU per span over HTTP, for features an exporter to one known
//! endpoint does not use (BENCHMARKS.md, issue 12).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, HOST, RETRY_AFTER, USER_AGENT,
};
use http::{Method, Request, Uri};
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::wire::SendError;
use crate::lock::lock;

/// Sends encoded `ExportTraceServiceRequest`s to one OTLP/HTTP endpoint.
pub(crate) struct HttpSender {
    /// The request target: the endpoint's path and query (origin form).
    target: Uri,
    /// Where to dial.
    host: String,
    port: u16,
    /// The request's headers: `Host`, the configured ones, then the exporter's own.
    headers: HeaderMap,
    gzip: bool,
    /// The connection's request handle while no request uses it; `None` before the first
    /// request and after the connection closed.
    connection: Arc<Mutex<Option<SendRequest<Parts>>>>,
}

impl std::fmt::Debug for HttpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSender")
            .field("target", &self.target)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl HttpSender {
    /// `headers` are the configured ones, already validated; later ones win. Nothing is
    /// dialled here: the first [`send`](Self::send) connects, on the runtime that drives the
    /// exports (the connection's task is spawned there). The timeout is applied by the caller
    /// around each attempt.
    pub(crate) fn new(
        endpoint: &str,
        mut headers: HeaderMap,
        gzip: bool,
        _timeout: Duration,
    ) -> Result<HttpSender, String> {
        let uri: Uri = endpoint.parse().map_err(|e| format!("{e}"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(format!("{endpoint} is not an absolute URL"));
        };
        if scheme != "http" {
            return Err(format!(
                "{endpoint}: only http:// endpoints can be reached (no TLS backend)"
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = authority.port_u16().unwrap_or(80);
        let target = match uri.path_and_query() {
            Some(path) => Uri::from(path.clone()),
            None => Uri::from_static("/"),
        };
        let host_header = HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?;
        headers.insert(HOST, host_header);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Ok(HttpSender {
            target,
            host,
            port,
            headers,
            gzip,
            connection: Arc::new(Mutex::new(None)),
        })
    }

    /// One attempt: `POST` the request (`parts` one after the other: see
    /// [`OtlpSender::attempt`]) and read the answer.
    ///
    /// [`OtlpSender::attempt`]: super::OtlpSender::attempt
    pub(crate) async fn send(&self, parts: &[Bytes]) -> Result<(), SendError> {
        let body = if self.gzip {
            Parts::new(std::slice::from_ref(&super::wire::gzip(parts)?))
        } else {
            Parts::new(parts)
        };
        let mut send = self.ready().await?;
        let mut request = Request::new(body);
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.target.clone();
        *request.headers_mut() = self.headers.clone();
        let response = send.send_request(request).await.map_err(broken)?;
        let status = response.status();
        let retry_after = if status.is_success() {
            None
        } else {
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|secs| Duration::from_secs(secs.min(60)))
        };
        // Read to the end, so the connection can take the next request. A partial success
        // (some spans rejected) is still a success for the batch, as in the SDK. The body
        // (an error message, on an error status) is not kept: collectors echo credentials.
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            frame.map_err(broken)?;
        }
        if !send.is_closed() {
            *lock(&self.connection) = Some(send);
        }
        if status.is_success() {
            return Ok(());
        }
        Err(SendError::Http {
            status: status.as_u16(),
            retry_after,
        })
    }

    /// The connection's request handle, ready for a request: the one kept, or, if there is
    /// none or it closed (a collector that dropped an idle connection), a new connection.
    async fn ready(&self) -> Result<SendRequest<Parts>, SendError> {
        let kept = lock(&self.connection).take();
        if let Some(mut send) = kept {
            if send.ready().await.is_ok() {
                return Ok(send);
            }
        }
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| SendError::Connect(e.to_string()))?;
        // The request goes out at once (headers and body in one write), its answer too.
        stream
            .set_nodelay(true)
            .map_err(|e| SendError::Connect(e.to_string()))?;
        let (mut send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| SendError::Connect(format!("HTTP/1.1 handshake failed: {e}")))?;
        // Driven on the exporter's runtime; it ends when the connection does (the next
        // request then finds the handle closed and dials again).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        send.ready()
            .await
            .map_err(|e| SendError::Connect(format!("the new connection closed: {e}")))?;
        Ok(send)
    }
}

/// A request body of several buffers, sent one after the other without being copied together,
/// with its exact length announced (`Content-Length`). hyper queues them behind the head and
/// writes them all with one `writev`.
#[derive(Debug)]
pub(crate) struct Parts {
    parts: std::collections::VecDeque<Bytes>,
    left: u64,
}

impl Parts {
    fn new(parts: &[Bytes]) -> Parts {
        Parts {
            parts: parts.iter().filter(|p| !p.is_empty()).cloned().collect(),
            left: parts.iter().map(|p| p.len() as u64).sum(),
        }
    }
}

impl Body for Parts {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let part = self.parts.pop_front();
        if let Some(part) = &part {
            self.left -= part.len() as u64;
        }
        std::task::Poll::Ready(part.map(|part| Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// The connection failed under a request (its handle is dropped with it: the next request
/// dials again), with hyper's error and its causes.
fn broken(error: hyper::Error) -> SendError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SendError::Connect(message)
}

/// What the exporter says it is (the OTLP specification asks exporters to identify
/// themselves).
const USER_AGENT_VALUE: &str = concat!("zdk-trace/", env!("CARGO_PKG_VERSION"));

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(endpoint: &str) -> Result<HttpSender, String> {
        HttpSender::new(endpoint, HeaderMap::new(), false, Duration::from_secs(1))
    }

    #[test]
    fn the_endpoint_gives_the_address_the_target_and_the_host_header() {
        let s = sender("http://collector.example:4318/v1/traces").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.host.as_str(), s.port), ("collector.example", 4318));
        assert_eq!(s.target, "/v1/traces");
        assert_eq!(s.headers[HOST], "collector.example:4318");
        assert_eq!(s.headers[CONTENT_TYPE], "application/x-protobuf");
        assert!(s.headers.get(CONTENT_ENCODING).is_none());

        let s = sender("http://[::1]/v1/metrics?x=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.host.as_str(), s.port), ("::1", 80));
        assert_eq!(s.target, "/v1/metrics?x=1");
        assert_eq!(s.headers[HOST], "[::1]");
    }

    #[test]
    fn gzip_is_announced_and_what_cannot_be_dialled_is_refused() {
        let s = HttpSender::new(
            "http://127.0.0.1:4318/v1/traces",
            HeaderMap::new(),
            true,
            Duration::from_secs(1),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.headers[CONTENT_ENCODING], "gzip");
        assert!(
            sender("https://127.0.0.1:4318/v1/traces").is_err_and(|e| e.contains("no TLS backend"))
        );
        assert!(sender("/v1/traces").is_err_and(|e| e.contains("not an absolute URL")));
    }

    #[tokio::test]
    async fn a_connection_the_collector_closed_while_idle_is_replaced() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        // Answers one request per connection, then closes it (as an idle timeout would).
        let server = tokio::spawn(async move {
            let mut accepted = 0;
            while accepted < 2 {
                let (mut socket, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
                accepted += 1;
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.ends_with(b"body") {
                    let n = socket
                        .read(&mut buf)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert!(n > 0, "the request ended early");
                    seen.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&seen).to_string();
                assert!(head.starts_with("POST /v1/traces HTTP/1.1\r\n"), "{head}");
                assert!(head.contains("content-length: 4\r\n"), "{head}");
                socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                drop(socket);
            }
            accepted
        });
        let s =
            sender(&format!("http://127.0.0.1:{port}/v1/traces")).unwrap_or_else(|e| panic!("{e}"));
        s.send(&[Bytes::from_static(b"body")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Let the connection's task see the close.
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.send(&[Bytes::from_static(b"body")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(server.await.unwrap_or_else(|e| panic!("{e}")), 2);
    }
}
