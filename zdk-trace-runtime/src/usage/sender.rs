//! The usage layer's own pipeline, independent of the trace pipeline: a bounded queue, and a
//! thread with its own single-threaded tokio runtime that batches events and sends them with
//! retries behind a circuit breaker. The application is never blocked: a full queue drops the
//! event and counts it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use crossbeam_channel::{bounded, select, Receiver, Sender, TrySendError};
use once_cell::sync::Lazy;

use super::event::UsageEvent;
use super::sanitize::sanitize;
use super::screen::Reason;
use super::status::{CircuitState, ScreenedValues, UsageCounters};
use super::wire::{gzip, to_otlp_json, to_span_data, UsageResource};
use crate::export::DynExporter;
use crate::lock::lock;

/// Most events waiting to be sent; more are dropped and counted.
pub(crate) const MAX_QUEUE_SIZE: usize = 1024;
/// Most events in one request.
const MAX_BATCH_SIZE: usize = 256;
/// Longest an event waits before its batch is sent.
const SCHEDULED_DELAY: Duration = Duration::from_secs(5);
/// Longest one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries per batch while the circuit is closed: the first, then retries after
/// [`BACKOFF_FIRST`], doubled each time.
const ATTEMPTS: u32 = 3;
const BACKOFF_FIRST: Duration = Duration::from_millis(100);

/// Where the notice, debug output and the single failure warning go (stderr by default).
#[derive(Clone)]
pub(crate) struct Output(Arc<Mutex<Box<dyn Write + Send>>>);

impl Output {
    pub(crate) fn new(writer: impl Write + Send + 'static) -> Output {
        Output(Arc::new(Mutex::new(Box::new(writer))))
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Output")
    }
}

/// Standard error, as an [`Output`].
pub(crate) fn stderr_output() -> Output {
    Output::new(std::io::stderr())
}

/// Writes `text` to `output`, ignoring errors: a closed stderr must not stop the layer.
pub(crate) fn write_out(output: &Output, text: &str) {
    let mut out = lock(&output.0);
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Where batches go.
pub(crate) enum Sink {
    /// OTLP/JSON, gzip-compressed, POSTed to this URL.
    Http { url: String },
    /// An exporter given in code (tests, or an application routing usage elsewhere).
    Exporter(Box<dyn DynExporter>),
    /// Debug mode: printed, never sent.
    Debug { url: Option<String> },
}

/// What a layer is built from.
pub(crate) struct LayerParts {
    pub(crate) resource: UsageResource,
    pub(crate) sink: Sink,
    pub(crate) cooldown: Duration,
    pub(crate) output: Output,
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    printed: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_export_failed: AtomicU64,
    dropped_circuit_open: AtomicU64,
    dropped_shutdown: AtomicU64,
    keys_dropped: AtomicU64,
    strings_truncated: AtomicU64,
    /// By [`screen::Reason`](super::screen::Reason) index.
    screened: [AtomicU64; 8],
    retries: AtomicU64,
    circuit_opened: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> UsageCounters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        UsageCounters {
            queued: get(&self.queued),
            sent: get(&self.sent),
            printed: get(&self.printed),
            dropped_queue_full: get(&self.dropped_queue_full),
            dropped_export_failed: get(&self.dropped_export_failed),
            dropped_circuit_open: get(&self.dropped_circuit_open),
            dropped_shutdown: get(&self.dropped_shutdown),
            keys_dropped: get(&self.keys_dropped),
            strings_truncated: get(&self.strings_truncated),
            values_screened: {
                let s = |r: Reason| get(&self.screened[r.index()]);
                ScreenedValues {
                    email: s(Reason::Email),
                    url: s(Reason::Url),
                    path: s(Reason::Path),
                    ip_address: s(Reason::IpAddress),
                    host_name: s(Reason::HostName),
                    uuid: s(Reason::Uuid),
                    long_number: s(Reason::LongNumber),
                    secret: s(Reason::Secret),
                }
            },
            retries: get(&self.retries),
            circuit_opened: get(&self.circuit_opened),
        }
    }
}

/// State shared by the application threads, the layer thread and status readers.
#[derive(Debug)]
struct Shared {
    counters: Counters,
    /// `Some(until)` while the circuit is open.
    open_until: Mutex<Option<Instant>>,
}

