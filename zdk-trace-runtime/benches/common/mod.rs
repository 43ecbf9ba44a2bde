//! What every bench target shares: the counting exporter, the pipelines set up the same way
//! for zdk-trace and the SDK, and the burst harness that times every contender alike.

// Each bench target uses a different subset.
#![allow(dead_code)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};
use zdk_trace_runtime::{Config, Sampler, TailSampling, Telemetry};

/// What every contender's instrumented call does, written once so every bench target
/// measures the same thing: a span named `llm.call` with `gen_ai.request.model = "gpt-4o"` and
/// `gen_ai.usage.input_tokens = 128`, made current for the call, ended on return.
#[inline(never)]
#[zdk_trace_runtime::span(
    name = "llm.call",
    fields(gen_ai.request.model = "gpt-4o", gen_ai.usage.input_tokens = 128_i64)
)]
pub fn zdk_sync() -> u64 {
    black_box(7)
}

/// An instrumented async fn with no attributes (span `agent.step`).
#[inline(never)]
#[zdk_trace_runtime::span(name = "agent.step")]
pub async fn zdk_async() -> u64 {
    black_box(7)
}

/// [`zdk_sync`] with `#[tracing::instrument]`.
#[inline(never)]
#[tracing::instrument(
    name = "llm.call",
    fields(gen_ai.request.model = "gpt-4o", gen_ai.usage.input_tokens = 128_i64)
)]
pub fn tracing_sync() -> u64 {
    black_box(7)
}

/// [`zdk_sync`] with the `opentelemetry` API on the SDK: start, 2 attributes, made current
/// (attached `Context`), ended on return.
#[inline(never)]
pub fn sdk_sync(tracer: &opentelemetry_sdk::trace::Tracer) -> u64 {
    use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _};
    let mut span = tracer.start("llm.call");
    if span.is_recording() {
        span.set_attribute(opentelemetry::KeyValue::new(
            "gen_ai.request.model",
            "gpt-4o",
        ));
        span.set_attribute(opentelemetry::KeyValue::new(
            "gen_ai.usage.input_tokens",
            128_i64,
        ));
    }
    let _cx = opentelemetry::Context::current_with_span(span).attach();
    black_box(7)
}

/// CPU nanoseconds used so far by this process's threads, summed by thread name (as the kernel
/// keeps it: the first 15 bytes), from `/proc/self/task/*/schedstat`. Threads that have exited
/// are gone from the map. Empty where `/proc` is not available.
pub fn thread_cpu_ns() -> std::collections::HashMap<String, u64> {
    let mut by_name = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let (Ok(comm), Ok(schedstat)) = (
            std::fs::read_to_string(task.path().join("comm")),
            std::fs::read_to_string(task.path().join("schedstat")),
        ) else {
            continue;
        };
        let Some(ns) = schedstat
            .split_whitespace()
            .next()
            .and_then(|f| f.parse::<u64>().ok())
        else {
            continue;
        };
        *by_name.entry(comm.trim_end().to_owned()).or_insert(0) += ns;
    }
    by_name
}

/// Counts spans; the cheapest honest exporter.
#[derive(Debug, Clone, Default)]
pub struct CountingSink(pub Arc<AtomicU64>);

impl SpanExporter for CountingSink {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// zdk-trace exporting to `sink`: queue 2^20, batch 4096, 100 ms (the same as [`sdk`]).
pub fn zdk(sampler: Sampler, sink: &CountingSink) -> Telemetry {
    zdk_inheriting(sampler, sink, false)
}

/// [`zdk`]; with `inherit_otel`, new spans also look for a parent in OpenTelemetry's current
/// `Context`.
pub fn zdk_inheriting(sampler: Sampler, sink: &CountingSink, inherit_otel: bool) -> Telemetry {
    zdk_with(sampler, TailSampling::default(), sink, inherit_otel)
}

/// [`zdk`] with the tail rules `tail`.
pub fn zdk_tail(sampler: Sampler, tail: TailSampling, sink: &CountingSink) -> Telemetry {
    zdk_with(sampler, tail, sink, false)
}

fn zdk_with(
    sampler: Sampler,
    tail: TailSampling,
    sink: &CountingSink,
    inherit_otel: bool,
) -> Telemetry {
    Telemetry::builder()
        .ignore_env()
        .inherit_otel_context(inherit_otel)
        .config(Config::default())
        .sampler(sampler)
        .tail_sampling(tail)
        .max_queue_size(1 << 20)
        .max_export_batch_size(4096)
        .scheduled_delay(Duration::from_millis(100))
        .span_exporter(sink.clone())
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"))
}

/// The SDK with a batch processor exporting to `sink`, set up as [`zdk`].
pub fn sdk(sampler: opentelemetry_sdk::trace::Sampler, sink: &CountingSink) -> SdkTracerProvider {
    let processor = BatchSpanProcessor::builder(sink.clone())
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(1 << 20)
                .with_max_export_batch_size(4096)
                .with_scheduled_delay(Duration::from_millis(100))
                .build(),
        )
        .build();
    SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_span_processor(processor)
        .build()
}

