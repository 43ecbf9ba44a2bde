//! The CPU sampler's hot half (feature `profiling`, Linux): a per-thread label slot that the
//! context stack rewrites whenever the current span changes (only while a profile is being
//! taken), and a SIGPROF handler that, at each sample, reads the slot of the thread it
//! interrupted and walks its stack into a lock-free queue. So a sample carries the span that
//! was being polled at that instant, not the last one tagged on the thread.
//!
//! A leaf: `context/` writes the slot, the profiling stage starts the timer and drains the
//! queue. Why not pprof-rs's `ProfilerGuard`: its handler aggregates samples per (stack, OS
//! thread) and reads nothing else, so a label cannot be attached per sample.

#[cfg(all(feature = "profiling", target_os = "linux"))]
pub(crate) mod heap;
#[cfg(all(feature = "profiling", target_os = "linux"))]
mod label;
#[cfg(all(feature = "profiling", target_os = "linux"))]
pub(crate) mod signal;

#[cfg(all(feature = "profiling", target_os = "linux"))]
pub(crate) use label::{profiled_since, relabel, Label};

/// Without the sampler, no span is ever profiled.
#[cfg(not(all(feature = "profiling", target_os = "linux")))]
#[inline(always)]
pub(crate) fn profiled_since(_start: u64) -> bool {
    false
}

/// Without the sampler, relabelling is nothing.
#[cfg(not(all(feature = "profiling", target_os = "linux")))]
#[inline(always)]
pub(crate) fn relabel(
    _top: Option<(
        u128,
        u64,
        &'static str,
        Option<&'static crate::tally::genai::Site>,
    )>,
) {
}
