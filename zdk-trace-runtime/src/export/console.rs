//! Human-readable trace trees on the terminal.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::{Array, Key, KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

/// Spans held while waiting for their trace's local root; past this, the oldest traces are
/// printed as incomplete so memory stays bounded.
const MAX_PENDING_SPANS: usize = 10_000;
/// How many printed trace ids are remembered, so spans that finish after their root (detached
/// tasks) are printed at once as late spans instead of waiting for a root that already left.
const MAX_COMPLETED_TRACES: usize = 1024;
/// Longer string attribute values are cut to this many characters, followed by `…`.
const MAX_VALUE_CHARS: usize = 60;

/// Prints each finished trace as an indented tree, for development.
///
/// Spans are buffered per trace id. When a trace's local root arrives (a span with no parent,
/// or whose parent is remote), the whole trace is printed: a header line with the trace id and
/// `service.name`, then one line per span with its name, duration, status (errors in red, with
/// their description), events and `key=value` attributes; children are sorted by start time.
/// Spans whose parent was never exported are shown under the root. [`force_flush`] and
/// [`shutdown`] also print traces whose root has not arrived, marked `(incomplete)`.
///
/// Colours are used when writing to a terminal and `NO_COLOR` is unset or empty.
///
/// [`force_flush`]: SpanExporter::force_flush
/// [`shutdown`]: SpanExporter::shutdown
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::ConsoleExporter;
///
/// // Trees on stdout, coloured when stdout is a terminal.
/// let exporter = ConsoleExporter::new();
/// # drop(exporter);
/// ```
pub struct ConsoleExporter {
    state: Mutex<State>,
    colors: bool,
    service_name: Option<String>,
}

struct State {
    out: Box<dyn Write + Send>,
    pending: HashMap<TraceId, Vec<SpanData>>,
    pending_spans: usize,
    /// Arrival order of pending traces (oldest first); may hold ids already printed.
    arrival: VecDeque<TraceId>,
    completed: HashSet<TraceId>,
    completed_order: VecDeque<TraceId>,
    shut_down: bool,
}

/// What the header line says about the trace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TraceKind {
    /// The local root arrived.
    Complete,
    /// Flushed before its local root arrived.
    Incomplete,
    /// Spans that finished after their trace was printed.
    Late,
}

