//! The span limits of the OpenTelemetry specification ("Attribute Limits", "Span Limits"):
//! how long an attribute value may be and how many attributes, events and links a span keeps.
//! Values over the length are truncated (at a character boundary), what is over a count is
//! dropped; both are counted in [`Stats`](crate::Stats) and, per span, in its dropped counts.

use opentelemetry::{Array, KeyValue, StringValue, Value};

use crate::counters::{add, COUNTERS};
use crate::hot::limits;

/// Truncates `attribute`'s value (a string, or each string of an array) to the configured
/// length; counts it if it was longer.
#[inline]
pub(crate) fn limit_value(attribute: &mut KeyValue) {
    let max = limits().value_length();
    let truncated = match &mut attribute.value {
        Value::String(s) if s.as_str().len() > max => {
            *s = cut(s.as_str(), max);
            true
        }
        Value::Array(Array::String(items)) => {
            let mut any = false;
            for s in items.iter_mut().filter(|s| s.as_str().len() > max) {
                *s = cut(s.as_str(), max);
                any = true;
            }
            any
        }
        _ => false,
    };
    if truncated {
        add(&COUNTERS.attribute_values_truncated, 1);
    }
}

/// `attributes` within the limits: values truncated, at most the attribute count kept; returns
/// how many were dropped (counted).
pub(crate) fn limit_attributes(attributes: &mut Vec<KeyValue>) -> u32 {
    let max = limits().attribute_count();
    let dropped = attributes.len().saturating_sub(max);
    if dropped > 0 {
        attributes.truncate(max);
        add(&COUNTERS.attributes_dropped, dropped as u64);
    }
    attributes.iter_mut().for_each(limit_value);
    u32::try_from(dropped).unwrap_or(u32::MAX)
}

/// The longest prefix of `s` of at most `max` bytes that ends at a character boundary.
#[cold]
fn cut(s: &str, max: usize) -> StringValue {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    StringValue::from(s[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_never_splits_a_character() {
        // "é" is two bytes: a cut at 3 of "aéé" keeps "aé".
        assert_eq!(cut("aéé", 3).as_str(), "aé");
        assert_eq!(cut("aéé", 2).as_str(), "a");
        assert_eq!(cut("abc", 10).as_str(), "abc");
    }
}
