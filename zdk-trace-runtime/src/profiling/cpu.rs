//! CPU profiles: the profiler thread drains the sampler's queue every 50 ms into every open
//! window (an on-demand [`profile`](crate::Telemetry::profile_cpu) or a continuous one),
//! runs the SIGPROF timer only while a window is open, and turns a closed window into a pprof
//! profile whose samples carry the span they were taken in.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use once_cell::sync::Lazy;
use pprof::protos;

use super::export::{ProfileExporter, Window as Export};
use super::report::Profile;
use super::ProfilingError;
use crate::hot::{hot, SLOW_LABEL_CPU};
use crate::lock::lock;
use crate::sampler::signal::{self, Sample, StartError};
use crate::sampler::Label;

impl From<StartError> for ProfilingError {
    fn from(e: StartError) -> Self {
        ProfilingError::Sampler(e.to_string())
    }
}

/// The longest the profiler thread sleeps between drains of the sample queue.
const DRAIN_AT_MOST_EVERY: Duration = Duration::from_millis(500);
/// The shortest (at the highest frequencies on many CPUs).
const DRAIN_AT_LEAST_EVERY: Duration = Duration::from_millis(10);

/// How long the profiler thread may sleep before it drains the queue: long enough that a
/// mostly idle application is not woken 20 times a second for nothing, short enough that the
/// queue is at most a quarter full at `frequency_hz` samples per CPU-second on every CPU, and
/// not past the first window's end (a `profile_cpu` caller is waiting for it).
fn drain_interval(windows: &[Open], now: Instant) -> Duration {
    let hz = windows
        .iter()
        .map(|w| w.frequency_hz)
        .max()
        .unwrap_or(1)
        .max(1);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_second = f64::from(hz) * cpus as f64;
    let fill = Duration::from_secs_f64((signal::QUEUE_LEN / 4) as f64 / per_second);
    let next_close = windows
        .iter()
        .map(|w| w.until.saturating_duration_since(now))
        .min()
        .unwrap_or(DRAIN_AT_MOST_EVERY);
    fill.clamp(DRAIN_AT_LEAST_EVERY, DRAIN_AT_MOST_EVERY)
        .min(next_close.max(Duration::from_millis(1)))
}

/// Where a closed window goes.
enum Done {
    Reply(mpsc::Sender<Profile>),
    /// Exported, and a new window of the same length opened (continuous profiling).
    Continuous {
        exporter: Arc<ProfileExporter>,
        length: Duration,
    },
}

/// An open window: the samples so far, by (stack, label).
struct Open {
    id: u64,
    from: SystemTime,
    until: Instant,
    frequency_hz: u32,
    counts: HashMap<(Vec<usize>, Option<Label>), i64>,
    done: Done,
}

struct Shared {
    windows: Mutex<Vec<Open>>,
    wake: Condvar,
}

struct Profiler {
    shared: Arc<Shared>,
    _thread: JoinHandle<()>,
}

/// The process's one profiler (SIGPROF is process-wide), started on first use.
static PROFILER: Lazy<Mutex<Option<Profiler>>> = Lazy::new(|| Mutex::new(None));

