//! The few switches the hot path reads on every span, on one cache line.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use crate::genai::CaptureMode;
use crate::sampling::{Sampler, TailSampling};

/// What every span start reads: relaxed atomic loads, written only by install and shutdown.
#[repr(align(64))]
#[derive(Debug)]
pub(crate) struct Hot {
    enabled: AtomicBool,
    /// Tail rules judge head-dropped traces too, so they must be recorded.
    record_unsampled: AtomicBool,
    /// Remote parents' sampled flag is followed (`ParentBased`).
    follow_remote: AtomicBool,
    /// New spans look at OpenTelemetry's current `Context` for a parent (opt-in).
    inherit_otel: AtomicBool,
    /// Root traces are kept when `(trace_id as u64) >> 1 < root_bound`; `u64::MAX` keeps all.
    root_bound: AtomicU64,
    /// [`CaptureMode`] as `u8`: read once by every `capture` expansion.
    capture: AtomicU8,
    /// The export queue is full (and no tail rule holds traces): a finished span is dropped
    /// and counted on its thread, instead of costing the collector a copy and a conversion
    /// for a span it would drop anyway. Set by the collector when it drops for a full queue,
    /// cleared by the exporter when a batch completes.
    queue_full: AtomicBool,
    /// `[telemetry.profiling] span_resources`: every macro span measures its resources.
    span_resources: AtomicBool,
    /// Why a sync function's span may not take the quick path (a sampled-out span's frame
    /// deferred, a sampled-in span's start worked out once): one bit per reason
    /// ([`SLOW_INHERIT_OTEL`], [`SLOW_RECORD_UNSAMPLED`], [`SLOW_LABEL_CPU`],
    /// [`SLOW_LABEL_HEAP`]), so the path tests one byte. Set and cleared with the flag each
    /// mirrors.
    slow: AtomicU8,
}

/// [`Hot::inherit_otel`].
pub(crate) const SLOW_INHERIT_OTEL: u8 = 1;
/// [`Hot::record_unsampled`].
pub(crate) const SLOW_RECORD_UNSAMPLED: u8 = 2;
/// A CPU profile is being taken (profile labels are kept up to date): set by `profiling`
/// around the sampler's timer.
#[cfg_attr(not(all(feature = "profiling", target_os = "linux")), allow(dead_code))]
pub(crate) const SLOW_LABEL_CPU: u8 = 4;
/// Allocations are being sampled (profile labels are kept up to date): set by `profiling`
/// around heap sampling.
#[cfg_attr(not(all(feature = "profiling", target_os = "linux")), allow(dead_code))]
pub(crate) const SLOW_LABEL_HEAP: u8 = 8;
/// Not [`Hot::enabled`]: no span starts at all.
pub(crate) const SLOW_DISABLED: u8 = 16;

static HOT: Hot = Hot {
    enabled: AtomicBool::new(false),
    record_unsampled: AtomicBool::new(false),
    follow_remote: AtomicBool::new(false),
    inherit_otel: AtomicBool::new(false),
    root_bound: AtomicU64::new(u64::MAX),
    capture: AtomicU8::new(0),
    queue_full: AtomicBool::new(false),
    span_resources: AtomicBool::new(false),
    slow: AtomicU8::new(SLOW_DISABLED),
};

#[inline]
pub(crate) fn hot() -> &'static Hot {
    &HOT
}

impl Hot {
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn inherit_otel(&self) -> bool {
        self.inherit_otel.load(Ordering::Relaxed)
    }

    pub(crate) fn set_inherit_otel(&self, on: bool) {
        self.inherit_otel.store(on, Ordering::Relaxed);
        self.set_slow(SLOW_INHERIT_OTEL, on);
    }

    /// Why a sync function's span may not take the quick path, one bit per reason (see the
    /// field `slow`); 0: it may. With [`SLOW_DISABLED`] set, no span starts.
    #[inline]
    pub(crate) fn slow(&self) -> u8 {
        self.slow.load(Ordering::Relaxed)
    }

