//! Events for a span its owner holds: the `tracing` bridge (feature `tracing`) turns a `tracing`
//! event into an event of the span current on the thread, and when that span is one of ours
//! (a macro's, or a [`Span`](super::Span) the application entered) only its owner can write its
//! record. The event waits here, under the span's id, and joins the record when the span ends.
//!
//! The span's end pays one relaxed load of a 64-bit map (a bit per `span_id % 64`, set while
//! events wait for some span with that bit) and takes the lock only when its bit is set.
//! Bounded: at most [`MAX_SPANS`] spans wait, each with at most the span event limit; more is
//! dropped and counted in `events_dropped`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use once_cell::sync::Lazy;
use opentelemetry::trace::Event;
use opentelemetry::KeyValue;

use super::limits::limit_attributes;
use crate::clock;
use crate::counters::{add, COUNTERS};
use crate::hot::limits;
use crate::lock::lock;
use crate::record::{RawSpan, FLAG_ERROR, FLAG_STATUS_OK};

/// Spans with waiting events at most (a span that never ends, leaked with `mem::forget`, must
/// not make this grow without bound).
const MAX_SPANS: usize = 4096;

/// What waits for one span.
#[derive(Debug, Default)]
struct Waiting {
    events: Vec<Event>,
    dropped_events: u32,
    /// An `error!` event's message: the span's status becomes an error with it, unless the
    /// span set a status itself.
    error: Option<Cow<'static, str>>,
}

#[derive(Debug)]
struct Table {
    spans: HashMap<u64, Waiting>,
    /// How many waiting spans have each bit of [`PENDING`].
    per_bit: [u32; 64],
}

/// Bit `span_id % 64` is set while a span with such an id has waiting events.
static PENDING: AtomicU64 = AtomicU64::new(0);
static TABLE: Lazy<Mutex<Table>> = Lazy::new(|| {
    Mutex::new(Table {
        spans: HashMap::new(),
        per_bit: [0; 64],
    })
});

#[inline]
fn bit(span_id: u64) -> u64 {
    1 << (span_id % 64)
}

/// Adds the event `name` to the span `span_id` (recording, current on this thread), to be
/// joined to its record when it ends; with `error`, the span's status becomes an error with
/// that description (unless it sets one itself). The span's attribute limits apply.
pub(crate) fn add_event(
    span_id: u64,
    name: Cow<'static, str>,
    mut attributes: Vec<KeyValue>,
    error: Option<Cow<'static, str>>,
) {
    let dropped = limit_attributes(&mut attributes);
    let time = clock::to_system_time(clock::now_raw());
    let event = Event::new(name, time, attributes, dropped);
    let mut table = lock(&TABLE);
    let table = &mut *table;
    let waiting = match table.spans.get_mut(&span_id) {
        Some(waiting) => waiting,
        None => {
            if table.spans.len() >= MAX_SPANS {
                add(&COUNTERS.events_dropped, 1);
                return;
            }
            let slot = &mut table.per_bit[(span_id % 64) as usize];
            *slot += 1;
            if *slot == 1 {
                PENDING.fetch_or(bit(span_id), Ordering::Release);
            }
            table.spans.entry(span_id).or_default()
        }
    };
    if waiting.events.len() < limits().event_count() {
        waiting.events.push(event);
    } else {
        waiting.dropped_events = waiting.dropped_events.saturating_add(1);
        add(&COUNTERS.events_dropped, 1);
    }
    if error.is_some() && waiting.error.is_none() {
        waiting.error = error;
    }
}

/// Joins what waits for `raw`'s span to its record (called when the span ends).
#[inline]
pub(crate) fn join(raw: &mut RawSpan) {
    if PENDING.load(Ordering::Relaxed) & bit(raw.span_id) != 0 {
        join_waiting(raw);
    }
}

#[cold]
#[inline(never)]
fn join_waiting(raw: &mut RawSpan) {
    let waiting = {
        let mut table = lock(&TABLE);
        let Some(waiting) = table.spans.remove(&raw.span_id) else {
            return;
        };
        let slot = &mut table.per_bit[(raw.span_id % 64) as usize];
        *slot -= 1;
        if *slot == 0 {
            PENDING.fetch_and(!bit(raw.span_id), Ordering::Release);
        }
        waiting
    };
    let limit = limits().event_count();
    let had_status = raw.flags & (FLAG_ERROR | FLAG_STATUS_OK) != 0;
    let extras = raw.extras();
    let mut dropped = waiting.dropped_events;
    for event in waiting.events {
        if extras.events.len() < limit {
            extras.events.push(event);
        } else {
            dropped = dropped.saturating_add(1);
            add(&COUNTERS.events_dropped, 1);
        }
    }
    extras.dropped_events = extras.dropped_events.saturating_add(dropped);
    if let (Some(description), false) = (waiting.error, had_status) {
        extras.error_description = Some(description);
        raw.flags |= FLAG_ERROR;
    }
}
