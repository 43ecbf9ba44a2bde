//! Per-thread state of the hot path: the stack of current spans, the id generator, the pool
//! of record slots, and this thread's ends of the rings that carry finished spans to the
//! collector and empty slots back.
//!
//! Nothing here takes a lock per span, and nothing allocates once the pool has grown to what
//! the thread keeps in flight; a span that finds the ring full is shed here, counted. The rings ([`super::ring`]) are single-producer,
//! single-consumer queues of pointers: this thread pushes finished spans' slots, the collector
//! reads the records (converting them where they lie, or moving them out for the tail sampler)
//! and pushes the empty slots back. They are allocated once per thread, on the first recorded
//! span. Counters are per-thread atomics written only by their owner (a plain load and store,
//! no locked instruction), summed by `stats()`.

use std::cell::{Cell, RefCell};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::counters::{bump, ThreadCounters, THREAD_COUNTERS};
use crate::hot::hot;
use crate::lock::lock;
use crate::record::{AgentCall, Frame, FLAG_ERROR};

use super::ring::{max_ring_capacity, RingPair, NEW_RINGS, RING_CAPACITY};
use super::slot::{Filled, Slot};
use super::wake::wake_collector;
/// An entry of the thread's current-span stack: the frame, and which OpenTelemetry span was
/// active when it was pushed.
#[derive(Debug)]
pub(crate) struct Entered {
    pub(crate) frame: Frame,
    /// Span id of OpenTelemetry's active span when the frame was pushed (0 if none). If the
    /// active span differs later, an OpenTelemetry `Context` was attached after this frame
    /// (another tracer's span is inside ours), so that span is the innermost parent.
    pub(crate) otel_span_id: u64,
    /// The span's name when it is `'static` (for CPU profile labels), else empty.
    pub(crate) name: &'static str,
}

impl Entered {
    /// What the CPU sampler's label slot holds for this entry.
    #[inline]
    pub(crate) fn label(&self) -> crate::sampler::Current {
        (
            self.frame.trace_id,
            self.frame.span_id,
            self.name,
            self.frame.agent.map(|a| (a.site, a.invocation)),
        )
    }

    /// A blank entry, pushed and then written field by field where it lies.
    pub(crate) const EMPTY: Entered = Entered {
        frame: Frame {
            trace_id: 0,
            span_id: 0,
            sampled: false,
            random: false,
            remote: false,
            foreign: false,
            trace_state: None,
            agent: None,
        },
        otel_span_id: 0,
        name: "",
    };
}

/// This thread's state on the hot path (see the module docs).
pub(crate) struct Local {
    /// The current-span stack, read and written through [`stack`](Self::stack) only (which
    /// first pushes a [deferred frame](defer_frame)).
    frames: Vec<Entered>,
    rng: u64,
    ring: Option<rtrb::Producer<Filled>>,
    /// Capacity of `ring` (and of `returns`, and the most idle slots `free` keeps).
    ring_capacity: usize,
    /// The collector is behind: ok spans are shed until half the ring is free again.
    shedding_ok: bool,
    /// Empty slots ready for new spans.
    free: Vec<Slot>,
    /// Slots the collector gave back.
    returns: Option<rtrb::Consumer<Slot>>,
    counters: Option<Arc<ThreadCounters>>,
}

thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local {
            frames: Vec::new(),
            rng: 0,
            ring: None,
            ring_capacity: RING_CAPACITY,
            shedding_ok: false,
            free: Vec::new(),
            returns: None,
            counters: None,
        })
    };
}

/// The words a sync function's span reads and writes besides [`LOCAL`], in one thread-local
/// (see [`WORDS`]).
struct Words {
    /// [`LOCAL`] once it is alive and its generator seeded (and its counters registered),
    /// null before and once it is dropped: see [`with_ready_local`].
    ready: Cell<*const RefCell<Local>>,
    /// This thread's [deferred frame](defer_frame), if any.
    deferred: Cell<Deferred>,
    /// The name of the deferred frame when it is a recording span's (see
    /// [`defer_frame_of`]); written only for those, so a sampled-out span stores no name.
    deferred_name: Cell<&'static str>,
}

thread_local! {
    /// This thread's [`Words`]. Apart from [`LOCAL`]: `Copy` cells with a constant
    /// initializer and no destructor, so reading and writing them is a plain memory access,
    /// with no registration to call and no borrow flag; and one thread-local, so a span's
    /// start works their address out once.
    static WORDS: Words = const {
        Words {
            ready: Cell::new(std::ptr::null()),
            deferred: Cell::new(NO_DEFERRED),
            deferred_name: Cell::new(""),
        }
    };
}

