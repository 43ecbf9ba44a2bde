//! HTTP propagation without code: a real reqwest-middleware client with
//! `http::ClientTracing` calling a real axum server with `http::ServerTracing` on 127.0.0.1,
//! both in this process; the trace they record together, the HTTP attributes, errors and the
//! W3C headers that travel between them.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceId};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use zdk_trace_runtime::http::{ClientTracing, ServerTracing};
use zdk_trace_runtime::{propagation, FutureExt, Span};
use zdk_trace_tests::harness::{assert_child_of, assert_root, attr, one, Harness};

/// An axum server with the tower layer, on its own thread and runtime (so nothing current on
/// the client's thread can leak into it), stopped on drop.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let app = Router::new()
                    .route("/items/{id}", get(item))
                    .route("/fail", get(fail))
                    .route("/echo", get(echo))
                    .layer(ServerTracing::new().route(|request: &Request<Body>| {
                        request
                            .extensions()
                            .get::<MatchedPath>()
                            .map(|path| path.as_str().to_owned())
                    }));
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `GET /items/{id}`: work in a span of its own (a child of the server span).
async fn item() -> &'static str {
    async {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    .instrument(Span::start("handler.work"))
    .await;
    "item"
}

async fn fail() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// `GET /echo`: the propagation headers it received and the baggage current in the handler,
/// as JSON.
async fn echo(headers: HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
    };
    let tenant = opentelemetry::Context::current()
        .baggage()
        .get("tenant")
        .map(|v| v.to_string())
        .unwrap_or_default();
    serde_json::json!({
        "traceparent": header("traceparent"),
        "tracestate": header("tracestate"),
        "baggage": header("baggage"),
        "tenant_in_handler": tenant,
    })
    .to_string()
}

fn client() -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(ClientTracing::new())
        .build()
}

fn string(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        Some(Value::String(s)) => s.to_string(),
        other => panic!("{} has {key} = {other:?}, not a string", span.name),
    }
}

fn int(span: &SpanData, key: &str) -> i64 {
    match attr(span, key) {
        Some(Value::I64(n)) => n,
        other => panic!("{} has {key} = {other:?}, not an integer", span.name),
    }
}

fn is_error(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
}

/// The one span of `kind` named `name`.
fn one_of<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    let found: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind:?} span named {name:?}: {:#?}",
        spans
            .iter()
            .map(|s| (s.name.to_string(), s.span_kind.clone()))
            .collect::<Vec<_>>()
    );
    found[0]
}

#[tokio::test]
async fn one_trace_across_client_and_server() {
    let h = Harness::install(|b| b);
    let server = Server::start();
    let response = client()
        .get(server.url("/items/42"))
        .send()
        .instrument(Span::start("caller"))
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "item");

    let spans = h.spans();
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let caller = one(&spans, "caller");
    let client = one_of(&spans, "GET", SpanKind::Client);
    let server_span = one_of(&spans, "GET /items/{id}", SpanKind::Server);
    let work = one(&spans, "handler.work");
    assert_root(caller);
    assert_child_of(client, caller);
    assert_child_of(server_span, client);
    assert!(server_span.parent_span_is_remote);
    assert_child_of(work, server_span);

    let port = i64::from(server.addr.port());
    assert_eq!(string(client, "http.request.method"), "GET");
    assert_eq!(
        string(client, "url.full"),
        format!("http://127.0.0.1:{port}/items/42")
    );
    assert_eq!(string(client, "server.address"), "127.0.0.1");
    assert_eq!(int(client, "server.port"), port);
    assert_eq!(int(client, "http.response.status_code"), 200);
    assert_eq!(attr(client, "error.type"), None);
    assert!(!is_error(client));

    assert_eq!(string(server_span, "http.request.method"), "GET");
    assert_eq!(string(server_span, "url.path"), "/items/42");
    assert_eq!(string(server_span, "http.route"), "/items/{id}");
    assert_eq!(string(server_span, "server.address"), "127.0.0.1");
    assert_eq!(int(server_span, "server.port"), port);
    assert_eq!(string(server_span, "network.protocol.version"), "1.1");
    assert_eq!(int(server_span, "http.response.status_code"), 200);
    assert_eq!(attr(server_span, "error.type"), None);
    assert!(!is_error(server_span));
    // The server span covers the handler's work and lies within the client's.
    assert!(server_span.start_time <= work.start_time && work.end_time <= server_span.end_time);
    assert!(client.start_time <= server_span.start_time);
}

