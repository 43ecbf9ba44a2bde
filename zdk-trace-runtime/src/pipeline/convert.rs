//! RawSpan → `SpanData`, on the collector thread.

use std::borrow::Cow;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::clock;
use crate::record::{RawSpan, FLAG_PARENT_REMOTE};

/// Moves what `SpanData` needs out of `raw` (read in place, in its slot: the 384-byte record is
/// not copied first). What is left in `raw` owns nothing, and says so
/// ([`RawSpan::owns_nothing`]): its slot is given back without running its drop glue, which
/// would read its cold last cache line again.
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
        attributes: {
            // None left, so none that own memory.
            raw.plain = 0;
            raw.attributes.take_vec()
        },
        dropped_attributes_count: u32::from(raw.dropped),
        events,
        links,
        status,
        instrumentation_scope: scope.clone(),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::InstrumentationScope;

    use super::to_span_data;
    use crate::record::owning_record;
    use crate::transport::Filled;

    /// A record converted to `SpanData` owns nothing afterwards, whatever it held (an owned
    /// name, attributes inline or spilled, extras): its slot is given back without its drop
    /// glue, and nothing leaks or is freed twice (valgrind runs this test).
    #[test]
    fn a_converted_record_owns_nothing_and_its_parts_move_once() {
        let scope = InstrumentationScope::builder("test").build();
        for (n, plain) in [(0, 0), (2, 2), (2, 0), (4, 4), (6, 0)] {
            let mut raw = owning_record(6, n);
            raw.plain = plain;
            let data = to_span_data(&mut raw, &scope);
            assert!(raw.owns_nothing(), "{n} attributes");
            let _slot = Filled::new(Box::new_uninit(), raw).discard();
            assert_eq!((data.name.as_ref(), data.attributes.len()), ("span 6", n));
            assert_eq!(
                data.attributes.last().map(|kv| kv.key.as_str()),
                n.checked_sub(1).map(|i| format!("key.{i}")).as_deref()
            );
            assert_eq!(data.events.len(), 1);
            assert_eq!(data.span_context.trace_state().header(), "k=v");
        }
    }
}
