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
    /// The agent span's span id (the invocation), 0 if none.
    invocation: AtomicU64,
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
            invocation: AtomicU64::new(0),
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
    /// The innermost agent call's span id (its invocation), 0 if none.
    pub(crate) invocation: u64,
}

/// Whether the slot must be kept up to date (a profile is being taken or allocations are
/// sampled). Checked before anything is read for [`write`]: the caller's stack is only
/// looked at when it is true.
#[inline(always)]
pub(crate) fn labelling() -> bool {
    LABELLING.load(Ordering::Relaxed) != 0
}

/// The current span of this thread changed to `top` (trace id, span id, name, agent); `None`
/// when no span is current. Call only when [`labelling`].
pub(crate) fn write(top: Option<super::Current>) {
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
            agent.map_or(0, |(site, _)| site as *const Site as usize),
            Ordering::Relaxed,
        );
        slot.invocation.store(
            agent.map_or(0, |(_, invocation)| invocation),
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
            invocation: slot.invocation.load(Ordering::Relaxed),
        })
    })
    .ok()
    .flatten()
}

/// The conversation ids of agent invocations (`gen_ai.conversation.id` set on an
/// `#[agent_span]`'s own span), for the `gen_ai.conversation.id` label of profile samples:
/// the signal handler can only copy numbers, so a sample carries its invocation and the
/// profile is labelled with that invocation's conversation when it is built. Registered for
/// every recorded agent span that sets one, kept [`ENDED_KEPT`] after the invocation ends (a
/// profile built later still finds it), at most [`MAX_CONVERSATIONS`] at a time.
struct Conversations {
    /// Invocation → (conversation id, when the invocation ended: a raw clock reading).
    map: std::collections::HashMap<u64, (std::sync::Arc<str>, Option<u64>)>,
}

static CONVERSATIONS: std::sync::Mutex<Option<Conversations>> = std::sync::Mutex::new(None);
/// How many invocations are registered (so that an agent span's end checks a number, not a
/// lock, when none is).
static REGISTERED: AtomicUsize = AtomicUsize::new(0);
const MAX_CONVERSATIONS: usize = 4096;
const ENDED_KEPT: std::time::Duration = std::time::Duration::from_secs(300);

/// Agent invocation `invocation` belongs to conversation `id`.
pub(crate) fn register_conversation(invocation: u64, id: &str) {
    let mut guard = crate::lock::lock(&CONVERSATIONS);
    let conversations = guard.get_or_insert_with(|| Conversations {
        map: std::collections::HashMap::new(),
    });
    let map = &mut conversations.map;
    if map.len() >= MAX_CONVERSATIONS && !map.contains_key(&invocation) {
        let now = crate::clock::now_raw();
        let kept = crate::clock::ticks_of_nanos(ENDED_KEPT.as_nanos() as f64);
        map.retain(|_, (_, ended)| ended.is_none_or(|t| now.saturating_sub(t) < kept));
        if map.len() >= MAX_CONVERSATIONS {
            // Full of running invocations: this one's samples go without the label.
            return;
        }
    }
    map.insert(invocation, (std::sync::Arc::from(id), None));
    REGISTERED.store(map.len(), Ordering::Relaxed);
}

/// Agent invocation `invocation` ended (its conversation stays known for [`ENDED_KEPT`]).
#[inline]
pub(crate) fn conversation_ended(invocation: u64) {
    if REGISTERED.load(Ordering::Relaxed) != 0 {
        mark_ended(invocation);
    }
}

#[cold]
fn mark_ended(invocation: u64) {
    let mut guard = crate::lock::lock(&CONVERSATIONS);
    if let Some(entry) = guard.as_mut().and_then(|c| c.map.get_mut(&invocation)) {
        entry.1 = Some(crate::clock::now_raw());
    }
}

/// The conversation of agent invocation `invocation`, if one was registered.
pub(crate) fn conversation_of(invocation: u64) -> Option<std::sync::Arc<str>> {
    if invocation == 0 || REGISTERED.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let guard = crate::lock::lock(&CONVERSATIONS);
    guard
        .as_ref()
        .and_then(|c| c.map.get(&invocation))
        .map(|(id, _)| id.clone())
}
