//! Per-span resources (`profile`, `span_resources`): busy time, thread CPU time and
//! allocations, summed over every poll of a span on whichever thread polled it, and none of
//! another span's work counted in it.
#![cfg(target_os = "linux")]

use std::time::Duration;

use opentelemetry::Value;
use zdk_trace_runtime::genai::{
    RESOURCE_BUSY_MICROS, RESOURCE_CPU_MICROS, RESOURCE_MEMORY_ALLOCATIONS, RESOURCE_MEMORY_BYTES,
    RESOURCE_MEMORY_PEAK,
};
use zdk_trace_runtime::{span, tool_call, CountingAllocator};
use zdk_trace_tests::harness::{attr, one, Harness};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::system();

fn int(span: &opentelemetry_sdk::trace::SpanData, key: &str) -> i64 {
    match attr(span, key) {
        Some(Value::I64(v)) => v,
        other => panic!("{}: {key} = {other:?}", span.name),
    }
}

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    zdk_trace_runtime::profiling::thread_cpu_time().unwrap_or_else(|| panic!("no thread CPU clock"))
}

/// Burns `ms` of CPU on the calling thread (CPU time, not wall time: the machine may be busy).
fn burn(ms: u64) {
    let start = thread_cpu();
    let mut x = 0u64;
    while thread_cpu() < start + Duration::from_millis(ms) {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

/// ~20 ms of CPU across 5 polls, yielding to the runtime between them.
#[span(name = "burner", profile)]
async fn burner() {
    for _ in 0..5 {
        burn(4);
        tokio::task::yield_now().await;
    }
}

/// Waits across 5 polls and uses almost no CPU, while `burner` runs on the same threads.
#[span(name = "waiter", profile)]
async fn waiter() {
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(6)).await;
    }
}

#[test]
fn cpu_time_is_summed_over_polls_and_not_shared_with_an_interleaved_span() {
    let h = Harness::install(|b| b);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        // Several of each, so that both kinds run interleaved on both worker threads.
        let mut tasks = Vec::new();
        for _ in 0..3 {
            tasks.push(tokio::spawn(burner()));
            tasks.push(tokio::spawn(waiter()));
        }
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("{e}"));
        }
    });
    let spans = h.spans();
    for span in spans.iter().filter(|s| s.name == "burner") {
        let cpu = int(span, RESOURCE_CPU_MICROS);
        assert!(
            (15_000..=25_000).contains(&cpu),
            "burner: 20 ms ± 25% of CPU expected, got {cpu} µs"
        );
        let busy = int(span, RESOURCE_BUSY_MICROS);
        assert!(busy >= cpu * 9 / 10, "busy {busy} µs < CPU {cpu} µs");
        // It waited for its turn between polls: its wall time is longer than its busy time
        // only by the time others ran; busy time never exceeds the span's duration.
        let wall = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default()
            .as_micros() as i64;
        assert!(busy <= wall, "busy {busy} µs > wall {wall} µs");
    }
    for span in spans.iter().filter(|s| s.name == "waiter") {
        let cpu = int(span, RESOURCE_CPU_MICROS);
        assert!(cpu < 2_000, "waiter: none of burner's CPU, got {cpu} µs");
        let busy = int(span, RESOURCE_BUSY_MICROS);
        assert!(
            busy < 3_000,
            "waiter: busy only while polled, got {busy} µs"
        );
        let wall = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        assert!(wall >= Duration::from_millis(30), "{wall:?}");
    }
    assert_eq!(spans.iter().filter(|s| s.name == "burner").count(), 3);
    assert_eq!(spans.iter().filter(|s| s.name == "waiter").count(), 3);
}

#[tool_call(name = "allocates", profile)]
fn allocates() -> usize {
    let v = vec![1u8; 1 << 20];
    std::hint::black_box(&v);
    v.len()
}

#[tool_call(name = "sibling", profile)]
fn sibling() -> usize {
    std::hint::black_box(7)
}

#[span(name = "parent", profile = "busy")]
fn parent() {
    allocates();
    sibling();
}

#[test]
fn a_span_reports_what_it_allocated_and_its_sibling_does_not() {
    let h = Harness::install(|b| b);
    parent();
    let spans = h.spans();
    let big = one(&spans, "execute_tool allocates");
    assert!(int(big, RESOURCE_MEMORY_BYTES) >= 1 << 20);
    assert!(int(big, RESOURCE_MEMORY_ALLOCATIONS) >= 1);
    // The vector was freed before the span ended, but its peak stays.
    assert!(int(big, RESOURCE_MEMORY_PEAK) >= 1 << 20);
    let small = one(&spans, "execute_tool sibling");
    assert!(int(small, RESOURCE_MEMORY_BYTES) < 4096);
    assert!(int(small, RESOURCE_MEMORY_PEAK) < 4096);
    // The parent includes its children's allocations; `profile = "busy"` reads no CPU clock.
    let parent = one(&spans, "parent");
    assert!(int(parent, RESOURCE_MEMORY_BYTES) >= 1 << 20);
    assert!(attr(parent, RESOURCE_CPU_MICROS).is_none());
    assert!(attr(parent, RESOURCE_BUSY_MICROS).is_some());
}

/// Allocations across the polls of an async span, freed on another poll.
#[span(name = "async_alloc", profile)]
async fn async_alloc() -> usize {
    let a = vec![0u8; 300_000];
    tokio::task::yield_now().await;
    let b = vec![0u8; 300_000];
    tokio::task::yield_now().await;
    a.len() + b.len()
}

#[test]
fn allocations_are_summed_over_polls() {
    let h = Harness::install(|b| b);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        tokio::spawn(async_alloc())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let spans = h.spans();
    let span = one(&spans, "async_alloc");
    let bytes = int(span, RESOURCE_MEMORY_BYTES);
    assert!((600_000..700_000).contains(&bytes), "{bytes}");
    let peak = int(span, RESOURCE_MEMORY_PEAK);
    assert!((600_000..700_000).contains(&peak), "{peak}");
}

#[span(name = "plain")]
fn plain() {}

#[test]
fn spans_without_profile_measure_nothing() {
    let h = Harness::install(|b| b);
    plain();
    let spans = h.spans();
    assert!(attr(one(&spans, "plain"), RESOURCE_BUSY_MICROS).is_none());
}
