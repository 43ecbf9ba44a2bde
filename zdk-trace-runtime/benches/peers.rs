//! Per-call cost on the application thread, zdk-trace's macros against the peers a user would
//! otherwise pick, in one run on the same machine with the same harness:
//!
//! - `#[tracing::instrument]` with `tracing-opentelemetry` on an `opentelemetry_sdk`
//!   `SdkTracerProvider` with a `BatchSpanProcessor`;
//! - the `opentelemetry` API on `opentelemetry_sdk` directly (same batch processor);
//! - `#[fastrace::trace]` with a reporter set by `fastrace::set_reporter`.
//!
//! Every contender exports into a sink that counts what it receives (the bench asserts each
//! received spans), so nothing measures a no-op.
//!
//! `cargo bench -p zdk-trace-runtime --bench peers` (full) or `-- --test` (smoke run).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{FutureExt as _, Span as _, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use tracing_subscriber::layer::SubscriberExt as _;
use zdk_trace_runtime::{Sampler, Span};

mod common;

use common::{bursts_paused, sdk, time_async, zdk, CountingSink, PAUSE};

/// fastrace's counterpart of [`CountingSink`].
struct CountingReporter(Arc<AtomicU64>);

impl fastrace::collector::Reporter for CountingReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        self.0.fetch_add(spans.len() as u64, Ordering::Relaxed);
    }
}

/// Times `iters` calls of `f` in bursts of [`BURST`], with an untimed 200 µs pause between
/// bursts so the exporting pipelines keep up (what an application thread pays when the
/// pipeline is not saturated; the same harness as `hot_path`). `scope` wraps each burst and is
/// timed with it: fastrace records a span only under a local parent, so its burst runs under
/// a root span whose creation and submission are part of the measured time.
///
/// Cases that never reach a pipeline (baselines, sampled out) use [`no_pause`]: the pause
/// would only make their runs long.
fn bursts_in<S>(iters: u64, mut scope: impl FnMut() -> S, mut f: impl FnMut()) -> Duration {
    bursts_paused(iters, PAUSE, &mut scope, &mut f)
}

/// [`bursts`] without the pause, for cases that export nothing.
fn no_pause(iters: u64, f: impl FnMut()) -> Duration {
    bursts_paused(iters, Duration::ZERO, || (), f)
}

fn bursts(iters: u64, f: impl FnMut()) -> Duration {
    bursts_in(iters, || (), f)
}

/// A fastrace root for one burst, set as the thread's local parent. Dropped in the timed
/// region: a tuple drops its fields in order, so the guard first, then the root, which
/// submits the burst's spans to the collector.
fn fastrace_root() -> (fastrace::local::LocalParentGuard, fastrace::Span) {
    let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
    let guard = root.set_local_parent();
    (guard, root)
}

#[inline(never)]
fn baseline() -> u64 {
    black_box(7)
}

#[inline(never)]
#[zdk_trace_runtime::span(
    name = "llm.call",
    fields(gen_ai.request.model = "gpt-4o", gen_ai.usage.input_tokens = 128_i64)
)]
fn zdk_sync() -> u64 {
    black_box(7)
}

#[inline(never)]
#[zdk_trace_runtime::span(name = "agent.step")]
async fn zdk_async() -> u64 {
    black_box(7)
}

#[inline(never)]
#[tracing::instrument(
    name = "llm.call",
    fields(gen_ai.request.model = "gpt-4o", gen_ai.usage.input_tokens = 128_i64)
)]
fn tracing_sync() -> u64 {
    black_box(7)
}

#[inline(never)]
#[tracing::instrument(name = "agent.step")]
async fn tracing_async() -> u64 {
    black_box(7)
}

#[inline(never)]
fn sdk_sync(tracer: &opentelemetry_sdk::trace::Tracer) -> u64 {
    let mut span = tracer.start("llm.call");
    if span.is_recording() {
        span.set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4o"));
        span.set_attribute(KeyValue::new("gen_ai.usage.input_tokens", 128_i64));
    }
    let _cx = opentelemetry::Context::current_with_span(span).attach();
    black_box(7)
}

#[inline(never)]
#[fastrace::trace(
    name = "llm.call",
    properties = { "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "128" }
)]
fn fastrace_sync() -> u64 {
    black_box(7)
}

#[inline(never)]
#[fastrace::trace(name = "agent.step")]
async fn fastrace_async() -> u64 {
    black_box(7)
}

