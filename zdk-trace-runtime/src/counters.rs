//! The counters behind [`Stats`](crate::Stats): per-thread ones, written on the hot path by
//! their owning thread only, and process-wide ones, written by the pipeline's threads and by
//! the few places that drop or reject something off the hot path.
//!
//! A leaf: recording, propagation and the collector all count here, and `Stats` sums it up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;

/// Per-thread counters, written by the owning thread only.
#[derive(Debug, Default)]
pub(crate) struct ThreadCounters {
    /// Recorded spans started (head-dropped ones are only counted in `sampled_out`).
    pub(crate) started: AtomicU64,
    pub(crate) sampled_out: AtomicU64,
    pub(crate) recorded: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    /// Of `dropped_queue_full`, spans with status ERROR (shed only when nothing else could be).
    pub(crate) dropped_queue_full_errors: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
    pub(crate) slots_allocated: AtomicU64,
}

/// Adds one to a counter that only the calling thread writes.
#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    // Single writer: a relaxed load and store is enough and avoids a locked `xadd`.
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Every thread's counters, for `stats()`. Locked once per thread (on its first span) and by
/// `stats()`, never per span.
pub(crate) static THREAD_COUNTERS: Lazy<Mutex<Vec<Arc<ThreadCounters>>>> =
    Lazy::new(|| Mutex::new(Vec::new()));

/// Process-wide counters of the pipeline threads (cumulative; `Stats` subtracts a baseline).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) sampled_out_tail: AtomicU64,
    pub(crate) kept_for_error: AtomicU64,
    pub(crate) kept_for_slowness: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    /// Of `dropped_queue_full`, spans with status ERROR or of a trace kept for an error.
    pub(crate) dropped_queue_full_errors: AtomicU64,
    pub(crate) dropped_export_failed: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
    pub(crate) export_errors: AtomicU64,
    /// Metrics pushes (OTLP) that failed.
    pub(crate) metrics_push_errors: AtomicU64,
    pub(crate) export_panics: AtomicU64,
    pub(crate) export_timeouts: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) malformed_traceparent: AtomicU64,
    pub(crate) attribute_values_truncated: AtomicU64,
    pub(crate) attributes_dropped: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) links_dropped: AtomicU64,
    /// Fields of `tracing` spans and events not recorded: their names are on the privacy
    /// denylist.
    pub(crate) private_fields_dropped: AtomicU64,
    pub(crate) spans_too_large: AtomicU64,
    /// Spans of batches an OTLP exporter keeps for a retry (a gauge).
    pub(crate) awaiting_retry: AtomicU64,
    /// Bytes of requests kept for a retry (a gauge).
    pub(crate) retry_buffer_bytes: AtomicU64,
    pub(crate) dropped_retry_buffer: AtomicU64,
    pub(crate) export_retries: AtomicU64,
    /// `CircuitState` as a number (a gauge).
    pub(crate) circuit: AtomicU64,
    pub(crate) circuit_opened: AtomicU64,
    pub(crate) circuit_closed: AtomicU64,
    /// Profile windows written to files or accepted by Pyroscope (profiling/export.rs).
    pub(crate) profiles_exported: AtomicU64,
    /// Profile windows never attempted: the exporter's queue was full, or shutdown's deadline
    /// passed first.
    pub(crate) profiles_dropped: AtomicU64,
    /// Profile windows whose export failed (after its retries, for Pyroscope).
    pub(crate) profile_export_errors: AtomicU64,
}

pub(crate) static COUNTERS: Counters = Counters {
    sampled_out_tail: AtomicU64::new(0),
    kept_for_error: AtomicU64::new(0),
    kept_for_slowness: AtomicU64::new(0),
    exported: AtomicU64::new(0),
    dropped_queue_full: AtomicU64::new(0),
    dropped_queue_full_errors: AtomicU64::new(0),
    dropped_export_failed: AtomicU64::new(0),
    dropped_shutdown: AtomicU64::new(0),
    export_errors: AtomicU64::new(0),
    metrics_push_errors: AtomicU64::new(0),
    export_panics: AtomicU64::new(0),
    export_timeouts: AtomicU64::new(0),
    batches: AtomicU64::new(0),
    malformed_traceparent: AtomicU64::new(0),
    attribute_values_truncated: AtomicU64::new(0),
    attributes_dropped: AtomicU64::new(0),
    events_dropped: AtomicU64::new(0),
    links_dropped: AtomicU64::new(0),
    private_fields_dropped: AtomicU64::new(0),
    spans_too_large: AtomicU64::new(0),
    awaiting_retry: AtomicU64::new(0),
    retry_buffer_bytes: AtomicU64::new(0),
    dropped_retry_buffer: AtomicU64::new(0),
    export_retries: AtomicU64::new(0),
    circuit: AtomicU64::new(0),
    circuit_opened: AtomicU64::new(0),
    circuit_closed: AtomicU64::new(0),
    profiles_exported: AtomicU64::new(0),
    profiles_dropped: AtomicU64::new(0),
    profile_export_errors: AtomicU64::new(0),
};

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    if n > 0 {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Counts `n` recorded spans that ended after their pipeline stopped taking them.
pub(crate) fn count_dropped_shutdown(n: u64) {
    add(&COUNTERS.dropped_shutdown, n);
}
