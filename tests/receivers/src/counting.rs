//! [`CountingReceiver`]: an OTLP receiver for benchmarks that only counts spans.
//!
//! [`GrpcReceiver`](crate::GrpcReceiver) and [`HttpReceiver`](crate::HttpReceiver) keep every
//! decoded request, which is what tests want and far too slow for a throughput bench (at a
//! million spans a second, the receiver would be the bottleneck). This one walks the protobuf
//! wire format of each `ExportTraceServiceRequest` without allocating ([`count_spans`]) and adds
//! the count to an atomic. It can also be told to hold every answer back for a while, to stall
//! the exporter on the other side.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use prost::bytes::Buf;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{http, BoxFuture, Context, Poll, Service, StdError};

use crate::grpc::GRPC_EXPORT_PATH;
use crate::server::ServerThread;

/// Why [`count_spans`] could not walk a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError(&'static str);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed protobuf: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// Reads a base-128 varint at `*pos`.
fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or(WireError("truncated varint"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError("varint longer than 10 bytes"))
}

/// Calls `f(field, payload)` for every length-delimited field of the message in `buf`, and
/// skips every other field.
fn for_each_len_field(
    buf: &[u8],
    mut f: impl FnMut(u64, &[u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let field = key >> 3;
        match key & 7 {
            0 => {
                varint(buf, &mut pos)?;
            }
            1 => pos += 8,
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?)
                    .map_err(|_| WireError("length overflows usize"))?;
                let end = pos
                    .checked_add(len)
                    .filter(|&end| end <= buf.len())
                    .ok_or(WireError("length past the end"))?;
                f(field, &buf[pos..end])?;
                pos = end;
            }
            5 => pos += 4,
            _ => return Err(WireError("unsupported wire type")),
        }
        if pos > buf.len() {
            return Err(WireError("fixed-width field past the end"));
        }
    }
    Ok(())
}

/// Counts the spans of an encoded `ExportTraceServiceRequest` without decoding (or
/// allocating) anything: `resource_spans` (field 1) → `scope_spans` (field 2) → `spans`
/// (field 2).
///
/// ```
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
/// use prost::Message;
///
/// let request = ExportTraceServiceRequest {
///     resource_spans: vec![ResourceSpans {
///         scope_spans: vec![ScopeSpans {
///             spans: vec![Span::default(), Span::default()],
///             ..ScopeSpans::default()
///         }],
///         ..ResourceSpans::default()
///     }],
/// };
/// assert_eq!(zdk_trace_receivers::count_spans(&request.encode_to_vec()), Ok(2));
/// ```
pub fn count_spans(body: &[u8]) -> Result<u64, WireError> {
    let mut spans = 0u64;
    for_each_span(body, |_| {
        spans += 1;
        Ok(())
    })?;
    Ok(spans)
}

