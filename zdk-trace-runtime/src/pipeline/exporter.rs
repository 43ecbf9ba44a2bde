//! The exporter thread: runs every exporter on each batch, keeps the OTLP requests a collector
//! did not take in a bounded retry buffer behind a circuit breaker ([`retry`](super::retry)),
//! and counts what became of every span.
//!
//! A batch is *exported* once every exporter took it; it is *dropped* (by reason) as soon as
//! one gave it up; until then, if an OTLP exporter keeps it for a retry, its spans are
//! counted in `stats().spans_awaiting_retry`. The thread never waits for a retry: it sleeps
//! until the next batch or the next retry is due, whichever comes first.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use opentelemetry_sdk::error::OTelSdkError;

use super::retry::{CircuitState, Fate, Retrier, RetrySettings};
use super::{Batch, ExportMsg, PipelineError};
use crate::clock;
use crate::counters::{add, COUNTERS};
use crate::export::{DynExporter, OtlpSender, SendError};
use crate::hot::hot;
use crate::warn::warn_once;

/// Everything the exporter thread exports to.
pub(super) struct Exporters {
    pub(super) spans: Vec<Box<dyn DynExporter>>,
    pub(super) otlp: Vec<OtlpSender>,
}

/// Why a batch was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GivenUp {
    /// An exporter failed for good (or panicked, or timed out without a retry buffer).
    ExportFailed,
    /// Evicted from a retry buffer (full, or too old).
    RetryBuffer,
    /// Still waiting for a retry when shutdown's deadline passed.
    Shutdown,
}

/// A batch on its way through the exporters.
#[derive(Debug)]
struct Tally {
    spans: usize,
    /// OTLP exporters that still have it (kept for a retry).
    pending: usize,
    /// Why it was given up, if it was.
    dropped: Option<GivenUp>,
    /// Its spans are counted in `spans_awaiting_retry`.
    awaiting: bool,
}

type TallyRef = Rc<RefCell<Tally>>;

/// One exporter is done with the batch (`None`: it took it).
fn resolve(tally: &TallyRef, outcome: Option<GivenUp>) {
    let mut t = tally.borrow_mut();
    t.pending = t.pending.saturating_sub(1);
    if t.dropped.is_none() {
        t.dropped = outcome;
    }
    if t.pending == 0 {
        finish(&mut t);
    }
}

/// Counts the batch's spans as exported or dropped, once.
fn finish(t: &mut Tally) {
    let n = t.spans as u64;
    if t.awaiting {
        sub(&COUNTERS.awaiting_retry, n);
        t.awaiting = false;
    }
    let counter = match t.dropped {
        None => &COUNTERS.exported,
        Some(GivenUp::ExportFailed) => &COUNTERS.dropped_export_failed,
        Some(GivenUp::RetryBuffer) => &COUNTERS.dropped_retry_buffer,
        Some(GivenUp::Shutdown) => &COUNTERS.dropped_shutdown,
    };
    add(counter, n);
    // Resolved: nothing more to count.
    t.spans = 0;
}

fn sub(counter: &std::sync::atomic::AtomicU64, n: u64) {
    if n > 0 {
        counter.fetch_sub(n, Ordering::Relaxed);
    }
}

/// An OTLP exporter and its retry state.
struct Otlp {
    sender: OtlpSender,
    retrier: Retrier<TallyRef>,
    /// Circuit transitions already added to the process-wide counters.
    published: (u64, u64),
}

/// Most kept requests sent again in one go before the thread looks at new batches.
const RETRIES_PER_TURN: usize = 16;

/// How long the exporter sleeps between looks at its queue while batches keep coming: at 1 M
/// spans/s, about 4 000 spans (8 batches of 512, one request) a look. Each look wakes the
/// thread on a core another thread has just used, its caches cold; looking every 2 ms cost
/// the exporter 4–14 ns more per span at 1 M spans/s (BENCHMARKS.md, issue 12).
const BUSY_POLL: Duration = Duration::from_millis(4);

/// Looks in a row that found the queue empty before the exporter stops polling and blocks.
const IDLE_POLLS: u32 = 2;

