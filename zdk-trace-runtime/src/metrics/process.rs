//! The process gauges of the semantic conventions, observed at each collection (Linux, from
//! `/proc/self`): `process.memory.usage` (resident bytes), `process.memory.peak` (the
//! resident high-water mark; no convention name exists for it), `process.cpu.time` and
//! `process.cpu.utilization` (CPU time since the previous collection over wall time and the
//! CPUs available).

use std::sync::Mutex;
use std::time::Instant;

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;

use crate::lock::lock;

/// Resident and peak resident bytes, from `/proc/self/status`.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()
            .map(|k| k * 1024)
    };
    Some((kib("VmRSS:")?, kib("VmHWM:")?))
}

/// User and system CPU seconds of the process, from `/proc/self/stat`.
fn cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: fields start after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let hz = clock_ticks();
    Some((utime / hz, stime / hz))
}

/// `/proc` counts CPU time in `USER_HZ` ticks, which the kernel ABI fixes at 100 per second
/// on every architecture (whatever the kernel's own `HZ`).
fn clock_ticks() -> f64 {
    100.0
}

/// Registers the process gauges on `meter`.
pub(crate) fn register(meter: &Meter) {
    let _ = meter
        .u64_observable_gauge("process.memory.usage")
        .with_unit("By")
        .with_description("The amount of physical memory in use")
        .with_callback(|o| {
            if let Some((rss, _)) = memory() {
                o.observe(rss, &[]);
            }
        })
        .build();
    let _ = meter
        .u64_observable_gauge("process.memory.peak")
        .with_unit("By")
        .with_description("The most physical memory the process has used (high-water mark)")
        .with_callback(|o| {
            if let Some((_, peak)) = memory() {
                o.observe(peak, &[]);
            }
        })
        .build();
    // The counting allocator's figures, when it is the global allocator (`memory_stats()`).
    let _ = meter
        .u64_observable_gauge("zdk.memory.heap.usage")
        .with_unit("By")
        .with_description(
            "Bytes allocated and not yet freed (the CountingAllocator; exact to 256 KiB per thread)",
        )
        .with_callback(|o| {
            if let Some(t) = crate::resources::alloc::totals() {
                o.observe(t.allocated.saturating_sub(t.freed), &[]);
            }
        })
        .build();
    let _ = meter
        .u64_observable_gauge("zdk.memory.heap.peak")
        .with_unit("By")
        .with_description(
            "The most bytes allocated and not yet freed at once (the CountingAllocator)",
        )
        .with_callback(|o| {
            if let Some(t) = crate::resources::alloc::totals() {
                o.observe(t.peak, &[]);
            }
        })
        .build();
    let _ = meter
        .u64_observable_counter("zdk.memory.allocations")
        .with_unit("{allocation}")
        .with_description("Allocations made (the CountingAllocator)")
        .with_callback(|o| {
            if let Some(t) = crate::resources::alloc::totals() {
                o.observe(t.count, &[]);
            }
        })
        .build();
    let _ = meter
        .f64_observable_counter("process.cpu.time")
        .with_unit("s")
        .with_description("Total CPU seconds broken down by different CPU modes")
        .with_callback(|o| {
            if let Some((user, system)) = cpu_seconds() {
                o.observe(user, &[KeyValue::new("cpu.mode", "user")]);
                o.observe(system, &[KeyValue::new("cpu.mode", "system")]);
            }
        })
        .build();
    let last: Mutex<Option<(Instant, f64)>> = Mutex::new(None);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let _ = meter
        .f64_observable_gauge("process.cpu.utilization")
        .with_unit("1")
        .with_description(
            "CPU time since the last collection over the wall time and the CPUs available",
        )
        .with_callback(move |o| {
            let Some((user, system)) = cpu_seconds() else {
                return;
            };
            let now = Instant::now();
            let total = user + system;
            let mut last = lock(&last);
            if let Some((at, before)) = *last {
                let wall = now.duration_since(at).as_secs_f64();
                if wall > 0.0 {
                    o.observe(((total - before) / wall / cpus).max(0.0), &[]);
                }
            }
            *last = Some((now, total));
        })
        .build();
}
