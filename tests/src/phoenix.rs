//! End-to-end tests against Arize Phoenix, a real trace backend: finding the server, running
//! the example binaries against it, and reading back the spans it stored.
//!
//! The tests run only when `ZDK_E2E_PHOENIX=1`; otherwise [`Phoenix::from_env`] prints how to
//! run them and returns `None`, and the test returns early. With the variable set, a server
//! that cannot be reached fails the test: `.ci/run` sets it, so CI cannot pass without them.
//!
//! The backend is started with `tests/backends/phoenix/start.sh`. Its addresses come from the
//! variables that script prints (`PHOENIX_BASE_URL`, `PHOENIX_OTLP_GRPC_ENDPOINT`), else from
//! `PHOENIX_HOST`, `PHOENIX_PORT` and `PHOENIX_GRPC_PORT`, as the script reads them.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The variable that turns the end-to-end tests on.
pub const ENABLE_VAR: &str = "ZDK_E2E_PHOENIX";

/// How to run the tests, printed when they are skipped.
const HOW_TO_RUN: &str = "skipped: the Phoenix end-to-end tests need a running Arize Phoenix; \
     run them with\n    tests/backends/phoenix/start.sh && ZDK_E2E_PHOENIX=1 cargo test -p \
     zdk-trace-tests --test e2e_phoenix; tests/backends/phoenix/stop.sh\n  (see \
     tests/backends/phoenix/README.md; .ci/run does this)";

