//! A collector outage: the OTLP exporters keep what the collector did not take in a bounded
//! retry buffer behind a circuit breaker, and send it when the collector answers again.
//! Real receivers on 127.0.0.1, flapping by answering 503 / `UNAVAILABLE`, or by refusing
//! connections altogether (a proxy that goes down and up).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use zdk_trace_runtime::{CircuitState, Config, Protocol, Span, Stats, Telemetry};
use zdk_trace_tests::harness::{isolated_builder, serial};
use zdk_trace_tests::{hex, FlappingProxy, GrpcCode, GrpcReceiver, HttpReceiver, ReceivedSpan};

/// Up 2 s, down 2 s, for this long.
const FLAP_FOR: Duration = Duration::from_secs(10);
const HALF_PERIOD: Duration = Duration::from_secs(2);
/// Spans a second the application creates.
const RATE: u64 = 5_000;

fn install(endpoint: &str, protocol: Protocol, extra: impl FnOnce(Config) -> Config) -> Telemetry {
    isolated_builder()
        .config(extra(
            Config::default()
                .with_otlp_endpoint(endpoint)
                .with_otlp_protocol(protocol)
                .with_otlp_exporter()
                .with_otlp_timeout(Duration::from_secs(2)),
        ))
        .scheduled_delay(Duration::from_millis(100))
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"))
}

/// Creates spans at [`RATE`] while `flap(up)` switches the collector every [`HALF_PERIOD`],
/// starting up; ends with the collector up. Returns how many spans were created.
fn produce_while_flapping(mut flap: impl FnMut(bool)) -> u64 {
    let start = Instant::now();
    let mut created = 0u64;
    let mut up = true;
    while start.elapsed() < FLAP_FOR {
        let period = (start.elapsed().as_secs_f64() / HALF_PERIOD.as_secs_f64()) as u64;
        let want_up = period % 2 == 0;
        if want_up != up {
            up = want_up;
            flap(up);
        }
        let due = (start.elapsed().as_secs_f64() * RATE as f64) as u64;
        while created < due {
            drop(Span::start("llm.call"));
            created += 1;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if !up {
        flap(true);
    }
    created
}

/// Every span exactly once (a retried request the collector had taken would show twice).
fn distinct(spans: &[ReceivedSpan]) -> (usize, usize) {
    let ids: HashSet<String> = spans.iter().map(|s| hex(&s.span.span_id)).collect();
    (ids.len(), spans.len() - ids.len())
}

fn check(created: u64, arrived: usize, duplicates: usize, stats: &Stats) {
    eprintln!("created {created}, arrived {arrived} (+{duplicates} twice): {stats:?}");
    assert_eq!(stats.spans_recorded, created);
    // Everything arrives: the spans ended while the collector was down too, and a graceful
    // shutdown while it is up loses nothing.
    assert_eq!(arrived as u64, created, "{stats:?}");
    assert_eq!(stats.dropped(), 0, "{stats:?}");
    assert_eq!(stats.spans_exported, created);
    assert_eq!(stats.spans_awaiting_retry, 0);
    assert_eq!(stats.retry_buffer_bytes, 0);
    assert!(stats.export_retries > 0, "{stats:?}");
    assert_eq!(stats.circuit, CircuitState::Closed);
}

#[test]
fn http_collector_answering_503_half_the_time_gets_every_span() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    // Three failures in a row open the circuit: with the default five, the backoff between
    // them (0.1 + 0.2 + 0.4 + 0.8 s, plus up to half again of jitter) can outlast a 2-s down
    // window, and whether the circuit opens would be left to the jitter.
    let telemetry = install(&receiver.endpoint(), Protocol::HttpProtobuf, |c| {
        c.with_circuit_failures(3)
    });
    let created = produce_while_flapping(|up| {
        if up {
            receiver.respond_ok();
        } else {
            receiver.respond_with_status(503);
        }
    });
    telemetry
        .shutdown_with_timeout(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("shutdown while the collector is up: {e}"));
    let (arrived, duplicates) = distinct(&receiver.spans());
    let stats = telemetry.stats();
    check(created, arrived, duplicates, &stats);
    assert!(
        stats.circuit_opened >= 1 && stats.circuit_closed >= 1,
        "{stats:?}"
    );
}

#[test]
fn grpc_collector_answering_unavailable_half_the_time_gets_every_span() {
    let _serial = serial();
    let receiver = GrpcReceiver::start();
    let telemetry = install(&receiver.endpoint(), Protocol::Grpc, |c| c);
    let created = produce_while_flapping(|up| {
        if up {
            receiver.respond_ok();
        } else {
            receiver.respond_with_error(GrpcCode::Unavailable, "restarting");
        }
    });
    telemetry
        .shutdown_with_timeout(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("shutdown while the collector is up: {e}"));
    let (arrived, duplicates) = distinct(&receiver.spans());
    check(created, arrived, duplicates, &telemetry.stats());
}

#[test]
fn a_collector_refusing_connections_half_the_time_gets_every_span() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    let proxy = FlappingProxy::start(receiver.addr());
    let telemetry = install(&proxy.endpoint(), Protocol::HttpProtobuf, |c| c);
    let created = produce_while_flapping(|up| if up { proxy.up() } else { proxy.down() });
    telemetry
        .shutdown_with_timeout(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("shutdown while the collector is up: {e}"));
    let (arrived, duplicates) = distinct(&receiver.spans());
    check(created, arrived, duplicates, &telemetry.stats());
}

