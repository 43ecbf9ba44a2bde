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
//! Groups: a sync fn with 2 attributes; an async fn on a current-thread and on a multi-thread
//! runtime; an async fn woken from another thread (a paired harness of its own, printed as a
//! table: criterion's case-after-case runs drown it in wake-up noise); a stream of 100 items
//! (tracing through `tracing-futures`, fastrace through `fastrace-futures`).
//!
//! Sustained mode (`benches/sustained/`): the same sync fn called back to back for a second,
//! no pause, with every span accounted for and the CPU of every thread per span; printed as a
//! table after the criterion groups (`-- sustained` runs it alone).
//!
//! `cargo bench -p zdk-trace-runtime --bench peers` (full) or `-- --test` (smoke run).

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use futures_core::Stream;
use opentelemetry::trace::{FutureExt as _, TraceContextExt, Tracer, TracerProvider};
use tracing::instrument::WithSubscriber as _;
use tracing_subscriber::layer::SubscriberExt as _;
use zdk_trace_runtime::{Sampler, Span};

mod common;
mod sustained;

use common::{
    bursts_paused, filtered, sdk, sdk_sync, time_async, tracing_sync, zdk, zdk_async, zdk_sync,
    CountingSink, BURST, PAUSE,
};

/// fastrace's counterpart of [`CountingSink`].
pub(crate) struct CountingReporter(pub(crate) Arc<AtomicU64>);

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
pub(crate) fn fastrace_root() -> (fastrace::local::LocalParentGuard, fastrace::Span) {
    let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
    let guard = root.set_local_parent();
    (guard, root)
}

#[inline(never)]
fn baseline() -> u64 {
    black_box(7)
}

#[inline(never)]
#[tracing::instrument(name = "agent.step")]
async fn tracing_async() -> u64 {
    black_box(7)
}

#[inline(never)]
#[fastrace::trace(
    name = "llm.call",
    properties = { "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "128" }
)]
pub(crate) fn fastrace_sync() -> u64 {
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
    {
        let _root = Span::start("root").entered();
        g.bench_function("zdk #[span] sampled out, child", |b| {
            b.iter_custom(|n| {
                no_pause(n, || {
                    black_box(zdk_sync());
                })
            })
        });
    }
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

    // The same `#[tracing::instrument]` fn through zdk-trace's `tracing` bridge (feature
    // `tracing`): what a `tracing`-instrumented library costs inside a zdk-trace app.
    #[cfg(feature = "tracing")]
    let bridge_spans = {
        let telemetry = zdk(Sampler::AlwaysOn, &sink);
        let subscriber = tracing_subscriber::registry().with(zdk_trace_runtime::tracing::layer());
        let default = tracing::subscriber::set_default(subscriber);
        g.bench_function("tracing + zdk bridge sampled in, new trace", |b| {
            b.iter_custom(|n| {
                bursts(n, || {
                    black_box(tracing_sync());
                })
            })
        });
        {
            let _root = tracing::info_span!("root").entered();
            g.bench_function("tracing + zdk bridge sampled in, child", |b| {
                b.iter_custom(|n| {
                    bursts(n, || {
                        black_box(tracing_sync());
                    })
                })
            });
        }
        drop(default);
        telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
        sink.0.swap(0, Ordering::Relaxed)
    };

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
        #[cfg(feature = "tracing")]
        ("zdk-trace's tracing bridge", bridge_spans),
    ] {
        assert!(filtered() || spans > 0, "{who}'s sink received nothing");
    }
    // `ZDK_BENCH_BURSTS=1` prints the table under a filter too (`-- nothing` for the table
    // alone).
    if !filtered() || std::env::var_os("ZDK_BENCH_BURSTS").is_some() {
        burst_distribution();
    }
}

