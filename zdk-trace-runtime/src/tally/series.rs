//! An instrument's attribute sets: each distinct set (keys sorted, a repeated key keeping its
//! last value, as the OpenTelemetry SDK does) is one series, up to the cardinality limit; past
//! it, measurements go to the `otel.metric.overflow = true` series and are counted.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry::{KeyValue, Value};

/// The attribute that marks the overflow series.
pub(crate) const OVERFLOW_KEY: &str = "otel.metric.overflow";

#[derive(Debug)]
pub(crate) struct SeriesTable {
    index: HashMap<Canonical, u32>,
    sets: Vec<Arc<[KeyValue]>>,
    overflow: Option<u32>,
    limit: usize,
}

/// A sorted, deduplicated attribute set, hashable (values hash by their exact bits or text).
#[derive(Debug, Clone)]
struct Canonical(Arc<[KeyValue]>);

impl PartialEq for Canonical {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .all(|(a, b)| a.key == b.key && same_value(&a.value, &b.value))
    }
}

impl Eq for Canonical {}

impl Hash for Canonical {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for kv in self.0.iter() {
            kv.key.as_str().hash(state);
            hash_value(&kv.value, state);
        }
    }
}

fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    match value {
        Value::Bool(b) => (0u8, b).hash(state),
        Value::I64(n) => (1u8, n).hash(state),
        Value::F64(x) => (2u8, x.to_bits()).hash(state),
        Value::String(s) => (3u8, s.as_str()).hash(state),
        // Arrays are rare as metric attributes: hashed by their text.
        other => (4u8, other.to_string()).hash(state),
    }
}

/// Values equal as attributes: floats by their bits (so NaN is one value, and the map's `Eq`
/// is an equivalence). Strings and integers, the usual attribute values, first.
#[inline(always)]
fn same_value(a: &Value, b: &Value) -> bool {
    if let (Value::String(x), Value::String(y)) = (a, b) {
        return same_str(x.as_str(), y.as_str());
    }
    if let (Value::I64(x), Value::I64(y)) = (a, b) {
        return x == y;
    }
    same_other_value(a, b)
}

#[inline(never)]
fn same_other_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// String equality that answers at once for the same `&'static str` (the common case: keys
/// and values written as literals).
#[inline(always)]
fn same_str(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// Whether two attribute lists, as given (not canonical), are the same list.
#[inline(always)]
pub(crate) fn same_attributes(a: &[KeyValue], b: &[KeyValue]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            same_str(x.key.as_str(), y.key.as_str()) && same_value(&x.value, &y.value)
        })
}

/// A string's address and length.
#[inline(always)]
fn raw(s: &str) -> (usize, usize) {
    (s.as_ptr() as usize, s.len())
}

/// A value as [`Remembered`] compares it first.
#[derive(Debug)]
enum Quick {
    /// A string's address and length.
    Str(usize, usize),
    I64(i64),
    /// Compared in full.
    Other,
}

/// An attribute list as a thread's cache keeps it: its own copy, and the address and length
/// of each key and string value of that copy. The copy keeps those strings alive (a `'static`
/// one is the same literal, an owned one is the copy's own allocation, a shared one keeps its
/// allocation), so a string at the same address and length is the same string: a list whose
/// literals are the same is recognised by comparing addresses, without reading the strings.
#[derive(Debug)]
pub(crate) struct Remembered {
    attrs: Box<[KeyValue]>,
    quick: Box<[((usize, usize), Quick)]>,
    pub(crate) series: u32,
}

impl Remembered {
    pub(crate) fn new(attributes: &[KeyValue], series: u32) -> Remembered {
        let attrs: Box<[KeyValue]> = attributes.into();
        let quick = attrs
            .iter()
            .map(|kv| {
                let value = match &kv.value {
                    Value::String(s) => {
                        let (p, l) = raw(s.as_str());
                        Quick::Str(p, l)
                    }
                    Value::I64(n) => Quick::I64(*n),
                    _ => Quick::Other,
                };
                (raw(kv.key.as_str()), value)
            })
            .collect();
        Remembered {
            attrs,
            quick,
            series,
        }
    }

