//! End to end: spans per second from 1, 2 and 4 application threads through the whole pipeline
//! (head sampling `always_on`, batching, OTLP protobuf encoding (zdk-trace: its own encoder,
//! from the span records; the SDK: opentelemetry-otlp), gRPC or HTTP) into a receiver on 127.0.0.1 that counts what it receives
//! (`zdk_trace_receivers::CountingReceiver`), with the DEFAULT queue settings (queue 32 768, batch
//! 512, 5 s: nothing is overridden).
//!
//! Two scenarios per contender and thread count:
//!
//! - flat out: every thread creates spans as fast as it can for a few seconds, then the
//!   pipeline is shut down (flushed); spans created, received, dropped, and the exported rate
//!   over the whole run including the flush;
//! - paced: the threads pace themselves to a total offered rate, in steps; the highest step
//!   at which nothing was dropped and every created span was received (and the threads did
//!   produce the offered rate).
//!
//! Contenders: zdk-trace over gRPC and over HTTP/protobuf (its default protocol), the
//! `opentelemetry_sdk` `BatchSpanProcessor` with the opentelemetry-otlp gRPC exporter (SDK
//! default batch config), and `tracing` + `tracing-opentelemetry` on that SDK. Then zdk-trace
//! and the SDK's `BatchSpanProcessor` (both at their default batch settings) exporting into a
//! user `SpanExporter` that counts what it is given (`SpanData` is built for it, no bytes
//! leave the process): what a span costs a user who plugs in their own exporter. Every one
//! records the same sync fn with the same 2 attributes as the `peers` bench.
//!
//! Every case reports the CPU per received span of each thread (app, collector, exporter, the
//! SDK's threads, the receiver apart) and the allocations per received span of each, counted
//! by a global allocator that wraps the system one (the same for every contender). A paced
//! app thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`) is read around each of its sleeps: what
//! the sleeps take (~20 µs of CPU each on the 2-vCPU VM) is reported apart as `pacing`, not
//! in the spans' cost; the pacing's clock reads between the sleeps stay in `app`.
//!
//! For zdk-trace the bench asserts `received == created - dropped` (nothing lost silently, with
//! `dropped` from `Telemetry::stats()`). The SDK does not count its drops: for it, dropped is
//! `created - received`.
//!
//! `cargo bench -p zdk-trace-runtime --bench throughput` (about 5 minutes); `-- --test` runs a
//! tiny version (20k spans flat out, one paced step) and still checks the counts; a word
//! argument filters contenders by name (`-- sdk`). With `ZDK_BENCH_VERBOSE=1`, every zdk-trace
//! case that dropped spans prints its `Stats` (which counter: queue full, export failed, ...).
//! For A/B runs of one case, `ZDK_BENCH_PART=flat` (or `paced`) runs one scenario and
//! `ZDK_BENCH_THREADS=1,2` only those thread counts; `ZDK_BENCH_RATES=1000000` only those
//! paced rates, and `ZDK_BENCH_STEP_MS=5000` a longer step (profiles of one rate).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::layer::SubscriberExt as _;
use zdk_trace_receivers::CountingReceiver;
use zdk_trace_runtime::Protocol;

mod common;

