//! [`CountingAllocator`]: a global allocator that wraps another and counts, per thread, the
//! bytes and allocations made and freed, so that a span can say what it allocated while it
//! ran, and `memory_stats()` what the process holds.
//!
//! Per allocation it adds to a few thread-local cells (no atomic, no shared cache line); the
//! process-wide totals are flushed from those cells every 256 KiB or 1024 allocations, so they
//! are exact to within that much per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// A global allocator that counts what every thread allocates, for the spans' allocation
/// attributes (`resource.memory.bytes`, `resource.memory.allocations`,
/// `resource.memory.peak`) and [`Telemetry::memory_stats`](crate::Telemetry::memory_stats).
/// It wraps any other allocator (the system's by default).
///
/// It costs a few thread-local additions per allocation and per free.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::CountingAllocator;
///
/// #[global_allocator]
/// static ALLOCATOR: CountingAllocator = CountingAllocator::system();
///
/// # fn main() {
/// let v = vec![0u8; 4096];
/// # drop(v);
/// assert!(zdk_trace_runtime::CountingAllocator::is_installed());
/// # }
/// ```
#[derive(Debug, Default)]
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl CountingAllocator<System> {
    /// Counts the system allocator's allocations.
    ///
    /// # Examples
    ///
    /// ```
    /// #[global_allocator]
    /// static ALLOCATOR: zdk_trace_runtime::CountingAllocator =
    ///     zdk_trace_runtime::CountingAllocator::system();
    /// # fn main() {}
    /// ```
    pub const fn system() -> Self {
        CountingAllocator { inner: System }
    }

    /// Whether a `CountingAllocator` is the process's global allocator (it has counted an
    /// allocation).
    ///
    /// # Examples
    ///
    /// ```
    /// // Without `#[global_allocator] static _: CountingAllocator = ...;`:
    /// assert!(!zdk_trace_runtime::CountingAllocator::is_installed());
    /// ```
    pub fn is_installed() -> bool {
        is_installed()
    }
}

impl<A> CountingAllocator<A> {
    /// Counts the allocations of `inner` (jemalloc, mimalloc, …).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::alloc::System;
    /// #[global_allocator]
    /// static ALLOCATOR: zdk_trace_runtime::CountingAllocator<System> =
    ///     zdk_trace_runtime::CountingAllocator::new(System);
    /// # fn main() {}
    /// ```
    pub const fn new(inner: A) -> Self {
        CountingAllocator { inner }
    }
}

/// Set by the first counted allocation of each thread (so a thread that has counted one sees
/// it set without reading its own counters: one relaxed load on the busy-time path).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The first counted allocation of a thread: a `CountingAllocator` is installed.
#[cold]
#[inline(never)]
fn mark_installed() {
    INSTALLED.store(true, Ordering::Relaxed);
}

/// The heap profiler's hooks (installed by the sampler when allocations are tracked): called
/// for one allocation in [`SAMPLE_EVERY`], and for every free while [`TRACK_FREES`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeapHooks {
    pub(crate) on_alloc: fn(ptr: usize, size: usize),
    pub(crate) on_free: fn(ptr: usize),
}

static HOOKS: once_cell::sync::OnceCell<HeapHooks> = once_cell::sync::OnceCell::new();
/// One allocation in this many is handed to the hook; 0: none.
static SAMPLE_EVERY: AtomicU64 = AtomicU64::new(0);
/// Frees are handed to the hook (for in-use space).
static TRACK_FREES: AtomicBool = AtomicBool::new(false);

/// Installs the heap hooks (once per process) and turns sampling on (`every` > 0) or off.
#[cfg_attr(not(all(feature = "profiling", target_os = "linux")), allow(dead_code))]
pub(crate) fn set_heap_sampling(hooks: HeapHooks, every: u64, track_frees: bool) {
    let _ = HOOKS.set(hooks);
    TRACK_FREES.store(track_frees && every > 0, Ordering::Relaxed);
    SAMPLE_EVERY.store(every, Ordering::Relaxed);
}

/// Runs `f` with the heap hooks off on this thread: what the heap profiler allocates while
/// holding its own lock must not be sampled into it (a deadlock).
#[cfg_attr(not(all(feature = "profiling", target_os = "linux")), allow(dead_code))]
pub(crate) fn without_hooks<T>(f: impl FnOnce() -> T) -> T {
    let was = THREAD
        .try_with(|t| t.in_hook.replace(true))
        .unwrap_or(false);
    let out = f();
    let _ = THREAD.try_with(|t| t.in_hook.set(was));
    out
}

