//! W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage across processes.
//!
//! Works on any header map through OpenTelemetry's [`Injector`] and [`Extractor`] traits
//! (implemented for `HashMap<String, String>`, and for `http::HeaderMap` by
//! `opentelemetry-http`).

use std::sync::Arc;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::BaggagePropagator;

use crate::context::{Frame, TraceContext};
use crate::counters::{add, COUNTERS};
use crate::warn::warn_once;

/// The `traceparent` header name.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// The `tracestate` header name.
pub const TRACESTATE_HEADER: &str = "tracestate";

/// Why a `traceparent` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceparentError {
    /// Not `version-traceid-parentid-flags`, or a field of the wrong length.
    #[error("malformed traceparent `{0}`: expected `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`")]
    Format(String),
    /// A field holds characters other than lowercase hex.
    #[error("malformed traceparent `{0}`: ids and flags must be lowercase hex")]
    NotHex(String),
    /// Version `ff` is forbidden by the W3C specification.
    #[error("traceparent `{0}` has the forbidden version `ff`")]
    ForbiddenVersion(String),
    /// The trace id or the span id is all zeros.
    #[error("traceparent `{0}` has an all-zero trace id or span id")]
    ZeroId(String),
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a `traceparent` value into a remote span context (without `tracestate`).
///
/// # Errors
///
/// [`TraceparentError`] saying what is wrong with the value.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::propagation::parse_traceparent;
///
/// let sc = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert!(sc.is_sampled() && sc.is_remote());
/// assert!(parse_traceparent("00-xyz-00f067aa0ba902b7-01").is_err());
/// ```
pub fn parse_traceparent(value: &str) -> Result<SpanContext, TraceparentError> {
    // Optional whitespace around a header value is spaces and tabs (RFC 9110 `OWS`); a line
    // break or any other control character is not part of the W3C grammar.
    let value = value.trim_matches([' ', '\t']);
    let mut parts = value.split('-');
    let (Some(version), Some(trace_id), Some(span_id), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TraceparentError::Format(value.to_owned()));
    };
    if version.len() != 2 || trace_id.len() != 32 || span_id.len() != 16 || flags.len() != 2 {
        return Err(TraceparentError::Format(value.to_owned()));
    }
    if ![version, trace_id, span_id, flags]
        .iter()
        .all(|p| is_lower_hex(p))
    {
        return Err(TraceparentError::NotHex(value.to_owned()));
    }
    if version == "ff" {
        return Err(TraceparentError::ForbiddenVersion(value.to_owned()));
    }
    // Version 00 has exactly four fields; later versions may append more.
    if version == "00" && parts.next().is_some() {
        return Err(TraceparentError::Format(value.to_owned()));
    }
    let parse_err = || TraceparentError::NotHex(value.to_owned());
    let trace_id = u128::from_str_radix(trace_id, 16).map_err(|_| parse_err())?;
    let span_id = u64::from_str_radix(span_id, 16).map_err(|_| parse_err())?;
    let flags = u8::from_str_radix(flags, 16).map_err(|_| parse_err())?;
    if trace_id == 0 || span_id == 0 {
        return Err(TraceparentError::ZeroId(value.to_owned()));
    }
    Ok(SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(span_id),
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

/// Formats a span context as a `traceparent` value.
///
/// # Examples
///
/// ```
/// use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
/// let sc = SpanContext::new(TraceId::from(1u128), SpanId::from(2u64), TraceFlags::SAMPLED, false, TraceState::default());
/// assert_eq!(
///     zdk_trace_runtime::propagation::format_traceparent(&sc),
///     "00-00000000000000000000000000000001-0000000000000002-01"
/// );
/// ```
pub fn format_traceparent(span_context: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        span_context.trace_id(),
        span_context.span_id(),
        span_context.trace_flags().to_u8() & TraceFlags::SAMPLED.to_u8()
    )
}

