//! A record's attributes: up to [`INLINE`] pairs in the record itself, more on the heap.
//!
//! The count comes first, then the pairs, in a `repr(C)` layout: at the end of the record,
//! the header a span always writes and its first two pairs fill four cache lines. `SmallVec`
//! (used before) keeps its count after its inline pairs, so a span with two attributes also
//! wrote, and the collector read from the other core, the record's last line: five lines
//! a span (BENCHMARKS.md, issue 12).

use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut};

use opentelemetry::{Key, KeyValue, Value};

/// How many pairs a record holds without the heap.
pub(crate) const INLINE: usize = 4;

/// `len` when the pairs are on the heap (all of them).
const SPILLED: usize = usize::MAX;

/// Pairs in order, inline up to [`INLINE`], then all on the heap. Derefs to a slice.
#[repr(C)]
pub(crate) struct Attributes {
    /// `0..=INLINE`: that many pairs, from the first, are initialised in `data.inline`.
    /// [`SPILLED`]: `data.heap` holds them.
    len: usize,
    data: Data,
}

#[repr(C)]
union Data {
    inline: ManuallyDrop<[MaybeUninit<KeyValue>; INLINE]>,
    heap: ManuallyDrop<Vec<KeyValue>>,
}

impl Attributes {
    /// No pairs. Writes one word: the pairs' room is left as it is.
    #[inline(always)]
    pub(crate) const fn new() -> Attributes {
        Attributes {
            len: 0,
            data: Data {
                inline: ManuallyDrop::new([const { MaybeUninit::uninit() }; INLINE]),
            },
        }
    }

    /// Whether the pairs are on the heap (more than [`INLINE`] were pushed).
    #[inline(always)]
    pub(crate) fn spilled(&self) -> bool {
        self.len == SPILLED
    }

    /// Appends a pair.
    #[inline(always)]
    pub(crate) fn push(&mut self, pair: KeyValue) {
        self.push_with(|| pair);
    }

    /// Appends `key = value`, the pair built where it will lie. Built first and then pushed,
    /// it went through the stack in 8-byte stores and came back in 16-byte loads, which the
    /// CPU cannot forward: a stall per load, ~18 ns per span of two attributes on the
    /// application thread (BENCHMARKS.md, issue 12).
    #[inline(always)]
    pub(crate) fn push_pair(&mut self, key: Key, value: Value) {
        self.push_with(|| KeyValue::new(key, value));
    }

    /// Inline, the count is read once and the pair written where it goes, with nothing in
    /// between that reads it back.
    #[inline(always)]
    fn push_with(&mut self, pair: impl FnOnce() -> KeyValue) {
        let len = self.len;
        if len < INLINE {
            // SAFETY: not spilled, so `inline` is the field in use; `len < INLINE` is in
            // bounds, and the slot at `len` holds no initialised pair (only the first `len`
            // do), so nothing is overwritten without its drop.
            unsafe { (*self.data.inline)[len].write(pair()) };
            self.len = len + 1;
        } else if len == SPILLED {
            // SAFETY: spilled, so `heap` is the field in use and initialised.
            unsafe { (*self.data.heap).push(pair()) };
        } else {
            self.spill(pair());
        }
    }

    /// The fifth pair: all of them move to a heap vector.
    #[cold]
    #[inline(never)]
    fn spill(&mut self, pair: KeyValue) {
        let mut heap = Vec::with_capacity(2 * INLINE);
        // SAFETY: not spilled and full, so the `INLINE` inline pairs are initialised; each is
        // read (moved) once into `heap`, and `len` is set before anything can panic (the
        // push below may allocate, and only after `data.heap` owns them), so none is owned
        // twice or dropped from `inline` again.
        unsafe {
            for slot in self.data.inline.iter() {
                heap.push(slot.assume_init_read());
            }
        }
        self.len = SPILLED;
        self.data.heap = ManuallyDrop::new(heap);
        // SAFETY: `heap` was just written.
        unsafe { (*self.data.heap).push(pair) };
    }

    /// Moves the pairs out into the `Vec` `SpanData` holds, leaving none. Spilled, the heap
    /// vector is returned as it is; inline, the pairs are copied once into a `Vec` of their
    /// exact length (moved one by one through an iterator, they were a tenth of the
    /// collector's time into a user `SpanExporter`: BENCHMARKS.md, issue 12).
    #[inline]
    pub(crate) fn take_vec(&mut self) -> Vec<KeyValue> {
        if self.spilled() {
            self.len = 0;
            // SAFETY: it was spilled, so `heap` was initialised; it is read out once, and
            // `len = 0` makes `inline` (with no pairs) the field in use, so it is not dropped
            // again.
            return unsafe { ManuallyDrop::take(&mut self.data.heap) };
        }
        let len = self.len;
        let mut out = Vec::with_capacity(len);
        // SAFETY: the first `len` inline pairs are initialised; `out` has room for `len` and
        // does not overlap them. They are copied bit for bit, forgotten here (`len = 0`,
        // nothing dropped) and owned by `out`: each is owned once, and nothing between can
        // panic.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.data.inline.as_ptr().cast::<KeyValue>(),
                out.as_mut_ptr(),
                len,
            );
            self.len = 0;
            out.set_len(len);
        }
        out
    }
}

impl Default for Attributes {
    fn default() -> Attributes {
        Attributes::new()
    }
}

