//! The span transport: how a finished span travels from the thread that recorded it to the
//! collector, and how its memory comes back. The bottom of the hot path, below both the
//! recording side (`span/`, `context/`), which produces, and the collector (`pipeline/`),
//! which consumes; neither of those imports the other.
//!
//! - [`slot`]: recycled memory for one span record ([`Filled`], [`Slot`](slot::Slot));
//! - [`ring`]: the per-thread single-producer, single-consumer rings (spans out, slots back),
//!   grown on a burst up to the export queue's size, and the channel that hands a thread's
//!   rings to the collector;
//! - [`wake`]: waking the collector;
//! - [`local`]: each thread's state (current-span stack, id generator, slot pool, its ends of
//!   the rings, its counters), reached once per span through one thread-local.

mod local;
mod ring;
mod slot;
mod wake;

pub(crate) use local::{
    defer_frame, defer_frame_if_none, defer_frame_of, take_deferred, with_local, with_ready_local,
    Entered, Local,
};
pub(crate) use ring::{give_back, set_max_ring_capacity, RingPair, NEW_RINGS, RING_CAPACITY};
pub(crate) use slot::Filled;
pub(crate) use wake::{clear_wake_request, set_collector, unpark_collector};
