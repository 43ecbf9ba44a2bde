//! [`ServerTracing`]: a tower layer that continues the caller's trace in a SERVER span.

use std::task::{Context, Poll};

use ::http::header::{HeaderMap, CONTENT_TYPE, HOST};
use ::http::{Request, Response, Version};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use tower_layer::Layer;
use tower_service::Service;

use super::semconv::{
    method_attributes, method_name, status_error_type, HeaderExtractor, ERROR_TYPE,
    HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE, NETWORK_PROTOCOL_VERSION, OTHER, SERVER_ADDRESS,
    SERVER_PORT, URL_PATH, URL_SCHEME,
};

/// The RPC conventions' names, for gRPC requests.
const RPC_SYSTEM: &str = "rpc.system";
const RPC_SERVICE: &str = "rpc.service";
const RPC_METHOD: &str = "rpc.method";
const RPC_GRPC_STATUS_CODE: &str = "rpc.grpc.status_code";
/// The header of a trailers-only response's status.
const GRPC_STATUS: &str = "grpc-status";
use super::traced::HttpSpanFuture;
use crate::context::propagation::extract;
use crate::span::Span;

/// A [tower](https://docs.rs/tower) layer that traces every request a service answers: a
/// SERVER span whose parent is the caller's span from the W3C `traceparent` header (a new
/// trace when it is absent or malformed), with the HTTP semantic-convention attributes. The
/// span is current while the inner service runs, so spans started by the handler are its
/// children and [`ClientTracing`](crate::http::ClientTracing) calls made there continue the
/// trace; the request's baggage is OpenTelemetry's current `Context` meanwhile. See [the
/// module docs](crate::http) for the attributes and errors.
///
/// The span ends when the inner service returns the response head, not when the body has
/// been streamed. A status of 500 or above makes it an error (`error.type` = the code); a 4xx
/// does not, as the conventions say for servers.
///
/// A gRPC request (`content-type: application/grpc…`, as tonic serves) also gets the RPC
/// conventions: `rpc.system = "grpc"`, `rpc.service` and `rpc.method` from the path, the span
/// named `{service}/{method}` unless a route is given, and `rpc.grpc.status_code` when the
/// status is in the response head, which is where tonic puts every error a unary handler
/// returns (a trailers-only response). The server-side error codes (`UNKNOWN`,
/// `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`) make the span
/// an error with `error.type` = the code's name; the others (a caller's mistake, such as
/// `INVALID_ARGUMENT` or `NOT_FOUND`) do not. A status sent in trailers after a body (a
/// streamed response, or a success) is not seen: the span has ended by then.
///
/// The span is named `{METHOD} {route}` when the route template is known and `{METHOD}`
/// otherwise (a path would make names of unbounded cardinality). The layer does not know the
/// router: give it the route with [`route`](ServerTracing::route), a function of the request.
/// With axum, add the layer with `Router::layer` (it then runs after routing) and read axum's
/// `MatchedPath` from the request's extensions.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::http::ServerTracing;
///
/// // Any tower service of `http::Request<B>`; with axum:
/// // `Router::new().route(..).layer(ServerTracing::new().route(|request: &Request<Body>| {
/// //     request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned())
/// // }))`.
/// let layer = ServerTracing::new().route(|request: &http::Request<String>| {
///     request.uri().path().starts_with("/tools/").then(|| "/tools/{name}".to_owned())
/// });
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ServerTracing<R = NoRoute> {
    route: R,
}

impl ServerTracing {
    /// The layer, naming spans `{METHOD}` (see [`route`](Self::route)).
    pub fn new() -> Self {
        ServerTracing { route: NoRoute }
    }
}

impl<R> ServerTracing<R> {
    /// Names each span `{METHOD} {route}` and sets `http.route`, with the route `route`
    /// returns for the request (a low-cardinality template such as `/tools/{name}`, never the
    /// raw path); `None` leaves the name `{METHOD}`. Any `Fn(&http::Request<B>) ->
    /// Option<String>` (or a [`RouteOf`] implementation) will do.
    pub fn route<F>(self, route: F) -> ServerTracing<F> {
        ServerTracing { route }
    }
}

impl<S, R: Clone> Layer<S> for ServerTracing<R> {
    type Service = ServerTracingService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerTracingService {
            inner,
            route: self.route.clone(),
        }
    }
}

