//! The export pipeline: a collector thread that drains every application thread's ring,
//! applies tail sampling and batches; an exporter thread that runs the exporters on its own
//! single-threaded tokio runtime. Both are bounded: when the exporter is behind, spans are
//! dropped and counted, and the application is never blocked.

pub(crate) mod convert;
mod error;
mod exporter;
mod retry;
pub(crate) mod stats;
mod tail;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use once_cell::sync::Lazy;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

pub use error::PipelineError;
use exporter::{run_exporter, Exporters};
pub use retry::CircuitState;
pub(crate) use retry::RetrySettings;

use tail::{Release, TailOutcome, TailSampler};

use crate::clock;
use crate::config::BatchSettings;
use crate::counters::{add, count_dropped_shutdown, COUNTERS};
use crate::export::{DynExporter, OtlpBatch, OtlpSender, RequestBuffers, TraceEncoder};
use crate::hot::hot;
use crate::lock::lock;
use crate::record::{RawSpan, FLAG_ERROR};
use crate::sampling::TailSampling;
use crate::transport::{
    clear_wake_request, give_back, set_collector, set_max_ring_capacity, unpark_collector,
    RingPair, NEW_RINGS, RING_CAPACITY,
};
use crate::warn::warn_once;

/// Rings of every thread that ever recorded, between two pipelines.
static IDLE_RINGS: Lazy<Mutex<Vec<RingPair>>> = Lazy::new(|| Mutex::new(Vec::new()));

/// Longest sleep of an idle collector; it is woken early by full rings and by control messages.
const MAX_IDLE_SLEEP: Duration = Duration::from_millis(50);

/// The reply to a control request: whether the exporters succeeded, and if not, the first
/// one's error.
type Reply = Sender<Result<(), PipelineError>>;

/// A control request to the collector; the reply says whether the exporters succeeded.
#[derive(Debug)]
enum Control {
    Flush(Reply),
    Shutdown(Reply, Duration),
}

/// Where [`Collector::admit`] puts a span.
enum Admit {
    /// Into the current batch.
    Now,
    /// Behind the error spans waiting for room.
    Wait,
    /// Nowhere: the queue is full (counted).
    Drop,
}

/// One batch for the exporter thread: the same spans in the form each kind of exporter takes.
struct Batch {
    /// How many spans.
    len: usize,
    /// For the user's and the file/console exporters (empty when there are none).
    spans: Vec<SpanData>,
    /// The encoded OTLP request, for the built-in OTLP exporters (when there are any).
    otlp: Option<Bytes>,
}

enum ExportMsg {
    Batch(Batch),
    Flush(Reply),
    Shutdown(Reply, Duration),
}

/// A running pipeline: its two threads and how to reach them.
#[derive(Debug)]
pub(crate) struct Pipeline {
    control: Sender<Control>,
    collector: Mutex<Option<JoinHandle<()>>>,
    exporter: Mutex<Option<JoinHandle<()>>>,
    queued: Arc<AtomicUsize>,
}

/// What a pipeline is built from.
pub(crate) struct PipelineParts {
    pub(crate) batch: BatchSettings,
    pub(crate) tail: TailSampling,
    /// Exporters that take `SpanData` (the user's, console, JSON lines).
    pub(crate) exporters: Vec<Box<dyn DynExporter>>,
    /// The built-in OTLP exporters, which take requests encoded from the records.
    pub(crate) otlp: Vec<OtlpSender>,
    pub(crate) resource: Resource,
    pub(crate) scope: InstrumentationScope,
    /// The runtime the exporters were built in (gRPC clients bind to it); exports run on it.
    pub(crate) runtime: tokio::runtime::Runtime,
    /// The OTLP exporters' retry buffer and circuit breaker.
    pub(crate) retry: RetrySettings,
}

/// The single-threaded runtime exports run on.
pub(crate) fn export_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("zdk-trace-export")
        .build()
}