/// Runs `f` with this thread's state if it is ready: alive, its generator seeded and its
/// counters registered (`None` otherwise, or if it is borrowed). [`with_local`] without the
/// code that registers the state's destructor on first use, so that a caller on the hot
/// path calls nothing.
#[inline(always)]
pub(crate) fn with_ready_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    let ready = WORDS
        .try_with(|words| words.ready.get())
        .unwrap_or(std::ptr::null());
    if ready.is_null() {
        return None;
    }
    // SAFETY: `ready` is this thread's own (a `Cell` in a thread-local) and is set only by
    // `Local::seed_and_register` to this thread's `LOCAL`, which then is alive; `Local`'s drop sets it
    // back to null before `LOCAL`'s value is gone. So a non-null pointer points to a live
    // `RefCell<Local>` of this thread, and the `RefCell` guards its use as `with_local` does.
    let cell = unsafe { &*ready };
    let mut local = cell.try_borrow_mut().ok()?;
    Some(f(&mut local))
}

impl Drop for Local {
    fn drop(&mut self) {
        // `LOCAL` is being destroyed: `with_ready_local` must no longer reach it.
        let _ = WORDS.try_with(|words| words.ready.set(std::ptr::null()));
    }
}

/// Runs `f` with this thread's state; `None` while the thread is being torn down.
#[inline]
pub(crate) fn with_local<R>(f: impl FnOnce(&mut Local) -> R) -> Option<R> {
    LOCAL
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut local| f(&mut local)))
        .ok()
        .flatten()
}

/// A span whose frame has not been pushed: see [`defer_frame`].
#[derive(Clone, Copy)]
struct Deferred {
    /// 0: none.
    span_id: u64,
    trace_hi: u64,
    trace_lo: u64,
    /// The agent call it runs in.
    agent: Option<AgentCall>,
    /// The W3C random flag of its trace.
    random: bool,
    /// Its trace is sampled (a recording span's frame, [`defer_frame_of`]); its name is in
    /// [`Words::deferred_name`].
    sampled: bool,
}

const NO_DEFERRED: Deferred = Deferred {
    span_id: 0,
    trace_hi: 0,
    trace_lo: 0,
    agent: None,
    random: false,
    sampled: false,
};

/// Makes a head-dropped span current without pushing its frame: the frame is pushed the
/// first time anything reads or writes this thread's stack (a child starting, a
/// `traceparent` injected, the current context captured, see [`Local::stack`]), and
/// [`take_deferred`] ends it without visiting the thread's state if nothing did. A sync
/// function's span whose parent is this thread's top frame (or that starts a trace), sampled
/// out at its head ([`defer_frame_of`] for one that records), so costs a few plain
/// thread-local writes instead of a frame pushed and popped. The caller has just read the stack through [`Local::stack`], so no other frame is
/// deferred and the frame belongs on top.
#[inline]
pub(crate) fn defer_frame(trace_id: u128, span_id: u64, agent: Option<AgentCall>, random: bool) {
    let _ = WORDS.try_with(|words| {
        words.deferred.set(Deferred {
            span_id,
            trace_hi: (trace_id >> 64) as u64,
            trace_lo: trace_id as u64,
            agent,
            random,
            sampled: false,
        });
    });
}

/// [`defer_frame`] for a sync function's span that records, named `name`: most such spans
/// start no child and propagate nothing (a leaf of the trace), and their frame is then never
/// pushed or popped either. Its trace's decision (`sampled`) and its name (for CPU profile
/// labels) come with the frame if something pushes it.
#[inline]
pub(crate) fn defer_frame_of(
    trace_id: u128,
    span_id: u64,
    agent: Option<AgentCall>,
    random: bool,
    sampled: bool,
    name: &'static str,
) {
    let _ = WORDS.try_with(|words| {
        words.deferred.set(Deferred {
            span_id,
            trace_hi: (trace_id >> 64) as u64,
            trace_lo: trace_id as u64,
            agent,
            random,
            sampled,
        });
        words.deferred_name.set(name);
    });
}

