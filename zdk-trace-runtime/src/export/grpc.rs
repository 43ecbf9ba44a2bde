//! OTLP/gRPC: the `TraceService/Export` unary call, made on an HTTP/2 connection driven by the
//! h2 crate directly. The already-encoded request is sent as the message (no protobuf structs,
//! no copy into a codec's buffer: the 5-byte gRPC message header and the request go out as two
//! DATA payloads), the answer's body is read and dropped (an `ExportTraceServiceResponse` only
//! reports partial success), and the call's status is read from the response head or its
//! trailers with tonic's parser. One connection per endpoint, dialled on first use and again
//! after it breaks; its socket gathers an export's HTTP/2 frames into one write
//! ([`super::gather`]).
//!
//! Why not tonic's channel: its buffer task, reconnecting service and codec put two more task
//! hops and a copy of the request between an export and the connection, which was a third of
//! the exporter thread's CPU per span over gRPC (BENCHMARKS.md, issue 12).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf as _, Bytes};
use h2::client::SendRequest;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, TE, USER_AGENT};
use http::{Method, Request, Uri, Version};
use tokio::net::TcpStream;
use tonic::{Code, Status};

use super::gather::{Gathered, Pins};
use super::wire::SendError;
use crate::lock::lock;

/// The trace service's export method.
pub(crate) const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// The metrics service's export method.
pub(crate) const METRICS_PATH: &str =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// What the exporter says it is (the OTLP specification asks exporters to identify
/// themselves).
const USER_AGENT_VALUE: &str = concat!("zdk-trace/", env!("CARGO_PKG_VERSION"));

/// Sends encoded `ExportTraceServiceRequest`s to one OTLP/gRPC endpoint.
#[derive(Clone)]
pub(crate) struct GrpcSender {
    /// `http://host:port` and the method's path.
    uri: Uri,
    /// Where to dial.
    host: String,
    port: u16,
    /// The request's headers: the configured ones, then gRPC's own.
    headers: HeaderMap,
    gzip: bool,
    /// The connection's request handle, once dialled; `None` again when it broke.
    connection: Arc<Mutex<Option<SendRequest<Bytes>>>>,
    /// The message's buffers while a call is out, for the socket to send without a copy.
    pins: Pins,
}

/// Unpins a call's buffers when it ends, however it ends (a timeout drops the call).
struct PinnedForTheCall<'a>(&'a Pins);

impl Drop for PinnedForTheCall<'_> {
    fn drop(&mut self) {
        lock(self.0).clear();
    }
}

