//! `zdk-trace view FILE`: JSON-lines trace files (one OTLP/JSON request per line, as the
//! runtime's `JsonLinesExporter` writes them) rendered as waterfalls.
//!
//! The console exporter's tree code works on the SDK's `SpanData` and prints no time bars, so
//! the CLI has its own small model of a span read back from JSON.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::paint::{self, Painter, BOLD, CYAN, DIM, RED};
use crate::{shown, EXIT_FAILURE};

/// Width of the time bar, in characters.
const BAR_WIDTH: usize = 40;
/// How often `--follow` looks for new lines.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// The JSON-lines file (`Telemetry::builder().jsonl_file(..)`, or an exporter of
    /// `type = "file"`).
    file: PathBuf,
    /// Only the trace with this id (or id prefix).
    #[arg(long)]
    trace_id: Option<String>,
    /// Only traces with a span whose name contains this text.
    #[arg(long)]
    name: Option<String>,
    /// Only traces lasting at least this long (`500us`, `5ms`, `1.5s`, `2m`).
    #[arg(long, value_parser = parse_duration)]
    min_duration: Option<Duration>,
    /// Only traces with an error.
    #[arg(long)]
    errors: bool,
    /// Keep reading as the file grows, printing each trace when its root span arrives (stop
    /// with Ctrl-C).
    #[arg(long, short)]
    follow: bool,
}

/// One span read back from a line.
#[derive(Debug, Clone)]
struct Span {
    trace_id: String,
    span_id: String,
    parent_id: String,
    name: String,
    service: Option<String>,
    start: u128,
    end: u128,
    error: Option<String>,
    events: Vec<String>,
}

impl Span {
    fn duration(&self) -> u128 {
        self.end.saturating_sub(self.start)
    }
}

pub(crate) fn run(args: &ViewArgs) -> u8 {
    let file = match File::open(&args.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "error: cannot open trace file `{}`: {e}; pass the path of a JSON-lines file \
                 written by the file exporter",
                shown(&args.file)
            );
            return EXIT_FAILURE;
        }
    };
    let p = Painter {
        on: paint::stdout_colors(),
    };
    let mut reader = LineReader {
        file: BufReader::new(file),
        partial: String::new(),
        line_no: 0,
    };
    let spans = match reader.read_complete_lines(args) {
        Ok(spans) => spans,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", shown(&args.file));
            return EXIT_FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let shown_traces = render_all(&mut out, p, args, spans);
    if !args.follow {
        if shown_traces == 0 {
            eprintln!("no trace matches in `{}`", shown(&args.file));
        }
        return 0;
    }
    follow(&mut out, p, args, reader)
}

/// Reads whole lines only, so a line being written is picked up when it is complete.
struct LineReader {
    file: BufReader<File>,
    partial: String,
    line_no: usize,
}

impl LineReader {
    fn read_complete_lines(&mut self, args: &ViewArgs) -> std::io::Result<Vec<Span>> {
        let mut spans = Vec::new();
        loop {
            let mut chunk = String::new();
            let n = self.file.read_line(&mut chunk)?;
            if n == 0 {
                return Ok(spans);
            }
            self.partial.push_str(&chunk);
            if !self.partial.ends_with('\n') {
                // The writer is still writing this line; keep it for the next read.
                return Ok(spans);
            }
            let line = std::mem::take(&mut self.partial);
            self.line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            match parse_line(&line) {
                Ok(found) => spans.extend(found),
                // A crashed writer can leave a broken line; the rest of the file is still
                // worth showing, so warn and go on.
                Err(why) => eprintln!(
                    "warning: {}:{}: not a span line ({why}); skipped",
                    shown(&args.file),
                    self.line_no
                ),
            }
        }
    }
}

fn follow(out: &mut impl Write, p: Painter, args: &ViewArgs, mut reader: LineReader) -> u8 {
    let mut pending: HashMap<String, Vec<Span>> = HashMap::new();
    loop {
        std::thread::sleep(POLL_INTERVAL);
        // A truncated (rotated) file starts over.
        if let (Ok(pos), Ok(meta)) = (
            reader.file.stream_position(),
            reader.file.get_ref().metadata(),
        ) {
            if meta.len() < pos {
                let _ = reader.file.seek(SeekFrom::Start(0));
                reader.partial.clear();
                reader.line_no = 0;
            }
        }
        let spans = match reader.read_complete_lines(args) {
            Ok(spans) => spans,
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", shown(&args.file));
                return EXIT_FAILURE;
            }
        };
        for span in spans {
            let is_root = span.parent_id.is_empty();
            let trace_id = span.trace_id.clone();
            pending.entry(trace_id.clone()).or_default().push(span);
            // Children end (and are written) before their root: the root completes the trace.
            if is_root {
                if let Some(trace) = pending.remove(&trace_id) {
                    render_all(out, p, args, trace);
                }
            }
        }
        let _ = out.flush();
    }
}

