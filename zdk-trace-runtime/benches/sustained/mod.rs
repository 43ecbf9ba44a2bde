//! The `peers` bench's sustained-load mode: what an application thread pays when it never
//! pauses, so the pipelines' own threads compete with it for the cores, and what every thread
//! of the process spends per span.
//!
//! For each library, each repetition installs a fresh pipeline (queue 65 536 spans, batch 512,
//! 100 ms, exporting into a counting sink; fastrace, which has no queue setting, with its
//! reporter) and runs on one application thread:
//!
//! 1. bursts: 256 calls timed, an untimed 200 µs pause, for the run time (the burst mode of
//!    the criterion cases);
//! 2. flush, then sustained: calls back to back for the run time, no pause; every 256 calls
//!    run under a root span (fastrace records only under a local parent, so every library gets
//!    the same shape: 257 spans per 256 calls);
//! 3. flush, then the accounting: spans created, exported (received by the sink), shed
//!    (counted by the library; for the peers, which do not count their drops, created minus
//!    exported), and the CPU the whole process used during 2 and the flush, from `getrusage`
//!    (every thread, exited ones included), split into the application thread's (its own
//!    schedstat) and the rest (collector, exporter, reporter threads).
//!
//! zdk-trace's accounting must close: exported + counted drops = created, or the run fails.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt as _;
use zdk_trace_runtime::{Config, Sampler, Span, Telemetry};

use crate::common::{sdk_sync, smoke_mode, tracing_sync, zdk_sync, CountingSink, BURST, PAUSE};
use crate::{fastrace_root, fastrace_sync, CountingReporter};

/// The queue every library with one gets (the harness: the same 65 536 spans).
const QUEUE: usize = 65_536;
const BATCH: usize = 512;
const DELAY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lib {
    Zdk,
    Fastrace,
    Sdk,
    Tracing,
}

impl Lib {
    const ALL: [Lib; 4] = [Lib::Zdk, Lib::Fastrace, Lib::Sdk, Lib::Tracing];

    fn name(self) -> &'static str {
        match self {
            Lib::Zdk => "zdk-trace `#[span]`",
            Lib::Fastrace => "fastrace `#[trace]`",
            Lib::Sdk => "opentelemetry_sdk API",
            Lib::Tracing => "tracing + tracing-opentelemetry",
        }
    }
}

/// One library's pipeline, installed for one repetition.
enum Pipeline {
    Zdk(Telemetry),
    Fastrace,
    Sdk {
        provider: SdkTracerProvider,
        tracer: opentelemetry_sdk::trace::Tracer,
        dispatch: Option<tracing::Dispatch>,
    },
}

impl Pipeline {
    fn install(lib: Lib, sampled: bool, sink: &CountingSink) -> Pipeline {
        match lib {
            Lib::Zdk => Pipeline::Zdk(
                Telemetry::builder()
                    .ignore_env()
                    .config(Config::default())
                    .sampler(if sampled {
                        Sampler::AlwaysOn
                    } else {
                        Sampler::AlwaysOff
                    })
                    .max_queue_size(QUEUE)
                    .max_export_batch_size(BATCH)
                    .scheduled_delay(DELAY)
                    .span_exporter(sink.clone())
                    .install()
                    .unwrap_or_else(|e| panic!("install: {e}")),
            ),
            Lib::Fastrace => Pipeline::Fastrace,
            Lib::Sdk | Lib::Tracing => {
                let processor = BatchSpanProcessor::builder(sink.clone())
                    .with_batch_config(
                        BatchConfigBuilder::default()
                            .with_max_queue_size(QUEUE)
                            .with_max_export_batch_size(BATCH)
                            .with_scheduled_delay(DELAY)
                            .build(),
                    )
                    .build();
                let provider = SdkTracerProvider::builder()
                    .with_sampler(if sampled {
                        opentelemetry_sdk::trace::Sampler::AlwaysOn
                    } else {
                        opentelemetry_sdk::trace::Sampler::AlwaysOff
                    })
                    .with_span_processor(processor)
                    .build();
                let tracer = provider.tracer("bench");
                let dispatch = (lib == Lib::Tracing).then(|| {
                    tracing::Dispatch::new(
                        tracing_subscriber::registry()
                            .with(tracing_opentelemetry::layer().with_tracer(tracer.clone())),
                    )
                });
                Pipeline::Sdk {
                    provider,
                    tracer,
                    dispatch,
                }
            }
        }
    }

    fn flush(&self) {
        match self {
            Pipeline::Zdk(t) => t
                .force_flush_with_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{e}")),
            Pipeline::Fastrace => fastrace::flush(),
            Pipeline::Sdk { provider, .. } => {
                let _ = provider.force_flush();
            }
        }
    }