/// Process-wide totals, flushed from the threads' cells.
static TOTAL_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static TOTAL_FREED: AtomicU64 = AtomicU64::new(0);
static TOTAL_COUNT: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

/// Flush a thread's pending counts once it has this many bytes or allocations pending.
const FLUSH_BYTES: u64 = 256 * 1024;
const FLUSH_COUNT: u64 = 1024;

/// One thread's counters. Monotonic except `high`, the high-water mark of `allocated -
/// freed` that a measured span resets when it is entered.
struct ThreadAlloc {
    allocated: Cell<u64>,
    freed: Cell<u64>,
    count: Cell<u64>,
    high: Cell<i64>,
    /// Not yet flushed to the process-wide totals.
    pending_allocated: Cell<u64>,
    pending_freed: Cell<u64>,
    pending_count: Cell<u64>,
    /// Allocations left until the next one is sampled for the heap profile.
    countdown: Cell<u64>,
    /// Inside a heap hook: its own allocations are neither sampled nor hooked.
    in_hook: Cell<bool>,
}

thread_local! {
    // `const`, without `Drop`: no lazy initialisation and no destructor to register, so it can
    // be used from inside the allocator, on any thread, at any time.
    static THREAD: ThreadAlloc = const {
        ThreadAlloc {
            allocated: Cell::new(0),
            freed: Cell::new(0),
            count: Cell::new(0),
            high: Cell::new(0),
            pending_allocated: Cell::new(0),
            pending_freed: Cell::new(0),
            pending_count: Cell::new(0),
            countdown: Cell::new(0),
            in_hook: Cell::new(false),
        }
    };
}

impl ThreadAlloc {
    #[inline(always)]
    fn on_alloc(&self, size: u64) {
        let allocated = self.allocated.get().wrapping_add(size);
        self.allocated.set(allocated);
        let count = self.count.get();
        // A compare of a value already loaded: the first allocation of the thread only.
        if count == 0 {
            mark_installed();
        }
        self.count.set(count.wrapping_add(1));
        let live = allocated.wrapping_sub(self.freed.get()) as i64;
        if live > self.high.get() {
            self.high.set(live);
        }
        let pending = self.pending_allocated.get() + size;
        self.pending_allocated.set(pending);
        let pending_count = self.pending_count.get() + 1;
        self.pending_count.set(pending_count);
        if pending >= FLUSH_BYTES || pending_count >= FLUSH_COUNT {
            self.flush();
        }
    }

    #[inline(always)]
    fn on_free(&self, size: u64) {
        self.freed.set(self.freed.get().wrapping_add(size));
        let pending = self.pending_freed.get() + size;
        self.pending_freed.set(pending);
        if pending >= FLUSH_BYTES {
            self.flush();
        }
    }

    #[cold]
    #[inline(never)]
    fn flush(&self) {
        let allocated = self.pending_allocated.replace(0);
        let freed = self.pending_freed.replace(0);
        let count = self.pending_count.replace(0);
        let total_allocated = TOTAL_ALLOCATED.fetch_add(allocated, Ordering::Relaxed) + allocated;
        let total_freed = TOTAL_FREED.fetch_add(freed, Ordering::Relaxed) + freed;
        TOTAL_COUNT.fetch_add(count, Ordering::Relaxed);
        PEAK.fetch_max(
            total_allocated.wrapping_sub(total_freed) as i64,
            Ordering::Relaxed,
        );
    }
}

#[inline(always)]
fn counted_alloc(ptr: *mut u8, size: usize) {
    // `try_with` cannot fail for a `const` thread-local without `Drop`; ignoring it keeps the
    // allocator free of panics regardless.
    let _ = THREAD.try_with(|t| {
        t.on_alloc(size as u64);
        let every = SAMPLE_EVERY.load(Ordering::Relaxed);
        if every != 0 {
            t.maybe_sample(ptr as usize, size, every);
        }
    });
}

