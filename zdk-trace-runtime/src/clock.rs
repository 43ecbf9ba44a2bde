//! The span clock: raw TSC ticks on the calling thread, converted to wall time off-thread.
//!
//! Reading `SystemTime` or `Instant` costs a vDSO call (~25 ns); a raw TSC read costs ~10 ns.
//! Spans store raw ticks and the background thread converts them with one anchor pair
//! (raw tick, wall time) taken when the clock is first used.

use std::time::{Duration, Instant, SystemTime};

use once_cell::sync::Lazy;

struct Anchored {
    clock: quanta::Clock,
    raw0: u64,
    wall0: SystemTime,
    /// `wall0` in nanoseconds since the Unix epoch.
    wall0_nanos: u64,
    /// Nanoseconds in 2^[`SCALE_SHIFT`] raw ticks, from quanta's calibration: timestamps
    /// convert with one multiply and a shift (see [`Anchored::nanos_since_anchor`]).
    scale: u64,
}

/// See [`Anchored::scale`]: 2^40 ticks are minutes of TSC ticks, so the rounding of `scale`
/// to whole nanoseconds moves a timestamp by under a nanosecond every few minutes.
const SCALE_SHIFT: u32 = 40;

impl Anchored {
    /// Nanoseconds from the anchor to `raw` (0 for a reading before it: another core's
    /// counter a few ticks behind). Every timestamp a span exports goes through this, by
    /// either path ([`to_system_time`], [`to_unix_nanos`]), so both write the same nanosecond.
    #[inline(always)]
    fn nanos_since_anchor(&self, raw: u64) -> u64 {
        let ticks = raw.saturating_sub(self.raw0);
        ((u128::from(ticks) * u128::from(self.scale)) >> SCALE_SHIFT) as u64
    }
}

/// Whether [`now_raw`] reads the TSC itself: set once, when the clock is calibrated, if
/// quanta's raw source is the TSC (then both read the same counter, in the same ticks).
///
/// Why not always through quanta: its `Clock::raw()` is an out-of-line call behind the
/// `Lazy` check and a match on the clock source; busy time reads the clock twice per poll.
#[cfg(target_arch = "x86_64")]
static DIRECT_TSC: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `clock.raw()` is the TSC: each of a few of its readings falls between two TSC
/// reads taken around it (a monotonic-clock fallback counts nanoseconds since boot, which
/// never lands in a window of a few hundred ticks).
#[cfg(target_arch = "x86_64")]
fn raw_is_tsc(clock: &quanta::Clock) -> bool {
    (0..3).all(|_| {
        // SAFETY: `rdtsc` has no preconditions on x86_64 (quanta reads the same instruction).
        let before = unsafe { core::arch::x86_64::_rdtsc() };
        let raw = clock.raw();
        // SAFETY: as above.
        let after = unsafe { core::arch::x86_64::_rdtsc() };
        before <= raw && raw <= after
    })
}

