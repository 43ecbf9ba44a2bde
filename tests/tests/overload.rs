//! Overload: a real OTLP collector on 127.0.0.1 that takes a tenth of what the application
//! offers. Error traces are exported (whole, when a tail rule holds them) while ok traces are
//! shed, and `stats()` counts what was shed by class.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use zdk_trace_runtime::{Config, Protocol, Span, Status, TailSampling, Telemetry};
use zdk_trace_tests::harness::{isolated_builder, serial};
use zdk_trace_tests::CountingReceiver;

/// Spans per export request.
const BATCH: usize = 256;
/// How long the collector takes to answer a request of `BATCH` spans: it takes `BATCH / DELAY`
/// spans a second (12 800), one request at a time, however many spans a request carries.
const DELAY: Duration = Duration::from_millis(20);
/// How long the application offers ten times that.
const OFFER_FOR: Duration = Duration::from_secs(2);

struct Outcome {
    error_traces: Vec<[u8; 16]>,
    ok_traces: Vec<[u8; 16]>,
    receiver: CountingReceiver,
    stats: zdk_trace_runtime::Stats,
}

/// Offers traces of `spans_per_trace` spans, one in ten with an error on its last child, at
/// ten times what the collector takes; shuts down; returns what was offered and received.
fn offer(tail: Option<TailSampling>, spans_per_trace: usize) -> Outcome {
    let receiver = CountingReceiver::grpc_paced(DELAY / BATCH as u32);
    receiver.track_traces();
    let mut builder = isolated_builder()
        .config(
            Config::default()
                .with_otlp_endpoint(receiver.endpoint())
                .with_otlp_protocol(Protocol::Grpc)
                .with_otlp_exporter(),
        )
        .max_export_batch_size(BATCH)
        .scheduled_delay(Duration::from_millis(5));
    if let Some(tail) = tail {
        builder = builder.tail_sampling(tail);
    }
    let telemetry: Telemetry = builder.install().unwrap_or_else(|e| panic!("install: {e}"));
    let capacity = BATCH as f64 / DELAY.as_secs_f64();
    let traces_per_ms = 10.0 * capacity / 1000.0 / spans_per_trace as f64;
    let (mut error_traces, mut ok_traces) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut offered = 0.0f64;
    while start.elapsed() < OFFER_FOR {
        offered += traces_per_ms;
        while (error_traces.len() + ok_traces.len()) as f64 <= offered {
            let error = (error_traces.len() + ok_traces.len()) % 10 == 9;
            let root = Span::start("invoke_agent");
            let trace_id = root
                .context()
                .span_context()
                .map(|sc| sc.trace_id().to_bytes())
                .unwrap_or_else(|| panic!("a sampled root has a span context"));
            {
                let _in = root.enter();
                for child in 1..spans_per_trace {
                    let mut span = Span::start("execute_tool");
                    if error && child == spans_per_trace - 1 {
                        span.set_status(Status::error("tool timed out"));
                    }
                }
            }
            let mut root = root;
            if error && spans_per_trace == 1 {
                root.set_status(Status::error("model call failed"));
            }
            drop(root);
            if error {
                error_traces.push(trace_id);
            } else {
                ok_traces.push(trace_id);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    telemetry
        .shutdown_with_timeout(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    let stats = telemetry.stats();
    Outcome {
        error_traces,
        ok_traces,
        receiver,
        stats,
    }
}

fn check(outcome: &Outcome, spans_per_trace: u64) {
    let Outcome {
        error_traces,
        ok_traces,
        receiver,
        stats,
    } = outcome;
    let received = receiver.traces();
    let whole = error_traces
        .iter()
        .filter(|id| {
            received
                .get(*id)
                .is_some_and(|t| t.spans == spans_per_trace && t.errors == 1)
        })
        .count();
    let ok_received: HashSet<_> = ok_traces
        .iter()
        .filter(|id| received.contains_key(*id))
        .collect();
    let whole_share = whole as f64 / error_traces.len() as f64;
    let ok_share = ok_received.len() as f64 / ok_traces.len() as f64;
    eprintln!(
        "error traces exported whole: {whole}/{} ({:.2}%); ok traces exported: {}/{} ({:.1}%); {stats:?}",
        error_traces.len(),
        100.0 * whole_share,
        ok_received.len(),
        ok_traces.len(),
        100.0 * ok_share,
    );
    assert!(
        whole_share >= 0.99,
        "only {whole} of {} error traces exported whole",
        error_traces.len()
    );
    assert!(
        ok_share < 0.5,
        "ok traces were not shed first: {:.1}% exported",
        100.0 * ok_share
    );
    // What was shed is counted, by class, and every recorded span is accounted for.
    assert!(stats.dropped_queue_full > 0);
    assert!(
        stats.dropped_queue_full_errors as f64
            <= 0.01 * (error_traces.len() as u64 * spans_per_trace) as f64,
        "{stats:?}"
    );
    assert_eq!(stats.spans_exported, receiver.spans());
    assert_eq!(
        stats.spans_recorded,
        stats.spans_exported + stats.spans_sampled_out + stats.dropped(),
        "{stats:?}"
    );
}

#[test]
fn error_spans_are_exported_while_ok_spans_are_shed() {
    let _serial = serial();
    let outcome = offer(None, 1);
    check(&outcome, 1);
}

#[test]
fn with_keep_errors_error_traces_are_exported_whole_under_overload() {
    let _serial = serial();
    let outcome = offer(Some(TailSampling::default().keep_errors(true)), 3);
    check(&outcome, 3);
}
