//! The fault-injection suite: a collector on 127.0.0.1 that refuses connections, accepts and
//! never answers, answers 503 or 429 with `Retry-After`, and an exporter that panics (the
//! flapping collector is `outage.rs`). Each case checks what the application sees (its calls
//! return; the per-span cost under each fault is the `faults` benchmark's), what arrives, and
//! that every span is accounted for in `stats()`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanExporter};
use zdk_trace_runtime::{CircuitState, Config, Protocol, Span, Stats, Telemetry};
use zdk_trace_tests::harness::{isolated_builder, serial};
use zdk_trace_tests::{hex, CountingReceiver, HttpReceiver};

const SPANS: u64 = 5_000;

fn otlp(endpoint: &str, protocol: Protocol) -> Config {
    Config::default()
        .with_otlp_endpoint(endpoint)
        .with_otlp_protocol(protocol)
        .with_otlp_exporter()
        .with_otlp_timeout(Duration::from_millis(300))
}

fn install(config: Config) -> Telemetry {
    isolated_builder()
        .config(config)
        .scheduled_delay(Duration::from_millis(50))
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"))
}

/// Creates `SPANS` spans; returns when the application's calls have all returned.
fn produce() {
    for _ in 0..SPANS {
        drop(Span::start("llm.call"));
    }
}

/// Every recorded span is exported, dropped by reason, or (before shutdown) kept.
fn accounted(stats: &Stats) {
    assert_eq!(stats.spans_recorded, SPANS, "{stats:?}");
    assert_eq!(
        stats.spans_recorded,
        stats.spans_exported + stats.dropped() + stats.spans_awaiting_retry,
        "{stats:?}"
    );
}

fn closed_port() -> u16 {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"))
        .port();
    drop(listener);
    port
}

#[test]
fn refused_the_spans_are_kept_then_counted_at_shutdown() {
    let _serial = serial();
    let telemetry = install(otlp(
        &format!("http://127.0.0.1:{}", closed_port()),
        Protocol::HttpProtobuf,
    ));
    produce();
    assert!(telemetry.force_flush().is_err(), "the flush says so");
    let stats = telemetry.stats();
    accounted(&stats);
    assert_eq!(stats.spans_exported, 0);
    assert!(stats.spans_awaiting_retry > 0, "{stats:?}");
    assert!(stats.export_errors >= 1);
    assert!(telemetry
        .shutdown_with_timeout(Duration::from_secs(2))
        .is_err());
    let stats = telemetry.stats();
    accounted(&stats);
    assert_eq!(stats.spans_awaiting_retry, 0);
    assert_eq!(stats.dropped(), SPANS);
}

#[test]
fn stalled_nothing_waits_for_it_and_the_circuit_opens() {
    let _serial = serial();
    // Accepts every request and never answers.
    let receiver = CountingReceiver::grpc_stalled(Duration::from_secs(3600));
    let telemetry = install(
        otlp(&receiver.endpoint(), Protocol::Grpc)
            .with_circuit_failures(2)
            .with_probe_interval(Duration::from_millis(200)),
    );
    for _ in 0..4 {
        produce_some(SPANS / 4);
        std::thread::sleep(Duration::from_millis(400));
    }
    let stats = telemetry.stats();
    assert_eq!(stats.circuit, CircuitState::Open, "{stats:?}");
    // Each attempt ends at the OTLP timeout (a client-side timeout, or gRPC's
    // DEADLINE_EXCEEDED): the failures that opened the circuit.
    assert!(stats.export_errors >= 2, "{stats:?}");
    assert_eq!(stats.spans_exported, 0);
    // Shutdown keeps to its deadline: what is still kept is counted.
    let result = telemetry.shutdown_with_timeout(Duration::from_secs(1));
    assert!(result.is_err());
    let stats = telemetry.stats();
    assert_eq!(stats.spans_recorded, SPANS);
    assert_eq!(
        stats.spans_exported + stats.dropped(),
        SPANS,
        "every span counted: {stats:?}"
    );
    // The process exits with the stalled requests still open: nothing to join.
    std::mem::forget(receiver);
}

fn produce_some(n: u64) {
    for _ in 0..n {
        drop(Span::start("llm.call"));
    }
}

/// The collector says "later" (503 or 429, `Retry-After: 1`) for 1.5 s: the exporter waits
/// what it was told, then delivers everything.
fn retry_after(status: u16) {
    let receiver = HttpReceiver::start();
    receiver.respond_with_retry_after(status, 1);
    let telemetry = install(otlp(&receiver.endpoint(), Protocol::HttpProtobuf));
    let start = Instant::now();
    produce();
    std::thread::sleep(Duration::from_millis(1500).saturating_sub(start.elapsed()));
    // Told to come back in a second each time: a handful of requests in 1.5 s, not a storm.
    let refused = receiver.requests().len();
    assert!(
        (1..=4).contains(&refused),
        "{refused} requests while the collector said Retry-After: 1"
    );
    receiver.respond_ok();
    telemetry
        .shutdown_with_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    let stats = telemetry.stats();
    let ids: HashSet<String> = receiver
        .spans()
        .iter()
        .map(|s| hex(&s.span.span_id))
        .collect();
    assert_eq!(ids.len() as u64, SPANS, "{stats:?}");
    assert_eq!(stats.spans_exported, SPANS);
    assert_eq!(stats.dropped(), 0);
    accounted(&stats);
}

#[test]
fn answering_503_with_retry_after_delays_but_loses_nothing() {
    let _serial = serial();
    retry_after(503);
}

#[test]
fn answering_429_with_retry_after_delays_but_loses_nothing() {
    let _serial = serial();
    retry_after(429);
}

/// An exporter that panics on every batch.
#[derive(Debug)]
struct Panicking;

impl SpanExporter for Panicking {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        panic!("exporter bug");
    }
}

#[test]
fn a_panicking_exporter_is_counted_and_the_others_still_get_every_span() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    let memory = InMemorySpanExporter::default();
    let telemetry = isolated_builder()
        .config(otlp(&receiver.endpoint(), Protocol::HttpProtobuf))
        .span_exporter(Panicking)
        .span_exporter(memory.clone())
        .scheduled_delay(Duration::from_millis(50))
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    produce();
    // The flush reports nothing wrong with the other exporters: the panic is counted.
    let _ = telemetry.force_flush();
    assert_eq!(
        memory.get_finished_spans().map_or(0, |s| s.len()) as u64,
        SPANS
    );
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    let stats = telemetry.stats();
    assert!(stats.export_panics >= 1, "{stats:?}");
    assert_eq!(receiver.spans().len() as u64, SPANS);
    // A batch counts as exported only when every exporter took it.
    assert_eq!(stats.dropped_export_failed, SPANS, "{stats:?}");
    accounted(&stats);
}