/// [`defer_frame_of`] when no frame is deferred (without visiting the thread's state: then
/// the stack as pushed is the whole stack); `false`, and nothing deferred, otherwise. A span
/// entered for one poll of its future or stream: most polls start no span and read no
/// context, so its frame is then never pushed or popped. `name` is stored only for a
/// sampled span (as [`defer_frame_of`] reads it back).
#[inline(always)]
pub(crate) fn defer_frame_if_none(
    trace_id: u128,
    span_id: u64,
    agent: Option<AgentCall>,
    random: bool,
    sampled: bool,
    name: &'static str,
) -> bool {
    WORDS
        .try_with(|words| {
            if words.deferred.get().span_id != 0 {
                return false;
            }
            words.deferred.set(Deferred {
                span_id,
                trace_hi: (trace_id >> 64) as u64,
                trace_lo: trace_id as u64,
                agent,
                random,
                sampled,
            });
            if sampled {
                words.deferred_name.set(name);
            }
            true
        })
        .unwrap_or(false)
}

/// Ends the [deferred frame](defer_frame) of `span_id` if it was never pushed; `false`
/// otherwise (its frame, or another span's, is on the stack to be popped).
#[inline]
pub(crate) fn take_deferred(span_id: u64) -> bool {
    WORDS
        .try_with(|words| {
            let mut taken = words.deferred.get();
            if taken.span_id == span_id {
                // Only the id says whether a frame is deferred: the rest is left as it is.
                taken.span_id = 0;
                words.deferred.set(taken);
                true
            } else {
                false
            }
        })
        .unwrap_or(false)
}

/// Pushes the [deferred frame](defer_frame), if there is one, on top of `frames` (where it
/// was deferred: everything that touched the stack since came through [`Local::stack`]).
#[inline(always)]
fn push_deferred(frames: &mut Vec<Entered>) {
    let pending = WORDS
        .try_with(|words| words.deferred.get().span_id != 0)
        .unwrap_or(false);
    if pending {
        push_deferred_frame(frames);
    }
}

#[cold]
#[inline(never)]
fn push_deferred_frame(frames: &mut Vec<Entered>) {
    let Ok((deferred, name)) = WORDS.try_with(|words| {
        let deferred = words.deferred.replace(NO_DEFERRED);
        let name = if deferred.sampled {
            words.deferred_name.get()
        } else {
            ""
        };
        (deferred, name)
    }) else {
        return;
    };
    frames.push(Entered {
        frame: Frame {
            trace_id: (u128::from(deferred.trace_hi) << 64) | u128::from(deferred.trace_lo),
            span_id: deferred.span_id,
            sampled: deferred.sampled,
            random: deferred.random,
            remote: false,
            foreign: false,
            trace_state: None,
            agent: deferred.agent,
        },
        otel_span_id: 0,
        name,
    });
}

impl Local {
    /// The stack of current spans, innermost last; a [deferred frame](defer_frame) is pushed
    /// first.
    #[inline]
    pub(crate) fn stack(&mut self) -> &mut Vec<Entered> {
        push_deferred(&mut self.frames);
        &mut self.frames
    }

