//! Trace context: which span is current on this thread, how it is carried into tasks and
//! threads, and how it converts to and from OpenTelemetry's `Context` and W3C headers.

pub mod propagation;
mod tracestate;

use std::marker::PhantomData;

use opentelemetry::trace::{SpanContext, TraceContextExt};

use crate::hot::hot;
pub(crate) use crate::record::Frame;
use crate::record::RawSpan;
use crate::transport::{take_deferred, with_local, Entered};

/// The span id of OpenTelemetry's active span on this thread, 0 if none.
#[inline]
fn otel_active_span_id() -> u64 {
    opentelemetry::Context::map_current(|cx| {
        if cx.has_active_span() {
            u64::from_be_bytes(cx.span().span_context().span_id().to_bytes())
        } else {
            0
        }
    })
}

/// Pushes `frame` as the current span of this thread.
#[inline]
pub(crate) fn push_frame(frame: Frame) {
    push_frame_with(move || frame, "");
}

/// Pushes the span of `raw` as the current span of this thread, its frame built inside the
/// push (written straight into the stack, not built and moved).
#[inline]
pub(crate) fn push_span(raw: &RawSpan) {
    let name = match &raw.name {
        std::borrow::Cow::Borrowed(name) => name,
        std::borrow::Cow::Owned(_) => "",
    };
    push_frame_with(|| raw.frame(), name);
}

/// What a pushed frame remembers of OpenTelemetry's active span: its id when OpenTelemetry's
/// context is inherited, else 0.
#[inline]
pub(crate) fn otel_span_id_to_push() -> u64 {
    if hot().inherit_otel() {
        otel_active_span_id()
    } else {
        0
    }
}

#[inline]
fn push_frame_with(frame: impl FnOnce() -> Frame, name: &'static str) {
    let otel_span_id = otel_span_id_to_push();
    with_local(|local| {
        let stack = local.stack();
        stack.push(Entered {
            frame: frame(),
            otel_span_id,
            name,
        });
        relabel(stack);
    });
}

/// Tells the CPU sampler (while a profile is being taken) which span is now current. One
/// relaxed load otherwise: the flag is tested before the stack is read (folded into one
/// call, the compiler read the top frame first).
#[inline(always)]
pub(crate) fn relabel(stack: &[Entered]) {
    if crate::sampler::labelling() {
        write_label(stack);
    }
}

#[cold]
#[inline(never)]
fn write_label(stack: &[Entered]) {
    crate::sampler::write_label(stack.last().map(Entered::label));
}

/// Pops the frame of `span_id` (normally the top; searched if guards were dropped out of
/// order), or ends it as a deferred span whose frame was never pushed (without visiting the
/// thread's state).
#[inline(always)]
pub(crate) fn pop_frame(span_id: u64) {
    if !take_deferred(span_id) {
        pop_pushed_frame(span_id);
    }
}

/// [`pop_frame`] for a frame that was pushed.
#[inline(never)]
fn pop_pushed_frame(span_id: u64) {
    with_local(|local| pop_frame_in(local.stack(), span_id));
}

/// [`pop_frame`] on a stack already borrowed.
#[inline]
pub(crate) fn pop_frame_in(stack: &mut Vec<Entered>, span_id: u64) {
    if stack.last().is_some_and(|e| e.frame.span_id == span_id) {
        // Dropped where it lies (`pop` would move it out first).
        stack.truncate(stack.len() - 1);
    } else {
        pop_frame_out_of_order(stack, span_id);
    }
    relabel(stack);
}

/// A guard dropped out of order: its frame is searched for.
#[cold]
#[inline(never)]
fn pop_frame_out_of_order(stack: &mut Vec<Entered>, span_id: u64) {
    if let Some(pos) = stack.iter().rposition(|e| e.frame.span_id == span_id) {
        stack.remove(pos);
    }
}