/// The spans of one line: `resourceSpans[].scopeSpans[].spans[]`.
fn parse_line(line: &str) -> Result<Vec<Span>, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let resource_spans = value
        .get("resourceSpans")
        .and_then(Value::as_array)
        .ok_or("no `resourceSpans` array")?;
    let mut spans = Vec::new();
    for rs in resource_spans {
        let service = rs
            .pointer("/resource/attributes")
            .and_then(Value::as_array)
            .and_then(|attrs| {
                attrs
                    .iter()
                    .find(|a| a.get("key").and_then(Value::as_str) == Some("service.name"))
            })
            .and_then(|a| a.pointer("/value/stringValue"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let scopes = rs.get("scopeSpans").and_then(Value::as_array);
        for span in scopes.into_iter().flatten().flat_map(|ss| {
            ss.get("spans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        }) {
            spans.push(parse_span(span, service.clone())?);
        }
    }
    Ok(spans)
}

fn parse_span(span: &Value, service: Option<String>) -> Result<Span, String> {
    let text = |key: &str| span.get(key).and_then(Value::as_str).unwrap_or_default();
    let time = |key: &str| -> Result<u128, String> {
        match span.get(key) {
            Some(Value::String(s)) => s.parse().map_err(|_| format!("`{key}` is not a number")),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(u128::from)
                .ok_or_else(|| format!("`{key}` is not a number")),
            _ => Err(format!("no `{key}`")),
        }
    };
    if text("traceId").is_empty() || text("spanId").is_empty() {
        return Err("a span without `traceId` or `spanId`".to_owned());
    }
    // Status code 2 is STATUS_CODE_ERROR (enums are integers in the runtime's files).
    let status_code = span.pointer("/status/code");
    let is_error = status_code.and_then(Value::as_i64) == Some(2)
        || status_code.and_then(Value::as_str) == Some("STATUS_CODE_ERROR");
    let error = is_error.then(|| {
        span.pointer("/status/message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    });
    let events = span
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    Ok(Span {
        trace_id: text("traceId").to_owned(),
        span_id: text("spanId").to_owned(),
        parent_id: text("parentSpanId").to_owned(),
        name: text("name").to_owned(),
        service,
        start: time("startTimeUnixNano")?,
        end: time("endTimeUnixNano")?,
        error,
        events,
    })
}

/// Groups `spans` by trace (in order of first appearance), applies the filters and renders
/// what is left. Returns how many traces were printed.
fn render_all(out: &mut impl Write, p: Painter, args: &ViewArgs, spans: Vec<Span>) -> usize {
    let mut order: Vec<String> = Vec::new();
    let mut traces: HashMap<String, Vec<Span>> = HashMap::new();
    for span in spans {
        if !traces.contains_key(&span.trace_id) {
            order.push(span.trace_id.clone());
        }
        traces.entry(span.trace_id.clone()).or_default().push(span);
    }
    let mut printed = 0;
    for id in order {
        let Some(trace) = traces.remove(&id) else {
            continue;
        };
        if matches(args, &trace) {
            let _ = out.write_all(render_trace(p, &trace).as_bytes());
            printed += 1;
        }
    }
    let _ = out.flush();
    printed
}

fn bounds(trace: &[Span]) -> (u128, u128) {
    let start = trace.iter().map(|s| s.start).min().unwrap_or(0);
    let end = trace.iter().map(|s| s.end).max().unwrap_or(start);
    (start, end)
}

fn matches(args: &ViewArgs, trace: &[Span]) -> bool {
    let Some(first) = trace.first() else {
        return false;
    };
    if let Some(id) = &args.trace_id {
        if !first.trace_id.starts_with(&id.to_ascii_lowercase()) {
            return false;
        }
    }
    if let Some(name) = &args.name {
        if !trace.iter().any(|s| s.name.contains(name.as_str())) {
            return false;
        }
    }
    if let Some(min) = args.min_duration {
        let (start, end) = bounds(trace);
        if end.saturating_sub(start) < min.as_nanos() {
            return false;
        }
    }
    !args.errors || trace.iter().any(|s| s.error.is_some())
}

/// One trace: a header, then one line per span in tree order with its time bar.
fn render_trace(p: Painter, trace: &[Span]) -> String {
    let (start, end) = bounds(trace);
    let total = end.saturating_sub(start).max(1);
    let errors = trace.iter().filter(|s| s.error.is_some()).count();
    let service = trace
        .iter()
        .find_map(|s| s.service.as_deref())
        .unwrap_or("unknown service");

    // Roots: no parent, or a parent that is not in the file (a remote or lost parent).
    let ids: std::collections::HashSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<&Span>> = HashMap::new();
    let mut roots = Vec::new();
    for span in trace {
        if span.parent_id.is_empty() || !ids.contains(span.parent_id.as_str()) {
            roots.push(span);
        } else {
            children
                .entry(span.parent_id.as_str())
                .or_default()
                .push(span);
        }
    }
    roots.sort_by_key(|s| s.start);
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start);
    }
    let mut rows: Vec<(String, &Span)> = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        walk(
            &children,
            root,
            String::new(),
            i + 1 == roots.len(),
            true,
            &mut rows,
        );
    }
    let label_width = rows
        .iter()
        .map(|(prefix, s)| prefix.chars().count() + s.name.chars().count())
        .max()
        .unwrap_or(0);

    let mut out = String::new();
    let mut header = format!(
        "trace {}  {}  {}  {} span{}",
        trace.first().map_or("", |s| s.trace_id.as_str()),
        service,
        format_duration(total),
        trace.len(),
        if trace.len() == 1 { "" } else { "s" }
    );
    if errors > 0 {
        header.push_str(&format!(
            "  {errors} error{}",
            if errors == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&p.paint(BOLD, &header));
    out.push('\n');
    for (prefix, span) in rows {
        let pad = label_width - prefix.chars().count() - span.name.chars().count();
        let offset = span.start.saturating_sub(start);
        let from = (offset * BAR_WIDTH as u128 / total) as usize;
        let len = ((span.duration() * BAR_WIDTH as u128).div_ceil(total) as usize).max(1);
        let from = from.min(BAR_WIDTH - 1);
        let len = len.min(BAR_WIDTH - from);
        let bar = format!(
            "{}{}{}",
            " ".repeat(from),
            "█".repeat(len),
            " ".repeat(BAR_WIDTH - from - len)
        );
        let (name, bar) = match &span.error {
            Some(_) => (p.paint(RED, &span.name), p.paint(RED, &bar)),
            None => (span.name.clone(), p.paint(CYAN, &bar)),
        };
        out.push_str(&format!(
            "{}{name}{}  |{bar}| {:>9}",
            p.paint(DIM, &prefix),
            " ".repeat(pad),
            format_duration(span.duration())
        ));
        if let Some(message) = &span.error {
            let text = if message.is_empty() {
                "✗ error".to_owned()
            } else {
                format!("✗ error: {message}")
            };
            out.push_str(&format!("  {}", p.paint(RED, &text)));
        }
        if !span.events.is_empty() {
            out.push_str(&p.paint(DIM, &format!("  events: {}", span.events.join(", "))));
        }
        out.push('\n');
    }
    out.push('\n');
    out
}

fn walk<'a>(
    children: &HashMap<&str, Vec<&'a Span>>,
    span: &'a Span,
    prefix: String,
    last: bool,
    root: bool,
    rows: &mut Vec<(String, &'a Span)>,
) {
    let (line, next) = if root {
        (String::new(), String::new())
    } else if last {
        (format!("{prefix}└─ "), format!("{prefix}   "))
    } else {
        (format!("{prefix}├─ "), format!("{prefix}│  "))
    };
    rows.push((line, span));
    if let Some(kids) = children.get(span.span_id.as_str()) {
        for (i, kid) in kids.iter().enumerate() {
            walk(
                children,
                kid,
                next.clone(),
                i + 1 == kids.len(),
                false,
                rows,
            );
        }
    }
}

fn format_duration(nanos: u128) -> String {
    let n = nanos as f64;
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{:.1}µs", n / 1e3)
    } else if nanos < 1_000_000_000 {
        format!("{:.1}ms", n / 1e6)
    } else {
        format!("{:.2}s", n / 1e9)
    }
}

/// `500us`, `5ms`, `1.5s`, `2m`: a number and a unit.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration; write a number and a unit, e.g. `5ms`")
    })?;
    let seconds = match unit.trim() {
        "ns" => value / 1e9,
        "us" | "µs" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        "" => {
            return Err(format!(
                "`{text}` has no unit; add one: `{text}ms` or `{text}s`"
            ))
        }
        other => {
            return Err(format!(
                "unknown unit `{other}`; use `ns`, `us`, `ms`, `s` or `m`"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5ms").unwrap(), Duration::from_millis(5));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("5h").unwrap_err().contains("unknown unit"));
    }
}
