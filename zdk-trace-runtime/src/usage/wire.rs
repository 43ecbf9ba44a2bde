//! The one place where a [`UsageEvent`] becomes what leaves the machine: the attribute list
//! (`system.os`, `system.arch`, `event.*`), then either the OTLP/JSON body sent to
//! `{endpoint}/v1/traces` or `SpanData` for an exporter given in code.

use std::borrow::Cow;
use std::io::Write;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SpanData, SpanEvents, SpanLinks};
use serde::Serialize;

use super::event::{UsageEvent, UsageValue};

/// The resource of every usage batch: who is counting, never who is being counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageResource {
    pub(crate) service_name: String,
    pub(crate) service_version: Option<String>,
    pub(crate) anonymous_id: String,
    pub(crate) session_id: String,
}

impl UsageResource {
    fn attributes(&self) -> Vec<(&'static str, Cow<'_, str>)> {
        let mut attributes = vec![("service.name", Cow::Borrowed(self.service_name.as_str()))];
        if let Some(version) = &self.service_version {
            attributes.push(("service.version", Cow::Borrowed(version.as_str())));
        }
        attributes.push(("user.id", Cow::Borrowed(self.anonymous_id.as_str())));
        attributes.push(("session.id", Cow::Borrowed(self.session_id.as_str())));
        attributes
    }

    /// As an OpenTelemetry resource, for an exporter given in code.
    pub(crate) fn to_otel(&self) -> opentelemetry_sdk::Resource {
        opentelemetry_sdk::Resource::builder_empty()
            .with_attributes(
                self.attributes()
                    .into_iter()
                    .map(|(k, v)| KeyValue::new(k, v.into_owned())),
            )
            .build()
    }
}

/// The key an allowlisted key is sent as: `agent.type` → `event.agent_type`.
pub(crate) fn wire_key(key: &str) -> String {
    let mut out = String::with_capacity(6 + key.len());
    out.push_str("event.");
    out.extend(key.chars().map(|c| if c == '.' { '_' } else { c }));
    out
}

/// Every attribute of the span an event becomes, in the order they are sent.
fn wire_attributes(event: &UsageEvent) -> Vec<(Cow<'static, str>, UsageValue)> {
    let mut attributes = Vec::with_capacity(event.attributes.len() + 2);
    attributes.push((
        Cow::Borrowed("system.os"),
        UsageValue::Str(std::env::consts::OS),
    ));
    attributes.push((
        Cow::Borrowed("system.arch"),
        UsageValue::Str(std::env::consts::ARCH),
    ));
    for (key, value) in &event.attributes {
        attributes.push((Cow::Owned(wire_key(key)), value.clone()));
    }
    attributes
}