impl Pipeline {
    /// Starts the threads. Fails only if the OS refuses a thread or the tokio runtime.
    pub(crate) fn start(parts: PipelineParts) -> std::io::Result<Pipeline> {
        let PipelineParts {
            batch,
            tail,
            exporters,
            otlp,
            resource,
            scope,
            runtime,
            retry,
        } = parts;
        // Each form of the batch is built only if some exporter takes it.
        let span_data = !exporters.is_empty();
        let encoder = (!otlp.is_empty()).then(|| TraceEncoder::new(&resource, &scope));
        let queued = Arc::new(AtomicUsize::new(0));
        let (control_tx, control_rx) = unbounded();
        // Unbounded as a channel, bounded in spans: `queued` never lets more than
        // max_queue_size spans into it, so it needs no preallocated slots.
        let (export_tx, export_rx) = unbounded();
        let exporter_queued = queued.clone();
        let export_timeout = batch.export_timeout;
        let max_request_bytes = batch.max_request_bytes;
        let exporter = thread::Builder::new()
            .name("zdk-trace-export".into())
            .spawn(move || {
                yield_to_application();
                mark_pipeline_thread();
                run_exporter(
                    runtime,
                    Exporters {
                        spans: exporters,
                        otlp,
                    },
                    export_rx,
                    exporter_queued,
                    export_timeout,
                    max_request_bytes,
                    retry,
                )
            })?;
        // Leftovers of a previous pipeline were recorded for it; they are not ours to export.
        // Drained here, before this pipeline is enabled, so no span of ours is among them.
        let mut rings = take_idle_rings();
        let mut leftovers = 0u64;
        for ring in &mut rings {
            while let Ok(span) = ring.spans.pop() {
                let (_, slot) = span.take();
                give_back(&mut ring.returns, slot);
                leftovers += 1;
            }
        }
        rings.retain(|ring| !ring.spans.is_abandoned());
        count_dropped_shutdown(leftovers);
        set_max_ring_capacity(batch.max_queue_size);
        hot().set_queue_full(false);
        let tail_active = tail.is_active();
        let queue = Queue {
            batch: Vec::with_capacity(if span_data {
                batch.max_export_batch_size
            } else {
                0
            }),
            span_data,
            otlp_batch: encoder.as_ref().map(|e| e.begin(Vec::new())),
            encoder,
            buffers: RequestBuffers::default(),
            batch_len: 0,
            batch_started: None,
            waiting_errors: VecDeque::new(),
            tail_active,
            settings: batch,
            export: export_tx,
            exporter: exporter.thread().clone(),
            queued: queued.clone(),
            scope,
        };
        let collector = Collector {
            rings,
            // Held spans: at most as many as the export queue (32 768 by default).
            tail: tail_active.then(|| TailSampler::new(tail, queue.settings.max_queue_size)),
            queue,
        };
        let collector = thread::Builder::new()
            .name("zdk-trace-collect".into())
            .spawn(move || {
                yield_to_application();
                mark_pipeline_thread();
                set_collector(Some(thread::current()));
                collector.run(control_rx);
                set_collector(None);
            })?;
        Ok(Pipeline {
            control: control_tx,
            collector: Mutex::new(Some(collector)),
            exporter: Mutex::new(Some(exporter)),
            queued,
        })
    }

    /// Spans handed to the exporter thread and not yet exported (the batch the collector is
    /// still filling is added when it is handed over).
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    fn request(
        &self,
        make: impl FnOnce(Reply) -> Control,
        timeout: Duration,
    ) -> Result<(), PipelineError> {
        let (tx, rx) = bounded(1);
        self.control
            .send(make(tx))
            .map_err(|_| PipelineError::AlreadyShutdown)?;
        unpark_collector();
        match rx.recv_timeout(timeout) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(error),
            Err(RecvTimeoutError::Timeout) => Err(PipelineError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(PipelineError::AlreadyShutdown),
        }
    }

