//! Per-thread state of the hot path: the stack of current spans, the id generator, the pool
//! of record slots, and the rings that carry finished spans to the collector and empty slots
//! back.
//!
//! Nothing here takes a lock per span, and nothing allocates once the pool has grown to what
//! the thread keeps in flight. The rings are single-producer, single-consumer queues
//! ([`rtrb`]) of pointers: this thread pushes finished spans' slots, the collector reads the
//! records (converting them where they lie, or moving them out for the tail sampler) and
//! pushes the empty slots back. They are allocated once per thread, on the
//! first recorded span. Counters are per-thread atomics written only by their owner (a plain
//! load and store, no locked instruction), summed by `stats()`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;

use crate::context::Entered;
use crate::span::RawSpan;

/// Spans a thread's ring holds before the collector must drain it.
pub(crate) const RING_CAPACITY: usize = 1024;

/// Per-thread counters, written by the owning thread only.
#[derive(Debug, Default)]
pub(crate) struct ThreadCounters {
    /// Recorded spans started (head-dropped ones are only counted in `sampled_out`).
    pub(crate) started: AtomicU64,
    pub(crate) sampled_out: AtomicU64,
    pub(crate) recorded: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
    pub(crate) slots_allocated: AtomicU64,
}

/// Adds one to a counter that only the calling thread writes.
#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    // Single writer: a relaxed load and store is enough and avoids a locked `xadd`.
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Every thread's counters, for `stats()`. Locked once per thread (on its first span) and by
/// `stats()`, never per span.
pub(crate) static THREAD_COUNTERS: Lazy<Mutex<Vec<Arc<ThreadCounters>>>> =
    Lazy::new(|| Mutex::new(Vec::new()));

/// Memory for one span record, recycled between a thread and the collector: a thread takes
/// one from its pool when a recorded span starts, the record is written into it in place, and
/// the collector gives it back once it has read the record.
pub(crate) type Slot = Box<MaybeUninit<RawSpan>>;

/// A slot holding a record: what a recording [`Span`](crate::Span) owns, and what the rings
/// carry (a pointer, not the 320-byte record).
#[derive(Debug)]
pub(crate) struct Filled(ManuallyDrop<Slot>);

impl Filled {
    /// Writes `raw` into `slot`.
    #[inline]
    pub(crate) fn new(mut slot: Slot, raw: RawSpan) -> Filled {
        slot.write(raw);
        Filled(ManuallyDrop::new(slot))
    }

    /// Moves the record out, and gives the empty slot back for reuse.
    #[inline]
    pub(crate) fn take(self) -> (RawSpan, Slot) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the slot is taken exactly once.
        let slot = unsafe { ManuallyDrop::take(&mut this.0) };
        // SAFETY: a `Filled` slot is initialised (`new`); reading it out leaves the slot
        // logically empty, and an empty `Slot` never drops its contents.
        let raw = unsafe { slot.assume_init_read() };
        (raw, slot)
    }

    /// Drops the record in place and gives the empty slot back.
    #[inline]
    pub(crate) fn discard(self) -> Slot {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the slot is taken exactly once.
        let mut slot = unsafe { ManuallyDrop::take(&mut this.0) };
        // SAFETY: a `Filled` slot is initialised (`new`); after this it is logically empty,
        // and an empty `Slot` never drops its contents.
        unsafe { slot.assume_init_drop() };
        slot
    }

    /// Empties a head-dropped span's record, which owns nothing but its extras
    /// (`tracestate`): the rest is not dropped field by field.
    #[inline]
    pub(crate) fn empty_head_dropped(mut self) -> Slot {
        debug_assert!(self.attributes.is_empty() && matches!(self.name, Cow::Borrowed(_)));
        drop(self.extras.take());
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the slot is taken exactly once.
        // The record is left undropped: what it still holds owns no memory (a borrowed name,
        // no attributes, no extras), so nothing leaks.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }
}

