//! Memory under load, in two parts.
//!
//! **Stalled exporter** (cases `stall-*`): a gRPC receiver on 127.0.0.1 that takes every
//! export request and never answers; two application threads create spans flat out for 30 s
//! (`--test`: 1.5 s). VmRSS is sampled every 100 ms; the table shows the baseline before install,
//! the RSS at each quarter of the stall, the peak (VmHWM), what the queue settings predict, and
//! the drops from `Telemetry::stats()`. zdk-trace at the default queue (32 768) and at 65 536, and
//! the SDK's `BatchSpanProcessor` (default config) with the opentelemetry-otlp gRPC exporter.
//!
//! **A buffered trace** (cases `trace-*`): with tail sampling on (`keep_errors`), a root stays
//! open while 1 000 children end; the heap growth (a counting `#[global_allocator]`: bytes
//! currently allocated) once the collector has taken them in, divided by 1 000. The same for
//! the SDK's `BatchSpanProcessor` holding 1 000 ended spans (long scheduled delay).
//!
//! Each case runs in a fresh child process (this binary with `--case NAME`), so its baseline is
//! clean and no pipeline of an earlier case is still stuck on the stalled receiver.
//!
//! `cargo bench -p zdk-trace-runtime --bench memory` (about 100 s); `-- --test` is the short
//! version; a word argument runs only the cases whose name contains it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use zdk_trace_receivers::CountingReceiver;
use zdk_trace_runtime::{Config, Protocol, Sampler, Span, Status, TailSampling, Telemetry};

mod common;

use common::{filter, sdk_otlp, sdk_sync, smoke_mode, zdk_otlp, zdk_sync, CountingSink};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// `(VmRSS, VmHWM)` in bytes, from /proc/self/status.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(bytes: f64) -> String {
    format!("{:.1}", bytes / (1024.0 * 1024.0))
}

/// `zdk_trace_runtime::span::local::RING_CAPACITY` (spans per application thread ring).
const RING_CAPACITY: u64 = 1024;
/// `size_of::<RawSpan>()` (the runtime's recorded span; not public).
const RAW_SPAN_BYTES: u64 = 320;
const APP_THREADS: u64 = 2;

/// What the queue settings predict zdk-trace holds at most with the exporter stalled: the
/// queue (converted `SpanData` and its attribute vector), the overflow lane (raw spans, as
/// long as the queue), and every thread's ring.
fn zdk_predicted(max_queue_size: u64) -> u64 {
    let span_data = std::mem::size_of::<opentelemetry_sdk::trace::SpanData>() as u64
        + 2 * std::mem::size_of::<KeyValue>() as u64;
    max_queue_size * span_data
        + max_queue_size * RAW_SPAN_BYTES
        + APP_THREADS * RING_CAPACITY * RAW_SPAN_BYTES
}

/// The SDK's bound: its channel and batch buffer hold `SpanData` (with attributes).
fn sdk_predicted(max_queue_size: u64) -> u64 {
    max_queue_size
        * (std::mem::size_of::<opentelemetry_sdk::trace::SpanData>() as u64
            + 2 * std::mem::size_of::<KeyValue>() as u64)
}

