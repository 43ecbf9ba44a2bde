//! The profile exporter: finished profile windows go through a bounded queue to their own
//! thread, which writes them to files (gzipped pprof, and a flamegraph for CPU profiles) or
//! pushes them to Pyroscope. Whoever hands a window over never waits: a full queue drops the
//! window and counts it, and every window ends up counted in `Stats` as exported, dropped or
//! failed (`profiles_exported`, `profiles_dropped`, `profile_export_errors`).
//!
//! The counters are the leaf `counters` (this stage may not import `pipeline/`, which sits on
//! its floor; `Stats` reads them from there).

use std::error::Error as _;
use std::fs;
use std::io::{self, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, select, Receiver, Sender, TrySendError};

use super::{Profile, ProfileError};
use crate::counters::{add, COUNTERS};
use crate::warn::warn_once;

/// Most windows waiting to be exported; more are dropped and counted.
pub(crate) const QUEUE_CAPACITY: usize = 4;
/// Tries per window pushed to Pyroscope: the first, then retries after [`BACKOFF_FIRST`],
/// doubled each time (0.5 s, 1 s).
const ATTEMPTS: u32 = 3;
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
/// Longest one push may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long dropping an exporter that was not shut down waits for its queue.
const DROP_DEADLINE: Duration = Duration::from_secs(1);
/// The `spyName` of every push.
const SPY_NAME: &str = "zdk-trace";

/// Where profile windows go.
#[derive(Debug, Clone)]
pub(crate) enum ProfileSink {
    /// Files in `dir`: `{kind}-{service}-{YYYYMMDDTHHMMSSZ}.pb.gz` (gzipped pprof) and, for
    /// CPU profiles, the flamegraph beside it (`.svg`).
    File { dir: PathBuf },
    /// Pyroscope's `POST {endpoint}/ingest`, the profile as the raw gzipped pprof body.
    Pyroscope {
        /// The server's base URL (`http://localhost:4040`); `/ingest` is appended.
        endpoint: String,
        /// The application name Pyroscope shows (its `service_name`); the service name if
        /// empty.
        application_name: String,
        /// Labels added to every profile.
        tags: Vec<(String, String)>,
    },
}

/// One profile covering `from..until`, ready to export.
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) profile: Profile,
    /// `"cpu"` or `"heap"`.
    pub(crate) kind: &'static str,
    pub(crate) from: SystemTime,
    pub(crate) until: SystemTime,
    /// The CPU sampler's frequency (Pyroscope's `sampleRate`).
    pub(crate) sample_rate_hz: u32,
}

