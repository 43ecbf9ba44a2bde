//! HTTP spans and W3C propagation without code: a [reqwest-middleware] middleware that opens
//! a CLIENT span per request and sends its context on ([`ClientTracing`], feature `reqwest`),
//! and a [tower] layer that continues the caller's trace in a SERVER span ([`ServerTracing`],
//! feature `tower`; axum, tonic and hyper services are tower services).
//!
//! Both follow the stable OpenTelemetry HTTP semantic conventions:
//!
//! | | [`ClientTracing`] | [`ServerTracing`] |
//! |---|---|---|
//! | span name | `{METHOD}` (`HTTP` for a method not in RFC 9110 / 5789) | `{METHOD} {route}` when a route is known, else `{METHOD}` |
//! | kind | CLIENT, a child of the current span | SERVER, a child of the caller's span from `traceparent` (a new trace when it is absent or malformed) |
//! | attributes | `http.request.method` (`_OTHER` and `http.request.method_original` for an unknown method), `url.full`, `server.address`, `server.port`, `http.response.status_code` | `http.request.method` (idem), `url.path`, `url.scheme` (when the request line carries it), `http.route` (when known), `server.address` and `server.port` (from `Host`), `network.protocol.version`, `http.response.status_code` |
//! | error | status 4xx and 5xx: status error, `error.type` = the code (`"404"`); no response: `error.type` = `timeout`, `connect`, `redirect`, `body`, `decode`, `builder`, `request` or `middleware`, with an `exception` event | status 5xx only: status error, `error.type` = the code (`"503"`); the service failing without a response: `error.type = "_OTHER"` |
//! | propagation | injects `traceparent`, `tracestate` and `baggage` of *its own* span, so the server's span is its child | extracts them over every header line (a `tracestate` sent on several lines is read whole); the baggage is OpenTelemetry's current `Context` while the service runs |
//!
//! A gRPC call answered through [`ServerTracing`] (a tonic server) also gets the RPC
//! conventions: `rpc.system`, `rpc.service`, `rpc.method`, the span named
//! `{service}/{method}`, and `rpc.grpc.status_code` with the server-side error codes as errors
//! when the status comes in the response head (every error a tonic unary handler returns).
//!
//! `url.full` is `scheme://host[:port]/path`: the user name, password, query string and
//! fragment are dropped, since they often carry credentials and tokens (the conventions let an
//! instrumentation redact them; dropping them is the simplest redaction that cannot miss).
//!
//! [reqwest-middleware]: https://docs.rs/reqwest-middleware
//! [tower]: https://docs.rs/tower

#[cfg(feature = "reqwest")]
mod client;
mod semconv;
#[cfg(feature = "tower")]
mod server;
mod traced;

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use client::ClientTracing;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use server::{NoRoute, RouteOf, ServerTracing, ServerTracingService};
pub use traced::HttpSpanFuture;