/// The spread behind the sync medians: every burst of [`BURST`] calls timed on its own (same
/// pause as the criterion cases), for zdk-trace's `#[span]` (sampled in, child) and fastrace
/// (root per burst). Criterion's median is over samples of many bursts, so bursts slowed by
/// the pipelines' own threads weigh in it; this shows how many there are. Each library's
/// first 0.5 s of bursts (a new thread allocating its slots, rings or buffers) is timed apart
/// and shown on a row of its own. Printed as a Markdown table (not criterion); fastrace's
/// reporter is the one `sync_fns` set.
fn burst_distribution() {
    let smoke = std::env::args().any(|a| a == "--test");
    let (warm_for, run_for) = if smoke {
        (Duration::from_millis(5), Duration::from_millis(20))
    } else {
        (Duration::from_millis(500), Duration::from_secs(2))
    };
    let bursts_for = |run_for: Duration,
                      scope: &mut dyn FnMut() -> Box<dyn std::any::Any>,
                      call: fn() -> u64| {
        let mut ns = Vec::new();
        let end = std::time::Instant::now() + run_for;
        while std::time::Instant::now() < end || ns.is_empty() {
            let start = std::time::Instant::now();
            let guard = scope();
            for _ in 0..BURST {
                black_box(call());
            }
            drop(guard);
            ns.push(start.elapsed().as_nanos() as f64 / BURST as f64);
            std::thread::sleep(PAUSE);
        }
        ns.sort_by(f64::total_cmp);
        let at = |q: f64| ns[((ns.len() - 1) as f64 * q) as usize];
        let mean = ns.iter().sum::<f64>() / ns.len() as f64;
        let slow = ns.iter().filter(|&&x| x > 2.0 * at(0.5)).count();
        format!(
            "{:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1}% | {}",
            at(0.1),
            at(0.5),
            at(0.9),
            at(0.99),
            mean,
            100.0 * slow as f64 / ns.len() as f64,
            ns.len()
        )
    };
    // A new pipeline's first bursts allocate its thread's slots and rings (page faults
    // included): they are timed apart, and the steady rows start after them, as criterion's
    // medians do after their warm-up.
    let per_call = |scope: &mut dyn FnMut() -> Box<dyn std::any::Any>, call: fn() -> u64| {
        let warm = bursts_for(warm_for, scope, call);
        (warm, bursts_for(run_for, scope, call))
    };
    let sink = CountingSink::default();
    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    let (zdk_warm, zdk_row) = {
        let _root = Span::start("root").entered();
        per_call(&mut || Box::new(()), zdk_sync)
    };
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        sink.0.load(Ordering::Relaxed) > 0,
        "zdk-trace's sink received nothing"
    );
    let (fastrace_warm, fastrace_row) = per_call(&mut || Box::new(fastrace_root()), fastrace_sync);
    fastrace::flush();
    println!("\npeers: sync fn, 2 attributes, sampled in: ns per call, each burst of {BURST} timed alone ({run_for:?} after {warm_for:?} of the same bursts, shown apart)");
    println!();
    println!("| Case | p10 | p50 | p90 | p99 | mean | bursts > 2× p50 | bursts |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!("| zdk #[span] sampled in, child | {zdk_row} |");
    println!("| fastrace #[trace] sampled in, child (root per burst) | {fastrace_row} |");
    println!("| zdk #[span], its pipeline's first {warm_for:?} (new thread: slots and rings allocated) | {zdk_warm} |");
    println!("| fastrace #[trace], its first {warm_for:?} | {fastrace_warm} |");
    println!();
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
        filtered() || sink.0.load(Ordering::Relaxed) > 0,
        "the sink received nothing"
    );
    assert!(
        filtered() || reported.load(Ordering::Relaxed) > 0,
        "fastrace reported nothing"
    );
}

/// Times `iters` calls in bursts of [`BURST`] on a multi-thread runtime: each burst is one
/// task spawned on `rt` (`burst(n)` makes n calls when awaited) and timed inside the task, from
/// its first poll to its end, so the spawn, the hand-over to a worker and the wake-up of the
/// thread blocked on the `JoinHandle` (the same constant for every contender) are left out,
/// while every thread hop inside the burst is in. The burst's future is `Send`, so an
/// instrumented call can start on one worker and end on the other.
fn time_spawned<B, Fut>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    pause: Duration,
    burst: B,
) -> Duration
where
    B: Fn(u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BURST);
        let calls = burst(n);
        let task = rt.spawn(async move {
            let start = Instant::now();
            calls.await;
            start.elapsed()
        });
        total += rt.block_on(task).unwrap_or_else(|e| panic!("{e}"));
        left -= n;
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    total
}