#[tokio::test]
async fn a_500_is_an_error_on_both_sides() {
    let h = Harness::install(|b| b);
    let server = Server::start();
    let response = client()
        .get(server.url("/fail"))
        .send()
        .instrument(Span::start("caller"))
        .await
        .expect("a 500 is a response, not a middleware error");
    assert_eq!(response.status(), 500);

    let spans = h.spans();
    let client = one_of(&spans, "GET", SpanKind::Client);
    let server_span = one_of(&spans, "GET /fail", SpanKind::Server);
    assert_child_of(server_span, client);
    for span in [client, server_span] {
        assert!(is_error(span), "{} is not an error", span.name);
        assert_eq!(string(span, "error.type"), "500");
        assert_eq!(int(span, "http.response.status_code"), 500);
    }
}

#[tokio::test]
async fn a_404_is_a_client_error_but_not_a_server_error() {
    let h = Harness::install(|b| b);
    let server = Server::start();
    let response = client()
        .get(server.url("/no/such/route"))
        .send()
        .instrument(Span::start("caller"))
        .await
        .expect("response");
    assert_eq!(response.status(), 404);

    let spans = h.spans();
    let client = one_of(&spans, "GET", SpanKind::Client);
    // No route matched: the span is named after the method alone, without `http.route`.
    let server_span = one_of(&spans, "GET", SpanKind::Server);
    assert_child_of(server_span, client);
    assert!(is_error(client));
    assert_eq!(string(client, "error.type"), "404");
    assert!(!is_error(server_span));
    assert_eq!(attr(server_span, "error.type"), None);
    assert_eq!(attr(server_span, "http.route"), None);
    assert_eq!(string(server_span, "url.path"), "/no/such/route");
    assert_eq!(int(server_span, "http.response.status_code"), 404);
}

#[tokio::test]
async fn an_unreachable_port_records_the_error_class_without_the_url() {
    let h = Harness::install(|b| b);
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let result = client()
        .get(format!(
            "http://user:secret@127.0.0.1:{port}/x?token=hunter2"
        ))
        .send()
        .instrument(Span::start("caller"))
        .await;
    assert!(result.is_err(), "{result:?}");

    let spans = h.spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let client = one_of(&spans, "GET", SpanKind::Client);
    assert_child_of(client, one(&spans, "caller"));
    assert!(is_error(client));
    assert_eq!(string(client, "error.type"), "connect");
    assert_eq!(attr(client, "http.response.status_code"), None);
    assert_eq!(
        string(client, "url.full"),
        format!("http://127.0.0.1:{port}/x")
    );
    let exception = client
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event");
    let message = exception
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "exception.message")
        .map(|kv| kv.value.to_string())
        .expect("exception.message");
    assert!(message.starts_with("connect error"), "{message}");
    for secret in ["secret", "hunter2", "token"] {
        assert!(!message.contains(secret), "{message}");
    }
}

#[tokio::test]
async fn url_full_has_no_query_or_credentials() {
    let h = Harness::install(|b| b);
    let server = Server::start();
    let port = server.addr.port();
    let response = client()
        .get(format!(
            "http://user:pass@127.0.0.1:{port}/items/7?token=1#part"
        ))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);

    let spans = h.spans();
    let client = one_of(&spans, "GET", SpanKind::Client);
    assert_eq!(
        string(client, "url.full"),
        format!("http://127.0.0.1:{port}/items/7")
    );
    // No span was current: the client span starts the trace, the server continues it.
    assert_root(client);
    assert_child_of(one_of(&spans, "GET /items/{id}", SpanKind::Server), client);
}

