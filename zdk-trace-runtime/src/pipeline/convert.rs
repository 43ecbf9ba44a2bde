//! RawSpan → `SpanData`, on the collector thread.

use std::borrow::Cow;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::clock;
use crate::record::{RawSpan, FLAG_PARENT_REMOTE};

/// Moves what `SpanData` needs out of `raw` (read in place, in its slot: the 320-byte record is
/// not copied first); what is left in `raw` owns nothing and drops for free.
pub(crate) fn to_span_data(raw: &mut RawSpan, scope: &InstrumentationScope) -> SpanData {
    let status = raw.status();
    let trace_state = raw
        .trace_state()
        .map(|s| &**s)
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    // Every exported span is sampled, whether the head sampler or a tail rule kept it.
    let span_context = SpanContext::new(
        TraceId::from(raw.trace_id),
        SpanId::from(raw.span_id),
        TraceFlags::SAMPLED,
        false,
        trace_state,
    );
    let mut events = SpanEvents::default();
    let mut links = SpanLinks::default();
    if let Some(extras) = raw.extras.take() {
        events.events = extras.events;
        events.dropped_count = extras.dropped_events;
        links.links = extras.links;
        links.dropped_count = extras.dropped_links;
    }
    SpanData {
        span_context,
        parent_span_id: if raw.parent_id == 0 {
            SpanId::INVALID
        } else {
            SpanId::from(raw.parent_id)
        },
        parent_span_is_remote: raw.flags & FLAG_PARENT_REMOTE != 0,
        span_kind: raw.kind.clone(),
        name: std::mem::replace(&mut raw.name, Cow::Borrowed("")),
        start_time: clock::to_system_time(raw.start),
        end_time: clock::to_system_time(raw.end.max(raw.start)),
        attributes: raw.attributes.drain(..).collect(),
        dropped_attributes_count: u32::from(raw.dropped),
        events,
        links,
        status,
        instrumentation_scope: scope.clone(),
    }
}
