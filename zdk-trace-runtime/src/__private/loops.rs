//! `#[workflow(kind = "loop")]`: the iterations of a call, counted and added to its span (an
//! event per iteration, the total as an attribute) before the span ends, whichever way it ends.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use opentelemetry::KeyValue;

use super::sync_guard::{enter, SyncGuard};
use crate::clock;
use crate::instrument::{saturating_i64, BeforeEnd, InSpan};
use crate::lock::lock;
use crate::span::Span;

/// [`in_span`](crate::instrument::in_span) for a `#[workflow(kind = "loop")]`: the
/// iterations `counter` saw are added to the span before it ends, whichever way it ends.
#[inline]
pub fn in_span_loop<F, H>(
    future: F,
    span: &mut Span,
    on_ready: H,
    counter: LoopCounter,
) -> InSpan<'_, F, H, LoopCounter>
where
    F: Future,
    H: Fn(&mut Span, &F::Output),
{
    InSpan::with_before_end(future, span, on_ready, counter)
}

/// Event of each iteration of a `#[workflow(kind = "loop")]`, timestamped when it starts.
pub const WORKFLOW_ITERATION: &str = "workflow.iteration";
/// Attribute of [`WORKFLOW_ITERATION`]: the iteration's number, from 1.
pub const WORKFLOW_ITERATION_NUMBER: &str = "workflow.iteration.number";
/// Attribute: how many iterations a `#[workflow(kind = "loop")]` ran (all of them, also past
/// [`MAX_ITERATION_EVENTS`]).
pub const WORKFLOW_ITERATIONS: &str = "workflow.iterations";
/// Iterations that get an event; later ones are only counted. Below the span's own event cap
/// (128), so that an `exception` event still fits.
pub const MAX_ITERATION_EVENTS: usize = 64;

/// The iterations of a `#[workflow(kind = "loop")]` call: the macro puts `counter.tick()` at
/// the start of the body of each outermost loop of the function, and the marks are added to
/// the span (an event per iteration, the total as an attribute) before it ends, whichever way
/// it ends. Nothing is allocated for a span that does not record.
#[derive(Debug, Clone)]
pub struct LoopCounter(Option<Arc<Mutex<LoopMarks>>>);

#[derive(Debug, Default)]
struct LoopMarks {
    total: u64,
    /// Raw start timestamps of the first [`MAX_ITERATION_EVENTS`] iterations.
    starts: Vec<u64>,
    drained: bool,
}

impl LoopCounter {
    /// A counter for `span`'s iterations (a no-op when it does not record).
    #[inline]
    pub fn new(span: &Span) -> LoopCounter {
        if span.is_recording() {
            LoopCounter(Some(Arc::new(Mutex::new(LoopMarks::default()))))
        } else {
            LoopCounter(None)
        }
    }

    /// An iteration starts.
    #[inline]
    pub fn tick(&self) {
        if let Some(marks) = &self.0 {
            let now = clock::now_raw();
            let mut marks = lock(marks);
            marks.total = marks.total.saturating_add(1);
            if marks.starts.len() < MAX_ITERATION_EVENTS {
                marks.starts.push(now);
            }
        }
    }
}

impl BeforeEnd for LoopCounter {
    fn before_end(&self, span: &mut Span) {
        let Some(marks) = &self.0 else {
            return;
        };
        let mut marks = lock(marks);
        if std::mem::replace(&mut marks.drained, true) {
            return;
        }
        for (number, start) in (1_i64..).zip(marks.starts.iter()) {
            span.add_event_at_raw(
                WORKFLOW_ITERATION,
                *start,
                vec![KeyValue::new(WORKFLOW_ITERATION_NUMBER, number)],
            );
        }
        span.set_attribute(KeyValue::new(
            WORKFLOW_ITERATIONS,
            saturating_i64(marks.total),
        ));
    }
}

/// The span of a sync `#[workflow(kind = "loop")]`, entered for the call: a [`SyncGuard`]
/// that adds the iterations to the span before it ends (on return and on panic).
#[derive(Debug)]
#[must_use = "the span is current only while this guard lives"]
pub struct LoopGuard<'a> {
    guard: SyncGuard<'a>,
    counter: LoopCounter,
}

/// Enters `span` for a sync loop workflow's call.
#[inline]
pub fn enter_loop(span: &mut Span) -> LoopGuard<'_> {
    let counter = LoopCounter::new(span);
    LoopGuard {
        guard: enter(span),
        counter,
    }
}

impl LoopGuard<'_> {
    /// The counter the function's loops tick.
    #[inline]
    pub fn counter(&self) -> &LoopCounter {
        &self.counter
    }
}

impl Deref for LoopGuard<'_> {
    type Target = Span;

    fn deref(&self) -> &Span {
        &self.guard
    }
}

impl DerefMut for LoopGuard<'_> {
    fn deref_mut(&mut self) -> &mut Span {
        &mut self.guard
    }
}

impl Drop for LoopGuard<'_> {
    fn drop(&mut self) {
        // Before the `SyncGuard` field drops, which records a panic and ends the span.
        self.counter.before_end(&mut self.guard);
    }
}