/// Counts allocations by the role of the thread that makes them (the roles of [`role`]), so
/// the bench reports allocations per span on every thread: the system allocator, plus a
/// thread-local read and one relaxed add per allocation on a counter of the thread's role.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Roles, in the order of [`super::ROLES`]; the last slot is every other thread.
    pub static ALLOCS: [Padded; super::ROLES.len() + 1] =
        [const { Padded(AtomicU64::new(0)) }; super::ROLES.len() + 1];

    /// One counter per cache line, so threads of different roles do not share one.
    #[repr(align(128))]
    pub struct Padded(pub AtomicU64);

    thread_local! {
        static ROLE: Cell<usize> = const { Cell::new(usize::MAX) };
    }

    /// The calling thread's role index, from its name (read with `prctl`, which does not
    /// allocate: this runs inside the allocator). Not cached before the name can be read.
    fn role_index() -> usize {
        ROLE.try_with(|cached| {
            if cached.get() != usize::MAX {
                return cached.get();
            }
            let mut name = [0u8; 16];
            // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL-terminated, into `name`.
            let ok = unsafe { libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr()) } == 0;
            let len = name.iter().position(|&b| b == 0).unwrap_or(16);
            let comm = std::str::from_utf8(&name[..len]).unwrap_or("");
            let index = super::role(comm)
                .and_then(|r| super::ROLES.iter().position(|x| *x == r))
                .unwrap_or(super::ROLES.len());
            if ok {
                cached.set(index);
            }
            index
        })
        .unwrap_or(super::ROLES.len())
    }

    pub struct Counting;

    // SAFETY: every call is forwarded to the system allocator unchanged.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCS[role_index()].0.fetch_add(1, Ordering::Relaxed);
            // SAFETY: forwarded with the caller's layout.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            ALLOCS[role_index()].0.fetch_add(1, Ordering::Relaxed);
            // SAFETY: forwarded with the caller's layout.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCS[role_index()].0.fetch_add(1, Ordering::Relaxed);
            // SAFETY: forwarded with the caller's pointer, layout and size.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded with the caller's pointer and layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// The counters now, by role.
    pub fn snapshot() -> Vec<u64> {
        ALLOCS.iter().map(|c| c.0.load(Ordering::Relaxed)).collect()
    }
}

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// The thread roles the bench reports, in a fixed order.
const ROLES: [&str; 6] = [
    "app",
    "collect",
    "export",
    "sdk tokio i/o",
    "sdk batch",
    "receiver",
];

use common::{
    filter, sdk_otlp, sdk_sync, smoke_mode, thread_cpu_ns, tracing_sync, zdk_otlp, zdk_sync,
    CountingSink,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    ZdkGrpc,
    ZdkHttp,
    /// Not a default setting: tells capacity (CPU) from slack (queue) in the paced sweep.
    ZdkGrpcBigQueue,
    SdkGrpc,
    SdkHttp,
    TracingGrpc,
    /// zdk-trace into a user `SpanExporter` ([`CountingSink`]).
    ZdkSpanExporter,
    /// The SDK's `BatchSpanProcessor` into the same `SpanExporter`.
    SdkSpanExporter,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::ZdkGrpc => "zdk-trace, OTLP/gRPC",
            Who::ZdkHttp => "zdk-trace, OTLP/HTTP protobuf (the default protocol)",
            Who::ZdkGrpcBigQueue => "zdk-trace, OTLP/gRPC, max_queue_size 65536 (NOT default)",
            Who::SdkGrpc => "otel sdk BatchSpanProcessor, OTLP/gRPC",
            Who::SdkHttp => "otel sdk BatchSpanProcessor, OTLP/HTTP protobuf",
            Who::TracingGrpc => "tracing-opentelemetry (sdk), OTLP/gRPC",
            Who::ZdkSpanExporter => "zdk-trace, user SpanExporter (SpanData)",
            Who::SdkSpanExporter => "otel sdk BatchSpanProcessor, user SpanExporter",
        }
    }

    fn is_zdk(self) -> bool {
        matches!(
            self,
            Who::ZdkGrpc | Who::ZdkHttp | Who::ZdkGrpcBigQueue | Who::ZdkSpanExporter
        )
    }
}

/// Where a contender's spans end up: an OTLP receiver on 127.0.0.1, or a user `SpanExporter`
/// in the process that counts them.
enum Sink {
    Otlp(CountingReceiver),
    Exporter(CountingSink),
}

impl Sink {
    fn spans(&self) -> u64 {
        match self {
            Sink::Otlp(receiver) => receiver.spans(),
            Sink::Exporter(sink) => sink.0.load(Ordering::Relaxed),
        }
    }

    /// Waits until `n` spans have arrived or `timeout` has passed; how many have.
    fn wait_for_spans(&self, n: u64, timeout: Duration) -> u64 {
        match self {
            Sink::Otlp(receiver) => receiver.wait_for_spans(n, timeout),
            Sink::Exporter(_) => {
                let deadline = Instant::now() + timeout;
                while self.spans() < n && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                self.spans()
            }
        }
    }