    /// `BURST` calls under one root (timed by the caller), the root included.
    fn burst(&self, sampled: bool) {
        match self {
            Pipeline::Zdk(_) => {
                let _root = sampled.then(|| Span::start("root").entered());
                for _ in 0..BURST {
                    black_box(zdk_sync());
                }
            }
            Pipeline::Fastrace => {
                let _root = sampled.then(fastrace_root);
                for _ in 0..BURST {
                    black_box(fastrace_sync());
                }
            }
            Pipeline::Sdk {
                tracer,
                dispatch: None,
                ..
            } => {
                use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
                let _cx = sampled.then(|| {
                    opentelemetry::Context::current_with_span(tracer.start("root")).attach()
                });
                for _ in 0..BURST {
                    black_box(sdk_sync(tracer));
                }
            }
            Pipeline::Sdk {
                dispatch: Some(_), ..
            } => {
                let _root = sampled.then(|| tracing::info_span!("root").entered());
                for _ in 0..BURST {
                    black_box(tracing_sync());
                }
            }
        }
    }

    fn shutdown(self) {
        match self {
            Pipeline::Zdk(t) => t
                .shutdown_with_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{e}")),
            Pipeline::Fastrace => fastrace::flush(),
            Pipeline::Sdk { provider, .. } => {
                let _ = provider.shutdown();
            }
        }
    }
}

/// One repetition's figures.
#[derive(Debug, Clone, Copy, Default)]
struct Rep {
    burst_ns: f64,
    sustained_ns: f64,
    created: u64,
    exported: u64,
    shed: u64,
    /// Whether `shed` is the library's own count (else created − exported).
    counted: bool,
    app_cpu_ns: u64,
    all_cpu_ns: u64,
}