/// The route template of a request, for [`ServerTracing::route`]: implemented by every
/// `Fn(&http::Request<B>) -> Option<String>`, and by [`NoRoute`].
pub trait RouteOf<B> {
    /// The route template `request` matched (`/tools/{name}`), if known.
    fn route_of(&self, request: &Request<B>) -> Option<String>;
}

impl<B, F> RouteOf<B> for F
where
    F: Fn(&Request<B>) -> Option<String>,
{
    fn route_of(&self, request: &Request<B>) -> Option<String> {
        self(request)
    }
}

/// No route known: spans are named `{METHOD}` (the default of [`ServerTracing`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoute;

impl<B> RouteOf<B> for NoRoute {
    fn route_of(&self, _: &Request<B>) -> Option<String> {
        None
    }
}

/// The service [`ServerTracing`] wraps around `S`.
#[derive(Debug, Clone)]
pub struct ServerTracingService<S, R = NoRoute> {
    inner: S,
    route: R,
}

impl<S, R, B, ResBody> Service<Request<B>> for ServerTracingService<S, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    R: RouteOf<B>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = HttpSpanFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let parent = extract(&HeaderExtractor(request.headers()));
        let route = self.route.route_of(&request);
        let grpc = is_grpc(&request);
        let method = method_name(request.method());
        let name = match (&route, grpc) {
            (Some(route), _) => format!("{method} {route}").into(),
            // `/{service}/{method}`: a fixed set of names, unlike an HTTP path.
            (None, true) => request
                .uri()
                .path()
                .trim_start_matches('/')
                .to_owned()
                .into(),
            (None, false) => std::borrow::Cow::Borrowed(method),
        };
        let mut span = Span::builder(name)
            .kind(SpanKind::Server)
            .parent(&parent)
            .start();
        if span.is_recording() {
            let mut attributes = request_attributes(&request, route);
            if grpc {
                rpc_attributes(request.uri().path(), &mut attributes);
            }
            span.set_attributes(attributes);
        }
        let baggage = parent.baggage.clone();
        let future = {
            // Current while the service builds its future too: some do work in `call`.
            let _baggage = baggage.as_ref().map(|baggage| baggage.clone().attach());
            let _entered = span.enter();
            self.inner.call(request)
        };
        HttpSpanFuture::new(future, span, baggage, record_result)
    }
}

/// The attributes known from the request.
fn request_attributes<B>(request: &Request<B>, route: Option<String>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(8);
    method_attributes(request.method(), &mut attributes);
    let uri = request.uri();
    attributes.push(KeyValue::new(URL_PATH, uri.path().to_owned()));
    // In an HTTP/1.1 request line the URI is usually a bare path; HTTP/2 sends the scheme.
    if let Some(scheme) = uri.scheme_str() {
        attributes.push(KeyValue::new(URL_SCHEME, scheme.to_owned()));
    }
    if let Some(route) = route {
        attributes.push(KeyValue::new(HTTP_ROUTE, route));
    }
    let authority = uri.authority().map(|a| a.as_str()).or_else(|| {
        request
            .headers()
            .get(HOST)
            .and_then(|host| host.to_str().ok())
    });
    if let Some((address, port)) = authority.and_then(host_and_port) {
        attributes.push(KeyValue::new(SERVER_ADDRESS, address.to_owned()));
        if let Some(port) = port {
            attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(version) = protocol_version(request.version()) {
        attributes.push(KeyValue::new(NETWORK_PROTOCOL_VERSION, version));
    }
    attributes
}

/// `host[:port]` (an IPv6 host in brackets) split into the host, without brackets, and the
/// port; `None` for something else.
fn host_and_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(port) => Some(port.parse().ok()?),
        None => None,
    };
    Some((host, port))
}

/// `network.protocol.version`.
fn protocol_version(version: Version) -> Option<&'static str> {
    Some(match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => return None,
    })
}

/// Whether the request is a gRPC call (`application/grpc`, `application/grpc+proto`, ...).
fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.get(..16)
                .is_some_and(|p| p.eq_ignore_ascii_case("application/grpc"))
        })
}

/// `rpc.system`, and `rpc.service` and `rpc.method` from a `/{service}/{method}` path.
fn rpc_attributes(path: &str, attributes: &mut Vec<KeyValue>) {
    attributes.push(KeyValue::new(RPC_SYSTEM, "grpc"));
    if let Some((service, method)) = path.trim_start_matches('/').split_once('/') {
        if !service.is_empty() && !method.is_empty() && !method.contains('/') {
            attributes.push(KeyValue::new(RPC_SERVICE, service.to_owned()));
            attributes.push(KeyValue::new(RPC_METHOD, method.to_owned()));
        }
    }
}

