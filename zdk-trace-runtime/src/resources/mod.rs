//! What a span used while it ran: busy time, thread CPU time and allocations, summed over
//! every poll (or the one entry) of the span, on whichever thread it ran; and the counting
//! allocator those allocations come from.
//!
//! A leaf: the span's poll and guard paths call [`Usage::resume`]/[`Usage::pause`], the
//! profiling stage reads the allocator's totals.

pub(crate) mod alloc;

use crate::clock;

pub use alloc::CountingAllocator;

/// The resources a measured span has used so far, and the open measurement if it is entered.
///
/// Busy time alone (`profile = "busy"`, no `CountingAllocator`) is the common case and the one
/// with a cost target (≤ 10 ns per poll): its open measurement is one raw clock reading kept
/// inline (`entry`), so a poll costs two clock reads, two compares and one add. The thread CPU
/// clock and the allocation counters, when read, live in `counters`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Usage {
    /// The raw clock at the open poll's entry; 0 when no poll is open (a TSC or monotonic
    /// reading is never 0 once the machine has run for a moment).
    entry: u64,
    busy_ticks: u64,
    /// Whether the thread CPU clock is read (a system call per read on Linux).
    cpu: bool,
    cpu_nanos: u64,
    alloc_bytes: u64,
    alloc_count: u64,
    /// Bytes allocated minus bytes freed while the span ran, so far.
    net: i64,
    /// The highest `net` reached.
    peak: i64,
    /// What the CPU clock and allocation counters read at the open poll's entry, if read.
    counters: Option<Open>,
}

/// A measurement in progress: what the thread's CPU clock and counters read at the entry.
#[derive(Debug, Clone, Copy)]
struct Open {
    cpu_nanos: u64,
    /// Whether the allocation counters were read (a `CountingAllocator` was installed).
    alloc_read: bool,
    alloc: alloc::ThreadSnapshot,
    saved_high: i64,
}

/// What a span used, as its attributes report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) busy_nanos: u64,
    /// `None` unless the thread CPU clock was read.
    pub(crate) cpu_nanos: Option<u64>,
    /// `None` unless a [`CountingAllocator`] is installed.
    pub(crate) alloc: Option<AllocTotals>,
}

/// Allocations made while a span ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AllocTotals {
    pub(crate) bytes: u64,
    pub(crate) count: u64,
    /// The peak of the live bytes the span added (allocated minus freed while it ran).
    pub(crate) peak: u64,
}

impl Usage {
    /// A measurement that also reads the thread CPU clock when `cpu`.
    pub(crate) fn new(cpu: bool) -> Usage {
        Usage {
            cpu,
            ..Usage::default()
        }
    }

    /// The span is entered (a poll starts) on this thread.
    #[inline]
    pub(crate) fn resume(&mut self) {
        if self.entry != 0 {
            return;
        }
        // `max(1)`: 0 means "not open". Read first, as the exit reads it first: the busy
        // window and the CPU clock's are equally offset.
        self.entry = clock::now_raw().max(1);
        if self.cpu || alloc::is_installed() {
            self.resume_counters();
        }
    }

    /// The CPU clock and allocation counters at a poll's entry (off the busy-only path).
    #[inline(never)]
    fn resume_counters(&mut self) {
        // Without the counting allocator there is nothing to read.
        let alloc_read = alloc::is_installed();
        let (alloc, saved_high) = if alloc_read {
            alloc::thread_enter()
        } else {
            Default::default()
        };
        self.counters = Some(Open {
            cpu_nanos: if self.cpu { thread_cpu_nanos() } else { 0 },
            alloc_read,
            alloc,
            saved_high,
        });
    }

    /// The span is left (the poll returns) on the thread that resumed it. Returns the clock
    /// reading that closed the poll (0 if none was open), which a span that ends right after
    /// uses as its end time rather than reading the clock again.
    #[inline]
    pub(crate) fn pause(&mut self) -> u64 {
        if self.entry == 0 {
            return 0;
        }
        self.pause_at(clock::now_raw())
    }

