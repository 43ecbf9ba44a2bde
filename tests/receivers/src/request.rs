//! What a receiver records: one request ([`ReceivedRequest`]) and its spans ([`ReceivedSpan`]).

use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

/// One request as a receiver saw it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// `POST` for every gRPC call.
    pub method: String,
    /// The request path ([`GRPC_EXPORT_PATH`](crate::GRPC_EXPORT_PATH) for gRPC).
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
    /// The size of the decoded request, in bytes, as protobuf (before any compression): the
    /// size the sender encoded, since the encoding of a message is unique for its fields.
    pub fn body_len(&self) -> usize {
        self.body.as_ref().map_or(0, prost::Message::encoded_len)
    }

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

pub(crate) fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
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