/// Spans per timed burst: half a zdk thread ring, so every pipeline keeps up between bursts.
pub const BURST: u64 = 256;

/// The untimed pause between bursts of cases that export.
pub const PAUSE: Duration = Duration::from_micros(200);

/// Times `iters` calls of `f` in bursts of [`BURST`], pausing `pause` (untimed) between
/// bursts, so the exporting pipelines keep up: what an application thread pays when the
/// pipeline is not saturated. `scope` wraps each burst and is timed with it (fastrace records
/// a span only under a local parent).
pub fn bursts_paused<S>(
    iters: u64,
    pause: Duration,
    mut scope: impl FnMut() -> S,
    mut f: impl FnMut(),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BURST);
        let start = Instant::now();
        let guard = scope();
        for _ in 0..n {
            f();
        }
        drop(guard);
        total += start.elapsed();
        left -= n;
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    total
}

/// Times `iters` awaits of `make()` inside one `block_on` (runtime entry is not measured;
/// `scope` is), in bursts like [`bursts_paused`].
pub fn time_async<S, F, Fut>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    pause: Duration,
    mut scope: impl FnMut() -> S,
    make: F,
) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    rt.block_on(async {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(BURST);
            let start = Instant::now();
            let guard = scope();
            for _ in 0..n {
                black_box(make().await);
            }
            drop(guard);
            total += start.elapsed();
            left -= n;
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
        total
    })
}

/// Whether the command line names cases to run (a criterion filter): the sink checks are then
/// skipped, as the cases that would have fed a sink may not have run. The smoke run
/// (`-- --test`, no filter) and the full run always check.
pub fn filtered() -> bool {
    std::env::args().skip(1).any(|a| !a.starts_with('-'))
}

/// zdk-trace exporting OTLP to `endpoint` with the DEFAULT batch settings (queue 32 768, batch
/// 512, 5 s), unless `max_queue_size` overrides the queue; head sampling `always_on`.
pub fn zdk_otlp(
    endpoint: &str,
    protocol: zdk_trace_runtime::Protocol,
    max_queue_size: Option<usize>,
    tail: Option<zdk_trace_runtime::TailSampling>,
) -> Telemetry {
    let mut builder = Telemetry::builder()
        .ignore_env()
        .config(
            Config::default()
                .with_otlp_endpoint(endpoint)
                .with_otlp_protocol(protocol)
                .with_otlp_exporter(),
        )
        .sampler(Sampler::AlwaysOn);
    // `ZDK_BENCH_QUEUE=32768`: another queue size for A/B runs (not a default setting).
    let max_queue_size = max_queue_size.or_else(|| {
        std::env::var("ZDK_BENCH_QUEUE")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(size) = max_queue_size {
        builder = builder.max_queue_size(size);
    }
    if let Some(tail) = tail {
        builder = builder.tail_sampling(tail);
    }
    builder.install().unwrap_or_else(|e| panic!("install: {e}"))
}

/// The SDK's `BatchSpanProcessor` (its DEFAULT batch config unless `max_queue_size` is
/// given) with the opentelemetry-otlp gRPC exporter to `endpoint`. tonic needs a tokio runtime
/// for its connection: the returned runtime must outlive the provider.
pub fn sdk_otlp(
    endpoint: &str,
    max_queue_size: Option<usize>,
) -> (SdkTracerProvider, tokio::runtime::Runtime) {
    use opentelemetry_otlp::WithExportConfig as _;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let exporter = {
        let _enter = rt.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut config = BatchConfigBuilder::default();
    if let Some(size) = max_queue_size {
        config = config.with_max_queue_size(size);
    }
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(config.build())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_span_processor(processor)
        .build();
    (provider, rt)
}

/// `--test` among the arguments: the smoke mode (`cargo bench -- --test`).
pub fn smoke_mode() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// The first argument that is not a flag: a substring filter on case names, like criterion's.
pub fn filter() -> Option<String> {
    std::env::args().skip(1).find(|a| !a.starts_with('-'))
}