    /// A non-zero random 64-bit value (wyrand).
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.seeded();
        self.next_u64_ready()
    }

    /// A non-zero random trace id: two draws, one seed check and one zero check.
    #[inline]
    pub(crate) fn next_trace_id(&mut self) -> u128 {
        self.seeded();
        loop {
            let (hi, lo) = (self.step(), self.step());
            // Tested as two words: as one `u128` the test compiles to vector shuffles.
            if hi | lo != 0 {
                return (u128::from(hi) << 64) | u128::from(lo);
            }
        }
    }

    /// A new trace's id and its first span's id with one seed check (see
    /// [`next_root_ids_ready`](Self::next_root_ids_ready)).
    #[inline]
    pub(crate) fn next_root_ids(&mut self) -> (u128, u64) {
        self.seeded();
        self.next_root_ids_ready()
    }

    /// [`next_root_ids`](Self::next_root_ids) once the generator is seeded (as it is when
    /// [`with_ready_local`] runs).
    #[inline]
    ///
    /// Two draws, not three: the root's span id is a mix of the trace id's two halves (the
    /// high half with the low half turned by 32 bits). The halves are independent uniform
    /// draws, so the mix is uniform too, and two roots' span ids collide with the same
    /// probability as two draws (2^-64); inside its trace the root's id is as independent
    /// of its descendants' (drawn later) as a third draw would be. A sampled-out root, which
    /// needs its ids and nothing else, saves the third draw's multiplication.
    pub(crate) fn next_root_ids_ready(&mut self) -> (u128, u64) {
        let (hi, lo) = (self.step(), self.step());
        root_ids(hi, lo)
    }

    /// [`next_u64`](Self::next_u64) once the generator is seeded.
    #[inline]
    pub(crate) fn next_u64_ready(&mut self) -> u64 {
        let v = self.step();
        // Zero (one draw in 2^64) becomes 1, without a loop (see `next_root_ids_ready`).
        v | u64::from(v == 0)
    }

    /// Counts a span sampled out on this thread (nothing if the counters are not registered
    /// yet: they are once the generator is seeded).
    #[inline]
    pub(crate) fn bump_sampled_out(&self) {
        if let Some(counters) = &self.counters {
            bump(&counters.sampled_out);
        }
    }

    #[inline]
    fn seeded(&mut self) {
        if self.rng == 0 {
            self.seed_and_register();
        }
    }

    /// Seeds the generator and registers the thread's counters, then makes the thread's state
    /// reachable through [`with_ready_local`]: so a state reached there has both.
    #[cold]
    #[inline(never)]
    fn seed_and_register(&mut self) {
        self.rng = seed();
        let _ = self.counters();
        // `self` is `LOCAL`'s value (the only `Local` there is), alive and borrowed here.
        let _ = LOCAL.try_with(|cell| {
            let _ = WORDS.try_with(|words| words.ready.set(cell));
        });
    }

    /// One wyrand step.
    #[inline]
    fn step(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.rng) * u128::from(self.rng ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
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
        if self.free.len() < self.ring_capacity {
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

    /// Hands a finished span to the collector through this thread's ring (a pointer copy). A
    /// full ring is replaced by one twice as large, up to the export queue's size (so a burst
    /// that size is kept, as `max_queue_size` promises); past that, or while the export queue
    /// is full, the span is shed here: a counter and the slot back into the pool, a few
    /// nanoseconds, no allocation and nothing shared touched. Every recorded span is
    /// accounted for (`stats()`: exported, dropped by reason, sampled out by a tail rule, or
    /// still queued).
    #[inline]
    pub(crate) fn push(&mut self, span: Filled) {
        let error = span.flags & FLAG_ERROR != 0;
        let shed = if hot().queue_full() && !error {
            // The export queue is full: the collector would drop it, so it is dropped here.
            // An error span goes on: the collector keeps it ahead of ok spans.
            Some(span)
        } else {
            self.push_ring(span, error).err()
        };
        let counters = self.counters();
        bump(&counters.recorded);
        if let Some(mut span) = shed {
            // Shed, but still counted and timed: metrics are not biased by overload.
            span.close_meter(false);
            bump(&counters.dropped_queue_full);
            if error {
                bump(&counters.dropped_queue_full_errors);
            }
            let slot = span.discard();
            if self.free.len() < self.ring_capacity {
                self.free.push(slot);
            }
        }
    }

    #[inline]
    fn push_ring(&mut self, span: Filled, error: bool) -> Result<(), Filled> {
        let Some(ring) = &mut self.ring else {
            return self.grow(span);
        };
        // The last eighth of a ring that cannot grow any more is kept for error spans: when
        // the collector falls behind, ok spans are shed first, until it has caught up with
        // half the ring (so it spends the time it has on errors, not on the next ok spans).
        // Free slots as last seen, counted once: the push below only takes one.
        let free = ring.cached_slots();
        if !error && (self.shedding_ok || free < self.ring_capacity / 8) {
            if self.keep_for_errors() {
                return Err(span);
            }
            let Some(ring) = &mut self.ring else {
                return self.grow(span);
            };
            return match ring.push(span) {
                Ok(()) => Ok(()),
                Err(rtrb::PushError::Full(span)) => self.grow(span),
            };
        }
        match ring.push(span) {
            Ok(()) => {
                // Once the ring is half full, wake the collector (rare: once per half ring;
                // `slots()` is only read when the cached count says the ring is filling: it
                // was `free` before this push, so at most `free - 1` now).
                let half = self.ring_capacity / 2;
                if free <= half && ring.slots() < half {
                    wake_collector();
                }
                Ok(())
            }
            Err(rtrb::PushError::Full(span)) => self.grow(span),
        }
    }

    /// Whether an ok span is shed to keep the ring's last eighth for error spans (see
    /// [`push_ring`](Self::push_ring)); wakes the collector when it starts.
    #[cold]
    #[inline(never)]
    fn keep_for_errors(&mut self) -> bool {
        let Some(ring) = &self.ring else {
            return false;
        };
        let free = ring.slots();
        if self.shedding_ok {
            self.shedding_ok = free < self.ring_capacity / 2;
        } else if free < self.ring_capacity / 8 && self.ring_capacity >= max_ring_capacity() {
            self.shedding_ok = true;
            wake_collector();
        }
        self.shedding_ok
    }

    /// This thread's first rings, or larger ones when a burst filled them (the collector
    /// drains the old ones, then drops them); `Err` (shed) when the rings are already as
    /// large as the export queue.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, span: Filled) -> Result<(), Filled> {
        let capacity = if self.ring.is_none() {
            RING_CAPACITY
        } else if self.ring_capacity < max_ring_capacity() {
            (self.ring_capacity * 2).min(max_ring_capacity())
        } else {
            wake_collector();
            return Err(span);
        };
        let (mut producer, spans) = rtrb::RingBuffer::new(capacity);
        let (returns, consumer) = rtrb::RingBuffer::new(capacity);
        // Slots already given back on the old ring are kept; later ones are freed there.
        if let Some(mut old) = self.returns.replace(consumer) {
            let n = old.slots();
            if let Ok(chunk) = old.read_chunk(n) {
                self.free.extend(chunk);
            }
        }
        self.ring_capacity = capacity;
        // The receiver lives in a static, so this cannot fail.
        let _ = NEW_RINGS.0.send(RingPair { spans, returns });
        let pushed = producer
            .push(span)
            .map_err(|rtrb::PushError::Full(span)| span);
        self.ring = Some(producer);
        wake_collector();
        pushed
    }
}

