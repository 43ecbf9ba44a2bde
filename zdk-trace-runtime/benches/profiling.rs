//! What profiling costs, each against its baseline measured in the same run:
//!
//! 1. per-span resource measurement, per poll: an instrumented future polled many times with a
//!    plain span, with `measure_resources(false)` (busy time and allocation counters) and with
//!    `measure_resources(true)` (adds the thread CPU clock, a system call per poll);
//! 2. the [`CountingAllocator`]'s own cost: an alloc+free pair through it (a local value, its
//!    `GlobalAlloc` methods called directly) against `std::alloc::System`, 64 B and 4 KiB;
//! 3. the CPU profiler at 99 Hz: a CPU-bound workload in a few spans, with and without
//!    `telemetry.profile_cpu(..)` running on another thread: wall time, process CPU time, and
//!    how many samples the profile holds against what 99 Hz of the process's CPU should give.
//!
//!   cargo bench -p zdk-trace-runtime --bench profiling
//!
//! Criterion times the cases of 1 and 2 one after the other; the table printed at the end comes
//! from the same cases run interleaved (the order rotating every round), so that each is
//! compared with its baseline on the same machine at the same moment: the median of each, the
//! ratio of the medians and the median of the per-round differences. `-- --test` runs every
//! case once and the profiler section with a short workload.
//!
//! The futures are polled by hand with a no-op waker (no runtime: its scheduling would be most
//! of what is measured). The `CountingAllocator` is not the global allocator here, so spans
//! carry no allocation attributes; the per-poll reads of the allocation counters happen all
//! the same.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::future::Future;
use std::hash::{DefaultHasher, Hasher};
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use zdk_trace_runtime::{CountingAllocator, FutureExt, Sampler, Span, Telemetry};

mod common;

use common::{CountingSink, PAUSE};

/// The tables of the paired runs, printed once every section has run.
static REPORT: Mutex<String> = Mutex::new(String::new());