/// Most batches waiting in the queue that go out as one OTLP request.
///
/// An export costs the exporter thread about as much per request (the write on the socket,
/// waiting for the answer, reading it) as for the 512 spans of a default batch: when the
/// exporter finds several batches waiting, one request carrying them all halves its CPU per
/// span or better (BENCHMARKS.md, issue 12). Requests stay within `max_request_bytes`; each
/// batch is still one `export` call for the exporters that take `SpanData`, and one request of
/// its own in the retry buffer.
const MOST_BATCHES_PER_REQUEST: usize = 8;

/// The exporter's side of the queue. While batches keep coming it looks at the queue every
/// [`BUSY_POLL`] without blocking on it, so the collector hands a batch over without waking
/// this thread (a blocked receiver has to be woken by the sender, a cross-core wake-up that
/// cost the collector more than the timed sleep costs this thread: BENCHMARKS.md, issue 12);
/// the collector still wakes it when the queue fills past a quarter, and for a flush or the
/// shutdown. After [`IDLE_POLLS`] empty looks it blocks, and the next batch wakes it: an idle
/// process has no polling thread.
struct Inbox {
    rx: Receiver<ExportMsg>,
    /// Empty looks in a row since the last message.
    empty: u32,
    /// A message taken from the queue by [`Inbox::more`] but not wanted yet: the next one.
    held: Option<ExportMsg>,
}

impl Inbox {
    fn new(rx: Receiver<ExportMsg>) -> Inbox {
        Inbox {
            rx,
            empty: IDLE_POLLS,
            held: None,
        }
    }

    /// Another batch already waiting that fits in `room` bytes of OTLP request, without
    /// waiting for one. Anything else it finds (a flush, a batch too large) is held: it comes
    /// next from [`Inbox::next`].
    fn more(&mut self, room: usize) -> Option<Batch> {
        if self.held.is_some() {
            return None;
        }
        match self.rx.try_recv() {
            Ok(ExportMsg::Batch(batch)) if batch.otlp.as_ref().map_or(0, Bytes::len) <= room => {
                Some(batch)
            }
            Ok(msg) => {
                self.held = Some(msg);
                None
            }
            Err(_) => None,
        }
    }