#[tokio::test]
async fn tracestate_and_baggage_travel_to_the_server() {
    let h = Harness::install(|b| b);
    let server = Server::start();
    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    // This process continues a remote trace that carries a tracestate.
    let remote = propagation::extract(&HashMap::from([
        (
            "traceparent".to_owned(),
            format!("00-{TRACE_ID}-00f067aa0ba902b7-01"),
        ),
        ("tracestate".to_owned(), "congo=t61rcWkgMzE".to_owned()),
    ]));
    let caller = {
        let _remote = remote.attach();
        Span::start("caller")
    };
    let baggage = opentelemetry::Context::current_with_baggage([KeyValue::new("tenant", "acme")]);
    let body = client()
        .get(server.url("/echo"))
        .send()
        .instrument(caller)
        .with_context(baggage)
        .await
        .expect("response")
        .text()
        .await
        .expect("body");
    let echoed: serde_json::Value = serde_json::from_str(&body).expect("JSON");

    let spans = h.spans();
    let client = one_of(&spans, "GET", SpanKind::Client);
    let server_span = one_of(&spans, "GET /echo", SpanKind::Server);
    assert_eq!(
        client.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).expect("hex")
    );
    assert_child_of(server_span, client);
    // The headers name the client span, not the caller.
    assert_eq!(
        echoed["traceparent"],
        format!("00-{TRACE_ID}-{}-01", client.span_context.span_id())
    );
    assert_eq!(echoed["tracestate"], "congo=t61rcWkgMzE");
    assert_eq!(
        server_span.span_context.trace_state().header(),
        "congo=t61rcWkgMzE"
    );
    assert_eq!(echoed["baggage"], "tenant=acme");
    // The handler runs with the request's baggage current.
    assert_eq!(echoed["tenant_in_handler"], "acme");
}

#[tokio::test]
async fn a_malformed_traceparent_starts_a_new_trace_on_the_server() {
    let h = Harness::install(|b| b);
    let server = Server::start();
    // A plain reqwest client, no middleware: the header is what this test sends.
    let response = reqwest::Client::new()
        .get(server.url("/items/1"))
        .header("traceparent", "00-not-a-traceparent-01")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);

    let spans = h.spans();
    let server_span = one_of(&spans, "GET /items/{id}", SpanKind::Server);
    assert_root(server_span);
    assert_child_of(one(&spans, "handler.work"), server_span);
}

#[tokio::test]
async fn requests_on_one_connection_keep_their_own_spans() {
    let h = Harness::install(|b| b);
    let server = Server::start();
    let client = client();
    for id in 1..=3 {
        let response = client
            .get(server.url(&format!("/items/{id}")))
            .send()
            .instrument(Span::start(format!("caller {id}")))
            .await
            .expect("response");
        assert_eq!(response.text().await.expect("body"), "item");
    }

    let spans = h.spans();
    assert_eq!(spans.len(), 12, "{spans:#?}");
    for id in 1..=3 {
        let caller = one(&spans, &format!("caller {id}"));
        let client_span = spans
            .iter()
            .find(|s| {
                s.span_kind == SpanKind::Client && s.parent_span_id == caller.span_context.span_id()
            })
            .expect("client span");
        let server_span = spans
            .iter()
            .find(|s| {
                s.span_kind == SpanKind::Server
                    && s.parent_span_id == client_span.span_context.span_id()
            })
            .expect("server span");
        assert_eq!(string(server_span, "url.path"), format!("/items/{id}"));
        let work: Vec<&SpanData> = spans
            .iter()
            .filter(|s| {
                s.name == "handler.work" && s.parent_span_id == server_span.span_context.span_id()
            })
            .collect();
        assert_eq!(work.len(), 1, "request {id}: {spans:#?}");
    }
}

/// A real tonic server behind the layer, serving the OTLP trace service (a gRPC service at
/// hand): the handler answers what the request's `x-answer` metadata asks for.
mod grpc {
    use std::net::SocketAddr;

    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
        TraceService, TraceServiceServer,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    use tonic::{Code, Request, Response, Status};
    use zdk_trace_runtime::http::ServerTracing;

    struct Answer;