/// One stalled-exporter case in this process; prints its table row.
fn stall(case: &str, stall_for: Duration) {
    let (baseline, _) = rss();
    // Never answers within the run (the OTLP exporter gives up after its 10 s timeout and
    // sends the next batch, which stalls again).
    let receiver = CountingReceiver::grpc_stalled(Duration::from_secs(3600));
    let (queue, predicted, pipeline): (u64, u64, Result<Telemetry, _>) = match case {
        "stall-zdk-default" => (
            32768,
            zdk_predicted(32768),
            Ok(zdk_otlp(&receiver.endpoint(), Protocol::Grpc, None, None)),
        ),
        "stall-zdk-65536" => (
            65536,
            zdk_predicted(65536),
            Ok(zdk_otlp(
                &receiver.endpoint(),
                Protocol::Grpc,
                Some(65536),
                None,
            )),
        ),
        "stall-sdk-2048" => (
            2048,
            sdk_predicted(2048),
            Err(sdk_otlp(&receiver.endpoint(), None)),
        ),
        other => panic!("unknown case {other}"),
    };
    let tracer = pipeline
        .as_ref()
        .err()
        .map(|(provider, _)| provider.tracer("bench"));
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..APP_THREADS)
        .map(|_| {
            let stop = stop.clone();
            let created = created.clone();
            let tracer = tracer.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        match &tracer {
                            None => std::hint::black_box(zdk_sync()),
                            Some(t) => std::hint::black_box(sdk_sync(t)),
                        };
                    }
                    n += 256;
                }
                created.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut heap_samples = Vec::new();
    while start.elapsed() < stall_for {
        std::thread::sleep(Duration::from_millis(100));
        samples.push(rss().0);
        heap_samples.push(allocated());
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap_or_else(|_| panic!("app thread panicked"));
    }
    let (_, hwm) = rss();
    let heap_half = heap_samples[(heap_samples.len() / 2).saturating_sub(1)];
    let heap_max = heap_samples.iter().copied().max().unwrap_or(0);
    let heap = allocated();
    let created = created.load(Ordering::Relaxed);
    let quarter = |q: usize| samples[(samples.len() * q / 4).saturating_sub(1)];
    let requests = receiver.requests();
    assert!(
        requests >= 1,
        "{case}: the exporter never reached the receiver"
    );
    assert_eq!(receiver.spans() > 0, requests > 0);
    let dropped = match &pipeline {
        Ok(telemetry) => {
            let stats = telemetry.stats();
            assert_eq!(
                stats.spans_exported, 0,
                "{case}: exported through a stalled receiver"
            );
            assert!(
                stats.dropped() > 0,
                "{case}: nothing dropped: no back-pressure happened"
            );
            assert!(
                stats.spans_recorded <= created + 1,
                "{case}: {stats:?} created {created}"
            );
            format!(
                "{} ({:.1}%; queue full {}, export failed {})",
                stats.dropped(),
                100.0 * stats.dropped() as f64 / created.max(1) as f64,
                stats.dropped_queue_full,
                stats.dropped_export_failed
            )
        }
        Err(_) => format!(
            "{} not exported (SDK does not count)",
            created - receiver.spans()
        ),
    };
    let late_growth = quarter(4) as f64 - quarter(2) as f64;
    println!(
        "| {case} | {queue} | {:.1} s | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        stall_for.as_secs_f64(),
        mib(baseline as f64),
        mib(quarter(1) as f64),
        mib(quarter(2) as f64),
        mib(quarter(3) as f64),
        mib(quarter(4) as f64),
        mib(hwm as f64),
        mib(heap_half as f64),
        mib(heap as f64),
        mib(heap_max as f64),
        mib(predicted as f64),
        mib(late_growth),
        created,
        dropped,
    );
    // The process exits with the exporter still waiting on the receiver: no shutdown (it
    // would wait for the stalled export).
    std::mem::forget(pipeline);
    std::mem::forget(receiver);
}

/// Waits for the collector to take in what the rings hold, without flushing.
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

/// Bytes per buffered span of a 1 000-span trace held by the tail sampler.
fn trace_zdk(children: u64) {
    let sink = CountingSink::default();
    let start_heap = allocated();
    let telemetry = Telemetry::builder()
        .ignore_env()
        .config(Config::default())
        .sampler(Sampler::AlwaysOn)
        .tail_sampling(TailSampling::default().keep_errors(true))
        .span_exporter(sink.clone())
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    let install_heap = allocated() - start_heap;
    // Warm up: the thread's ring, the tail sampler's maps, the batch buffers.
    for _ in 0..3 {
        let mut root = Span::start("warm");
        {
            let _in = root.enter();
            for _ in 0..children {
                zdk_sync();
            }
        }
        root.set_status(Status::error("kept"));
        drop(root);
        telemetry.force_flush().unwrap_or_else(|e| panic!("{e}"));
    }
    let exported_before = sink.0.load(Ordering::Relaxed);
    settle();
    let before = allocated();
    let mut root = Span::start("root");
    {
        let _in = root.enter();
        for _ in 0..children {
            zdk_sync();
        }
    }
    settle();
    let held = allocated();
    let stats = telemetry.stats();
    assert_eq!(
        sink.0.load(Ordering::Relaxed),
        exported_before,
        "children were exported while the root was open: {stats:?}"
    );
    root.set_status(Status::error("kept"));
    drop(root);
    telemetry.force_flush().unwrap_or_else(|e| panic!("{e}"));
    settle();
    let after = allocated();
    let exported = sink.0.load(Ordering::Relaxed) - exported_before;
    assert_eq!(exported, children + 1, "the trace was not exported whole");
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let per_span = (held - before) as f64 / children as f64;
    println!(
        "| zdk-trace, tail sampler (keep_errors) holding the trace | {children} | {} | {:.0} | {} | {install_heap} | {} |",
        held - before,
        per_span,
        after - before,
        before - start_heap,
    );
}

