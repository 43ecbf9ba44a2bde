//! Span recording: the [`Span`] handle, its guards, and the raw record the hot path produces.
//!
//! A span is one pointer: its record lives in a slot of the thread's pool (recycled memory,
//! allocated only while the pool grows to what the thread keeps in flight). Starting one reads
//! the parent from a thread-local stack, draws ids from a thread-local generator, reads the
//! TSC and writes the record into the slot in place; attributes go into inline storage (four
//! before it spills); ending it hands the slot's pointer to the thread's ring. Conversion to
//! `SpanData`, sampling by outcome, batching and export happen on the pipeline's threads, and
//! the collector gives the slot back. A head-dropped span takes no slot: it is its ids, kept
//! in the handle, which its children and `traceparent` need (one whose trace carries a W3C
//! `tracestate` keeps it in a slot, as a recording span does). Moving a `Span` never copies a
//! record.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use opentelemetry::trace::{Event, Link, SpanContext, SpanKind, Status};
use opentelemetry::{Key, KeyValue};

use crate::clock;
use crate::context::{
    innermost_frame, otel_span_id_to_push, pop_frame, pop_frame_in, push_frame, push_span,
    TraceContext,
};
use crate::counters::{add, COUNTERS};
use crate::counters::{bump, count_dropped_shutdown};
use crate::hot::{hot, limits, SLOW_DISABLED};
use crate::record::{AgentCall, Attributes};
use crate::record::{
    Extras, Frame, RawSpan, FLAG_CANCELLED, FLAG_ERROR, FLAG_LOCAL_ROOT, FLAG_PARENT_REMOTE,
    FLAG_RECORDING, FLAG_SAMPLED, FLAG_STATUS_OK, FLAG_WAS_PANICKING,
};
use crate::transport::{
    defer_frame, defer_frame_if_none, defer_frame_of, take_deferred, with_local, with_ready_local,
    Entered, Filled, Local,
};

mod limits;
mod meter;
#[cfg(feature = "tracing")]
pub(crate) mod side;

use limits::{limit_attributes, limit_value};

/// Where a new span takes its parent from.
#[derive(Debug, Clone)]
enum Parent {
    /// The span current on this thread, else OpenTelemetry's current span, else a new trace.
    Current,
    /// Always a new trace.
    Root,
    /// This context's span (or a new trace if the context is empty).
    Explicit(Option<Frame>),
}

/// A span: started when created, ended when dropped (or by [`Span::end`]).
///
/// A span is only *current* (the parent of spans started meanwhile) while it is entered:
/// with [`Span::entered`] for sync code, or for the whole life of a future or stream with
/// [`FutureExt::instrument`](crate::FutureExt::instrument).
///
/// # Examples
///
/// ```
/// use opentelemetry::KeyValue;
/// use zdk_trace_runtime::{Span, SpanKind};
///
/// let mut span = Span::builder("fetch weather").kind(SpanKind::Client).start();
/// span.set_attribute(KeyValue::new("city", "Lisbon"));
/// span.set_attribute(KeyValue::new("attempt", 1_i64));
/// let _entered = span.entered(); // current until the end of the scope, then ends
/// ```
#[derive(Debug)]
#[must_use = "a span ends as soon as it is dropped"]
pub struct Span {
    inner: Inner,
    /// The built-in metrics of a GenAI macro call site, while the call runs.
    meter: Option<meter::Metered>,
}

/// What a [`Span`] holds: four words at most, so a span is cheap to move.
#[derive(Debug)]
enum Inner {
    /// A disabled or ended span.
    Off,
    /// The record, in a slot of the thread's pool: a recording span, or a head-dropped one
    /// whose trace carries a `tracestate`.
    Slot(Filled),
    /// A head-dropped span: nothing is recorded, only its ids are kept (for its children and
    /// propagation). Takes no slot and hands nothing over when it ends. The trace id is two
    /// halves so that the handle stays 8-byte aligned.
    Ids {
        trace_hi: u64,
        trace_lo: u64,
        span_id: u64,
        /// The innermost agent call the span runs in.
        agent: Option<AgentCall>,
        /// The W3C random flag of its trace.
        random: bool,
    },
}

impl Inner {
    #[inline]
    fn slot(&self) -> Option<&Filled> {
        match self {
            Inner::Slot(raw) => Some(raw),
            _ => None,
        }
    }
}

impl Span {
    /// Starts an internal span named `name`, a child of the current span.
    ///
    /// A `&'static str` name costs nothing; a `String` is moved in.
    ///
    /// # Examples
    ///
    /// ```
    /// let span = zdk_trace_runtime::Span::start("load session");
    /// drop(span); // ends it
    /// ```
    #[inline]
    pub fn start(name: impl Into<Cow<'static, str>>) -> Span {
        if !hot().enabled() {
            return Span::disabled();
        }
        begin(name.into(), SpanKind::Internal, &Parent::Current)
    }

    /// Starts a span of `kind` named `name`, a child of the current span.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Span, SpanKind};
    /// let span = Span::start_with_kind("chat gpt-4o", SpanKind::Client);
    /// # drop(span);
    /// ```
    #[inline]
    pub fn start_with_kind(name: impl Into<Cow<'static, str>>, kind: SpanKind) -> Span {
        if !hot().enabled() {
            return Span::disabled();
        }
        begin(name.into(), kind, &Parent::Current)
    }

    /// A builder for a span with a kind, an explicit parent, attributes or links.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Span, SpanKind};
    /// let span = Span::builder("runner.run").kind(SpanKind::Server).root().start();
    /// # drop(span);
    /// ```
    pub fn builder(name: impl Into<Cow<'static, str>>) -> SpanBuilder {
        SpanBuilder {
            name: name.into(),
            kind: SpanKind::Internal,
            parent: Parent::Current,
            attributes: Vec::new(),
            links: Vec::new(),
        }
    }

    /// A span that records nothing (what every span is while no pipeline is installed).
    ///
    /// # Examples
    ///
    /// ```
    /// let span = zdk_trace_runtime::Span::disabled();
    /// assert!(!span.is_recording());
    /// ```
    #[inline]
    pub const fn disabled() -> Span {
        Span {
            inner: Inner::Off,
            meter: None,
        }
    }