/// The current frame of this thread, if any, else the span of the current OpenTelemetry
/// `Context` (so our spans nest under spans of other OpenTelemetry-instrumented crates).
pub(crate) fn current_frame() -> Option<Frame> {
    with_local(|local| innermost_frame(local.stack())).unwrap_or_else(|| {
        if hot().inherit_otel() {
            otel_current_frame()
        } else {
            None
        }
    })
}

/// The span id of the span on top of this thread's stack when this process records it
/// (sampled or kept for tail sampling, not a remote or foreign parent): the span a `tracing` event inside it belongs to.
#[cfg(feature = "tracing")]
pub(crate) fn current_recorded_span_id() -> Option<u64> {
    with_local(|local| {
        local
            .stack()
            .last()
            .filter(|top| {
                // Recorded: sampled, or kept for the tail rules to decide on.
                (top.frame.sampled || hot().record_unsampled())
                    && !top.frame.foreign
                    && !top.frame.remote
            })
            .map(|top| top.frame.span_id)
    })
    .flatten()
}

/// The innermost current span: the top of `stack`, unless an OpenTelemetry `Context` whose
/// active span is another one was attached after that frame was pushed (ours → theirs → ours:
/// the last "ours" is a child of "theirs"); with an empty stack, OpenTelemetry's active span.
#[inline(always)]
pub(crate) fn innermost_frame(stack: &[Entered]) -> Option<Frame> {
    if !hot().inherit_otel() {
        // Reading OpenTelemetry's context is a thread-local lookup per span; it is opt-in.
        return stack.last().map(|top| top.frame.clone());
    }
    let Some(top) = stack.last() else {
        return otel_current_frame();
    };
    let otel_span_id = otel_active_span_id();
    if otel_span_id == top.otel_span_id || otel_span_id == top.frame.span_id {
        return Some(top.frame.clone());
    }
    // An invalid span context (or one detached out of order) leaves ours current.
    otel_current_frame().or_else(|| Some(top.frame.clone()))
}

/// The active span of OpenTelemetry's current `Context`, as a parent frame.
pub(crate) fn otel_current_frame() -> Option<Frame> {
    opentelemetry::Context::map_current(|cx| {
        if !cx.has_active_span() {
            return None;
        }
        let span = cx.span();
        let sc = span.span_context();
        Frame::from_span_context(sc, sc.is_remote())
    })
}

/// The trace context current on this thread: a value that can be moved to another task or
/// thread and attached there, so spans started there become children of the span that was
/// current here.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{Span, TraceContext};
///
/// let span = Span::start("parent").entered();
/// let cx = TraceContext::current();
/// std::thread::spawn(move || {
///     let _guard = cx.attach();
///     let _child = Span::start("child").entered(); // a child of "parent"
/// })
/// .join()
/// .unwrap();
/// drop(span);
/// ```
#[derive(Debug, Clone, Default)]
pub struct TraceContext {
    pub(crate) frame: Option<Frame>,
    /// An OpenTelemetry context holding the baggage, when there is any.
    pub(crate) baggage: Option<opentelemetry::Context>,
}

impl TraceContext {
    /// The context current on this thread (empty when no span is current).
    ///
    /// # Examples
    ///
    /// ```
    /// let cx = zdk_trace_runtime::TraceContext::current();
    /// assert!(cx.span_context().is_none()); // nothing is current here
    /// ```
    pub fn current() -> TraceContext {
        TraceContext {
            frame: current_frame(),
            baggage: None,
        }
    }

    /// A context whose parent is `span_context` (from another process or tracer).
    ///
    /// # Examples
    ///
    /// ```
    /// use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    /// let sc = SpanContext::new(TraceId::from(1u128), SpanId::from(2u64), TraceFlags::SAMPLED, true, TraceState::default());
    /// let cx = zdk_trace_runtime::TraceContext::from_span_context(&sc);
    /// assert_eq!(cx.span_context().unwrap().trace_id(), TraceId::from(1u128));
    /// ```
    pub fn from_span_context(span_context: &SpanContext) -> TraceContext {
        TraceContext {
            frame: Frame::from_span_context(span_context, span_context.is_remote()),
            baggage: None,
        }
    }

