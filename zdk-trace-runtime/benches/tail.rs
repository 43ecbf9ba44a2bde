//! The cost of zdk-trace's tail rules over head sampling alone (issue 6).
//!
//! - Per call on the application thread (criterion): a `#[span]` sync fn with 2 attributes
//!   under (a) head `always_on`, (b) head `TraceIdRatio(0.1)`, (c) (b) + `keep_errors`,
//!   (d) (b) + `keep_slower_than(1 s)`, (e) (b) + both. A tail rule makes head-dropped spans
//!   recorded (the collector decides once the trace's local root ends), so (c) to (e) cost what
//!   a sampled-in span costs, not the 90% sampled-out mix of (b).
//! - On the collector side (printed after the group, not criterion): the CPU time the
//!   collector and exporter threads spend on N spans under each configuration, read from
//!   `/proc/self/task/*/schedstat`.
//!
//! `cargo bench -p zdk-trace-runtime --bench tail` (full) or `-- --test` (smoke run).

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use zdk_trace_runtime::{Sampler, TailSampling, Telemetry};

mod common;

use common::{bursts_paused, thread_cpu_ns, zdk_sync, zdk_tail, CountingSink, BURST, PAUSE};

/// The configurations compared, in table order.
fn configs() -> [(&'static str, Sampler, TailSampling); 5] {
    let slow = Duration::from_secs(1);
    let ratio = || Sampler::TraceIdRatio(0.1);
    [
        (
            "(a) head always_on, no tail rule",
            Sampler::AlwaysOn,
            TailSampling::default(),
        ),
        (
            "(b) head TraceIdRatio(0.1), no tail rule",
            ratio(),
            TailSampling::default(),
        ),
        (
            "(c) (b) + keep_errors",
            ratio(),
            TailSampling::default().keep_errors(true),
        ),
        (
            "(d) (b) + keep_slower_than(1 s)",
            ratio(),
            TailSampling::default().keep_slower_than(slow),
        ),
        (
            "(e) (b) + keep_errors + keep_slower_than(1 s)",
            ratio(),
            TailSampling::default()
                .keep_errors(true)
                .keep_slower_than(slow),
        ),
    ]
}

/// The pause that lets the collector keep up with a tail rule on: it spends about 3.6 µs per
/// span then (see `collector_cost`), so about 0.9 ms per burst of 256.
const SLOW_COLLECTOR_PAUSE: Duration = Duration::from_micros(1500);

fn per_call(c: &mut Criterion) {
    let mut g = c.benchmark_group("tail rules: sync fn, 2 attributes, per call");
    cases(&mut g, PAUSE, &configs());
    g.finish();

    // The same with a pause long enough for the collector to keep up with the tail rules, so
    // that the application thread does not compete with a saturated collector. The pause is
    // untimed but makes each case's wall time 40× its timed time: shorter criterion settings.
    let mut g = c.benchmark_group("tail rules: per call, collector keeping up (1.5 ms pause)");
    g.warm_up_time(Duration::from_millis(50))
        .measurement_time(Duration::from_millis(500))
        .sample_size(20);
    let [a, _, c, d, e] = configs();
    cases(&mut g, SLOW_COLLECTOR_PAUSE, &[a, c, d, e]);
    g.finish();
    collector_cost();
}

/// One criterion case per configuration, each with its own pipeline and sink; asserts every
/// sink received what its pipeline exported.
fn cases(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pause: Duration,
    configs: &[(&'static str, Sampler, TailSampling)],
) {
    for (name, sampler, tail) in configs.iter().cloned() {
        let sink = CountingSink::default();
        let telemetry = zdk_tail(sampler, tail, &sink);
        g.bench_function(name, |b| {
            b.iter_custom(|n| {
                bursts_paused(
                    n,
                    pause,
                    || (),
                    || {
                        black_box(zdk_sync());
                    },
                )
            })
        });
        // Untimed, so that even a smoke run (one call per case) exports under a 0.1 ratio.
        bursts_paused(
            4 * BURST,
            PAUSE,
            || (),
            || {
                black_box(zdk_sync());
            },
        );
        telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
        let stats = telemetry.stats();
        assert!(
            sink.0.load(Ordering::Relaxed) > 0,
            "{name}: the sink received nothing"
        );
        assert_eq!(
            stats.spans_exported,
            sink.0.load(Ordering::Relaxed),
            "{name}: exported and received differ"
        );
    }
}

/// Collector and exporter CPU time per span under each configuration: N spans in bursts of
/// [`BURST`] with the bench's pause (the pipeline keeps up, as in the per-call cases), then a
/// flush; the threads' CPU time is read before the first span and after the flush.
fn collector_cost() {
    let smoke = std::env::args().any(|a| a == "--test");
    let spans: u64 = if smoke { 4 * BURST } else { 4000 * BURST };
    println!("\ntail rules, pipeline threads' CPU time per span ({spans} spans per row):");
    println!("| Configuration | collector ns/span | exporter ns/span | spans exported |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, sampler, tail) in configs() {
        let sink = CountingSink::default();
        let telemetry: Telemetry = zdk_tail(sampler, tail, &sink);
        // Let the threads start before reading their clocks.
        std::thread::sleep(Duration::from_millis(20));
        // The kernel keeps the first 15 bytes of a thread's name; earlier cases' pipeline
        // threads have exited, so each name is this pipeline's thread.
        let cpu = |name: &str| thread_cpu_ns().get(name).copied();
        let (collector, exporter) = (cpu("zdk-trace-colle"), cpu("zdk-trace-expor"));
        let (c0, e0) = (collector.unwrap_or(0), exporter.unwrap_or(0));
        bursts_paused(
            spans,
            PAUSE,
            || (),
            || {
                black_box(zdk_sync());
            },
        );
        telemetry.force_flush().unwrap_or_else(|e| panic!("{e}"));
        let (c1, e1) = (
            cpu("zdk-trace-colle").unwrap_or(0),
            cpu("zdk-trace-expor").unwrap_or(0),
        );
        let stats = telemetry.stats();
        telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stats.dropped_queue_full, 0, "{name}: spans dropped");
        let received = sink.0.load(Ordering::Relaxed);
        assert!(received > 0, "{name}: the sink received nothing");
        let per_span = |ns: u64| ns as f64 / spans as f64;
        match (collector, exporter) {
            (Some(_), Some(_)) => println!(
                "| {name} | {:.1} | {:.1} | {received} |",
                per_span(c1 - c0),
                per_span(e1 - e0)
            ),
            _ => println!("| {name} | (threads not found) | | {received} |"),
        }
    }
    println!();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = per_call
}
criterion_main!(benches);