/// `n` awaits of `make()`, one after the other.
async fn calls<F, Fut>(n: u64, make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = u64>,
{
    for _ in 0..n {
        black_box(make().await);
    }
}

/// Pending at its first poll, woken from another thread (a helper that only calls `wake`),
/// as an I/O or timer wake-up would: the task goes through the runtime's queue and a worker,
/// not necessarily the one it ran on, resumes it. Ready at its second poll.
#[derive(Default)]
struct WakeElsewhere {
    woken: bool,
}

impl Future for WakeElsewhere {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        static WAKER: std::sync::LazyLock<crossbeam_channel::Sender<std::task::Waker>> =
            std::sync::LazyLock::new(|| {
                let (tx, rx) = crossbeam_channel::unbounded::<std::task::Waker>();
                std::thread::spawn(move || rx.into_iter().for_each(std::task::Waker::wake));
                tx
            });
        if self.woken {
            return Poll::Ready(());
        }
        self.woken = true;
        WAKER
            .send(cx.waker().clone())
            .unwrap_or_else(|e| panic!("{e}"));
        Poll::Pending
    }
}

#[inline(never)]
async fn bare_woken() -> u64 {
    WakeElsewhere::default().await;
    black_box(7)
}

#[inline(never)]
#[zdk_trace_runtime::span(name = "agent.step")]
async fn zdk_async_woken() -> u64 {
    WakeElsewhere::default().await;
    black_box(7)
}

#[inline(never)]
#[tracing::instrument(name = "agent.step")]
async fn tracing_async_woken() -> u64 {
    WakeElsewhere::default().await;
    black_box(7)
}

#[inline(never)]
#[fastrace::trace(name = "agent.step")]
async fn fastrace_async_woken() -> u64 {
    WakeElsewhere::default().await;
    black_box(7)
}

/// The async fns of one multi-thread group: the bare one and each library's instrumented copy.
struct AsyncFns<B, Z, T, F> {
    bare: B,
    zdk: Z,
    tracing: T,
    fastrace: F,
}

/// How often a call woken from another thread resumes on another worker than the one that
/// polled it first (untimed; printed with the table so the hop rate of a run is known).
fn hop_rate(rt: &tokio::runtime::Runtime) -> f64 {
    let calls = 50 * BURST;
    let hops = rt
        .block_on(rt.spawn(async move {
            let mut hops = 0_u64;
            for _ in 0..calls {
                let before = std::thread::current().id();
                WakeElsewhere::default().await;
                hops += u64::from(std::thread::current().id() != before);
            }
            hops
        }))
        .unwrap_or_else(|e| panic!("{e}"));
    hops as f64 / calls as f64
}