/// How long spans may take to show up after the exporting process exited. Phoenix stores
/// them asynchronously, about 0.2 s after the export returns on an idle machine; the margin
/// is for a busy 2-core CI box.
const INGEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a child process may run before the test gives up on it.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// A running Phoenix server.
#[derive(Debug)]
pub struct Phoenix {
    base_url: String,
    grpc_endpoint: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Phoenix {
    /// The server the environment names, or `None` (after printing how to run the tests)
    /// when `ZDK_E2E_PHOENIX` is not `1`.
    ///
    /// # Panics
    ///
    /// When the tests are on but the server does not answer its health check.
    pub fn from_env() -> Option<Phoenix> {
        if std::env::var(ENABLE_VAR).as_deref() != Ok("1") {
            // Straight to the process's stderr: the test harness captures `eprintln!` of
            // passing tests, and this note must be seen in a plain `cargo test`.
            static NOTE: OnceLock<()> = OnceLock::new();
            NOTE.get_or_init(|| {
                let _ = writeln!(std::io::stderr(), "e2e_phoenix: {HOW_TO_RUN}");
            });
            return None;
        }
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let host = var("PHOENIX_HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
        let base_url = var("PHOENIX_BASE_URL").unwrap_or_else(|| {
            let port = var("PHOENIX_PORT").unwrap_or_else(|| "6006".to_owned());
            format!("http://{host}:{port}")
        });
        let grpc_endpoint = var("PHOENIX_OTLP_GRPC_ENDPOINT").unwrap_or_else(|| {
            let port = var("PHOENIX_GRPC_PORT").unwrap_or_else(|| "4317".to_owned());
            format!("http://{host}:{port}")
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"));
        // No connection reuse: Phoenix (uvicorn) closes an idle keep-alive connection after
        // 5 s, and a test that first runs the example app for longer would send its next
        // request down the closed connection ("error sending request", seen in CI).
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"));
        let phoenix = Phoenix {
            base_url: base_url.trim_end_matches('/').to_owned(),
            grpc_endpoint,
            http,
            rt,
        };
        if let Err(e) = phoenix.get(&format!("{}/healthz", phoenix.base_url)) {
            panic!(
                "{ENABLE_VAR}=1 but Phoenix does not answer at {}: {e}\n  start it with \
                 tests/backends/phoenix/start.sh (or unset {ENABLE_VAR} to skip these tests)",
                phoenix.base_url
            );
        }
        Some(phoenix)
    }

    /// The OTLP/gRPC endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` with protocol `grpc`).
    pub fn grpc_endpoint(&self) -> &str {
        &self.grpc_endpoint
    }

    /// The OTLP/HTTP base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` with `http/protobuf`; the
    /// exporter appends `/v1/traces`).
    pub fn http_endpoint(&self) -> &str {
        &self.base_url
    }

    fn get(&self, url: &str) -> Result<(u16, Vec<u8>), String> {
        self.rt.block_on(async {
            let response = self
                .http
                .get(url)
                .header("accept", "application/json")
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e} ({e:?})"))?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(|e| format!("GET {url}: reading the body: {e}"))?;
            Ok((status, body.to_vec()))
        })
    }

    /// Every span Phoenix stored under `project`, oldest first; empty when the project does
    /// not exist (yet).
    ///
    /// # Panics
    ///
    /// When Phoenix answers with an error or with JSON of an unexpected shape.
    pub fn spans(&self, project: &str) -> Vec<StoredSpan> {
        let mut spans = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/v1/projects/{project}/spans?limit=1000&sort=start_time&order=asc",
                self.base_url
            );
            if let Some(cursor) = &cursor {
                url.push_str("&cursor=");
                url.push_str(cursor);
            }
            let (status, body) = self.get(&url).unwrap_or_else(|e| panic!("{e}"));
            if status == 404 {
                return spans;
            }
            let json: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
                panic!(
                    "GET {url} -> {status}, not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                )
            });
            assert_eq!(status, 200, "GET {url}: {json}");
            let Some(data) = json["data"].as_array() else {
                panic!("GET {url}: no `data` array in {json}");
            };
            spans.extend(data.iter().map(StoredSpan::from_json));
            cursor = json["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        spans.sort_by(|a, b| a.start_time.cmp(&b.start_time));
        spans
    }

    /// Polls [`spans`](Self::spans) until `project` holds at least `n` spans, and returns
    /// them (so a test that expects `n` can assert there are no more).
    ///
    /// # Panics
    ///
    /// When fewer than `n` arrive within a minute, listing what did.
    pub fn wait_for_spans(&self, project: &str, n: usize) -> Vec<StoredSpan> {
        let deadline = Instant::now() + INGEST_TIMEOUT;
        // Every poll reads all spans again, and frequent reads slow Phoenix's own inserts on
        // a small machine: back off.
        let mut pause = Duration::from_millis(100);
        loop {
            let spans = self.spans(project);
            if spans.len() >= n {
                return spans;
            }
            if Instant::now() >= deadline {
                panic!(
                    "only {} of {n} spans reached Phoenix project `{project}` within {}s:\n{}",
                    spans.len(),
                    INGEST_TIMEOUT.as_secs(),
                    render_tree(&spans)
                );
            }
            std::thread::sleep(pause);
            pause = (pause * 3 / 2).min(Duration::from_secs(2));
        }
    }

    /// Deletes `project` and its spans, so repeated runs do not fill the database.
    pub fn delete_project(&self, project: &str) {
        let url = format!("{}/v1/projects/{project}", self.base_url);
        // `send` arms the request's timeout, which needs the runtime: call it inside.
        let result = self
            .rt
            .block_on(async { self.http.delete(&url).send().await });
        match result {
            Ok(r) if r.status().is_success() || r.status().as_u16() == 404 => {}
            Ok(r) => panic!("DELETE {url} -> {}", r.status()),
            Err(e) => panic!("DELETE {url}: {e}"),
        }
    }
}

/// A project name no earlier run used: Phoenix keeps its data between runs, and a trace
/// belongs to the project it was first filed under.
pub fn unique_project(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("zdk-e2e-{test}-{}-{nanos}", std::process::id())
}

/// One span as Phoenix stored it.
#[derive(Debug, Clone)]
pub struct StoredSpan {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// `None` for a root span.
    pub parent_id: Option<String>,
    /// The span name.
    pub name: String,
    /// `"UNSET"`, `"OK"` or `"ERROR"`.
    pub status: String,
    /// The status description (empty unless `ERROR`).
    pub status_message: String,
    /// Phoenix's OpenInference kind: `LLM`, `TOOL`, `AGENT`, or `UNKNOWN` for plain spans.
    pub kind: String,
    /// Attributes with their JSON types (Phoenix adds derived `llm.*` and `tool.*` keys).
    pub attributes: BTreeMap<String, Value>,
    /// Event names, in order.
    pub events: Vec<String>,
    /// ISO-8601 with microseconds; sorts as text.
    pub start_time: String,
}

impl StoredSpan {
    fn from_json(json: &Value) -> StoredSpan {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        StoredSpan {
            trace_id: text(&json["context"]["trace_id"]),
            span_id: text(&json["context"]["span_id"]),
            parent_id: json["parent_id"].as_str().map(str::to_owned),
            name: text(&json["name"]),
            status: text(&json["status_code"]),
            status_message: text(&json["status_message"]),
            kind: text(&json["span_kind"]),
            attributes: json["attributes"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            events: json["events"]
                .as_array()
                .map(|events| events.iter().map(|e| text(&e["name"])).collect())
                .unwrap_or_default(),
            start_time: text(&json["start_time"]),
        }
    }

    /// Attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }

    /// Attribute `key` as text: strings as-is, numbers and booleans formatted.
    pub fn attr_text(&self, key: &str) -> Option<String> {
        self.attr(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// Asserts that every `(key, value)` is an attribute of this span. Values compare as
    /// JSON, so `json!(8)` requires an integer and `json!("8")` a string.
    pub fn assert_attrs(&self, expected: &[(&str, Value)]) {
        for (key, value) in expected {
            assert_eq!(
                self.attr(key),
                Some(value),
                "span `{}` ({}): attribute `{key}`; it has {:?}",
                self.name,
                self.span_id,
                self.attributes
            );
        }
    }
}

/// The attributes [`render_tree`] shows after a span's name, when present.
pub const TREE_KEYS: [&str; 8] = [
    "app.service",
    "workflow.type",
    "gen_ai.agent.id",
    "gen_ai.tool.call.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "session.event.author",
    "error.type",
];

/// Draws spans as an indented tree: a span per line, its name, `[ERROR]` when failed and the
/// [`TREE_KEYS`] it has. Siblings are in start order, except under a span with
/// `workflow.type = "parallel"`, whose children are ordered by name and agent id: parallel
/// branches start in any order. Spans whose parent is not among `spans` are drawn as roots,
/// marked `(orphan)`.
pub fn render_tree(spans: &[StoredSpan]) -> String {
    let ids: std::collections::HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut out = String::new();
    let mut roots: Vec<&StoredSpan> = spans
        .iter()
        .filter(|s| s.parent_id.as_deref().is_none_or(|p| !ids.contains(p)))
        .collect();
    roots.sort_by(|a, b| a.start_time.cmp(&b.start_time));
    for root in roots {
        draw(spans, root, 0, &mut out);
    }
    out
}

fn draw(spans: &[StoredSpan], span: &StoredSpan, depth: usize, out: &mut String) {
    out.push_str(&"  ".repeat(depth));
    out.push_str(&span.name);
    if depth == 0 && span.parent_id.is_some() {
        out.push_str(" (orphan)");
    }
    if span.status == "ERROR" {
        out.push_str(" [ERROR]");
    }
    for key in TREE_KEYS {
        if let Some(value) = span.attr_text(key) {
            out.push_str(&format!(" {key}={value}"));
        }
    }
    out.push('\n');
    let mut children: Vec<&StoredSpan> = spans
        .iter()
        .filter(|s| s.parent_id.as_deref() == Some(span.span_id.as_str()))
        .collect();
    if span.attr_text("workflow.type").as_deref() == Some("parallel") {
        children.sort_by_key(|s| (s.name.clone(), s.attr_text("gen_ai.agent.id")));
    } else {
        children.sort_by(|a, b| a.start_time.cmp(&b.start_time));
    }
    for child in children {
        draw(spans, child, depth + 1, out);
    }
}

/// The path of an example binary (`agent_app`, `tool_server`…), built up to date first.
///
/// Cargo builds only the package under test for an integration test, so the first call runs
/// `cargo build -p zdk-trace-examples --bins` (a no-op when nothing changed) with the same
/// cargo, target directory and profile as this test.
///
/// # Panics
///
/// When the build fails.
pub fn example_bin(name: &str) -> PathBuf {
    static BIN_DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = BIN_DIR.get_or_init(|| {
        // The test binary is `<target>/<profile>/deps/<test>-<hash>`.
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
        let Some(dir) = exe.parent().and_then(Path::parent).map(Path::to_path_buf) else {
            panic!("unexpected test binary path {}", exe.display());
        };
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_owned(),
            Some(other) => other.to_owned(),
        };
        let Some(target_dir) = dir.parent() else {
            panic!("unexpected test binary path {}", exe.display());
        };
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "zdk-trace-examples", "--bins"])
            .arg("--profile")
            .arg(&profile)
            .arg("--target-dir")
            .arg(target_dir)
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo to build the examples: {e}"));
        assert!(status.success(), "building the example binaries failed");
        dir
    });
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// How an example exports: the two OTLP transports Phoenix accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// OTLP/gRPC, port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies, port 6006.
    HttpProtobuf,
}

/// A command for example `name` that exports to `phoenix` over `transport` and nothing else
/// of the caller's tracing configuration: every inherited `OTEL_*` and `ZDK_TRACE_*` variable
/// is removed, so a developer's shell cannot change what the test sees.
pub fn example_command(name: &str, phoenix: &Phoenix, transport: Transport) -> Command {
    let mut command = Command::new(example_bin(name));
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("OTEL_") || key_text.starts_with("ZDK_TRACE") {
            command.env_remove(&key);
        }
    }
    let (endpoint, protocol) = match transport {
        Transport::Grpc => (phoenix.grpc_endpoint(), "grpc"),
        Transport::HttpProtobuf => (phoenix.http_endpoint(), "http/protobuf"),
    };
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol);
    command
}