    /// Exports everything recorded so far and waits (at most `timeout`).
    pub(crate) fn force_flush(&self, timeout: Duration) -> Result<(), PipelineError> {
        self.request(Control::Flush, timeout)
    }

    /// Exports everything, shuts the exporters down and stops the threads.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), PipelineError> {
        let deadline = clock::deadline_after(timeout);
        let result = self.request(|tx| Control::Shutdown(tx, timeout), timeout);
        if result.is_ok() {
            // The threads are finishing; join them unless the deadline has passed.
            for handle in [&self.collector, &self.exporter] {
                let handle = lock(handle).take();
                if let Some(handle) = handle {
                    while !handle.is_finished() && Instant::now() < deadline {
                        thread::sleep(Duration::from_millis(1));
                    }
                    if handle.is_finished() {
                        let _ = handle.join();
                    }
                }
            }
        }
        result
    }
}

struct Collector {
    rings: Vec<RingPair>,
    tail: Option<TailSampler>,
    queue: Queue,
}

/// The export queue's side of the collector: the batch being built, the error spans waiting
/// for room, and the channel to the exporter thread.
struct Queue {
    /// The batch as `SpanData`, when some exporter takes it.
    batch: Vec<SpanData>,
    span_data: bool,
    /// The batch encoded as an OTLP request, when some OTLP exporter takes it.
    encoder: Option<TraceEncoder>,
    otlp_batch: Option<OtlpBatch>,
    /// Sent requests' buffers, for the next batches.
    buffers: RequestBuffers,
    /// Spans in the current batch.
    batch_len: usize,
    batch_started: Option<Instant>,
    /// Error spans (and spans of traces kept for an error) that found the export queue full,
    /// oldest first: they go into the next batches ahead of any ok span. At most
    /// `max_queue_size`.
    waiting_errors: VecDeque<RawSpan>,
    /// A tail rule is on: threads must not shed spans themselves (the sampler needs them).
    tail_active: bool,
    settings: BatchSettings,
    export: Sender<ExportMsg>,
    /// The exporter thread, woken when the queue fills past a quarter or a flush waits (it
    /// looks at the queue on its own every 4 ms while batches keep coming).
    exporter: thread::Thread,
    queued: Arc<AtomicUsize>,
    scope: InstrumentationScope,
}

impl Collector {
    fn run(mut self, control: Receiver<Control>) {
        let mut idle_sleep = Duration::from_millis(1);
        loop {
            clear_wake_request();
            let drained = self.drain();
            self.queue.release_waiting(false);
            self.queue.maybe_send(false);
            match control.try_recv() {
                Ok(Control::Flush(reply)) => {
                    // Twice: a trace whose root the first drain saw is decided by the next.
                    self.drain();
                    self.drain();
                    if let Some(tail) = &mut self.tail {
                        let mut outcome = TailOutcome::default();
                        tail.flush(Instant::now(), &mut self.queue, &mut outcome);
                        count_tail(&outcome);
                    }
                    self.queue.release_waiting(true);
                    self.queue.maybe_send(true);
                    let _ = self.queue.export.send(ExportMsg::Flush(reply));
                    self.queue.exporter.unpark();
                    continue;
                }
                Ok(Control::Shutdown(reply, timeout)) => {
                    self.drain();
                    self.drain();
                    if let Some(tail) = &mut self.tail {
                        let mut outcome = TailOutcome::default();
                        tail.drain(Instant::now(), &mut self.queue, &mut outcome);
                        count_tail(&outcome);
                    }
                    self.queue.release_waiting(true);
                    self.queue.maybe_send(true);
                    let _ = self.queue.export.send(ExportMsg::Shutdown(reply, timeout));
                    self.queue.exporter.unpark();
                    break;
                }
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {}
            }
            // A drain that found a ring at least half full may find more at once; one that
            // found less sleeps until a thread's ring fills halfway (its producer wakes us) or
            // the timeout: large chunks, few wake-ups, no spinning on a trickle. Every cycle
            // costs the same whatever it drains (a context switch, caches another thread has
            // used), so this is what keeps the collector's CPU per span small, under sustained
            // load and at a trickle alike.
            if drained >= RING_CAPACITY / 2 {
                idle_sleep = Duration::from_millis(1);
                continue;
            }
            let until_batch_due = self
                .queue
                .batch_started
                .map(|t| {
                    self.queue
                        .settings
                        .scheduled_delay
                        .saturating_sub(t.elapsed())
                })
                .unwrap_or(MAX_IDLE_SLEEP);
            thread::park_timeout(
                idle_sleep
                    .min(until_batch_due)
                    .max(Duration::from_micros(100)),
            );
            // A look that found less than an eighth of a ring waits twice as long next time
            // (up to `MAX_IDLE_SLEEP`); one that found more keeps its pace. So a steady rate
            // settles where each look finds an eighth to a half of a ring.
            if drained < RING_CAPACITY / 8 {
                idle_sleep = (idle_sleep * 2).min(MAX_IDLE_SLEEP);
            }
        }
        // Hand the rings back, for the next pipeline.
        let rings = std::mem::take(&mut self.rings);
        lock(&IDLE_RINGS).extend(rings);
    }