/// Calls `f` with the bytes of every `Span` of an `ExportTraceServiceRequest`.
fn for_each_span(
    body: &[u8],
    mut f: impl FnMut(&[u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    for_each_len_field(body, |field, resource_spans| {
        if field != 1 {
            return Ok(());
        }
        for_each_len_field(resource_spans, |field, scope_spans| {
            if field != 2 {
                return Ok(());
            }
            for_each_len_field(scope_spans, |field, span| {
                if field == 2 {
                    f(span)?;
                }
                Ok(())
            })
        })
    })
}

/// What [`CountingReceiver::traces`] knows of one trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceCount {
    /// Spans received.
    pub spans: u64,
    /// Of which with status ERROR.
    pub errors: u64,
}

/// A span's trace id and whether its status code is ERROR (2).
fn trace_and_error(span: &[u8]) -> Result<([u8; 16], bool), WireError> {
    let mut trace_id = [0u8; 16];
    let mut error = false;
    for_each_len_field(span, |field, bytes| {
        match field {
            1 if bytes.len() == 16 => trace_id.copy_from_slice(bytes),
            15 => {
                // `Status`: field 3 is the code (varint).
                let mut pos = 0;
                while pos < bytes.len() {
                    let key = varint(bytes, &mut pos)?;
                    match key & 7 {
                        0 => {
                            let value = varint(bytes, &mut pos)?;
                            if key >> 3 == 3 {
                                error = value == 2;
                            }
                        }
                        2 => {
                            let len = usize::try_from(varint(bytes, &mut pos)?)
                                .map_err(|_| WireError("length overflows usize"))?;
                            pos = pos.saturating_add(len);
                        }
                        _ => return Err(WireError("unexpected wire type in Status")),
                    }
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok((trace_id, error))
}

#[derive(Debug, Default)]
struct Counts {
    spans: AtomicU64,
    error_spans: AtomicU64,
    requests: AtomicU64,
    malformed: AtomicU64,
    /// Per-trace counts, kept only once [`CountingReceiver::track_traces`] was called.
    track: AtomicBool,
    traces: Mutex<HashMap<[u8; 16], TraceCount>>,
}

impl Counts {
    /// Counts a request; its span count, `None` when it is malformed.
    fn add(&self, body: &[u8]) -> Option<u64> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let track = self.track.load(Ordering::Relaxed);
        let mut spans = 0u64;
        let mut errors = 0u64;
        let mut seen = Vec::new();
        let walked = for_each_span(body, |span| {
            spans += 1;
            let (trace_id, error) = trace_and_error(span)?;
            errors += u64::from(error);
            if track {
                seen.push((trace_id, error));
            }
            Ok(())
        });
        match walked {
            Ok(()) => {
                self.spans.fetch_add(spans, Ordering::Relaxed);
                self.error_spans.fetch_add(errors, Ordering::Relaxed);
                if track {
                    let mut traces = self.traces.lock().unwrap_or_else(|e| e.into_inner());
                    for (trace_id, error) in seen {
                        let count = traces.entry(trace_id).or_default();
                        count.spans += 1;
                        count.errors += u64::from(error);
                    }
                }
                Some(spans)
            }
            Err(_) => {
                self.malformed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

/// An OTLP trace receiver on `127.0.0.1` (gRPC or HTTP/protobuf) that counts spans and
/// requests and keeps nothing, for benchmarks. Optionally holds every answer back
/// (`stalled`), to model a collector that stopped answering.
///
/// ```
/// use std::time::Duration;
/// use zdk_trace_receivers::CountingReceiver;
///
/// let receiver = CountingReceiver::grpc();
/// assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));
/// assert_eq!(receiver.spans(), 0);
/// assert_eq!(receiver.wait_for_spans(1, Duration::from_millis(10)), 0);
/// ```
#[derive(Debug)]
pub struct CountingReceiver {
    counts: Arc<Counts>,
    server: ServerThread,
}

impl CountingReceiver {
    /// An OTLP/gRPC receiver answering at once.
    pub fn grpc() -> Self {
        Self::grpc_stalled(Duration::ZERO)
    }

    /// An OTLP/gRPC receiver that counts each request on arrival and answers it only after
    /// `delay` (the connection stays open; other requests are served meanwhile).
    pub fn grpc_stalled(delay: Duration) -> Self {
        Self::grpc_answering(delay, Duration::ZERO)
    }

    /// An OTLP/gRPC receiver that takes `per_span` for each span it receives: it answers a
    /// request of `n` spans after `n * per_span`, so it takes `1 s / per_span` spans a second
    /// however the exporter groups them into requests (a collector whose CPU is the limit).
    pub fn grpc_paced(per_span: Duration) -> Self {
        Self::grpc_answering(Duration::ZERO, per_span)
    }

    fn grpc_answering(delay: Duration, per_span: Duration) -> Self {
        let counts = Arc::new(Counts::default());
        let service = CountingGrpc {
            counts: Arc::clone(&counts),
            delay,
            per_span,
        };
        let server = ServerThread::spawn_grpc("otlp-counting-grpc", service);
        CountingReceiver { counts, server }
    }

    /// An OTLP/HTTP receiver (`POST /v1/traces`, protobuf, plain or gzip) answering at once.
    pub fn http() -> Self {
        Self::http_stalled(Duration::ZERO)
    }

    /// An OTLP/HTTP receiver that counts each request on arrival and answers it only after
    /// `delay`.
    pub fn http_stalled(delay: Duration) -> Self {
        let counts = Arc::new(Counts::default());
        let app = axum::Router::new()
            .fallback(count_http)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state((Arc::clone(&counts), delay, Arc::default()));
        let server = ServerThread::spawn("otlp-counting-http", move |listener| async move {
            let _ = axum::serve(listener, app).await;
        });
        CountingReceiver { counts, server }
    }

    /// `http://127.0.0.1:PORT`, for the exporter's endpoint setting.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The address the receiver listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Spans received so far (in well-formed requests).
    pub fn spans(&self) -> u64 {
        self.counts.spans.load(Ordering::Relaxed)
    }

    /// Spans received so far with status ERROR.
    pub fn error_spans(&self) -> u64 {
        self.counts.error_spans.load(Ordering::Relaxed)
    }

    /// From now on, counts the spans (and error spans) of each trace; see [`Self::traces`].
    pub fn track_traces(&self) {
        self.counts.track.store(true, Ordering::Relaxed);
    }

    /// The spans received per trace id since [`Self::track_traces`].
    pub fn traces(&self) -> HashMap<[u8; 16], TraceCount> {
        self.counts
            .traces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests received so far, well-formed or not.
    pub fn requests(&self) -> u64 {
        self.counts.requests.load(Ordering::Relaxed)
    }

    /// Requests whose body could not be walked (answered with an error).
    pub fn malformed(&self) -> u64 {
        self.counts.malformed.load(Ordering::Relaxed)
    }

    /// Polls every millisecond until at least `n` spans arrived or `timeout` passed; returns
    /// [`spans`](Self::spans).
    pub fn wait_for_spans(&self, n: u64, timeout: Duration) -> u64 {
        let deadline = std::time::Instant::now() + timeout;
        while self.spans() < n && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.spans()
    }
}

/// Request bodies' buffers, reused: a body is a few hundred kilobytes, and one allocated per
/// request (axum's `Bytes` extractor) cost the receiver a page fault per 4 KiB, a third of its
/// CPU, on the same cores as the exporter it measures.
#[derive(Debug, Default)]
struct BodyBuffers(Mutex<Vec<Vec<u8>>>);

impl BodyBuffers {
    fn take(&self) -> Vec<u8> {
        let mut buf = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        buf.clear();
        buf
    }

    fn give_back(&self, buf: Vec<u8>) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < 8 {
            kept.push(buf);
        }
    }
}

type HttpState = (Arc<Counts>, Duration, Arc<BodyBuffers>);

async fn count_http(
    State((counts, delay, buffers)): State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip");
    // Each chunk is copied out and dropped at once, so hyper can reuse its read buffer too.
    let mut buf = buffers.take();
    let mut body = body;
    let mut whole = true;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    buf.extend_from_slice(data);
                }
            }
            Err(_) => {
                whole = false;
                break;
            }
        }
    }
    let ok = whole
        && if gzip {
            let mut plain = Vec::new();
            match flate2::read::GzDecoder::new(&buf[..]).read_to_end(&mut plain) {
                Ok(_) => counts.add(&plain).is_some(),
                Err(_) => false,
            }
        } else {
            counts.add(&buf).is_some()
        };
    buffers.give_back(buf);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if ok {
        // An empty `ExportTraceServiceResponse` encodes to zero bytes.
        (
            [("content-type", "application/x-protobuf")],
            Vec::<u8>::new(),
        )
            .into_response()
    } else {
        StatusCode::BAD_REQUEST.into_response()
    }
}

/// The gRPC side: tonic's unary machinery with a codec whose "message" is the span count.
#[derive(Debug, Clone)]
struct CountingGrpc {
    counts: Arc<Counts>,
    delay: Duration,
    per_span: Duration,
}

impl tonic::server::NamedService for CountingGrpc {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl<B> Service<http::Request<B>> for CountingGrpc
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if req.uri().path() != GRPC_EXPORT_PATH {
                let mut response = http::Response::new(tonic::body::Body::default());
                let headers = response.headers_mut();
                headers.insert(
                    tonic::Status::GRPC_STATUS,
                    (tonic::Code::Unimplemented as i32).into(),
                );
                headers.insert(
                    http::header::CONTENT_TYPE,
                    tonic::metadata::GRPC_CONTENT_TYPE,
                );
                return Ok(response);
            }
            let mut grpc = tonic::server::Grpc::new(CountCodec(Arc::clone(&this.counts)))
                .apply_compression_config(
                    tonic::codegen::EnabledCompressionEncodings::default(),
                    tonic::codegen::EnabledCompressionEncodings::default(),
                )
                .apply_max_message_size_config(Some(usize::MAX), None);
            Ok(grpc.unary(Answer(this.delay, this.per_span), req).await)
        })
    }
}

/// Answers a counted request after the configured delay, plus the time per span for each of
/// its spans.
struct Answer(Duration, Duration);

impl tonic::server::UnaryService<Option<u64>> for Answer {
    type Response = ();
    type Future = BoxFuture<tonic::Response<()>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<Option<u64>>) -> Self::Future {
        let Answer(delay, per_span) = *self;
        Box::pin(async move {
            let spans = request.into_inner();
            let n = u32::try_from(spans.unwrap_or(0)).unwrap_or(u32::MAX);
            let delay = delay + per_span * n;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if spans.is_some() {
                Ok(tonic::Response::new(()))
            } else {
                Err(tonic::Status::invalid_argument("malformed protobuf"))
            }
        })
    }
}

/// Decodes a request into "was it well-formed" (counting its spans on the way); encodes the
/// empty response.
struct CountCodec(Arc<Counts>);

impl Codec for CountCodec {
    type Encode = ();
    type Decode = Option<u64>;
    type Encoder = EmptyEncoder;
    type Decoder = CountDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        EmptyEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        CountDecoder(Arc::clone(&self.0))
    }
}