    fn malformed(&self) -> u64 {
        match self {
            Sink::Otlp(receiver) => receiver.malformed(),
            Sink::Exporter(_) => 0,
        }
    }

    fn endpoint(&self) -> String {
        match self {
            Sink::Otlp(receiver) => receiver.endpoint(),
            Sink::Exporter(_) => String::new(),
        }
    }
}

/// How long (or how many spans per thread) the application threads run.
#[derive(Debug, Clone, Copy)]
struct Load {
    /// Total offered spans/s over all threads; `None`: flat out.
    rate: Option<f64>,
    duration: Duration,
    max_per_thread: u64,
}

/// The pipeline's own threads (not the application's, not the receiver's), by role.
fn role(comm: &str) -> Option<&'static str> {
    if comm.starts_with("bench-app") {
        Some("app")
    } else if comm.starts_with("zdk-trace-colle") {
        Some("collect")
    } else if comm.starts_with("zdk-trace-expor") {
        Some("export")
    } else if comm.starts_with("tokio-rt-worker") || comm.starts_with("tokio-runtime-w") {
        Some("sdk tokio i/o")
    } else if comm.starts_with("OpenTelemetry") {
        Some("sdk batch")
    } else if comm.starts_with("otlp-counting") {
        Some("receiver")
    } else {
        None
    }
}