    /// [`pause`](Self::pause) with the clock already read (`now`, from [`clock::now_raw`]) by
    /// the poll, before it left the span's frame. Returns `now`.
    #[inline]
    pub(crate) fn pause_at(&mut self, now: u64) -> u64 {
        if self.entry == 0 {
            return 0;
        }
        self.busy_ticks += now.saturating_sub(self.entry);
        self.entry = 0;
        if let Some(open) = self.counters.take() {
            self.pause_counters(open);
        }
        now
    }

    /// The CPU clock and allocation counters at a poll's exit (off the busy-only path).
    #[inline(never)]
    fn pause_counters(&mut self, open: Open) {
        if self.cpu {
            self.cpu_nanos += thread_cpu_nanos().saturating_sub(open.cpu_nanos);
        }
        if !open.alloc_read {
            return;
        }
        let (now, high) = alloc::thread_exit();
        alloc::restore_high(open.saved_high);
        self.alloc_bytes += now.allocated.wrapping_sub(open.alloc.allocated);
        self.alloc_count += now.count.wrapping_sub(open.alloc.count);
        let live0 = open.alloc.live();
        self.peak = self.peak.max(self.net + (high - live0));
        self.net += now.live() - live0;
    }

    /// What was used, the open measurement (if any) closed first; and the clock reading that
    /// closed it (0 if none was open).
    pub(crate) fn totals(&mut self) -> (Totals, u64) {
        let closed_at = self.pause();
        let totals = Totals {
            busy_nanos: clock::nanos_of_ticks(self.busy_ticks),
            cpu_nanos: self.cpu.then_some(self.cpu_nanos),
            alloc: alloc::is_installed().then_some(AllocTotals {
                bytes: self.alloc_bytes,
                count: self.alloc_count,
                peak: self.peak.max(0) as u64,
            }),
        };
        (totals, closed_at)
    }
}

/// The CPU time the calling thread has used, in nanoseconds (0 where it cannot be read).
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// The CPU time the calling thread has used (not available on this platform: 0).
#[cfg(not(target_os = "linux"))]
#[inline]
pub(crate) fn thread_cpu_nanos() -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reading_that_closes_a_poll_is_returned_for_the_end_time() {
        let mut usage = Usage::new(false);
        assert_eq!(usage.pause(), 0, "nothing open");
        usage.resume();
        let before = clock::now_raw();
        let closed_at = usage.pause();
        assert!(closed_at >= before, "{closed_at} < {before}");
        // Resumed, the span ends inside the poll: `totals` closes it with one reading.
        usage.resume();
        let (totals, closed_at) = usage.totals();
        assert!(closed_at >= before, "{closed_at} < {before}");
        assert_eq!(totals.cpu_nanos, None);
        assert_eq!(usage.totals().1, 0, "closed once");
    }

    #[test]
    fn busy_and_cpu_time_sum_over_resumes() {
        let mut usage = Usage::new(true);
        let thread_start = thread_cpu_nanos();
        for _ in 0..3 {
            usage.resume();
            // 5 ms of this thread's CPU (not of the wall clock: the machine may be busy).
            let start = thread_cpu_nanos();
            while thread_cpu_nanos() < start + 5_000_000 {
                std::hint::black_box(0u64);
            }
            usage.pause();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let (totals, _) = usage.totals();
        let thread_total = thread_cpu_nanos() - thread_start;
        let cpu = totals.cpu_nanos.unwrap_or(0);
        // At least the three spins; at most what the thread used over the whole test (a
        // window counted twice would pass it). Not a fixed ceiling: on a VM, time the
        // hypervisor takes the core away mid-spin counts as the thread's CPU, and a spin
        // meant to last 5 ms lasted 8 in CI.
        assert!(cpu >= 15_000_000, "{totals:?}");
        assert!(
            cpu <= thread_total,
            "{totals:?}, the thread used {thread_total} ns"
        );
        // Busy time is at least the CPU time, and excludes the sleeps between resumes.
        assert!(totals.busy_nanos >= cpu * 95 / 100, "{totals:?}");
        assert!(totals.busy_nanos < cpu + 200_000_000, "{totals:?}");
    }
}