    /// Whether this span records attributes and events. Compute expensive attribute values
    /// only when this is `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut span = zdk_trace_runtime::Span::start("step");
    /// if span.is_recording() {
    ///     span.set_attribute(opentelemetry::KeyValue::new("items", 3_i64));
    /// }
    /// ```
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.inner
            .slot()
            .is_some_and(|raw| raw.flags & FLAG_RECORDING != 0)
    }

    /// The span's context (ids, sampled flag), or `None` for a disabled or ended span.
    ///
    /// # Examples
    ///
    /// ```
    /// let span = zdk_trace_runtime::Span::disabled();
    /// assert!(span.span_context().is_none());
    /// ```
    pub fn span_context(&self) -> Option<SpanContext> {
        self.frame().map(|f| f.to_span_context())
    }

    /// This span as a [`TraceContext`], to parent spans on other tasks, threads or tracers.
    ///
    /// # Examples
    ///
    /// ```
    /// let span = zdk_trace_runtime::Span::start("parent");
    /// let cx = span.context();
    /// # drop(cx);
    /// ```
    pub fn context(&self) -> TraceContext {
        TraceContext {
            frame: self.frame(),
            baggage: None,
        }
    }

    pub(crate) fn frame(&self) -> Option<Frame> {
        match &self.inner {
            Inner::Off => None,
            Inner::Slot(raw) => Some(raw.frame()),
            &Inner::Ids {
                trace_hi,
                trace_lo,
                span_id,
                agent,
                random,
            } => Some(unsampled_frame(trace_hi, trace_lo, span_id, agent, random)),
        }
    }

    /// The record, if the span records.
    #[inline]
    fn recording(&mut self) -> Option<&mut RawSpan> {
        match &mut self.inner {
            Inner::Slot(raw) if raw.flags & FLAG_RECORDING != 0 => Some(raw),
            _ => None,
        }
    }

    /// Sets an attribute (typed: string, integer, float, bool, or an array of one of these).
    /// Setting a key twice keeps both; backends show the last.
    ///
    /// # Examples
    ///
    /// ```
    /// use opentelemetry::{KeyValue, Value, Array};
    /// let mut span = zdk_trace_runtime::Span::start("llm");
    /// span.set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4o"));
    /// span.set_attribute(KeyValue::new("gen_ai.request.temperature", 0.2));
    /// span.set_attribute(KeyValue::new("gen_ai.response.finish_reasons",
    ///     Value::Array(Array::String(vec!["stop".into()]))));
    /// ```
    #[inline(always)]
    pub fn set_attribute(&mut self, attribute: KeyValue) {
        let KeyValue { key, value, .. } = attribute;
        self.push_attribute(key, value, false);
    }

    /// Sets `key = value`, the key a literal: what the instrumentation macros write for a
    /// `fields(...)` entry or a GenAI parameter. A scalar value owns no memory, which spares
    /// the collector its drop. Not part of the API: use [`set_attribute`](Self::set_attribute).
    #[doc(hidden)]
    #[inline(always)]
    pub fn __set_field(&mut self, key: &'static str, value: impl Into<opentelemetry::Value>) {
        let value = value.into();
        let owns_nothing = matches!(
            value,
            opentelemetry::Value::Bool(_)
                | opentelemetry::Value::I64(_)
                | opentelemetry::Value::F64(_)
        );
        self.push_attribute(key, value, owns_nothing);
    }

    /// Sets `key = "literal"`: what the instrumentation macros write for a string literal in
    /// their arguments. Owns no memory. Not part of the API: use
    /// [`set_attribute`](Self::set_attribute).
    #[doc(hidden)]
    #[inline(always)]
    pub fn __set_literal(&mut self, key: &'static str, value: &'static str) {
        self.push_attribute(key, value.into(), true);
    }

    /// [`set_attribute`](Self::set_attribute); `owns_nothing`: the attribute is known to own
    /// no memory (a `'static` key, a scalar or `'static` string), and extends the record's
    /// run of such attributes ([`RawSpan::plain`]) if nothing else came before it.
    ///
    /// Everything here is inlined into the macro's expansion, where a literal's key and value
    /// are constants: so that they stay in registers and are stored once, into the record,
    /// nothing may take their address on the way (a call to drop them, on a span that does
    /// not record, would).
    #[inline(always)]
    fn push_attribute(
        &mut self,
        key: impl Into<Key>,
        value: opentelemetry::Value,
        owns_nothing: bool,
    ) {
        let Some(raw) = self.recording() else {
            drop_value(value);
            return;
        };
        // The usual attribute, inline in the caller, so that it is written straight into
        // the record: a scalar, or a string within the length limit (a literal's length
        // is known where it is set), on a span with room, not an agent's invocation. The
        // rest takes the call below. Passed to a call, the attribute went through the
        // stack, and reading it back stalled on its stores (BENCHMARKS.md, issue 12).
        let plain = match &value {
            opentelemetry::Value::Bool(_)
            | opentelemetry::Value::I64(_)
            | opentelemetry::Value::F64(_) => true,
            opentelemetry::Value::String(s) => s.as_str().len() <= limits().value_length(),
            _ => false,
        };
        if plain
            && raw.attributes.len() < limits().attribute_count()
            && raw.agent.is_none_or(|a| a.invocation != raw.span_id)
        {
            if owns_nothing && usize::from(raw.plain) == raw.attributes.len() {
                raw.plain = raw.plain.saturating_add(1);
            }
            raw.attributes.push_pair(key.into(), value);
            return;
        }
        set_attribute_in(raw, KeyValue::new(key, value));
    }

    /// Sets several attributes.
    ///
    /// # Examples
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// let mut span = zdk_trace_runtime::Span::start("tool");
    /// span.set_attributes([KeyValue::new("a", 1_i64), KeyValue::new("b", true)]);
    /// ```
    pub fn set_attributes(&mut self, attributes: impl IntoIterator<Item = KeyValue>) {
        if self.is_recording() {
            for attribute in attributes {
                self.set_attribute(attribute);
            }
        }
    }

    /// Adds an event, timestamped now.
    ///
    /// # Examples
    ///
    /// ```
    /// use opentelemetry::KeyValue;
    /// let mut span = zdk_trace_runtime::Span::start("loop");
    /// span.add_event("iteration", vec![KeyValue::new("index", 0_i64)]);
    /// ```
    pub fn add_event(&mut self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        if self.is_recording() {
            self.add_event_at_raw(name, clock::now_raw(), attributes);
        }
    }

    /// Adds an event timestamped at `raw` (a [`clock::now_raw`] reading taken earlier): the
    /// iterations of a `#[workflow(kind = "loop")]`, recorded when they start and added when
    /// the span ends.
    pub(crate) fn add_event_at_raw(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        raw: u64,
        attributes: Vec<KeyValue>,
    ) {
        if let Some(raw_span) = self.recording() {
            let extras = raw_span.extras();
            if extras.events.len() < limits().event_count() {
                let mut attributes = attributes;
                let dropped = limit_attributes(&mut attributes);
                let time = clock::to_system_time(raw);
                extras
                    .events
                    .push(Event::new(name, time, attributes, dropped));
            } else {
                extras.dropped_events = extras.dropped_events.saturating_add(1);
                add(&COUNTERS.events_dropped, 1);
            }
        }
    }

    /// Links this span to another span (of this or another trace).
    ///
    /// # Examples
    ///
    /// ```
    /// let first = zdk_trace_runtime::Span::start("first");
    /// let mut second = zdk_trace_runtime::Span::start("second");
    /// if let Some(cx) = first.span_context() {
    ///     second.add_link(cx, vec![]);
    /// }
    /// ```
    pub fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if let Some(raw) = self.recording() {
            let extras = raw.extras();
            if extras.links.len() < limits().link_count() {
                let mut attributes = attributes;
                let dropped = limit_attributes(&mut attributes);
                extras
                    .links
                    .push(Link::new(span_context, attributes, dropped));
            } else {
                extras.dropped_links = extras.dropped_links.saturating_add(1);
                add(&COUNTERS.links_dropped, 1);
            }
        }
    }

    /// Sets the status. An error marks the whole trace for tail sampling's `keep_errors`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Span, Status};
    /// let mut span = Span::start("tool");
    /// span.set_status(Status::error("upstream returned 503"));
    /// ```
    pub fn set_status(&mut self, status: Status) {
        if let Some(raw) = self.recording() {
            raw.flags &= !(FLAG_ERROR | FLAG_STATUS_OK);
            match status {
                Status::Unset => {}
                Status::Ok => raw.flags |= FLAG_STATUS_OK,
                Status::Error { description } => {
                    raw.flags |= FLAG_ERROR;
                    raw.extras().error_description = Some(description);
                }
            }
        }
    }

    /// Records an error: status error with `message`, `error.type = error_type`, and an
    /// `exception` event with the message (cut to 1024 bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut span = zdk_trace_runtime::Span::start("tool");
    /// span.record_error("timeout", "tool did not answer within 30s");
    /// ```
    pub fn record_error(&mut self, error_type: impl Into<Cow<'static, str>>, message: &str) {
        if !self.is_recording() {
            return;
        }
        let message = truncate(message, 1024);
        let error_type = error_type.into();
        self.set_attribute(KeyValue::new("error.type", error_type.clone()));
        self.add_event(
            "exception",
            vec![
                KeyValue::new("exception.type", error_type),
                KeyValue::new("exception.message", message.clone()),
            ],
        );
        self.set_status(Status::error(message));
    }

    /// Renames the span.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut span = zdk_trace_runtime::Span::start("chat");
    /// span.update_name(format!("chat {}", "gpt-4o"));
    /// ```
    pub fn update_name(&mut self, name: impl Into<Cow<'static, str>>) {
        if let Some(raw) = self.recording() {
            raw.name = name.into();
        }
    }

    /// Changes the kind of a span that records (the `tracing` bridge reads `otel.kind` from
    /// the fields of a span already started).
    #[cfg(feature = "tracing")]
    pub(crate) fn set_kind(&mut self, kind: SpanKind) {
        if let Some(raw) = self.recording() {
            raw.kind = kind;
        }
    }

    /// Marks the span as cancelled (`cancelled = true`): the future or stream it measured was
    /// dropped before it finished.
    pub(crate) fn mark_cancelled(&mut self) {
        if let Some(raw) = self.recording() {
            if raw.flags & FLAG_CANCELLED == 0 {
                raw.flags |= FLAG_CANCELLED;
                raw.attributes.push(KeyValue::new("cancelled", true));
            }
        }
    }

    /// Whether the span has ended (or never recorded).
    pub(crate) fn is_ended(&self) -> bool {
        matches!(self.inner, Inner::Off)
    }

    /// Makes this span current until the guard drops (the span itself stays open).
    ///
    /// # Examples
    ///
    /// ```
    /// let span = zdk_trace_runtime::Span::start("parent");
    /// {
    ///     let _guard = span.enter();
    ///     let _child = zdk_trace_runtime::Span::start("child"); // child of "parent"
    /// }
    /// ```
    #[inline]
    pub fn enter(&self) -> EnterGuard<'_> {
        let span_id = self.push_frame();
        EnterGuard {
            span_id,
            _span: PhantomData,
        }
    }

    /// Enters the span and returns a guard that owns it: the span is current until the guard
    /// drops, and then ends. The usual way to trace a block of sync code.
    ///
    /// # Examples
    ///
    /// ```
    /// fn handle() {
    ///     let _span = zdk_trace_runtime::Span::start("handle").entered();
    ///     // ... spans started here are children of "handle"
    /// }
    /// handle();
    /// ```
    #[inline]
    pub fn entered(mut self) -> EnteredSpan {
        self.resume_usage();
        let span_id = self.push_frame();
        EnteredSpan {
            span: self,
            span_id,
            _not_send: PhantomData,
        }
    }

    /// Starts a span named and of the kind `head` says, a child of the current span, in place
    /// of this one, and makes it current: `*self = Span::start_with_kind(name, kind)` then
    /// [`push_frame`](Self::push_frame), with one visit to the thread's state and the span
    /// written where it lies. `self` must have ended (or be disabled). Returns the span id to
    /// pop, 0 if nothing was pushed.
    ///
    /// One load decides between the quick path, the slow one and nothing (disabled).
    #[inline]
    pub(crate) fn start_entered(&mut self, head: &'static Head) -> u64 {
        if !self.is_ended() {
            return 0;
        }
        let slow = hot().slow();
        if slow == 0 {
            begin_entered(self, head)
        } else if slow & SLOW_DISABLED == 0 {
            begin_entered_slow(self, head)
        } else {
            0
        }
    }

    /// Its span id, 0 for a disabled or ended span.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn span_id(&self) -> u64 {
        match &self.inner {
            Inner::Off => 0,
            Inner::Slot(raw) => raw.span_id,
            Inner::Ids { span_id, .. } => *span_id,
        }
    }

    /// Makes this span current on the thread; its span id (to pop it), 0 if it has none.
    ///
    /// The frame is deferred when no other is (then the stack as pushed is the whole stack,
    /// and the frame belongs on top of it): a span entered for every poll of its future or
    /// stream has its frame pushed only if the poll reads the stack (a child starting, a
    /// context captured or injected), which most polls do not. Not while OpenTelemetry's
    /// context is inherited (the frame would have to remember its active span) or a profile
    /// is taken (its labels follow the stack), nor for a span with a `tracestate` (the
    /// deferred frame has no room for one). The push itself is out of line, so that a
    /// deferred frame costs its caller no saved registers.
    #[inline]
    pub(crate) fn push_frame(&self) -> u64 {
        match &self.inner {
            Inner::Off => 0,
            Inner::Slot(raw) => {
                if hot().inherit_otel()
                    || crate::sampler::labelling()
                    || raw.trace_state().is_some()
                    || !defer_frame_if_none(
                        raw.trace_id,
                        raw.span_id,
                        raw.agent,
                        raw.random,
                        raw.flags & FLAG_SAMPLED != 0,
                        match &raw.name {
                            Cow::Borrowed(name) => name,
                            Cow::Owned(_) => "",
                        },
                    )
                {
                    push_recorded_frame(raw);
                }
                raw.span_id
            }
            &Inner::Ids {
                trace_hi,
                trace_lo,
                span_id,
                agent,
                random,
            } => {
                let trace_id = (u128::from(trace_hi) << 64) | u128::from(trace_lo);
                if hot().inherit_otel()
                    || crate::sampler::labelling()
                    || !defer_frame_if_none(trace_id, span_id, agent, random, false, "")
                {
                    push_unsampled_frame(trace_hi, trace_lo, span_id, agent, random);
                }
                span_id
            }
        }
    }

    /// Runs `f` with this span current.
    ///
    /// # Examples
    ///
    /// ```
    /// let span = zdk_trace_runtime::Span::start("compute");
    /// let n = span.in_scope(|| 6 * 7);
    /// assert_eq!(n, 42);
    /// ```
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.enter();
        f()
    }

    /// Ends the span now (dropping it does the same). Later calls do nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut span = zdk_trace_runtime::Span::start("step");
    /// span.end();
    /// span.end(); // no effect
    /// ```
    #[inline]
    pub fn end(&mut self) {
        // Already ended (the usual case: a guard ended it) or disabled, or head-dropped
        // without metrics (nothing to close or hand over): a test, inlined.
        match (&self.inner, &self.meter) {
            (Inner::Off, None) => {}
            (Inner::Ids { .. }, None) => self.inner = Inner::Off,
            _ => self.end_open(),
        }
    }

    #[inline(never)]
    fn end_open(&mut self) {
        // A measured span ending inside its last poll closes that poll with one clock read,
        // which is also its end time (unless its metrics take their own).
        let closed_at = self.close_usage();
        self.close_profiling();
        let end = self.close_meter();
        if let Inner::Slot(mut raw) = std::mem::replace(&mut self.inner, Inner::Off) {
            raw.end = if end != 0 { end } else { closed_at };
            finish(raw);
        }
    }

    /// Measures what this span uses while it runs, and records it as attributes when it
    /// ends: its busy time (`resource.busy.micros`: wall time while it is polled or entered,
    /// summed over every poll on whichever thread), its thread CPU time
    /// (`resource.cpu.micros`, only with `cpu_time`: a system call per poll on Linux) and,
    /// with a [`CountingAllocator`](crate::CountingAllocator) installed, the bytes and number
    /// of allocations made while it ran (`resource.memory.bytes`,
    /// `resource.memory.allocations`) and the peak of the live bytes it added
    /// (`resource.memory.peak`). Children running inside it count in its figures.
    ///
    /// The span is measured while it is [`entered`](Self::entered) (the guard) or polled as
    /// an [`instrument`](crate::FutureExt::instrument)ed future or stream; the borrowed
    /// [`enter`](Self::enter) guard does not measure. Does nothing on a span that does not
    /// record. The macros' `profile` option calls it.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::FutureExt;
    /// # async fn embed() {}
    /// # async fn run() {
    /// let mut span = zdk_trace_runtime::Span::start("embed batch");
    /// span.measure_resources(true);
    /// embed().instrument(span).await;
    /// # }
    /// ```
    pub fn measure_resources(&mut self, cpu_time: bool) {
        if let Some(raw) = self.recording() {
            let extras = raw.extras();
            if extras.usage.is_none() {
                extras.usage = Some(crate::resources::Usage::new(cpu_time));
            }
        }
    }

    /// The measured span's usage, if it is measured.
    #[inline]
    fn usage(&mut self) -> Option<&mut crate::resources::Usage> {
        match &mut self.inner {
            Inner::Slot(raw) => raw.extras.as_mut()?.usage.as_mut(),
            _ => None,
        }
    }

    /// A poll of the measured span starts on this thread (nothing if it is not measured).
    #[inline]
    pub(crate) fn resume_usage(&mut self) -> bool {
        match self.usage() {
            Some(usage) => {
                usage.resume();
                true
            }
            None => false,
        }
    }

    /// A poll of the measured span ended at `now` (a [`crate::clock::now_raw`] reading taken
    /// by the poll while the span was still current).
    #[inline]
    pub(crate) fn pause_usage_at(&mut self, now: u64) {
        if let Some(usage) = self.usage() {
            usage.pause_at(now);
        }
    }

    /// A poll of the measured span ends on this thread. A poll after which the span ends
    /// need not call it: [`end`](Self::end) closes the poll with the clock read that gives
    /// the span its end time.
    #[inline]
    pub(crate) fn pause_usage(&mut self) {
        if let Some(usage) = self.usage() {
            usage.pause();
        }
    }

    /// A local root span that overlapped a CPU profile gets `pyroscope.profile.id` (its own
    /// span id: Grafana's span-profiles convention), so a backend can jump from it to the
    /// profile; an agent's span tells the profile labels its invocation ended.
    #[inline(always)]
    fn close_profiling(&mut self) {
        let Some(raw) = self.recording() else {
            return;
        };
        if raw.agent.is_some_and(|a| a.invocation == raw.span_id) {
            crate::sampler::conversation_ended(raw.span_id);
        }
        if raw.flags & FLAG_LOCAL_ROOT != 0 && crate::sampler::profiled_since(raw.start) {
            let id = format!("{:016x}", raw.span_id);
            self.set_attribute(KeyValue::new(crate::genai::PYROSCOPE_PROFILE_ID, id));
        }
    }

    /// A measured span ends: what it used becomes its attributes. Returns the clock reading
    /// that closed a poll still open (0 if none was), for the span's end time.
    #[inline]
    fn close_usage(&mut self) -> u64 {
        let Some(usage) = self.usage() else {
            return 0;
        };
        let (totals, closed_at) = usage.totals();
        self.set_usage_attributes(totals);
        closed_at
    }

    #[cold]
    #[inline(never)]
    fn set_usage_attributes(&mut self, totals: crate::resources::Totals) {
        let micros = |nanos: u64| i64::try_from(nanos / 1000).unwrap_or(i64::MAX);
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.set_attribute(KeyValue::new(
            crate::genai::RESOURCE_BUSY_MICROS,
            micros(totals.busy_nanos),
        ));
        if let Some(cpu) = totals.cpu_nanos {
            self.set_attribute(KeyValue::new(
                crate::genai::RESOURCE_CPU_MICROS,
                micros(cpu),
            ));
        }
        if let Some(alloc) = totals.alloc {
            self.set_attribute(KeyValue::new(
                crate::genai::RESOURCE_MEMORY_BYTES,
                int(alloc.bytes),
            ));
            self.set_attribute(KeyValue::new(
                crate::genai::RESOURCE_MEMORY_ALLOCATIONS,
                int(alloc.count),
            ));
            self.set_attribute(KeyValue::new(
                crate::genai::RESOURCE_MEMORY_PEAK,
                int(alloc.peak),
            ));
        }
    }

    /// Remembers that the thread was panicking when a sync guard entered this span.
    #[inline]
    pub(crate) fn mark_was_panicking(&mut self) {
        if let Some(raw) = self.recording() {
            raw.flags |= FLAG_WAS_PANICKING;
        }
    }

    /// Whether [`mark_was_panicking`](Self::mark_was_panicking) was called.
    #[inline]
    pub(crate) fn was_panicking(&self) -> bool {
        self.inner
            .slot()
            .is_some_and(|raw| raw.flags & FLAG_WAS_PANICKING != 0)
    }
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        self.end();
    }
}