/// Why the profile exporter could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProfileExportError {
    /// The profile directory does not exist and cannot be created.
    #[error("cannot create the profile directory `{}`; create it or choose a writable one", .dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The Pyroscope endpoint does not parse as a URL.
    #[error(
        "the Pyroscope endpoint `{endpoint}` is not a URL; use one like `http://localhost:4040`"
    )]
    Endpoint {
        endpoint: String,
        #[source]
        source: UrlError,
    },
    /// The Pyroscope endpoint is a URL, but not an `http://` or `https://` one.
    #[error("the Pyroscope endpoint `{endpoint}` is not an http:// or https:// URL")]
    EndpointScheme { endpoint: String },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for Pyroscope")]
    Client(#[source] reqwest::Error),
    /// The exporter's thread (or its runtime) could not be started.
    #[error("cannot start the profile exporter thread")]
    Spawn(#[source] io::Error),
}

/// What `Url::parse` fails with (the `url` crate's `ParseError`, which reqwest does not
/// re-export by name).
pub(crate) type UrlError = <reqwest::Url as std::str::FromStr>::Err;

/// The running exporter: its queue, and its thread. Shut down on drop.
#[derive(Debug)]
pub(crate) struct ProfileExporter {
    windows: Sender<Window>,
    /// The queue's other end: after a shutdown that ran out of time, what is still queued is
    /// taken out here and counted as dropped (a window taken by either side is counted once).
    queued: Receiver<Window>,
    control: Sender<Control>,
    /// When the worker must stop exporting (set once, by shutdown): an export in flight does
    /// not start another try after it.
    stop_by: Arc<OnceLock<Instant>>,
    thread: Option<JoinHandle<()>>,
}

/// Sent by shutdown: export what is queued until `stop_by`, then answer and stop.
struct Control {
    done: Sender<()>,
}

impl ProfileExporter {
    /// Starts the exporter thread (`zdk-trace-profiles`) for `sink`. File names carry
    /// `service_name`, which also names the application in Pyroscope when the sink gives none.
    ///
    /// # Errors
    ///
    /// The profile directory cannot be created, the Pyroscope endpoint is not an http(s) URL,
    /// or the thread, its runtime or its HTTP client cannot be started.
    pub(crate) fn start(
        sink: ProfileSink,
        service_name: &str,
    ) -> Result<ProfileExporter, ProfileExportError> {
        let target = match sink {
            ProfileSink::File { dir } => {
                fs::create_dir_all(&dir).map_err(|source| ProfileExportError::CreateDir {
                    dir: dir.clone(),
                    source,
                })?;
                Target::File {
                    dir,
                    service: file_name_part(service_name),
                }
            }
            ProfileSink::Pyroscope {
                endpoint,
                application_name,
                tags,
            } => {
                let url = ingest_url(&endpoint)?;
                let application = if application_name.trim().is_empty() {
                    service_name
                } else {
                    application_name.as_str()
                };
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(ProfileExportError::Spawn)?;
                // The HTTP client binds to the runtime current when it is built.
                let client = {
                    let _guard = runtime.enter();
                    reqwest::Client::builder()
                        .timeout(REQUEST_TIMEOUT)
                        .build()
                        .map_err(ProfileExportError::Client)?
                };
                Target::Pyroscope(Box::new(Pyroscope {
                    url,
                    name: pyroscope_name(application, &tags),
                    client,
                    runtime,
                }))
            }
        };
        let (windows_tx, windows_rx) = bounded(QUEUE_CAPACITY);
        let (control_tx, control_rx) = bounded(1);
        let stop_by = Arc::new(OnceLock::new());
        let worker = Worker {
            target,
            stop_by: Arc::clone(&stop_by),
        };
        let queue = windows_rx.clone();
        let thread = std::thread::Builder::new()
            .name("zdk-trace-profiles".to_owned())
            .spawn(move || worker.run(&queue, &control_rx))
            .map_err(ProfileExportError::Spawn)?;
        Ok(ProfileExporter {
            windows: windows_tx,
            queued: windows_rx,
            control: control_tx,
            stop_by,
            thread: Some(thread),
        })
    }

    /// Queues `window` for export; never blocks. When the queue is full (the exporter is
    /// behind) the window is dropped and counted in `Stats::profiles_dropped`.
    pub(crate) fn send(&self, window: Window) {
        match self.windows.try_send(window) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                add(&COUNTERS.profiles_dropped, 1);
                warn_once(
                    ("profiles", "queue full"),
                    "a profile was dropped: the profile exporter is behind",
                );
            }
            Err(TrySendError::Disconnected(_)) => {
                add(&COUNTERS.profiles_dropped, 1);
                warn_once(
                    ("profiles", "stopped"),
                    "a profile was dropped: the profile exporter has stopped",
                );
            }
        }
    }

    /// Exports what is queued, then stops the thread, taking at most `deadline`: what could
    /// not be exported by then is counted as dropped (a push in flight ends within its own
    /// timeout, without retrying). `true` if everything queued was handled in time.
    pub(crate) fn shutdown(mut self, deadline: Duration) -> bool {
        self.stop(deadline)
    }

    /// [`shutdown`](Self::shutdown) behind `&mut self`, for `Drop`; idempotent.
    fn stop(&mut self, deadline: Duration) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let until = Instant::now() + deadline;
        let _ = self.stop_by.set(until);
        let (done_tx, done_rx) = bounded(1);
        let finished = self.control.send(Control { done: done_tx }).is_ok()
            && done_rx.recv_deadline(until).is_ok();
        if finished {
            let _ = thread.join();
        } else {
            // The thread is left to finish the push in flight (bounded by its timeout) and
            // exit; nothing queued reaches it any more.
            let left = self.queued.try_iter().count();
            add(&COUNTERS.profiles_dropped, left as u64);
        }
        finished
    }
}

