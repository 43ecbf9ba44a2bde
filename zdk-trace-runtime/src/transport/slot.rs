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