fn report(text: &str) {
    REPORT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push_str(text);
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Whether the paired tables are measured: not in the smoke run, nor when a filter picks
/// criterion cases (as in benches/metrics.rs).
fn paired_runs() -> bool {
    !common::smoke_mode() && !common::filtered()
}

// ---------------------------------------------------------------------------------------------
// 1. Per-poll cost of resource measurement

/// Returns `Pending` once (waking itself at once), then `Ready`: one extra poll of whatever
/// awaits it, and nothing else.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A future polled `yields + 1` times; it allocates nothing.
async fn yielding(yields: u32) -> u32 {
    for _ in 0..yields {
        YieldOnce(false).await;
    }
    black_box(yields)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Measure {
    Plain,
    Resources,
    ResourcesCpu,
}

impl Measure {
    const ALL: [Measure; 3] = [Measure::Plain, Measure::Resources, Measure::ResourcesCpu];

    fn label(self) -> &'static str {
        match self {
            Measure::Plain => "plain span",
            Measure::Resources => "measure_resources(false)",
            Measure::ResourcesCpu => "measure_resources(true)",
        }
    }
}

/// One span, `yields + 1` polls of its instrumented future to completion; returns the polls.
#[inline(never)]
fn run_span(measure: Measure, yields: u32) -> u32 {
    let mut span = Span::start("bench.poll");
    match measure {
        Measure::Plain => {}
        Measure::Resources => span.measure_resources(false),
        Measure::ResourcesCpu => span.measure_resources(true),
    }
    let mut fut = pin!(yielding(yields).instrument(span));
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 1;
    while fut.as_mut().poll(&mut cx).is_pending() {
        polls += 1;
    }
    polls
}

/// (yields per span, spans per timed burst): few polls per span, where the span's own start
/// and end weigh in, and many, where the per-poll cost is nearly all there is. Bursts stay
/// under [`common::BURST`] spans so the pipeline keeps up between them.
const POLL_SHAPES: [(u32, u32); 2] = [(8, 64), (256, 4)];

fn poll_costs(c: &mut Criterion) {
    let sink = CountingSink::default();
    let telemetry = common::zdk(Sampler::AlwaysOn, &sink);
    let mut g = c.benchmark_group("profiling: span of 8 yields (9 polls), polled by hand");
    for measure in Measure::ALL {
        g.bench_function(measure.label(), |b| {
            b.iter_custom(|n| {
                common::bursts_paused(
                    n,
                    PAUSE,
                    || (),
                    || {
                        black_box(run_span(measure, 8));
                    },
                )
            })
        });
    }
    g.finish();
    if paired_runs() {
        for (yields, spans) in POLL_SHAPES {
            paired_polls(yields, spans);
        }
        thread_clock_reference();
        span_clock_reference();
    }
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
}

/// The three variants in rotating order, a burst of `spans` spans each per round: ns per poll.
fn paired_polls(yields: u32, spans: u32) {
    const ROUNDS: usize = 1500;
    let polls = yields + 1;
    let mut times: [Vec<f64>; 3] = std::array::from_fn(|_| Vec::with_capacity(ROUNDS));
    for round in 0..ROUNDS {
        for k in 0..3 {
            let i = (round + k) % 3;
            let start = Instant::now();
            for _ in 0..spans {
                black_box(run_span(Measure::ALL[i], black_box(yields)));
            }
            times[i].push(start.elapsed().as_nanos() as f64 / f64::from(spans * polls));
            std::thread::sleep(PAUSE);
        }
    }
    let mut out = format!(
        "\n1. per poll, span of {yields} yields ({polls} polls), {ROUNDS} rounds of {spans} \
         spans, interleaved\n   {:<26} {:>10} {:>10} {:>16}\n",
        "case", "ns/poll", "ratio", "extra ns/poll"
    );
    let base = median(&mut times[0].clone());
    for (i, measure) in Measure::ALL.iter().enumerate() {
        let m = median(&mut times[i].clone());
        let extra = if i == 0 {
            "baseline".to_owned()
        } else {
            let mut diff: Vec<f64> = times[i].iter().zip(&times[0]).map(|(a, b)| a - b).collect();
            format!("{:+.1}", median(&mut diff))
        };
        let _ = writeln!(
            out,
            "   {:<26} {m:>10.1} {:>10.3} {extra:>16}",
            measure.label(),
            m / base
        );
    }
    report(&out);
}

/// What `measure_resources(true)` adds per poll is two reads of the thread CPU clock; what
/// one read costs on this machine (a real system call: the vDSO does not serve this clock).
fn thread_clock_reference() {
    const BURSTS: usize = 500;
    const CALLS: u32 = 1024;
    let mut times = Vec::with_capacity(BURSTS);
    for _ in 0..BURSTS {
        let start = Instant::now();
        for _ in 0..CALLS {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
            black_box(unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) });
            black_box(ts);
        }
        times.push(start.elapsed().as_nanos() as f64 / f64::from(CALLS));
    }
    report(&format!(
        "   reference: one clock_gettime(CLOCK_THREAD_CPUTIME_ID) {:.1} ns (median of {BURSTS} \
         bursts of {CALLS}); measure_resources(true) reads it twice per poll\n",
        median(&mut times)
    ));
}

/// What `measure_resources(false)` cannot do without: two reads of the span clock per poll
/// (the raw TSC through quanta, as `clock::now_raw` reads it), back to back, each result
/// used, so the floor of busy time's cost per poll on this machine.
fn span_clock_reference() {
    const BURSTS: usize = 500;
    const CALLS: u32 = 1024;
    let clock = quanta::Clock::new();
    let mut times = Vec::with_capacity(BURSTS);
    let mut sum = 0u64;
    for _ in 0..BURSTS {
        let start = Instant::now();
        for _ in 0..CALLS {
            let a = clock.raw();
            let b = clock.raw();
            sum = sum.wrapping_add(black_box(b.wrapping_sub(a)));
        }
        times.push(start.elapsed().as_nanos() as f64 / f64::from(CALLS));
    }
    black_box(sum);
    report(&format!(
        "   reference: two span clock reads (raw TSC, quanta) {:.1} ns (median of {BURSTS} \
         bursts of {CALLS}); measure_resources(false) reads the clock twice per poll\n",
        median(&mut times)
    ));
    rdtsc_reference();
}

