//! The few switches the hot path reads on every span, on one cache line.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
    /// Root traces are kept when `(trace_id as u64) >> 1 < root_bound`; `u64::MAX` keeps all.
    root_bound: AtomicU64,
}

static HOT: Hot = Hot {
    enabled: AtomicBool::new(false),
    record_unsampled: AtomicBool::new(false),
    follow_remote: AtomicBool::new(false),
    root_bound: AtomicU64::new(u64::MAX),
};

#[inline]
pub(crate) fn hot() -> &'static Hot {
    &HOT
}

fn bound_of(sampler: &Sampler) -> u64 {
    match sampler {
        Sampler::AlwaysOn => u64::MAX,
        Sampler::AlwaysOff => 0,
        Sampler::TraceIdRatio(ratio) => {
            if ratio.is_nan() || *ratio <= 0.0 {
                0
            } else if *ratio >= 1.0 {
                u64::MAX
            } else {
                (*ratio * (1u64 << 63) as f64) as u64
            }
        }
        Sampler::ParentBased(root) => bound_of(root),
    }
}

impl Hot {
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn record_unsampled(&self) -> bool {
        self.record_unsampled.load(Ordering::Relaxed)
    }

    /// Head decision for a trace that starts here. Agrees with `Sampler::should_sample`.
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
        self.root_bound.store(bound_of(sampler), Ordering::Relaxed);
        self.follow_remote
            .store(matches!(sampler, Sampler::ParentBased(_)), Ordering::Relaxed);
        self.record_unsampled
            .store(tail.records_unsampled(), Ordering::Relaxed);
    }

    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_sampler() {
        let hot = Hot {
            enabled: AtomicBool::new(true),
            record_unsampled: AtomicBool::new(false),
            follow_remote: AtomicBool::new(false),
            root_bound: AtomicU64::new(0),
        };
        for sampler in [
            Sampler::AlwaysOn,
            Sampler::AlwaysOff,
            Sampler::TraceIdRatio(0.25),
            Sampler::TraceIdRatio(0.9),
            Sampler::parent_based(Sampler::TraceIdRatio(0.5)),
        ] {
            hot.configure(&sampler, &TailSampling::default());
            let mut x: u128 = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321;
            for _ in 0..10_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                assert_eq!(hot.sample_root(x), sampler.should_sample(x, None), "{sampler:?}");
            }
        }
    }
}
