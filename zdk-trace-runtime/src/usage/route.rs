//! The minimal usage route: events from [`submit`] go through a bounded channel to one thread
//! that sanitizes them, turns each into a span ([`to_span_data`]) and exports them to the
//! exporter given to `TelemetryBuilder::usage_span_exporter`. Kept self-contained so the full
//! usage layer (opt-outs, anonymous resource, its own queue statistics) can replace it; that
//! layer reuses [`to_span_data`].

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::{is_allowed, UsageEvent, UsageValue, MAX_STRING_LEN};
use crate::export::DynExporter;
use crate::pipeline::{lock, warn_once, PipelineError};

/// Most events waiting for export; more are dropped and counted.
pub(crate) const ROUTE_CAPACITY: usize = 1024;
/// Most events per export call.
const MAX_BATCH: usize = 256;
/// Longest an export call may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Read before anything is built: `#[usage_event]` costs this load when no route is installed.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The installed route's sender.
static SENDER: Mutex<Option<Sender<Msg>>> = Mutex::new(None);
/// Events dropped because the queue was full or the route was stopping.
static DROPPED: AtomicU64 = AtomicU64::new(0);

enum Msg {
    Event(UsageEvent),
    Flush(Sender<Result<(), String>>),
    Shutdown(Sender<Result<(), String>>, Duration),
}

#[inline]
pub(super) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub(super) fn submit(event: UsageEvent) {
    if !enabled() {
        return;
    }
    let sent = match &*lock(&SENDER) {
        Some(tx) => tx.try_send(Msg::Event(event)).is_ok(),
        None => false,
    };
    if !sent {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        warn_once(
            ("usage queue full", "usage"),
            "usage events are dropped: the usage exporter is not keeping up",
        );
    }
}

/// The running route of one installed [`Telemetry`](crate::Telemetry).
#[derive(Debug)]
pub(crate) struct UsageRoute {
    tx: Sender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Event(_) => "Event",
            Msg::Flush(_) => "Flush",
            Msg::Shutdown(..) => "Shutdown",
        })
    }
}

impl UsageRoute {
    /// Starts the route's thread and makes it the one [`submit`] sends to.
    pub(crate) fn start(exporter: Box<dyn DynExporter>) -> std::io::Result<UsageRoute> {
        let runtime = crate::pipeline::export_runtime()?;
        let (tx, rx) = crossbeam_channel::bounded(ROUTE_CAPACITY);
        std::thread::Builder::new()
            .name("zdk-trace-usage".into())
            .spawn(move || run(runtime, exporter, rx))?;
        *lock(&SENDER) = Some(tx.clone());
        ENABLED.store(true, Ordering::Relaxed);
        Ok(UsageRoute { tx })
    }

    /// Exports every event submitted so far and waits for the exporter.
    pub(crate) fn force_flush(&self, timeout: Duration) -> Result<(), PipelineError> {
        let (ack, done) = crossbeam_channel::bounded(1);
        self.request(Msg::Flush(ack), &done, timeout)
    }

    /// Stops taking events, exports what is queued, shuts the exporter down.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), PipelineError> {
        {
            let mut sender = lock(&SENDER);
            if sender.as_ref().is_some_and(|s| s.same_channel(&self.tx)) {
                ENABLED.store(false, Ordering::Relaxed);
                *sender = None;
            }
        }
        let (ack, done) = crossbeam_channel::bounded(1);
        self.request(Msg::Shutdown(ack, timeout), &done, timeout)
    }

    fn request(
        &self,
        msg: Msg,
        done: &Receiver<Result<(), String>>,
        timeout: Duration,
    ) -> Result<(), PipelineError> {
        if self.tx.send_timeout(msg, timeout).is_err() {
            return Err(PipelineError::Timeout(timeout));
        }
        match done.recv_timeout(timeout) {
            Ok(result) => result.map_err(PipelineError::Exporter),
            Err(RecvTimeoutError::Timeout) => Err(PipelineError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(PipelineError::Stopped),
        }
    }
}

fn run(runtime: tokio::runtime::Runtime, exporter: Box<dyn DynExporter>, rx: Receiver<Msg>) {
    let scope = InstrumentationScope::builder("zdk-trace-usage")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let ids = RandomState::new();
    let mut counter: u64 = 0;
    let mut batch: Vec<SpanData> = Vec::new();
    loop {
        // Events that arrive together are exported together; an idle queue flushes the batch.
        let msg = if batch.is_empty() {
            rx.recv().ok()
        } else {
            match rx.try_recv() {
                Ok(msg) => Some(msg),
                Err(TryRecvError::Empty) => {
                    export(&runtime, exporter.as_ref(), &mut batch);
                    continue;
                }
                Err(TryRecvError::Disconnected) => None,
            }
        };
        match msg {
            Some(Msg::Event(mut event)) => {
                sanitize(&mut event);
                counter = counter.wrapping_add(1);
                let trace =
                    (u128::from(ids.hash_one(counter)) << 64) | u128::from(ids.hash_one(!counter));
                let span = ids.hash_one(counter ^ 0x9e37_79b9_7f4a_7c15) | 1;
                batch.push(to_span_data(
                    event,
                    TraceId::from(trace.max(1)),
                    SpanId::from(span),
                    &scope,
                ));
                if batch.len() >= MAX_BATCH {
                    export(&runtime, exporter.as_ref(), &mut batch);
                }
            }
            Some(Msg::Flush(ack)) => {
                export(&runtime, exporter.as_ref(), &mut batch);
                let _ = ack.send(call(exporter.as_ref(), |e| e.force_flush()));
            }
            Some(Msg::Shutdown(ack, timeout)) => {
                export(&runtime, exporter.as_ref(), &mut batch);
                let _ = ack.send(call(exporter.as_ref(), |e| {
                    e.shutdown_with_timeout(timeout)
                }));
                return;
            }
            None => {
                export(&runtime, exporter.as_ref(), &mut batch);
                return;
            }
        }
    }
}