impl ConsoleExporter {
    /// Creates an exporter writing to stdout, with colours when stdout is a terminal and
    /// `NO_COLOR` is unset or empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let exporter = zdk_trace_runtime::ConsoleExporter::new();
    /// # drop(exporter);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let colors = !no_color && std::io::stdout().is_terminal();
        Self::with_writer(std::io::stdout(), colors)
    }

    /// Creates an exporter writing to `writer`, with ANSI colours when `colors` is true.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::ConsoleExporter;
    ///
    /// let exporter = ConsoleExporter::with_writer(std::io::stderr(), false);
    /// # drop(exporter);
    /// ```
    #[must_use]
    pub fn with_writer(writer: impl Write + Send + 'static, colors: bool) -> Self {
        ConsoleExporter {
            state: Mutex::new(State {
                out: Box::new(writer),
                pending: HashMap::new(),
                pending_spans: 0,
                arrival: VecDeque::new(),
                completed: HashSet::new(),
                completed_order: VecDeque::new(),
                shut_down: false,
            }),
            colors,
            service_name: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while printing leaves nothing half-updated that matters: keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn export_batch(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut state = self.lock();
        if state.shut_down {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut text = String::new();
        let mut late: HashMap<TraceId, Vec<SpanData>> = HashMap::new();
        let mut roots = Vec::new();
        for span in batch {
            let trace_id = span.span_context.trace_id();
            if is_local_root(&span) {
                roots.push(span);
            } else if state.completed.contains(&trace_id) {
                late.entry(trace_id).or_default().push(span);
            } else {
                state.buffer(span);
            }
        }
        // Roots go last so that children from the same batch are in the buffer before their
        // root prints the tree, whatever the order inside the batch.
        for root in roots {
            let trace_id = root.span_context.trace_id();
            let mut spans = state.take(trace_id);
            spans.push(root);
            self.render_trace(&mut text, trace_id, &spans, TraceKind::Complete);
            state.mark_completed(trace_id);
        }
        for (trace_id, spans) in late {
            self.render_trace(&mut text, trace_id, &spans, TraceKind::Late);
        }
        while state.pending_spans > MAX_PENDING_SPANS {
            let Some(trace_id) = state.arrival.pop_front() else {
                break;
            };
            let spans = state.take(trace_id);
            if !spans.is_empty() {
                self.render_trace(&mut text, trace_id, &spans, TraceKind::Incomplete);
            }
        }
        state.write(&text)
    }

    /// Prints every buffered trace as incomplete.
    fn flush_pending(&self, state: &mut State) -> OTelSdkResult {
        let mut text = String::new();
        while let Some(trace_id) = state.arrival.pop_front() {
            let spans = state.take(trace_id);
            if !spans.is_empty() {
                self.render_trace(&mut text, trace_id, &spans, TraceKind::Incomplete);
            }
        }
        state.write(&text)
    }

    fn render_trace(
        &self,
        out: &mut String,
        trace_id: TraceId,
        spans: &[SpanData],
        kind: TraceKind,
    ) {
        let p = Painter {
            colors: self.colors,
        };
        p.paint(out, BOLD, &format!("trace {trace_id}"));
        if let Some(service) = &self.service_name {
            p.paint(out, DIM, " · ");
            p.paint(out, BOLD, service);
        }
        match kind {
            TraceKind::Complete => {}
            TraceKind::Incomplete => p.paint(out, YELLOW, " (incomplete)"),
            TraceKind::Late => p.paint(out, YELLOW, " (late spans)"),
        }
        out.push('\n');
        for (line_prefix, child_prefix, span) in tree_order(spans) {
            render_span(out, &p, &line_prefix, &child_prefix, span);
        }
        out.push('\n');
    }
}

impl Default for ConsoleExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleExporter")
            .field("colors", &self.colors)
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

impl SpanExporter for ConsoleExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // Printing is synchronous; the future is ready at once.
        std::future::ready(self.export_batch(batch))
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut state = self.lock();
        self.flush_pending(&mut state)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut state = self.lock();
        if state.shut_down {
            return Ok(());
        }
        state.shut_down = true;
        let flushed = self.flush_pending(&mut state);
        // Under the trees: what the built-in metrics saw, sampled in or out.
        if crate::tally::built_in() {
            if let Some(summary) = super::metrics_summary::summary(&crate::tally::collect()) {
                if state.write(&format!("\n{summary}")).is_ok() {
                    super::metrics_summary::PRINTED
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        flushed
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service_name = resource
            .get(&Key::from_static_str("service.name"))
            .map(|v| v.as_str().into_owned());
    }
}

impl State {
    fn buffer(&mut self, span: SpanData) {
        let trace_id = span.span_context.trace_id();
        let spans = self.pending.entry(trace_id).or_insert_with(|| {
            self.arrival.push_back(trace_id);
            Vec::new()
        });
        spans.push(span);
        self.pending_spans += 1;
    }

    fn take(&mut self, trace_id: TraceId) -> Vec<SpanData> {
        let spans = self.pending.remove(&trace_id).unwrap_or_default();
        self.pending_spans -= spans.len();
        spans
    }

    fn mark_completed(&mut self, trace_id: TraceId) {
        if self.completed.insert(trace_id) {
            self.completed_order.push_back(trace_id);
            if self.completed_order.len() > MAX_COMPLETED_TRACES {
                if let Some(old) = self.completed_order.pop_front() {
                    self.completed.remove(&old);
                }
            }
        }
    }

    fn write(&mut self, text: &str) -> OTelSdkResult {
        if text.is_empty() {
            return Ok(());
        }
        // Never `print!`: it panics when stdout is closed (`| head`).
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| OTelSdkError::InternalFailure(format!("console exporter: {e}")))
    }
}

fn is_local_root(span: &SpanData) -> bool {
    span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote
}

/// Orders `spans` depth-first for printing, with the tree-drawing prefix of each line and of
/// its continuation lines (events).
///
/// Tree roots are the local roots plus every span whose parent is not among `spans`. When a
/// local root is present, the other tree roots become its children, so a trace prints as one
/// tree. Siblings are sorted by start time. Every span is printed exactly once, even with
/// duplicate ids or parent cycles.
fn tree_order(spans: &[SpanData]) -> Vec<(String, String, &SpanData)> {
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
    let mut tops = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        let is_top = is_local_root(span)
            || !ids.contains(&span.parent_span_id)
            || span.parent_span_id == span.span_context.span_id();
        if is_top {
            tops.push(i);
        } else {
            children.entry(span.parent_span_id).or_default().push(i);
        }
    }
    let by_start = |a: &usize, b: &usize| spans[*a].start_time.cmp(&spans[*b].start_time);
    for list in children.values_mut() {
        list.sort_by(by_start);
    }
    tops.sort_by(by_start);

    // With a local root, the orphans hang under it.
    if let Some(pos) = tops.iter().position(|&i| is_local_root(&spans[i])) {
        let root = tops.remove(pos);
        let root_id = spans[root].span_context.span_id();
        let list = children.entry(root_id).or_default();
        list.append(&mut tops);
        list.sort_by(by_start);
        tops = vec![root];
    }

    let mut out = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    let mut expanded: HashSet<SpanId> = HashSet::new();
    // (index, prefix for this line, prefix for lines below it)
    let mut stack: Vec<(usize, String, String)> = tops
        .iter()
        .rev()
        .map(|&i| (i, String::new(), String::new()))
        .collect();
    loop {
        let Some((i, line_prefix, child_prefix)) = stack.pop() else {
            // Spans only reachable through a cycle: print them at top level.
            match visited.iter().position(|v| !v) {
                Some(i) => stack.push((i, String::new(), String::new())),
                None => break,
            }
            continue;
        };
        if visited[i] {
            continue;
        }
        visited[i] = true;
        let span = &spans[i];
        let id = span.span_context.span_id();
        // A duplicated span id expands its children once.
        let kids = if expanded.insert(id) {
            children.get(&id).map(Vec::as_slice).unwrap_or_default()
        } else {
            &[]
        };
        let kids: Vec<usize> = kids.iter().copied().filter(|&k| !visited[k]).collect();
        let has_kids = !kids.is_empty();
        for (n, &k) in kids.iter().enumerate().rev() {
            let last = n + 1 == kids.len();
            let (branch, cont) = if last {
                ("└─ ", "   ")
            } else {
                ("├─ ", "│  ")
            };
            stack.push((
                k,
                format!("{child_prefix}{branch}"),
                format!("{child_prefix}{cont}"),
            ));
        }
        let event_prefix = if has_kids {
            format!("{child_prefix}│  ")
        } else {
            format!("{child_prefix}   ")
        };
        out.push((line_prefix, event_prefix, span));
    }
    out
}

fn render_span(out: &mut String, p: &Painter, line_prefix: &str, event_prefix: &str, s: &SpanData) {
    p.paint(out, DIM, line_prefix);
    p.paint(out, BOLD, &s.name);
    out.push_str("  ");
    let duration = s.end_time.duration_since(s.start_time).unwrap_or_default();
    p.paint(out, CYAN, &format_duration(duration));
    match &s.status {
        Status::Error { description } => {
            out.push_str("  ");
            if description.is_empty() {
                p.paint(out, RED, "ERROR");
            } else {
                p.paint(out, RED, &format!("ERROR: {}", one_line(description)));
            }
        }
        Status::Ok => {
            out.push_str("  ");
            p.paint(out, GREEN, "OK");
        }
        Status::Unset => {}
    }
    render_attributes(out, p, &s.attributes);
    out.push('\n');
    for event in s.events.iter() {
        p.paint(out, DIM, event_prefix);
        p.paint(out, DIM, "• ");
        out.push_str(&event.name);
        if let Ok(offset) = event.timestamp.duration_since(s.start_time) {
            out.push(' ');
            p.paint(out, DIM, &format!("+{}", format_duration(offset)));
        }
        render_attributes(out, p, &event.attributes);
        out.push('\n');
    }
}

fn render_attributes(out: &mut String, p: &Painter, attributes: &[KeyValue]) {
    for kv in attributes {
        out.push_str("  ");
        p.paint(out, DIM, &format!("{}=", kv.key.as_str()));
        out.push_str(&format_value(&kv.value));
    }
}

/// Human duration with about three significant digits: `350µs`, `1.2ms`, `2.01s`.
fn format_duration(d: Duration) -> String {
    const UNITS: [(f64, &str); 3] = [(1e3, "µs"), (1e6, "ms"), (1e9, "s")];
    let nanos = d.as_nanos();
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    // Precision loss past 2^53 ns (104 days) is invisible at three digits.
    let nanos = nanos as f64;
    let mut unit = 0;
    while unit + 1 < UNITS.len() && nanos >= UNITS[unit + 1].0 {
        unit += 1;
    }
    let mut text = three_digits(nanos / UNITS[unit].0);
    // 999.7µs rounds to "1000": say 1ms instead.
    if text == "1000" && unit + 1 < UNITS.len() {
        unit += 1;
        text = three_digits(nanos / UNITS[unit].0);
    }
    format!("{text}{}", UNITS[unit].1)
}

fn three_digits(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn format_value(value: &Value) -> String {
    match value {
        Value::String(s) => format_str(s.as_str()),
        Value::Array(Array::String(items)) => {
            let items: Vec<String> = items.iter().map(|s| format_str(s.as_str())).collect();
            format!("[{}]", items.join(", "))
        }
        other => truncate(&other.to_string()).into_owned(),
    }
}

/// Bare when it cannot be confused with the surrounding layout, quoted (and escaped) otherwise.
fn format_str(s: &str) -> String {
    let s = truncate(s);
    let bare = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || "-_./:@+#…".contains(c));
    if bare {
        s.into_owned()
    } else {
        format!("{s:?}")
    }
}

fn truncate(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
        None => Cow::Borrowed(s),
    }
}