fn shared() -> Result<Arc<Shared>, ProfilingError> {
    let mut profiler = lock(&PROFILER);
    if let Some(p) = profiler.as_ref() {
        return Ok(Arc::clone(&p.shared));
    }
    let shared = Arc::new(Shared {
        windows: Mutex::new(Vec::new()),
        wake: Condvar::new(),
    });
    let thread_shared = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("zdk-trace-profiler".into())
        .spawn(move || run(&thread_shared))
        .map_err(ProfilingError::Thread)?;
    *profiler = Some(Profiler {
        shared: Arc::clone(&shared),
        _thread: thread,
    });
    Ok(shared)
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn open(length: Duration, frequency_hz: u32, done: Done) -> Result<u64, ProfilingError> {
    let shared = shared()?;
    let mut windows = lock(&shared.windows);
    if windows.is_empty() {
        signal::start(frequency_hz)?;
        // Labels are kept up to date: sync fn spans leave the quick path.
        hot().set_slow(SLOW_LABEL_CPU, true);
    }
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    windows.push(Open {
        id,
        from: SystemTime::now(),
        until: Instant::now() + length,
        frequency_hz,
        counts: HashMap::new(),
        done,
    });
    shared.wake.notify_all();
    Ok(id)
}

/// Profiles the process's CPU for `duration` at `frequency_hz` and returns the profile
/// (blocks the calling thread for `duration`).
pub(crate) fn profile(duration: Duration, frequency_hz: u32) -> Result<Profile, ProfilingError> {
    let (tx, rx) = mpsc::channel();
    open(duration, frequency_hz, Done::Reply(tx))?;
    rx.recv_timeout(duration + Duration::from_secs(30))
        .map_err(|_| ProfilingError::Stopped)
}

/// Opens a window with no end: [`finish`] closes it.
pub(crate) fn begin(frequency_hz: u32) -> Result<(u64, mpsc::Receiver<Profile>), ProfilingError> {
    let (tx, rx) = mpsc::channel();
    // A century: closed by `finish`.
    let id = open(
        Duration::from_secs(100 * 365 * 24 * 3600),
        frequency_hz,
        Done::Reply(tx),
    )?;
    Ok((id, rx))
}

/// Closes the window `id` opened by [`begin`] and waits for its profile.
pub(crate) fn finish(id: u64, rx: &mpsc::Receiver<Profile>) -> Result<Profile, ProfilingError> {
    let shared = shared()?;
    {
        let mut windows = lock(&shared.windows);
        let now = Instant::now();
        for w in windows.iter_mut().filter(|w| w.id == id) {
            w.until = now;
        }
        shared.wake.notify_all();
    }
    rx.recv_timeout(Duration::from_secs(30))
        .map_err(|_| ProfilingError::Stopped)
}

/// Closes the window `id` without waiting for its profile (a guard dropped, or stopped).
pub(crate) fn discard(id: u64) {
    if let Some(p) = lock(&PROFILER).as_ref() {
        let mut windows = lock(&p.shared.windows);
        let now = Instant::now();
        for w in windows.iter_mut().filter(|w| w.id == id) {
            w.until = now;
        }
        p.shared.wake.notify_all();
    }
}

/// Starts continuous profiling: windows of `length`, each exported when it closes.
pub(crate) fn start_continuous(
    length: Duration,
    frequency_hz: u32,
    exporter: Arc<ProfileExporter>,
) -> Result<(), ProfilingError> {
    open(length, frequency_hz, Done::Continuous { exporter, length }).map(|_| ())
}

/// Stops continuous profiling: its open window is closed and exported now.
pub(crate) fn stop_continuous() {
    let Ok(shared) = shared() else {
        return;
    };
    let mut windows = lock(&shared.windows);
    let now = Instant::now();
    for w in windows.iter_mut() {
        if let Done::Continuous { length, .. } = &mut w.done {
            w.until = now;
            // Not reopened.
            *length = Duration::ZERO;
        }
    }
    shared.wake.notify_all();
    drop(windows);
    // The thread closes it on its next turn; wait for that (bounded).
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let open = lock(&shared.windows)
            .iter()
            .any(|w| matches!(w.done, Done::Continuous { .. }));
        if !open {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run(shared: &Shared) {
    signal::block_on_this_thread();
    let mut symbols = Symbols::default();
    loop {
        let mut windows = lock(&shared.windows);
        if windows.is_empty() {
            windows = shared
                .wake
                .wait(windows)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            continue;
        }
        // A window opened meanwhile wakes the thread, so that its end is not overslept.
        let sleep = drain_interval(&windows, Instant::now());
        let (mut windows, _) = shared
            .wake
            .wait_timeout(windows, sleep)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        signal::drain(|sample| {
            for w in windows.iter_mut() {
                add(w, sample);
            }
        });
        let now = Instant::now();
        let (closed, open): (Vec<Open>, Vec<Open>) = std::mem::take(&mut *windows)
            .into_iter()
            .partition(|w| w.until <= now);
        *windows = open;
        // Continuous windows reopen below; if nothing stays open, the timer stops now, before
        // the profiles are built (a build's own CPU is not sampled into the next window).
        let reopening = closed
            .iter()
            .any(|w| matches!(&w.done, Done::Continuous { length, .. } if !length.is_zero()));
        if windows.is_empty() && !reopening {
            signal::stop();
            hot().set_slow(SLOW_LABEL_CPU, false);
        }
        for w in closed {
            let until = SystemTime::now();
            let profile = build(&w, until, &mut symbols);
            match w.done {
                Done::Reply(tx) => {
                    let _ = tx.send(profile);
                }
                Done::Continuous { exporter, length } => {
                    exporter.send(Export {
                        profile,
                        kind: "cpu",
                        from: w.from,
                        until,
                        sample_rate_hz: w.frequency_hz,
                    });
                    if !length.is_zero() {
                        windows.push(Open {
                            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                            from: until,
                            until: now + length,
                            frequency_hz: w.frequency_hz,
                            counts: HashMap::new(),
                            done: Done::Continuous { exporter, length },
                        });
                    }
                }
            }
        }
        if windows.is_empty() {
            signal::stop();
            hot().set_slow(SLOW_LABEL_CPU, false);
        }
    }
}

fn add(w: &mut Open, sample: &Sample) {
    let depth = sample.depth.min(sample.ips.len());
    let stack = sample.ips[..depth].to_vec();
    *w.counts.entry((stack, sample.label)).or_insert(0) += 1;
}

/// One frame of a resolved address (an address resolves to several when inlined).
#[derive(Clone)]
pub(crate) struct Sym {
    pub(crate) name: String,
    file: String,
    line: i64,
}

/// Resolved addresses, kept across windows.
#[derive(Default)]
pub(crate) struct Symbols {
    by_ip: HashMap<usize, Arc<Vec<Sym>>>,
}

impl Symbols {
    pub(crate) fn resolve(&mut self, ip: usize) -> Arc<Vec<Sym>> {
        if let Some(syms) = self.by_ip.get(&ip) {
            return Arc::clone(syms);
        }
        let mut syms = Vec::new();
        // Return addresses point after the call; the call's line is the byte before.
        let addr = ip.saturating_sub(1);
        backtrace::resolve(addr as *mut std::ffi::c_void, |symbol| {
            syms.push(Sym {
                name: symbol
                    .name()
                    .map_or_else(|| format!("{ip:#x}"), |n| format!("{n:#}")),
                file: symbol
                    .filename()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default(),
                line: symbol.lineno().map_or(0, i64::from),
            });
        });
        if syms.is_empty() {
            syms.push(Sym {
                name: format!("{ip:#x}"),
                file: String::new(),
                line: 0,
            });
        }
        let syms = Arc::new(syms);
        self.by_ip.insert(ip, Arc::clone(&syms));
        syms
    }
}

/// The frames of the sampler itself (the handler and the unwinder), removed from the top of
/// every stack: everything up to the handler's frame and the signal trampoline after it.
fn sampler_frames(stack: &[usize], symbols: &mut Symbols) -> usize {
    for (i, &ip) in stack.iter().enumerate().take(16) {
        if symbols
            .resolve(ip)
            .iter()
            .any(|s| s.name.contains("sampler::signal::on_sigprof"))
        {
            // The trampoline (`__restore_rt`) follows the handler.
            return (i + 2).min(stack.len());
        }
    }
    0
}

/// The string table of a profile being built.
#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Strings {
        let mut s = Strings::default();
        s.get("");
        s
    }

    fn get(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

fn build(w: &Open, until: SystemTime, symbols: &mut Symbols) -> Profile {
    let period = 1_000_000_000 / i64::from(w.frequency_hz.max(1));
    let entries = w
        .counts
        .iter()
        .map(|((stack, label), &count)| {
            let skip = sampler_frames(stack, symbols);
            (&stack[skip..], *label, vec![count, count * period])
        })
        .collect::<Vec<_>>();
    build_profile(
        entries,
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period,
        1,
        w.from,
        until,
        symbols,
    )
}

/// The label of a sample's agent invocation: the span id of the innermost `#[agent_span]`
/// call the sampled span runs in.
pub(crate) const INVOCATION_LABEL: &str = "gen_ai.agent.invocation_id";

/// A pprof profile of `entries` (stack innermost first, label, one value per sample type).
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_profile(
    entries: Vec<(&[usize], Option<Label>, Vec<i64>)>,
    sample_types: &[(&str, &str)],
    period_type: (&str, &str),
    period: i64,
    default_type: usize,
    from: SystemTime,
    until: SystemTime,
    symbols: &mut Symbols,
) -> Profile {
    let mut strings = Strings::new();
    let value_type = |strings: &mut Strings, (ty, unit): (&str, &str)| protos::ValueType {
        ty: strings.get(ty),
        unit: strings.get(unit),
    };
    let sample_type: Vec<_> = sample_types
        .iter()
        .map(|t| value_type(&mut strings, *t))
        .collect();
    let period_type = Some(value_type(&mut strings, period_type));
    let mut locations: HashMap<usize, u64> = HashMap::new();
    let mut functions: HashMap<(String, String), u64> = HashMap::new();
    let mut location = Vec::new();
    let mut function = Vec::new();
    let mut sample = Vec::new();
    let keys = [
        strings.get("trace_id"),
        strings.get("span_id"),
        strings.get("span_name"),
        strings.get("gen_ai.agent.name"),
        strings.get(INVOCATION_LABEL),
        strings.get(crate::genai::CONVERSATION_ID),
    ];
    // An invocation's conversation, looked up once per invocation.
    let mut conversations: HashMap<u64, Option<Arc<str>>> = HashMap::new();
    for (stack, label, value) in entries {
        let mut location_id = Vec::with_capacity(stack.len());
        for &ip in stack {
            let id = match locations.get(&ip) {
                Some(&id) => id,
                None => {
                    let id = location.len() as u64 + 1;
                    let mut lines = Vec::new();
                    for sym in symbols.resolve(ip).iter() {
                        let key = (sym.name.clone(), sym.file.clone());
                        let function_id = match functions.get(&key) {
                            Some(&f) => f,
                            None => {
                                let f = function.len() as u64 + 1;
                                function.push(protos::Function {
                                    id: f,
                                    name: strings.get(&sym.name),
                                    system_name: strings.get(&sym.name),
                                    filename: strings.get(&sym.file),
                                    start_line: 0,
                                });
                                functions.insert(key, f);
                                f
                            }
                        };
                        lines.push(protos::Line {
                            function_id,
                            line: sym.line,
                        });
                    }
                    location.push(protos::Location {
                        id,
                        mapping_id: 0,
                        address: ip as u64,
                        line: lines,
                        is_folded: false,
                    });
                    locations.insert(ip, id);
                    id
                }
            };
            location_id.push(id);
        }
        let mut labels = Vec::new();
        if let Some(l) = label {
            let mut put = |key: i64, value: &str| {
                if !value.is_empty() {
                    labels.push(protos::Label {
                        key,
                        str: strings.get(value),
                        num: 0,
                        num_unit: 0,
                    });
                }
            };
            put(keys[0], &format!("{:032x}", l.trace_id));
            put(keys[1], &format!("{:016x}", l.span_id));
            put(keys[2], l.name);
            put(keys[3], l.agent);
            if l.invocation != 0 {
                put(keys[4], &format!("{:016x}", l.invocation));
                let conversation = conversations
                    .entry(l.invocation)
                    .or_insert_with(|| crate::sampler::conversation_of(l.invocation));
                if let Some(c) = conversation {
                    put(keys[5], c);
                }
            }
        }
        sample.push(protos::Sample {
            location_id,
            value,
            label: labels,
        });
    }
    let from_nanos = from
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let duration = until.duration_since(from).unwrap_or_default();
    let proto = protos::Profile {
        sample_type,
        sample,
        mapping: Vec::new(),
        location,
        function,
        string_table: Vec::new(),
        drop_frames: 0,
        keep_frames: 0,
        time_nanos: from_nanos,
        duration_nanos: duration.as_nanos() as i64,
        period_type,
        period,
        comment: Vec::new(),
        default_sample_type: 0,
    };
    let mut proto = proto;
    proto.default_sample_type = proto.sample_type.get(default_type).map_or(0, |t| t.ty);
    proto.string_table = strings.table;
    Profile::from_proto(proto)
}
