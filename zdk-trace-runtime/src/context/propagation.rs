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

pub use crate::context::tracestate::{
    parse_tracestate, TracestateError, MAX_KEY_LEN, MAX_MEMBERS, MAX_VALUE_LEN,
};
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

/// The trace flags sent on: sampled (`01`) and W3C Trace Context Level 2's random (`02`).
const PROPAGATED_FLAGS: u8 = 0x01 | crate::record::RANDOM_FLAG;

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
        // The sampled and (Level 2) random flags; the other bits are not defined yet, and a
        // vendor must not propagate bits it does not know.
        TraceFlags::new(flags & PROPAGATED_FLAGS),
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
        span_context.trace_flags().to_u8() & PROPAGATED_FLAGS
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
    let parsed = traceparent_value(extractor)
        .map(|value| value.map(|v| parse_traceparent(v).map_err(|e| e.to_string())));
    let frame = match parsed {
        Ok(None) => None,
        Ok(Some(Ok(sc))) => Frame::from_span_context(&sc, true).map(|mut frame| {
            frame.trace_state = extract_tracestate(extractor).map(Arc::from);
            frame
        }),
        Err(err) | Ok(Some(Err(err))) => {
            add(&COUNTERS.malformed_traceparent, 1);
            warn_once(
                ("malformed traceparent", "propagation"),
                &format!("ignored incoming traceparent: {err}; the request starts a new trace"),
            );
            None
        }
    };
    let cx =
        BaggagePropagator::new().extract_with_context(&opentelemetry::Context::new(), extractor);
    let has_baggage = !cx.baggage().is_empty();
    TraceContext {
        frame,
        baggage: has_baggage.then_some(cx),
    }
}

/// The one `traceparent` of a request. Sent on several lines, it is invalid unless they all
/// say the same (the W3C harness sends two different ones and expects a new trace).
fn traceparent_value(extractor: &dyn Extractor) -> Result<Option<&str>, String> {
    let Some(values) = extractor.get_all(TRACEPARENT_HEADER) else {
        return Ok(None);
    };
    let Some(&first) = values.first() else {
        return Ok(None);
    };
    let trimmed = |v: &str| v.trim_matches([' ', '\t']).to_owned();
    if values.iter().any(|v| trimmed(v) != trimmed(first)) {
        return Err(format!(
            "{} different traceparent headers ({}): a request has one",
            values.len(),
            values.join(", ")
        ));
    }
    Ok(Some(first))
}

/// The request's `tracestate`, all its lines combined and checked; `None` when it has no
/// member or is invalid (then it is discarded, as the specification says, and warned about
/// once).
fn extract_tracestate(extractor: &dyn Extractor) -> Option<String> {
    let lines = extractor.get_all(TRACESTATE_HEADER)?;
    match parse_tracestate(lines) {
        Ok(state) => state,
        Err(err) => {
            warn_once(
                ("invalid tracestate", "propagation"),
                &format!("discarded incoming tracestate: {err}"),
            );
            None
        }
    }
}

/// The header lines of a request, for [`extract`]: every line of a header is kept (names
/// compared without case), so that a `tracestate` sent on several lines is read whole. The
/// [`Extractor`]s of many HTTP libraries return only a header's first line.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::propagation::{self, HeaderLines};
///
/// let request = [
///     ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
///     ("TraceState", "rojo=00f067aa0ba902b7"),
///     ("tracestate", "congo=t61rcWkgMzE"),
/// ];
/// let cx = propagation::extract(&HeaderLines::new(request));
/// let mut out = std::collections::HashMap::new();
/// propagation::inject_context(&cx, &mut out);
/// assert_eq!(out["tracestate"], "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
/// ```
#[derive(Debug, Clone, Default)]
pub struct HeaderLines<'a> {
    lines: Vec<(&'a str, &'a str)>,
}

