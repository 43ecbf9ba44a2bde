//! The `tracing` bridge (feature `tracing`): `tracing` spans and events of code instrumented as
//! libraries instrument themselves join the agent's trace as one connected tree.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use std::sync::Once;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;
use zdk_trace_runtime::{agent_span, tool_call, Span};
use zdk_trace_tests::harness::{assert_child_of, assert_root, attr, one, Harness};

/// The bridge as the global subscriber (what an application does once in `main`), so that
/// every thread and runtime worker sees it.
fn bridge() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(zdk_trace_runtime::tracing::layer());
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
}

fn event_names(span: &SpanData) -> Vec<String> {
    span.events.iter().map(|e| e.name.to_string()).collect()
}

fn event_attr(span: &SpanData, event: &str, key: &str) -> Option<Value> {
    span.events
        .iter()
        .find(|e| e.name == event)?
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

/// A real HTTP server on 127.0.0.1: one route answering with the city it was asked about.
async fn weather_server() -> String {
    let app = axum::Router::new().route(
        "/weather/{city}",
        axum::routing::get(
            |axum::extract::Path(city): axum::extract::Path<String>| async move {
                format!("sunny in {city}")
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A client function instrumented the way HTTP client libraries are.
#[tracing::instrument(skip(client, base), fields(otel.kind = "client", http.response.status_code))]
async fn fetch_weather(client: &reqwest::Client, base: &str, city: &str) -> String {
    tracing::info!(city, "calling the weather service");
    tracing::debug!("below the bridge's level: not recorded");
    let response = client
        .get(format!("{base}/weather/{city}"))
        .send()
        .await
        .expect("request");
    tracing::Span::current().record("http.response.status_code", response.status().as_u16());
    response.text().await.expect("body")
}

#[tool_call(name = "lookup_cache")]
async fn lookup_cache(key: &str) -> usize {
    // An event inside one of our spans, with no `tracing` span current: it joins this span.
    tracing::warn!(key, "cache miss");
    tokio::task::yield_now().await;
    key.len()
}

#[agent_span(name = "planner")]
async fn plan(client: reqwest::Client, base: String) -> String {
    // A `tracing` span opened inside the agent (across an `.await`).
    let forecast = fetch_weather(&client, &base, "lisbon").await;

    // Spawned onto another worker with a `tracing` span, and one of our spans inside it.
    let query = tracing::info_span!("db.query", db.system = "sqlite", otel.name = "SELECT cache");
    let found = tokio::spawn(lookup_cache("lisbon").instrument(query))
        .await
        .expect("task");

    // A plain std thread entering a `tracing` span created here.
    let worker = tracing::info_span!("render");
    let rendered = std::thread::spawn(move || {
        let _entered = worker.enter();
        let _step = Span::start("render step").entered();
        tracing::error!(code = 7, "template missing");
        format!("{forecast} ({found})")
    })
    .join()
    .expect("thread");
    rendered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_spans_and_ours_form_one_connected_tree() {
    bridge();
    let h = Harness::install(|b| b);
    let base = weather_server().await;
    let out = plan(reqwest::Client::new(), base).await;
    assert_eq!(out, "sunny in lisbon (6)");

    let spans = h.spans();
    let planner = one(&spans, "invoke_agent planner");
    assert_root(planner);
    for span in &spans {
        assert_eq!(
            span.span_context.trace_id(),
            planner.span_context.trace_id(),
            "{} is in another trace",
            span.name
        );
    }

    // The `tracing` span inside the agent is its child, with its fields, kind and events.
    let fetch = one(&spans, "fetch_weather");
    assert_child_of(fetch, planner);
    assert_eq!(fetch.span_kind, SpanKind::Client);
    assert_eq!(attr(fetch, "city"), Some(Value::from("lisbon")));
    assert_eq!(
        attr(fetch, "http.response.status_code"),
        Some(Value::I64(200))
    );
    assert_eq!(event_names(fetch), ["calling the weather service"]);
    assert_eq!(
        event_attr(fetch, "calling the weather service", "level"),
        Some(Value::from("INFO"))
    );
    assert_eq!(
        event_attr(fetch, "calling the weather service", "city"),
        Some(Value::from("lisbon"))
    );

    // Spawned: the `tracing` span (renamed by `otel.name`) is the agent's child, and our tool
    // span inside it is its child; the tool's `tracing` event is on the tool span.
    let query = one(&spans, "SELECT cache");
    assert_child_of(query, planner);
    assert_eq!(attr(query, "db.system"), Some(Value::from("sqlite")));
    let tool = one(&spans, "execute_tool lookup_cache");
    assert_child_of(tool, query);
    assert_eq!(event_names(tool), ["cache miss"]);
    assert_eq!(
        event_attr(tool, "cache miss", "level"),
        Some(Value::from("WARN"))
    );

    // A thread: the entered `tracing` span parents our span there; `error!` in our span marks
    // its status with the message.
    let render = one(&spans, "render");
    assert_child_of(render, planner);
    let step = one(&spans, "render step");
    assert_child_of(step, render);
    assert_eq!(event_names(step), ["template missing"]);
    assert_eq!(
        event_attr(step, "template missing", "code"),
        Some(Value::I64(7))
    );
    assert_eq!(step.status, Status::error("template missing"));
    assert_eq!(render.status, Status::Unset);
    assert_eq!(
        spans.len(),
        6,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}

#[tool_call(name = "get_weather")]
async fn get_weather(client: &reqwest::Client, base: &str) -> String {
    let url = format!("{base}/weather/porto");
    let response = client.get(url).send().await.expect("request");
    response.text().await.expect("body")
}

/// The libraries' own instrumentation: hyper-util (under reqwest) logs its connections with
/// `tracing::debug!`; with the bridge at `debug`, they are events of the tool span that made
/// the request.
#[test]
fn reqwest_and_hyper_events_land_on_the_span_that_made_the_request() {
    let h = Harness::install(|b| b);
    let subscriber = tracing_subscriber::registry().with(
        zdk_trace_runtime::tracing::layer()
            .with_event_level(tracing::level_filters::LevelFilter::DEBUG),
    );
    let _default = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (base, body) = runtime.block_on(async {
        let base = weather_server().await;
        let body = get_weather(&reqwest::Client::new(), &base).await;
        (base, body)
    });
    assert_eq!(body, "sunny in porto");

    let spans = h.spans();
    let tool = one(&spans, "execute_tool get_weather");
    let addr = base.trim_start_matches("http://");
    let connecting = tool
        .events
        .iter()
        .find(|e| e.name == format!("connecting to {addr}"))
        .unwrap_or_else(|| {
            panic!(
                "no connection event on the tool span: {:?}",
                event_names(tool)
            )
        });
    let target = connecting
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "target")
        .map(|kv| kv.value.to_string());
    assert!(
        target
            .as_deref()
            .is_some_and(|t| t.starts_with("hyper_util::")),
        "{target:?}"
    );
    assert_eq!(
        event_attr(tool, &format!("connecting to {addr}"), "level"),
        Some(Value::from("DEBUG"))
    );
}

#[test]
fn otel_conventions_status_and_errors_on_bridged_spans() {
    bridge();
    let h = Harness::install(|b| b);
    {
        let ok = tracing::info_span!("handler", otel.kind = "server", otel.status_code = "OK");
        let _ok = ok.enter();
        let failed = tracing::info_span!(
            "call",
            otel.status_code = "error",
            otel.status_description = "upstream 503"
        );
        failed.in_scope(|| tracing::error!("ignored for the status: it was set"));
        let logged = tracing::info_span!("job");
        logged.in_scope(|| tracing::error!(attempt = 3_u64, "gave up"));
        let root = tracing::info_span!(parent: None, "detached");
        drop(root);
    }
    let spans = h.spans();
    let handler = one(&spans, "handler");
    assert_eq!(handler.span_kind, SpanKind::Server);
    assert_eq!(handler.status, Status::Ok);
    let call = one(&spans, "call");
    assert_child_of(call, handler);
    assert_eq!(call.status, Status::error("upstream 503"));
    let job = one(&spans, "job");
    assert_eq!(job.status, Status::error("gave up"));
    assert_eq!(event_attr(job, "gave up", "attempt"), Some(Value::I64(3)));
    // `parent: None` starts a new trace even inside another span.
    assert_root(one(&spans, "detached"));
}

#[test]
fn spans_exited_out_of_order_leave_the_right_span_current() {
    bridge();
    let h = Harness::install(|b| b);
    {
        let a = tracing::info_span!("a");
        let entered_a = a.enter();
        let b = tracing::info_span!("b");
        let entered_b = b.enter();
        drop(entered_a);
        // `a` exited first: `b` is still entered, and current.
        drop(Span::start("after a exited"));
        drop(entered_b);
        drop(Span::start("after both exited"));
    }
    let spans = h.spans();
    let b = one(&spans, "b");
    assert_child_of(b, one(&spans, "a"));
    assert_child_of(one(&spans, "after a exited"), b);
    assert_root(one(&spans, "after both exited"));
}

#[test]
fn private_field_names_are_dropped_and_counted() {
    bridge();
    let h = Harness::install(|b| b);
    {
        let span = tracing::info_span!("login", user.email = "ada@example.com", user.id = 42_i64);
        let _entered = span.enter();
        tracing::info!(api_key = "sk-123", attempt = 1_i64, "signed in");
    }
    let spans = h.spans();
    let login = one(&spans, "login");
    assert_eq!(attr(login, "user.email"), None);
    assert_eq!(attr(login, "user.id"), Some(Value::I64(42)));
    assert_eq!(event_attr(login, "signed in", "api_key"), None);
    assert_eq!(
        event_attr(login, "signed in", "attempt"),
        Some(Value::I64(1))
    );
    assert_eq!(h.telemetry.stats().private_fields_dropped, 2);
}

#[test]
fn sampled_out_traces_record_nothing_and_stay_connected() {
    bridge();
    let h = Harness::install(|b| b.sampler(zdk_trace_runtime::Sampler::AlwaysOff));
    let (outer_trace, inner_trace) = {
        let outer = tracing::info_span!("outer");
        let _entered = outer.enter();
        tracing::error!("nothing is recorded");
        let inner = Span::start("inner");
        let outer_trace = zdk_trace_runtime::current_span_context().map(|c| c.trace_id());
        (outer_trace, inner.span_context().map(|c| c.trace_id()))
    };
    assert!(outer_trace.is_some());
    assert_eq!(outer_trace, inner_trace);
    assert!(h.spans().is_empty());
}