static CLOCK: Lazy<Anchored> = Lazy::new(|| {
    let clock = quanta::Clock::new();
    #[cfg(target_arch = "x86_64")]
    if raw_is_tsc(&clock) {
        DIRECT_TSC.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let raw0 = clock.raw();
    let wall0 = SystemTime::now();
    let scale = clock.delta_as_nanos(0, 1 << SCALE_SHIFT);
    Anchored {
        clock,
        raw0,
        wall0,
        scale,
        wall0_nanos: wall0
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    }
});

/// Calibrates the clock ahead of the first span (it takes a few milliseconds once).
pub(crate) fn init() {
    Lazy::force(&CLOCK);
}

/// A raw timestamp: cheap, monotonic, meaningless until converted. With the TSC as the
/// source, one relaxed load and an inlined `rdtsc`.
#[inline(always)]
pub(crate) fn now_raw() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if DIRECT_TSC.load(std::sync::atomic::Ordering::Relaxed) {
        // SAFETY: `rdtsc` has no preconditions on x86_64; the flag says quanta's raw source
        // is this counter, so readings agree with `CLOCK.clock.raw()` and convert alike.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    now_raw_quanta()
}

/// [`now_raw`] through quanta: before calibration (which it triggers) or off the TSC.
#[inline(never)]
fn now_raw_quanta() -> u64 {
    CLOCK.clock.raw()
}

/// Wall time of a raw timestamp.
pub(crate) fn to_system_time(raw: u64) -> SystemTime {
    let c = &*CLOCK;
    c.wall0 + Duration::from_nanos(c.nanos_since_anchor(raw))
}

/// Nanoseconds since the Unix epoch of a raw timestamp: [`to_system_time`] as OTLP writes it,
/// without building a `SystemTime`.
#[inline]
pub(crate) fn to_unix_nanos(raw: u64) -> u64 {
    let c = &*CLOCK;
    c.wall0_nanos + c.nanos_since_anchor(raw)
}

/// Nanoseconds between two raw timestamps (0 if `end` is not after `start`).
pub(crate) fn delta_nanos(start: u64, end: u64) -> u64 {
    CLOCK.clock.delta_as_nanos(start, end)
}

/// Nanoseconds of `ticks` raw ticks (a duration, not a timestamp).
pub(crate) fn nanos_of_ticks(ticks: u64) -> u64 {
    CLOCK.clock.delta_as_nanos(0, ticks)
}

/// Raw ticks of `nanos` nanoseconds (a duration), rounded down: bucket bounds of the
/// duration histograms, so that a call's duration is bucketed without converting it.
pub(crate) fn ticks_of_nanos(nanos: f64) -> u64 {
    static TICKS_PER_NANO: Lazy<f64> = Lazy::new(|| {
        let probe = 1u64 << 40;
        probe as f64 / (nanos_of_ticks(probe).max(1) as f64)
    });
    (nanos * *TICKS_PER_NANO) as u64
}

/// `timeout` from now, for a deadline a caller gave: a timeout too large to add (say
/// `Duration::MAX`, "wait as long as it takes") is a deadline a century away, not a panic.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_converts_to_wall_time_near_now() {
        let raw = now_raw();
        let wall = to_system_time(raw);
        let now = SystemTime::now();
        let diff = now.duration_since(wall).unwrap_or_else(|e| e.duration());
        assert!(diff < Duration::from_millis(50), "clock drift {diff:?}");
        std::thread::sleep(Duration::from_millis(20));
        let later = now_raw();
        let d = delta_nanos(raw, later);
        assert!((19_000_000..500_000_000).contains(&d), "delta {d}");
    }

    #[test]
    fn timestamps_convert_as_quanta_does_and_alike_on_both_paths() {
        let c = &*CLOCK;
        // From a microsecond to a day of ticks past the anchor, and one before it.
        let ticks_per_sec = (1u64 << 40) as f64 / c.scale.max(1) as f64 * 1e9;
        for secs in [1e-6, 1e-3, 1.0, 60.0, 3600.0, 86_400.0] {
            let raw = c.raw0 + (secs * ticks_per_sec) as u64;
            let ours = c.nanos_since_anchor(raw);
            let quanta = c.clock.delta_as_nanos(c.raw0, raw);
            // Under a nanosecond every minute of difference, plus the rounding of each.
            let allowed = 2 + (secs / 60.0) as u64;
            assert!(
                ours.abs_diff(quanta) <= allowed,
                "{secs} s: {ours} vs {quanta}"
            );
            let wall = to_system_time(raw)
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            assert_eq!(to_unix_nanos(raw), wall, "{secs} s");
        }
        assert_eq!(c.nanos_since_anchor(c.raw0.saturating_sub(5)), 0);
    }

    #[test]
    fn direct_reads_agree_with_quanta() {
        init();
        let a = now_raw();
        let q = CLOCK.clock.raw();
        let b = now_raw();
        assert!(a <= q && q <= b, "{a} {q} {b}");
    }
}