/// What a finished process printed.
#[derive(Debug)]
pub struct Finished {
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Runs `command` to the end and returns what it printed.
///
/// Output goes to files rather than pipes, so a chatty process cannot block on a full pipe
/// while the test waits for it to exit.
///
/// # Panics
///
/// When it cannot start, runs longer than two minutes, or exits with failure (its stderr
/// is in the message).
pub fn run_to_end(command: &mut Command) -> Finished {
    let description = format!("{command:?}");
    let (stdout, stdout_path) = output_file("stdout");
    let (stderr, stderr_path) = output_file("stderr");
    let child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {description}: {e}"));
    let mut child = KillOnDrop(Some(child));
    let status = child.wait_bounded(&description);
    let read = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        text
    };
    let finished = Finished {
        stdout: read(&stdout_path),
        stderr: read(&stderr_path),
    };
    assert!(
        status.success(),
        "{description} failed ({status}):\n{}",
        finished.stderr
    );
    finished
}

/// A fresh file in the temporary directory for a child's output stream.
fn output_file(stream: &str) -> (std::fs::File, PathBuf) {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("zdk-e2e-{}-{n}.{stream}", std::process::id()));
    let file = std::fs::File::create(&path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    (file, path)
}

/// A child process that is killed if the test panics before it exits on its own.
#[derive(Debug)]
struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    /// Waits for the child to exit, at most two minutes, and forgets it.
    fn wait_bounded(&mut self, description: &str) -> ExitStatus {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        let Some(child) = self.0.as_mut() else {
            panic!("{description}: already waited for");
        };
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.0 = None;
                    return status;
                }
                // No timing is asserted here: polling is how std waits with a deadline.
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => panic!(
                    "{description} still runs after {}s",
                    PROCESS_TIMEOUT.as_secs()
                ),
                Err(e) => panic!("waiting for {description}: {e}"),
            }
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A server process started by a test (the `tool_server` example), with the address it
/// printed as its first stdout line. Killed on drop if it has not exited.
#[derive(Debug)]
pub struct ServerProcess {
    child: KillOnDrop,
    command: String,
    stderr_path: PathBuf,
    /// The base URL the server listens on, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    _stdout: BufReader<ChildStdout>,
}

