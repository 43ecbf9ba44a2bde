//! [`PyroscopeReceiver`]: Pyroscope's `POST /ingest` for pprof profiles, parsed by the rules
//! of the real server, keeping every profile decoded.
//!
//! The rules are grafana/pyroscope's (`pkg/ingester/pyroscope/ingest_handler.go`,
//! `pkg/og/convert/pprof/profile.go`, `api/model/labelset/labelset.go`,
//! `pkg/og/util/attime/attime.go`, `pkg/pprof/pprof.go`):
//!
//! - the routes are `/ingest` and `/pyroscope/ingest`, `POST` only;
//! - the metadata is in the query: `name` (`app{key=value,…}`, required), `from` and `until`
//!   (Unix time; 13 digits are milliseconds, 16 microseconds, 19 nanoseconds, other lengths
//!   seconds; missing means now), `sampleRate` (default 100, also when invalid), `spyName`
//!   (default `unknown`), `units`, `aggregationType`, `format`;
//! - `format=pprof` takes the whole body as the profile, whatever its content type (a
//!   multipart body sent with `format=pprof` therefore fails to decode); without `format`, a
//!   `multipart/form-data` body carries the profile in its `profile` field (and an optional
//!   `sample_type_config` JSON field);
//! - the profile is gzipped pprof or plain pprof (the server sniffs the gzip header;
//!   `content-encoding` is not looked at).
//!
//! Not implemented here: the text and other formats (`folded`, `lines`, `trie`, `tree`, `jfr`,
//! `speedscope`), answered with 415, and relative times (`now-1h`), answered with 400.

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use pprof::protos::Message as _;

use crate::server::ServerThread;
use crate::store::lock;

/// Pyroscope's sample rate when `sampleRate` is missing or invalid (`types.DefaultSampleRate`).
pub const PYROSCOPE_DEFAULT_SAMPLE_RATE: u32 = 100;

/// One profile [`PyroscopeReceiver`] accepted.
#[derive(Debug, Clone)]
pub struct PyroscopePush {
    /// The `name` query parameter as sent (`app{key=value}`).
    pub name: String,
    /// The application name: `name` before `{` (the `service_name` Pyroscope stores).
    pub application: String,
    /// The labels inside `{…}`, in the order sent (a repeated key keeps its last value).
    pub tags: Vec<(String, String)>,
    /// `from`, as Pyroscope reads it (now if missing).
    pub from: SystemTime,
    /// `until`, as Pyroscope reads it (now if missing).
    pub until: SystemTime,
    /// The `from` parameter as sent.
    pub from_param: Option<String>,
    /// The `until` parameter as sent.
    pub until_param: Option<String>,
    /// `sampleRate` ([`PYROSCOPE_DEFAULT_SAMPLE_RATE`] if missing or invalid).
    pub sample_rate: u32,
    /// `spyName` (`unknown` if missing).
    pub spy_name: String,
    /// `units`, if sent.
    pub units: Option<String>,
    /// `aggregationType`, if sent.
    pub aggregation_type: Option<String>,
    /// `format`, if sent.
    pub format: Option<String>,
    /// The request's `content-type`, if any.
    pub content_type: Option<String>,
    /// Whether the profile came in a `multipart/form-data` body.
    pub multipart: bool,
    /// Whether the profile bytes were gzipped.
    pub gzipped: bool,
    /// The `sample_type_config` form field (JSON), if a multipart body had one.
    pub sample_type_config: Option<String>,
    /// The profile, decoded from profile.proto.
    pub profile: pprof::protos::Profile,
}

impl PyroscopePush {
    /// The value of tag `key`, if the name had it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `from` in whole seconds since the Unix epoch.
    pub fn from_unix_secs(&self) -> u64 {
        unix_secs(self.from)
    }

    /// `until` in whole seconds since the Unix epoch.
    pub fn until_unix_secs(&self) -> u64 {
        unix_secs(self.until)
    }