/// [`Span::push_frame`] for a span with a slot whose frame is not deferred.
#[inline(never)]
fn push_recorded_frame(raw: &RawSpan) {
    push_span(raw);
}

/// [`Span::push_frame`] for a head-dropped span whose frame is not deferred.
#[inline(never)]
fn push_unsampled_frame(
    trace_hi: u64,
    trace_lo: u64,
    span_id: u64,
    agent: Option<AgentCall>,
    random: bool,
) {
    push_frame(unsampled_frame(trace_hi, trace_lo, span_id, agent, random));
}

/// The frame of a head-dropped span without a slot: not sampled, no `tracestate`.
#[inline]
fn unsampled_frame(
    trace_hi: u64,
    trace_lo: u64,
    span_id: u64,
    agent: Option<AgentCall>,
    random: bool,
) -> Frame {
    Frame {
        trace_id: (u128::from(trace_hi) << 64) | u128::from(trace_lo),
        span_id,
        sampled: false,
        random,
        remote: false,
        foreign: false,
        trace_state: None,
        agent,
    }
}

/// An attribute set on an agent's own span: its conversation id labels the profile samples
/// of the invocation.
#[cold]
fn note_agent_attribute(invocation: u64, attribute: &KeyValue) {
    if attribute.key.as_str() == crate::genai::CONVERSATION_ID {
        crate::sampler::register_conversation(invocation, attribute.value.as_str().as_ref());
    }
}

