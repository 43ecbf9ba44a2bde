//! Span record slots: recycled memory for one record each, written in place by the thread
//! that starts a span and read in place (or moved out) by the collector.
//!
//! This is where the transport's `unsafe` lives: a [`Filled`] slot is initialised by
//! construction, and every way out of it (`take`, `discard`, `empty_head_dropped`, `Drop`)
//! consumes it, so its record is read or dropped exactly once.

use std::borrow::Cow;
use std::mem::{ManuallyDrop, MaybeUninit};

use crate::record::RawSpan;

/// Memory for one span record, recycled between a thread and the collector: a thread takes
/// one from its pool when a recorded span starts, the record is written into it in place, and
/// the collector gives it back once it has read the record.
pub(crate) type Slot = Box<MaybeUninit<RawSpan>>;

/// A slot holding a record: what a recording [`Span`](crate::Span) owns, and what the rings
/// carry (a pointer, not the 320-byte record).
///
/// Invariant, relied on by every `unsafe` block below: the slot inside is initialised for the
/// whole life of the `Filled` (only [`new`](Filled::new) makes one), and the `ManuallyDrop` is
/// emptied only by a method that consumes the `Filled` and never touches it again.
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

    /// Drops the record in place and gives the empty slot back. A record that owns no
    /// memory ([`RawSpan::owns_nothing`]: a macro's span with literal and scalar attributes)
    /// is left undropped: its drop glue would free nothing.
    #[inline]
    pub(crate) fn discard(self) -> Slot {
        let owns_nothing = self.owns_nothing();
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the slot is taken exactly once.
        let mut slot = unsafe { ManuallyDrop::take(&mut this.0) };
        if !owns_nothing {
            // SAFETY: a `Filled` slot is initialised (`new`); after this it is logically
            // empty, and an empty `Slot` never drops its contents.
            unsafe { slot.assume_init_drop() };
        }
        // Otherwise the slot is logically empty all the same, its record never read again;
        // what it held owns no memory, so nothing leaks.
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
        // SAFETY: a `Filled` slot is initialised while the `Filled` lives (the type's
        // invariant), and `&self` proves it has not been consumed.
        unsafe { self.0.assume_init_ref() }
    }
}

impl std::ops::DerefMut for Filled {
    #[inline]
    fn deref_mut(&mut self) -> &mut RawSpan {
        // SAFETY: a `Filled` slot is initialised while the `Filled` lives (the type's
        // invariant), and `&mut self` proves it has not been consumed.
        unsafe { self.0.assume_init_mut() }
    }
}

impl Drop for Filled {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and only for a `Filled` no consuming method emptied (they
        // wrap `self` in `ManuallyDrop` first), so the slot is still there and initialised:
        // it is taken and its record dropped exactly once.
        unsafe {
            let mut slot = ManuallyDrop::take(&mut self.0);
            slot.assume_init_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use opentelemetry::KeyValue;

    use super::{Filled, Slot};
    use crate::record::{owning_record, Attributes, Extras, RawSpan};

    /// A record owning memory everywhere, with 6 attributes (spilled).
    fn owning(span_id: u64) -> RawSpan {
        owning_record(span_id, 6)
    }

    /// A head-dropped record: ids, a borrowed name, at most a `tracestate`.
    fn head_dropped() -> RawSpan {
        RawSpan {
            name: Cow::Borrowed("dropped"),
            attributes: Attributes::new(),
            extras: Some(Box::new(Extras {
                trace_state: Some(Arc::from("k=v")),
                ..Extras::default()
            })),
            meter: None,
            agent: None,
            random: false,
            ..owning(1)
        }
    }

    fn empty() -> Slot {
        Box::new_uninit()
    }

    #[test]
    fn take_moves_the_record_out_once_and_the_slot_is_reused() {
        let filled = Filled::new(empty(), owning(1));
        assert_eq!(filled.span_id, 1);
        let (raw, slot) = filled.take();
        assert_eq!((raw.span_id, raw.attributes.len()), (1, 6));
        // The same memory takes a second record.
        let mut filled = Filled::new(slot, owning(2));
        filled.attributes.push(KeyValue::new("late", true));
        let (raw2, _slot) = filled.take();
        assert_eq!((raw2.span_id, raw2.attributes.len()), (2, 7));
        drop((raw, raw2));
    }

    #[test]
    fn discard_drops_the_record_in_place() {
        let slot = Filled::new(empty(), owning(3)).discard();
        let filled = Filled::new(slot, owning(4));
        assert_eq!(filled.name, "span 4");
    }

    #[test]
    fn dropping_a_filled_slot_drops_its_record() {
        for id in 0..10 {
            drop(Filled::new(empty(), owning(id)));
        }
    }

    #[test]
    fn a_head_dropped_record_is_emptied_without_leaking_its_tracestate() {
        let slot = Filled::new(empty(), head_dropped()).empty_head_dropped();
        let (raw, _slot) = Filled::new(slot, owning(5)).take();
        assert_eq!(raw.span_id, 5);
    }
}