/// The SDK's batch processor holding `children` ended spans (its scheduled delay is long, its
/// batch larger than the trace, so it exports nothing meanwhile).
fn trace_sdk(children: u64) {
    let sink = CountingSink::default();
    let start_heap = allocated();
    let processor = BatchSpanProcessor::builder(sink.clone())
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(4096)
                .with_max_export_batch_size(4096)
                .with_scheduled_delay(Duration::from_secs(3600))
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_span_processor(processor)
        .build();
    let install_heap = allocated() - start_heap;
    let tracer = provider.tracer("bench");
    for _ in 0..3 {
        for _ in 0..children {
            sdk_sync(&tracer);
        }
        let _ = provider.force_flush();
    }
    let exported_before = sink.0.load(Ordering::Relaxed);
    settle();
    let before = allocated();
    let root = tracer.start("root");
    {
        let _cx = opentelemetry::Context::current_with_span(root).attach();
        for _ in 0..children {
            sdk_sync(&tracer);
        }
        settle();
    }
    let held = allocated();
    assert_eq!(sink.0.load(Ordering::Relaxed), exported_before);
    let _ = provider.force_flush();
    settle();
    let after = allocated();
    assert_eq!(
        sink.0.load(Ordering::Relaxed) - exported_before,
        children + 1
    );
    let _ = provider.shutdown();
    println!(
        "| otel sdk BatchSpanProcessor holding the ended spans (queue 4096, batch 4096) | {children} | {} | {:.0} | {} | {install_heap} | {} |",
        held - before,
        (held - before) as f64 / children as f64,
        after - before,
        before - start_heap,
    );
}

/// One span with status ERROR (`llm.call`, like [`zdk_sync`]).
#[inline(never)]
fn zdk_error() {
    let mut span = Span::start("llm.call");
    span.set_status(Status::error("rate limited"));
}

/// The tail rule of an `overload-*` case.
fn overload_rule(case: &str) -> Option<TailSampling> {
    match case {
        "overload-none" => None,
        "overload-keep_errors" => Some(TailSampling::default().keep_errors(true)),
        "overload-slow" => Some(TailSampling::default().keep_slower_than(Duration::from_millis(1))),
        "overload-rate" => Some(TailSampling::default().max_traces_per_second(1000.0)),
        other => panic!("unknown case {other}"),
    }
}

/// One thread creating one-span traces flat out (every tenth with status ERROR) into a real
/// OTLP/HTTP receiver, with the case's tail rule; RSS sampled every 100 ms.
fn overload(case: &str, run_for: Duration) {
    let (baseline, _) = rss();
    let receiver = CountingReceiver::http();
    let telemetry = zdk_otlp(
        &receiver.endpoint(),
        Protocol::HttpProtobuf,
        None,
        overload_rule(case),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let app = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut created, mut errors) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..9 {
                    std::hint::black_box(zdk_sync());
                }
                zdk_error();
                created += 10;
                errors += 1;
            }
            (created, errors)
        })
    };
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut heap_max = 0;
    while start.elapsed() < run_for {
        std::thread::sleep(Duration::from_millis(100));
        samples.push(rss().0);
        heap_max = heap_max.max(allocated());
    }
    stop.store(true, Ordering::Relaxed);
    let (created, errors) = app.join().unwrap_or_else(|_| panic!("app thread panicked"));
    let elapsed = start.elapsed().as_secs_f64();
    let (_, hwm) = rss();
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("{case}: shutdown: {e}"));
    let stats = telemetry.stats();
    let quarter = |q: usize| samples[(samples.len() * q / 4).saturating_sub(1)];
    let exported = receiver.spans();
    assert_eq!(exported, stats.spans_exported, "{case}: {stats:?}");
    assert_eq!(
        stats.spans_recorded,
        stats.spans_exported + stats.spans_sampled_out + stats.dropped(),
        "{case}: a recorded span is unaccounted for: {stats:?}"
    );
    println!(
        "| {case} | {:.2} M/s | {} | {} | {} | {} | {} | {} | {} | {created} | {exported} ({:.1}%) | {} ({} errors) | {errors} | {} ({:.1}%) | {} |",
        created as f64 / elapsed / 1e6,
        mib(baseline as f64),
        mib(quarter(1) as f64),
        mib(quarter(2) as f64),
        mib(quarter(4) as f64),
        mib(hwm as f64),
        mib(heap_max as f64),
        mib(quarter(4) as f64 - quarter(2) as f64),
        100.0 * exported as f64 / created.max(1) as f64,
        stats.dropped_queue_full,
        stats.dropped_queue_full_errors,
        receiver.error_spans(),
        100.0 * receiver.error_spans() as f64 / errors.max(1) as f64,
        stats.span_slots_allocated,
    );
}