fn sync_fns(c: &mut Criterion) {
    let mut g = c.benchmark_group("peers: sync fn, 2 attributes");
    let sink = CountingSink::default();

    g.bench_function("baseline (no instrumentation)", |b| {
        b.iter_custom(|n| {
            no_pause(n, || {
                black_box(baseline());
            })
        })
    });

    // zdk-trace: `#[span]`, sampled in (new trace and child) and sampled out.
    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    g.bench_function("zdk #[span] sampled in, new trace", |b| {
        b.iter_custom(|n| {
            bursts(n, || {
                black_box(zdk_sync());
            })
        })
    });
    {
        let _root = Span::start("root").entered();
        g.bench_function("zdk #[span] sampled in, child", |b| {
            b.iter_custom(|n| {
                bursts(n, || {
                    black_box(zdk_sync());
                })
            })
        });
    }
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let zdk_spans = sink.0.swap(0, Ordering::Relaxed);
    let telemetry = zdk(Sampler::AlwaysOff, &sink);
    g.bench_function("zdk #[span] sampled out", |b| {
        b.iter_custom(|n| {
            no_pause(n, || {
                black_box(zdk_sync());
            })
        })
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));

    // The opentelemetry API on the SDK directly: start, 2 attributes, made current, end.
    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    let tracer = provider.tracer("bench");
    g.bench_function("otel sdk sampled in, new trace", |b| {
        b.iter_custom(|n| {
            bursts(n, || {
                black_box(sdk_sync(&tracer));
            })
        })
    });
    {
        let root = tracer.start("root");
        let _cx = opentelemetry::Context::current_with_span(root).attach();
        g.bench_function("otel sdk sampled in, child", |b| {
            b.iter_custom(|n| {
                bursts(n, || {
                    black_box(sdk_sync(&tracer));
                })
            })
        });
    }
    let _ = provider.shutdown();
    let sdk_spans = sink.0.swap(0, Ordering::Relaxed);
    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOff, &sink);
    let tracer = provider.tracer("bench");
    g.bench_function("otel sdk sampled out", |b| {
        b.iter_custom(|n| {
            no_pause(n, || {
                black_box(sdk_sync(&tracer));
            })
        })
    });
    let _ = provider.shutdown();

    // tracing + tracing-opentelemetry on the SDK. A scoped default dispatcher (not the global
    // one) so that each sampler gets its own subscriber; tracing's scoped path adds a
    // thread-local read per callsite check, a few ns at most.
    for (case, sampler) in [
        ("sampled in", opentelemetry_sdk::trace::Sampler::AlwaysOn),
        ("sampled out", opentelemetry_sdk::trace::Sampler::AlwaysOff),
    ] {
        let provider = sdk(sampler, &sink);
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
        let _default = tracing::subscriber::set_default(subscriber);
        let new_trace = if case == "sampled in" {
            format!("tracing-opentelemetry {case}, new trace")
        } else {
            format!("tracing-opentelemetry {case}")
        };
        let exports = case == "sampled in";
        g.bench_function(&new_trace, |b| {
            b.iter_custom(|n| {
                let call = || {
                    black_box(tracing_sync());
                };
                if exports {
                    bursts(n, call)
                } else {
                    no_pause(n, call)
                }
            })
        });
        if case == "sampled in" {
            let _root = tracing::info_span!("root").entered();
            g.bench_function(format!("tracing-opentelemetry {case}, child"), |b| {
                b.iter_custom(|n| {
                    bursts(n, || {
                        black_box(tracing_sync());
                    })
                })
            });
        }
        drop(_default);
        let _ = provider.shutdown();
    }
    let tracing_spans = sink.0.swap(0, Ordering::Relaxed);

    // fastrace: records only under a local parent, so every burst runs under a root.
    let reported = Arc::new(AtomicU64::new(0));
    fastrace::set_reporter(
        CountingReporter(reported.clone()),
        fastrace::collector::Config::default().report_interval(Duration::from_millis(100)),
    );
    g.bench_function(
        "fastrace #[trace] sampled in, child (root per 256 calls)",
        |b| {
            b.iter_custom(|n| {
                bursts_in(n, fastrace_root, || {
                    black_box(fastrace_sync());
                })
            })
        },
    );
    g.bench_function("fastrace #[trace] no local parent (not recorded)", |b| {
        b.iter_custom(|n| {
            no_pause(n, || {
                black_box(fastrace_sync());
            })
        })
    });
    g.finish();
    fastrace::flush();

    for (who, spans) in [
        ("zdk-trace", zdk_spans),
        ("opentelemetry_sdk", sdk_spans),
        ("tracing-opentelemetry", tracing_spans),
        ("fastrace", reported.load(Ordering::Relaxed)),
    ] {
        assert!(spans > 0, "{who}'s sink received nothing");
    }
}

#[inline(never)]
async fn bare() -> u64 {
    black_box(7)
}

fn async_fns(c: &mut Criterion) {
    let mut g = c.benchmark_group("peers: async fn, current-thread tokio");
    let sink = CountingSink::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));

    g.bench_function("baseline (bare async fn)", |b| {
        b.iter_custom(|n| time_async(&rt, n, Duration::ZERO, || (), bare))
    });

    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    g.bench_function("zdk #[span] sampled in", |b| {
        b.iter_custom(|n| time_async(&rt, n, PAUSE, || (), zdk_async))
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));

    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    let tracer = provider.tracer("bench");
    g.bench_function("otel sdk with_context sampled in", |b| {
        b.iter_custom(|n| {
            time_async(
                &rt,
                n,
                PAUSE,
                || (),
                || {
                    let span = tracer.start("agent.step");
                    bare().with_context(opentelemetry::Context::current_with_span(span))
                },
            )
        })
    });
    let _ = provider.shutdown();

    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    {
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
        let _default = tracing::subscriber::set_default(subscriber);
        g.bench_function("tracing-opentelemetry #[instrument] sampled in", |b| {
            b.iter_custom(|n| time_async(&rt, n, PAUSE, || (), tracing_async))
        });
    }
    let _ = provider.shutdown();

    // set_reporter was called by `sync_fns`; calling it again only replaces the reporter.
    let reported = Arc::new(AtomicU64::new(0));
    fastrace::set_reporter(
        CountingReporter(reported.clone()),
        fastrace::collector::Config::default().report_interval(Duration::from_millis(100)),
    );
    g.bench_function("fastrace #[trace] sampled in (root per 256 calls)", |b| {
        b.iter_custom(|n| time_async(&rt, n, PAUSE, fastrace_root, fastrace_async))
    });
    g.finish();
    fastrace::flush();
    assert!(
        sink.0.load(Ordering::Relaxed) > 0,
        "the sink received nothing"
    );
    assert!(
        reported.load(Ordering::Relaxed) > 0,
        "fastrace reported nothing"
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = sync_fns, async_fns
}
criterion_main!(benches);