impl Shared {
    fn circuit(&self) -> CircuitState {
        match *lock(&self.open_until) {
            None => CircuitState::Closed,
            Some(until) if Instant::now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }
}

/// The layer events are submitted to, if one is running: its queue and counters.
#[derive(Debug)]
struct Active {
    events: Sender<UsageEvent>,
    shared: Arc<Shared>,
}

/// Checked first, so that tracking costs one atomic load while the layer is off.
static ON: AtomicBool = AtomicBool::new(false);
static ACTIVE: Lazy<ArcSwapOption<Active>> = Lazy::new(ArcSwapOption::empty);

/// Whether a layer is running (the dynamic API checks this before building an event).
#[inline]
pub(crate) fn is_on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Sanitizes `event` and queues it for the running layer; drops it (counted) when the queue is
/// full. Never blocks.
pub(crate) fn submit(mut event: UsageEvent) {
    if !is_on() {
        return;
    }
    let active = ACTIVE.load();
    let Some(active) = active.as_ref() else {
        return;
    };
    let counters = &active.shared.counters;
    let removed = sanitize(&mut event);
    add(&counters.keys_dropped, removed.keys_dropped);
    add(&counters.strings_truncated, removed.strings_truncated);
    for reason in Reason::ALL {
        add(
            &counters.screened[reason.index()],
            removed.screened[reason.index()],
        );
    }
    match active.events.try_send(event) {
        Ok(()) => add(&counters.queued, 1),
        Err(TrySendError::Full(_)) => add(&counters.dropped_queue_full, 1),
        Err(TrySendError::Disconnected(_)) => add(&counters.dropped_shutdown, 1),
    }
}

enum Control {
    Flush(Sender<()>),
    Shutdown(Sender<()>, Duration),
}

/// A running usage layer.
#[derive(Debug)]
pub(crate) struct UsageLayer {
    active: Arc<Active>,
    control: Sender<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
    stopped: AtomicBool,
}

impl UsageLayer {
    /// Starts the layer's thread and makes it the one events are submitted to.
    pub(crate) fn start(parts: LayerParts) -> std::io::Result<UsageLayer> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // The HTTP client binds to the runtime current when it is built.
        let client = {
            let _guard = runtime.enter();
            reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .ok()
        };
        let (events_tx, events_rx) = bounded(MAX_QUEUE_SIZE);
        let (control_tx, control_rx) = bounded(8);
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            open_until: Mutex::new(None),
        });
        let mut worker = Worker {
            runtime,
            client,
            sink: parts.sink,
            resource: parts.resource,
            cooldown: parts.cooldown,
            output: parts.output,
            shared: Arc::clone(&shared),
        };
        let thread = std::thread::Builder::new()
            .name("zdk-trace-usage".to_owned())
            .spawn(move || worker.run(&events_rx, &control_rx))?;
        let active = Arc::new(Active {
            events: events_tx,
            shared,
        });
        ACTIVE.store(Some(Arc::clone(&active)));
        ON.store(true, Ordering::Release);
        Ok(UsageLayer {
            active,
            control: control_tx,
            thread: Mutex::new(Some(thread)),
            stopped: AtomicBool::new(false),
        })
    }

    pub(crate) fn counters(&self) -> UsageCounters {
        self.active.shared.counters.snapshot()
    }

    pub(crate) fn circuit(&self) -> CircuitState {
        self.active.shared.circuit()
    }

    /// Sends what is queued and waits, at most `timeout`. `false` if it timed out.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let (reply, done) = bounded(1);
        self.control.send(Control::Flush(reply)).is_ok() && done.recv_timeout(timeout).is_ok()
    }

    /// Stops taking events, sends what is queued and stops the thread, waiting at most
    /// `timeout`. Idempotent.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return true;
        }
        let current = ACTIVE.load();
        if current
            .as_ref()
            .is_some_and(|cur| Arc::ptr_eq(cur, &self.active))
        {
            ON.store(false, Ordering::Release);
            ACTIVE.store(None);
        }
        let (reply, done) = bounded(1);
        let finished = self.control.send(Control::Shutdown(reply, timeout)).is_ok()
            && done.recv_timeout(timeout).is_ok();
        if finished {
            if let Some(thread) = lock(&self.thread).take() {
                let _ = thread.join();
            }
        } else {
            add(
                &self.active.shared.counters.dropped_shutdown,
                self.active.events.len() as u64,
            );
        }
        finished
    }
}

impl Drop for UsageLayer {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(1));
    }
}

/// The layer thread.
struct Worker {
    runtime: tokio::runtime::Runtime,
    /// `None` if the HTTP client could not be built (then every send fails, counted).
    client: Option<reqwest::Client>,
    sink: Sink,
    resource: UsageResource,
    cooldown: Duration,
    output: Output,
    shared: Arc<Shared>,
}

/// Why a send failed: worth retrying (network, timeout, 5xx, 429) or not (other 4xx).
enum SendError {
    Retry(String),
    Fatal(String),
}

impl Worker {
    fn run(&mut self, events: &Receiver<UsageEvent>, control: &Receiver<Control>) {
        let mut batch: Vec<UsageEvent> = Vec::new();
        let mut deadline: Option<Instant> = None;
        loop {
            let wait = deadline.map_or(Duration::from_secs(3600), |d| {
                d.saturating_duration_since(Instant::now())
            });
            select! {
                recv(events) -> event => match event {
                    Ok(event) => {
                        if batch.is_empty() {
                            deadline = Some(Instant::now() + SCHEDULED_DELAY);
                        }
                        batch.push(event);
                        if batch.len() >= MAX_BATCH_SIZE {
                            self.deliver(std::mem::take(&mut batch));
                            deadline = None;
                        }
                    }
                    Err(_) => {
                        self.deliver(std::mem::take(&mut batch));
                        return;
                    }
                },
                recv(control) -> message => {
                    batch.extend(events.try_iter());
                    for chunk in batch.chunks(MAX_BATCH_SIZE) {
                        self.deliver(chunk.to_vec());
                    }
                    batch.clear();
                    deadline = None;
                    match message {
                        Ok(Control::Flush(reply)) => {
                            let _ = reply.send(());
                        }
                        Ok(Control::Shutdown(reply, timeout)) => {
                            if let Sink::Exporter(exporter) = &self.sink {
                                let _ = exporter.shutdown_with_timeout(timeout);
                            }
                            let _ = reply.send(());
                            return;
                        }
                        Err(_) => return,
                    }
                },
                default(wait) => {
                    self.deliver(std::mem::take(&mut batch));
                    deadline = None;
                },
            }
        }
    }