    /// Pops every span from every ring. Returns how many.
    fn drain(&mut self) -> usize {
        while let Ok(ring) = NEW_RINGS.1.try_recv() {
            self.rings.push(ring);
        }
        let mut total = 0;
        // One clock read per drain: the tail sampler's times (first seen, decisions) need no
        // finer grain than a collector cycle.
        let now = Instant::now();
        // A thread that outgrew its ring sends a larger one; its spans can then arrive out of
        // order between the two (the new ring read before the rest of the old one): the tail
        // sampler decides a trace only one drain after its root, when everything sent before
        // the root has been seen.
        let Collector { rings, tail, queue } = self;
        rings.retain_mut(|RingPair { spans, returns }| {
            // Each ring is read as one chunk (its index written once).
            if let Ok(chunk) = spans.read_chunk(spans.slots()) {
                for mut span in chunk {
                    total += 1;
                    // Before any sampling decision: metrics see every call.
                    span.close_meter(true);
                    let slot = match tail {
                        None => match queue.admit(span.flags & FLAG_ERROR != 0) {
                            Admit::Now => {
                                // Converted where it lies: no copy of the record.
                                queue.enqueue_in_place(&mut span);
                                span.discard()
                            }
                            Admit::Wait => {
                                let (raw, slot) = span.take();
                                queue.waiting_errors.push_back(raw);
                                slot
                            }
                            Admit::Drop => span.discard(),
                        },
                        Some(tail) => {
                            // Moved out for the tail sampler, which holds it until its trace
                            // is decided; the slot goes back at once so the thread's pool
                            // refills.
                            let (raw, slot) = span.take();
                            let mut outcome = TailOutcome::default();
                            tail.accept(raw, now, queue, &mut outcome);
                            count_tail(&outcome);
                            slot
                        }
                    };
                    give_back(returns, slot);
                }
            }
            // A thread that exited leaves its ring abandoned; once empty it is gone.
            !(spans.is_abandoned() && spans.is_empty())
        });
        if let Some(tail) = tail {
            let mut outcome = TailOutcome::default();
            tail.end_cycle(now, queue, &mut outcome);
            count_tail(&outcome);
        }
        total
    }
}

fn count_tail(outcome: &TailOutcome) {
    add(&COUNTERS.sampled_out_tail, outcome.dropped_spans);
    add(&COUNTERS.kept_for_error, outcome.kept_for_error);
    add(&COUNTERS.kept_for_slowness, outcome.kept_for_slowness);
}

impl Release for Queue {
    fn release(&mut self, mut span: RawSpan, error: bool) {
        match self.admit(error) {
            Admit::Now => self.enqueue_in_place(&mut span),
            Admit::Wait => self.waiting_errors.push_back(span),
            Admit::Drop => {}
        }
    }
}