impl<'a> HeaderLines<'a> {
    /// The lines `(name, value)`, in the order they were received.
    pub fn new(lines: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        HeaderLines {
            lines: lines.into_iter().collect(),
        }
    }
}

impl Extractor for HeaderLines<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|&(_, value)| value)
    }

    fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for &(name, _) in &self.lines {
            if !keys.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                keys.push(name);
            }
        }
        keys
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .lines
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|&(_, value)| value)
            .collect();
        (!values.is_empty()).then_some(values)
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

/// Property tests: the parsers never panic, round-trip what is valid and reject what is not.
#[cfg(test)]
mod props {
    use std::collections::HashMap;

    use proptest::collection::btree_map;
    use proptest::prelude::*;

    use super::*;

    /// A valid `traceparent` of version 00: non-zero ids, flags `00` or `01`.
    fn traceparent() -> impl Strategy<Value = (u128, u64, bool)> {
        (1..=u128::MAX, 1..=u64::MAX, any::<bool>())
    }

    fn text(trace_id: u128, span_id: u64, sampled: bool) -> String {
        format!("00-{trace_id:032x}-{span_id:016x}-0{}", u8::from(sampled))
    }

    fn headers(pairs: &[(&str, String)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    /// A tracestate list-member key as the W3C grammar (and OpenTelemetry) accepts it, without
    /// the multi-tenant `@` form.
    const TRACESTATE_KEY: &str = "[a-z0-9][a-z0-9_*/-]{0,15}";
    /// A tracestate value: printable ASCII but `,` and `=`, no spaces.
    const TRACESTATE_VALUE: &str = "[!-+--<>-~]{1,16}";
    /// A baggage key: an HTTP token, `%` aside (the propagator does not encode it).
    const BAGGAGE_KEY: &str = "[A-Za-z0-9!#$&'*+.^_`|~-]{1,16}";

    proptest! {
        #[test]
        fn parse_traceparent_never_panics(value in any::<String>()) {
            let _ = parse_traceparent(&value);
        }

        #[test]
        fn parse_tracestate_never_panics(
            lines in proptest::collection::vec(any::<String>(), 0..4),
            near in "[a-z0-9@=, \t*/_\\-]{0,80}",
        ) {
            let _ = parse_tracestate(lines.iter().map(String::as_str));
            // What it keeps is valid: parsed again, it is the same list.
            if let Ok(Some(kept)) = parse_tracestate([near.as_str()]) {
                prop_assert_eq!(parse_tracestate([kept.as_str()]), Ok(Some(kept.clone())));
            }
        }

        #[test]
        fn parse_traceparent_never_panics_on_near_misses(value in "[0-9a-fA-F\\- \t\r\n]{0,70}") {
            let _ = parse_traceparent(&value);
        }

        #[test]
        fn extract_never_panics(
            traceparent in any::<String>(),
            tracestate in any::<String>(),
            baggage in any::<String>(),
        ) {
            let _ = extract(&headers(&[
                (TRACEPARENT_HEADER, traceparent),
                (TRACESTATE_HEADER, tracestate),
                ("baggage", baggage),
            ]));
        }

        #[test]
        fn traceparent_round_trips((trace_id, span_id, sampled) in traceparent()) {
            let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
            let sc = SpanContext::new(
                TraceId::from(trace_id),
                SpanId::from(span_id),
                flags,
                true,
                TraceState::default(),
            );
            let formatted = format_traceparent(&sc);
            prop_assert_eq!(&formatted, &text(trace_id, span_id, sampled));
            prop_assert_eq!(parse_traceparent(&formatted), Ok(sc));
        }

        #[test]
        fn wrong_lengths_are_rejected(
            (trace_id, span_id, sampled) in traceparent(),
            field in 0usize..4,
            longer in any::<bool>(),
        ) {
            let valid = text(trace_id, span_id, sampled);
            let mut fields: Vec<String> = valid.split('-').map(str::to_owned).collect();
            if longer {
                fields[field].push('a');
            } else {
                fields[field].pop();
            }
            let bad = fields.join("-");
            prop_assert!(matches!(parse_traceparent(&bad), Err(TraceparentError::Format(_))), "{bad}");
        }

        #[test]
        fn uppercase_hex_is_rejected(
            (trace_id, span_id, sampled) in traceparent(),
            at in 3usize..52,
            upper in "[A-F]",
        ) {
            let mut bad = text(trace_id, span_id, sampled);
            // Positions 3..35 are the trace id, 36..52 the span id (35 is a `-`).
            let at = if at == 35 { 36 } else { at };
            bad.replace_range(at..=at, &upper);
            prop_assert!(matches!(parse_traceparent(&bad), Err(TraceparentError::NotHex(_))), "{bad}");
        }

        #[test]
        fn zero_ids_and_version_ff_are_rejected((trace_id, span_id, sampled) in traceparent()) {
            for bad in [text(0, span_id, sampled), text(trace_id, 0, sampled)] {
                prop_assert!(matches!(parse_traceparent(&bad), Err(TraceparentError::ZeroId(_))), "{bad}");
            }
            let bad = format!("ff{}", &text(trace_id, span_id, sampled)[2..]);
            prop_assert!(matches!(
                parse_traceparent(&bad),
                Err(TraceparentError::ForbiddenVersion(_))
            ));
        }

        #[test]
        fn line_breaks_are_rejected(
            (trace_id, span_id, sampled) in traceparent(),
            at in 0usize..=55,
            line_break in prop::sample::select(vec!["\n", "\r", "\r\n"]),
        ) {
            let mut bad = text(trace_id, span_id, sampled);
            bad.insert_str(at, line_break);
            prop_assert!(parse_traceparent(&bad).is_err(), "{bad:?}");
        }

        #[test]
        fn tracestate_round_trips(
            (trace_id, span_id, sampled) in traceparent(),
            members in btree_map(TRACESTATE_KEY, TRACESTATE_VALUE, 1..=8),
        ) {
            let list: Vec<String> = members.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let tracestate = list.join(",");
            let cx = extract(&headers(&[
                (TRACEPARENT_HEADER, text(trace_id, span_id, sampled)),
                (TRACESTATE_HEADER, tracestate.clone()),
            ]));
            let mut out = HashMap::new();
            inject_context(&cx, &mut out);
            prop_assert_eq!(out.get(TRACESTATE_HEADER), Some(&tracestate));
            prop_assert_eq!(out.get(TRACEPARENT_HEADER), Some(&text(trace_id, span_id, sampled)));
        }

        #[test]
        fn baggage_round_trips_percent_encoded(
            pairs in btree_map(BAGGAGE_KEY, "[^%]{1,12}", 1..=8)
                .prop_filter("the propagator trims values", |pairs| {
                    pairs.values().all(|v| v.trim() == v && !v.is_empty())
                }),
        ) {
            let header: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", percent_encode(v)))
                .collect();
            let cx = extract(&headers(&[("baggage", header.join(","))]));
            let baggage = |cx: &TraceContext| -> Vec<(String, String)> {
                let mut got: Vec<(String, String)> = cx
                    .baggage()
                    .map(|b| {
                        b.iter()
                            .map(|(k, (v, _))| (k.to_string(), v.to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                got.sort();
                got
            };
            let expected: Vec<(String, String)> = pairs.clone().into_iter().collect();
            prop_assert_eq!(baggage(&cx), expected.clone());
            let mut out = HashMap::new();
            inject_context(&cx, &mut out);
            let again = extract(&headers(&[("baggage", out.get("baggage").cloned().unwrap_or_default())]));
            prop_assert_eq!(baggage(&again), expected);
        }
    }

    /// Every byte outside unreserved ASCII as `%XX`.
    fn percent_encode(value: &str) -> String {
        value
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
}