/// The gRPC status codes by number, as named in `grpc/status.proto`.
const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Whether a gRPC status is the server's failure (the conventions' list for SERVER spans):
/// UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
fn is_server_error(code: u16) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// The gRPC status in a response head (a trailers-only response), if there is a valid one.
fn grpc_status(headers: &HeaderMap) -> Option<u16> {
    let code: u16 = headers
        .get(GRPC_STATUS)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (usize::from(code) < GRPC_CODES.len()).then_some(code)
}

/// The response or the error, recorded on the span before it ends.
fn record_result<ResBody, E>(span: &mut Span, result: &Result<Response<ResBody>, E>) {
    if !span.is_recording() {
        return;
    }
    match result {
        Ok(response) => {
            let code = response.status().as_u16();
            span.set_attribute(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(code)));
            if code >= 500 {
                // No description: the status code says it (the conventions ask for none).
                span.set_attribute(KeyValue::new(ERROR_TYPE, status_error_type(code)));
                span.set_status(Status::error(""));
            } else if let Some(grpc) = grpc_status(response.headers()) {
                span.set_attribute(KeyValue::new(RPC_GRPC_STATUS_CODE, i64::from(grpc)));
                if is_server_error(grpc) {
                    let name = GRPC_CODES.get(usize::from(grpc)).copied().unwrap_or(OTHER);
                    span.set_attribute(KeyValue::new(ERROR_TYPE, name));
                    // The `grpc-message` is the application's text: not copied (it may carry
                    // what the privacy rules keep out of spans).
                    span.set_status(Status::error(""));
                }
            }
        }
        // The error type is generic here (no `Display` is required of it), so the class is
        // the conventions' fallback.
        Err(_) => span.record_error(OTHER, "the service failed without a response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_of_an_authority() {
        assert_eq!(
            host_and_port("127.0.0.1:8080"),
            Some(("127.0.0.1", Some(8080)))
        );
        assert_eq!(host_and_port("example.com"), Some(("example.com", None)));
        assert_eq!(host_and_port("[::1]:9000"), Some(("::1", Some(9000))));
        assert_eq!(host_and_port("[::1]"), Some(("::1", None)));
        assert_eq!(host_and_port("u:p@h:1"), Some(("h", Some(1))));
        assert_eq!(host_and_port("h:notaport"), None);
        assert_eq!(host_and_port(":80"), None);
    }

    #[test]
    fn grpc_status_in_a_response_head() {
        let head = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(GRPC_STATUS, value.parse().expect("header value"));
            headers
        };
        assert_eq!(grpc_status(&head("14")), Some(14));
        assert_eq!(grpc_status(&head("0")), Some(0));
        assert_eq!(grpc_status(&head("17")), None, "not a gRPC code");
        assert_eq!(grpc_status(&head("UNAVAILABLE")), None);
        assert_eq!(grpc_status(&HeaderMap::new()), None);
        assert_eq!(GRPC_CODES[14], "UNAVAILABLE");
        assert!(is_server_error(14) && is_server_error(2));
        assert!(!is_server_error(5) && !is_server_error(3) && !is_server_error(0));
    }

    #[test]
    fn grpc_requests_are_recognised_and_named_by_their_path() {
        let request = |content_type: &str| {
            Request::post("/pkg.Tools/Run")
                .header(CONTENT_TYPE, content_type)
                .body(())
                .expect("request")
        };
        assert!(is_grpc(&request("application/grpc")));
        assert!(is_grpc(&request("application/grpc+proto")));
        assert!(!is_grpc(&request("application/json")));
        let mut attributes = Vec::new();
        rpc_attributes("/pkg.Tools/Run", &mut attributes);
        assert_eq!(
            attributes,
            [
                KeyValue::new(RPC_SYSTEM, "grpc"),
                KeyValue::new(RPC_SERVICE, "pkg.Tools"),
                KeyValue::new(RPC_METHOD, "Run"),
            ]
        );
        let mut odd = Vec::new();
        rpc_attributes("/no-method", &mut odd);
        assert_eq!(odd, [KeyValue::new(RPC_SYSTEM, "grpc")]);
    }
}