/// Ends a span: a recorded one goes to this thread's ring (or is counted as dropped), the slot
/// of a head-dropped one back to the thread's pool. Out of line, so that dropping a span
/// without a slot inlines to a test.
#[inline(never)]
fn finish(raw: Filled) {
    let mut raw = Some(raw);
    with_local(|local| hand_over(local, &mut raw));
    if let Some(raw) = raw {
        left_over(raw);
    }
}

/// Hands a finished span over on this thread: a recorded one to the ring, a head-dropped
/// one's slot back to the pool. Leaves it in `raw` when the pipeline is gone.
#[inline(always)]
fn hand_over(local: &mut Local, raw: &mut Option<Filled>) {
    let Some(mut span) = raw.take() else {
        return;
    };
    if span.flags & FLAG_RECORDING == 0 {
        local.recycle(span);
    } else if hot().enabled() {
        // Set already when the span's metrics took the end time.
        if span.end == 0 {
            span.end = clock::now_raw();
        }
        #[cfg(feature = "tracing")]
        side::join(&mut span);
        local.push(span);
    } else {
        *raw = Some(span);
    }
}

/// A span that could not be handed over: no pipeline any more, or the thread is being torn
/// down and its ring is gone. A recorded one is counted.
#[cold]
fn left_over(mut raw: Filled) {
    raw.close_meter(false);
    if raw.flags & FLAG_RECORDING != 0 {
        count_dropped_shutdown(1);
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// What `begin` decides on the thread-local state, before building the span: kept small so
/// the large record is written once, in place.
struct Start {
    trace_id: u128,
    span_id: u64,
    parent_id: u64,
    flags: u8,
    record: bool,
    trace_state: Option<Arc<str>>,
    /// The parent's agent call, inherited.
    agent: Option<AgentCall>,
    /// The W3C random flag of the trace.
    random: bool,
}

/// The start of every span once the pipeline is known to be enabled. Out of line, so the
/// disabled check inlines into the caller and costs a load and a branch.
#[inline(never)]
fn begin(name: Cow<'static, str>, kind: SpanKind, parent: &Parent) -> Span {
    let begun = with_local(|local| {
        if matches!(parent, Parent::Current) && !hot().inherit_otel() {
            if let Some(start) = decide_local(local) {
                if !start.record {
                    return Err(Span {
                        inner: start.ids(),
                        meter: None,
                    });
                }
                return Ok((start.start(), local.take_slot()));
            }
        }
        let start = decide(local, parent);
        if !start.record && start.trace_state.is_none() {
            // Head-dropped: its ids are the whole span (a `tracestate` needs a slot).
            return Err(Span {
                inner: Inner::Ids {
                    trace_hi: (start.trace_id >> 64) as u64,
                    trace_lo: start.trace_id as u64,
                    span_id: start.span_id,
                    agent: start.agent,
                    random: start.random,
                },
                meter: None,
            });
        }
        Ok((start, local.take_slot()))
    });
    let (start, slot) = match begun {
        Some(Ok(started)) => started,
        Some(Err(head_dropped)) => return head_dropped,
        None => return Span::disabled(),
    };
    Span {
        inner: Inner::Slot(Filled::new(slot, record_of(start, name, kind, 0))),
        meter: None,
    }
}

/// Starts a span of `kind` named `name`, a child of the current span, into `span` (which
/// must be ended or disabled) and makes it current: `begin` and `push_frame` in one visit to
/// the thread's state, the span written where it lies. Returns the span id to pop (0: none).
///
/// The name and kind come as one pointer to a `static`: read only by a span that records or
/// pushes its frame, they take no registers on a sampled-out span's path.
///
/// A span under a local parent (or starting a trace) takes the quick path,
/// [`begin_entered_quick`]: sampled out, it ends there, in a function that saves few
/// registers and calls nothing; sampled in, it goes on to [`begin_entered_pushed`] with its
/// ids. Every other case goes to [`begin_entered_slow`].
///
/// The caller has checked that no reason keeps the span off the quick path
/// ([`Hot::slow`](crate::hot::Hot::slow) is 0).
#[inline(never)]
fn begin_entered(span: &mut Span, head: &'static Head) -> u64 {
    match with_ready_local(|local| begin_entered_quick(local, span)) {
        Some(Quick::Done(span_id)) => span_id,
        Some(Quick::Record(trace_id, span_id)) => {
            begin_entered_pushed(span, head, trace_id, span_id)
        }
        Some(Quick::Slow) | None => begin_entered_slow(span, head),
    }
}

/// [`begin_entered`] when the quick path does not apply: the thread's generator not seeded
/// or its counters not registered yet, a remote or foreign parent, a `tracestate`,
/// OpenTelemetry's context inherited, tail rules or a profile's labels, or the thread's
/// state being torn down.
#[cold]
#[inline(never)]
fn begin_entered_slow(span: &mut Span, head: &'static Head) -> u64 {
    if !hot().enabled() {
        return 0;
    }
    let span_id = if hot().inherit_otel() {
        begin_entered_any(span, head.name, head.kind.clone())
    } else {
        match with_local(|local| begin_entered_local(local, span, head)) {
            Some(Ok(span_id)) => span_id,
            Some(Err(())) => begin_entered_any(span, head.name, head.kind.clone()),
            None => 0,
        }
    };
    mark_if_panicking(span);
    span_id
}

/// A span started while the thread unwinds records a panic only if it is a new one (see
/// `exit_and_end_unwinding`). Only a span with a slot keeps the mark, so a sampled-out span
/// does not check.
#[inline(always)]
fn mark_if_panicking(span: &mut Span) {
    if std::thread::panicking() {
        span.mark_was_panicking();
    }
}

/// What the quick path did (see [`begin_entered`]).
enum Quick {
    /// A sampled-out span started: the span id to pop.
    Done(u64),
    /// A span that records, with its trace id (a new trace's, used only if it starts one) and
    /// span id, for [`begin_entered_pushed`].
    Record(u128, u64),
    /// Not for this path: nothing changed but a deferred frame pushed.
    Slow,
}

/// [`begin_entered_local`] with only what a sampled-out span needs: its ids, the decision,
/// one counter, the deferred frame and the span's ids. The caller has checked
/// [`Hot::slow`](crate::hot::Hot::slow): enabled, no tail rules, no profile labels,
/// OpenTelemetry's context not inherited.
#[inline(always)]
fn begin_entered_quick(local: &mut Local, span: &mut Span) -> Quick {
    let top = local.stack().last().map(|top| {
        let frame = &top.frame;
        let plain = !(frame.remote | frame.foreign) && frame.trace_state.is_none();
        (
            plain,
            frame.trace_id,
            frame.sampled,
            frame.random,
            frame.agent,
        )
    });
    let (trace_id, span_id, sampled, random, agent) = match top {
        None => {
            let (trace_id, span_id) = local.next_root_ids_ready();
            (trace_id, span_id, hot().sample_root(trace_id), true, None)
        }
        Some((true, trace_id, sampled, random, agent)) => {
            (trace_id, local.next_u64_ready(), sampled, random, agent)
        }
        Some((false, ..)) => return Quick::Slow,
    };
    if sampled {
        return Quick::Record(trace_id, span_id);
    }
    local.bump_sampled_out();
    // As in `enter_local`: the frame is pushed only if something reads it.
    defer_frame(trace_id, span_id, agent, random);
    let inner = Inner::Ids {
        trace_hi: (trace_id >> 64) as u64,
        trace_lo: trace_id as u64,
        span_id,
        agent,
        random,
    };
    // `span` was ended or disabled: nothing to drop.
    std::mem::forget(std::mem::replace(&mut span.inner, inner));
    Quick::Done(span_id)
}

/// [`begin_entered_quick`] for a span that records: its start worked out from `trace_id` (a
/// new trace's, used only if the stack is empty) and `span_id` as [`decide_local`] would,
/// then [`enter_local`]. The quick path has just read the same top frame.
#[inline(never)]
fn begin_entered_pushed(span: &mut Span, head: &'static Head, trace_id: u128, span_id: u64) -> u64 {
    // Ready: the quick path has just used it.
    let pushed = with_ready_local(|local| {
        let hot = hot();
        let (trace_id, parent_id, sampled, random, agent, root) = match local.stack().last() {
            None => (trace_id, 0, hot.sample_root(trace_id), true, None, true),
            Some(top) => {
                let frame = &top.frame;
                let (sampled, random, agent) = (frame.sampled, frame.random, frame.agent);
                (frame.trace_id, frame.span_id, sampled, random, agent, false)
            }
        };
        let record = sampled || hot.record_unsampled();
        count_start(local, record);
        let start = LocalStart {
            trace_id,
            span_id,
            parent_id,
            sampled,
            record,
            random,
            agent,
            root,
        };
        enter_local(local, span, head, start)
    })
    .unwrap_or(0);
    mark_if_panicking(span);
    pushed
}

/// The name and kind of a sync function's span, in a `static` the expansion declares and
/// passes to `__private::start_entered` (one pointer instead of three words, read only when
/// the span records).
#[derive(Debug)]
pub struct Head {
    name: &'static str,
    kind: SpanKind,
}

impl Head {
    /// A span named `name` of `kind`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::__private::{Head, SpanKind};
    ///
    /// static HEAD: Head = Head::new("load session", SpanKind::Internal);
    /// ```
    pub const fn new(name: &'static str, kind: SpanKind) -> Head {
        Head { name, kind }
    }
}

/// [`begin_entered`] in the common case: OpenTelemetry's context is not inherited and the
/// parent is a span of this thread's stack without a `tracestate` (or there is none). The
/// parent is read where it lies (no frame cloned), the decision made without a `Start` in
/// between, and the new entry written once. `Err`: another case, for
/// [`begin_entered_any`].
#[inline(always)]
fn begin_entered_local(local: &mut Local, span: &mut Span, head: &'static Head) -> Result<u64, ()> {
    let Some(start) = decide_local(local) else {
        return Err(());
    };
    Ok(enter_local(local, span, head, start))
}

/// The second half of [`begin_entered_local`]: `start` pushed (or deferred) and written in
/// `span`. Returns the span id to pop.
#[inline(always)]
fn enter_local(local: &mut Local, span: &mut Span, head: &'static Head, start: LocalStart) -> u64 {
    let LocalStart {
        trace_id,
        span_id,
        sampled,
        random,
        agent,
        ..
    } = start;
    if !crate::sampler::labelling() {
        // Nothing may ever read its frame (a sync function that starts no span and
        // propagates nothing: a leaf of its trace, or one dropped at its head), so the frame
        // is pushed only if something does. No profile labels to update: they only change
        // while a profile is taken.
        if start.record {
            defer_frame_of(trace_id, span_id, agent, random, sampled, head.name);
        } else {
            defer_frame(trace_id, span_id, agent, random);
        }
    } else {
        let stack = local.stack();
        stack.push(Entered {
            frame: Frame {
                trace_id,
                span_id,
                sampled,
                random,
                remote: false,
                foreign: false,
                trace_state: None,
                agent,
            },
            otel_span_id: 0,
            name: head.name,
        });
        crate::context::relabel(stack);
    }
    let inner = if start.record {
        let slot = local.take_slot();
        Inner::Slot(Filled::new(
            slot,
            record_of(
                start.start(),
                Cow::Borrowed(head.name),
                head.kind.clone(),
                0,
            ),
        ))
    } else {
        start.ids()
    };
    // `span` was ended or disabled: nothing to drop.
    std::mem::forget(std::mem::replace(&mut span.inner, inner));
    span_id
}

/// The decision of [`decide`] when the parent is this thread's top frame (or there is none),
/// without a `tracestate`, and OpenTelemetry's context is not inherited: read where it lies,
/// no frame cloned. `None`: another case, for [`decide`].
#[derive(Clone, Copy)]
struct LocalStart {
    trace_id: u128,
    span_id: u64,
    parent_id: u64,
    sampled: bool,
    record: bool,
    random: bool,
    agent: Option<AgentCall>,
    /// A new trace (a local root).
    root: bool,
}

impl LocalStart {
    /// As a [`Start`], for a span that takes a slot.
    #[inline(always)]
    fn start(self) -> Start {
        let flags = if self.root { FLAG_LOCAL_ROOT } else { 0 }
            | if self.sampled { FLAG_SAMPLED } else { 0 };
        Start {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_id: self.parent_id,
            flags,
            record: self.record,
            trace_state: None,
            agent: self.agent,
            random: self.random,
        }
    }

    /// The span of a head-dropped one (no slot).
    #[inline(always)]
    fn ids(self) -> Inner {
        Inner::Ids {
            trace_hi: (self.trace_id >> 64) as u64,
            trace_lo: self.trace_id as u64,
            span_id: self.span_id,
            agent: self.agent,
            random: self.random,
        }
    }
}

/// Counts a span started on this thread: recorded, or sampled out. One counter per span:
/// `stats()` adds the two for `spans_started`.
#[inline(always)]
fn count_start(local: &mut Local, record: bool) {
    let counters = local.counters();
    if record {
        bump(&counters.started);
    } else {
        bump(&counters.sampled_out);
    }
}

/// See [`LocalStart`]. The caller has checked that OpenTelemetry's context is not inherited.
#[inline(always)]
fn decide_local(local: &mut Local) -> Option<LocalStart> {
    let hot = hot();
    let (trace_id, span_id, parent_id, sampled, random, agent, root) = match local.stack().last() {
        None => {
            let (trace_id, span_id) = local.next_root_ids();
            (
                trace_id,
                span_id,
                0,
                hot.sample_root(trace_id),
                true,
                None,
                true,
            )
        }
        Some(top) if !(top.frame.remote | top.frame.foreign) && top.frame.trace_state.is_none() => {
            let (trace_id, parent_id) = (top.frame.trace_id, top.frame.span_id);
            let (sampled, random, agent) = (top.frame.sampled, top.frame.random, top.frame.agent);
            (
                trace_id,
                local.next_u64(),
                parent_id,
                sampled,
                random,
                agent,
                false,
            )
        }
        // A remote or foreign parent (sampled by its own rules), or a `tracestate` to carry.
        Some(_) => return None,
    };
    let record = sampled || hot.record_unsampled();
    count_start(local, record);
    Some(LocalStart {
        trace_id,
        span_id,
        parent_id,
        sampled,
        record,
        random,
        agent,
        root,
    })
}

/// [`begin_entered`] for any parent (OpenTelemetry's context, a remote or foreign parent, a
/// `tracestate`).
#[inline(never)]
fn begin_entered_any(span: &mut Span, name: &'static str, kind: SpanKind) -> u64 {
    let otel_span_id = otel_span_id_to_push();
    with_local(|local| {
        let start = decide(local, &Parent::Current);
        // The frame is written field by field where it lies: built whole and moved in, the
        // move would read back the fields just written (a store-forwarding stall).
        let stack = local.stack();
        stack.push(Entered::EMPTY);
        if let Some(top) = stack.last_mut() {
            top.frame.trace_id = start.trace_id;
            top.frame.span_id = start.span_id;
            top.frame.sampled = start.flags & FLAG_SAMPLED != 0;
            top.frame.trace_state.clone_from(&start.trace_state);
            top.frame.agent = start.agent;
            top.frame.random = start.random;
            top.otel_span_id = otel_span_id;
            top.name = name;
        }
        crate::context::relabel(stack);
        let span_id = start.span_id;
        let inner = if !start.record && start.trace_state.is_none() {
            Inner::Ids {
                trace_hi: (start.trace_id >> 64) as u64,
                trace_lo: start.trace_id as u64,
                span_id,
                agent: start.agent,
                random: start.random,
            }
        } else {
            let slot = local.take_slot();
            Inner::Slot(Filled::new(
                slot,
                record_of(start, Cow::Borrowed(name), kind, 0),
            ))
        };
        // `span` was ended or disabled: nothing to drop.
        std::mem::forget(std::mem::replace(&mut span.inner, inner));
        span_id
    })
    .unwrap_or(0)
}

/// The record of a span that takes a slot: a recording one, or a head-dropped one whose trace
/// carries a `tracestate` (only what children and `traceparent` need).
#[inline(always)]
fn record_of(start: Start, name: Cow<'static, str>, kind: SpanKind, extra_flags: u8) -> RawSpan {
    let extras = start.trace_state.map(|trace_state| {
        Box::new(Extras {
            trace_state: Some(trace_state),
            ..Extras::default()
        })
    });
    let (begun, name, flags) = if start.record {
        (
            clock::now_raw(),
            name,
            start.flags | FLAG_RECORDING | extra_flags,
        )
    } else {
        (0, Cow::Borrowed(""), start.flags)
    };
    RawSpan {
        trace_id: start.trace_id,
        span_id: start.span_id,
        parent_id: start.parent_id,
        start: begun,
        end: 0,
        name,
        kind,
        flags,
        dropped: 0,
        plain: 0,
        attributes: Attributes::new(),
        extras,
        meter: None,
        agent: start.agent,
        random: start.random,
    }
}

/// Parent, ids and sampling decision of a new span. Always inlined: returned through memory,
/// the trace id's halves would be stored apart and read back whole (a store-forwarding stall).
#[inline(always)]
fn decide(local: &mut Local, parent: &Parent) -> Start {
    let hot = hot();
    let parent = match parent {
        Parent::Current => innermost_frame(local.stack()),
        Parent::Root => None,
        Parent::Explicit(frame) => frame.clone(),
    };
    // The parent's agent call (a remote or foreign parent has none).
    let agent = parent.as_ref().and_then(|p| p.agent);
    // `random`: the trace id's right 7 bytes are random (W3C Level 2's random flag): ours
    // always are; a continued trace keeps what its parent said.
    let (trace_id, parent_id, sampled, mut flags, trace_state, random) = match parent {
        Some(p) if p.remote => {
            let sampled = hot.sample_remote_child(p.trace_id, p.sampled);
            (
                p.trace_id,
                p.span_id,
                sampled,
                FLAG_LOCAL_ROOT | FLAG_PARENT_REMOTE,
                p.trace_state,
                p.random,
            )
        }
        // A local parent's decision is always followed: never half a trace.
        Some(p) => {
            // Under another tracer's span (in this process) this span is where the trace
            // enters our pipeline, so tail sampling judges the trace when it ends; but not
            // when that span is itself inside one of ours (ours → theirs → ours).
            let enters_here = p.foreign
                && !local
                    .stack()
                    .iter()
                    .any(|e| !e.frame.foreign && e.frame.trace_id == p.trace_id);
            let flags = if enters_here { FLAG_LOCAL_ROOT } else { 0 };
            (
                p.trace_id,
                p.span_id,
                p.sampled,
                flags,
                p.trace_state,
                p.random,
            )
        }
        None => {
            let trace_id = local.next_trace_id();
            (
                trace_id,
                0,
                hot.sample_root(trace_id),
                FLAG_LOCAL_ROOT,
                None,
                true,
            )
        }
    };
    let span_id = local.next_u64();
    let record = sampled || hot.record_unsampled();
    let counters = local.counters();
    // One counter per span: `stats()` adds the two for `spans_started`.
    if record {
        bump(&counters.started);
    } else {
        bump(&counters.sampled_out);
    }
    if sampled {
        flags |= FLAG_SAMPLED;
    }
    Start {
        trace_id,
        span_id,
        parent_id,
        flags,
        record,
        trace_state,
        agent,
        random,
    }
}

/// Builds a span with options the one-call constructors do not take.
///
/// # Examples
///
/// ```
/// use opentelemetry::KeyValue;
/// use zdk_trace_runtime::{Span, SpanKind, TraceContext};
///
/// let parent = TraceContext::current();
/// let span = Span::builder("execute_tool get_weather")
///     .kind(SpanKind::Internal)
///     .parent(&parent)
///     .attribute(KeyValue::new("gen_ai.tool.name", "get_weather"))
///     .start();
/// # drop(span);
/// ```
#[derive(Debug)]
#[must_use = "call `start()` to start the span"]
pub struct SpanBuilder {
    name: Cow<'static, str>,
    kind: SpanKind,
    parent: Parent,
    attributes: Vec<KeyValue>,
    links: Vec<Link>,
}

impl SpanBuilder {
    /// Sets the span kind (internal by default).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Uses this context's span as parent instead of the current span; an empty context
    /// starts a new trace.
    pub fn parent(mut self, parent: &TraceContext) -> Self {
        self.parent = Parent::Explicit(parent.frame.clone());
        self
    }

    /// Starts a new trace, whatever is current.
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: KeyValue) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds a link to another span.
    pub fn link(mut self, span_context: SpanContext, attributes: Vec<KeyValue>) -> Self {
        self.links.push(Link::new(span_context, attributes, 0));
        self
    }

    /// Starts the span.
    pub fn start(self) -> Span {
        if !hot().enabled() {
            return Span::disabled();
        }
        let mut span = begin(self.name, self.kind, &self.parent);
        if span.is_recording() {
            span.set_attributes(self.attributes);
            for link in self.links {
                span.add_link(link.span_context, link.attributes);
            }
        }
        span
    }
}

/// Keeps a span current until dropped; returned by [`Span::enter`]. Not `Send`.
#[derive(Debug)]
#[must_use = "the span stops being current as soon as the guard is dropped"]
pub struct EnterGuard<'a> {
    /// 0: nothing was pushed.
    span_id: u64,
    _span: PhantomData<(&'a Span, *const ())>,
}

impl Drop for EnterGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.span_id != 0 {
            pop_frame(self.span_id);
        }
    }
}