/// CPU nanoseconds used by every thread of the process so far, exited threads included.
fn process_cpu_ns() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// CPU nanoseconds the calling thread has used (`/proc/thread-self/schedstat`; 0 without it).
fn own_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Runs one repetition of `lib` on a fresh application thread named `bench-app`.
fn rep(lib: Lib, sampled: bool, run_for: Duration, fastrace_count: &AtomicU64) -> Rep {
    let sink = CountingSink::default();
    let pipeline = Pipeline::install(lib, sampled, &sink);
    let exported_now = || match lib {
        Lib::Fastrace => fastrace_count.load(Ordering::Relaxed),
        _ => sink.0.load(Ordering::Relaxed),
    };
    let rep = std::thread::scope(|s| {
        let app = std::thread::Builder::new()
            .name("bench-app".into())
            .spawn_scoped(s, || {
                let _default = match &pipeline {
                    Pipeline::Sdk {
                        dispatch: Some(d), ..
                    } => Some(tracing::dispatcher::set_default(d)),
                    _ => None,
                };
                // Warm-up: the thread's slots, rings, thread-locals of every library.
                for _ in 0..8 {
                    pipeline.burst(sampled);
                }
                // 1. Bursts with a pause.
                let mut timed = Duration::ZERO;
                let mut calls = 0u64;
                let end = Instant::now() + run_for;
                while Instant::now() < end {
                    let start = Instant::now();
                    pipeline.burst(sampled);
                    timed += start.elapsed();
                    calls += BURST;
                    std::thread::sleep(PAUSE);
                }
                let burst_ns = timed.as_nanos() as f64 / calls as f64;
                // 2. Back to back.
                pipeline.flush();
                let zdk_before = match &pipeline {
                    Pipeline::Zdk(t) => Some(t.stats()),
                    _ => None,
                };
                let exported_before = exported_now();
                let (app0, all0) = (own_cpu_ns(), process_cpu_ns());
                let start = Instant::now();
                let mut calls = 0u64;
                while start.elapsed() < run_for {
                    for _ in 0..16 {
                        pipeline.burst(sampled);
                    }
                    calls += 16 * BURST;
                }
                let took = start.elapsed();
                let app_cpu_ns = own_cpu_ns().saturating_sub(app0);
                pipeline.flush();
                if lib == Lib::Fastrace {
                    // fastrace's flush hands the spans over; its reporter may still be counting.
                    std::thread::sleep(Duration::from_millis(50));
                    fastrace::flush();
                }
                let all_cpu_ns = process_cpu_ns().saturating_sub(all0);
                let exported = exported_now() - exported_before;
                let created = if sampled { calls + calls / BURST } else { 0 };
                let (shed, counted) = match (&pipeline, zdk_before) {
                    (Pipeline::Zdk(t), Some(before)) => {
                        let after = t.stats();
                        let started = after.spans_started - before.spans_started;
                        let dropped = after.dropped() - before.dropped();
                        let done = after.spans_exported - before.spans_exported;
                        if sampled {
                            assert_eq!(started, created, "zdk-trace: spans started != created");
                            assert_eq!(
                                done + dropped,
                                created,
                                "zdk-trace: exported + dropped != created ({after:?})"
                            );
                            assert_eq!(done, exported, "zdk-trace: the sink got {exported}");
                        }
                        (dropped, true)
                    }
                    _ => (created.saturating_sub(exported), false),
                };
                Rep {
                    burst_ns,
                    sustained_ns: took.as_nanos() as f64 / calls as f64,
                    created,
                    exported,
                    shed,
                    counted,
                    app_cpu_ns,
                    all_cpu_ns,
                }
            })
            .unwrap_or_else(|e| panic!("cannot spawn the app thread: {e}"));
        app.join()
            .unwrap_or_else(|_| panic!("the app thread panicked"))
    });
    pipeline.shutdown();
    rep
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The sustained-load tables (run unless a filter leaves out `sustained`).
pub fn sustained(_: &mut criterion::Criterion) {
    if crate::common::filter().is_some_and(|f| !"sustained".contains(f.as_str())) {
        return;
    }
    let smoke = smoke_mode();
    let (run_for, reps) = if smoke {
        (Duration::from_millis(30), 1)
    } else {
        (Duration::from_secs(1), 5)
    };
    let fastrace_count = Arc::new(AtomicU64::new(0));
    fastrace::set_reporter(
        CountingReporter(fastrace_count.clone()),
        fastrace::collector::Config::default().report_interval(DELAY),
    );
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load_start = load();

    // Repetitions interleave the libraries, so a noisy second hits them alike.
    let mut in_runs: Vec<Vec<Rep>> = vec![Vec::new(); Lib::ALL.len()];
    let mut out_runs: Vec<Vec<Rep>> = vec![Vec::new(); Lib::ALL.len()];
    for _ in 0..reps {
        for (i, &lib) in Lib::ALL.iter().enumerate() {
            in_runs[i].push(rep(lib, true, run_for, &fastrace_count));
            out_runs[i].push(rep(lib, false, run_for, &fastrace_count));
        }
    }

    println!(
        "\npeers, sustained load: sync fn, 2 attributes, one app thread; queue {QUEUE}, batch \
         {BATCH}, {DELAY:?}; medians of {reps} repetitions of {run_for:?} each (load average \
         at start: {})",
        load_start.trim()
    );
    println!();
    println!("| library | burst ns/call | sustained ns/call | sustained / burst | created | exported | shed | CPU ns per created span: app thread | other threads | **all threads** | all-thread CPU ns per exported span | sampled out, sustained ns/call |");
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let mut sustained_by_lib = Vec::new();
    for (i, &lib) in Lib::ALL.iter().enumerate() {
        let runs = &in_runs[i];
        let med = |f: &dyn Fn(&Rep) -> f64| median(runs.iter().map(f).collect());
        let burst = med(&|r| r.burst_ns);
        let sustained = med(&|r| r.sustained_ns);
        let created = med(&|r| r.created as f64);
        let exported = med(&|r| r.exported as f64);
        let shed_pct = med(&|r| 100.0 * r.shed as f64 / r.created.max(1) as f64);
        let app = med(&|r| r.app_cpu_ns as f64 / r.created.max(1) as f64);
        let all = med(&|r| r.all_cpu_ns as f64 / r.created.max(1) as f64);
        let other =
            med(&|r| r.all_cpu_ns.saturating_sub(r.app_cpu_ns) as f64 / r.created.max(1) as f64);
        let per_exported = med(&|r| r.all_cpu_ns as f64 / r.exported.max(1) as f64);
        let sampled_out = median(out_runs[i].iter().map(|r| r.sustained_ns).collect());
        let counted = runs.iter().all(|r| r.counted);
        println!(
            "| {} | {burst:.1} | {sustained:.1} | {:.2}× | {created:.0} | {exported:.0} | {shed_pct:.1}%{} | {app:.0} | {other:.0} | **{all:.0}** | {per_exported:.0} | {sampled_out:.1} |",
            lib.name(),
            sustained / burst,
            if counted { "" } else { " (not counted by the library: created − exported)" },
        );
        sustained_by_lib.push((lib, sustained));
    }
    let of = |lib: Lib| {
        sustained_by_lib
            .iter()
            .find(|(l, _)| *l == lib)
            .map_or(f64::NAN, |(_, ns)| *ns)
    };
    println!();
    println!(
        "zdk-trace sustained per call: {:.2}× fastrace, {:.2}× opentelemetry_sdk, {:.2}× tracing-opentelemetry (same run); load average at end: {}",
        of(Lib::Zdk) / of(Lib::Fastrace),
        of(Lib::Zdk) / of(Lib::Sdk),
        of(Lib::Zdk) / of(Lib::Tracing),
        load().trim()
    );
    println!();
    for (i, &lib) in Lib::ALL.iter().enumerate() {
        assert!(
            in_runs[i].iter().all(|r| r.exported > 0),
            "{}: nothing reached the sink",
            lib.name()
        );
    }
}