    /// Sets or clears one reason for the slow path (atomically: the reasons are set from
    /// different places).
    pub(crate) fn set_slow(&self, reason: u8, on: bool) {
        if on {
            self.slow.fetch_or(reason, Ordering::Relaxed);
        } else {
            self.slow.fetch_and(!reason, Ordering::Relaxed);
        }
    }

    #[inline]
    pub(crate) fn record_unsampled(&self) -> bool {
        self.record_unsampled.load(Ordering::Relaxed)
    }

    /// Head decision for a trace that starts here (see `Sampler::root_bound`).
    #[inline]
    pub(crate) fn sample_root(&self, trace_id: u128) -> bool {
        ((trace_id as u64) >> 1) < self.root_bound.load(Ordering::Relaxed)
    }

    /// Head decision for a span whose parent is remote.
    #[inline]
    pub(crate) fn sample_remote_child(&self, trace_id: u128, parent_sampled: bool) -> bool {
        if self.follow_remote.load(Ordering::Relaxed) {
            parent_sampled
        } else {
            self.sample_root(trace_id)
        }
    }

    pub(crate) fn configure(&self, sampler: &Sampler, tail: &TailSampling) {
        self.root_bound
            .store(sampler.root_bound(), Ordering::Relaxed);
        self.follow_remote.store(
            matches!(sampler, Sampler::ParentBased(_)),
            Ordering::Relaxed,
        );
        self.record_unsampled
            .store(tail.records_unsampled(), Ordering::Relaxed);
        self.set_slow(SLOW_RECORD_UNSAMPLED, tail.records_unsampled());
    }

    /// Where message content goes; one relaxed load.
    #[inline]
    pub(crate) fn capture(&self) -> CaptureMode {
        CaptureMode::from_u8(self.capture.load(Ordering::Relaxed))
    }

    pub(crate) fn set_capture(&self, mode: CaptureMode) {
        self.capture.store(mode.to_u8(), Ordering::Relaxed);
    }

    /// Whether finished spans are dropped on their thread (see the field).
    #[inline]
    pub(crate) fn queue_full(&self) -> bool {
        self.queue_full.load(Ordering::Relaxed)
    }

    /// Sets [`queue_full`](Self::queue_full); a write only when it changes, so the line the
    /// application threads read stays shared.
    #[inline]
    pub(crate) fn set_queue_full(&self, full: bool) {
        if self.queue_full.load(Ordering::Relaxed) != full {
            self.queue_full.store(full, Ordering::Relaxed);
        }
    }

    /// Whether every macro span measures its resources (`span_resources`).
    #[inline]
    pub(crate) fn span_resources(&self) -> bool {
        self.span_resources.load(Ordering::Relaxed)
    }

    pub(crate) fn set_span_resources(&self, on: bool) {
        self.span_resources.store(on, Ordering::Relaxed);
    }

    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
        self.set_slow(SLOW_DISABLED, !on);
    }
}

/// The span limits (see `span/limits.rs`), read only when an attribute, event or link is
/// added; set at install.
#[derive(Debug)]
pub(crate) struct Limits {
    value_length: AtomicUsize,
    attribute_count: AtomicUsize,
    event_count: AtomicUsize,
    link_count: AtomicUsize,
}

/// Defaults: 1 MiB values (a long prompt fits; a single value cannot fill a 4 MiB export
/// request), and the OpenTelemetry SDK's 128 attributes, events and links.
pub(crate) const VALUE_LENGTH_DEFAULT: usize = 1 << 20;
pub(crate) const COUNT_DEFAULT: usize = 128;

static LIMITS: Limits = Limits {
    value_length: AtomicUsize::new(VALUE_LENGTH_DEFAULT),
    attribute_count: AtomicUsize::new(COUNT_DEFAULT),
    event_count: AtomicUsize::new(COUNT_DEFAULT),
    link_count: AtomicUsize::new(COUNT_DEFAULT),
};

#[inline]
pub(crate) fn limits() -> &'static Limits {
    &LIMITS
}

