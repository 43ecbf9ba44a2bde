//! Counters of what the pipeline did, and the [`Stats`] snapshot users read.

use std::sync::atomic::{AtomicU64, Ordering};

use super::CircuitState;
use crate::counters::{COUNTERS, THREAD_COUNTERS};
use crate::lock::lock;

/// What the pipeline has done since it was installed.
///
/// `spans_started = spans_recorded + spans_sampled_out (head) + spans still open`, and every
/// recorded span ends up exported, sampled out by a tail rule, dropped (by reason), still
/// queued, or kept for a retry (`spans_awaiting_retry`).
///
/// # Examples
///
/// ```
/// # use opentelemetry_sdk::trace::InMemorySpanExporter;
/// # use zdk_trace_runtime::Telemetry;
/// # let telemetry = Telemetry::builder().span_exporter(InMemorySpanExporter::default()).install().unwrap();
/// let stats = telemetry.stats();
/// assert_eq!(stats.dropped_queue_full, 0);
/// # telemetry.shutdown().unwrap();
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Spans started (sampled or not).
    pub spans_started: u64,
    /// Spans recorded on the application threads and handed to the pipeline.
    pub spans_recorded: u64,
    /// Spans dropped by sampling: head sampling (never recorded) plus tail decisions.
    pub spans_sampled_out: u64,
    /// Spans every exporter accepted.
    pub spans_exported: u64,
    /// Spans dropped because the queue was full (the exporter was behind). Ok spans are shed
    /// first: an error span (and the rest of a trace a tail rule keeps for an error) is dropped
    /// only when the queue and the error spans already waiting for it fill the reserve.
    pub dropped_queue_full: u64,
    /// Of [`dropped_queue_full`](Self::dropped_queue_full), spans with status ERROR or of a
    /// trace kept for an error: 0 unless errors alone outran the exporter.
    pub dropped_queue_full_errors: u64,
    /// Spans dropped because an exporter failed, timed out or panicked.
    pub dropped_export_failed: u64,
    /// Spans that ended after shutdown began, or could not be exported before its deadline.
    pub dropped_shutdown: u64,
    /// Failed export calls (one per exporter per batch).
    pub export_errors: u64,
    /// OTLP metrics pushes that failed (the next push sends the cumulative totals again).
    pub metrics_push_errors: u64,
    /// Export calls that panicked (caught; the pipeline went on).
    pub export_panics: u64,
    /// Export calls that exceeded the export timeout.
    pub export_timeouts: u64,
    /// Batches exported.
    pub batches_exported: u64,
    /// Traces a tail rule kept only because they had an error.
    pub traces_kept_for_error: u64,
    /// Traces a tail rule kept only because they were slow.
    pub traces_kept_for_slowness: u64,
    /// Incoming `traceparent` headers that were malformed (and ignored).
    pub malformed_traceparent: u64,
    /// Attribute values truncated to the length limit (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
    /// [`Config::with_attribute_value_length_limit`](crate::Config::with_attribute_value_length_limit)).
    pub attribute_values_truncated: u64,
    /// Attributes (of spans, events and links) dropped over the count limit.
    pub attributes_dropped: u64,
    /// Events dropped over a span's event count limit.
    pub events_dropped: u64,
    /// Links dropped over a span's link count limit.
    pub links_dropped: u64,
    /// Fields of `tracing` spans and events the bridge (feature `tracing`) did not record
    /// because their names look like personal data or secrets (`email`, `token`, …).
    pub private_fields_dropped: u64,
    /// Spans dropped because one alone encodes to more than the largest export request
    /// ([`Config::with_max_request_bytes`](crate::Config::with_max_request_bytes)); also
    /// counted in `dropped_export_failed`.
    pub spans_too_large: u64,
    /// Spans an OTLP exporter keeps to send again when the collector answers (now: a gauge,
    /// not a count since install). Neither exported nor dropped yet.
    pub spans_awaiting_retry: u64,
    /// Bytes of OTLP requests kept for a retry (now: a gauge).
    pub retry_buffer_bytes: u64,
    /// Spans dropped from the retry buffer: it was full (oldest first), or they were older than
    /// `telemetry.tracing.otlp.retry.max_age_seconds`.
    pub dropped_retry_buffer: u64,
    /// Kept requests sent again (each probe of an open circuit included).
    pub export_retries: u64,
    /// The OTLP exporters' circuit breaker (now; `Open` if any exporter's is open).
    pub circuit: CircuitState,
    /// Times a circuit opened (the collector failed `circuit_failures` times in a row).
    pub circuit_opened: u64,
    /// Times a circuit closed again (a probe got through).
    pub circuit_closed: u64,
    /// Span record slots allocated on application threads. A thread allocates them only
    /// while its pool grows to the spans it keeps in flight (open, or not yet collected), then
    /// reuses them: a count that keeps growing under a steady load means spans are being
    /// started on one thread and ended on others faster than the pools balance out.
    pub span_slots_allocated: u64,
    /// CPU and heap profile windows exported (`[telemetry.profiling]`): written to the
    /// profile directory, or accepted by Pyroscope.
    pub profiles_exported: u64,
    /// Profile windows dropped without an export attempt: the profile exporter's queue was
    /// full (it was behind), or shutdown's deadline passed before their turn.
    pub profiles_dropped: u64,
    /// Profile windows whose export failed: a file could not be written, or Pyroscope could
    /// not be reached or refused them after the retries.
    pub profile_export_errors: u64,
}