    /// The profile's string at `index` of its string table (`""` if out of range).
    pub fn string(&self, index: i64) -> &str {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.profile.string_table.get(i))
            .map_or("", String::as_str)
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// One request as [`PyroscopeReceiver`] saw it, accepted or not.
#[derive(Debug, Clone)]
pub struct PyroscopeRequest {
    /// The request method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The request's `content-type`, if any.
    pub content_type: Option<String>,
    /// The body's length in bytes.
    pub body_len: usize,
    /// The status answered.
    pub status: u16,
    /// Why the request was rejected, if it was.
    pub error: Option<String>,
}

#[derive(Debug)]
struct PyroscopeStore {
    requests: Mutex<Vec<PyroscopeRequest>>,
    pushes: Mutex<Vec<PyroscopePush>>,
    changed: Condvar,
    /// A status to answer valid requests with, and for how many more (`None`: until changed);
    /// `None` answers 200.
    failing: Mutex<Option<(u16, Option<usize>)>>,
}

impl PyroscopeStore {
    /// The status to answer the next valid request with.
    fn next_status(&self) -> u16 {
        let mut failing = lock(&self.failing);
        let Some((status, left)) = failing.as_mut() else {
            return 200;
        };
        let status = *status;
        if let Some(left) = left {
            *left = left.saturating_sub(1);
            if *left == 0 {
                *failing = None;
            }
        }
        status
    }

    fn record(&self, request: PyroscopeRequest, push: Option<PyroscopePush>) {
        {
            // Requests first: a test that saw a push also sees its request.
            lock(&self.requests).push(request);
            if let Some(push) = push {
                lock(&self.pushes).push(push);
            }
        }
        self.changed.notify_all();
    }