/// The hardware floor under [`span_clock_reference`]: two bare `rdtsc` instructions, as
/// `clock::now_raw` reads them when quanta's source is the TSC.
#[cfg(target_arch = "x86_64")]
fn rdtsc_reference() {
    const BURSTS: usize = 500;
    const CALLS: u32 = 1024;
    let mut times = Vec::with_capacity(BURSTS);
    let mut sum = 0u64;
    for _ in 0..BURSTS {
        let start = Instant::now();
        for _ in 0..CALLS {
            // SAFETY: `rdtsc` has no preconditions on x86_64.
            let (a, b) = unsafe { (core::arch::x86_64::_rdtsc(), core::arch::x86_64::_rdtsc()) };
            sum = sum.wrapping_add(black_box(b.wrapping_sub(a)));
        }
        times.push(start.elapsed().as_nanos() as f64 / f64::from(CALLS));
    }
    black_box(sum);
    report(&format!(
        "   reference: two bare rdtsc {:.1} ns (median of {BURSTS} bursts of {CALLS})\n",
        median(&mut times)
    ));
}

#[cfg(not(target_arch = "x86_64"))]
fn rdtsc_reference() {}

// ---------------------------------------------------------------------------------------------
// 2. The counting allocator

/// One allocation and its free through `a`; the pointer escapes, so neither is elided.
#[inline(always)]
fn alloc_free(a: &impl GlobalAlloc, layout: Layout) {
    // SAFETY: `layout` has a non-zero size; the block is freed with the allocator and layout
    // it was allocated with, and only when the allocation succeeded.
    unsafe {
        let p = black_box(a.alloc(layout));
        if !p.is_null() {
            a.dealloc(p, layout);
        }
    }
}

fn layouts() -> [(&'static str, Layout); 2] {
    let layout = |size| Layout::from_size_align(size, 8).unwrap_or_else(|e| panic!("{e}"));
    [("64 B", layout(64)), ("4 KiB", layout(4096))]
}

fn allocator(c: &mut Criterion) {
    let counting = CountingAllocator::system();
    let mut g = c.benchmark_group("profiling: alloc+free pair");
    for (size, layout) in layouts() {
        g.bench_function(format!("System, {size}"), |b| {
            b.iter(|| alloc_free(&System, black_box(layout)))
        });
        g.bench_function(format!("CountingAllocator, {size}"), |b| {
            b.iter(|| alloc_free(&counting, black_box(layout)))
        });
    }
    g.finish();
    if paired_runs() {
        paired_alloc(&counting);
    }
}

/// `System` and the counting allocator in alternating bursts: ns per alloc+free pair.
fn paired_alloc(counting: &CountingAllocator) {
    const ROUNDS: usize = 4000;
    const PAIRS: u32 = 512;
    fn burst(a: &impl GlobalAlloc, layout: Layout) -> f64 {
        let start = Instant::now();
        for _ in 0..PAIRS {
            alloc_free(a, black_box(layout));
        }
        start.elapsed().as_nanos() as f64 / f64::from(PAIRS)
    }
    let mut out = format!(
        "\n2. alloc+free pair, called directly, {ROUNDS} rounds of {PAIRS} pairs, interleaved\n   \
         {:<26} {:>10} {:>10} {:>16}\n",
        "case", "ns/pair", "ratio", "extra ns/pair"
    );
    for (size, layout) in layouts() {
        let mut system = Vec::with_capacity(ROUNDS);
        let mut counted = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            if round % 2 == 0 {
                system.push(burst(&System, layout));
                counted.push(burst(counting, layout));
            } else {
                counted.push(burst(counting, layout));
                system.push(burst(&System, layout));
            }
        }
        let mut diff: Vec<f64> = counted.iter().zip(&system).map(|(a, b)| a - b).collect();
        let (ms, mc, md) = (median(&mut system), median(&mut counted), median(&mut diff));
        let _ = writeln!(
            out,
            "   {:<26} {ms:>10.2} {:>10.3} {:>16}",
            format!("System, {size}"),
            1.0,
            "baseline"
        );
        let _ = writeln!(
            out,
            "   {:<26} {mc:>10.2} {:>10.3} {md:>+16.2}",
            format!("CountingAllocator, {size}"),
            mc / ms
        );
    }
    report(&out);
}

// ---------------------------------------------------------------------------------------------
// 3. The CPU profiler