    /// The next message, or `Some(None)` when `retry_at` comes first; `None` once the
    /// collector is gone.
    fn next(&mut self, retry_at: Option<Instant>) -> Option<Option<ExportMsg>> {
        if let Some(msg) = self.held.take() {
            self.empty = 0;
            return Some(Some(msg));
        }
        loop {
            match self.rx.try_recv() {
                Ok(msg) => {
                    self.empty = 0;
                    return Some(Some(msg));
                }
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            let left = retry_at.map(|at| at.saturating_duration_since(now));
            if left.is_some_and(|left| left.is_zero()) {
                return Some(None);
            }
            if self.empty < IDLE_POLLS {
                self.empty += 1;
                // The collector cuts this short when the queue fills up or a flush waits.
                std::thread::park_timeout(left.map_or(BUSY_POLL, |left| left.min(BUSY_POLL)));
                continue;
            }
            let msg = match left {
                Some(left) => match self.rx.recv_timeout(left) {
                    Ok(msg) => Some(msg),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return None,
                },
                None => Some(self.rx.recv().ok()?),
            };
            if msg.is_some() {
                self.empty = 0;
            }
            return Some(msg);
        }
    }
}

pub(super) fn run_exporter(
    runtime: tokio::runtime::Runtime,
    exporters: Exporters,
    rx: Receiver<ExportMsg>,
    queued: Arc<AtomicUsize>,
    timeout: Duration,
    max_request_bytes: usize,
    retry: RetrySettings,
) {
    let Exporters { spans, otlp } = exporters;
    let mut otlp: Vec<Otlp> = otlp
        .into_iter()
        .map(|sender| Otlp {
            sender,
            retrier: Retrier::new(retry),
            published: (0, 0),
        })
        .collect();
    let mut inbox = Inbox::new(rx);
    let mut batches = Vec::with_capacity(MOST_BATCHES_PER_REQUEST);
    loop {
        let next = otlp.iter().filter_map(|o| o.retrier.next_attempt()).min();
        let Some(msg) = inbox.next(next) else {
            return;
        };
        match msg {
            Some(ExportMsg::Batch(batch)) => {
                let mut n = batch.len;
                let mut bytes = batch.otlp.as_ref().map_or(0, Bytes::len);
                batches.push(batch);
                // Batches already waiting go with it, in one request (none wait for more).
                while !otlp.is_empty() && batches.len() < MOST_BATCHES_PER_REQUEST {
                    let Some(batch) = inbox.more(max_request_bytes.saturating_sub(bytes)) else {
                        break;
                    };
                    n += batch.len;
                    bytes += batch.otlp.as_ref().map_or(0, Bytes::len);
                    batches.push(batch);
                }
                let count = batches.len() as u64;
                export_batches(&runtime, &spans, &mut otlp, &mut batches, timeout, retry);
                queued.fetch_sub(n, Ordering::Relaxed);
                // Room again: spans go to the collector (it sets the flag again if the queue
                // fills up).
                hot().set_queue_full(false);
                add(&COUNTERS.batches, count);
            }
            Some(ExportMsg::Flush(reply)) => {
                let mut result = each_exporter(&spans, |e| e.force_flush());
                let deadline = Instant::now() + timeout;
                for o in &mut otlp {
                    if let Err(error) = send_kept(&runtime, o, deadline, timeout, false) {
                        result = result.and(Err(error));
                    }
                }
                publish(&mut otlp);
                let _ = reply.send(result);
            }
            Some(ExportMsg::Shutdown(reply, shutdown_timeout)) => {
                let deadline = clock::deadline_after(shutdown_timeout);
                let mut result = Ok(());
                for o in &mut otlp {
                    if let Err(error) = send_kept(&runtime, o, deadline, timeout, true) {
                        result = result.and(Err(error));
                    }
                }
                publish(&mut otlp);
                let exporters =
                    each_exporter(&spans, |e| e.shutdown_with_timeout(shutdown_timeout));
                let _ = reply.send(exporters.and(result));
                return;
            }
            None => {}
        }
        let now = Instant::now();
        for o in &mut otlp {
            for Fate::Evicted(tally) in o.retrier.expire(now) {
                resolve(&tally, Some(GivenUp::RetryBuffer));
            }
            retry_due(&runtime, o, timeout);
        }
        publish(&mut otlp);
    }
}

/// Exports batches to every exporter (emptying `batches`): one OTLP request for all of them
/// to each OTLP exporter, each batch on its own to the others. What an OTLP exporter's
/// collector did not take is kept for a retry, one request per batch (when that is worth it
/// and the buffer is on).
fn export_batches(
    runtime: &tokio::runtime::Runtime,
    spans_exporters: &[Box<dyn DynExporter>],
    otlp: &mut [Otlp],
    batches: &mut Vec<Batch>,
    timeout: Duration,
    retry: RetrySettings,
) {
    let tallies: Vec<TallyRef> = batches
        .iter()
        .map(|batch| {
            Rc::new(RefCell::new(Tally {
                spans: batch.len,
                pending: 1,
                dropped: None,
                awaiting: false,
            }))
        })
        .collect();
    // Each batch's request, with its tally (every batch has one when an OTLP exporter is on).
    let (parts, sent): (Vec<Bytes>, Vec<&TallyRef>) = batches
        .iter_mut()
        .zip(&tallies)
        .filter_map(|(batch, tally)| Some((batch.otlp.take()?, tally)))
        .unzip();
    if !parts.is_empty() {
        for o in otlp.iter_mut() {
            for tally in &sent {
                tally.borrow_mut().pending += 1;
            }
            let now = Instant::now();
            if !o.retrier.sends_now() {
                // Behind older requests, or the circuit is open: kept, in order.
                for (part, tally) in parts.iter().zip(&sent) {
                    keep(o, part.clone(), tally, now);
                }
                continue;
            }
            match attempt(runtime, &o.sender, &parts, timeout) {
                Ok(()) => {
                    o.retrier.succeeded(now);
                    for tally in &sent {
                        resolve(tally, None);
                    }
                }
                Err(failure) => {
                    let worth_retrying = failure.retryable() && retry.buffer_bytes > 0;
                    report(
                        o.sender.name(),
                        failure.as_failure(),
                        timeout,
                        worth_retrying,
                    );
                    if worth_retrying {
                        o.retrier.failed(Instant::now(), failure.retry_after());
                        for (part, tally) in parts.iter().zip(&sent) {
                            keep(o, part.clone(), tally, now);
                        }
                    } else {
                        for tally in &sent {
                            resolve(tally, Some(GivenUp::ExportFailed));
                        }
                    }
                }
            }
        }
    }
    let last = spans_exporters.len().saturating_sub(1);
    for (batch, tally) in batches.drain(..).zip(&tallies) {
        let mut spans = Some(batch.spans);
        let mut all_ok = true;
        for (i, exporter) in spans_exporters.iter().enumerate() {
            let spans = if i == last {
                spans.take().unwrap_or_default()
            } else {
                spans.clone().unwrap_or_default()
            };
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                runtime
                    .block_on(async { tokio::time::timeout(timeout, exporter.export(spans)).await })
            }));
            let outcome = match outcome {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(err))) => Err(Failure::Error(err.to_string())),
                Ok(Err(_elapsed)) => Err(Failure::Timeout),
                Err(panic) => Err(Failure::Panic(panic_message(panic.as_ref()))),
            };
            all_ok &= report(exporter.name(), outcome, timeout, false);
        }
        // The batch's own share: the exporters that take `SpanData`.
        resolve(tally, (!all_ok).then_some(GivenUp::ExportFailed));
        let mut t = tally.borrow_mut();
        if t.pending > 0 && !t.awaiting {
            t.awaiting = true;
            add(&COUNTERS.awaiting_retry, t.spans as u64);
        }
    }
}

