//! The span transport: how a finished span travels from the thread that recorded it to the
//! collector, and how its memory comes back. The bottom of the hot path, below both the
//! recording side (`span/`, `context/`), which produces, and the collector (`pipeline/`),
//! which consumes; neither of those imports the other.
//!
//! - [`slot`]: recycled memory for one span record ([`Filled`], [`Slot`](slot::Slot));
//! - [`ring`]: the per-thread single-producer, single-consumer rings (spans out, slots back)
//!   and the channel that hands a new thread's rings to the collector;
//! - [`overflow`]: the shared lane for spans that do not fit in their ring during a burst;
//! - [`wake`]: waking the collector;
//! - [`local`]: each thread's state (current-span stack, id generator, slot pool, its ends of
//!   the rings, its counters), reached once per span through one thread-local.

mod local;
mod overflow;
mod ring;
mod slot;
mod wake;

pub(crate) use local::{with_local, Entered, Local};
pub(crate) use overflow::{pop_overflow, set_overflow_cap};
pub(crate) use ring::{give_back, RingPair, NEW_RINGS};
pub(crate) use slot::Filled;
pub(crate) use wake::{clear_wake_request, set_collector, unpark_collector};
