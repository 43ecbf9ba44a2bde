//! Metrics, against the opentelemetry SDK and metrics-rs in the same run: a labelled counter
//! add and a histogram record through the application's entry point (`telemetry.meter()`),
//! single-threaded and from 2 threads at once; and what the GenAI macros' built-in metrics
//! add to a call, sampled in and out (`#[tool_call]` with and without `no_metrics`).
//!
//!   cargo bench -p zdk-trace-runtime --bench metrics
//!
//! The SDK runs with a periodic reader into its in-memory exporter (every 60 s: nothing is
//! exported during a measurement), metrics-rs
//! with the Prometheus recorder of metrics-exporter-prometheus (its common recorder) installed
//! globally, without its HTTP listener.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use zdk_trace_runtime::{tool_call, Config, Sampler, Telemetry};

mod common;

use common::CountingSink;

fn attrs() -> [KeyValue; 3] {
    [
        KeyValue::new("gen_ai.request.model", "gpt-4o"),
        KeyValue::new("gen_ai.provider.name", "openai"),
        KeyValue::new("gen_ai.token.type", "input"),
    ]
}

fn install(sampler: Sampler, sink: &CountingSink) -> Telemetry {
    Telemetry::builder()
        .ignore_env()
        .config(Config::default())
        .sampler(sampler)
        .max_queue_size(1 << 20)
        .span_exporter(sink.clone())
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"))
}

/// Times `iters` calls of `f` on each of `threads` threads started together; the mean of the
/// threads' own elapsed times.
fn threaded(iters: u64, threads: usize, f: impl Fn() + Sync) -> Duration {
    let barrier = Barrier::new(threads);
    let total: Duration = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        f();
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("bench thread panicked")))
            .sum()
    });
    total / threads as u32
}

fn instruments(c: &mut Criterion) {
    let sink = CountingSink::default();
    let telemetry = install(Sampler::AlwaysOn, &sink);
    let zdk = telemetry.meter("bench");
    let zdk_counter = zdk.u64_counter("bench.calls").build();
    let zdk_histogram = zdk
        .f64_histogram("bench.latency")
        .with_unit("s")
        .with_boundaries(vec![
            0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12,
        ])
        .build();

    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(InMemoryMetricExporter::default()).build())
        .build();
    let sdk = provider.meter("bench");
    let sdk_counter = sdk.u64_counter("bench.calls").build();
    let sdk_histogram = sdk
        .f64_histogram("bench.latency")
        .with_unit("s")
        .with_boundaries(vec![
            0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12,
        ])
        .build();

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let _ = metrics::set_global_recorder(recorder);
    let labels = [
        ("gen_ai.request.model", "gpt-4o"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.token.type", "input"),
    ];

    let a = attrs();
    let mut g = c.benchmark_group("metrics: counter add, 3 attributes");
    g.bench_function("zdk meter", |b| {
        b.iter(|| zdk_counter.add(black_box(1), &a))
    });
    g.bench_function("otel sdk", |b| b.iter(|| sdk_counter.add(black_box(1), &a)));
    g.bench_function("metrics-rs", |b| {
        b.iter(|| metrics::counter!("bench.calls", &labels).increment(black_box(1)))
    });
    g.finish();

    let mut g = c.benchmark_group("metrics: histogram record, 3 attributes");
    g.bench_function("zdk meter", |b| {
        b.iter(|| zdk_histogram.record(black_box(0.05), &a))
    });
    g.bench_function("otel sdk", |b| {
        b.iter(|| sdk_histogram.record(black_box(0.05), &a))
    });
    g.bench_function("metrics-rs", |b| {
        b.iter(|| metrics::histogram!("bench.latency", &labels).record(black_box(0.05)))
    });
    g.finish();

    let mut g = c.benchmark_group("metrics: counter add, 3 attributes, 2 threads at once");
    g.bench_function("zdk meter", |b| {
        b.iter_custom(|n| threaded(n, 2, || zdk_counter.add(black_box(1), &attrs())))
    });
    g.bench_function("otel sdk", |b| {
        b.iter_custom(|n| threaded(n, 2, || sdk_counter.add(black_box(1), &attrs())))
    });
    g.bench_function("metrics-rs", |b| {
        b.iter_custom(|n| {
            threaded(n, 2, || {
                metrics::counter!("bench.calls", &labels).increment(black_box(1))
            })
        })
    });
    g.finish();
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
}

#[inline(never)]
#[tool_call(name = "bench_tool")]
fn metered_tool() -> u64 {
    black_box(7)
}

#[inline(never)]
#[tool_call(name = "bench_tool_quiet", no_metrics)]
fn unmetered_tool() -> u64 {
    black_box(7)
}

/// Times `n` calls in bursts of [`common::BURST`] with an untimed pause between them, so the
/// pipeline keeps up (sampled-in spans are exported).
fn in_bursts<T>(n: u64, mut f: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = n;
    while left > 0 {
        let k = left.min(common::BURST);
        let start = Instant::now();
        for _ in 0..k {
            black_box(f());
        }
        total += start.elapsed();
        left -= k;
        std::thread::sleep(common::PAUSE);
    }
    total
}

fn macro_calls(c: &mut Criterion) {
    let sink = CountingSink::default();
    let mut g = c.benchmark_group("metrics: #[tool_call] with and without built-in metrics");
    for (label, sampler) in [
        ("sampled in", Sampler::AlwaysOn),
        ("sampled out", Sampler::AlwaysOff),
    ] {
        let telemetry = install(sampler, &sink);
        g.bench_function(format!("{label}, metrics"), |b| {
            b.iter_custom(|n| in_bursts(n, || black_box(metered_tool())))
        });
        g.bench_function(format!("{label}, no_metrics"), |b| {
            b.iter_custom(|n| in_bursts(n, || black_box(unmetered_tool())))
        });
        if !common::smoke_mode() && !common::filtered() {
            paired(label);
        }
        telemetry
            .shutdown()
            .unwrap_or_else(|e| panic!("shutdown: {e}"));
    }
    g.finish();
}

/// The same two cases in alternating bursts (the order switching every round), so that both
/// see the same machine at the same moment: the median per-call cost of each and of the
/// difference, printed. Criterion's separate runs of a sampled-in case on 2 cores differ by
/// more than the difference measured here.
fn paired(label: &str) {
    const ROUNDS: usize = 2000;
    let mut with = Vec::with_capacity(ROUNDS);
    let mut without = Vec::with_capacity(ROUNDS);
    let burst = |f: fn() -> u64| {
        let start = Instant::now();
        for _ in 0..common::BURST {
            black_box(f());
        }
        let t = start.elapsed().as_nanos() as f64 / common::BURST as f64;
        std::thread::sleep(common::PAUSE);
        t
    };
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            with.push(burst(metered_tool));
            without.push(burst(unmetered_tool));
        } else {
            without.push(burst(unmetered_tool));
            with.push(burst(metered_tool));
        }
    }
    let mut diff: Vec<f64> = with.iter().zip(&without).map(|(a, b)| a - b).collect();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mw, mo, md) = (median(&mut with), median(&mut without), median(&mut diff));
    println!(
        "paired #[tool_call], {label}: metrics {mw:.1} ns, no_metrics {mo:.1} ns, \
         median difference {md:.1} ns per call ({ROUNDS} rounds of {} calls)",
        common::BURST
    );
}

criterion_group!(benches, instruments, macro_calls);
criterion_main!(benches);
