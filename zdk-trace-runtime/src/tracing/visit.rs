//! The fields of `tracing` spans and events, read into attributes: typed values stay typed,
//! `?debug`/`%display` values and errors become strings, the `otel.*` conventions are
//! applied, and names on the privacy denylist are dropped and counted.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use smallvec::SmallVec;
use tracing_core::field::{Field, Visit};

use crate::counters::{add, COUNTERS};
use crate::privacy::denied;
use crate::warn::warn_once;

/// Whether `field` may be recorded; counts and warns (once) when it may not.
fn allowed(field: &Field) -> bool {
    if !denied(field.name()) {
        return true;
    }
    add(&COUNTERS.private_fields_dropped, 1);
    warn_once(
        ("private field", "tracing"),
        &format!(
            "zdk-trace: the `tracing` field `{}` was not recorded: its name looks like personal \
             data or a secret (later ones are only counted in stats().private_fields_dropped); \
             record a non-identifying value under another name if it is needed",
            field.name()
        ),
    );
    false
}

/// A `u64` as an attribute value: an integer when it fits OpenTelemetry's `i64`, else its
/// decimal string.
fn unsigned(key: &'static str, value: u64) -> KeyValue {
    match i64::try_from(value) {
        Ok(v) => KeyValue::new(key, v),
        Err(_) => KeyValue::new(key, value.to_string()),
    }
}

/// The fields of a span (at creation or in `record`).
#[derive(Debug, Default)]
pub(super) struct SpanFields {
    pub(super) attributes: SmallVec<[KeyValue; 4]>,
    /// `otel.name`.
    pub(super) name: Option<Cow<'static, str>>,
    /// `otel.kind`.
    pub(super) kind: Option<SpanKind>,
    /// `otel.status_code` and `otel.status_description` combined.
    pub(super) status: Option<Status>,
    description: Option<String>,
}

impl SpanFields {
    /// Reads an `otel.*` convention; false if `field` is not one.
    fn convention(&mut self, field: &Field, value: &str) -> bool {
        match field.name() {
            "otel.name" => self.name = Some(Cow::Owned(value.to_owned())),
            "otel.kind" => self.kind = kind(value),
            "otel.status_code" => {
                self.status = match value.to_ascii_lowercase().as_str() {
                    "ok" => Some(Status::Ok),
                    "error" => Some(Status::error(self.description.take().unwrap_or_default())),
                    _ => None,
                }
            }
            "otel.status_description" | "otel.status_message" => {
                if let Some(Status::Error { description }) = &mut self.status {
                    *description = Cow::Owned(value.to_owned());
                } else {
                    self.description = Some(value.to_owned());
                }
            }
            _ => return false,
        }
        true
    }
}

/// `otel.kind`'s value, as tracing-opentelemetry reads it (any case).
fn kind(value: &str) -> Option<SpanKind> {
    Some(match value.to_ascii_lowercase().as_str() {
        "client" => SpanKind::Client,
        "server" => SpanKind::Server,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => return None,
    })
}

impl Visit for SpanFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.convention(field, value) || !allowed(field) {
            return;
        }
        self.attributes
            .push(KeyValue::new(field.name(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if self.convention(field, &text) || !allowed(field) {
            return;
        }
        self.attributes.push(KeyValue::new(field.name(), text));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if allowed(field) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if allowed(field) {
            self.attributes.push(unsigned(field.name(), value));
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if allowed(field) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if allowed(field) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if allowed(field) {
            self.attributes
                .push(KeyValue::new(field.name(), value.to_string()));
        }
    }
}

/// The fields of an event: its message apart (the event's name), the rest as attributes.
#[derive(Debug, Default)]
pub(super) struct EventFields {
    pub(super) message: Option<String>,
    pub(super) attributes: SmallVec<[KeyValue; 4]>,
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else if allowed(field) {
            self.attributes
                .push(KeyValue::new(field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = Some(format!("{value:?}"));
        } else if allowed(field) {
            self.attributes
                .push(KeyValue::new(field.name(), format!("{value:?}")));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if allowed(field) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if allowed(field) {
            self.attributes.push(unsigned(field.name(), value));
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if allowed(field) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if allowed(field) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if allowed(field) {
            self.attributes
                .push(KeyValue::new(field.name(), value.to_string()));
        }
    }
}
