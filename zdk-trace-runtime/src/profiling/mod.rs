//! Profiles (feature `profiling`): CPU profiles whose samples carry the span that was being
//! polled when they were taken, heap profiles, memory statistics, and their export (files,
//! Pyroscope).
//!
//! The sampler itself (the SIGPROF handler, the per-thread label slot it reads) is the leaf
//! `sampler/`; this stage drains its samples, builds pprof profiles and exports them.

#[cfg(target_os = "linux")]
pub(crate) mod cpu;
pub(crate) mod export;
#[cfg(target_os = "linux")]
mod heap;
mod report;

mod memory;
pub(crate) mod stage;

pub use memory::MemoryStats;
pub use report::{FunctionCost, Profile, ProfileError};
pub use stage::StageError;

/// The CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`: a system call
/// on Linux, as `resource.cpu.micros` reads it); `None` where the clock is not available.
///
/// # Examples
///
/// ```
/// let before = zdk_trace_runtime::profiling::thread_cpu_time();
/// # #[cfg(target_os = "linux")]
/// assert!(before.is_some());
/// ```
pub fn thread_cpu_time() -> Option<std::time::Duration> {
    match crate::resources::thread_cpu_nanos() {
        0 => None,
        nanos => Some(std::time::Duration::from_nanos(nanos)),
    }
}

/// What went wrong taking a CPU profile ([`Telemetry::profile_cpu`](crate::Telemetry::profile_cpu)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfilingError {
    /// The sampler could not start (another profiler holds SIGPROF, or a system call failed).
    #[error("the CPU sampler could not start: {0}")]
    Sampler(String),
    /// The profiler thread could not be started.
    #[error("cannot start the profiler thread")]
    Thread(#[source] std::io::Error),
    /// The profiler stopped before the profile was complete (the process is shutting down).
    #[error("the profiler stopped before the profile was complete")]
    Stopped,
    /// CPU profiles are taken on Linux only (the SIGPROF sampler).
    #[error("CPU profiles are supported on Linux only")]
    Unsupported,
    /// No heap profile: allocations are not being sampled.
    #[error(
        "allocations are not being sampled: set [telemetry.profiling] enabled = true and \
         [telemetry.profiling.memory] enabled = true, track_allocations = true (and \
         heap_profiling = true for in-use space), and install zdk_trace_runtime::CountingAllocator \
         as the #[global_allocator]"
    )]
    HeapOff,
}

/// A CPU profile being taken, from [`Telemetry::start_cpu_profile`](crate::Telemetry::start_cpu_profile)
/// until [`stop`](Self::stop). Dropping it without `stop` discards the profile.
#[derive(Debug)]
pub struct CpuProfileGuard {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    id: u64,
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    rx: std::sync::mpsc::Receiver<Profile>,
}

impl CpuProfileGuard {
    /// Stops the profile and returns it (waits up to one drain, ~50 ms).
    ///
    /// # Errors
    ///
    /// [`ProfilingError::Stopped`] if the profiler thread is gone.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = zdk_trace_runtime::Telemetry::builder().install()?;
    /// let guard = telemetry.start_cpu_profile()?;
    /// // ... the work to profile ...
    /// let profile = guard.stop()?;
    /// std::fs::write("run.svg", profile.flamegraph_svg()?)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn stop(self) -> Result<Profile, ProfilingError> {
        #[cfg(target_os = "linux")]
        {
            cpu::finish(self.id, &self.rx)
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(ProfilingError::Unsupported)
        }
    }
}

impl Drop for CpuProfileGuard {
    fn drop(&mut self) {
        // A guard not stopped: its window is closed (the profile is dropped by the channel).
        #[cfg(target_os = "linux")]
        cpu::discard(self.id);
    }
}
