//! The span record the hot path writes and the collector reads, and the frame a child takes
//! from its parent: the data the transport carries, below both the recording side and the
//! collector.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};

use crate::tally::genai::Site;

mod attributes;

pub(crate) use attributes::Attributes;

pub(crate) const FLAG_SAMPLED: u8 = 1;
pub(crate) const FLAG_LOCAL_ROOT: u8 = 2;
pub(crate) const FLAG_PARENT_REMOTE: u8 = 4;
pub(crate) const FLAG_ERROR: u8 = 8;
pub(crate) const FLAG_CANCELLED: u8 = 16;
pub(crate) const FLAG_STATUS_OK: u8 = 32;
/// The span records (sampled, or kept for tail rules); without it the record holds only the
/// ids a head-dropped span propagates, and never reaches the collector.
pub(crate) const FLAG_RECORDING: u8 = 64;
/// The thread was already panicking when a `#[span]` fn's guard entered the span.
pub(crate) const FLAG_WAS_PANICKING: u8 = 128;

/// A finished (or running) span as the hot path records it: typed values, raw timestamps.
///
/// Fixed size, no heap for a span with up to four attributes: what most spans carry lives
/// inline, the rare parts (events, links, an error description, `tracestate`) in [`Extras`].
// Aligned to cache lines so that a ring slot never shares a line with its neighbour: the
// collector reading one slot must not steal the line the application thread is writing.
// `repr(C)`, the attributes last, their count first: what every span writes and its first two
// attributes fill the first four of the record's six lines (`layout` test below), which the
// application writes and the collector reads from the other core.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct RawSpan {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) parent_id: u64,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) name: Cow<'static, str>,
    /// A GenAI macro call's built-in metrics, still to record: the call site and the duration
    /// series. Recorded from `start` and `end` by whichever thread takes the record last (the
    /// collector, or the application thread when it sheds the span), so that a recorded
    /// span's metrics cost its application thread nothing.
    pub(crate) meter: Option<(&'static Site, u32)>,
    /// The innermost agent call this span runs in (see [`Frame::agent`]).
    pub(crate) agent: Option<AgentCall>,
    pub(crate) extras: Option<Box<Extras>>,
    pub(crate) dropped: u16,
    pub(crate) kind: SpanKind,
    pub(crate) flags: u8,
    /// How many of the attributes, from the first, own no memory: a `'static` key with a
    /// scalar or a `'static` string, set by an instrumentation macro from its literals and
    /// arguments (see [`RawSpan::owns_nothing`]). Only ever an undercount: an attribute set
    /// any other way ends the run.
    pub(crate) plain: u8,
    /// The W3C random flag of the trace (see [`Frame::random`]).
    pub(crate) random: bool,
    pub(crate) attributes: Attributes,
}

/// An `#[agent_span]` call: its call site (the agent dimension of the built-in metrics) and
/// its span id (the invocation, a CPU profile label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AgentCall {
    pub(crate) site: &'static Site,
    /// The agent span's span id.
    pub(crate) invocation: u64,
}

impl AgentCall {
    /// The call site, for the metrics.
    #[inline]
    pub(crate) fn site(call: Option<AgentCall>) -> Option<&'static Site> {
        call.map(|c| c.site)
    }
}

/// The parts of a span most spans do not have, allocated on first use.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    pub(crate) events: Vec<Event>,
    pub(crate) links: Vec<Link>,
    /// Events and links not recorded, over the span's limits.
    pub(crate) dropped_events: u32,
    pub(crate) dropped_links: u32,
    /// Set only for an error status (the description); `Ok` and `Unset` are flags.
    pub(crate) error_description: Option<Cow<'static, str>>,
    pub(crate) trace_state: Option<Arc<str>>,
    /// What the span used while it ran, when it is measured (`profile`, `span_resources`).
    pub(crate) usage: Option<crate::resources::Usage>,
}

impl RawSpan {
    /// Whether dropping the record would free nothing: a borrowed name, no extras, and only
    /// attributes that own no memory, inline (see [`plain`](Self::plain)). The collector then
    /// leaves the record undropped instead of running the drop glue of every attribute.
    #[inline]
    pub(crate) fn owns_nothing(&self) -> bool {
        usize::from(self.plain) == self.attributes.len()
            && !self.attributes.spilled()
            && self.extras.is_none()
            && matches!(self.name, Cow::Borrowed(_))
    }

    /// Records the built-in metrics this span still carries (its duration into its call
    /// site's histogram), once; with `exemplar` (the collector), a sampled-in span also
    /// becomes its bucket's exemplar.
    #[inline]
    pub(crate) fn close_meter(&mut self, exemplar: bool) {
        if let Some((site, series)) = self.meter.take() {
            // `u32::MAX`: the site's plain series (no response model, no error).
            let series = if series == u32::MAX {
                site.ok_series(AgentCall::site(self.agent))
            } else {
                series
            };
            let ticks = self.end.saturating_sub(self.start);
            let duration = site.duration();
            duration.observe_ticks(series, ticks);
            if exemplar && self.flags & FLAG_SAMPLED != 0 {
                duration.offer_exemplar(series, ticks, self.trace_id, self.span_id, self.end);
            }
        }
    }

    pub(crate) fn frame(&self) -> Frame {
        Frame {
            trace_id: self.trace_id,
            span_id: self.span_id,
            sampled: self.flags & FLAG_SAMPLED != 0,
            random: self.random,
            remote: false,
            foreign: false,
            trace_state: self.trace_state().cloned(),
            agent: self.agent,
        }
    }