/// One multi-thread group: the bare async fn, zdk sampled in and out, the SDK's
/// `with_context`, tracing's `#[instrument]` and fastrace's `#[trace]` under a root per burst.
fn multi_thread_group<B, FB, Z, FZ, T, FT, F, FF>(
    c: &mut Criterion,
    name: &str,
    fns: AsyncFns<B, Z, T, F>,
) where
    B: Fn() -> FB + Copy + Send + 'static,
    FB: Future<Output = u64> + Send + 'static,
    Z: Fn() -> FZ + Copy + Send + 'static,
    FZ: Future<Output = u64> + Send + 'static,
    T: Fn() -> FT + Copy + Send + 'static,
    FT: Future<Output = u64> + Send + 'static,
    F: Fn() -> FF + Copy + Send + 'static,
    FF: Future<Output = u64> + Send + 'static,
{
    let AsyncFns {
        bare,
        zdk: zdk_fn,
        tracing: tracing_fn,
        fastrace: fastrace_fn,
    } = fns;
    let mut g = c.benchmark_group(name);
    let sink = CountingSink::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));

    g.bench_function("baseline (bare async fn)", |b| {
        b.iter_custom(|n| time_spawned(&rt, n, Duration::ZERO, |n| calls(n, bare)))
    });

    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    g.bench_function("zdk #[span] sampled in", |b| {
        b.iter_custom(|n| time_spawned(&rt, n, PAUSE, |n| calls(n, zdk_fn)))
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let zdk_spans = sink.0.swap(0, Ordering::Relaxed);
    let telemetry = zdk(Sampler::AlwaysOff, &sink);
    g.bench_function("zdk #[span] sampled out", |b| {
        b.iter_custom(|n| time_spawned(&rt, n, Duration::ZERO, |n| calls(n, zdk_fn)))
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sink.0.swap(0, Ordering::Relaxed),
        0,
        "zdk sampled out exported spans"
    );

    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    let tracer = provider.tracer("bench");
    g.bench_function("otel sdk with_context sampled in", |b| {
        b.iter_custom(|n| {
            time_spawned(&rt, n, PAUSE, |n| {
                let tracer = tracer.clone();
                async move {
                    calls(n, move || {
                        let span = tracer.start("agent.step");
                        bare().with_context(opentelemetry::Context::current_with_span(span))
                    })
                    .await
                }
            })
        })
    });
    let _ = provider.shutdown();
    let sdk_spans = sink.0.swap(0, Ordering::Relaxed);

    // A scoped default subscriber is thread-local, so it would not reach the workers: each
    // burst's task carries it (`WithSubscriber`, the subscriber made default at every poll of
    // the task; once per burst, or once per resumption when the calls are woken).
    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
    );
    g.bench_function("tracing-opentelemetry #[instrument] sampled in", |b| {
        b.iter_custom(|n| {
            time_spawned(&rt, n, PAUSE, |n| {
                calls(n, tracing_fn).with_subscriber(dispatch.clone())
            })
        })
    });
    let _ = provider.shutdown();
    let tracing_spans = sink.0.swap(0, Ordering::Relaxed);

    // fastrace: the burst runs in a root span created inside the timed task; `in_span` makes
    // it the local parent at every poll, so each `#[trace]` call (made while polling) is its
    // child, on whichever worker the poll runs.
    let reported = Arc::new(AtomicU64::new(0));
    fastrace::set_reporter(
        CountingReporter(reported.clone()),
        fastrace::collector::Config::default().report_interval(Duration::from_millis(100)),
    );
    g.bench_function("fastrace #[trace] sampled in (root per 256 calls)", |b| {
        b.iter_custom(|n| {
            time_spawned(&rt, n, PAUSE, |n| async move {
                let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                fastrace::future::FutureExt::in_span(calls(n, fastrace_fn), root).await
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
        assert!(
            filtered() || spans > 0,
            "{name}: {who}'s sink received nothing"
        );
    }
}

fn async_multi_thread(c: &mut Criterion) {
    multi_thread_group(
        c,
        "peers: async fn, multi-thread tokio (2 workers)",
        AsyncFns {
            bare,
            zdk: zdk_async,
            tracing: tracing_async,
            fastrace: fastrace_async,
        },
    );
    woken_paired();
}

/// One burst's future, boxed so that contenders of different types share one list (one
/// allocation per burst of 256 calls).
type Burst = Box<dyn Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>;

/// Async fns pending once and woken from another thread, on a multi-thread runtime: each call
/// costs a cross-thread wake-up (10 to 15 µs here, moving by several µs with the load), which
/// drowns the instrumentation in criterion's case-after-case runs. So this is a paired
/// harness instead: every contender is installed at once, and each round runs one burst of
/// every contender, in an order rotating from round to round; a contender's cost is the
/// median over rounds of (its burst − the bare burst of the same round) / 256. Printed as a
/// Markdown table (not criterion).
fn woken_paired() {
    let smoke = std::env::args().any(|a| a == "--test");
    let rounds = if smoke { 2 } else { 120 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let hops = hop_rate(&rt);
    let sink = CountingSink::default();
    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
    );
    let reported = Arc::new(AtomicU64::new(0));
    fastrace::set_reporter(
        CountingReporter(reported.clone()),
        fastrace::collector::Config::default().report_interval(Duration::from_millis(100)),
    );
    let tracer = provider.tracer("bench");
    let contenders: Vec<(&str, Burst)> = vec![
        (
            "baseline (bare async fn)",
            Box::new(|n| Box::pin(calls(n, bare_woken))),
        ),
        (
            "zdk #[span] sampled in",
            Box::new(|n| Box::pin(calls(n, zdk_async_woken))),
        ),
        (
            "otel sdk with_context sampled in",
            Box::new(move |n| {
                let tracer = tracer.clone();
                Box::pin(calls(n, move || {
                    let span = tracer.start("agent.step");
                    bare_woken().with_context(opentelemetry::Context::current_with_span(span))
                }))
            }),
        ),
        (
            "tracing-opentelemetry #[instrument] sampled in",
            Box::new(move |n| {
                Box::pin(calls(n, tracing_async_woken).with_subscriber(dispatch.clone()))
            }),
        ),
        (
            "fastrace #[trace] sampled in (root per 256 calls)",
            Box::new(|n| {
                Box::pin(async move {
                    let root =
                        fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                    fastrace::future::FutureExt::in_span(calls(n, fastrace_async_woken), root).await
                })
            }),
        ),
    ];
    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    let sampled_in = paired_rounds(&rt, rounds, &contenders);
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let telemetry = zdk(Sampler::AlwaysOff, &sink);
    let out: Vec<(&str, Burst)> = vec![
        (
            "baseline (bare async fn)",
            Box::new(|n| Box::pin(calls(n, bare_woken))),
        ),
        (
            "zdk #[span] sampled out",
            Box::new(|n| Box::pin(calls(n, zdk_async_woken))),
        ),
    ];
    let sampled_out = paired_rounds(&rt, rounds, &out);
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let _ = provider.shutdown();
    fastrace::flush();
    assert!(
        sink.0.load(Ordering::Relaxed) > 0,
        "woken: the sink received nothing"
    );
    assert!(
        reported.load(Ordering::Relaxed) > 0,
        "woken: fastrace reported nothing"
    );

    println!(
        "\npeers: async fn woken from another thread once, multi-thread tokio (2 workers), \
         paired over {rounds} rounds; the call resumed on the other worker {:.0}% of the time\n",
        100.0 * hops
    );
    println!("| Case (per call) | median | over bare, paired median [p25, p75] |");
    println!("| --- | ---: | ---: |");
    let row = |name: &str, bursts: &[f64], bare: &[f64]| {
        let mut own = bursts.to_vec();
        let mut diff: Vec<f64> = bursts.iter().zip(bare).map(|(a, b)| a - b).collect();
        let q = |v: &mut Vec<f64>, at: f64| {
            v.sort_by(f64::total_cmp);
            v[((v.len() - 1) as f64 * at).round() as usize]
        };
        let median = q(&mut own, 0.5);
        if std::ptr::eq(bursts, bare) {
            println!("| {name} | {median:.0} ns | |");
        } else {
            println!(
                "| {name} | {median:.0} ns | {:.0} ns [{:.0}, {:.0}] |",
                q(&mut diff, 0.5),
                q(&mut diff, 0.25),
                q(&mut diff, 0.75)
            );
        }
    };
    for ((name, _), bursts) in contenders.iter().zip(&sampled_in) {
        row(name, bursts, &sampled_in[0]);
    }
    row(out[1].0, &sampled_out[1], &sampled_out[0]);
    println!();
}

/// Runs `rounds` rounds of one burst per contender (order rotating by round) and returns each
/// contender's per-call time (ns) in every round.
fn paired_rounds(
    rt: &tokio::runtime::Runtime,
    rounds: usize,
    contenders: &[(&str, Burst)],
) -> Vec<Vec<f64>> {
    let mut times = vec![Vec::with_capacity(rounds); contenders.len()];
    for round in 0..rounds {
        for k in 0..contenders.len() {
            let i = (k + round) % contenders.len();
            let burst = time_spawned(rt, BURST, PAUSE, &contenders[i].1);
            times[i].push(burst.as_nanos() as f64 / BURST as f64);
        }
    }
    times
}

/// Items per stream in the stream group.
const ITEMS: u64 = 100;

#[inline(never)]
fn bare_stream() -> impl Stream<Item = u64> {
    futures_util::stream::iter(0..ITEMS)
}

#[inline(never)]
#[zdk_trace_runtime::span(name = "llm.stream")]
fn zdk_stream() -> impl Stream<Item = u64> {
    futures_util::stream::iter(0..ITEMS)
}

/// Consumes `stream` to its end on this thread; every item is ready at its first poll.
#[inline(never)]
fn drain(stream: impl Stream<Item = u64>) -> u64 {
    let mut stream = std::pin::pin!(stream);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut items = 0;
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(item)) => {
                black_box(item);
                items += 1;
            }
            Poll::Ready(None) => return items,
            Poll::Pending => panic!("the bench's streams are always ready"),
        }
    }
}

fn streams(c: &mut Criterion) {
    let mut g = c.benchmark_group("peers: stream of 100 items, per stream");
    let sink = CountingSink::default();
    let check = |items: u64| assert_eq!(items, ITEMS, "a stream ended early");

    g.bench_function("baseline (bare stream)", |b| {
        b.iter_custom(|n| no_pause(n, || check(drain(bare_stream()))))
    });

    let telemetry = zdk(Sampler::AlwaysOn, &sink);
    g.bench_function("zdk #[span] sampled in", |b| {
        b.iter_custom(|n| bursts(n, || check(drain(zdk_stream()))))
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let zdk_spans = sink.0.swap(0, Ordering::Relaxed);
    let telemetry = zdk(Sampler::AlwaysOff, &sink);
    g.bench_function("zdk #[span] sampled out", |b| {
        b.iter_custom(|n| no_pause(n, || check(drain(zdk_stream()))))
    });
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sink.0.swap(0, Ordering::Relaxed),
        0,
        "zdk sampled out exported spans"
    );

    // The SDK: `FutureExt::with_context` also wraps a `Stream` (0.33), attaching a clone of
    // the context at every poll; the span ends when the wrapper is dropped.
    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    let tracer = provider.tracer("bench");
    g.bench_function("otel sdk with_context sampled in", |b| {
        b.iter_custom(|n| {
            bursts(n, || {
                let span = tracer.start("llm.stream");
                check(drain(bare_stream().with_context(
                    opentelemetry::Context::current_with_span(span),
                )))
            })
        })
    });
    let _ = provider.shutdown();
    let sdk_spans = sink.0.swap(0, Ordering::Relaxed);

    // tracing: `tracing::Instrument` is for futures only; `tracing-futures`' `Instrument`
    // (feature `futures-03`) enters the span around every `poll_next`.
    let provider = sdk(opentelemetry_sdk::trace::Sampler::AlwaysOn, &sink);
    {
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
        let _default = tracing::subscriber::set_default(subscriber);
        g.bench_function(
            "tracing-opentelemetry tracing-futures Instrument sampled in",
            |b| {
                b.iter_custom(|n| {
                    bursts(n, || {
                        check(drain(tracing_futures::Instrument::instrument(
                            bare_stream(),
                            tracing::info_span!("llm.stream"),
                        )))
                    })
                })
            },
        );
    }
    let _ = provider.shutdown();
    let tracing_spans = sink.0.swap(0, Ordering::Relaxed);

    // fastrace: the core crate has no stream adapter; `fastrace-futures`' `StreamExt::in_span`
    // sets the span as local parent at every poll and ends it when the stream ends.
    let reported = Arc::new(AtomicU64::new(0));
    fastrace::set_reporter(
        CountingReporter(reported.clone()),
        fastrace::collector::Config::default().report_interval(Duration::from_millis(100)),
    );
    g.bench_function(
        "fastrace-futures in_span sampled in (root per 256 streams)",
        |b| {
            b.iter_custom(|n| {
                bursts_in(n, fastrace_root, || {
                    check(drain(fastrace_futures::StreamExt::in_span(
                        bare_stream(),
                        fastrace::Span::enter_with_local_parent("llm.stream"),
                    )))
                })
            })
        },
    );
    g.finish();
    fastrace::flush();

    for (who, spans) in [
        ("zdk-trace", zdk_spans),
        ("opentelemetry_sdk", sdk_spans),
        ("tracing-opentelemetry", tracing_spans),
        ("fastrace", reported.load(Ordering::Relaxed)),
    ] {
        assert!(
            filtered() || spans > 0,
            "streams: {who}'s sink received nothing"
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = sync_fns, async_fns, async_multi_thread, streams, sustained::sustained
}
criterion_main!(benches);