impl std::fmt::Debug for GrpcSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcSender")
            .field("uri", &self.uri)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl GrpcSender {
    /// Nothing is dialled here: the connection is made by the first [`send`](Self::send), on
    /// the runtime that drives the exports (its task is spawned there).
    pub(crate) fn new(
        endpoint: &str,
        mut headers: HeaderMap,
        gzip: bool,
        timeout: Duration,
        path: &'static str,
    ) -> Result<GrpcSender, String> {
        let base: Uri = endpoint.parse().map_err(|e| format!("{e}"))?;
        let (Some(scheme), Some(authority)) = (base.scheme(), base.authority()) else {
            return Err(format!("{endpoint} is not an absolute URL"));
        };
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = authority.port_u16().unwrap_or(80);
        let uri = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|e| e.to_string())?;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if gzip {
            headers.insert("grpc-encoding", HeaderValue::from_static("gzip"));
        }
        // The deadline the server may apply (at most 8 digits, in milliseconds).
        let millis = timeout.as_millis().clamp(1, 99_999_999);
        if let Ok(value) = HeaderValue::from_str(&format!("{millis}m")) {
            headers.insert("grpc-timeout", value);
        }
        Ok(GrpcSender {
            uri,
            host,
            port,
            headers,
            gzip,
            connection: Arc::new(Mutex::new(None)),
            pins: Pins::default(),
        })
    }

    /// One attempt: the unary call, its status mapped to a [`SendError`]. The message is
    /// `parts` one after the other, each sent as it is (see [`OtlpSender::attempt`]).
    ///
    /// [`OtlpSender::attempt`]: super::OtlpSender::attempt
    pub(crate) async fn send(&self, parts: &[Bytes]) -> Result<(), SendError> {
        let gzipped;
        let (flag, message) = if self.gzip {
            gzipped = [super::wire::gzip(parts)?];
            (1, &gzipped[..])
        } else {
            (0, parts)
        };
        let len = message.iter().map(Bytes::len).sum::<usize>();
        let Ok(len) = u32::try_from(len) else {
            return Err(SendError::Connect(format!(
                "a request of {len} bytes is over gRPC's 4 GiB message limit"
            )));
        };
        let mut head = [flag, 0, 0, 0, 0];
        head[1..].copy_from_slice(&len.to_be_bytes());

        let mut send = self.ready().await?;
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = Version::HTTP_2;
        *request.headers_mut() = self.headers.clone();
        let (response, mut stream) = send
            .send_request(request, false)
            .map_err(|e| self.broken(&e))?;
        lock(&self.pins).extend(message.iter().cloned());
        let _pinned = PinnedForTheCall(&self.pins);
        stream
            .send_data(Bytes::copy_from_slice(&head), message.is_empty())
            .map_err(|e| self.broken(&e))?;
        for (i, part) in message.iter().enumerate() {
            stream
                .send_data(part.clone(), i + 1 == message.len())
                .map_err(|e| self.broken(&e))?;
        }

        let response = response.await.map_err(|e| self.broken(&e))?;
        let (parts, mut body) = response.into_parts();
        if parts.status != http::StatusCode::OK {
            return Err(SendError::Grpc {
                code: code_of_http_status(parts.status.as_u16()),
                retry_after: None,
            });
        }
        // A trailers-only answer (an error, usually) has its status in the head.
        if let Some(status) = Status::from_header_map(&parts.headers) {
            return result_of(&status);
        }
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| self.broken(&e))?;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        let trailers = body.trailers().await.map_err(|e| self.broken(&e))?;
        match trailers.as_ref().and_then(Status::from_header_map) {
            Some(status) => result_of(&status),
            None => Err(SendError::Grpc {
                code: Code::Unknown,
                retry_after: None,
            }),
        }
    }

    /// The connection's request handle, ready for a new call: the one kept, or, if there is
    /// none or it broke (a collector that closed an idle connection), a new connection.
    async fn ready(&self) -> Result<SendRequest<Bytes>, SendError> {
        let kept = lock(&self.connection).take();
        if let Some(send) = kept {
            if let Ok(send) = send.ready().await {
                *lock(&self.connection) = Some(send.clone());
                return Ok(send);
            }
        }
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| SendError::Connect(e.to_string()))?;
        // The server's answer must not wait for a delayed ACK.
        stream
            .set_nodelay(true)
            .map_err(|e| SendError::Connect(e.to_string()))?;
        let (send, connection) =
            h2::client::handshake(Gathered::new(stream, Arc::clone(&self.pins)))
                .await
                .map_err(|e| SendError::Connect(format!("HTTP/2 handshake failed: {e}")))?;
        // Driven on the exporter's runtime; it ends when the connection does (the next call
        // then finds the handle broken and dials again).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let send = send
            .ready()
            .await
            .map_err(|e| SendError::Connect(format!("HTTP/2 connection refused the call: {e}")))?;
        *lock(&self.connection) = Some(send.clone());
        Ok(send)
    }

    /// The connection broke under a call: forgotten, so the next call dials again.
    fn broken(&self, error: &h2::Error) -> SendError {
        *lock(&self.connection) = None;
        SendError::Connect(format!("the HTTP/2 connection failed: {error}"))
    }
}

/// `Ok` for an OK status, else its [`SendError`].
fn result_of(status: &Status) -> Result<(), SendError> {
    if status.code() == Code::Ok {
        Ok(())
    } else {
        Err(status_error(status))
    }
}