/// A span that is current until dropped, and then ends; returned by [`Span::entered`].
/// Dereferences to the [`Span`], so attributes can still be set. Not `Send`.
#[derive(Debug)]
#[must_use = "the span ends as soon as the guard is dropped"]
pub struct EnteredSpan {
    span: Span,
    /// 0: nothing was pushed.
    span_id: u64,
    _not_send: PhantomData<*const ()>,
}

impl EnteredSpan {
    /// Stops making the span current and returns it (still open).
    ///
    /// # Examples
    ///
    /// ```
    /// let entered = zdk_trace_runtime::Span::start("step").entered();
    /// let span = entered.exit();
    /// # drop(span);
    /// ```
    pub fn exit(mut self) -> Span {
        self.span.pause_usage();
        if self.span_id != 0 {
            pop_frame(std::mem::take(&mut self.span_id));
        }
        std::mem::replace(&mut self.span, Span::disabled())
    }
}

impl std::ops::Deref for EnteredSpan {
    type Target = Span;
    fn deref(&self) -> &Span {
        &self.span
    }
}

impl std::ops::DerefMut for EnteredSpan {
    fn deref_mut(&mut self) -> &mut Span {
        &mut self.span
    }
}

impl Drop for EnteredSpan {
    #[inline]
    fn drop(&mut self) {
        self.span.exit_and_end(self.span_id);
    }
}