#[inline(always)]
fn counted_free(ptr: *mut u8, size: usize) {
    let _ = THREAD.try_with(|t| {
        t.on_free(size as u64);
        if TRACK_FREES.load(Ordering::Relaxed) {
            t.hook_free(ptr as usize);
        }
    });
}

impl ThreadAlloc {
    #[inline]
    fn maybe_sample(&self, ptr: usize, size: usize, every: u64) {
        // The hook's own allocations neither count towards the rate nor are sampled.
        if self.in_hook.get() {
            return;
        }
        let left = self.countdown.get();
        if left > 1 && left <= every {
            self.countdown.set(left - 1);
            return;
        }
        self.countdown.set(every);
        if let Some(hooks) = HOOKS.get() {
            self.in_hook.set(true);
            (hooks.on_alloc)(ptr, size);
            self.in_hook.set(false);
        }
    }

    #[cold]
    fn hook_free(&self, ptr: usize) {
        if self.in_hook.get() {
            return;
        }
        if let Some(hooks) = HOOKS.get() {
            self.in_hook.set(true);
            (hooks.on_free)(ptr);
            self.in_hook.set(false);
        }
    }
}

// SAFETY: every method forwards to `inner` with the caller's arguments unchanged and returns
// its result; the counting only touches thread-local cells and atomics (it never allocates),
// so the `GlobalAlloc` contract is `inner`'s.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            counted_alloc(ptr, layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            counted_alloc(ptr, layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        counted_free(ptr, layout.size());
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // A reallocation counts as one allocation of the new size and a free of the old.
            counted_free(ptr, layout.size());
            counted_alloc(new, new_size);
        }
        new
    }
}

/// Whether a `CountingAllocator` counts this process's allocations: one relaxed load, inlined
/// (it is read on every poll of a measured span).
#[inline]
pub(crate) fn is_installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// What the calling thread has allocated and freed so far.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ThreadSnapshot {
    pub(crate) allocated: u64,
    pub(crate) freed: u64,
    pub(crate) count: u64,
}

impl ThreadSnapshot {
    /// `allocated - freed` at the snapshot.
    pub(crate) fn live(&self) -> i64 {
        self.allocated.wrapping_sub(self.freed) as i64
    }
}

/// The calling thread's counters, and its high-water mark reset to the current live bytes
/// (returned: the mark before the reset, to [`restore_high`] when the measurement ends, so
/// that an enclosing measurement still sees its own peak).
#[inline]
pub(crate) fn thread_enter() -> (ThreadSnapshot, i64) {
    THREAD
        .try_with(|t| {
            let snap = ThreadSnapshot {
                allocated: t.allocated.get(),
                freed: t.freed.get(),
                count: t.count.get(),
            };
            let saved = t.high.replace(snap.live());
            (snap, saved)
        })
        .unwrap_or_default()
}

/// The calling thread's counters and its high-water mark since [`thread_enter`].
#[inline]
pub(crate) fn thread_exit() -> (ThreadSnapshot, i64) {
    THREAD
        .try_with(|t| {
            (
                ThreadSnapshot {
                    allocated: t.allocated.get(),
                    freed: t.freed.get(),
                    count: t.count.get(),
                },
                t.high.get(),
            )
        })
        .unwrap_or_default()
}

/// Puts back the high-water mark `saved` by [`thread_enter`], kept at least as high as what
/// was reached since.
#[inline]
pub(crate) fn restore_high(saved: i64) {
    let _ = THREAD.try_with(|t| t.high.set(t.high.get().max(saved)));
}

/// The process-wide totals: bytes allocated and freed so far, allocations, and the peak of
/// bytes live (exact to within 256 KiB per thread).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Totals {
    pub(crate) allocated: u64,
    pub(crate) freed: u64,
    pub(crate) count: u64,
    pub(crate) peak: u64,
}

/// The process-wide totals, `None` when no `CountingAllocator` is installed.
pub(crate) fn totals() -> Option<Totals> {
    if !is_installed() {
        return None;
    }
    let _ = THREAD.try_with(|t| t.flush());
    let allocated = TOTAL_ALLOCATED.load(Ordering::Relaxed);
    let freed = TOTAL_FREED.load(Ordering::Relaxed);
    Some(Totals {
        allocated,
        freed,
        count: TOTAL_COUNT.load(Ordering::Relaxed),
        peak: PEAK.load(Ordering::Relaxed).max(0) as u64,
    })
}