    /// A context from an OpenTelemetry `Context`: its active span becomes the parent and its
    /// baggage is carried along.
    ///
    /// # Examples
    ///
    /// ```
    /// let cx = zdk_trace_runtime::TraceContext::from_otel(&opentelemetry::Context::new());
    /// assert!(cx.span_context().is_none());
    /// ```
    pub fn from_otel(cx: &opentelemetry::Context) -> TraceContext {
        use opentelemetry::baggage::BaggageExt;
        let frame = if cx.has_active_span() {
            let span = cx.span();
            let sc = span.span_context();
            Frame::from_span_context(sc, sc.is_remote())
        } else {
            None
        };
        TraceContext {
            frame,
            baggage: (!cx.baggage().is_empty()).then(|| cx.clone()),
        }
    }

    /// This context as an OpenTelemetry `Context` (its span as a non-recording parent, plus the
    /// baggage), so spans of other OpenTelemetry tracers can be started under ours.
    ///
    /// # Examples
    ///
    /// ```
    /// use opentelemetry::trace::TraceContextExt;
    /// use zdk_trace_runtime::{Span, TraceContext};
    /// let _span = Span::start("ours").entered();
    /// let otel_cx = TraceContext::current().to_otel();
    /// // With a pipeline installed, `otel_cx.span().span_context()` is "ours".
    /// # let _ = otel_cx.has_active_span();
    /// ```
    pub fn to_otel(&self) -> opentelemetry::Context {
        let cx = match &self.baggage {
            Some(cx) => cx.clone(),
            None => opentelemetry::Context::current(),
        };
        match &self.frame {
            Some(frame) => cx.with_remote_span_context(frame.to_span_context()),
            None => cx,
        }
    }

    /// The span context of the parent this context carries.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zdk_trace_runtime::TraceContext::default().span_context().is_none());
    /// ```
    pub fn span_context(&self) -> Option<SpanContext> {
        self.frame.as_ref().map(Frame::to_span_context)
    }

    /// The baggage carried with this context (from `extract` or `from_otel`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(zdk_trace_runtime::TraceContext::default().baggage().is_none());
    /// ```
    pub fn baggage(&self) -> Option<&opentelemetry::baggage::Baggage> {
        use opentelemetry::baggage::BaggageExt;
        self.baggage.as_ref().map(|cx| cx.baggage())
    }

    /// Makes this context current on this thread until the guard drops: spans started meanwhile
    /// are its children. Baggage, if any, is attached to OpenTelemetry's current `Context` too.
    ///
    /// # Examples
    ///
    /// ```
    /// let cx = zdk_trace_runtime::TraceContext::current();
    /// let _guard = cx.attach();
    /// ```
    pub fn attach(&self) -> ContextGuard {
        let otel = self.baggage.as_ref().map(|_| self.to_otel().attach());
        let span_id = self.frame.as_ref().map(|frame| {
            push_frame(frame.clone());
            frame.span_id
        });
        ContextGuard {
            span_id,
            _otel: otel,
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with this context attached.
    ///
    /// # Examples
    ///
    /// ```
    /// let cx = zdk_trace_runtime::TraceContext::current();
    /// let n = cx.in_scope(|| 41 + 1);
    /// assert_eq!(n, 42);
    /// ```
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.attach();
        f()
    }
}

/// Keeps a [`TraceContext`] current until dropped. Not `Send`: the current span is per thread.
#[derive(Debug)]
#[must_use = "the context is detached as soon as the guard is dropped"]
pub struct ContextGuard {
    span_id: Option<u64>,
    _otel: Option<opentelemetry::ContextGuard>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(id) = self.span_id {
            pop_frame(id);
        }
    }
}

/// The span context of the span current on this thread, if any.
///
/// # Examples
///
/// ```
/// assert!(zdk_trace_runtime::current_span_context().is_none());
/// ```
pub fn current_span_context() -> Option<SpanContext> {
    current_frame().map(|f| f.to_span_context())
}
