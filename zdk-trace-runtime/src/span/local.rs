//! Per-thread state of the hot path: the stack of current spans, the id generator, and the
//! ring that finished spans are pushed into.
//!
//! Nothing here takes a lock or allocates per span. The ring is a single-producer,
//! single-consumer queue ([`rtrb`]): this thread pushes finished spans, the collector thread
//! pops them. It is allocated once per thread, on the first recorded span, and its slots are
//! reused for the life of the thread. Counters are per-thread atomics written only by their
//! owner (a plain load and store, no locked instruction), summed by `stats()`.

use std::cell::RefCell;
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
    pub(crate) started: AtomicU64,
    pub(crate) sampled_out: AtomicU64,
    pub(crate) recorded: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_shutdown: AtomicU64,
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

/// A ring handed to the collector: the consumer end of one thread's ring.
pub(crate) type RingConsumer = rtrb::Consumer<RawSpan>;

/// New rings, sent by threads on their first recorded span and picked up by the collector.
pub(crate) static NEW_RINGS: Lazy<(
    crossbeam_channel::Sender<RingConsumer>,
    crossbeam_channel::Receiver<RingConsumer>,
)> = Lazy::new(crossbeam_channel::unbounded);

pub(crate) struct Local {
    pub(crate) stack: Vec<Entered>,
    rng: u64,
    ring: Option<rtrb::Producer<RawSpan>>,
    counters: Option<Arc<ThreadCounters>>,
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local { stack: Vec::new(), rng: 0, ring: None, counters: None })
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

    /// Moves a finished span into this thread's ring (one copy, straight into the slot), or
    /// down the overflow lane when the ring is full, or counts it as dropped.
    ///
    /// # Safety
    ///
    /// `raw` must point at a valid record the caller gives up: it is moved out here and must
    /// not be used or dropped afterwards.
    #[inline]
    pub(crate) unsafe fn push(&mut self, raw: *mut RawSpan) {
        let ring = self.ring.get_or_insert_with(|| {
            let (producer, consumer) = rtrb::RingBuffer::new(RING_CAPACITY);
            // The receiver lives in a static, so this cannot fail.
            let _ = NEW_RINGS.0.send(consumer);
            producer
        });
        let accepted = match ring.write_chunk_uninit(1) {
            Ok(mut chunk) => {
                let (slot, _) = chunk.as_mut_slices();
                if let Some(slot) = slot.first_mut() {
                    // SAFETY: the caller hands `raw` over; it is read exactly once.
                    slot.write(unsafe { std::ptr::read(raw) });
                    // SAFETY: the one slot of the chunk was just initialised.
                    unsafe { chunk.commit_all() };
                } else {
                    // A chunk of one always has its slot in the first slice; never reached.
                    // SAFETY: not moved out; dropped exactly once.
                    unsafe { std::ptr::drop_in_place(raw) };
                }
                // Once the ring is half full, wake the collector (rare: once per half ring;
                // `slots()` is only read when the cached count says the ring is filling).
                if ring.cached_slots() < RING_CAPACITY / 2 && ring.slots() < RING_CAPACITY / 2 {
                    crate::pipeline::wake_collector();
                }
                true
            }
            // A burst outran the collector: take the overflow lane, bounded by the queue.
            // SAFETY: the caller hands `raw` over; it is read exactly once.
            Err(_) => crate::pipeline::push_overflow(unsafe { std::ptr::read(raw) }),
        };
        let counters = self.counters();
        if accepted {
            bump(&counters.recorded);
        } else {
            bump(&counters.dropped_queue_full);
        }
    }
}

/// Never used: `counters()` always sets them first (a static, so no `unwrap` is needed).
static NO_COUNTERS: ThreadCounters = ThreadCounters {
    started: AtomicU64::new(0),
    sampled_out: AtomicU64::new(0),
    recorded: AtomicU64::new(0),
    dropped_queue_full: AtomicU64::new(0),
    dropped_shutdown: AtomicU64::new(0),
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
