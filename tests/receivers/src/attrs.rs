//! Reading attributes of proto spans, events, links, resources and scopes.

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::Span;

/// Anything carrying OTLP attributes: spans, events, links, resources, scopes.
pub trait HasAttributes {
    /// The attribute list.
    fn attributes(&self) -> &[KeyValue];
}

impl HasAttributes for Span {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for Event {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for Link {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for Resource {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for InstrumentationScope {
    fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}
impl HasAttributes for [KeyValue] {
    fn attributes(&self) -> &[KeyValue] {
        self
    }
}
impl HasAttributes for Vec<KeyValue> {
    fn attributes(&self) -> &[KeyValue] {
        self
    }
}

/// The value of attribute `key`, if present (the last one wins on duplicates).
pub fn attr<'a>(item: &'a (impl HasAttributes + ?Sized), key: &str) -> Option<&'a Value> {
    item.attributes()
        .iter()
        .rev()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

/// The string value of attribute `key` (`None` if absent or not a string).
pub fn attr_str<'a>(item: &'a (impl HasAttributes + ?Sized), key: &str) -> Option<&'a str> {
    match attr(item, key) {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

/// The integer value of attribute `key` (`None` if absent or not an integer).
pub fn attr_i64(item: &(impl HasAttributes + ?Sized), key: &str) -> Option<i64> {
    match attr(item, key) {
        Some(Value::IntValue(i)) => Some(*i),
        _ => None,
    }
}

/// The double value of attribute `key` (`None` if absent or not a double).
pub fn attr_f64(item: &(impl HasAttributes + ?Sized), key: &str) -> Option<f64> {
    match attr(item, key) {
        Some(Value::DoubleValue(d)) => Some(*d),
        _ => None,
    }
}

/// The bool value of attribute `key` (`None` if absent or not a bool).
pub fn attr_bool(item: &(impl HasAttributes + ?Sized), key: &str) -> Option<bool> {
    match attr(item, key) {
        Some(Value::BoolValue(b)) => Some(*b),
        _ => None,
    }
}

/// Any attribute value as display text (`"gpt-4o"` → `gpt-4o`, `42` → `42`, arrays as
/// `[a, b]`), for quick comparisons.
pub fn attr_text(item: &(impl HasAttributes + ?Sized), key: &str) -> Option<String> {
    attr(item, key).map(value_text)
}

fn value_text(value: &Value) -> String {
    match value {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        Value::ArrayValue(a) => {
            let items: Vec<String> = a
                .values
                .iter()
                .filter_map(|v| v.value.as_ref())
                .map(value_text)
                .collect();
            format!("[{}]", items.join(", "))
        }
        Value::KvlistValue(kv) => {
            let items: Vec<String> = kv
                .values
                .iter()
                .map(|kv| {
                    let v = kv
                        .value
                        .as_ref()
                        .and_then(|v| v.value.as_ref())
                        .map(value_text)
                        .unwrap_or_default();
                    format!("{}={v}", kv.key)
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::BytesValue(b) => hex(b),
        Value::StringValueStrindex(i) => format!("strindex:{i}"),
    }
}

/// Lowercase hex of an id (`trace_id`, `span_id`, `parent_span_id`); `""` for an empty id.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use opentelemetry_proto::tonic::common::v1::AnyValue;

    use super::*;

    /// A proto attribute.
    pub(crate) fn kv(k: &str, v: Value) -> KeyValue {
        KeyValue {
            key: k.to_owned(),
            value: Some(AnyValue { value: Some(v) }),
            ..KeyValue::default()
        }
    }

    #[test]
    fn attribute_helpers() {
        let attrs = vec![
            kv("s", Value::StringValue("x".to_owned())),
            kv("i", Value::IntValue(3)),
            kv("d", Value::DoubleValue(0.5)),
            kv("b", Value::BoolValue(true)),
        ];
        assert_eq!(attr_str(&attrs, "s"), Some("x"));
        assert_eq!(attr_i64(&attrs, "i"), Some(3));
        assert_eq!(attr_f64(&attrs, "d"), Some(0.5));
        assert_eq!(attr_bool(&attrs, "b"), Some(true));
        assert_eq!(attr_str(&attrs, "i"), None);
        assert_eq!(attr_str(&attrs, "missing"), None);
        assert_eq!(attr_text(&attrs, "i").as_deref(), Some("3"));
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }
}