impl Span {
    /// Pops the frame [`push_frame`](Self::push_frame) pushed (`span_id`, 0 for none) and ends
    /// the span: what an entered span's guard does when it drops.
    #[inline]
    pub(crate) fn exit_and_end(&mut self, span_id: u64) {
        if !self.end_head_dropped(span_id) {
            self.exit_and_end_recorded(span_id);
        }
    }

    /// [`exit_and_end`](Self::exit_and_end) for a head-dropped span without metrics (nothing
    /// to close, only the frame to pop); `false`, and nothing done, for any other.
    #[inline(always)]
    pub(crate) fn end_head_dropped(&mut self, span_id: u64) -> bool {
        if !matches!(self.inner, Inner::Ids { .. }) || self.meter.is_some() {
            return false;
        }
        self.inner = Inner::Off;
        if span_id != 0 {
            pop_frame(span_id);
        }
        true
    }

    /// [`exit_and_end`](Self::exit_and_end) for a span with a slot or metrics, after
    /// recording a panic if the thread is unwinding (and was not when the span started): a
    /// sync function's guard. Leaves the span ended and empty (no slot, no metrics), which
    /// the expansion's `SyncSpan` relies on.
    #[inline(never)]
    pub(crate) fn exit_and_end_unwinding(&mut self, span_id: u64) {
        if std::thread::panicking() && !self.was_panicking() {
            self.record_error("panic", "panicked");
            self.meter_error("panic");
        }
        self.close_and_hand_over(span_id);
        debug_assert!(matches!(self.inner, Inner::Off) && self.meter.is_none());
    }