/// Writes the current span's `traceparent` (and `tracestate`, and any baggage of
/// OpenTelemetry's current `Context`) into `injector`. Writes nothing when no span is current.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// let mut headers = HashMap::new();
/// zdk_trace_runtime::propagation::inject(&mut headers);
/// // With a pipeline installed and a span current, `headers["traceparent"]` is set.
/// ```
pub fn inject(injector: &mut dyn Injector) {
    let mut cx = TraceContext::current();
    if cx.baggage.is_none() {
        let current = opentelemetry::Context::current();
        if !current.baggage().is_empty() {
            cx.baggage = Some(current);
        }
    }
    inject_context(&cx, injector);
}

/// Writes `context`'s `traceparent`, `tracestate` and baggage into `injector`.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use zdk_trace_runtime::{propagation, TraceContext};
/// let mut from = HashMap::new();
/// from.insert("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string());
/// let cx = propagation::extract(&from);
/// let mut to = HashMap::new();
/// propagation::inject_context(&cx, &mut to);
/// assert_eq!(to["traceparent"], from["traceparent"]);
/// ```
pub fn inject_context(context: &TraceContext, injector: &mut dyn Injector) {
    if let Some(frame) = &context.frame {
        let sc = frame.to_span_context();
        injector.set(TRACEPARENT_HEADER, format_traceparent(&sc));
        if let Some(state) = &frame.trace_state {
            injector.set(TRACESTATE_HEADER, state.to_string());
        }
    }
    if let Some(cx) = &context.baggage {
        BaggagePropagator::new().inject_context(cx, injector);
    }
}

/// Reads `traceparent`, `tracestate` and `baggage` from `extractor`.
///
/// A missing header gives an empty context (spans started under it begin a new trace). A
/// malformed `traceparent` is ignored the same way, counted in
/// [`Stats::malformed_traceparent`](crate::Stats::malformed_traceparent) and warned about
/// once; it never panics. An invalid `tracestate` is dropped, as the W3C specification says.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// let mut headers = HashMap::new();
/// headers.insert("traceparent".to_string(), "not-a-traceparent".to_string());
/// let cx = zdk_trace_runtime::propagation::extract(&headers);
/// assert!(cx.span_context().is_none());
/// ```
pub fn extract(extractor: &dyn Extractor) -> TraceContext {
    let frame = match extractor.get(TRACEPARENT_HEADER) {
        None => None,
        Some(value) => match parse_traceparent(value) {
            Ok(sc) => Frame::from_span_context(&sc, true).map(|mut frame| {
                frame.trace_state = extractor
                    .get(TRACESTATE_HEADER)
                    .and_then(|s| s.parse::<TraceState>().ok())
                    .map(|state| state.header())
                    .filter(|h| !h.is_empty())
                    .map(Arc::from);
                frame
            }),
            Err(err) => {
                add(&COUNTERS.malformed_traceparent, 1);
                warn_once(
                    ("malformed traceparent", "propagation"),
                    &format!("ignored incoming traceparent: {err}; the request starts a new trace"),
                );
                None
            }
        },
    };
    let cx =
        BaggagePropagator::new().extract_with_context(&opentelemetry::Context::new(), extractor);
    let has_baggage = !cx.baggage().is_empty();
    TraceContext {
        frame,
        baggage: has_baggage.then_some(cx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n",
            "\n00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn accepts_spaces_and_tabs_around_the_value() {
        for ok in [
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \t",
        ] {
            assert!(parse_traceparent(ok).is_ok(), "{ok:?} rejected");
        }
    }

    #[test]
    fn accepts_future_versions_with_extra_fields() {
        let sc = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(sc.is_sampled());
    }

    #[test]
    fn round_trips() {
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        let sc = parse_traceparent(v).unwrap_or_else(|e| panic!("{e}"));
        assert!(!sc.is_sampled());
        assert_eq!(format_traceparent(&sc), v);
    }
}