/// Keeps a request for a retry; what the buffer evicts for it is given up.
fn keep(o: &mut Otlp, request: Bytes, tally: &TallyRef, now: Instant) {
    for Fate::Evicted(evicted) in o.retrier.keep(request, tally.clone(), now) {
        warn_once(
            ("retry buffer full", o.sender.name()),
            &format!(
                "{}: the collector has not taken requests for a while and the retry buffer is \
                 full (or its oldest request too old): the oldest are dropped, counted in \
                 stats().dropped_retry_buffer; check the collector, or raise \
                 telemetry.tracing.otlp.retry.buffer_bytes",
                o.sender.name()
            ),
        );
        resolve(&evicted, Some(GivenUp::RetryBuffer));
    }
}

/// Sends kept requests that are due, oldest first, while the collector takes them.
fn retry_due(runtime: &tokio::runtime::Runtime, o: &mut Otlp, timeout: Duration) {
    for _ in 0..RETRIES_PER_TURN {
        let now = Instant::now();
        let Some(request) = o.retrier.due(now) else {
            return;
        };
        add(&COUNTERS.export_retries, 1);
        match attempt(runtime, &o.sender, std::slice::from_ref(&request), timeout) {
            Ok(()) => {
                if let Some(tally) = o.retrier.sent_oldest(Instant::now()) {
                    resolve(&tally, None);
                }
            }
            Err(failure) if failure.retryable() => {
                report(o.sender.name(), failure.as_failure(), timeout, true);
                o.retrier.failed(Instant::now(), failure.retry_after());
                return;
            }
            Err(failure) => {
                // The collector answered, and refused this request for good.
                report(o.sender.name(), failure.as_failure(), timeout, false);
                o.retrier.succeeded(Instant::now());
                if let Some(tally) = o.retrier.refused_oldest() {
                    resolve(&tally, Some(GivenUp::ExportFailed));
                }
            }
        }
    }
}

