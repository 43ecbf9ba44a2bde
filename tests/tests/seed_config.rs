//! The design documents' complete `config.toml` (`tests/seed-config.toml`, vendored unchanged)
//! installs, and each of its sections does what it says.
//!
//! The file is installed as written. Only what a deployment sets around a config file is set
//! here: `API_KEY` and `GCP_API_KEY` (its `${...}` headers), and the OTLP trace and metrics
//! endpoints moved by `OTEL_EXPORTER_OTLP_*_ENDPOINT` to receivers on free ports (the file's
//! `localhost:4317` is where the CI's Phoenix listens). Its fixed ports are used as written:
//! Prometheus on 9090 and Pyroscope on 4040 (a receiver here), so both must be free.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use std::time::Duration;

use zdk_trace_receivers::{GrpcReceiver, MetricsReceiver, PyroscopeReceiver};
use zdk_trace_runtime::{agent_span, Config, Telemetry};
use zdk_trace_tests::scrape::scrape;

const SEED: &str = include_str!("../seed-config.toml");

#[derive(Debug)]
struct OrderMissing;

impl std::fmt::Display for OrderMissing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("order not found")
    }
}

impl std::error::Error for OrderMissing {}

/// Burns CPU for the profiler, logs through `tracing` and `log`, and fails: an error trace,
/// which `always_sample_errors` keeps whatever the 10 % probability decides.
#[agent_span(name = "support", err)]
fn support(order: u64) -> Result<u64, OrderMissing> {
    tracing::info!(order, "looking up the order");
    log::warn!("order service slow");
    let started = std::time::Instant::now();
    let mut h = order;
    while started.elapsed() < Duration::from_millis(300) {
        for i in 0..10_000_u64 {
            h = std::hint::black_box(h.rotate_left(5) ^ i);
        }
    }
    if h != 0 {
        Err(OrderMissing)
    } else {
        Ok(h)
    }
}

#[test]
fn the_design_documents_config_installs_and_each_section_works() {
    let traces = GrpcReceiver::start();
    let metrics = MetricsReceiver::grpc();
    for port in [9090, 4040] {
        if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            panic!("the seed config's fixed port {port} is taken ({e}); stop what listens there");
        }
    }
    let pyroscope = PyroscopeReceiver::start_on(4040);

    let config = Config::from_toml_str(SEED).expect("the seed config parses");
    let builder = Telemetry::builder().config(config).env_vars([
        ("API_KEY", "key-1".to_owned()),
        ("GCP_API_KEY", "key-2".to_owned()),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.endpoint()),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metrics.endpoint()),
    ]);

    // The Jaeger entry's legacy port is named, with what to use instead.
    let report = builder.config_report().expect("report");
    let warning = report
        .warnings
        .iter()
        .find(|w| w.key == "telemetry.tracing.exporters[1].endpoint")
        .unwrap_or_else(|| panic!("no warning on the Jaeger entry: {:?}", report.warnings));
    assert!(warning.message.contains("14250"), "{warning}");
    assert!(warning.message.contains("4317"), "{warning}");
    // `logging = true` is shown as on.
    let logging = report.entry("telemetry.logging").expect("logging entry");
    assert!(logging.value.starts_with("true"), "{logging:?}");

    let telemetry = builder.install().expect("the seed config installs");

    assert!(support(7).is_err());

    // [telemetry.metrics.prometheus]: port 9090, path /metrics.
    let prometheus = telemetry
        .prometheus_addr()
        .expect("the Prometheus endpoint runs");
    assert_eq!(prometheus.port(), 9090);
    let page = scrape(prometheus, "/metrics", None).body;
    assert!(
        page.contains("gen_ai_invoke_agent_duration_seconds_count"),
        "{page}"
    );

    // The file's Jaeger entry (localhost:14250: no Jaeger runs here, and that port does not
    // speak OTLP anyway, as the warning said) cannot export: shutdown says so, and nothing else
    // is held up by it.
    let shutdown = telemetry
        .shutdown()
        .expect_err("the Jaeger entry had nowhere to send");
    let cause = std::error::Error::source(&shutdown).map(ToString::to_string);
    assert!(
        cause
            .as_deref()
            .is_some_and(|c| c.contains("cannot reach the collector")),
        "{shutdown}: {cause:?}"
    );

    // [telemetry.tracing.otlp] over gRPC with the file's headers, `${...}` expanded; the error
    // trace kept by `always_sample_errors`; `logging = true` put the `tracing` and `log` records
    // on the agent's span.
    let requests = traces.wait_for_requests(1, Duration::from_secs(10));
    assert_eq!(requests[0].header("x-api-key"), Some("key-1"));
    assert_eq!(requests[0].header("x-goog-api-key"), Some("key-2"));
    let spans = traces.spans();
    let agent = spans
        .iter()
        .find(|s| s.span.name == "invoke_agent support")
        .expect("the error trace was exported");
    let events: Vec<&str> = agent.span.events.iter().map(|e| e.name.as_str()).collect();
    assert!(events.contains(&"looking up the order"), "{events:?}");
    assert!(events.contains(&"order service slow"), "{events:?}");

    // [telemetry.metrics.otlp]: pushed over gRPC (the last push at shutdown).
    assert!(!metrics
        .wait_for_requests(1, Duration::from_secs(10))
        .is_empty());

    // [telemetry.profiling] continuous CPU profiles to Pyroscope at localhost:4040 under the
    // file's application name: the open window is exported at shutdown.
    let pushes = pyroscope.wait_for_pushes(1, Duration::from_secs(10));
    assert!(!pushes.is_empty());
    assert_eq!(pushes[0].application, "zdk-rust-app");
    // Samples of the agent's work carry its span (the profile is linked to the trace).
    assert!(
        pushes[0]
            .profile
            .sample
            .iter()
            .flat_map(|s| &s.label)
            .any(|l| pushes[0].string(l.key) == "span_name"
                && pushes[0].string(l.str) == "invoke_agent support"),
        "no sample of the agent's span"
    );
}