    /// [`exit_and_end`](Self::exit_and_end) for a span with a slot or metrics: out of line,
    /// so that a sampled-out span's guard saves no registers for it.
    #[inline(never)]
    fn exit_and_end_recorded(&mut self, span_id: u64) {
        self.close_and_hand_over(span_id);
    }

    /// The body of [`exit_and_end_recorded`](Self::exit_and_end_recorded).
    #[inline(always)]
    fn close_and_hand_over(&mut self, span_id: u64) {
        // As in `end`: a measured span's last clock read is its end time.
        let closed_at = self.close_usage();
        self.close_profiling();
        let end = self.close_meter();
        if let Inner::Slot(mut raw) = std::mem::replace(&mut self.inner, Inner::Off) {
            raw.end = if end != 0 { end } else { closed_at };
            end_entered(span_id, raw);
        } else if span_id != 0 {
            // Head-dropped (or ended while entered): only the frame is left.
            pop_frame(span_id);
        }
    }
}

/// Ends an entered span that has a slot, with one visit to the thread's state for both the
/// frame and the record.
#[inline(never)]
fn end_entered(span_id: u64, raw: Filled) {
    let mut raw = Some(raw);
    with_local(|local| {
        // Its frame is still deferred unless something read the stack while it ran.
        if span_id != 0 && !take_deferred(span_id) {
            pop_frame_in(local.stack(), span_id);
        }
        hand_over(local, &mut raw);
    });
    if let Some(raw) = raw {
        left_over(raw);
    }
}

/// Drops an attribute value a span did not take. A scalar is matched apart so that, for a
/// value known where it is set, no drop call takes its address (see `push_attribute`).
#[inline(always)]
fn drop_value(value: opentelemetry::Value) {
    match value {
        opentelemetry::Value::Bool(_)
        | opentelemetry::Value::I64(_)
        | opentelemetry::Value::F64(_) => {}
        other => drop(other),
    }
}

/// [`Span::set_attribute`] past its inline case: the limits applied and counted, an agent's
/// invocation noted.
#[inline(never)]
fn set_attribute_in(raw: &mut RawSpan, mut attribute: KeyValue) {
    if raw.attributes.len() < limits().attribute_count() {
        limit_value(&mut attribute);
        if raw.agent.is_some_and(|a| a.invocation == raw.span_id) {
            note_agent_attribute(raw.span_id, &attribute);
        }
        raw.attributes.push(attribute);
    } else {
        raw.dropped = raw.dropped.saturating_add(1);
        add(&COUNTERS.attributes_dropped, 1);
    }
}