/// On flush and shutdown: sends every kept request, oldest first, until one fails or the
/// deadline passes. On shutdown what is left is given up; on flush it stays kept.
fn send_kept(
    runtime: &tokio::runtime::Runtime,
    o: &mut Otlp,
    deadline: Instant,
    timeout: Duration,
    shutdown: bool,
) -> Result<(), PipelineError> {
    let mut failed = None;
    while failed.is_none() && o.retrier.buffered().1 > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // Whatever the backoff or the circuit say: this is the last chance, or the caller
        // asked for it.
        let Some(request) = o.retrier.oldest() else {
            break;
        };
        add(&COUNTERS.export_retries, 1);
        match attempt(
            runtime,
            &o.sender,
            std::slice::from_ref(&request),
            timeout.min(left),
        ) {
            Ok(()) => {
                if let Some(tally) = o.retrier.sent_oldest(Instant::now()) {
                    resolve(&tally, None);
                }
            }
            Err(failure) if failure.retryable() => {
                o.retrier.failed(Instant::now(), failure.retry_after());
                failed = Some(failure.to_string());
            }
            Err(failure) => {
                if let Some(tally) = o.retrier.refused_oldest() {
                    resolve(&tally, Some(GivenUp::ExportFailed));
                }
                failed = Some(failure.to_string());
            }
        }
    }
    let (_, left) = o.retrier.buffered();
    if shutdown {
        for waiting in o.retrier.take_all() {
            resolve(&waiting.tag, Some(GivenUp::Shutdown));
        }
    }
    if left == 0 {
        return Ok(());
    }
    Err(PipelineError::Exporter {
        exporter: o.sender.name().to_owned(),
        source: OTelSdkError::InternalFailure(format!(
            "{left} requests kept for a retry could not be sent ({}){}",
            failed.unwrap_or_else(|| "no time left".to_owned()),
            if shutdown {
                "; their spans are counted in stats().dropped_shutdown"
            } else {
                "; they stay kept"
            }
        )),
    })
}

/// One attempt of one request (`parts` one after the other), bounded by `timeout`, a panic
/// caught.
fn attempt(
    runtime: &tokio::runtime::Runtime,
    sender: &OtlpSender,
    parts: &[Bytes],
    timeout: Duration,
) -> Result<(), AttemptError> {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async { tokio::time::timeout(timeout, sender.attempt(parts)).await })
    }));
    match outcome {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(err))) => Err(AttemptError::Send(err)),
        Ok(Err(_elapsed)) => Err(AttemptError::Timeout),
        Err(panic) => Err(AttemptError::Panic(panic_message(panic.as_ref()))),
    }
}

/// How one attempt of an OTLP request failed.
#[derive(Debug)]
enum AttemptError {
    Send(SendError),
    Timeout,
    Panic(String),
}

impl AttemptError {
    /// Worth sending again: what the OTLP specification calls retryable, and a collector that
    /// did not answer in time (it may have taken the request: a retry can then deliver it twice,
    /// which backends tolerate better than a loss).
    fn retryable(&self) -> bool {
        match self {
            AttemptError::Send(err) => err.retryable() || matches!(err, SendError::Timeout(_)),
            AttemptError::Timeout => true,
            AttemptError::Panic(_) => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            AttemptError::Send(err) => err.retry_after(),
            AttemptError::Timeout | AttemptError::Panic(_) => None,
        }
    }

    fn as_failure(&self) -> Result<(), Failure> {
        Err(match self {
            AttemptError::Send(SendError::Timeout(_)) | AttemptError::Timeout => Failure::Timeout,
            AttemptError::Send(err) => Failure::Error(err.to_string()),
            AttemptError::Panic(message) => Failure::Panic(message.clone()),
        })
    }
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptError::Send(err) => err.fmt(f),
            AttemptError::Timeout => f.write_str("no answer within the export timeout"),
            AttemptError::Panic(message) => write!(f, "the exporter panicked ({message})"),
        }
    }
}

