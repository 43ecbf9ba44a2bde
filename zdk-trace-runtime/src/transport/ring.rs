//! The per-thread rings between the application threads and the collector: finished spans
//! one way, empty slots back the other.
//!
//! Each ring is a single-producer, single-consumer queue ([`rtrb`]) of pointers, allocated
//! once per thread on its first recorded span. The thread's ends stay in its
//! [`Local`](super::local::Local); the collector's ends ([`RingPair`]) reach the collector
//! through [`NEW_RINGS`].

use once_cell::sync::Lazy;

use super::slot::{Filled, Slot};

/// Spans a thread's ring holds before the collector must drain it.
pub(crate) const RING_CAPACITY: usize = 1024;

/// Empty slots the collector can give back to a thread at once, and the most a thread keeps
/// idle in its pool; more are freed. A thread holds at most this many idle slots, plus one
/// ring of finished spans in flight, plus its open spans: about 1 000 × 320 bytes at rest
/// after a burst, and only what it used (a thread that records one span has one slot).
pub(crate) const POOL_CAPACITY: usize = RING_CAPACITY;

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