    /// Waits until `done` holds or `timeout` passes. The condition variable is paired with
    /// `requests`, which every record updates.
    fn wait(&self, timeout: Duration, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.requests);
        loop {
            drop(requests);
            if done(self) {
                return;
            }
            requests = lock(&self.requests);
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            // Short waits: `done` reads the pushes under their own lock, so a notification
            // between its check and this wait would otherwise be missed.
            let left = left.min(Duration::from_millis(20));
            requests = match self.changed.wait_timeout(requests, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// A Pyroscope ingest receiver on `127.0.0.1`, accepting pprof profiles the way the real
/// server's `POST /ingest` does (see the module docs for the rules), recording every request
/// and keeping each accepted profile decoded.
///
/// ```
/// use zdk_trace_receivers::PyroscopeReceiver;
///
/// let receiver = PyroscopeReceiver::start();
/// assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));
/// assert!(receiver.ingest_url().ends_with("/ingest"));
/// assert!(receiver.pushes().is_empty());
/// ```
#[derive(Debug)]
pub struct PyroscopeReceiver {
    store: Arc<PyroscopeStore>,
    server: ServerThread,
}

impl PyroscopeReceiver {
    /// Starts the receiver; it is listening when this returns and stops on drop.
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// [`start`](Self::start) on `127.0.0.1:port` (a configuration's fixed port, such as
    /// Pyroscope's default 4040); panics if the port is taken.
    pub fn start_on(port: u16) -> Self {
        let store = Arc::new(PyroscopeStore {
            requests: Mutex::new(Vec::new()),
            pushes: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            failing: Mutex::new(None),
        });
        let app = axum::Router::new()
            .fallback(handle_ingest)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(Arc::clone(&store));
        let server =
            ServerThread::spawn_on("pyroscope-receiver", port, move |listener| async move {
                let _ = axum::serve(listener, app).await;
            });
        PyroscopeReceiver { store, server }
    }

    /// The server's base URL, `http://127.0.0.1:PORT` (what a Pyroscope client takes).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The ingest URL, `http://127.0.0.1:PORT/ingest`.
    pub fn ingest_url(&self) -> String {
        format!("http://{}/ingest", self.server.addr)
    }

    /// The address the receiver listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Every profile accepted so far, in arrival order.
    pub fn pushes(&self) -> Vec<PyroscopePush> {
        lock(&self.store.pushes).clone()
    }

    /// Every request received so far, rejected and failed ones included.
    pub fn requests(&self) -> Vec<PyroscopeRequest> {
        lock(&self.store.requests).clone()
    }

    /// Waits until at least `n` profiles were accepted or `timeout` passed, then returns
    /// [`pushes`](Self::pushes) (which may hold fewer than `n`: assert on its length).
    pub fn wait_for_pushes(&self, n: usize, timeout: Duration) -> Vec<PyroscopePush> {
        self.store
            .wait(timeout, |store| lock(&store.pushes).len() >= n);
        self.pushes()
    }

    /// Waits until at least `n` requests (accepted or not) arrived or `timeout` passed, then
    /// returns [`requests`](Self::requests).
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<PyroscopeRequest> {
        self.store
            .wait(timeout, |store| lock(&store.requests).len() >= n);
        self.requests()
    }

    /// Answers every following valid request with `status` (nothing is stored) until
    /// [`respond_ok`](Self::respond_ok).
    pub fn respond_with_status(&self, status: u16) {
        *lock(&self.store.failing) = Some((status, None));
    }

    /// Answers the next `times` valid requests with `status` (nothing is stored), then
    /// accepts again: `respond_with_status_times(500, 2)` tests a client's retries.
    pub fn respond_with_status_times(&self, status: u16, times: usize) {
        *lock(&self.store.failing) = (times > 0).then_some((status, Some(times)));
    }

    /// Accepts valid requests again (the default).
    pub fn respond_ok(&self) {
        *lock(&self.store.failing) = None;
    }

    /// Forgets every recorded request and profile.
    pub fn clear(&self) {
        lock(&self.store.requests).clear();
        lock(&self.store.pushes).clear();
    }
}

async fn handle_ingest(
    State(store): State<Arc<PyroscopeStore>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut request = PyroscopeRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        content_type: content_type.clone(),
        body_len: body.len(),
        status: 200,
        error: None,
    };
    let parsed = if request.path != "/ingest" && request.path != "/pyroscope/ingest" {
        Err((StatusCode::NOT_FOUND, "404 page not found".to_owned()))
    } else if method != Method::POST {
        Err((StatusCode::METHOD_NOT_ALLOWED, "use POST".to_owned()))
    } else {
        parse_push(&request.query, content_type, &body)
    };
    let push = match parsed {
        Ok(push) => push,
        Err((status, error)) => {
            request.status = status.as_u16();
            request.error = Some(error.clone());
            store.record(request, None);
            return (status, error).into_response();
        }
    };
    let status = store.next_status();
    request.status = status;
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if code.is_success() {
        store.record(request, Some(push));
        code.into_response()
    } else {
        request.error = Some(format!("told to answer {status}"));
        store.record(request, None);
        (code, format!("told to answer {status}")).into_response()
    }
}

type Rejection = (StatusCode, String);

/// Parses one ingest request as `ingestHandler` does: metadata from the query, then the body.
fn parse_push(
    query: &str,
    content_type: Option<String>,
    body: &[u8],
) -> Result<PyroscopePush, Rejection> {
    let bad = |e: String| (StatusCode::BAD_REQUEST, e);
    let params = query_pairs(query);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let name = get("name").unwrap_or_default();
    let (application, tags) = parse_name(&name).map_err(|e| bad(format!("name: {e}")))?;
    let from_param = get("from").filter(|s| !s.is_empty());
    let until_param = get("until").filter(|s| !s.is_empty());
    let time = |param: &Option<String>, key: &str| match param {
        None => Ok(SystemTime::now()),
        Some(s) => parse_time(s).ok_or_else(|| {
            bad(format!(
                "{key}: `{s}` is not a Unix time (this receiver does not implement relative times)"
            ))
        }),
    };
    let from = time(&from_param, "from")?;
    let until = time(&until_param, "until")?;
    let sample_rate = get("sampleRate")
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(PYROSCOPE_DEFAULT_SAMPLE_RATE);
    let spy_name = get("spyName")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let format = get("format").filter(|s| !s.is_empty());
    let ct = content_type.as_deref().unwrap_or_default();

    // `readInputRawDataFromRequest`: the first matching case decides how the body is read.
    let (raw, multipart, sample_type_config) = match format.as_deref() {
        Some("pprof") => (body.to_vec(), false, None),
        Some(other @ ("trie" | "tree" | "lines" | "jfr" | "speedscope")) => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("format `{other}` is not implemented by this receiver"),
            ))
        }
        _ if ct == "binary/octet-stream+trie" || ct == "binary/octet-stream+tree" => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content type `{ct}` is not implemented by this receiver"),
            ))
        }
        _ if ct.contains("multipart/form-data") => {
            let fields = multipart_fields(ct, body).map_err(bad)?;
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            if field("prev_profile").is_some() {
                return Err(bad(
                    "unsupported client version: a `prev_profile` field".into()
                ));
            }
            let config =
                field("sample_type_config").map(|v| String::from_utf8_lossy(&v).into_owned());
            // The real server answers 200 to a form without `profile` and stores nothing; a
            // test learns more from a rejection.
            let profile = field("profile")
                .ok_or_else(|| bad("the multipart form has no `profile` field".into()))?;
            (profile, true, config)
        }
        _ => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "format `{}` is not implemented by this receiver (send format=pprof or a \
                     multipart form)",
                    format.as_deref().unwrap_or("folded")
                ),
            ))
        }
    };
    let gzipped = raw.starts_with(&[0x1f, 0x8b]);
    let bytes = if gzipped {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| bad(format!("bad gzip: {e}")))?;
        out
    } else {
        raw
    };
    let profile = pprof::protos::Profile::decode(bytes.as_slice())
        .map_err(|e| bad(format!("not a pprof profile: {e}")))?;
    Ok(PyroscopePush {
        name,
        application,
        tags,
        from,
        until,
        from_param,
        until_param,
        sample_rate,
        spy_name,
        units: get("units").filter(|s| !s.is_empty()),
        aggregation_type: get("aggregationType").filter(|s| !s.is_empty()),
        format,
        content_type,
        multipart,
        gzipped,
        sample_type_config,
        profile,
    })
}