impl Drop for ProfileExporter {
    fn drop(&mut self) {
        self.stop(DROP_DEADLINE);
    }
}

/// Where the worker sends windows.
enum Target {
    File { dir: PathBuf, service: String },
    Pyroscope(Box<Pyroscope>),
}

struct Pyroscope {
    /// `{endpoint}/ingest`, without its query.
    url: reqwest::Url,
    /// The `name` parameter: `app{key=value,…}`.
    name: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// How one window's export ended.
enum Outcome {
    Exported,
    Failed(WindowError),
    /// Never tried: shutdown's deadline came first.
    Dropped,
}

/// Why one window could not be exported.
#[derive(Debug, thiserror::Error)]
enum WindowError {
    #[error("cannot write `{}`", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot render the CPU flamegraph")]
    Flamegraph(#[source] ProfileError),
    #[error("cannot reach Pyroscope at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Pyroscope at {url} answered {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("the profile exporter panicked")]
    Panicked,
}

impl WindowError {
    /// Network errors, timeouts, 5xx and 429 may pass; another 4xx will not.
    fn retryable(&self) -> bool {
        match self {
            WindowError::Unreachable { .. } => true,
            WindowError::Status { status, .. } => {
                status.is_server_error() || *status == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }
}

/// The exporter thread.
struct Worker {
    target: Target,
    stop_by: Arc<OnceLock<Instant>>,
}

impl Worker {
    fn run(self, windows: &Receiver<Window>, control: &Receiver<Control>) {
        loop {
            select! {
                recv(windows) -> window => match window {
                    Ok(window) => self.export(window),
                    Err(_) => return,
                },
                recv(control) -> message => {
                    // What is queued goes out (or is counted) before the answer.
                    while let Ok(window) = windows.try_recv() {
                        self.export(window);
                    }
                    if let Ok(Control { done }) = message {
                        let _ = done.send(());
                    }
                    return;
                },
            }
        }
    }

    /// The time left before shutdown's deadline; `None` while not shutting down.
    fn time_left(&self) -> Option<Duration> {
        self.stop_by
            .get()
            .map(|until| until.saturating_duration_since(Instant::now()))
    }

    /// Exports one window and counts how that ended.
    fn export(&self, window: Window) {
        let outcome = if self.time_left().is_some_and(|left| left.is_zero()) {
            Outcome::Dropped
        } else {
            // A panic (in the encoder, the renderer or the client) must not stop the thread.
            catch_unwind(AssertUnwindSafe(|| match &self.target {
                Target::File { dir, service } => match write_files(dir, service, &window) {
                    Ok(()) => Outcome::Exported,
                    Err(e) => Outcome::Failed(e),
                },
                Target::Pyroscope(p) => self.push(p, &window),
            }))
            .unwrap_or(Outcome::Failed(WindowError::Panicked))
        };
        match outcome {
            Outcome::Exported => add(&COUNTERS.profiles_exported, 1),
            Outcome::Dropped => add(&COUNTERS.profiles_dropped, 1),
            Outcome::Failed(error) => {
                add(&COUNTERS.profile_export_errors, 1);
                warn_once(
                    ("profiles", "export failed"),
                    &format!(
                        "a {} profile was not exported: {}",
                        window.kind,
                        chain(&error)
                    ),
                );
            }
        }
    }

    /// Pushes one window to Pyroscope, with retries; after shutdown's deadline no new try
    /// starts, and a try never outlasts it.
    fn push(&self, p: &Pyroscope, window: &Window) -> Outcome {
        let body = bytes::Bytes::from(window.profile.to_pprof());
        let mut url = p.url.clone();
        url.query_pairs_mut()
            .append_pair("name", &p.name)
            .append_pair("from", &unix_secs(window.from).to_string())
            .append_pair("until", &unix_secs(window.until).to_string())
            .append_pair("sampleRate", &window.sample_rate_hz.to_string())
            .append_pair("spyName", SPY_NAME)
            .append_pair("format", "pprof");
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                let backoff = BACKOFF_FIRST * 2u32.pow(attempt - 1);
                if self.time_left().is_some_and(|left| left <= backoff) {
                    break;
                }
                // Sleeping delays only this thread; windows keep queueing (or dropping).
                std::thread::sleep(backoff);
            }
            let timeout = self
                .time_left()
                .map_or(REQUEST_TIMEOUT, |left| left.min(REQUEST_TIMEOUT));
            if timeout.is_zero() {
                break;
            }
            match post(p, &url, body.clone(), timeout) {
                Ok(()) => return Outcome::Exported,
                Err(e) if e.retryable() => last = Some(e),
                Err(e) => return Outcome::Failed(e),
            }
        }
        last.map_or(Outcome::Dropped, Outcome::Failed)
    }
}

/// One `POST /ingest`. Pyroscope's ingest handler (grafana/pyroscope,
/// `pkg/ingester/pyroscope/ingest_handler.go`, `readInputRawDataFromRequest`) takes the
/// whole body as the profile when the query says `format=pprof`, whatever the content type
/// (a multipart form is read only without `format`, the way pyroscope-go's
/// `upstream/remote/remote.go` sends it); `pkg/og/convert/pprof/profile.go` then reads the
/// bytes gzipped or not (`pkg/pprof/pprof.go` sniffs the gzip header). So the body is our
/// `.pb.gz` as is, with the content type the server itself reports for a raw body
/// (`binary/octet-stream`, as pyroscope-rs sent before it moved to the push API) and no
/// `content-encoding`: the gzip belongs to the pprof file, not to the transfer.
fn post(
    p: &Pyroscope,
    url: &reqwest::Url,
    body: bytes::Bytes,
    timeout: Duration,
) -> Result<(), WindowError> {
    let shown = || p.url.to_string();
    // Built inside the runtime: the request's timeout timer needs its reactor.
    let response = p
        .runtime
        .block_on(async {
            p.client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "binary/octet-stream")
                .body(body)
                .timeout(timeout)
                .send()
                .await
        })
        .map_err(|source| WindowError::Unreachable {
            url: shown(),
            source,
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(WindowError::Status {
            url: shown(),
            status,
        })
    }
}

/// `{endpoint}/ingest`, keeping a path prefix (a reverse proxy's) and dropping a trailing `/`.
fn ingest_url(endpoint: &str) -> Result<reqwest::Url, ProfileExportError> {
    let trimmed = endpoint.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(&format!("{trimmed}/ingest")).map_err(|source| {
        ProfileExportError::Endpoint {
            endpoint: endpoint.to_owned(),
            source,
        }
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        return Err(ProfileExportError::EndpointScheme {
            endpoint: endpoint.to_owned(),
        });
    }
    Ok(url)
}

/// Pyroscope's `name`: `app{key=value,…}`, with what its parser (`labelset.Parse` in
/// grafana/pyroscope `api/model/labelset/labelset.go`) would reject replaced by `_`: the
/// application name keeps letters, digits and `_ . - /`, label names letters, digits, `_` and
/// `.`, and values lose the `,` `{` `}` that would end them. `__name__` is reserved.
///
/// No `.cpu`/`.heap` suffix: that was the old convention for text formats. With pprof the
/// server derives the profile type from the profile's sample types (`metricName` in
/// `pkg/og/convert/pprof/profile.go`: `process_cpu`, `memory`…) and stores `name` before `{`
/// as `service_name`, so a suffix would split one application into two services.
fn pyroscope_name(application: &str, tags: &[(String, String)]) -> String {
    let label_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut app: String = application
        .trim()
        .chars()
        .map(|c| {
            if label_char(c) || c == '-' || c == '/' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if app.is_empty() {
        app.push_str("unknown_service");
    }
    let labels: Vec<String> = tags
        .iter()
        .filter(|(k, _)| !k.trim().is_empty() && k.trim() != "__name__")
        .map(|(k, v)| {
            let key: String = k
                .trim()
                .chars()
                .map(|c| if label_char(c) { c } else { '_' })
                .collect();
            let value: String = v
                .trim()
                .chars()
                .map(|c| if matches!(c, ',' | '{' | '}') { '_' } else { c })
                .collect();
            format!("{key}={value}")
        })
        .collect();
    format!("{app}{{{}}}", labels.join(","))
}

/// The service name as part of a file name: letters, digits, `.`, `_`, `-`; at most 64
/// characters.
fn file_name_part(service: &str) -> String {
    let part: String = service
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if part.chars().all(|c| c == '.' || c == '_') {
        "unknown_service".to_owned()
    } else {
        part
    }
}

/// Writes `{kind}-{service}-{timestamp}.pb.gz` and, for CPU profiles with samples, `.svg`
/// beside it. A second window of the same kind starting in the same second gets `-2`, `-3`…
/// rather than replacing the first.
fn write_files(dir: &Path, service: &str, window: &Window) -> Result<(), WindowError> {
    let base = format!("{}-{service}-{}", window.kind, utc_stamp(window.from));
    let mut stem = base.clone();
    for n in 2..1000 {
        if !dir.join(format!("{stem}.pb.gz")).exists() {
            break;
        }
        stem = format!("{base}-{n}");
    }
    write_atomic(
        &dir.join(format!("{stem}.pb.gz")),
        &window.profile.to_pprof(),
    )?;
    if window.kind == "cpu" {
        match window.profile.flamegraph_svg() {
            Ok(svg) => write_atomic(&dir.join(format!("{stem}.svg")), svg.as_bytes())?,
            // An idle window: its (empty) profile is written, there is no graph to draw.
            Err(ProfileError::NoSamples(_)) => {}
            Err(e) => return Err(WindowError::Flamegraph(e)),
        }
    }
    Ok(())
}

/// Writes `path` through a temporary file renamed over it, so a reader watching the
/// directory never sees half a profile.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WindowError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, path));
    written.map_err(|source| {
        let _ = fs::remove_file(&tmp);
        WindowError::Write {
            path: path.to_owned(),
            source,
        }
    })
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `t` in UTC as `YYYYMMDDTHHMMSSZ` (times before 1970 as the epoch).
fn utc_stamp(t: SystemTime) -> String {
    let secs = unix_secs(t);
    let (y, m, d) = civil_from_days(secs / 86_400);
    let s = secs % 86_400;
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for days since the epoch, which are never negative here).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// `error: its cause: its cause's cause…`, for the one warning.
fn chain(error: &WindowError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    use pprof::protos::{Function, Line, Location, Message as _, Sample, ValueType};
    use zdk_trace_receivers::PyroscopeReceiver;

    use super::*;

    /// The counters are process-wide: these tests take turns and compare deltas.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Counts {
        exported: u64,
        dropped: u64,
        errors: u64,
    }

    fn counts() -> Counts {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counts {
            exported: get(&COUNTERS.profiles_exported),
            dropped: get(&COUNTERS.profiles_dropped),
            errors: get(&COUNTERS.profile_export_errors),
        }
    }

    fn since(before: Counts) -> Counts {
        let now = counts();
        Counts {
            exported: now.exported - before.exported,
            dropped: now.dropped - before.dropped,
            errors: now.errors - before.errors,
        }
    }

    /// Waits until `done` holds for the counts since `before` (at most 10 s).
    fn wait_counts(before: Counts, done: impl Fn(Counts) -> bool) -> Counts {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let delta = since(before);
            if done(delta) || Instant::now() >= deadline {
                return delta;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A CPU profile with one function (`main`) and one sample of 10 ms.
    fn proto() -> pprof::protos::Profile {
        pprof::protos::Profile {
            sample_type: vec![ValueType { ty: 1, unit: 2 }],
            sample: vec![Sample {
                location_id: vec![1],
                value: vec![10_000_000],
                label: vec![],
            }],
            location: vec![Location {
                id: 1,
                line: vec![Line {
                    function_id: 1,
                    line: 0,
                }],
                ..Location::default()
            }],
            function: vec![Function {
                id: 1,
                name: 3,
                system_name: 3,
                ..Function::default()
            }],
            string_table: vec![
                String::new(),
                "cpu".into(),
                "nanoseconds".into(),
                "main".into(),
            ],
            period_type: Some(ValueType { ty: 1, unit: 2 }),
            period: 10_000_000,
            duration_nanos: 10_000_000_000,
            ..pprof::protos::Profile::default()
        }
    }

    const FROM: u64 = 1_700_000_000; // 2023-11-14T22:13:20Z

    fn window(kind: &'static str) -> Window {
        Window {
            profile: Profile::from_proto(proto()),
            kind,
            from: UNIX_EPOCH + Duration::from_secs(FROM),
            until: UNIX_EPOCH + Duration::from_secs(FROM + 10),
            sample_rate_hz: 99,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        std::env::temp_dir().join(format!("zdk-trace-{name}-{}-{nanos}", std::process::id()))
    }

    fn start(sink: ProfileSink, service: &str) -> ProfileExporter {
        match ProfileExporter::start(sink, service) {
            Ok(e) => e,
            Err(e) => panic!("{}", chain_of(&e)),
        }
    }

    fn chain_of(e: &ProfileExportError) -> String {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        text
    }

    fn pyroscope(endpoint: String) -> ProfileSink {
        ProfileSink::Pyroscope {
            endpoint,
            application_name: "my-app".into(),
            tags: vec![
                ("env".into(), "test".into()),
                ("region".into(), "eu-1".into()),
            ],
        }
    }

    #[test]
    fn file_sink_writes_pprof_and_flamegraph() {
        let _turn = serial();
        let before = counts();
        let dir = temp_dir("profiles").join("nested");
        let exporter = start(ProfileSink::File { dir: dir.clone() }, "agent app/1");
        exporter.send(window("cpu"));
        exporter.send(window("heap"));
        exporter.send(window("cpu"));
        assert!(exporter.shutdown(Duration::from_secs(10)));
        assert_eq!(
            since(before),
            Counts {
                exported: 3,
                dropped: 0,
                errors: 0
            }
        );

        let mut names: Vec<String> = match fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(e) => panic!("{e}"),
        };
        names.sort();
        assert_eq!(
            names,
            [
                "cpu-agent_app_1-20231114T221320Z-2.pb.gz",
                "cpu-agent_app_1-20231114T221320Z-2.svg",
                "cpu-agent_app_1-20231114T221320Z.pb.gz",
                "cpu-agent_app_1-20231114T221320Z.svg",
                "heap-agent_app_1-20231114T221320Z.pb.gz",
            ]
        );
        let gz = fs::read(dir.join("cpu-agent_app_1-20231114T221320Z.pb.gz")).unwrap_or_default();
        let mut raw = Vec::new();
        let gunzipped = flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut raw);
        assert!(gunzipped.is_ok(), "{gunzipped:?}");
        let decoded = pprof::protos::Profile::decode(raw.as_slice());
        assert_eq!(decoded.ok(), Some(proto()));
        let svg = fs::read_to_string(dir.join("cpu-agent_app_1-20231114T221320Z.svg"))
            .unwrap_or_default();
        assert!(svg.contains("<svg") && svg.contains("main"), "{svg}");
        let _ = fs::remove_dir_all(dir.parent().unwrap_or(&dir));
    }

    #[test]
    fn file_sink_writes_no_flamegraph_for_an_idle_window() {
        let _turn = serial();
        let before = counts();
        let dir = temp_dir("idle-profiles");
        let exporter = start(ProfileSink::File { dir: dir.clone() }, "svc");
        let mut idle = window("cpu");
        idle.profile = Profile::from_proto(pprof::protos::Profile {
            sample: vec![],
            ..proto()
        });
        exporter.send(idle);
        assert!(exporter.shutdown(Duration::from_secs(10)));
        assert_eq!(since(before).exported, 1);
        assert_eq!(since(before).errors, 0);
        assert!(dir.join("cpu-svc-20231114T221320Z.pb.gz").is_file());
        assert!(!dir.join("cpu-svc-20231114T221320Z.svg").exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn file_sink_names_the_directory_it_cannot_create() {
        let file = temp_dir("not-a-dir");
        assert!(fs::write(&file, b"x").is_ok());
        let dir = file.join("profiles");
        match ProfileExporter::start(ProfileSink::File { dir: dir.clone() }, "svc") {
            Err(e @ ProfileExportError::CreateDir { .. }) => {
                assert!(e.to_string().contains(&dir.display().to_string()), "{e}");
            }
            other => panic!("{other:?}"),
        }
        let _ = fs::remove_file(file);
    }

    #[test]
    fn pyroscope_receives_the_profile() {
        let _turn = serial();
        let before = counts();
        let receiver = PyroscopeReceiver::start();
        // A trailing slash on the endpoint is fine.
        let exporter = start(pyroscope(format!("{}/", receiver.endpoint())), "svc");
        exporter.send(window("cpu"));
        let pushes = receiver.wait_for_pushes(1, Duration::from_secs(10));
        assert!(exporter.shutdown(Duration::from_secs(5)));
        assert_eq!(pushes.len(), 1, "{:?}", receiver.requests());
        let push = &pushes[0];
        assert_eq!(push.name, "my-app{env=test,region=eu-1}");
        assert_eq!(push.application, "my-app");
        assert_eq!(push.tag("region"), Some("eu-1"));
        assert_eq!(push.from_unix_secs(), FROM);
        assert_eq!(push.until_unix_secs(), FROM + 10);
        assert_eq!(push.sample_rate, 99);
        assert_eq!(push.spy_name, "zdk-trace");
        assert_eq!(push.format.as_deref(), Some("pprof"));
        assert_eq!(push.content_type.as_deref(), Some("binary/octet-stream"));
        assert!(push.gzipped && !push.multipart);
        assert_eq!(push.profile, proto());
        assert_eq!(receiver.requests()[0].path, "/ingest");
        assert_eq!(
            since(before),
            Counts {
                exported: 1,
                dropped: 0,
                errors: 0
            }
        );
    }

    #[test]
    fn pyroscope_retries_server_errors_but_not_client_errors() {
        let _turn = serial();
        let before = counts();
        let receiver = PyroscopeReceiver::start();
        receiver.respond_with_status_times(500, 2);
        let exporter = start(pyroscope(receiver.endpoint()), "svc");
        let started = Instant::now();
        exporter.send(window("heap"));
        assert_eq!(
            receiver.wait_for_pushes(1, Duration::from_secs(10)).len(),
            1
        );
        // Two back-offs: 0.5 s, then 1 s.
        assert!(started.elapsed() >= Duration::from_millis(1500));
        let statuses: Vec<u16> = receiver.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [500, 500, 200]);
        assert_eq!(wait_counts(before, |c| c.exported == 1).exported, 1);

        receiver.clear();
        receiver.respond_with_status(400);
        exporter.send(window("cpu"));
        let delta = wait_counts(before, |c| c.errors == 1);
        assert_eq!(delta.errors, 1);
        assert_eq!(receiver.requests().len(), 1, "a 400 is not retried");
        assert!(exporter.shutdown(Duration::from_secs(5)));
        assert_eq!(
            since(before),
            Counts {
                exported: 1,
                dropped: 0,
                errors: 1
            }
        );
    }

    #[test]
    fn unreachable_pyroscope_counts_an_error_and_send_does_not_wait() {
        let _turn = serial();
        let before = counts();
        // A port nobody listens on: bind one, learn its number, close it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or(9, |a| a.port());
        let exporter = start(pyroscope(format!("http://127.0.0.1:{port}")), "svc");
        let sent = Instant::now();
        exporter.send(window("cpu"));
        assert!(
            sent.elapsed() < Duration::from_millis(50),
            "{:?}",
            sent.elapsed()
        );
        let delta = wait_counts(before, |c| c.errors == 1);
        assert_eq!(
            delta,
            Counts {
                exported: 0,
                dropped: 0,
                errors: 1
            }
        );
        assert!(exporter.shutdown(Duration::from_secs(5)));
    }

    #[test]
    fn full_queue_and_shutdown_deadline_count_drops() {
        let _turn = serial();
        let before = counts();
        // A server that accepts the connection and never answers: the first push hangs, so
        // the queue fills behind it.
        let listener = match TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        let port = listener.local_addr().map_or(0, |a| a.port());
        let exporter = start(pyroscope(format!("http://127.0.0.1:{port}")), "svc");
        exporter.send(window("cpu"));
        let stalled = listener.accept();
        assert!(stalled.is_ok(), "{stalled:?}");
        let sent = Instant::now();
        for _ in 0..QUEUE_CAPACITY + 2 {
            exporter.send(window("cpu"));
        }
        assert!(
            sent.elapsed() < Duration::from_millis(50),
            "{:?}",
            sent.elapsed()
        );
        assert_eq!(since(before).dropped, 2, "the queue holds {QUEUE_CAPACITY}");

        // Shutdown cannot export the queued windows behind the stalled push in time.
        let stopping = Instant::now();
        assert!(!exporter.shutdown(Duration::from_millis(300)));
        assert!(
            stopping.elapsed() < Duration::from_secs(1),
            "{:?}",
            stopping.elapsed()
        );
        assert_eq!(since(before).dropped, 2 + QUEUE_CAPACITY as u64);

        // Closing the connection ends the push in flight: an error, and no retry after the
        // deadline.
        drop(stalled);
        drop(listener);
        let delta = wait_counts(before, |c| c.errors == 1);
        assert_eq!(
            delta,
            Counts {
                exported: 0,
                dropped: 2 + QUEUE_CAPACITY as u64,
                errors: 1
            }
        );
    }

    #[test]
    fn pyroscope_name_is_what_labelset_parse_accepts() {
        let tags = vec![
            ("env".to_owned(), "prod,eu}".to_owned()),
            ("host name".to_owned(), " a b ".to_owned()),
            ("__name__".to_owned(), "x".to_owned()),
            (String::new(), "y".to_owned()),
        ];
        assert_eq!(
            pyroscope_name("My App:1", &tags),
            "My_App_1{env=prod_eu_,host_name=a b}"
        );
        assert_eq!(pyroscope_name("svc/api-1.x", &[]), "svc/api-1.x{}");
        assert_eq!(pyroscope_name(" ", &[]), "unknown_service{}");
    }

    #[test]
    fn endpoints_and_file_names() {
        let url = ingest_url("http://host:4040/prefix/").map(|u| u.to_string());
        assert_eq!(url.ok().as_deref(), Some("http://host:4040/prefix/ingest"));
        assert!(matches!(
            ingest_url("localhost:4040"),
            Err(ProfileExportError::EndpointScheme { .. })
        ));
        assert!(matches!(
            ingest_url("not a url"),
            Err(ProfileExportError::Endpoint { .. })
        ));
        assert_eq!(file_name_part("../etc"), ".._etc");
        assert_eq!(file_name_part(".."), "unknown_service");
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(951_868_799)),
            "20000229T235959Z"
        );
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(FROM)),
            "20231114T221320Z"
        );
    }
}