#[derive(Debug, Clone, Default)]
struct Outcome {
    created: u64,
    received: u64,
    dropped: u64,
    /// Time the application threads ran.
    create_secs: f64,
    /// From the start to the end of the shutdown (flush included).
    total_secs: f64,
    /// CPU ns per span received, from the start to the end of the flush after the
    /// application threads stopped, by thread role.
    cpu_ns_per_span: Vec<(&'static str, f64)>,
    /// Allocations (alloc, realloc) per span received, same window, by thread role.
    allocs_per_span: Vec<(&'static str, f64)>,
}

impl Outcome {
    fn exported_per_sec(&self) -> f64 {
        self.received as f64 / self.total_secs
    }

    fn created_per_sec(&self) -> f64 {
        self.created as f64 / self.create_secs
    }
}

/// The running pipeline of one contender.
enum Pipeline {
    Zdk(zdk_trace_runtime::Telemetry),
    Sdk {
        provider: opentelemetry_sdk::trace::SdkTracerProvider,
        tracer: opentelemetry_sdk::trace::Tracer,
        dispatch: Option<tracing::Dispatch>,
        _rt: tokio::runtime::Runtime,
    },
}

/// [`sdk_otlp`] with the opentelemetry-otlp HTTP/protobuf exporter (its blocking reqwest
/// client, the one it picks for the batch processor's own thread).
fn sdk_otlp_http(
    endpoint: &str,
) -> (
    opentelemetry_sdk::trace::SdkTracerProvider,
    tokio::runtime::Runtime,
) {
    use opentelemetry_otlp::WithExportConfig as _;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let exporter = {
        let _enter = rt.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(format!("{endpoint}/v1/traces"))
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let processor = opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter).build();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_span_processor(processor)
        .build();
    (provider, rt)
}

/// zdk-trace exporting into the user `SpanExporter` of `sink`, at the DEFAULT batch settings.
fn zdk_span_exporter(sink: &Sink) -> zdk_trace_runtime::Telemetry {
    let Sink::Exporter(sink) = sink else {
        panic!("a user SpanExporter contender needs an exporter sink");
    };
    zdk_trace_runtime::Telemetry::builder()
        .ignore_env()
        .config(zdk_trace_runtime::Config::default())
        .sampler(zdk_trace_runtime::Sampler::AlwaysOn)
        .span_exporter(sink.clone())
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"))
}

/// The SDK's `BatchSpanProcessor` (its DEFAULT batch config) exporting into `sink`. The
/// runtime is not used (the processor has its own thread); it keeps the shape of
/// [`sdk_otlp`]'s result.
fn sdk_span_exporter(
    sink: &CountingSink,
) -> (
    opentelemetry_sdk::trace::SdkTracerProvider,
    tokio::runtime::Runtime,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let processor = opentelemetry_sdk::trace::BatchSpanProcessor::builder(sink.clone()).build();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_span_processor(processor)
        .build();
    (provider, rt)
}

fn run(who: Who, threads: usize, load: Load) -> Outcome {
    let receiver = match who {
        Who::ZdkHttp | Who::SdkHttp => Sink::Otlp(CountingReceiver::http()),
        Who::ZdkSpanExporter | Who::SdkSpanExporter => Sink::Exporter(CountingSink::default()),
        _ => Sink::Otlp(CountingReceiver::grpc()),
    };
    let pipeline = match who {
        Who::ZdkGrpc => Pipeline::Zdk(zdk_otlp(&receiver.endpoint(), Protocol::Grpc, None, None)),
        Who::ZdkGrpcBigQueue => Pipeline::Zdk(zdk_otlp(
            &receiver.endpoint(),
            Protocol::Grpc,
            Some(65536),
            None,
        )),
        Who::ZdkHttp => Pipeline::Zdk(zdk_otlp(
            &receiver.endpoint(),
            Protocol::HttpProtobuf,
            None,
            None,
        )),
        Who::ZdkSpanExporter => Pipeline::Zdk(zdk_span_exporter(&receiver)),
        Who::SdkGrpc | Who::SdkHttp | Who::TracingGrpc | Who::SdkSpanExporter => {
            let (provider, rt) = match (who, &receiver) {
                (Who::SdkHttp, _) => sdk_otlp_http(&receiver.endpoint()),
                (Who::SdkSpanExporter, Sink::Exporter(sink)) => sdk_span_exporter(sink),
                _ => sdk_otlp(&receiver.endpoint(), None),
            };
            let tracer = provider.tracer("bench");
            let dispatch = (who == Who::TracingGrpc).then(|| {
                tracing::Dispatch::new(
                    tracing_subscriber::registry()
                        .with(tracing_opentelemetry::layer().with_tracer(tracer.clone())),
                )
            });
            Pipeline::Sdk {
                provider,
                tracer,
                dispatch,
                _rt: rt,
            }
        }
    };
    let (tracer, dispatch) = match &pipeline {
        Pipeline::Zdk(_) => (None, None),
        Pipeline::Sdk {
            tracer, dispatch, ..
        } => (Some(tracer.clone()), dispatch.clone()),
    };
    // One span through the whole pipeline first, so the connection is up (as in a running
    // application) and the first export does not pay the connect.
    match &pipeline {
        Pipeline::Zdk(telemetry) => {
            zdk_sync();
            telemetry.force_flush().unwrap_or_else(|e| panic!("{e}"));
        }
        Pipeline::Sdk {
            provider,
            tracer,
            dispatch,
            ..
        } => {
            match dispatch {
                Some(d) => tracing::dispatcher::with_default(d, tracing_sync),
                None => sdk_sync(tracer),
            };
            let _ = provider.force_flush();
        }
    }
    let warm = receiver.wait_for_spans(1, Duration::from_secs(5));
    assert_eq!(warm, 1, "{}: the warm-up span did not arrive", who.name());
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = barrier.clone();
            let tracer = tracer.clone();
            let dispatch = dispatch.clone();
            let thread = std::thread::Builder::new().name("bench-app".into());
            let spawned = thread.spawn(move || {
                let _default = dispatch.as_ref().map(tracing::dispatcher::set_default);
                let one = || match (who, &tracer) {
                    (
                        Who::ZdkGrpc | Who::ZdkHttp | Who::ZdkGrpcBigQueue | Who::ZdkSpanExporter,
                        _,
                    ) => zdk_sync(),
                    (Who::TracingGrpc, _) => tracing_sync(),
                    (Who::SdkGrpc | Who::SdkHttp | Who::SdkSpanExporter, Some(t)) => sdk_sync(t),
                    (Who::SdkGrpc | Who::SdkHttp | Who::SdkSpanExporter, None) => 0,
                };
                let per_thread = load.rate.map(|r| r / threads as f64);
                barrier.wait();
                let cpu_start = own_cpu_ns();
                let start = Instant::now();
                let mut done = 0u64;
                // The thread's CPU in its sleeps, read around each: a paced thread's sleeps
                // are the harness's, not the spans' (each 100 µs sleep costs this VM ~20 µs of
                // the sleeper's CPU, ~100 ns per span at 1 M/s).
                let mut in_sleeps = 0u64;
                loop {
                    let elapsed = start.elapsed();
                    if elapsed >= load.duration || done >= load.max_per_thread {
                        break;
                    }
                    let due = match per_thread {
                        None => done + 256,
                        Some(r) => (r * elapsed.as_secs_f64()) as u64,
                    };
                    if due <= done {
                        let sleep_start = thread_cpu_clock_ns();
                        std::thread::sleep(Duration::from_micros(100));
                        in_sleeps += thread_cpu_clock_ns().saturating_sub(sleep_start);
                        continue;
                    }
                    let n = (due - done).min(256).min(load.max_per_thread - done);
                    for _ in 0..n {
                        std::hint::black_box(one());
                    }
                    done += n;
                }
                (
                    done,
                    start.elapsed(),
                    own_cpu_ns().saturating_sub(cpu_start),
                    in_sleeps,
                )
            });
            spawned.unwrap_or_else(|e| panic!("cannot spawn an app thread: {e}"))
        })
        .collect();
    let cpu_before = thread_cpu_ns();
    let allocs_before = counting::snapshot();
    let received_before = receiver.spans();
    barrier.wait();
    let start = Instant::now();
    let mut created = 1; // the warm-up span
    let mut create_secs = 0f64;
    let mut app_cpu = 0;
    let mut app_in_sleeps = 0;
    for h in handles {
        let (n, took, cpu, in_sleeps) = h.join().unwrap_or_else(|_| panic!("app thread panicked"));
        created += n;
        create_secs = create_secs.max(took.as_secs_f64());
        app_cpu += cpu;
        app_in_sleeps += in_sleeps;
    }
    // Flushed before the CPU is read, with the pipeline's threads still alive: the CPU per
    // span includes the work left over when the application stopped (a pipeline that only
    // defers its work must not look cheap).
    match &pipeline {
        Pipeline::Zdk(telemetry) => {
            let _ = telemetry.force_flush_with_timeout(Duration::from_secs(30));
        }
        Pipeline::Sdk { provider, .. } => {
            let _ = provider.force_flush();
        }
    }
    let cpu_after = thread_cpu_ns();
    let allocs_after = counting::snapshot();
    let received_while_running = receiver.spans().saturating_sub(received_before).max(1);
    let mut cpu_by_role: BTreeMap<&'static str, u64> = BTreeMap::new();
    // The app threads have exited by now: each measured its own, and what its sleeps took.
    cpu_by_role.insert("app", app_cpu.saturating_sub(app_in_sleeps));
    cpu_by_role.insert("pacing", app_in_sleeps);
    for (comm, ns) in &cpu_after {
        if let Some(role) = role(comm) {
            let before = cpu_before.get(comm).copied().unwrap_or(0);
            *cpu_by_role.entry(role).or_insert(0) += ns.saturating_sub(before);
        }
    }
    let cpu_ns_per_span = cpu_by_role
        .into_iter()
        .map(|(role, ns)| (role, ns as f64 / received_while_running as f64))
        .collect();
    let allocs_per_span = ROLES
        .iter()
        .enumerate()
        .map(|(i, role)| {
            let n = allocs_after[i].saturating_sub(allocs_before[i]);
            (*role, n as f64 / received_while_running as f64)
        })
        .filter(|(role, n)| *n > 0.0 || *role == "app")
        .collect();
    let dropped = match pipeline {
        Pipeline::Zdk(telemetry) => {
            telemetry
                .shutdown_with_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{e}"));
            let stats = telemetry.stats();
            assert_eq!(stats.spans_started, created, "{stats:?}");
            if stats.dropped() > 0 && std::env::var_os("ZDK_BENCH_VERBOSE").is_some() {
                eprintln!("{stats:?}");
            }
            Some(stats.dropped())
        }
        Pipeline::Sdk { provider, .. } => {
            let _ = provider.shutdown();
            None
        }
    };
    let total_secs = start.elapsed().as_secs_f64();
    let expected = created - dropped.unwrap_or(0);
    // Every export was answered before shutdown returned, so the count is final; wait a little
    // in case the receiver thread is behind its own answers.
    let received = receiver.wait_for_spans(expected, Duration::from_millis(500));
    assert_eq!(
        receiver.malformed(),
        0,
        "{}: malformed requests",
        who.name()
    );
    assert!(received > 0, "{}: the receiver got nothing", who.name());
    if who.is_zdk() {
        assert_eq!(
            received,
            expected,
            "{}: received != created - dropped ({created} - {:?}): spans lost silently",
            who.name(),
            dropped
        );
    } else {
        assert!(
            received <= created,
            "{}: received more than created",
            who.name()
        );
    }
    Outcome {
        created,
        received,
        dropped: dropped.unwrap_or(created - received),
        create_secs,
        total_secs,
        cpu_ns_per_span,
        allocs_per_span,
    }
}