impl ServerProcess {
    /// Starts `command` and reads its first stdout line, `listening on URL`.
    ///
    /// # Panics
    ///
    /// When it cannot start or exits before printing its address.
    pub fn start(command: &mut Command) -> ServerProcess {
        let description = format!("{command:?}");
        let (stderr, stderr_path) = output_file("stderr");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {description}: {e}"));
        let Some(stdout) = child.stdout.take() else {
            panic!("{description}: no stdout pipe");
        };
        let child = KillOnDrop(Some(child));
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        // Blocks until the line arrives, or returns 0 bytes if the server died first.
        if let Err(e) = stdout.read_line(&mut line) {
            panic!("{description}: reading its address: {e}");
        }
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            panic!("{description} did not print `listening on URL` first, but {line:?}");
        };
        ServerProcess {
            child,
            url: url.to_owned(),
            command: description,
            stderr_path,
            _stdout: stdout,
        }
    }

    /// Waits until the server exits on its own (after its `--requests`) and asserts success;
    /// its spans are exported by then. Returns its stderr.
    ///
    /// # Panics
    ///
    /// When it fails or runs longer than two minutes.
    pub fn wait_for_exit(mut self) -> String {
        let status = self.child.wait_bounded(&self.command);
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let _ = std::fs::remove_file(&self.stderr_path);
        assert!(
            status.success(),
            "{} failed ({status}):\n{stderr}",
            self.command
        );
        stderr
    }
}