impl Drop for Attributes {
    fn drop(&mut self) {
        if self.spilled() {
            // SAFETY: spilled, so `heap` is in use; dropped once, here.
            unsafe { ManuallyDrop::drop(&mut self.data.heap) };
        } else {
            let pairs: &mut [KeyValue] = self;
            // SAFETY: the slice is the initialised inline pairs, dropped once, here.
            unsafe { std::ptr::drop_in_place(pairs) };
        }
    }
}

impl Deref for Attributes {
    type Target = [KeyValue];

    #[inline(always)]
    fn deref(&self) -> &[KeyValue] {
        if self.spilled() {
            // SAFETY: spilled, so `heap` is in use.
            unsafe { &self.data.heap }
        } else {
            // SAFETY: not spilled, so `inline` is in use and its first `len` pairs are
            // initialised.
            unsafe {
                std::slice::from_raw_parts(self.data.inline.as_ptr().cast::<KeyValue>(), self.len)
            }
        }
    }
}

impl DerefMut for Attributes {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [KeyValue] {
        if self.spilled() {
            // SAFETY: spilled, so `heap` is in use.
            unsafe { &mut self.data.heap }
        } else {
            // SAFETY: not spilled, so `inline` is in use and its first `len` pairs are
            // initialised.
            unsafe {
                std::slice::from_raw_parts_mut(
                    (*self.data.inline).as_mut_ptr().cast::<KeyValue>(),
                    self.len,
                )
            }
        }
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = &'a KeyValue;
    type IntoIter = std::slice::Iter<'a, KeyValue>;

    fn into_iter(self) -> std::slice::Iter<'a, KeyValue> {
        self.iter()
    }
}

impl std::fmt::Debug for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl FromIterator<KeyValue> for Attributes {
    fn from_iter<I: IntoIterator<Item = KeyValue>>(pairs: I) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.extend(pairs);
        attributes
    }
}

impl Extend<KeyValue> for Attributes {
    fn extend<I: IntoIterator<Item = KeyValue>>(&mut self, pairs: I) {
        for pair in pairs {
            self.push(pair);
        }
    }
}

impl From<Vec<KeyValue>> for Attributes {
    fn from(pairs: Vec<KeyValue>) -> Attributes {
        if pairs.len() <= INLINE {
            return pairs.into_iter().collect();
        }
        Attributes {
            len: SPILLED,
            data: Data {
                heap: ManuallyDrop::new(pairs),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opentelemetry::{KeyValue, StringValue, Value};

    use super::{Attributes, INLINE};

    /// A pair whose value holds `owner` (counted through the `Arc`).
    fn owning(i: usize, owner: &Arc<str>) -> KeyValue {
        KeyValue::new(
            format!("key.{i}"),
            Value::String(StringValue::from(owner.clone())),
        )
    }

    #[test]
    fn pairs_keep_their_order_inline_and_spilled_and_each_is_dropped_once() {
        for n in 0..=2 * INLINE + 1 {
            let owner: Arc<str> = Arc::from("owned");
            let mut attributes = Attributes::new();
            for i in 0..n {
                attributes.push(owning(i, &owner));
            }
            assert_eq!(attributes.len(), n);
            assert_eq!(attributes.spilled(), n > INLINE, "{n} pairs");
            let keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
            let expected: Vec<String> = (0..n).map(|i| format!("key.{i}")).collect();
            assert_eq!(keys, expected, "{n} pairs");
            assert_eq!(Arc::strong_count(&owner), 1 + n);
            drop(attributes);
            assert_eq!(Arc::strong_count(&owner), 1, "{n} pairs: each dropped once");
        }
    }

    #[test]
    fn pairs_taken_out_are_moved_once_in_order() {
        for n in 0..=2 * INLINE {
            let owner: Arc<str> = Arc::from("owned");
            let mut attributes: Attributes = (0..n).map(|i| owning(i, &owner)).collect();
            let taken = attributes.take_vec();
            assert!(attributes.is_empty() && !attributes.spilled(), "{n} pairs");
            assert_eq!(taken.len(), n);
            assert!(taken
                .iter()
                .enumerate()
                .all(|(i, kv)| kv.key.as_str() == format!("key.{i}")));
            assert_eq!(Arc::strong_count(&owner), 1 + n, "{n} pairs: none dropped");
            // Emptied, it takes pairs again.
            attributes.push(KeyValue::new("again", true));
            assert_eq!(attributes.len(), 1);
            drop(attributes);
            drop(taken);
            assert_eq!(Arc::strong_count(&owner), 1, "{n} pairs: each dropped once");
        }
    }

    #[test]
    fn pairs_change_in_place_and_a_vector_converts_either_way() {
        for n in [0, 3, INLINE, INLINE + 3] {
            let pairs: Vec<KeyValue> = (0..n).map(|i| KeyValue::new("k", i as i64)).collect();
            let mut attributes = Attributes::from(pairs.clone());
            assert_eq!(&attributes[..], &pairs[..]);
            assert_eq!(attributes.spilled(), n > INLINE);
            attributes
                .iter_mut()
                .for_each(|kv| kv.value = Value::Bool(true));
            assert!(attributes.iter().all(|kv| kv.value == Value::Bool(true)));
            assert_eq!(format!("{attributes:?}").matches("Bool(true)").count(), n);
        }
    }
}
