//! Hot-path cost on the calling thread, zdk-trace against `opentelemetry_sdk` used directly,
//! in the same run. Both export to a sink that counts what it receives, through their batching
//! pipelines, so neither measures a no-op.
//!
//! `cargo bench -p zdk-trace-runtime --bench hot_path` (full) or `-- --test` (smoke run).

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{FutureExt as _, Span as _, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use zdk_trace_runtime::{FutureExt, Sampler, Span};

mod common;

use common::{sdk, zdk, zdk_async, zdk_inheriting, zdk_sync, CountingSink, PAUSE};

#[inline(never)]
fn zdk_span_2_attrs() {
    let mut span = Span::start("llm.call");
    if span.is_recording() {
        span.set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4o"));
        span.set_attribute(KeyValue::new("gen_ai.usage.input_tokens", 128_i64));
    }
}

#[inline(never)]
fn sdk_span_2_attrs(tracer: &opentelemetry_sdk::trace::Tracer) {
    let mut span = tracer.start("llm.call");
    if span.is_recording() {
        span.set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4o"));
        span.set_attribute(KeyValue::new("gen_ai.usage.input_tokens", 128_i64));
    }
    span.end();
}

/// Times `iters` calls of `f` in bursts, pausing (untimed) between bursts so the exporting
/// pipeline keeps up (see [`common::bursts_paused`]); the same harness for every contender.
fn bursts(iters: u64, f: impl FnMut()) -> Duration {
    common::bursts_paused(iters, PAUSE, || (), f)
}

#[inline(never)]
async fn work() -> u64 {
    black_box(7)
}

fn sync_spans(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync span, 2 attributes");
    let sink = CountingSink::default();

    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    g.bench_function("zdk sampled root", |b| {
        b.iter_custom(|n| bursts(n, zdk_span_2_attrs))
    });
    {
        let _root = Span::start("root").entered();
        g.bench_function("zdk sampled child", |b| {
            b.iter_custom(|n| bursts(n, zdk_span_2_attrs))
        });
    }
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));

    // What `inherit_otel_context(true)` adds: OpenTelemetry's context read at start and enter.
    let telemetry = zdk_inheriting(Sampler::AlwaysOn, &sink, true);
    {
        let _root = Span::start("root").entered();
        g.bench_function("zdk sampled child, inherit_otel_context", |b| {
            b.iter_custom(|n| bursts(n, zdk_span_2_attrs))
        });
    }
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));

    let telemetry = zdk(Sampler::AlwaysOff, &sink);
    g.bench_function("zdk sampled out", |b| b.iter(zdk_span_2_attrs));
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let telemetry = zdk_inheriting(Sampler::AlwaysOff, &sink, true);
    g.bench_function("zdk sampled out, inherit_otel_context", |b| {
        b.iter(zdk_span_2_attrs)
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("zdk disabled (no pipeline)", |b| b.iter(zdk_span_2_attrs));

    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    let tracer = provider.tracer("bench");
    g.bench_function("otel sdk sampled root", |b| {
        b.iter_custom(|n| bursts(n, || sdk_span_2_attrs(&tracer)))
    });
    {
        let root = tracer.start("root");
        let _cx = opentelemetry::Context::current_with_span(root).attach();
        g.bench_function("otel sdk sampled child", |b| {
            b.iter_custom(|n| bursts(n, || sdk_span_2_attrs(&tracer)))
        });
    }
    let _ = provider.shutdown();
    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOff, &sink);
    let tracer = provider.tracer("bench");
    g.bench_function("otel sdk sampled out", |b| {
        b.iter(|| sdk_span_2_attrs(&tracer))
    });
    let _ = provider.shutdown();
    g.finish();
    assert!(
        sink.0.load(Ordering::Relaxed) > 0,
        "the sink received nothing"
    );
}

/// Times `iters` awaits of `make()` inside one `block_on` (see [`common::time_async`]).
fn time_async<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, make: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    common::time_async(rt, iters, PAUSE, || (), make)
}

fn async_fns(c: &mut Criterion) {
    let mut g = c.benchmark_group("async fn");
    let sink = CountingSink::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));

    g.bench_function("bare", |b| b.iter_custom(|n| time_async(&rt, n, work)));

    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    g.bench_function("zdk instrumented", |b| {
        b.iter_custom(|n| time_async(&rt, n, || work().instrument(Span::start("agent.step"))))
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));

    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    let tracer = provider.tracer("bench");
    g.bench_function("otel sdk with_context", |b| {
        b.iter_custom(|n| {
            time_async(&rt, n, || {
                let span = tracer.start("agent.step");
                work().with_context(opentelemetry::Context::current_with_span(span))
            })
        })
    });
    let _ = provider.shutdown();
    g.finish();
}

/// What `#[span(fields(...))]` on a sync fn expands to, written by hand.
#[inline(never)]
fn hand_written_sync() -> u64 {
    let mut span = Span::start_with_kind("llm.call", zdk_trace_runtime::SpanKind::Internal);
    if span.is_recording() {
        span.set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4o"));
        span.set_attribute(KeyValue::new("gen_ai.usage.input_tokens", 128_i64));
    }
    let _entered = span.entered();
    black_box(7)
}

/// The macros against the runtime calls they expand to (the target: within 10%).
fn macros(c: &mut Criterion) {
    let mut g = c.benchmark_group("macro vs hand-written");
    let sink = CountingSink::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    g.bench_function("sync, hand-written", |b| {
        b.iter_custom(|n| {
            bursts(n, || {
                black_box(hand_written_sync());
            })
        })
    });
    g.bench_function("sync, #[span]", |b| {
        b.iter_custom(|n| {
            bursts(n, || {
                black_box(zdk_sync());
            })
        })
    });
    g.bench_function("async, hand-written", |b| {
        b.iter_custom(|n| time_async(&rt, n, || work().instrument(Span::start("agent.step"))))
    });
    g.bench_function("async, #[span]", |b| {
        b.iter_custom(|n| time_async(&rt, n, zdk_async))
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = sync_spans, async_fns, macros
}
criterion_main!(benches);