/// The gRPC code of an answer that is not HTTP 200, as gRPC's HTTP mapping gives it.
fn code_of_http_status(status: u16) -> Code {
    match status {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

fn status_error(status: &Status) -> SendError {
    let retry_after = (status.code() == Code::ResourceExhausted
        || status.code() == Code::Unavailable)
        .then(|| retry_delay(status))
        .flatten();
    SendError::Grpc {
        code: status.code(),
        retry_after,
    }
}

/// The delay of a `google.rpc.RetryInfo` in the status details, if the server sent one.
///
/// The details are a `google.rpc.Status` message; `RetryInfo` is one of its `details` (`Any`,
/// field 3) with the type URL below, holding a `google.protobuf.Duration` (field 1) of seconds
/// (field 1) and nanos (field 2). Decoded with prost's wire primitives: three tiny messages do
/// not justify a dependency on `tonic-types`.
fn retry_delay(status: &Status) -> Option<Duration> {
    use prost::encoding::{decode_key, decode_varint, WireType};
    fn fields<'a>(mut buf: &'a [u8], mut f: impl FnMut(u32, &'a [u8], u64)) -> Option<()> {
        while !buf.is_empty() {
            let (tag, wire) = decode_key(&mut buf).ok()?;
            match wire {
                WireType::Varint => f(tag, &[], decode_varint(&mut buf).ok()?),
                WireType::LengthDelimited => {
                    let len = usize::try_from(decode_varint(&mut buf).ok()?).ok()?;
                    let value = buf.get(..len)?;
                    f(tag, value, 0);
                    buf.advance(len);
                }
                WireType::SixtyFourBit => buf.advance(8.min(buf.len())),
                WireType::ThirtyTwoBit => buf.advance(4.min(buf.len())),
                _ => return None,
            }
        }
        Some(())
    }
    const RETRY_INFO: &[u8] = b"type.googleapis.com/google.rpc.RetryInfo";
    let mut delay = None;
    fields(status.details(), |tag, detail, _| {
        if tag != 3 {
            return;
        }
        let (mut url, mut value) = (&[][..], &[][..]);
        let _ = fields(detail, |tag, bytes, _| match tag {
            1 => url = bytes,
            2 => value = bytes,
            _ => {}
        });
        if url != RETRY_INFO {
            return;
        }
        let _ = fields(value, |tag, duration, _| {
            if tag != 1 {
                return;
            }
            let (mut secs, mut nanos) = (0, 0);
            let _ = fields(duration, |tag, _, v| match tag {
                1 => secs = v,
                2 => nanos = v,
                _ => {}
            });
            delay = Some(
                Duration::from_secs(secs.min(60)) + Duration::from_nanos(nanos % 1_000_000_000),
            );
        });
    })?;
    delay
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `google.rpc.Status{details: [Any{type_url: RetryInfo, value: RetryInfo{retry_delay:
    /// Duration{seconds: 2, nanos: 500_000_000}}}]}`, encoded by hand.
    fn status_with_retry_info() -> Status {
        let duration = [0x08, 0x02, 0x10, 0x80, 0xca, 0xb5, 0xee, 0x01];
        let mut retry_info = vec![0x0a, duration.len() as u8];
        retry_info.extend_from_slice(&duration);
        let url = b"type.googleapis.com/google.rpc.RetryInfo";
        let mut any = vec![0x0a, url.len() as u8];
        any.extend_from_slice(url);
        any.extend_from_slice(&[0x12, retry_info.len() as u8]);
        any.extend_from_slice(&retry_info);
        let mut details = vec![0x08, 0x08, 0x1a, any.len() as u8];
        details.extend_from_slice(&any);
        Status::with_details(Code::ResourceExhausted, "slow down", Bytes::from(details))
    }

    #[test]
    fn retry_info_in_the_details_sets_the_delay() {
        let error = status_error(&status_with_retry_info());
        assert!(error.retryable());
        assert!(
            matches!(
                error,
                SendError::Grpc {
                    code: Code::ResourceExhausted,
                    retry_after: Some(d)
                } if d == Duration::from_millis(2_500)
            ),
            "{error:?}"
        );
    }

    #[test]
    fn resource_exhausted_without_retry_info_is_final() {
        let error = status_error(&Status::new(Code::ResourceExhausted, "quota"));
        assert!(!error.retryable(), "{error:?}");
        assert!(status_error(&Status::new(Code::Unavailable, "down")).retryable());
        assert!(!status_error(&Status::new(Code::PermissionDenied, "key")).retryable());
    }

    #[test]
    fn an_answer_that_is_not_http_200_maps_as_grpc_says() {
        assert_eq!(code_of_http_status(503), Code::Unavailable);
        assert_eq!(code_of_http_status(429), Code::Unavailable);
        assert_eq!(code_of_http_status(401), Code::Unauthenticated);
        assert_eq!(code_of_http_status(404), Code::Unimplemented);
        assert_eq!(code_of_http_status(500), Code::Unknown);
    }

    #[test]
    fn an_endpoint_without_a_host_is_refused() {
        let build = |endpoint| {
            GrpcSender::new(
                endpoint,
                HeaderMap::new(),
                false,
                Duration::from_secs(1),
                TRACES_PATH,
            )
        };
        assert!(build("127.0.0.1:4317").is_err());
        let sender = build("http://[::1]:4317/ignored").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((sender.host.as_str(), sender.port), ("::1", 4317));
        assert_eq!(
            sender.uri.to_string(),
            format!("http://[::1]:4317{TRACES_PATH}")
        );
    }

    #[test]
    fn the_server_message_is_not_kept() {
        let error = status_error(&Status::new(Code::Unauthenticated, "token sk-123 invalid"));
        assert!(!error.to_string().contains("sk-123"), "{error}");
    }
}