/// Keeps a description on its line.
fn one_line(s: &str) -> Cow<'_, str> {
    if s.contains(['\n', '\r']) {
        Cow::Owned(s.replace("\r\n", " ").replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(s)
    }
}

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[1;31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

struct Painter {
    colors: bool,
}

impl Painter {
    fn paint(&self, out: &mut String, style: &str, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.colors {
            let _ = write!(out, "{style}{text}{RESET}");
        } else {
            out.push_str(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opentelemetry::trace::Event;
    use opentelemetry::InstrumentationScope;

    use super::*;
    use crate::export::fixtures;

    /// A `Write` whose contents the test can read back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn take(&self) -> String {
            let mut bytes = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            String::from_utf8(std::mem::take(&mut *bytes)).unwrap_or_default()
        }
    }

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn span(trace: u128, id: u64, parent: u64, name: &'static str, start_us: u64) -> SpanData {
        let mut span = fixtures::span_data(
            trace,
            id,
            parent,
            name,
            Duration::from_micros(start_us),
            Duration::from_micros(350),
        );
        span.instrumentation_scope = InstrumentationScope::builder("test").build();
        span
    }

    fn exporter(colors: bool) -> (ConsoleExporter, Buffer) {
        let buffer = Buffer::default();
        let mut exporter = ConsoleExporter::with_writer(buffer.clone(), colors);
        exporter.set_resource(&Resource::builder_empty().with_service_name("shop").build());
        (exporter, buffer)
    }

    fn export(exporter: &ConsoleExporter, batch: Vec<SpanData>) -> OTelSdkResult {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(rt) => rt.block_on(exporter.export(batch)),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn prints_tree_when_root_arrives() {
        let (exp, out) = exporter(false);
        let mut llm = span(1, 2, 1, "llm.call", 100);
        llm.end_time = llm.start_time + Duration::from_micros(1_200);
        llm.attributes = vec![
            KeyValue::new("gen_ai.request.model", "gpt-4o"),
            KeyValue::new("tokens", 42_i64),
        ];
        let http = span(1, 3, 2, "http.request", 150);
        let tool = span(1, 4, 1, "tool.search", 50);
        assert!(export(&exp, vec![http, llm]).is_ok());
        assert_eq!(out.take(), "", "nothing before the root");
        assert!(export(&exp, vec![tool]).is_ok());
        assert_eq!(out.take(), "");

        let mut root = span(1, 1, 0, "agent.run", 0);
        root.end_time = root.start_time + Duration::from_millis(2_010);
        assert!(export(&exp, vec![root]).is_ok());
        let expected = "\
trace 00000000000000000000000000000001 · shop
agent.run  2.01s
├─ tool.search  350µs
└─ llm.call  1.2ms  gen_ai.request.model=gpt-4o  tokens=42
   └─ http.request  350µs

";
        assert_eq!(out.take(), expected);
    }

    #[test]
    fn root_in_same_batch_before_children_still_prints_whole_tree() {
        let (exp, out) = exporter(false);
        let batch = vec![span(7, 1, 0, "root", 0), span(7, 2, 1, "child", 10)];
        assert!(export(&exp, batch).is_ok());
        let text = out.take();
        assert!(text.contains("root  350µs\n└─ child  350µs\n"), "{text}");
    }

    #[test]
    fn error_status_is_shown_with_description() {
        let (exp, out) = exporter(false);
        let mut root = span(1, 1, 0, "agent.run", 0);
        root.status = Status::error("rate limited\nretry later");
        assert!(export(&exp, vec![root]).is_ok());
        let text = out.take();
        assert!(
            text.contains("agent.run  350µs  ERROR: rate limited retry later\n"),
            "{text}"
        );
    }

    #[test]
    fn colors_only_when_asked() {
        let mut root = span(1, 1, 0, "agent.run", 0);
        root.status = Status::error("boom");
        let (plain, plain_out) = exporter(false);
        assert!(export(&plain, vec![root.clone()]).is_ok());
        assert!(!plain_out.take().contains('\x1b'));

        let (colored, colored_out) = exporter(true);
        assert!(export(&colored, vec![root]).is_ok());
        let text = colored_out.take();
        assert!(text.contains("\x1b[1;31mERROR: boom\x1b[0m"), "{text:?}");
    }

    #[test]
    fn remote_parent_makes_a_local_root() {
        let (exp, out) = exporter(false);
        let mut server = span(3, 5, 99, "handle", 0);
        server.parent_span_is_remote = true;
        let child = span(3, 6, 5, "db", 10);
        assert!(export(&exp, vec![child]).is_ok());
        assert!(export(&exp, vec![server]).is_ok());
        assert!(out.take().contains("handle  350µs\n└─ db  350µs\n"));
    }

    #[test]
    fn orphans_hang_under_the_root() {
        let (exp, out) = exporter(false);
        // 8's parent (9) was dropped: it still shows, under the root.
        let batch = vec![
            span(1, 8, 9, "orphan", 20),
            span(1, 2, 1, "child", 10),
            span(1, 1, 0, "root", 0),
        ];
        assert!(export(&exp, batch).is_ok());
        let text = out.take();
        assert!(
            text.contains("root  350µs\n├─ child  350µs\n└─ orphan  350µs\n"),
            "{text}"
        );
    }

    #[test]
    fn flush_and_shutdown_print_leftovers() {
        let (exp, out) = exporter(false);
        assert!(export(&exp, vec![span(2, 2, 1, "waiting", 0)]).is_ok());
        assert!(exp.force_flush().is_ok());
        let text = out.take();
        assert!(text.starts_with("trace 00000000000000000000000000000002 · shop (incomplete)\n"));
        assert!(text.contains("\nwaiting  350µs\n"), "{text}");

        assert!(export(&exp, vec![span(3, 2, 1, "left", 0)]).is_ok());
        assert!(exp.shutdown().is_ok());
        assert!(out.take().contains("left  350µs"));
        assert!(exp.shutdown().is_ok(), "shutdown is idempotent");
        assert!(matches!(
            export(&exp, vec![span(4, 1, 0, "after", 0)]),
            Err(OTelSdkError::AlreadyShutdown)
        ));
    }

    #[test]
    fn late_spans_print_at_once() {
        let (exp, out) = exporter(false);
        assert!(export(&exp, vec![span(5, 1, 0, "root", 0)]).is_ok());
        out.take();
        assert!(export(&exp, vec![span(5, 2, 1, "detached", 10)]).is_ok());
        let text = out.take();
        assert!(text.contains("(late spans)\ndetached  350µs\n"), "{text}");
    }

    #[test]
    fn pending_spans_are_bounded() {
        let (exp, out) = exporter(false);
        let batch: Vec<SpanData> = (0..=MAX_PENDING_SPANS as u128)
            .map(|t| span(t + 100, 2, 1, "x", 0))
            .collect();
        assert!(export(&exp, batch).is_ok());
        assert!(out.take().contains("(incomplete)"));
        assert!(exp.lock().pending_spans <= MAX_PENDING_SPANS);
    }

    #[test]
    fn events_and_attribute_formatting() {
        let (exp, out) = exporter(false);
        let mut root = span(1, 1, 0, "root", 0);
        let long = "x".repeat(100);
        root.attributes = vec![
            KeyValue::new("long", long),
            KeyValue::new("spaced", "hello world"),
            KeyValue::new("empty", ""),
            KeyValue::new("flag", true),
            KeyValue::new("ratio", 0.5),
            KeyValue::new(
                "tags",
                Value::Array(Array::String(vec!["a".into(), "b c".into()])),
            ),
        ];
        root.events.events.push(Event::new(
            "exception",
            root.start_time + Duration::from_micros(100),
            vec![KeyValue::new("exception.message", "oops")],
            0,
        ));
        root.events.events.push(Event::new(
            "done",
            root.start_time + Duration::from_micros(300),
            vec![],
            0,
        ));
        let child = span(1, 2, 1, "child", 10);
        assert!(export(&exp, vec![child, root]).is_ok());
        let text = out.take();
        let expected_attrs = format!(
            "  long={}…  spaced=\"hello world\"  empty=\"\"  flag=true  ratio=0.5  tags=[a, \"b c\"]\n",
            "x".repeat(60)
        );
        assert!(text.contains(&expected_attrs), "{text}");
        assert!(
            text.contains(
                "│  • exception +100µs  exception.message=oops\n│  • done +300µs\n└─ child"
            ),
            "{text}"
        );
    }

    #[test]
    fn write_errors_are_returned_not_panicked() {
        let exp = ConsoleExporter::with_writer(Broken, false);
        assert!(export(&exp, vec![span(1, 1, 0, "root", 0)]).is_err());
    }

    #[test]
    fn cycles_and_duplicate_ids_print_every_span_once() {
        let (exp, out) = exporter(false);
        let batch = vec![
            span(1, 2, 3, "a", 0),
            span(1, 3, 2, "b", 0),
            span(1, 4, 4, "self", 0),
            span(1, 5, 1, "dup", 0),
            span(1, 5, 1, "dup", 1),
        ];
        assert!(export(&exp, batch).is_ok());
        assert!(exp.force_flush().is_ok());
        let text = out.take();
        for name in ["a  ", "b  ", "self  "] {
            assert_eq!(text.matches(name).count(), 1, "{name}: {text}");
        }
        assert_eq!(text.matches("dup  ").count(), 2, "{text}");
    }

    #[test]
    fn durations_are_human() {
        let cases = [
            (Duration::from_nanos(0), "0ns"),
            (Duration::from_nanos(999), "999ns"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_micros(350), "350µs"),
            (Duration::from_nanos(999_700), "1ms"),
            (Duration::from_micros(1_200), "1.2ms"),
            (Duration::from_micros(12_340), "12.3ms"),
            (Duration::from_millis(2_010), "2.01s"),
            (Duration::from_secs(2), "2s"),
            (Duration::from_secs(4_000), "4000s"),
        ];
        for (d, text) in cases {
            assert_eq!(format_duration(d), text);
        }
    }
}