    /// Sends one batch: printed in debug mode; else dropped while the circuit is open, else
    /// sent with retries (one try when the circuit is half open).
    fn deliver(&self, batch: Vec<UsageEvent>) {
        let n = batch.len() as u64;
        if n == 0 {
            return;
        }
        let counters = &self.shared.counters;
        if let Sink::Debug { url } = &self.sink {
            let body = to_otlp_json(&self.resource, &batch);
            let target = url.as_deref().unwrap_or("(no endpoint configured)");
            write_out(
                &self.output,
                &format!(
                    "zdk-trace usage (ZDK_TELEMETRY_DEBUG: printed, not sent) POST {target}\n{}\n",
                    String::from_utf8_lossy(&body)
                ),
            );
            add(&counters.printed, n);
            return;
        }
        let attempts = match self.shared.circuit() {
            CircuitState::Open => {
                add(&counters.dropped_circuit_open, n);
                return;
            }
            CircuitState::HalfOpen => 1,
            CircuitState::Closed => ATTEMPTS,
        };
        let mut outcome = Ok(());
        for attempt in 0..attempts {
            if attempt > 0 {
                add(&counters.retries, 1);
                // Sleeping here delays only this thread; events keep queueing (or dropping).
                std::thread::sleep(BACKOFF_FIRST * 2u32.pow(attempt - 1));
            }
            // A panicking exporter (or client) must not take the layer down with it.
            outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.send(&batch)))
                .unwrap_or_else(|_| Err(SendError::Fatal("the usage exporter panicked".into())));
            if !matches!(outcome, Err(SendError::Retry(_))) {
                break;
            }
        }
        match outcome {
            Ok(()) => {
                add(&counters.sent, n);
                *lock(&self.shared.open_until) = None;
            }
            Err(error) => {
                add(&counters.dropped_export_failed, n);
                let (reason, opens) = match error {
                    SendError::Retry(reason) => (reason, true),
                    SendError::Fatal(reason) => (reason, false),
                };
                if opens {
                    *lock(&self.shared.open_until) = Some(Instant::now() + self.cooldown);
                    add(&counters.circuit_opened, 1);
                }
                self.warn_once(&reason);
            }
        }
    }

    fn send(&self, batch: &[UsageEvent]) -> Result<(), SendError> {
        match &self.sink {
            Sink::Http { url } => {
                let Some(client) = &self.client else {
                    return Err(SendError::Fatal(
                        "the HTTP client could not be built".into(),
                    ));
                };
                let body = gzip(&to_otlp_json(&self.resource, batch))
                    .map_err(|e| SendError::Fatal(format!("gzip failed: {e}")))?;
                // Built inside the runtime: the request's timeout timer needs its reactor.
                let response = self
                    .runtime
                    .block_on(async {
                        client
                            .post(url)
                            .header("content-type", "application/json")
                            .header("content-encoding", "gzip")
                            .body(body)
                            .send()
                            .await
                    })
                    .map_err(|e| SendError::Retry(format!("cannot reach {url}: {e}")))?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else if status.is_server_error() || status.as_u16() == 429 {
                    Err(SendError::Retry(format!("{url} answered {status}")))
                } else {
                    Err(SendError::Fatal(format!("{url} answered {status}")))
                }
            }
            Sink::Exporter(exporter) => {
                let spans = batch.iter().map(to_span_data).collect();
                let result = self.runtime.block_on(async {
                    tokio::time::timeout(REQUEST_TIMEOUT, exporter.export(spans)).await
                });
                match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(SendError::Retry(format!("{}: {e}", exporter.name()))),
                    Err(_) => Err(SendError::Retry(format!("{} timed out", exporter.name()))),
                }
            }
            Sink::Debug { .. } => Ok(()),
        }
    }

    /// One line per process, whatever fails and however often: usage telemetry must never
    /// flood the application's output.
    fn warn_once(&self, reason: &str) {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::AcqRel) {
            write_out(
                &self.output,
                &format!(
                    "zdk-trace: anonymous usage statistics could not be sent ({reason}); they \
                     are dropped and counted in usage_status(), and this is not reported again\n"
                ),
            );
        }
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Http { url } => f.debug_struct("Http").field("url", url).finish(),
            Sink::Exporter(e) => f.debug_tuple("Exporter").field(&e.name()).finish(),
            Sink::Debug { url } => f.debug_struct("Debug").field("url", url).finish(),
        }
    }
}