/// The OTLP/JSON request body for `events` (uncompressed; see [`gzip`]).
pub(crate) fn to_otlp_json(resource: &UsageResource, events: &[UsageEvent]) -> Vec<u8> {
    let ids = RandomIdGenerator::default();
    let spans = events
        .iter()
        .map(|event| JsonSpan {
            trace_id: format!("{}", ids.new_trace_id()),
            span_id: format!("{}", ids.new_span_id()),
            name: &event.name,
            start_time_unix_nano: unix_nanos(start_time(event)).to_string(),
            end_time_unix_nano: unix_nanos(event.time).to_string(),
            attributes: wire_attributes(event)
                .into_iter()
                .map(|(key, value)| JsonKeyValue {
                    key,
                    value: JsonValue::from(value),
                })
                .collect(),
        })
        .collect();
    let body = JsonRequest {
        resource_spans: [JsonResourceSpans {
            resource: JsonResource {
                attributes: resource
                    .attributes()
                    .into_iter()
                    .map(|(key, value)| JsonKeyValue {
                        key: Cow::Borrowed(key),
                        value: JsonValue::StringValue(Cow::Owned(value.into_owned())),
                    })
                    .collect(),
            },
            scope_spans: [JsonScopeSpans { spans }],
        }],
    };
    // Serializing plain strings, numbers and vectors into memory cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `bytes` gzip-compressed.
pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// `event` as a span, for an exporter given in code (`UsageOptions::span_exporter`).
pub(crate) fn to_span_data(event: &UsageEvent) -> SpanData {
    let ids = RandomIdGenerator::default();
    SpanData {
        span_context: SpanContext::new(
            ids.new_trace_id(),
            ids.new_span_id(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: event.name.clone(),
        start_time: start_time(event),
        end_time: event.time,
        attributes: wire_attributes(event)
            .into_iter()
            .map(|(key, value)| KeyValue::new(key, otel_value(value)))
            .collect(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("zdk-trace-usage")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    }
}

/// When the span of `event` starts: `duration_ms` before the event was recorded (the end of
/// what it measures, e.g. a `#[usage_event]` call), or at that time when it has no valid
/// duration. The duration is sent anyway, so this reveals nothing more.
fn start_time(event: &UsageEvent) -> SystemTime {
    let duration = event.attributes.iter().find_map(|(key, value)| {
        if key != "duration_ms" {
            return None;
        }
        let nanos = match value {
            UsageValue::F64(ms) => (ms * 1_000_000.0).round(),
            UsageValue::I64(ms) => *ms as f64 * 1_000_000.0,
            _ => return None,
        };
        // Negative, NaN or beyond `u64` nanoseconds (584 years): no duration to trust.
        (nanos >= 0.0 && nanos < u64::MAX as f64).then(|| Duration::from_nanos(nanos as u64))
    });
    duration
        .and_then(|d| event.time.checked_sub(d))
        .unwrap_or(event.time)
}

fn otel_value(value: UsageValue) -> opentelemetry::Value {
    match value {
        UsageValue::Bool(b) => b.into(),
        UsageValue::I64(i) => i.into(),
        UsageValue::F64(f) => f.into(),
        UsageValue::Str(s) => opentelemetry::Value::String(s.into()),
    }
}

fn unix_nanos(time: SystemTime) -> u128 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos()
}

// The OTLP/JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// lowerCamelCase keys, hex ids, 64-bit integers as strings. Structs rather than `json!` so
// that fields keep the order of the seed design.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest<'a> {
    resource_spans: [JsonResourceSpans<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonResourceSpans<'a> {
    resource: JsonResource,
    scope_spans: [JsonScopeSpans<'a>; 1],
}

#[derive(Serialize)]
struct JsonResource {
    attributes: Vec<JsonKeyValue>,
}

#[derive(Serialize)]
struct JsonScopeSpans<'a> {
    spans: Vec<JsonSpan<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpan<'a> {
    trace_id: String,
    span_id: String,
    name: &'a str,
    start_time_unix_nano: String,
    end_time_unix_nano: String,
    attributes: Vec<JsonKeyValue>,
}

#[derive(Serialize)]
struct JsonKeyValue {
    key: Cow<'static, str>,
    value: JsonValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
// The variant names are OTLP's own field names (`stringValue`, …), serialized as they are.
#[allow(clippy::enum_variant_names)]
enum JsonValue {
    StringValue(Cow<'static, str>),
    BoolValue(bool),
    /// OTLP/JSON writes 64-bit integers as strings.
    IntValue(String),
    DoubleValue(f64),
}

impl From<UsageValue> for JsonValue {
    fn from(value: UsageValue) -> Self {
        match value {
            UsageValue::Bool(b) => JsonValue::BoolValue(b),
            UsageValue::I64(i) => JsonValue::IntValue(i.to_string()),
            UsageValue::F64(f) => JsonValue::DoubleValue(f),
            UsageValue::Str(s) => JsonValue::StringValue(Cow::Borrowed(s)),
        }
    }
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn resource() -> UsageResource {
        UsageResource {
            service_name: "my-app".to_owned(),
            service_version: Some("1.2.3".to_owned()),
            anonymous_id: "0b6c2a35-7d2e-4c5b-9a43-3b2f1e0d9c8a".to_owned(),
            session_id: "5f0e8a1c-2b3d-4e5f-8a9b-0c1d2e3f4a5b".to_owned(),
        }
    }

    fn agent_run() -> UsageEvent {
        UsageEvent {
            name: Cow::Borrowed("agent.run"),
            attributes: vec![
                (Cow::Borrowed("agent.type"), UsageValue::Str("simple")),
                (Cow::Borrowed("framework"), UsageValue::Str("pydantic_ai")),
                (Cow::Borrowed("success"), UsageValue::Bool(true)),
                (Cow::Borrowed("duration_ms"), UsageValue::F64(1234.5)),
            ],
            time: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
        }
    }

    #[test]
    fn keys_on_the_wire() {
        assert_eq!(wire_key("agent.type"), "event.agent_type");
        assert_eq!(wire_key("duration_ms"), "event.duration_ms");
    }

    /// The seed design's shape, with the ids and times any receiver needs.
    #[test]
    fn golden_payload() {
        let body = to_otlp_json(&resource(), &[agent_run()]);
        let mut json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let span = &mut json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        let trace_id = span["traceId"].take();
        let span_id = span["spanId"].take();
        assert!(trace_id.as_str().is_some_and(|s| s.len() == 32
            && s.bytes().all(|b| b.is_ascii_hexdigit())
            && s != "0".repeat(32)));
        assert!(span_id.as_str().is_some_and(|s| s.len() == 16
            && s.bytes().all(|b| b.is_ascii_hexdigit())
            && s != "0".repeat(16)));
        let expected = serde_json::json!({"resourceSpans":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"my-app"}},
            {"key":"service.version","value":{"stringValue":"1.2.3"}},
            {"key":"user.id","value":{"stringValue":"0b6c2a35-7d2e-4c5b-9a43-3b2f1e0d9c8a"}},
            {"key":"session.id","value":{"stringValue":"5f0e8a1c-2b3d-4e5f-8a9b-0c1d2e3f4a5b"}}]},
          "scopeSpans":[{"spans":[{"traceId":null,"spanId":null,"name":"agent.run",
            "startTimeUnixNano":"1699999998888956789","endTimeUnixNano":"1700000000123456789",
            "attributes":[
            {"key":"system.os","value":{"stringValue":std::env::consts::OS}},
            {"key":"system.arch","value":{"stringValue":std::env::consts::ARCH}},
            {"key":"event.agent_type","value":{"stringValue":"simple"}},
            {"key":"event.framework","value":{"stringValue":"pydantic_ai"}},
            {"key":"event.success","value":{"boolValue":true}},
            {"key":"event.duration_ms","value":{"doubleValue":1234.5}}]}]}]}]});
        assert_eq!(json, expected);
    }

    #[test]
    fn integers_are_strings_and_no_version_is_omitted() {
        let resource = UsageResource {
            service_version: None,
            ..resource()
        };
        let event = UsageEvent {
            attributes: vec![(Cow::Borrowed("duration_ms"), UsageValue::I64(7))],
            ..agent_run()
        };
        let text = String::from_utf8(to_otlp_json(&resource, &[event])).unwrap();
        assert!(text.contains(r#"{"key":"event.duration_ms","value":{"intValue":"7"}}"#));
        assert!(!text.contains("service.version"), "{text}");
    }

    #[test]
    fn span_data_carries_the_same_attributes() {
        let span = to_span_data(&agent_run());
        assert_eq!(span.name, "agent.run");
        let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "system.os",
                "system.arch",
                "event.agent_type",
                "event.framework",
                "event.success",
                "event.duration_ms"
            ]
        );
        assert!(span.span_context.is_valid());
        // The span lasts what the event measured, ending when it was recorded.
        assert_eq!(span.end_time, agent_run().time);
        assert_eq!(
            span.end_time.duration_since(span.start_time).ok(),
            Some(Duration::from_micros(1_234_500))
        );
    }

    #[test]
    fn without_a_valid_duration_the_span_is_an_instant() {
        for duration in [
            None,
            Some(UsageValue::F64(-1.0)),
            Some(UsageValue::F64(f64::NAN)),
        ] {
            let mut event = agent_run();
            event.attributes.retain(|(k, _)| k != "duration_ms");
            if let Some(d) = duration.clone() {
                event.attributes.push((Cow::Borrowed("duration_ms"), d));
            }
            let span = to_span_data(&event);
            assert_eq!(span.start_time, span.end_time, "{duration:?}");
        }
        let event = UsageEvent {
            attributes: vec![(Cow::Borrowed("duration_ms"), UsageValue::I64(20))],
            ..agent_run()
        };
        let span = to_span_data(&event);
        assert_eq!(
            span.end_time.duration_since(span.start_time).ok(),
            Some(Duration::from_millis(20))
        );
    }

    #[test]
    fn gzip_round_trip() {
        use std::io::Read;
        let body = to_otlp_json(&resource(), &[agent_run()]);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gzip(&body).unwrap().as_slice())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
