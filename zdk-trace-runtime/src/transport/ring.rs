//! The per-thread rings between the application threads and the collector: finished spans
//! one way, empty slots back the other.
//!
//! Each ring is a single-producer, single-consumer queue ([`rtrb`]) of pointers, allocated
//! once per thread on its first recorded span. The thread's ends stay in its
//! [`Local`](super::local::Local); the collector's ends ([`RingPair`]) reach the collector
//! through [`NEW_RINGS`].

use std::sync::atomic::{AtomicUsize, Ordering};

use once_cell::sync::Lazy;

use super::slot::{Filled, Slot};

/// Spans a thread's first ring holds. A ring that fills up is replaced by one twice as large,
/// up to [`max_ring_capacity`]; the ring of returned slots always has the same capacity, and a
/// thread keeps at most that many idle slots. A thread holds at most its ring's capacity of
/// finished spans in flight plus as many idle slots plus its open spans, 320 bytes each, and
/// only what it used: a ring grows only when its thread recorded more spans than it holds
/// while the collector was away (a thread that records one span has one slot; one recording a
/// million spans a second through a stall of the collector longer than 16 ms reaches 32 768,
/// up to 21 MB, at the default queue size).
pub(crate) const RING_CAPACITY: usize = 1024;

/// The largest ring: the export queue's size (`max_queue_size`), set by each pipeline.
static MAX_RING_CAPACITY: AtomicUsize = AtomicUsize::new(RING_CAPACITY);

/// See [`MAX_RING_CAPACITY`].
pub(crate) fn max_ring_capacity() -> usize {
    MAX_RING_CAPACITY.load(Ordering::Relaxed)
}

/// Sets [`max_ring_capacity`] (a new pipeline's queue size; never below [`RING_CAPACITY`]).
pub(crate) fn set_max_ring_capacity(max_queue_size: usize) {
    MAX_RING_CAPACITY.store(max_queue_size.max(RING_CAPACITY), Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use opentelemetry::trace::SpanKind;
    use opentelemetry::KeyValue;

    use super::{give_back, RingPair};
    use crate::record::RawSpan;
    use crate::transport::slot::{Filled, Slot};

    fn record(span_id: u64) -> RawSpan {
        RawSpan {
            trace_id: 9,
            span_id,
            parent_id: 0,
            start: 0,
            end: 0,
            name: Cow::Owned(format!("span {span_id}")),
            kind: SpanKind::Internal,
            flags: 0,
            dropped: 0,
            plain: 0,
            attributes: (0..5).map(|i| KeyValue::new("k", i64::from(i))).collect(),
            extras: None,
            meter: None,
            agent: None,
            random: false,
        }
    }

    /// What a thread and the collector do with a pair of rings, on two threads: spans one way,
    /// slots back, the producer reusing what comes back; then the producer exits with spans
    /// still in its ring, which the consumer drains and frees.
    #[test]
    fn spans_and_slots_cross_two_threads_without_loss_or_leak() {
        let (mut spans_tx, spans) = rtrb::RingBuffer::<Filled>::new(64);
        let (returns, mut returns_rx) = rtrb::RingBuffer::<Slot>::new(64);
        let mut pair = RingPair { spans, returns };
        const N: u64 = 2_000;
        let producer = std::thread::spawn(move || {
            let mut reused = 0;
            let mut sent = 0;
            while sent < N {
                let slot = match returns_rx.pop() {
                    Ok(slot) => {
                        reused += 1;
                        slot
                    }
                    Err(_) => Box::new_uninit(),
                };
                let mut span = Filled::new(slot, record(sent));
                loop {
                    match spans_tx.push(span) {
                        Ok(()) => break,
                        Err(rtrb::PushError::Full(back)) => {
                            span = back;
                            std::thread::yield_now();
                        }
                    }
                }
                sent += 1;
            }
            // Left in the rings when the thread exits: freed by whoever holds them last.
            let _ = spans_tx.push(Filled::new(Box::new_uninit(), record(N)));
            reused
        });
        let mut seen = 0;
        while seen <= N {
            match pair.spans.pop() {
                Ok(span) => {
                    assert_eq!(span.span_id, seen);
                    let slot = if seen % 2 == 0 {
                        span.discard()
                    } else {
                        let (raw, slot) = span.take();
                        assert_eq!(raw.attributes.len(), 5);
                        slot
                    };
                    give_back(&mut pair.returns, slot);
                    seen += 1;
                }
                Err(_) => std::thread::yield_now(),
            }
        }
        let reused = producer
            .join()
            .unwrap_or_else(|_| panic!("producer panicked"));
        assert!(reused > 0, "no slot came back");
        assert!(pair.spans.is_abandoned());
        // The producer is gone: a slot given back now is freed, not queued.
        give_back(&mut pair.returns, Box::new_uninit());
    }
}