/// The same over gRPC: every time the proxy goes down the exporter's HTTP/2 connection is cut,
/// and the next call must dial a new one (and keep failing, retryably, while it is refused).
#[test]
fn a_grpc_collector_refusing_connections_half_the_time_gets_every_span() {
    let _serial = serial();
    let receiver = GrpcReceiver::start();
    let proxy = FlappingProxy::start(receiver.addr());
    let telemetry = install(&proxy.endpoint(), Protocol::Grpc, |c| c);
    let created = produce_while_flapping(|up| if up { proxy.up() } else { proxy.down() });
    telemetry
        .shutdown_with_timeout(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("shutdown while the collector is up: {e}"));
    let (arrived, duplicates) = distinct(&receiver.spans());
    check(created, arrived, duplicates, &telemetry.stats());
    assert!(
        proxy.accepted() >= 2,
        "one connection per time up at least: {} accepted",
        proxy.accepted()
    );
}

/// Down for a minute: the retry buffer stays within its bound (the oldest dropped and
/// counted), the process's memory does not grow with the outage, and the dead collector gets
/// one probe per interval.
#[test]
fn a_collector_down_for_a_minute_costs_bounded_memory_and_one_probe_per_interval() {
    let _serial = serial();
    let receiver = HttpReceiver::start();
    receiver.respond_with_status(503);
    let bound = 256 * 1024;
    let probe = Duration::from_millis(500);
    let telemetry = install(&receiver.endpoint(), Protocol::HttpProtobuf, |c| {
        c.with_retry_buffer_bytes(bound)
            .with_probe_interval(probe)
            .with_circuit_failures(3)
    });
    let rss = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let start = Instant::now();
    let mut created = 0u64;
    let mut rss_after_10s = 0;
    let mut max_buffered = 0;
    // The receiver keeps every request it decodes: counted and forgotten as they come, so the
    // process's memory is the pipeline's.
    let mut requests = 0u64;
    let mut last_count = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if last_count.elapsed() > Duration::from_millis(500) {
            requests += receiver.requests().len() as u64;
            receiver.clear();
            last_count = Instant::now();
        }
        let due = (start.elapsed().as_secs_f64() * RATE as f64) as u64;
        while created < due {
            drop(Span::start("llm.call"));
            created += 1;
        }
        let stats = telemetry.stats();
        max_buffered = max_buffered.max(stats.retry_buffer_bytes);
        if rss_after_10s == 0 && start.elapsed() > Duration::from_secs(10) {
            rss_after_10s = rss();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Everything recorded reaches the exporter; the flush itself fails (the collector is down,
    // what it could not send stays kept).
    let flushed = telemetry.force_flush();
    assert!(flushed.is_err(), "a flush with the collector down says so");
    let stats = telemetry.stats();
    requests += receiver.requests().len() as u64;
    let growth = rss().saturating_sub(rss_after_10s);
    eprintln!(
        "created {created}; {requests} requests reached the dead collector; max buffered {max_buffered} B; RSS growth 10 s -> 60 s: {growth} B; {stats:?}"
    );
    assert!(max_buffered <= bound as u64, "{max_buffered} > {bound}");
    assert!(stats.dropped_retry_buffer > 0, "{stats:?}");
    assert_eq!(stats.circuit, CircuitState::Open);
    // One probe per interval (with up to 40 % jitter), plus the failures that opened it and
    // the flush's attempt.
    let most = 60_000 / (probe.as_millis() as u64) + 10;
    assert!(
        requests <= most,
        "{requests} requests in 60 s (at most {most})"
    );
    assert!(
        growth < 16 << 20,
        "RSS grew {growth} B while the collector was down"
    );
    // Every span is accounted for: exported (none), dropped by reason, or kept.
    assert_eq!(
        stats.spans_recorded,
        stats.spans_exported + stats.dropped() + stats.spans_awaiting_retry,
        "{stats:?}"
    );
    // Back up: what the buffer still holds arrives, and the circuit closes.
    receiver.respond_ok();
    telemetry
        .shutdown_with_timeout(Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    let stats = telemetry.stats();
    let (arrived, _) = distinct(&receiver.spans());
    assert_eq!(arrived as u64, stats.spans_exported, "{stats:?}");
    assert!(arrived > 0);
    assert_eq!(stats.spans_recorded, stats.spans_exported + stats.dropped());
}