impl Queue {
    /// Whether the export queue takes another span now: the batches handed to the exporter
    /// and not yet exported, and this one.
    fn has_room(&self) -> bool {
        self.queued.load(Ordering::Relaxed) + self.batch_len < self.settings.max_queue_size
    }

    /// Moves waiting error spans into the batch while the queue has room (all of them if
    /// `force`, on flush and shutdown). `true` when none are left waiting.
    fn release_waiting(&mut self, force: bool) -> bool {
        while !self.waiting_errors.is_empty() && (force || self.has_room()) {
            if let Some(mut span) = self.waiting_errors.pop_front() {
                self.enqueue_in_place(&mut span);
            }
        }
        self.waiting_errors.is_empty()
    }

    /// Where a span goes: into the batch now, behind the other waiting error spans, or
    /// nowhere (counted). An ok span gets a place only while no error span waits for one.
    #[inline]
    fn admit(&mut self, error: bool) -> Admit {
        // Nearly always: no error span waiting and room in the queue, checked here without
        // a call per span.
        if self.waiting_errors.is_empty() && self.has_room() {
            return Admit::Now;
        }
        self.admit_behind_errors(error)
    }

    /// [`admit`](Self::admit) when error spans wait for room or the queue is full.
    #[cold]
    #[inline(never)]
    fn admit_behind_errors(&mut self, error: bool) -> Admit {
        if self.release_waiting(false) && self.has_room() {
            return Admit::Now;
        }
        if error && self.waiting_errors.len() < self.settings.max_queue_size {
            return Admit::Wait;
        }
        add(&COUNTERS.dropped_queue_full, 1);
        if error {
            add(&COUNTERS.dropped_queue_full_errors, 1);
        }
        // Until the exporter completes a batch, threads drop their ok spans themselves. Not
        // while a tail rule holds traces: their spans must reach the sampler.
        if !self.tail_active {
            hot().set_queue_full(true);
        }
        Admit::Drop
    }

    /// Adds a span the queue has room for to the current batch, from a record read where it
    /// lies (its slot): what the batch needs is moved out, the rest stays (and owns nothing).
    fn enqueue_in_place(&mut self, span: &mut RawSpan) {
        // Encoded first, while the record still holds everything (the conversion below moves
        // its parts out). A batch is cut where this span would take its request past the
        // size limit; a span too large for any request is dropped.
        if let (Some(encoder), Some(batch)) = (&mut self.encoder, &mut self.otlp_batch) {
            let limit = self.settings.max_request_bytes;
            if encoder.try_append(batch, span, limit).is_err() && !self.append_to_next(span) {
                return;
            }
        }
        if self.span_data {
            let data = convert::to_span_data(span, &self.scope);
            self.batch.push(data);
        }
        self.batch_len += 1;
        if self.batch_started.is_none() {
            self.batch_started = Some(Instant::now());
        }
        if self.batch_len >= self.settings.max_export_batch_size {
            self.send_batch();
        }
    }

    /// A span the current request has no room left for: the batch goes, and the span starts
    /// the next one. `false` (dropped, counted) for a span too large for any request.
    #[cold]
    #[inline(never)]
    fn append_to_next(&mut self, span: &RawSpan) -> bool {
        if self.batch_len > 0 {
            self.send_batch();
        }
        let limit = self.settings.max_request_bytes;
        let appended = match (&mut self.encoder, &mut self.otlp_batch) {
            (Some(encoder), Some(batch)) => encoder.try_append(batch, span, limit).is_ok(),
            _ => false,
        };
        if !appended {
            add(&COUNTERS.spans_too_large, 1);
            add(&COUNTERS.dropped_export_failed, 1);
            warn_once(
                ("span too large", "otlp"),
                &format!(
                    "span {:?} dropped: it alone encodes to more than the largest export \
                     request, {} bytes (telemetry.tracing.otlp.batch.max_request_bytes); lower \
                     the attribute limits or raise that setting",
                    span.name, self.settings.max_request_bytes
                ),
            );
        }
        appended
    }