/// Calls `f` on every exporter, catching panics; returns the first error (every exporter is
/// called all the same).
fn each_exporter(
    exporters: &[Box<dyn DynExporter>],
    f: impl Fn(&dyn DynExporter) -> opentelemetry_sdk::error::OTelSdkResult,
) -> Result<(), PipelineError> {
    let mut first = None;
    for exporter in exporters {
        let failure = match std::panic::catch_unwind(AssertUnwindSafe(|| f(exporter.as_ref()))) {
            Ok(Ok(())) => None,
            Ok(Err(err)) => Some(err),
            Err(_) => {
                add(&COUNTERS.export_panics, 1);
                Some(OTelSdkError::InternalFailure(format!(
                    "exporter {} panicked",
                    exporter.name()
                )))
            }
        };
        if let (Some(source), None) = (failure, &first) {
            first = Some(PipelineError::Exporter {
                exporter: exporter.name().to_owned(),
                source,
            });
        }
    }
    match first {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// How one export of a batch failed.
enum Failure {
    Error(String),
    Timeout,
    /// With the panic's message.
    Panic(String),
}

/// The message a panic was raised with (`panic!("...")`), or a placeholder.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Counts and warns (once per exporter and kind) about a failed export; `true` if it
/// succeeded. `kept`: the request was kept for a retry (said in the warning).
fn report(name: &'static str, outcome: Result<(), Failure>, timeout: Duration, kept: bool) -> bool {
    let failure = match outcome {
        Ok(()) => return true,
        Err(failure) => failure,
    };
    add(&COUNTERS.export_errors, 1);
    match failure {
        Failure::Error(err) => warn_once(
            ("export failed", name),
            &format!(
                "export to {name} failed: {err}{}",
                if kept {
                    "; the request is kept and sent again when the collector answers \
                     (stats().spans_awaiting_retry)"
                } else {
                    ""
                }
            ),
        ),
        Failure::Timeout => {
            add(&COUNTERS.export_timeouts, 1);
            warn_once(
                ("export timed out", name),
                &format!(
                    "export to {name} timed out: no answer within {timeout:?}; check the \
                     collector, or raise the export timeout"
                ),
            );
        }
        Failure::Panic(message) => {
            add(&COUNTERS.export_panics, 1);
            warn_once(
                ("exporter panicked", name),
                &format!(
                    "exporter {name} panicked ({message}): the batch was dropped and the \
                     pipeline goes on; later panics are counted in stats().export_panics"
                ),
            );
        }
    }
    false
}

/// The retry buffers' and circuits' state, for `stats()`.
fn publish(otlp: &mut [Otlp]) {
    let mut bytes = 0;
    let mut state = CircuitState::Closed;
    for o in otlp.iter_mut() {
        bytes += o.retrier.buffered().0;
        add(&COUNTERS.circuit_opened, o.retrier.opened - o.published.0);
        add(&COUNTERS.circuit_closed, o.retrier.closed - o.published.1);
        o.published = (o.retrier.opened, o.retrier.closed);
        state = match (state, o.retrier.state()) {
            (CircuitState::Open, _) | (_, CircuitState::Open) => CircuitState::Open,
            (CircuitState::HalfOpen, _) | (_, CircuitState::HalfOpen) => CircuitState::HalfOpen,
            _ => CircuitState::Closed,
        };
    }
    COUNTERS
        .retry_buffer_bytes
        .store(bytes as u64, Ordering::Relaxed);
    COUNTERS
        .circuit
        .store(u64::from(state.to_u8()), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> ExportMsg {
        ExportMsg::Batch(Batch {
            len: 1,
            spans: Vec::new(),
            otlp: None,
        })
    }

    #[test]
    fn the_inbox_blocks_when_idle_polls_while_busy_and_returns_for_a_retry() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut inbox = Inbox::new(rx);
        // Idle: blocked until a message sent later from another thread wakes it.
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let _ = tx.send(batch());
            tx
        });
        assert!(matches!(inbox.next(None), Some(Some(ExportMsg::Batch(_)))));
        assert_eq!(inbox.empty, 0, "a message came: polls again");
        let Ok(tx) = sender.join() else {
            panic!("the sender panicked")
        };
        // A message already there is taken at once.
        let _ = tx.send(batch());
        assert!(matches!(inbox.next(None), Some(Some(ExportMsg::Batch(_)))));
        // Nothing comes: looks `IDLE_POLLS` times, then blocks until the retry is due.
        let due = Instant::now() + Duration::from_millis(30);
        assert!(matches!(inbox.next(Some(due)), Some(None)));
        assert!(Instant::now() >= due);
        assert_eq!(inbox.empty, IDLE_POLLS, "idle: blocks from now on");
        drop(tx);
        assert!(inbox.next(None).is_none(), "the collector is gone");
    }
}