/// One instrumented piece of the workload: `iters` rounds of SipHash.
#[inline(never)]
#[zdk_trace_runtime::span(name = "bench.hash")]
fn hash_chunk(seed: u64, iters: u64) -> u64 {
    let mut h = DefaultHasher::new();
    for i in 0..iters {
        h.write_u64(black_box(i ^ seed));
    }
    h.finish()
}

/// Spans per workload.
const CHUNKS: u64 = 4;

/// The workload: [`CHUNKS`] spans of `iters` hashing rounds each.
fn workload(iters: u64) -> u64 {
    (0..CHUNKS).fold(0, |acc, seed| acc ^ black_box(hash_chunk(seed, iters)))
}

/// CPU nanoseconds used by every thread of the process so far, exited threads included.
fn process_cpu_ns() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// One run of the workload: wall and process CPU seconds.
fn timed_workload(iters: u64) -> (f64, f64) {
    let cpu = process_cpu_ns();
    let start = Instant::now();
    black_box(workload(iters));
    let wall = start.elapsed().as_secs_f64();
    (wall, (process_cpu_ns() - cpu) as f64 / 1e9)
}

/// What a profiled run saw besides its timings.
struct ProfiledRun {
    wall: f64,
    cpu: f64,
    /// Profile records (`sample_count()`) and ticks (`total("samples")`).
    records: usize,
    samples: i64,
    /// Process CPU seconds from just before `profile_cpu` was called to the window's end.
    window_cpu: f64,
    /// The share of the profile's main value labelled with the workload's span. The label slot
    /// is written when a span is entered or polled while a profile is being taken, so the
    /// first span, entered before the profiler has started, goes unlabelled (about 1 in
    /// [`CHUNKS`] of the samples).
    labelled: f64,
}

/// The workload with `telemetry.profile_cpu(window)` started on another thread just before.
fn profiled_workload(telemetry: &Telemetry, iters: u64, window: Duration) -> ProfiledRun {
    std::thread::scope(|s| {
        let cpu0 = process_cpu_ns();
        let opened = Instant::now();
        let handle = s.spawn(|| telemetry.profile_cpu(window));
        let (wall, cpu) = timed_workload(iters);
        // The process CPU of the window itself (not of the profile's symbolisation after it).
        if let Some(left) = (opened + window).checked_duration_since(Instant::now()) {
            std::thread::sleep(left);
        }
        let window_cpu = (process_cpu_ns() - cpu0) as f64 / 1e9;
        let profile = handle
            .join()
            .unwrap_or_else(|_| panic!("profile_cpu panicked"))
            .unwrap_or_else(|e| panic!("profile_cpu: {e}"));
        let main = profile.main_sample_type().map(|(ty, _)| ty);
        let total = main.as_deref().map_or(0, |ty| profile.total(ty));
        let in_span: i64 = profile
            .label_values("span_name")
            .iter()
            .filter(|(name, _)| name == "bench.hash")
            .map(|(_, v)| v)
            .sum();
        ProfiledRun {
            wall,
            cpu,
            records: profile.sample_count(),
            samples: profile.total("samples"),
            window_cpu,
            labelled: if total > 0 {
                in_span as f64 / total as f64
            } else {
                0.0
            },
        }
    })
}