    /// Sends the batch when it is due (or now, if `force`).
    fn maybe_send(&mut self, force: bool) {
        let due = self
            .batch_started
            .is_some_and(|t| t.elapsed() >= self.settings.scheduled_delay);
        if self.batch_len > 0 && (force || due) {
            self.send_batch();
        }
    }

    fn send_batch(&mut self) {
        let spans = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(if self.span_data {
                self.settings.max_export_batch_size
            } else {
                0
            }),
        );
        let otlp = match (&self.encoder, &mut self.otlp_batch) {
            (Some(encoder), Some(batch)) => {
                // The next batch's buffer has room for this one's size and an eighth: grown
                // from empty, it would be copied at every doubling. It is a sent request's
                // buffer when one came back, its pages still mapped.
                let next = self.buffers.take(batch.buf_len() + batch.buf_len() / 8);
                let mut done = std::mem::replace(batch, encoder.begin(next));
                encoder.finish(&mut done);
                Some(done.share(&self.buffers))
            }
            _ => None,
        };
        let n = std::mem::take(&mut self.batch_len);
        // Counted in the queue once per batch, not per span: the exporter subtracts from the
        // same counter, and an atomic add per span on a shared cache line was a visible part
        // of the collector's cost per span.
        let queued = self.queued.fetch_add(n, Ordering::Relaxed) + n;
        self.batch_started = None;
        let batch = Batch {
            len: n,
            spans,
            otlp,
        };
        if queued > self.settings.max_queue_size / 4 {
            // Falling behind: the exporter should not sleep out its poll.
            self.exporter.unpark();
        }
        if let Err(err) = self.export.try_send(ExportMsg::Batch(batch)) {
            // The exporter thread is gone or its channel is full: these spans are lost.
            self.queued.fetch_sub(n, Ordering::Relaxed);
            let counter = if err.is_full() {
                &COUNTERS.dropped_queue_full
            } else {
                &COUNTERS.dropped_shutdown
            };
            add(counter, n as u64);
        }
    }
}

fn take_idle_rings() -> Vec<RingPair> {
    std::mem::take(&mut *lock(&IDLE_RINGS))
}

/// How much lower than the application's the pipeline threads' priority is (Linux nice
/// values: +5 gives a thread about a third of the weight of a nice-0 thread when both want
/// the same core). When the cores are busy, the application's threads get the CPU first and
/// the pipeline sheds (and counts) what it cannot export; when a core is idle, the pipeline
/// runs at full speed, so at any load that leaves CPU free nothing changes.
pub(crate) const PIPELINE_NICE: i32 = 5;

/// Lowers the calling thread's scheduling priority by [`PIPELINE_NICE`], relative to the
/// process's (Linux; elsewhere, and where the call fails, the priority is left as it is).
fn yield_to_application() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid, getpriority and setpriority take plain integers and only read or set the
    // scheduling priority of the thread they name (this one); errno is this thread's own.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        if current != -1 || *libc::__errno_location() == 0 {
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid, (current + PIPELINE_NICE).min(19));
        }
    }
}

thread_local! {
    /// Set on the pipeline's own threads: a panic there (an exporter's) is caught, counted
    /// and warned about once by the pipeline, so the process's panic hook stays quiet.
    static PIPELINE_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling thread as one of the pipeline's, and installs (once per process) the
/// panic hook that keeps panics on such threads quiet.
fn mark_pipeline_thread() {
    PIPELINE_THREAD.with(|flag| flag.set(true));
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        // Chains to the hook in place (the application's, or the default): a panic on any
        // other thread is reported exactly as before. A hook the application sets later
        // replaces this one, and then exporter panics are printed by it as well.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = PIPELINE_THREAD
                .try_with(std::cell::Cell::get)
                .unwrap_or(false);
            if !ours {
                previous(info);
            }
        }));
    });
}