/// A new trace's id and its root span's id from two draws (see
/// [`Local::next_root_ids_ready`]).
#[inline(always)]
fn root_ids(hi: u64, lo: u64) -> (u128, u64) {
    let span_id = hi ^ lo.rotate_left(32);
    // A zero span id (one in 2^64) becomes 1, and so does the trace id's low half then, which
    // makes the all-zero trace id (whose span id is zero) 1 as well: one test and no loop, so
    // the generator's constants are not held in registers across one.
    let zero = u64::from(span_id == 0);
    (
        (u128::from(hi) << 64) | u128::from(lo | zero),
        span_id | zero,
    )
}

/// Never used: `counters()` always sets them first (a static, so no `unwrap` is needed).
static NO_COUNTERS: ThreadCounters = ThreadCounters {
    started: AtomicU64::new(0),
    sampled_out: AtomicU64::new(0),
    recorded: AtomicU64::new(0),
    dropped_queue_full: AtomicU64::new(0),
    dropped_queue_full_errors: AtomicU64::new(0),
    dropped_shutdown: AtomicU64::new(0),
    slots_allocated: AtomicU64::new(0),
};

/// A thread's counters, registered for `stats()` (once per thread).
#[cold]
fn register_counters() -> Arc<ThreadCounters> {
    let counters = Arc::new(ThreadCounters::default());
    lock(&THREAD_COUNTERS).push(counters.clone());
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

#[cfg(test)]
mod tests {
    use super::{root_ids, with_local, Local};

    #[test]
    fn root_ids_are_never_zero() {
        // All-zero draws: both ids become 1.
        assert_eq!(root_ids(0, 0), (1, 1));
        // Draws whose mix is zero: the span id becomes 1, the trace id stays non-zero.
        let lo = 0x0123_4567_89ab_cdef_u64;
        let hi = lo.rotate_left(32);
        let (trace_id, span_id) = root_ids(hi, lo);
        assert_eq!(span_id, 1);
        assert_eq!(trace_id, (u128::from(hi) << 64) | u128::from(lo | 1));
        // Otherwise the draws are the trace id as they are.
        let (trace_id, span_id) = root_ids(7, 9);
        assert_eq!(trace_id, (7 << 64) | 9);
        assert_eq!(span_id, 7 ^ (9 << 32));
    }

    #[test]
    fn root_span_ids_do_not_repeat() {
        let ids = with_local(|local: &mut Local| {
            (0..100_000)
                .map(|_| local.next_root_ids())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
        assert_eq!(ids.len(), 100_000);
        let mut spans = std::collections::HashSet::new();
        let mut traces = std::collections::HashSet::new();
        for (trace_id, span_id) in ids {
            assert!(trace_id != 0 && span_id != 0);
            assert!(spans.insert(span_id), "span id {span_id:x} repeated");
            assert!(traces.insert(trace_id), "trace id {trace_id:x} repeated");
            // The root's id is not one of its trace id's halves.
            assert!(span_id != (trace_id >> 64) as u64 && span_id != trace_id as u64);
        }
    }
}