    #[tonic::async_trait]
    impl TraceService for Answer {
        async fn export(
            &self,
            request: Request<ExportTraceServiceRequest>,
        ) -> Result<Response<ExportTraceServiceResponse>, Status> {
            let answer = request
                .metadata()
                .get("x-answer")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("ok")
                .to_owned();
            match answer.as_str() {
                "unavailable" => Err(Status::unavailable("restarting")),
                "invalid" => Err(Status::invalid_argument("bad request")),
                _ => Ok(Response::new(ExportTraceServiceResponse::default())),
            }
        }
    }

    /// The server on its own thread and runtime, stopped on drop.
    pub(super) struct GrpcServer {
        pub(super) addr: SocketAddr,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl GrpcServer {
        pub(super) fn start() -> GrpcServer {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            listener
                .set_nonblocking(true)
                .expect("non-blocking listener");
            let addr = listener.local_addr().expect("local address");
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let incoming = tonic::transport::server::TcpIncoming::from(listener);
                    let serve = tonic::transport::Server::builder()
                        .layer(ServerTracing::new())
                        .add_service(TraceServiceServer::new(Answer))
                        .serve_with_incoming(incoming);
                    // Stopped outright, not gracefully: the clients' channels keep their
                    // connections open on the test's runtime, and a graceful stop would wait
                    // for them.
                    tokio::select! {
                        served = serve => served.expect("serve"),
                        _ = stopped => {}
                    }
                });
            });
            GrpcServer {
                addr,
                stop: Some(stop),
                thread: Some(thread),
            }
        }
    }

    impl Drop for GrpcServer {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    /// One export call asking for `answer`; the status the client got.
    pub(super) async fn call(addr: SocketAddr, answer: &str) -> Code {
        let mut client = TraceServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("connect");
        let mut request = Request::new(ExportTraceServiceRequest::default());
        request
            .metadata_mut()
            .insert("x-answer", answer.parse().expect("metadata value"));
        match client.export(request).await {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        }
    }
}

#[tokio::test]
async fn a_grpc_server_span_records_the_status_tonic_sends_in_the_response_head() {
    let h = Harness::install(|b| b);
    let server = grpc::GrpcServer::start();
    assert_eq!(
        grpc::call(server.addr, "unavailable").await,
        tonic::Code::Unavailable
    );
    assert_eq!(
        grpc::call(server.addr, "invalid").await,
        tonic::Code::InvalidArgument
    );
    assert_eq!(grpc::call(server.addr, "ok").await, tonic::Code::Ok);
    drop(server);

    let spans = h.spans();
    let name = "opentelemetry.proto.collector.trace.v1.TraceService/Export";
    let server_spans: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(server_spans.len(), 3, "{spans:#?}");
    for span in &server_spans {
        assert_eq!(span.name, name);
        assert_eq!(string(span, "rpc.system"), "grpc");
        assert_eq!(
            string(span, "rpc.service"),
            "opentelemetry.proto.collector.trace.v1.TraceService"
        );
        assert_eq!(string(span, "rpc.method"), "Export");
        assert_eq!(int(span, "http.response.status_code"), 200);
    }
    let with_code = |code: i64| {
        server_spans
            .iter()
            .copied()
            .filter(|s| attr(s, "rpc.grpc.status_code") == Some(Value::I64(code)))
            .collect::<Vec<_>>()
    };
    // UNAVAILABLE is the server's failure: an error, named.
    fn only(found: Vec<&SpanData>) -> &SpanData {
        assert_eq!(found.len(), 1, "{found:#?}");
        found[0]
    }
    let unavailable = only(with_code(14));
    assert!(is_error(unavailable));
    assert_eq!(string(unavailable, "error.type"), "UNAVAILABLE");
    // INVALID_ARGUMENT is the caller's: recorded, not an error of the server.
    let invalid = only(with_code(3));
    assert!(!is_error(invalid));
    assert_eq!(attr(invalid, "error.type"), None);
    // A success sends its status in trailers, after the span has ended: no code, no error.
    let ok: Vec<&SpanData> = server_spans
        .iter()
        .copied()
        .filter(|s| attr(s, "rpc.grpc.status_code").is_none())
        .collect();
    assert_eq!(ok.len(), 1);
    assert!(!is_error(ok[0]));
}