impl Stats {
    /// All spans dropped, whatever the reason (sampling excluded).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(zdk_trace_runtime::Stats::default().dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_export_failed
            + self.dropped_shutdown
            + self.dropped_retry_buffer
    }

    /// Reads every counter now (cumulative since the process started).
    pub(crate) fn read_cumulative() -> Stats {
        let c = &COUNTERS;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut stats = Stats {
            spans_sampled_out: get(&c.sampled_out_tail),
            spans_exported: get(&c.exported),
            dropped_queue_full: get(&c.dropped_queue_full),
            dropped_queue_full_errors: get(&c.dropped_queue_full_errors),
            dropped_export_failed: get(&c.dropped_export_failed),
            dropped_shutdown: get(&c.dropped_shutdown),
            export_errors: get(&c.export_errors),
            metrics_push_errors: get(&c.metrics_push_errors),
            export_panics: get(&c.export_panics),
            export_timeouts: get(&c.export_timeouts),
            batches_exported: get(&c.batches),
            traces_kept_for_error: get(&c.kept_for_error),
            traces_kept_for_slowness: get(&c.kept_for_slowness),
            malformed_traceparent: get(&c.malformed_traceparent),
            attribute_values_truncated: get(&c.attribute_values_truncated),
            attributes_dropped: get(&c.attributes_dropped),
            events_dropped: get(&c.events_dropped),
            links_dropped: get(&c.links_dropped),
            private_fields_dropped: get(&c.private_fields_dropped),
            spans_too_large: get(&c.spans_too_large),
            spans_awaiting_retry: get(&c.awaiting_retry),
            retry_buffer_bytes: get(&c.retry_buffer_bytes),
            dropped_retry_buffer: get(&c.dropped_retry_buffer),
            export_retries: get(&c.export_retries),
            circuit: CircuitState::from_u8(u8::try_from(get(&c.circuit)).unwrap_or(0)),
            circuit_opened: get(&c.circuit_opened),
            circuit_closed: get(&c.circuit_closed),
            profiles_exported: get(&c.profiles_exported),
            profiles_dropped: get(&c.profiles_dropped),
            profile_export_errors: get(&c.profile_export_errors),
            ..Stats::default()
        };
        let threads = lock(&THREAD_COUNTERS);
        for t in threads.iter() {
            // Head-dropped spans are counted once, as sampled out (one counter on that path).
            stats.spans_started += get(&t.started) + get(&t.sampled_out);
            stats.spans_recorded += get(&t.recorded);
            stats.spans_sampled_out += get(&t.sampled_out);
            stats.dropped_queue_full += get(&t.dropped_queue_full);
            stats.dropped_queue_full_errors += get(&t.dropped_queue_full_errors);
            stats.dropped_shutdown += get(&t.dropped_shutdown);
            stats.span_slots_allocated += get(&t.slots_allocated);
        }
        stats
    }

    /// `self - base`, field by field.
    pub(crate) fn since(&self, base: &Stats) -> Stats {
        Stats {
            spans_started: self.spans_started.saturating_sub(base.spans_started),
            spans_recorded: self.spans_recorded.saturating_sub(base.spans_recorded),
            spans_sampled_out: self
                .spans_sampled_out
                .saturating_sub(base.spans_sampled_out),
            spans_exported: self.spans_exported.saturating_sub(base.spans_exported),
            dropped_queue_full: self
                .dropped_queue_full
                .saturating_sub(base.dropped_queue_full),
            dropped_queue_full_errors: self
                .dropped_queue_full_errors
                .saturating_sub(base.dropped_queue_full_errors),
            dropped_export_failed: self
                .dropped_export_failed
                .saturating_sub(base.dropped_export_failed),
            dropped_shutdown: self.dropped_shutdown.saturating_sub(base.dropped_shutdown),
            export_errors: self.export_errors.saturating_sub(base.export_errors),
            metrics_push_errors: self
                .metrics_push_errors
                .saturating_sub(base.metrics_push_errors),
            export_panics: self.export_panics.saturating_sub(base.export_panics),
            export_timeouts: self.export_timeouts.saturating_sub(base.export_timeouts),
            batches_exported: self.batches_exported.saturating_sub(base.batches_exported),
            traces_kept_for_error: self
                .traces_kept_for_error
                .saturating_sub(base.traces_kept_for_error),
            traces_kept_for_slowness: self
                .traces_kept_for_slowness
                .saturating_sub(base.traces_kept_for_slowness),
            malformed_traceparent: self
                .malformed_traceparent
                .saturating_sub(base.malformed_traceparent),
            attribute_values_truncated: self
                .attribute_values_truncated
                .saturating_sub(base.attribute_values_truncated),
            attributes_dropped: self
                .attributes_dropped
                .saturating_sub(base.attributes_dropped),
            events_dropped: self.events_dropped.saturating_sub(base.events_dropped),
            links_dropped: self.links_dropped.saturating_sub(base.links_dropped),
            private_fields_dropped: self
                .private_fields_dropped
                .saturating_sub(base.private_fields_dropped),
            spans_too_large: self.spans_too_large.saturating_sub(base.spans_too_large),
            // Gauges: what is kept now.
            spans_awaiting_retry: self.spans_awaiting_retry,
            retry_buffer_bytes: self.retry_buffer_bytes,
            circuit: self.circuit,
            dropped_retry_buffer: self
                .dropped_retry_buffer
                .saturating_sub(base.dropped_retry_buffer),
            export_retries: self.export_retries.saturating_sub(base.export_retries),
            circuit_opened: self.circuit_opened.saturating_sub(base.circuit_opened),
            circuit_closed: self.circuit_closed.saturating_sub(base.circuit_closed),
            span_slots_allocated: self
                .span_slots_allocated
                .saturating_sub(base.span_slots_allocated),
            profiles_exported: self
                .profiles_exported
                .saturating_sub(base.profiles_exported),
            profiles_dropped: self.profiles_dropped.saturating_sub(base.profiles_dropped),
            profile_export_errors: self
                .profile_export_errors
                .saturating_sub(base.profile_export_errors),
        }
    }
}
