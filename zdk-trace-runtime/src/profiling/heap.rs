//! Heap profiles: what the heap sampler recorded (one allocation in `sampling_rate`, with
//! its stack and span), as a pprof profile scaled back up by the rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::cpu::{build_profile, Symbols};
use super::{Profile, ProfilingError};
use crate::hot::{hot, SLOW_LABEL_HEAP};
use crate::sampler::heap;

/// The rate allocations are sampled at (0: off).
static RATE: AtomicU64 = AtomicU64::new(0);
/// When sampling started.
static SINCE: std::sync::Mutex<Option<SystemTime>> = std::sync::Mutex::new(None);

/// Starts sampling one allocation in `rate`, matching frees when `inuse`.
pub(crate) fn start(rate: u64, inuse: bool) {
    RATE.store(rate, Ordering::Relaxed);
    *SINCE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(SystemTime::now());
    heap::start(rate, inuse);
    // Labels are kept up to date while sampling: sync fn spans leave the quick path.
    hot().set_slow(SLOW_LABEL_HEAP, rate > 0);
}

/// Stops sampling (what was recorded stays readable).
pub(crate) fn stop() {
    heap::start(0, false);
    hot().set_slow(SLOW_LABEL_HEAP, false);
}

/// The allocator's own frames (and the walk's), removed from the top of each stack.
fn allocator_frames(stack: &[usize], symbols: &mut Symbols) -> usize {
    const OURS: [&str; 8] = [
        "sampler::heap",
        "resources::alloc",
        "__rust_alloc",
        "__rust_realloc",
        "__rdl_",
        "__rg_",
        "alloc::alloc::",
        "backtrace::",
    ];
    let mut skip = 0;
    for (i, &ip) in stack.iter().enumerate().take(24) {
        if symbols
            .resolve(ip)
            .iter()
            .any(|s| OURS.iter().any(|o| s.name.contains(o)) || s.name.contains("GlobalAlloc"))
        {
            skip = i + 1;
        }
    }
    skip
}

/// The heap profile so far: `alloc_objects`, `alloc_space` (everything sampled since the
/// start) and `inuse_objects`, `inuse_space` (sampled and not yet freed, with
/// `heap_profiling`), each scaled by the sampling rate; the same span labels as CPU
/// profiles.
pub(crate) fn profile() -> Result<Profile, ProfilingError> {
    let rate = RATE.load(Ordering::Relaxed);
    if rate == 0 {
        return Err(ProfilingError::HeapOff);
    }
    let rate_i = i64::try_from(rate).unwrap_or(i64::MAX);
    let from = SINCE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .unwrap_or_else(SystemTime::now);
    let sites = heap::snapshot();
    let mut symbols = Symbols::default();
    let scale = |n: u64| i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(rate_i);
    let entries = sites
        .iter()
        .map(|((stack, label), site)| {
            let skip = allocator_frames(stack, &mut symbols);
            (
                &stack[skip..],
                *label,
                vec![
                    scale(site.alloc_count),
                    scale(site.alloc_bytes),
                    scale(site.inuse_count),
                    scale(site.inuse_bytes),
                ],
            )
        })
        .collect::<Vec<_>>();
    Ok(build_profile(
        entries,
        &[
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ],
        ("space", "bytes"),
        rate_i,
        3,
        from,
        SystemTime::now(),
        &mut symbols,
    ))
}