/// `app{k=v,…}` as `labelset.Parse` reads it: the application name before `{` (required;
/// letters, digits, `_ . - /`), then `key=value` pairs (keys: letters, digits, `_ .`; values
/// end at `,` or `}`), everything trimmed.
fn parse_name(name: &str) -> Result<(String, Vec<(String, String)>), String> {
    let (app, rest) = match name.find('{') {
        Some(i) => (&name[..i], Some(&name[i + 1..])),
        None => (name, None),
    };
    let mut application = app.trim().to_owned();
    if application.is_empty() {
        return Err("service name is required".into());
    }
    if let Some(c) = application.chars().find(|&c| !service_name_char(c)) {
        return Err(format!(
            "invalid service name: {application}: character is not allowed: {c:?}"
        ));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    let Some(rest) = rest else {
        return Ok((application, tags));
    };
    let (mut key, mut value) = (String::new(), String::new());
    let mut in_value = false;
    for c in rest.chars() {
        if in_value {
            if c == ',' || c == '}' {
                in_value = false;
                let k = key.trim().to_owned();
                if k != "__name__" {
                    if k.is_empty() {
                        return Err("label name is required".into());
                    }
                    if let Some(bad) = k.chars().find(|&c| !label_name_char(c)) {
                        return Err(format!(
                            "invalid label name: {k}: character is not allowed: {bad:?}"
                        ));
                    }
                }
                let v = value.trim().to_owned();
                if k == "__name__" {
                    application = v;
                } else if let Some(slot) = tags.iter_mut().find(|(t, _)| *t == k) {
                    slot.1 = v;
                } else {
                    tags.push((k, v));
                }
                key.clear();
            } else {
                value.push(c);
            }
        } else if c == '}' {
            break;
        } else if c == '=' {
            in_value = true;
            value.clear();
        } else {
            key.push(c);
        }
    }
    Ok((application, tags))
}

fn label_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn service_name_char(c: char) -> bool {
    label_name_char(c) || c == '-' || c == '/'
}

/// A Unix time as `attime.Parse` reads one made of digits: 13 digits are milliseconds, 16
/// microseconds, 19 nanoseconds, anything else seconds (8 digits forming a valid date are
/// `YYYYMMDD`, which no client sends and this receiver does not accept).
fn parse_time(s: &str) -> Option<SystemTime> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, '_' | ',' | ' '))
        .collect();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u64 = s.parse().ok()?;
    let since_epoch = match s.len() {
        13 => Duration::from_millis(v),
        16 => Duration::from_micros(v),
        19 => Duration::from_nanos(v),
        8 => return None,
        _ => Duration::from_secs(v),
    };
    UNIX_EPOCH.checked_add(since_epoch)
}