fn profiler_overhead(_: &mut Criterion) {
    if common::filtered() {
        return;
    }
    let smoke = common::smoke_mode();
    let (target, runs) = if smoke {
        (Duration::from_millis(100), 1)
    } else {
        (Duration::from_secs(2), 5)
    };
    let sink = CountingSink::default();
    let telemetry = common::zdk(Sampler::AlwaysOn, &sink);

    // Hashing rounds per span for a workload of about `target`: the fastest of 3 probes of
    // ~0.1 s (the least disturbed).
    let probe = 1 << 24;
    let probe_wall = (0..3)
        .map(|_| timed_workload(probe).0)
        .fold(f64::INFINITY, f64::min);
    let iters = ((probe as f64) * target.as_secs_f64() / probe_wall) as u64;
    // Covers the workload with room to spare; the profile ends when the window does.
    let window = target.mul_f64(1.3) + Duration::from_millis(200);

    let mut plain = Vec::with_capacity(runs);
    let mut profiled = Vec::with_capacity(runs);
    for run in 0..runs {
        if run % 2 == 0 {
            plain.push(timed_workload(iters));
            profiled.push(profiled_workload(&telemetry, iters, window));
        } else {
            profiled.push(profiled_workload(&telemetry, iters, window));
            plain.push(timed_workload(iters));
        }
    }
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));

    let mut plain_wall: Vec<f64> = plain.iter().map(|r| r.0).collect();
    let mut plain_cpu: Vec<f64> = plain.iter().map(|r| r.1).collect();
    let mut prof_wall: Vec<f64> = profiled.iter().map(|r| r.wall).collect();
    let mut prof_cpu: Vec<f64> = profiled.iter().map(|r| r.cpu).collect();
    let mut capture: Vec<f64> = profiled
        .iter()
        .map(|r| r.samples as f64 / (r.window_cpu * 99.0))
        .collect();
    let per_run_capture = capture
        .iter()
        .map(|c| format!("{:.1}%", c * 100.0))
        .collect::<Vec<_>>()
        .join(", ");
    let (pw, pc) = (median(&mut plain_wall), median(&mut plain_cpu));
    let (qw, qc) = (median(&mut prof_wall), median(&mut prof_cpu));
    let mut records: Vec<f64> = profiled.iter().map(|r| r.records as f64).collect();
    let mut samples: Vec<f64> = profiled.iter().map(|r| r.samples as f64).collect();
    let mut window_cpu: Vec<f64> = profiled.iter().map(|r| r.window_cpu).collect();
    let mut labelled: Vec<f64> = profiled.iter().map(|r| r.labelled).collect();

    let mut out = format!(
        "\n3. CPU profiler at 99 Hz: {CHUNKS} spans x {iters} SipHash rounds (~{:.1} s), \
         profile_cpu({:.1} s) on another thread, {runs} runs each, alternating\n   \
         {:<26} {:>10} {:>10} {:>12} {:>12}\n",
        target.as_secs_f64(),
        window.as_secs_f64(),
        "case",
        "wall s",
        "CPU s",
        "wall vs base",
        "CPU vs base"
    );
    let _ = writeln!(
        out,
        "   {:<26} {pw:>10.3} {pc:>10.3} {:>12} {:>12}",
        "no profiler", "baseline", "baseline"
    );
    let _ = writeln!(
        out,
        "   {:<26} {qw:>10.3} {qc:>10.3} {:>+11.2}% {:>+11.2}%",
        "profile_cpu running",
        (qw / pw - 1.0) * 100.0,
        (qc / pc - 1.0) * 100.0
    );
    let _ = writeln!(
        out,
        "   samples: {:.0} records, {:.0} samples in a window of {:.3} process CPU s (expected \
         {:.0} at 99 Hz): captured {:.1}% (median; per run {per_run_capture}); {:.1}% of the \
         profile labelled `bench.hash`",
        median(&mut records),
        median(&mut samples),
        median(&mut window_cpu),
        median(&mut window_cpu) * 99.0,
        median(&mut capture) * 100.0,
        median(&mut labelled) * 100.0
    );
    let runs_of = |f: &dyn Fn(usize) -> f64| {
        (0..runs)
            .map(|i| format!("{:.3}", f(i)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        out,
        "   per run, in order: no profiler wall {} / CPU {}; profile_cpu running wall {} / CPU {}",
        runs_of(&|i| plain[i].0),
        runs_of(&|i| plain[i].1),
        runs_of(&|i| profiled[i].wall),
        runs_of(&|i| profiled[i].cpu)
    );
    report(&out);
}

/// Prints the paired tables (after criterion's own output).
fn summary(_: &mut Criterion) {
    let text = std::mem::take(
        &mut *REPORT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if !text.is_empty() {
        println!(
            "\nprofiling, medians of interleaved runs (2-core machine: expect a few % of noise)\
             {text}"
        );
    }
}

criterion_group! {
    name = benches;
    // Short criterion runs: the paired tables are the figures that count, and the whole
    // bench stays within about 3 minutes.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = poll_costs, allocator, profiler_overhead, summary
}
criterion_main!(benches);