fn call(
    exporter: &dyn DynExporter,
    f: impl FnOnce(&dyn DynExporter) -> opentelemetry_sdk::error::OTelSdkResult,
) -> Result<(), String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| f(exporter))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("{}: {err}", exporter.name())),
        Err(_) => Err(format!("{} panicked", exporter.name())),
    }
}

/// Exports `batch` (emptying it); failures are dropped and warned about once.
fn export(
    runtime: &tokio::runtime::Runtime,
    exporter: &dyn DynExporter,
    batch: &mut Vec<SpanData>,
) {
    if batch.is_empty() {
        return;
    }
    let spans = std::mem::take(batch);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        // The timer must be created inside the runtime.
        runtime
            .block_on(async { tokio::time::timeout(EXPORT_TIMEOUT, exporter.export(spans)).await })
    }));
    if !matches!(outcome, Ok(Ok(Ok(())))) {
        warn_once(
            ("usage export failed", exporter.name()),
            &format!(
                "usage export to {} failed or timed out; those usage events are dropped",
                exporter.name()
            ),
        );
    }
}

/// The run-time allowlist: keys not allowed (see [`is_allowed`]) are removed, strings are cut
/// to [`MAX_STRING_LEN`] characters.
pub(crate) fn sanitize(event: &mut UsageEvent) {
    event.attributes.retain(|(key, _)| is_allowed(key));
    for (_, value) in &mut event.attributes {
        if let UsageValue::Str(s) = value {
            if let Some((at, _)) = s.char_indices().nth(MAX_STRING_LEN) {
                *s = Cow::Owned(s[..at].to_owned());
            }
        }
    }
}

/// One usage event as a span: named after the event, attributes `event.<key>` with `.` → `_`,
/// ending at the event's time and starting `duration_ms` earlier (when given).
pub(crate) fn to_span_data(
    event: UsageEvent,
    trace_id: TraceId,
    span_id: SpanId,
    scope: &InstrumentationScope,
) -> SpanData {
    let end_time = event.time;
    let duration = event
        .attributes
        .iter()
        .find_map(|(key, value)| match value {
            UsageValue::F64(ms) if key == "duration_ms" && ms.is_finite() && *ms >= 0.0 => {
                Some(Duration::from_secs_f64(ms / 1000.0))
            }
            _ => None,
        });
    let start_time = duration
        .and_then(|d| end_time.checked_sub(d))
        .unwrap_or(end_time);
    let attributes = event
        .attributes
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                UsageValue::Bool(b) => Value::Bool(b),
                UsageValue::I64(n) => Value::I64(n),
                UsageValue::F64(x) => Value::F64(x),
                UsageValue::Str(s) => Value::String(StringValue::from(s)),
            };
            KeyValue::new(format!("event.{}", key.replace('.', "_")), value)
        })
        .collect();
    SpanData {
        span_context: SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            Default::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: event.name,
        start_time,
        end_time,
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

/// Events dropped by the route so far (queue full or no route while enabled).
#[allow(dead_code)] // read by tests; the usage layer reports its own totals
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, SystemTime};

    use opentelemetry::trace::{SpanId, TraceId};
    use opentelemetry::{InstrumentationScope, Value};

    use super::{sanitize, to_span_data};
    use crate::usage::{UsageEvent, UsageValue};

    fn event() -> UsageEvent {
        UsageEvent {
            name: Cow::Borrowed("agent.run"),
            attributes: vec![
                (Cow::Borrowed("agent.type"), UsageValue::Str("react".into())),
                (Cow::Borrowed("duration_ms"), UsageValue::F64(1500.0)),
                (Cow::Borrowed("success"), UsageValue::Bool(true)),
            ],
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    #[test]
    fn event_becomes_span_with_prefixed_keys_and_duration() {
        let scope = InstrumentationScope::builder("t").build();
        let span = to_span_data(event(), TraceId::from(7u128), SpanId::from(9u64), &scope);
        assert_eq!(span.name, "agent.run");
        assert_eq!(
            span.end_time.duration_since(span.start_time).ok(),
            Some(Duration::from_millis(1500))
        );
        let get = |k: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(get("event.agent_type"), Some(Value::from("react")));
        assert_eq!(get("event.success"), Some(Value::Bool(true)));
        assert_eq!(get("event.duration_ms"), Some(Value::F64(1500.0)));
        assert_eq!(span.span_context.trace_id(), TraceId::from(7u128));
    }

    #[test]
    fn sanitize_drops_unknown_keys_and_cuts_strings() {
        let mut e = event();
        e.attributes
            .push((Cow::Borrowed("user.name"), UsageValue::Str("ada".into())));
        e.attributes.push((
            Cow::Borrowed("component"),
            UsageValue::Str("é".repeat(80).into()),
        ));
        sanitize(&mut e);
        assert!(e.attributes.iter().all(|(k, _)| k != "user.name"));
        let cut = e
            .attributes
            .iter()
            .find(|(k, _)| k == "component")
            .map(|(_, v)| v.clone());
        assert_eq!(cut, Some(UsageValue::Str("é".repeat(50).into())));
    }
}