    /// Whether `attributes` is this list.
    #[inline(always)]
    pub(crate) fn matches(&self, attributes: &[KeyValue]) -> bool {
        let quick = &*self.quick;
        if attributes.len() != quick.len() {
            return false;
        }
        for i in 0..quick.len() {
            let (kv, ((kp, kl), value)) = (&attributes[i], &quick[i]);
            let key = kv.key.as_str();
            if key.as_ptr() as usize != *kp || key.len() != *kl {
                return same_attributes(&self.attrs, attributes);
            }
            let same = match (&kv.value, value) {
                (Value::String(s), Quick::Str(p, l)) => {
                    let s = s.as_str();
                    s.as_ptr() as usize == *p && s.len() == *l
                }
                (Value::I64(n), Quick::I64(m)) => {
                    if n != m {
                        return false;
                    }
                    true
                }
                _ => false,
            };
            if !same {
                return same_attributes(&self.attrs, attributes);
            }
        }
        true
    }
}

/// Keys sorted, the last of a repeated key kept.
fn canonical(attributes: &[KeyValue]) -> Canonical {
    let mut sorted: Vec<KeyValue> = attributes.to_vec();
    // Stable, so among equal keys the given order stays: keep the last of each run.
    sorted.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let mut out: Vec<KeyValue> = Vec::with_capacity(sorted.len());
    for kv in sorted {
        match out.last_mut() {
            Some(last) if last.key == kv.key => *last = kv,
            _ => out.push(kv),
        }
    }
    Canonical(out.into())
}

impl SeriesTable {
    pub(crate) fn new(limit: usize) -> SeriesTable {
        SeriesTable {
            index: HashMap::new(),
            sets: Vec::new(),
            overflow: None,
            limit: limit.max(2),
        }
    }

    /// The series of `attributes`: found, new, or (past the limit) the overflow series, with
    /// `overflowed` counting each measurement sent there.
    pub(crate) fn series_of(&mut self, attributes: &[KeyValue], overflowed: &AtomicU64) -> u32 {
        let key = canonical(attributes);
        if let Some(&series) = self.index.get(&key) {
            return series;
        }
        // One place is kept for the overflow series.
        if self.sets.len() + usize::from(self.overflow.is_none()) >= self.limit {
            overflowed.fetch_add(1, Ordering::Relaxed);
            return self.overflow_series();
        }
        let series = self.sets.len() as u32;
        self.sets.push(Arc::clone(&key.0));
        self.index.insert(key, series);
        series
    }

    fn overflow_series(&mut self) -> u32 {
        if let Some(series) = self.overflow {
            return series;
        }
        let series = self.sets.len() as u32;
        self.sets
            .push(Arc::from([KeyValue::new(OVERFLOW_KEY, true)].as_slice()));
        self.overflow = Some(series);
        series
    }

    /// Every series' attributes, by series number.
    pub(crate) fn sets(&self) -> Vec<Arc<[KeyValue]>> {
        self.sets.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_repeats_do_not_make_a_new_series() {
        let mut table = SeriesTable::new(10);
        let n = AtomicU64::new(0);
        let a = table.series_of(&[KeyValue::new("b", 1), KeyValue::new("a", "x")], &n);
        let b = table.series_of(&[KeyValue::new("a", "x"), KeyValue::new("b", 1)], &n);
        let c = table.series_of(
            &[
                KeyValue::new("a", "y"),
                KeyValue::new("b", 1),
                KeyValue::new("a", String::from("x")),
            ],
            &n,
        );
        assert_eq!((a, b, c), (0, 0, 0));
        assert_eq!(table.series_of(&[KeyValue::new("a", "y")], &n), 1);
        assert_eq!(table.sets()[0].len(), 2);
    }

    #[test]
    fn past_the_limit_sets_fold_into_the_overflow_series_and_are_counted() {
        let mut table = SeriesTable::new(4);
        let n = AtomicU64::new(0);
        let series: Vec<u32> = (0..6)
            .map(|i| table.series_of(&[KeyValue::new("model", i64::from(i))], &n))
            .collect();
        // Three sets and the overflow series: the limit counts it.
        assert_eq!(series, [0, 1, 2, 3, 3, 3]);
        assert_eq!(n.load(Ordering::Relaxed), 3);
        assert_eq!(&*table.sets()[3], &[KeyValue::new(OVERFLOW_KEY, true)][..]);
        // A set seen before the limit keeps its series.
        assert_eq!(table.series_of(&[KeyValue::new("model", 1)], &n), 1);
    }

    #[test]
    fn same_attributes_compares_content_not_only_pointers() {
        let owned = String::from("gpt-4o");
        assert!(same_attributes(
            &[KeyValue::new("m", "gpt-4o")],
            &[KeyValue::new("m", owned)]
        ));
        assert!(!same_attributes(
            &[KeyValue::new("m", "gpt-4o")],
            &[KeyValue::new("m", "gpt-4")]
        ));
        assert!(!same_attributes(&[KeyValue::new("m", 1)], &[]));
    }
}