struct EmptyEncoder;

impl Encoder for EmptyEncoder {
    type Item = ();
    type Error = tonic::Status;

    fn encode(&mut self, (): (), _dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        Ok(())
    }
}

struct CountDecoder(Arc<Counts>);

impl Decoder for CountDecoder {
    type Item = Option<u64>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Option<u64>>, Self::Error> {
        let len = src.remaining();
        let ok = if src.chunk().len() == len {
            self.0.add(src.chunk())
        } else {
            // Not contiguous (does not happen with tonic's buffer, but stay correct).
            let bytes = src.copy_to_bytes(len);
            let ok = self.0.add(&bytes);
            return Ok(Some(ok));
        };
        src.advance(len);
        Ok(Some(ok))
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
    use prost::Message;

    use super::*;
    use crate::attrs::tests::kv;

    /// A request with every kind of field around the spans (varints, fixed64, doubles,
    /// nested messages, events and links), several resources and scopes.
    fn request(shape: &[&[usize]]) -> ExportTraceServiceRequest {
        let span = |i: usize| Span {
            trace_id: vec![7; 16],
            span_id: vec![1; 8],
            parent_span_id: vec![2; 8],
            flags: 257,
            name: format!("span {i}"),
            kind: 3,
            start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            end_time_unix_nano: 1_700_000_000_000_001_000 + i as u64,
            attributes: vec![
                kv("gen_ai.request.model", Value::StringValue("gpt-4o".into())),
                kv("gen_ai.usage.input_tokens", Value::IntValue(-128)),
                kv("x.ratio", Value::DoubleValue(0.25)),
                kv("x.ok", Value::BoolValue(true)),
            ],
            events: vec![Event {
                time_unix_nano: 5,
                name: "exception".into(),
                attributes: vec![kv("a", Value::StringValue("b".into()))],
                dropped_attributes_count: 1,
            }],
            links: vec![Link {
                trace_id: vec![9; 16],
                span_id: vec![3; 8],
                ..Link::default()
            }],
            status: Some(Status {
                message: "boom".into(),
                code: 2,
            }),
            ..Span::default()
        };
        ExportTraceServiceRequest {
            resource_spans: shape
                .iter()
                .map(|scopes| ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![kv("service.name", Value::StringValue("svc".into()))],
                        ..Resource::default()
                    }),
                    scope_spans: scopes
                        .iter()
                        .map(|&n| ScopeSpans {
                            scope: Some(InstrumentationScope {
                                name: "zdk-trace".into(),
                                version: "0.1".into(),
                                ..InstrumentationScope::default()
                            }),
                            spans: (0..n).map(span).collect(),
                            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                        })
                        .collect(),
                    schema_url: "s".into(),
                })
                .collect(),
        }
    }

    fn prost_count(bytes: &[u8]) -> u64 {
        let decoded = match ExportTraceServiceRequest::decode(bytes) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        decoded
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len() as u64)
            .sum()
    }

    #[test]
    fn the_wire_count_equals_a_full_prost_decode() {
        let shapes: &[&[&[usize]]] = &[
            &[],
            &[&[]],
            &[&[0]],
            &[&[1]],
            &[&[512]],
            &[&[3, 0, 200], &[], &[17]],
            &[&[1], &[1], &[1], &[1000]],
        ];
        for shape in shapes {
            let bytes = request(shape).encode_to_vec();
            let expected: u64 = shape.iter().flat_map(|s| s.iter()).sum::<usize>() as u64;
            assert_eq!(prost_count(&bytes), expected);
            assert_eq!(count_spans(&bytes), Ok(expected), "{shape:?}");
        }
    }

    #[test]
    fn malformed_bodies_are_errors_not_counts() {
        let bytes = request(&[&[5]]).encode_to_vec();
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            assert!(count_spans(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(count_spans(&[0x0f]).is_err(), "wire type 7");
    }

    #[test]
    fn counts_what_real_clients_send() {
        use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;

        let receiver = CountingReceiver::grpc();
        let http = CountingReceiver::http();
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("{e}"),
        };
        let body = request(&[&[3, 4], &[5]]);
        rt.block_on(async {
            let mut client = match TraceServiceClient::connect(receiver.endpoint()).await {
                Ok(c) => c,
                Err(e) => panic!("{e}"),
            };
            for _ in 0..3 {
                if let Err(e) = client.export(body.clone()).await {
                    panic!("{e}");
                }
            }
            let sent = reqwest::Client::new()
                .post(format!("{}/v1/traces", http.endpoint()))
                .header("content-type", "application/x-protobuf")
                .body(body.encode_to_vec())
                .send()
                .await;
            match sent {
                Ok(r) => assert!(r.status().is_success(), "{r:?}"),
                Err(e) => panic!("{e}"),
            }
        });
        assert_eq!(receiver.spans(), 36);
        assert_eq!(receiver.requests(), 3);
        assert_eq!(http.spans(), 12);
        assert_eq!(receiver.malformed() + http.malformed(), 0);
    }
}
