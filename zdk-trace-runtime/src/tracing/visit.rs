//! The fields of `tracing` spans and events, read into attributes: typed values stay typed,
//! `?debug`/`%display` values and errors become strings, the `otel.*` conventions are
//! applied, and names on the privacy denylist are dropped and counted.

use std::fmt;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use smallvec::SmallVec;
use tracing_core::field::{Field, Visit};

use crate::counters::{add, COUNTERS};
use crate::privacy::denied_static;
use crate::span::Span;
use crate::warn::warn_once;

/// Whether `field` may be recorded; counts and warns (once) when it may not.
fn allowed(field: &Field) -> bool {
    if !denied_static(field.name()) {
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

/// Writes the fields of a span (at creation or in `record`) straight into it: typed
/// attributes, and the `otel.*` conventions.
pub(super) struct SpanWriter<'a> {
    span: &'a mut Span,
    /// `otel.kind` is read only when the span starts.
    at_start: bool,
    /// `otel.status_code = "error"` was read: the status is set when the fields are done,
    /// with `otel.status_description` if it comes after.
    error: bool,
    description: Option<String>,
    /// Whether the fields set a status.
    pub(super) status_set: bool,
}

impl<'a> SpanWriter<'a> {
    pub(super) fn new(span: &'a mut Span, at_start: bool) -> Self {
        SpanWriter {
            span,
            at_start,
            error: false,
            description: None,
            status_set: false,
        }
    }

    /// Sets the error status the fields asked for.
    pub(super) fn finish(self) -> bool {
        if self.error {
            let description = self.description.unwrap_or_default();
            self.span.set_status(Status::error(description));
        }
        self.status_set
    }

    /// Reads an `otel.*` convention; false if `field` is not one.
    fn convention(&mut self, field: &Field, value: &str) -> bool {
        match field.name() {
            "otel.name" => self.span.update_name(value.to_owned()),
            "otel.kind" => {
                if let (true, Some(kind)) = (self.at_start, kind(value)) {
                    self.span.set_kind(kind);
                }
            }
            "otel.status_code" => {
                if value.eq_ignore_ascii_case("ok") {
                    self.span.set_status(Status::Ok);
                    self.error = false;
                    self.status_set = true;
                } else if value.eq_ignore_ascii_case("error") {
                    self.error = true;
                    self.status_set = true;
                }
            }
            "otel.status_description" | "otel.status_message" => {
                self.description = Some(value.to_owned());
            }
            _ => return false,
        }
        true
    }

    fn attribute(&mut self, attribute: KeyValue) {
        self.span.set_attribute(attribute);
    }
}

/// `otel.kind`'s value, as tracing-opentelemetry reads it (any case).
fn kind(value: &str) -> Option<SpanKind> {
    const KINDS: [(&str, SpanKind); 5] = [
        ("client", SpanKind::Client),
        ("server", SpanKind::Server),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
    ];
    KINDS
        .into_iter()
        .find(|(name, _)| value.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
}

impl Visit for SpanWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.convention(field, value) || !allowed(field) {
            return;
        }
        self.attribute(KeyValue::new(field.name(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if self.convention(field, &text) || !allowed(field) {
            return;
        }
        self.attribute(KeyValue::new(field.name(), text));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if allowed(field) {
            self.attribute(KeyValue::new(field.name(), value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if allowed(field) {
            self.attribute(unsigned(field.name(), value));
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if allowed(field) {
            self.attribute(KeyValue::new(field.name(), value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if allowed(field) {
            self.attribute(KeyValue::new(field.name(), value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if allowed(field) {
            self.attribute(KeyValue::new(field.name(), value.to_string()));
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