/// The query's `key=value` pairs, percent-decoded (`+` is a space), as Go's `url.Query()`.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The fields of a `multipart/form-data` body: `(name, content)` in order.
fn multipart_fields(content_type: &str, body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| {
            p.strip_prefix("boundary=")
                .or_else(|| p.strip_prefix("BOUNDARY="))
        })
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or_else(|| format!("no boundary in content type `{content_type}`"))?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0)
        .ok_or_else(|| "multipart body without its boundary".to_owned())?
        + delimiter.len();
    let mut fields = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(fields);
        }
        at = skip_line_end(body, at).ok_or("malformed multipart boundary line")?;
        let head_end = find(body, b"\r\n\r\n", at).ok_or("multipart part without a blank line")?;
        let head = String::from_utf8_lossy(&body[at..head_end]).into_owned();
        let content_start = head_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let content_end = find(body, &closing, content_start).ok_or("multipart part not closed")?;
        let name = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .and_then(|l| {
                l.split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("name="))
                    .map(|n| n.trim_matches('"').to_owned())
            })
            .ok_or_else(|| format!("multipart part without a name: `{head}`"))?;
        fields.push((name, body[content_start..content_end].to_vec()));
        at = content_end + closing.len();
    }
}

fn skip_line_end(body: &[u8], at: usize) -> Option<usize> {
    if body[at..].starts_with(b"\r\n") {
        Some(at + 2)
    } else if body[at..].starts_with(b"\n") {
        Some(at + 1)
    } else {
        None
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;

    use pprof::protos::{Function, Line, Location, Profile, Sample, ValueType};

    use super::*;

    /// A CPU profile with one function and one sample.
    fn profile() -> Profile {
        Profile {
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
                    line: 7,
                }],
                ..Location::default()
            }],
            function: vec![Function {
                id: 1,
                name: 3,
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
            ..Profile::default()
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes)
            .and_then(|()| gz.finish())
            .unwrap_or_default()
    }

    /// Sends one raw HTTP/1.1 request and returns the response status code.
    fn send(addr: SocketAddr, head: &str, body: &[u8]) -> u16 {
        let mut stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let request = format!(
            "{head}\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let mut response = String::new();
        let sent = stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.read_to_string(&mut response));
        if let Err(e) = sent {
            panic!("{e}");
        }
        response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    const OCTET: &str = "content-type: binary/octet-stream";

    #[test]
    fn pprof_body_plain_and_gzipped() {
        let receiver = PyroscopeReceiver::start();
        let head = format!(
            "POST /ingest?name=my-app%7Benv%3Dprod%2Cregion%3Deu%7D&from=1700000000&until=\
             1700000010&sampleRate=99&spyName=zdk-trace&format=pprof HTTP/1.1\r\n{OCTET}"
        );
        let raw = profile().encode_to_vec();
        assert_eq!(send(receiver.addr(), &head, &gzip(&raw)), 200);
        let head2 = "POST /pyroscope/ingest?name=other&from=1700000000000&format=pprof HTTP/1.1";
        assert_eq!(send(receiver.addr(), head2, &raw), 200);

        let pushes = receiver.wait_for_pushes(2, Duration::from_secs(5));
        assert_eq!(pushes.len(), 2);
        let p = &pushes[0];
        assert_eq!(p.name, "my-app{env=prod,region=eu}");
        assert_eq!(p.application, "my-app");
        assert_eq!(p.tag("env"), Some("prod"));
        assert_eq!(p.tag("region"), Some("eu"));
        assert_eq!(p.from_unix_secs(), 1_700_000_000);
        assert_eq!(p.until_unix_secs(), 1_700_000_010);
        assert_eq!(p.sample_rate, 99);
        assert_eq!(p.spy_name, "zdk-trace");
        assert!(p.gzipped && !p.multipart);
        assert_eq!(p.profile, profile());
        assert_eq!(p.string(p.profile.function[0].name), "main");

        let q = &pushes[1];
        assert_eq!(q.application, "other");
        assert!(q.tags.is_empty());
        assert_eq!(
            q.from_unix_secs(),
            1_700_000_000,
            "13 digits are milliseconds"
        );
        assert_eq!(q.sample_rate, PYROSCOPE_DEFAULT_SAMPLE_RATE);
        assert_eq!(q.spy_name, "unknown");
        assert!(!q.gzipped);
    }

    #[test]
    fn multipart_profile_field() {
        let receiver = PyroscopeReceiver::start();
        let boundary = "XyZ123";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"profile\"; \
                 filename=\"profile.pprof\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&gzip(&profile().encode_to_vec()));
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"sample_type_config\"; \
                 filename=\"c.json\"\r\n\r\n{{\"cpu\":{{}}}}\r\n--{boundary}--\r\n"
            )
            .as_bytes(),
        );
        let head = format!(
            "POST /ingest?name=app&from=1&until=2&spyName=gospy HTTP/1.1\r\n\
             content-type: multipart/form-data; boundary={boundary}"
        );
        assert_eq!(send(receiver.addr(), &head, &body), 200);
        // With format=pprof the server takes the whole body as the profile: a form fails.
        let head = format!(
            "POST /ingest?name=app&format=pprof HTTP/1.1\r\n\
             content-type: multipart/form-data; boundary={boundary}"
        );
        assert_eq!(send(receiver.addr(), &head, &body), 400);

        let pushes = receiver.pushes();
        assert_eq!(pushes.len(), 1);
        assert!(pushes[0].multipart);
        assert_eq!(pushes[0].profile, profile());
        assert_eq!(
            pushes[0].sample_type_config.as_deref(),
            Some("{\"cpu\":{}}")
        );
        assert_eq!(pushes[0].spy_name, "gospy");
        assert_eq!(receiver.requests().len(), 2);
    }

    #[test]
    fn rejects_what_the_server_rejects() {
        let receiver = PyroscopeReceiver::start();
        let addr = receiver.addr();
        let raw = profile().encode_to_vec();
        let cases: [(&str, &[u8], u16); 6] = [
            ("POST /v1/ingest?name=a&format=pprof HTTP/1.1", &raw, 404),
            ("GET /ingest?name=a&format=pprof HTTP/1.1", b"", 405),
            ("POST /ingest?format=pprof HTTP/1.1", &raw, 400),
            ("POST /ingest?name=a%20b&format=pprof HTTP/1.1", &raw, 400),
            (
                "POST /ingest?name=a&format=pprof HTTP/1.1",
                &[0xff, 0xff, 0xff],
                400,
            ),
            ("POST /ingest?name=a HTTP/1.1", b"main 1", 415),
        ];
        for (head, payload, status) in cases {
            assert_eq!(send(addr, head, payload), status, "{head}");
        }
        let requests = receiver.wait_for_requests(6, Duration::from_secs(5));
        assert_eq!(requests.len(), 6);
        assert!(requests.iter().all(|r| r.error.is_some()));
        assert!(receiver.pushes().is_empty());
    }

    #[test]
    fn fails_n_times_then_accepts() {
        let receiver = PyroscopeReceiver::start();
        let head = "POST /ingest?name=a&format=pprof HTTP/1.1";
        let raw = profile().encode_to_vec();
        receiver.respond_with_status_times(500, 2);
        assert_eq!(send(receiver.addr(), head, &raw), 500);
        assert_eq!(send(receiver.addr(), head, &raw), 500);
        assert_eq!(send(receiver.addr(), head, &raw), 200);
        assert_eq!(
            receiver.pushes().len(),
            1,
            "only accepted profiles are kept"
        );
        let statuses: Vec<u16> = receiver.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [500, 500, 200]);

        receiver.respond_with_status(429);
        assert_eq!(send(receiver.addr(), head, &raw), 429);
        receiver.respond_ok();
        assert_eq!(send(receiver.addr(), head, &raw), 200);
        receiver.clear();
        assert!(receiver.requests().is_empty() && receiver.pushes().is_empty());
    }

    #[test]
    fn name_parsing_follows_labelset() {
        assert_eq!(
            parse_name(" app.cpu { a = 1 ,b=x y}"),
            Ok((
                "app.cpu".to_owned(),
                vec![("a".into(), "1".into()), ("b".into(), "x y".into())]
            ))
        );
        assert_eq!(parse_name("svc/x-1{}"), Ok(("svc/x-1".to_owned(), vec![])));
        assert!(parse_name("").is_err());
        assert!(parse_name("a{b-c=1}").is_err());
        assert_eq!(
            parse_time("1700000000123456789"),
            UNIX_EPOCH.checked_add(Duration::from_nanos(1_700_000_000_123_456_789))
        );
        assert!(parse_time("now-1h").is_none());
        assert_eq!(percent_decode("a%7Bb%3D1%7D+c%"), "a{b=1} c%");
    }
}