impl std::ops::Deref for Filled {
    type Target = RawSpan;

    #[inline]
    fn deref(&self) -> &RawSpan {
        // SAFETY: a `Filled` slot is initialised (`new`).
        unsafe { self.0.assume_init_ref() }
    }
}

impl std::ops::DerefMut for Filled {
    #[inline]
    fn deref_mut(&mut self) -> &mut RawSpan {
        // SAFETY: a `Filled` slot is initialised (`new`).
        unsafe { self.0.assume_init_mut() }
    }
}

impl Drop for Filled {
    fn drop(&mut self) {
        // SAFETY: dropped once, here; the record is initialised (`new`).
        unsafe {
            let mut slot = ManuallyDrop::take(&mut self.0);
            slot.assume_init_drop();
        }
    }
}

/// The collector's ends of one thread's rings: finished spans come in, empty slots go back.
#[derive(Debug)]
pub(crate) struct RingPair {
    pub(crate) spans: rtrb::Consumer<Filled>,
    pub(crate) returns: rtrb::Producer<Slot>,
}

/// Gives a slot back to the thread whose `returns` ring this is, or frees it if that thread is
/// gone or its pool is full.
#[inline]
pub(crate) fn give_back(returns: &mut rtrb::Producer<Slot>, slot: Slot) {
    if !returns.is_abandoned() {
        let _ = returns.push(slot);
    }
}

/// New rings, sent by threads on their first recorded span and picked up by the collector.
pub(crate) static NEW_RINGS: Lazy<(
    crossbeam_channel::Sender<RingPair>,
    crossbeam_channel::Receiver<RingPair>,
)> = Lazy::new(crossbeam_channel::unbounded);

pub(crate) struct Local {
    pub(crate) stack: Vec<Entered>,
    rng: u64,
    ring: Option<rtrb::Producer<Filled>>,
    /// Empty slots ready for new spans.
    free: Vec<Slot>,
    /// Slots the collector gave back.
    returns: Option<rtrb::Consumer<Slot>>,
    counters: Option<Arc<ThreadCounters>>,
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local {
            stack: Vec::new(),
            rng: 0,
            ring: None,
            free: Vec::new(),
            returns: None,
            counters: None,
        })
    };
}

/// Runs `f` with this thread's state; `None` while the thread is being torn down.
#[inline]
pub(crate) fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut local| f(&mut local)))
        .ok()
        .flatten()
}