    pub(crate) fn trace_state(&self) -> Option<&Arc<str>> {
        self.extras.as_ref().and_then(|e| e.trace_state.as_ref())
    }

    pub(crate) fn extras(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// The status, rebuilt from the flags and the error description.
    pub(crate) fn status(&mut self) -> Status {
        if self.flags & FLAG_ERROR != 0 {
            let description = self
                .extras
                .as_mut()
                .and_then(|e| e.error_description.take())
                .unwrap_or_default();
            Status::Error { description }
        } else if self.flags & FLAG_STATUS_OK != 0 {
            Status::Ok
        } else {
            Status::Unset
        }
    }
}

/// The W3C trace-flags bit of the random flag (Trace Context Level 2).
pub(crate) const RANDOM_FLAG: u8 = 0x02;

/// One entry of the thread's current-span stack: just what a child needs from its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// The head sampling decision of the trace.
    pub(crate) sampled: bool,
    /// W3C Trace Context Level 2's random flag: the trace id's right 7 bytes are random.
    /// Set on the traces this process starts (its ids are random), kept from the incoming
    /// `traceparent` on a continued one, and sent on in every outgoing `traceparent`.
    pub(crate) random: bool,
    /// The span lives in another process (its context was propagated to us).
    pub(crate) remote: bool,
    /// The span was not recorded by this pipeline: it came from another process, another
    /// OpenTelemetry tracer (OpenTelemetry's current `Context`, `from_otel`), or a bare
    /// `SpanContext`. A child of such a span is a local root, unless a span of ours in the same
    /// trace is open below it on this thread.
    pub(crate) foreign: bool,
    /// W3C `tracestate` carried from a remote parent, shared by every span of the trace.
    pub(crate) trace_state: Option<Arc<str>>,
    /// The innermost `#[agent_span]` call this span runs in (its call site), for the agent
    /// dimension of the built-in metrics of the calls below it and the invocation label of
    /// CPU profile samples.
    pub(crate) agent: Option<AgentCall>,
}

impl Frame {
    pub(crate) fn to_span_context(&self) -> SpanContext {
        let flags = TraceFlags::new(u8::from(self.sampled) | (u8::from(self.random) << 1));
        let state = self
            .trace_state
            .as_deref()
            .and_then(|s| s.parse::<TraceState>().ok())
            .unwrap_or_default();
        SpanContext::new(
            TraceId::from(self.trace_id),
            SpanId::from(self.span_id),
            flags,
            self.remote,
            state,
        )
    }

    pub(crate) fn from_span_context(cx: &SpanContext, remote: bool) -> Option<Frame> {
        if !cx.is_valid() {
            return None;
        }
        let header = cx.trace_state().header();
        Some(Frame {
            trace_id: u128::from_be_bytes(cx.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(cx.span_id().to_bytes()),
            sampled: cx.is_sampled(),
            random: cx.trace_flags().to_u8() & RANDOM_FLAG != 0,
            remote,
            foreign: true,
            trace_state: (!header.is_empty()).then(|| Arc::from(header)),
            agent: None,
        })
    }
}

/// A record that owns heap memory everywhere it can (its name, `attributes` owned strings,
/// spilled past 4, extras with an event and a `tracestate`), so that a record read twice or
/// never dropped shows up under valgrind.
#[cfg(test)]
pub(crate) fn owning_record(span_id: u64, attributes: usize) -> RawSpan {
    RawSpan {
        trace_id: 7,
        span_id,
        parent_id: 0,
        start: 1,
        end: 2,
        name: Cow::Owned(format!("span {span_id}")),
        kind: SpanKind::Internal,
        flags: 0,
        dropped: 0,
        plain: 0,
        attributes: (0..attributes)
            .map(|i| opentelemetry::KeyValue::new(format!("key.{i}"), format!("value {i}")))
            .collect(),
        extras: Some(Box::new(Extras {
            events: vec![Event::with_name("event")],
            trace_state: Some(Arc::from("k=v")),
            ..Extras::default()
        })),
        meter: None,
        agent: None,
        random: false,
    }
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, offset_of, size_of};

    use opentelemetry::KeyValue;

    use super::RawSpan;

    /// What every span writes and its first two attributes lie in the record's first four
    /// cache lines: the application writes no more, and the collector reads no more, for a
    /// span of up to two attributes (the `#[span]` and `#[tool_call]` common case).
    #[test]
    fn a_span_with_two_attributes_fills_four_cache_lines() {
        assert_eq!(align_of::<RawSpan>(), 64);
        // The attributes' count, then their pairs.
        let pairs = offset_of!(RawSpan, attributes) + size_of::<usize>();
        assert!(
            pairs + 2 * size_of::<KeyValue>() <= 4 * 64,
            "the second attribute ends at byte {}",
            pairs + 2 * size_of::<KeyValue>()
        );
        // Every other field lies before the attributes.
        for end in [
            offset_of!(RawSpan, name) + size_of::<std::borrow::Cow<'static, str>>(),
            offset_of!(RawSpan, extras) + size_of::<usize>(),
            offset_of!(RawSpan, random) + 1,
            offset_of!(RawSpan, plain) + 1,
        ] {
            assert!(end <= offset_of!(RawSpan, attributes));
        }
        assert_eq!(size_of::<RawSpan>(), 6 * 64);
    }
}
