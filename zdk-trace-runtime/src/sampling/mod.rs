//! Head sampling (decided when a trace starts) and tail sampling (decided per whole trace when
//! its local root ends).
//!
//! Head sampling is free for the spans it drops: a sampled-out span records nothing. Tail rules
//! are not free: to judge a trace by its outcome (an error, its duration) every span of every
//! trace must be recorded and held until the local root ends, and only then is the trace kept
//! or dropped. With tail rules on, a trace dropped by the head sampler costs as much on the
//! calling thread as a kept one; the saving is in export (bytes, backend storage) only.
//!
//! This module holds the settings only ([`Sampler`], [`TailSampling`]); the head decision is
//! made by `hot`, and the tail sampler itself runs on the collector (`pipeline/tail.rs`).

use std::time::Duration;

/// How a new trace is chosen for recording when it starts (head sampling).
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::Sampler;
///
/// // Follow the caller's decision when there is one, else keep 10% of new traces.
/// let sampler = Sampler::parent_based(Sampler::TraceIdRatio(0.1));
/// assert_eq!(sampler, Sampler::ParentBased(Box::new(Sampler::TraceIdRatio(0.1))));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Sampler {
    /// Keep every trace (`always_on`; the default).
    #[default]
    AlwaysOn,
    /// Keep no trace (`always_off`), unless a tail rule keeps it.
    AlwaysOff,
    /// Keep this fraction of traces, chosen from the trace id so every service that sees the
    /// same trace id makes the same choice (`probability`, `traceidratio`). From 0 to 1: a
    /// ratio outside (or NaN) makes [`install`](crate::TelemetryBuilder::install) fail with
    /// [`ConfigError::Invalid`](crate::ConfigError::Invalid) naming `Config::with_sampler`.
    TraceIdRatio(f64),
    /// Follow the parent's decision (local or remote, as `traceparent`'s sampled flag carries
    /// it); for a trace that starts here, ask the inner sampler (`parent_based`).
    ParentBased(Box<Sampler>),
}

impl Sampler {
    /// [`Sampler::ParentBased`] around `root`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::Sampler;
    /// let s = Sampler::parent_based(Sampler::AlwaysOn);
    /// assert!(matches!(s, Sampler::ParentBased(_)));
    /// ```
    pub fn parent_based(root: Sampler) -> Sampler {
        Sampler::ParentBased(Box::new(root))
    }

    /// The bound of the trace-id ratio test for traces that start here: a trace is kept when
    /// the low 63 bits of its id (`(id as u64) >> 1`) are below it. This is the rule of the
    /// OpenTelemetry SDKs, so services sampling the same trace id agree. `u64::MAX` keeps all.
    pub(crate) fn root_bound(&self) -> u64 {
        match self {
            Sampler::AlwaysOn => u64::MAX,
            Sampler::AlwaysOff => 0,
            Sampler::TraceIdRatio(ratio) if ratio.is_nan() || *ratio <= 0.0 => 0,
            Sampler::TraceIdRatio(ratio) if *ratio >= 1.0 => u64::MAX,
            Sampler::TraceIdRatio(ratio) => (*ratio * (1u64 << 63) as f64) as u64,
            Sampler::ParentBased(root) => root.root_bound(),
        }
    }
}

/// Rules applied per whole trace when its local root ends. Any rule on means every span is
/// recorded (see the module docs for what that costs).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zdk_trace_runtime::TailSampling;
///
/// // 10% head sampling is set elsewhere; on top of it keep every error and every slow trace.
/// let tail = TailSampling::default()
///     .keep_errors(true)
///     .keep_slower_than(Duration::from_secs(5));
/// assert!(tail.is_active());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TailSampling {
    /// Keep every trace in which any span has status error (`always_sample_errors`).
    pub keep_errors: bool,
    /// Keep every trace whose local root lasted at least this long (`always_sample_slow_seconds`):
    /// at most one day.
    pub slow_threshold: Option<Duration>,
    /// Keep at most this many traces per second for each root span name
    /// (`max_traces_per_second`). Applies to traces kept by the head sampler; traces kept for an
    /// error or for being slow are never rate limited. From 0.001 to 1 000 000, finite.
    pub max_traces_per_second: Option<f64>,
}

impl TailSampling {
    /// Keep (or stop keeping) every trace that contains an error.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = zdk_trace_runtime::TailSampling::default().keep_errors(true);
    /// assert!(t.keep_errors);
    /// ```
    pub fn keep_errors(mut self, keep: bool) -> Self {
        self.keep_errors = keep;
        self
    }

    /// Keep every trace whose local root lasted at least `threshold`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = zdk_trace_runtime::TailSampling::default().keep_slower_than(Duration::from_millis(500));
    /// assert_eq!(t.slow_threshold, Some(Duration::from_millis(500)));
    /// ```
    pub fn keep_slower_than(mut self, threshold: Duration) -> Self {
        self.slow_threshold = Some(threshold);
        self
    }

    /// Keep at most `per_second` traces per second for each root span name.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = zdk_trace_runtime::TailSampling::default().max_traces_per_second(100.0);
    /// assert_eq!(t.max_traces_per_second, Some(100.0));
    /// ```
    pub fn max_traces_per_second(mut self, per_second: f64) -> Self {
        self.max_traces_per_second = Some(per_second);
        self
    }

    /// Whether any rule is on, so that head-dropped traces must still be recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!zdk_trace_runtime::TailSampling::default().is_active());
    /// ```
    pub fn is_active(&self) -> bool {
        self.keep_errors || self.slow_threshold.is_some() || self.max_traces_per_second.is_some()
    }

    /// Whether head-dropped traces must be recorded to be judged.
    pub(crate) fn records_unsampled(&self) -> bool {
        self.keep_errors || self.slow_threshold.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_bounds() {
        assert_eq!(Sampler::AlwaysOff.root_bound(), 0);
        assert_eq!(Sampler::TraceIdRatio(f64::NAN).root_bound(), 0);
        assert_eq!(Sampler::TraceIdRatio(1.5).root_bound(), u64::MAX);
        assert_eq!(Sampler::TraceIdRatio(0.5).root_bound(), 1 << 62);
        assert_eq!(
            Sampler::parent_based(Sampler::AlwaysOn).root_bound(),
            u64::MAX
        );
    }
}