impl Local {
    /// A non-zero random 64-bit value (wyrand).
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        if self.rng == 0 {
            self.rng = seed();
        }
        loop {
            self.rng = self.rng.wrapping_add(0xa076_1d64_78bd_642f);
            let t = u128::from(self.rng) * u128::from(self.rng ^ 0xe703_7ed1_a0b4_28db);
            let v = ((t >> 64) as u64) ^ (t as u64);
            if v != 0 {
                return v;
            }
        }
    }

    /// A non-zero random trace id.
    #[inline]
    pub(crate) fn next_trace_id(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }

    #[inline]
    pub(crate) fn counters(&mut self) -> &ThreadCounters {
        if self.counters.is_none() {
            self.counters = Some(register_counters());
        }
        match &self.counters {
            Some(counters) => counters,
            None => &NO_COUNTERS,
        }
    }

    /// An empty slot for a new recorded span: from the pool, else from the slots the collector
    /// gave back, else newly allocated (only until the pool has grown to what the thread keeps
    /// in flight).
    #[inline]
    pub(crate) fn take_slot(&mut self) -> Slot {
        match self.free.pop() {
            Some(slot) => slot,
            None => self.refill(),
        }
    }

    /// Empties a head-dropped span's slot into the pool.
    #[inline]
    pub(crate) fn recycle(&mut self, span: Filled) {
        let slot = span.empty_head_dropped();
        if self.free.len() < POOL_CAPACITY {
            self.free.push(slot);
        }
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> Slot {
        if let Some(returns) = &mut self.returns {
            let n = returns.slots();
            if let Ok(chunk) = returns.read_chunk(n) {
                self.free.reserve(n);
                self.free.extend(chunk);
                // Popped from the end: reuse first the slot the collector gave back first,
                // the one least likely to still sit in the collector's cache (a write to a
                // line the other core holds waits for it to let go).
                self.free.reverse();
            }
        }
        match self.free.pop() {
            Some(slot) => slot,
            None => {
                bump(&self.counters().slots_allocated);
                Box::new_uninit()
            }
        }
    }

    /// Hands a finished span to the collector through this thread's ring (a pointer copy), or
    /// down the overflow lane when the ring is full, or counts it as dropped.
    #[inline]
    pub(crate) fn push(&mut self, span: Filled) {
        if crate::pipeline::hot().queue_full() {
            // The collector would drop it: drop it here, for a counter and a slot back. It
            // was recorded all the same (`stats()`: every recorded span is exported,
            // dropped by reason, sampled out by a tail rule, or still queued).
            let counters = self.counters();
            bump(&counters.recorded);
            bump(&counters.dropped_queue_full);
            let slot = span.discard();
            if self.free.len() < POOL_CAPACITY {
                self.free.push(slot);
            }
            return;
        }
        if self.ring.is_none() {
            self.ring = Some(self.new_rings());
        }
        let Some(ring) = &mut self.ring else {
            return;
        };
        let accepted = match ring.push(span) {
            Ok(()) => {
                // Once the ring is half full, wake the collector (rare: once per half ring;
                // `slots()` is only read when the cached count says the ring is filling).
                if ring.cached_slots() < RING_CAPACITY / 2 && ring.slots() < RING_CAPACITY / 2 {
                    crate::pipeline::wake_collector();
                }
                true
            }
            // A burst outran the collector: take the overflow lane, bounded by the queue.
            Err(rtrb::PushError::Full(span)) => crate::pipeline::push_overflow(span),
        };
        let counters = self.counters();
        bump(&counters.recorded);
        if !accepted {
            bump(&counters.dropped_queue_full);
        }
    }

    /// This thread's rings, the collector's ends sent to it.
    #[cold]
    fn new_rings(&mut self) -> rtrb::Producer<Filled> {
        let (producer, spans) = rtrb::RingBuffer::new(RING_CAPACITY);
        let (returns, consumer) = rtrb::RingBuffer::new(POOL_CAPACITY);
        self.returns = Some(consumer);
        // The receiver lives in a static, so this cannot fail.
        let _ = NEW_RINGS.0.send(RingPair { spans, returns });
        producer
    }
}

/// Empty slots the collector can give back to a thread at once, and the most a thread keeps
/// idle in its pool; more are freed. A thread holds at most this many idle slots, plus one
/// ring of finished spans in flight, plus its open spans: about 1 000 × 320 bytes at rest
/// after a burst, and only what it used (a thread that records one span has one slot).
const POOL_CAPACITY: usize = RING_CAPACITY;

/// Never used: `counters()` always sets them first (a static, so no `unwrap` is needed).
static NO_COUNTERS: ThreadCounters = ThreadCounters {
    started: AtomicU64::new(0),
    sampled_out: AtomicU64::new(0),
    recorded: AtomicU64::new(0),
    dropped_queue_full: AtomicU64::new(0),
    dropped_shutdown: AtomicU64::new(0),
    slots_allocated: AtomicU64::new(0),
};

/// A thread's counters, registered for `stats()` (once per thread).
#[cold]
fn register_counters() -> Arc<ThreadCounters> {
    let counters = Arc::new(ThreadCounters::default());
    crate::pipeline::lock(&THREAD_COUNTERS).push(counters.clone());
    counters
}

/// Seeds a thread's generator from std's per-process random keys, the thread id and the time,
/// so no two threads (or processes) share a sequence.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    std::thread::current().id().hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    std::process::id().hash(&mut hasher);
    hasher.finish() | 1
}
