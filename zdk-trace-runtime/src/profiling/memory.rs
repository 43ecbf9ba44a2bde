//! [`MemoryStats`]: what the process's memory looks like now, from the counting allocator
//! (when installed) and `/proc`.

use crate::resources::alloc;

/// The process's memory now ([`Telemetry::memory_stats`](crate::Telemetry::memory_stats)):
/// the design documents' `MemoryStats` (from the [`CountingAllocator`](crate::CountingAllocator),
/// `None` when it is not installed) and `SystemMemoryInfo` (from `/proc/self/statm`, Linux).
///
/// # Examples
///
/// ```
/// let stats = zdk_trace_runtime::profiling::MemoryStats::now();
/// // Without `#[global_allocator] static _: CountingAllocator = ...;`, the allocator's
/// // figures are unknown; the operating system's are known on Linux.
/// assert!(stats.allocated_bytes.is_none());
/// # #[cfg(target_os = "linux")]
/// assert!(stats.rss_bytes.unwrap_or(0) > 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryStats {
    /// Bytes allocated since the start (the counting allocator's total).
    pub allocated_bytes: Option<u64>,
    /// Bytes allocated and not yet freed.
    pub current_bytes: Option<u64>,
    /// The highest `current_bytes` seen.
    pub peak_bytes: Option<u64>,
    /// Allocations since the start.
    pub allocations: Option<u64>,
    /// Resident set size (physical memory in use).
    pub rss_bytes: Option<u64>,
    /// Virtual memory size.
    pub virtual_bytes: Option<u64>,
}

impl MemoryStats {
    /// The figures now. The allocator's are exact to within 256 KiB per thread (threads
    /// add to the process totals in batches).
    pub fn now() -> MemoryStats {
        let mut stats = MemoryStats::default();
        if let Some(t) = alloc::totals() {
            stats.allocated_bytes = Some(t.allocated);
            stats.current_bytes = Some(t.allocated.saturating_sub(t.freed));
            stats.peak_bytes = Some(t.peak.max(t.allocated.saturating_sub(t.freed)));
            stats.allocations = Some(t.count);
        }
        if let Some((virt, rss)) = statm() {
            stats.virtual_bytes = Some(virt);
            stats.rss_bytes = Some(rss);
        }
        stats
    }
}

/// Virtual size and resident set size, in bytes, from `/proc/self/statm`.
#[cfg(target_os = "linux")]
fn statm() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut fields = text.split_whitespace();
    let size: u64 = fields.next()?.parse().ok()?;
    let resident: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = u64::try_from(page).ok().filter(|p| *p > 0)?;
    Some((size * page, resident * page))
}

#[cfg(not(target_os = "linux"))]
fn statm() -> Option<(u64, u64)> {
    None
}
