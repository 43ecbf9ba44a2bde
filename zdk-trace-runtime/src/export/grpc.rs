//! OTLP/gRPC: the `TraceService/Export` unary call through a tonic channel, with a codec that
//! writes the already-encoded request as the message (no protobuf structs on this side) and
//! discards the answer's body (an `ExportTraceServiceResponse` only reports partial success).
//! The channel dials through [`Connector`], whose socket gathers an export's HTTP/2 frames into
//! one write ([`super::gather`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes};
use http::uri::PathAndQuery;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::gather::Gathered;
use super::wire::SendError;

/// The trace service's export method.
pub(crate) const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// The metrics service's export method.
pub(crate) const METRICS_PATH: &str =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// Sends encoded `ExportTraceServiceRequest`s to one OTLP/gRPC endpoint.
#[derive(Debug, Clone)]
pub(crate) struct GrpcSender {
    client: tonic::client::Grpc<Channel>,
    metadata: MetadataMap,
    timeout: Duration,
    /// The service method called ([`TRACES_PATH`] or [`METRICS_PATH`]).
    path: &'static str,
}

impl GrpcSender {
    /// Must run inside the tokio runtime that will drive the exports: the channel's worker
    /// task is spawned on it (lazily connected: nothing is dialled here).
    pub(crate) fn new(
        endpoint: &str,
        headers: http::HeaderMap,
        gzip: bool,
        timeout: Duration,
        path: &'static str,
    ) -> Result<GrpcSender, String> {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| e.to_string())?
            .timeout(timeout)
            .connect_with_connector_lazy(Connector);
        let mut client = tonic::client::Grpc::new(channel);
        if gzip {
            client = client
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        Ok(GrpcSender {
            client,
            metadata: MetadataMap::from_headers(headers),
            timeout,
            path,
        })
    }

    /// One attempt: the unary call, its status mapped to a [`SendError`].
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), SendError> {
        let mut client = self.client.clone();
        client
            .ready()
            .await
            .map_err(|e| SendError::Connect(format!("gRPC channel not ready: {e}")))?;
        let mut request =
            tonic::Request::from_parts(self.metadata.clone(), http::Extensions::default(), body);
        request.set_timeout(self.timeout);
        client
            .unary(request, PathAndQuery::from_static(self.path), RawCodec)
            .await
            .map(drop)
            .map_err(|status| status_error(&status))
    }
}

/// Dials an `http://` endpoint for the channel: TCP without Nagle's delay (the server's answer
/// must not wait for a delayed ACK), writes gathered per export ([`Gathered`]).
#[derive(Debug, Clone, Copy)]
struct Connector;

type Socket = TokioIo<Gathered<TcpStream>>;
type Connecting = Pin<Box<dyn Future<Output = std::io::Result<Socket>> + Send>>;

impl tower_service::Service<http::Uri> for Connector {
    type Response = Socket;
    type Error = std::io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Connecting {
        Box::pin(async move {
            let Some(host) = uri.host() else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("no host in the endpoint {uri}"),
                ));
            };
            // An IPv6 literal comes bracketed (`[::1]`); the resolver wants it bare.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let stream = TcpStream::connect((host, uri.port_u16().unwrap_or(80))).await?;
            stream.set_nodelay(true)?;
            Ok(TokioIo::new(Gathered::new(stream)))
        })
    }
}

fn status_error(status: &Status) -> SendError {
    // A status tonic made itself from a transport failure (refused, reset, DNS) carries the
    // cause as its source; the server's own statuses have none.
    if let Some(source) = std::error::Error::source(status) {
        return SendError::Connect(source.to_string());
    }
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

/// Writes the request bytes as they are; reads the answer's bytes and drops them.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        let n = src.remaining();
        src.advance(n);
        Ok(Some(()))
    }
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
    fn the_server_message_is_not_kept() {
        let error = status_error(&Status::new(Code::Unauthenticated, "token sk-123 invalid"));
        assert!(!error.to_string().contains("sk-123"), "{error}");
    }
}