impl Limits {
    #[inline]
    pub(crate) fn value_length(&self) -> usize {
        self.value_length.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn attribute_count(&self) -> usize {
        self.attribute_count.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn event_count(&self) -> usize {
        self.event_count.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn link_count(&self) -> usize {
        self.link_count.load(Ordering::Relaxed)
    }

    /// Installs the limits: value length in bytes, then the attribute, event and link counts.
    pub(crate) fn set(&self, value_length: usize, attributes: usize, events: usize, links: usize) {
        self.value_length.store(value_length, Ordering::Relaxed);
        self.attribute_count.store(attributes, Ordering::Relaxed);
        self.event_count.store(events, Ordering::Relaxed);
        self.link_count.store(links, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_keeps_the_expected_share_of_ids() {
        let hot = Hot {
            enabled: AtomicBool::new(true),
            record_unsampled: AtomicBool::new(false),
            follow_remote: AtomicBool::new(false),
            inherit_otel: AtomicBool::new(false),
            root_bound: AtomicU64::new(0),
            capture: AtomicU8::new(0),
            queue_full: AtomicBool::new(false),
            span_resources: AtomicBool::new(false),
            slow: AtomicU8::new(0),
        };
        for (sampler, expected) in [
            (Sampler::AlwaysOn, 1.0),
            (Sampler::AlwaysOff, 0.0),
            (Sampler::TraceIdRatio(0.25), 0.25),
            (Sampler::parent_based(Sampler::TraceIdRatio(0.5)), 0.5),
        ] {
            hot.configure(&sampler, &TailSampling::default());
            let mut x: u128 = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321;
            let mut kept = 0;
            for _ in 0..100_000 {
                x = x
                    .wrapping_mul(0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645)
                    .wrapping_add(0x5851_f42d_4c95_7f2d_1405_7b7e_f767_814f);
                kept += usize::from(hot.sample_root(x));
            }
            let share = kept as f64 / 100_000.0;
            assert!((share - expected).abs() < 0.01, "{sampler:?}: {share}");
        }
        hot.configure(
            &Sampler::parent_based(Sampler::AlwaysOff),
            &TailSampling::default(),
        );
        assert!(hot.sample_remote_child(1, true));
        assert!(!hot.sample_remote_child(1, false));
    }

    /// The quick path's byte follows every flag it stands for, each reason on its own.
    #[test]
    fn the_slow_reasons_follow_their_flags() {
        let hot = Hot {
            enabled: AtomicBool::new(false),
            record_unsampled: AtomicBool::new(false),
            follow_remote: AtomicBool::new(false),
            inherit_otel: AtomicBool::new(false),
            root_bound: AtomicU64::new(u64::MAX),
            capture: AtomicU8::new(0),
            queue_full: AtomicBool::new(false),
            span_resources: AtomicBool::new(false),
            slow: AtomicU8::new(SLOW_DISABLED),
        };
        hot.set_enabled(true);
        assert_eq!(hot.slow(), 0, "enabled, nothing else: quick");
        hot.configure(
            &Sampler::AlwaysOn,
            &TailSampling::default().keep_errors(true),
        );
        assert!(hot.record_unsampled());
        assert_eq!(hot.slow(), SLOW_RECORD_UNSAMPLED);
        hot.set_inherit_otel(true);
        hot.set_slow(SLOW_LABEL_CPU, true);
        hot.set_slow(SLOW_LABEL_HEAP, true);
        assert_eq!(
            hot.slow(),
            SLOW_RECORD_UNSAMPLED | SLOW_INHERIT_OTEL | SLOW_LABEL_CPU | SLOW_LABEL_HEAP
        );
        hot.configure(&Sampler::AlwaysOn, &TailSampling::default());
        hot.set_slow(SLOW_LABEL_CPU, false);
        assert_eq!(hot.slow(), SLOW_INHERIT_OTEL | SLOW_LABEL_HEAP);
        hot.set_enabled(false);
        assert_ne!(hot.slow() & SLOW_DISABLED, 0, "disabled: no span at all");
        hot.set_inherit_otel(false);
        hot.set_slow(SLOW_LABEL_HEAP, false);
        assert_eq!(hot.slow(), SLOW_DISABLED);
        hot.set_enabled(true);
        assert_eq!(hot.slow(), 0);
    }
}