fn main() {
    let smoke = smoke_mode();
    let filter = filter();
    let contenders: Vec<Who> = [
        Who::ZdkGrpc,
        Who::ZdkHttp,
        Who::ZdkGrpcBigQueue,
        Who::SdkGrpc,
        Who::SdkHttp,
        Who::TracingGrpc,
        Who::ZdkSpanExporter,
        Who::SdkSpanExporter,
    ]
    .into_iter()
    .filter(|w| {
        filter
            .as_deref()
            .is_none_or(|f| w.name().to_lowercase().contains(&f.to_lowercase()))
    })
    .collect();
    let all_counts: &[usize] = if smoke { &[1, 2] } else { &[1, 2, 4] };
    // `ZDK_BENCH_THREADS=1,2`: only these thread counts (A/B runs of one case).
    let only_threads: Option<Vec<usize>> = std::env::var("ZDK_BENCH_THREADS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    let thread_counts: Vec<usize> = all_counts
        .iter()
        .copied()
        .filter(|n| only_threads.as_ref().is_none_or(|only| only.contains(n)))
        .collect();
    // `ZDK_BENCH_PART=flat` or `paced`: only that scenario.
    let part = std::env::var("ZDK_BENCH_PART").unwrap_or_default();
    let (run_flat, run_paced) = (part != "paced", part != "flat");
    let flat = Load {
        rate: None,
        duration: if smoke {
            Duration::from_secs(10)
        } else {
            Duration::from_millis(2500)
        },
        max_per_thread: if smoke { 10_000 } else { u64::MAX },
    };
    // `ZDK_BENCH_RATES=1000000` (spans/s, comma-separated): only these paced steps;
    // `ZDK_BENCH_STEP_MS`: each step's length (A/B runs and profiles of one rate).
    let only_rates: Option<Vec<f64>> = std::env::var("ZDK_BENCH_RATES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    let default_steps: &[f64] = if smoke {
        &[125_000.0]
    } else {
        &[
            50_000.0,
            125_000.0,
            250_000.0,
            500_000.0,
            750_000.0,
            1_000_000.0,
            1_500_000.0,
            2_000_000.0,
            3_000_000.0,
        ]
    };
    let steps: &[f64] = only_rates.as_deref().unwrap_or(default_steps);
    let step_duration = match std::env::var("ZDK_BENCH_STEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(ms) => Duration::from_millis(ms),
        None if smoke => Duration::from_millis(200),
        None => Duration::from_millis(1500),
    };

    println!("throughput: default queue settings (32768 / 512 / 5 s), head sampling always_on");
    println!();
    println!(
        "Flat out ({:?} per case{}):",
        flat.duration,
        if smoke {
            ", capped at 10k spans/thread (smoke)"
        } else {
            ""
        }
    );
    println!();
    println!("| contender | threads | created | received | dropped | dropped % | app spans/s | exported spans/s (incl. flush) | flush s | CPU ns per received span, all threads of the process (app + pipeline) | allocations per received span, by thread |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    for &who in contenders.iter().filter(|_| run_flat) {
        if who == Who::ZdkGrpcBigQueue {
            continue; // paced only: flat out, a bigger queue only drops later
        }
        for &threads in &thread_counts {
            let o = run(who, threads, flat);
            println!(
                "| {} | {threads} | {} | {} | {} | {:.1}% | {} | {} | {:.2} | {} | {} |",
                who.name(),
                o.created,
                o.received,
                o.dropped,
                100.0 * o.dropped as f64 / o.created.max(1) as f64,
                thousands(o.created_per_sec()),
                thousands(o.exported_per_sec()),
                (o.total_secs - o.create_secs).max(0.0),
                cpu(&o),
                allocs(&o),
            );
        }
    }

    println!();
    println!("Paced ({step_duration:?} per step; a step passes when dropped = 0, received = created and the threads produced >= 95% of the offered rate):");
    println!();
    println!("| contender | threads | offered spans/s | created spans/s | received | dropped | passes | CPU ns per received span, all threads of the process (app + pipeline) | allocations per received span, by thread |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |");
    let mut best = Vec::new();
    for &who in contenders.iter().filter(|_| run_paced) {
        for &threads in &thread_counts {
            let mut max_ok = None;
            for &rate in steps {
                let load = Load {
                    rate: Some(rate),
                    duration: step_duration,
                    max_per_thread: u64::MAX,
                };
                let o = run(who, threads, load);
                let produced = o.created as f64 / step_duration.as_secs_f64();
                let ok = o.dropped == 0 && o.received == o.created && produced >= 0.95 * rate;
                println!(
                    "| {} | {threads} | {} | {} | {} | {} | {} | {} | {} |",
                    who.name(),
                    thousands(rate),
                    thousands(produced),
                    o.received,
                    o.dropped,
                    if ok {
                        "yes"
                    } else if produced < 0.95 * rate {
                        "no (threads could not produce it)"
                    } else {
                        "no (drops)"
                    },
                    cpu(&o),
                    allocs(&o),
                );
                if !ok {
                    break;
                }
                max_ok = Some(rate);
            }
            best.push((who, threads, max_ok));
        }
    }
    println!();
    println!("Highest offered rate with nothing dropped and received == created:");
    println!();
    println!("| contender | threads | spans/s |");
    println!("| --- | ---: | ---: |");
    for (who, threads, rate) in best {
        println!(
            "| {} | {threads} | {} |",
            who.name(),
            rate.map_or("< lowest step".to_owned(), thousands)
        );
    }
}

/// CPU nanoseconds the calling thread has used (`/proc/thread-self/schedstat`; 0 without it).
/// This thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`), in ns: finer than `schedstat` for
/// short intervals, and no file to open.
fn thread_cpu_clock_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn own_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `all 350 = app 120, collect 80, export 150; pacing 90; receiver 200`: the process's own
/// threads (the application's outside its pacing sleeps, and the pipeline's) summed first,
/// then the app threads' sleeps and the receiver, neither of them the spans' cost.
fn cpu(o: &Outcome) -> String {
    let ours: Vec<_> = o
        .cpu_ns_per_span
        .iter()
        .filter(|(role, _)| *role != "receiver" && *role != "pacing")
        .collect();
    let all: f64 = ours.iter().map(|(_, ns)| ns).sum();
    let mut out = format!(
        "**all {all:.0}** = {}",
        ours.iter()
            .map(|(role, ns)| format!("{role} {ns:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some((_, ns)) = o.cpu_ns_per_span.iter().find(|(r, _)| *r == "pacing") {
        out.push_str(&format!("; pacing {ns:.0}"));
    }
    if let Some((_, ns)) = o.cpu_ns_per_span.iter().find(|(r, _)| *r == "receiver") {
        out.push_str(&format!("; receiver {ns:.0}"));
    }
    out
}

/// `app 0.00, collect 0.01, export 0.02; receiver 3.10`.
fn allocs(o: &Outcome) -> String {
    o.allocs_per_span
        .iter()
        .map(|(role, n)| format!("{role} {n:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1234567.8` → `1 234 568`.
fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}
