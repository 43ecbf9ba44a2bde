//! The per-thread label slot: which span is current on this thread, in a form a signal
//! handler interrupting the thread can read (atomics, a sequence number for a write it
//! interrupted, `'static` strings only).

use std::sync::atomic::{compiler_fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::tally::genai::Site;

/// Set while a CPU profile is being taken: only then is the slot kept up to date.
pub(crate) static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Why the slot is kept up to date: [`LABEL_CPU`] while a CPU profile is taken,
/// [`LABEL_HEAP`] while allocations are sampled.
pub(crate) static LABELLING: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
pub(crate) const LABEL_CPU: u8 = 1;
pub(crate) const LABEL_HEAP: u8 = 2;

/// When the sampler last stopped (a raw clock reading; 0: never ran).
pub(crate) static LAST_STOP: AtomicU64 = AtomicU64::new(0);

/// Whether a CPU profile was being taken at any time since `start` (a raw clock reading).
#[inline]
pub(crate) fn profiled_since(start: u64) -> bool {
    ACTIVE.load(Ordering::Relaxed) || LAST_STOP.load(Ordering::Relaxed) > start
}

struct Slot {
    /// Odd while the thread is writing the slot.
    seq: AtomicU32,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span_id: AtomicU64,
    name_ptr: AtomicUsize,
    name_len: AtomicUsize,
    /// A `&'static Site`, 0 if none.
    agent: AtomicUsize,
}

thread_local! {
    // `const` and without `Drop`: readable from a signal handler at any time.
    static SLOT: Slot = const {
        Slot {
            seq: AtomicU32::new(0),
            trace_hi: AtomicU64::new(0),
            trace_lo: AtomicU64::new(0),
            span_id: AtomicU64::new(0),
            name_ptr: AtomicUsize::new(0),
            name_len: AtomicUsize::new(0),
            agent: AtomicUsize::new(0),
        }
    };
}

/// The span current on a thread when a sample was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Label {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// Empty when the span's name is not `'static`.
    pub(crate) name: &'static str,
    /// The innermost agent's name, empty if none.
    pub(crate) agent: &'static str,
}

/// The current span of this thread changed to `top` (trace id, span id, name, agent); `None`
/// when no span is current. Nothing unless a profile is being taken.
#[inline]
pub(crate) fn relabel(top: Option<(u128, u64, &'static str, Option<&'static Site>)>) {
    if LABELLING.load(Ordering::Relaxed) == 0 {
        return;
    }
    write(top);
}

#[cold]
#[inline(never)]
fn write(top: Option<(u128, u64, &'static str, Option<&'static Site>)>) {
    let _ = SLOT.try_with(|slot| {
        let seq = slot.seq.load(Ordering::Relaxed);
        slot.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // The handler runs on this thread: only the compiler could reorder these stores.
        compiler_fence(Ordering::SeqCst);
        let (trace_id, span_id, name, agent) = top.unwrap_or((0, 0, "", None));
        slot.trace_hi
            .store((trace_id >> 64) as u64, Ordering::Relaxed);
        slot.trace_lo.store(trace_id as u64, Ordering::Relaxed);
        slot.span_id.store(span_id, Ordering::Relaxed);
        slot.name_ptr
            .store(name.as_ptr() as usize, Ordering::Relaxed);
        slot.name_len.store(name.len(), Ordering::Relaxed);
        slot.agent.store(
            agent.map_or(0, |site| site as *const Site as usize),
            Ordering::Relaxed,
        );
        compiler_fence(Ordering::SeqCst);
        slot.seq.store(seq.wrapping_add(2), Ordering::Relaxed);
    });
}

/// The label of the calling thread (from its signal handler): `None` when no span is current
/// or the thread was interrupted while writing its slot.
#[inline]
pub(crate) fn read() -> Option<Label> {
    SLOT.try_with(|slot| {
        let seq = slot.seq.load(Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        if seq % 2 == 1 {
            return None;
        }
        let span_id = slot.span_id.load(Ordering::Relaxed);
        if span_id == 0 {
            return None;
        }
        let trace_id = (u128::from(slot.trace_hi.load(Ordering::Relaxed)) << 64)
            | u128::from(slot.trace_lo.load(Ordering::Relaxed));
        let ptr = slot.name_ptr.load(Ordering::Relaxed) as *const u8;
        let len = slot.name_len.load(Ordering::Relaxed);
        let name = if ptr.is_null() || len == 0 {
            ""
        } else {
            // SAFETY: the slot only ever holds the pointer and length of a `&'static str`
            // (written together above, and not being written now: `seq` is even), so they
            // describe valid UTF-8 that lives forever.
            unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) }
        };
        let agent = slot.agent.load(Ordering::Relaxed) as *const Site;
        // SAFETY: 0 or the address of a `&'static Site` (see `write`).
        let agent = unsafe { agent.as_ref() }.map_or("", Site::name);
        Some(Label {
            trace_id,
            span_id,
            name,
            agent,
        })
    })
    .ok()
    .flatten()
}
