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
pub(crate) use label::{
    conversation_ended, conversation_of, labelling, profiled_since, register_conversation,
    write as write_label, Label,
};

/// The span current on a thread, as its label slot holds it: trace id, span id, `'static`
/// name (else empty) and the innermost agent call (its site and invocation span id).
pub(crate) type Current = (
    u128,
    u64,
    &'static str,
    Option<(&'static crate::tally::genai::Site, u64)>,
);

/// Without the sampler, no span is ever profiled.
#[cfg(not(all(feature = "profiling", target_os = "linux")))]
#[inline(always)]
pub(crate) fn profiled_since(_start: u64) -> bool {
    false
}

/// Without the sampler, no label is ever kept.
#[cfg(not(all(feature = "profiling", target_os = "linux")))]
#[inline(always)]
pub(crate) fn labelling() -> bool {
    false
}

/// Without the sampler, there is no label to write.
#[cfg(not(all(feature = "profiling", target_os = "linux")))]
#[inline(always)]
pub(crate) fn write_label(_top: Option<Current>) {}

/// Without the sampler, no sample is labelled with a conversation.
#[cfg(not(all(feature = "profiling", target_os = "linux")))]
#[inline(always)]
pub(crate) fn register_conversation(_invocation: u64, _id: &str) {}

/// Without the sampler, nothing was registered.
#[cfg(not(all(feature = "profiling", target_os = "linux")))]
#[inline(always)]
pub(crate) fn conversation_ended(_invocation: u64) {}