fn run_case(case: &str, smoke: bool) {
    let stall_for = if smoke {
        Duration::from_millis(1500)
    } else {
        Duration::from_secs(30)
    };
    match case {
        "trace-zdk" => trace_zdk(1000),
        "trace-sdk" => trace_sdk(1000),
        _ if case.starts_with("overload-") => overload(case, stall_for),
        _ => stall(case, stall_for),
    }
}

fn main() {
    let smoke = smoke_mode();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        let case = args.get(i + 1).map_or("", String::as_str);
        run_case(case, smoke);
        // Stalled pipelines are left behind on purpose: exit without waiting for them.
        std::process::exit(0);
    }
    let filter = filter().filter(|f| f != "--case");
    let selected = |case: &str| filter.as_deref().is_none_or(|f| case.contains(f));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let child = |case: &str| {
        let mut cmd = Command::new(&exe);
        cmd.args(["--case", case]);
        if smoke {
            cmd.arg("--test");
        }
        let status = cmd.status().unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(status.success(), "case {case} failed: {status}");
    };

    println!("memory, part 1: exporter stalled, {APP_THREADS} threads creating spans flat out; RSS sampled every 100 ms (MiB)");
    println!();
    println!("| case | max_queue_size | stall | baseline RSS | RSS at 1/4 | 1/2 | 3/4 | end | peak (VmHWM) | heap at 1/2 | heap at end | heap max (allocator) | predicted by the queue settings | growth 1/2 → end | spans created | dropped |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for case in ["stall-zdk-default", "stall-zdk-65536", "stall-sdk-2048"] {
        if selected(case) {
            child(case);
        }
    }
    println!();
    println!("Predicted (zdk) = queue × (size_of SpanData {} B + 2 KeyValue {} B) + overflow lane = queue × RawSpan {RAW_SPAN_BYTES} B + {APP_THREADS} rings × {RING_CAPACITY} × {RAW_SPAN_BYTES} B; (sdk) = queue × (SpanData + 2 KeyValue).",
        std::mem::size_of::<opentelemetry_sdk::trace::SpanData>(),
        2 * std::mem::size_of::<KeyValue>());
    println!();
    println!("memory, part 2: a trace of 1 000 ended spans held while its root is open (heap bytes, counting allocator)");
    println!();
    println!("| case | spans | heap growth (bytes) | bytes per buffered span | left after export (bytes) | heap allocated by install (bytes) | heap held before the trace: install + warm-up (bytes) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for case in ["trace-zdk", "trace-sdk"] {
        if selected(case) {
            child(case);
        }
    }
    println!();
    println!("memory, part 3: overload with each tail rule: one thread creating one-span traces flat out, every tenth with status ERROR, into a real OTLP/HTTP receiver; RSS sampled every 100 ms (MiB)");
    println!();
    println!("| case | offered | baseline RSS | RSS at 1/4 | 1/2 | end | peak (VmHWM) | heap max (allocator) | growth 1/2 → end | spans created | exported | dropped (queue full) | error spans created | error spans exported | span slots allocated |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for case in [
        "overload-none",
        "overload-keep_errors",
        "overload-slow",
        "overload-rate",
    ] {
        if selected(case) {
            child(case);
        }
    }
}
