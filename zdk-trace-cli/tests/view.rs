//! `zdk-trace view` on files written by the runtime's JSON-lines exporter.

// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use common::{command, run, TempDir};
use zdk_trace_runtime::{Span, Telemetry};

/// A trace id no runtime trace has; its spans are edited copies of a real line.
const SLOW_TRACE: &str = "51010000000000000000000000000001";
const FOLLOWED_TRACE: &str = "f0110000000000000000000000000002";

struct Fixture {
    _dir: TempDir,
    file: PathBuf,
    ok_trace: String,
    error_trace: String,
}

/// One file for all tests (one pipeline per process): a successful trace, a trace whose tool
/// failed, and a 20 s trace made from a real line with its times changed (so the
/// `--min-duration` test does not depend on how fast this machine is).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = TempDir::new("view");
        let file = dir.path().join("traces.jsonl");
        let telemetry = Telemetry::builder()
            .service_name("view-test")
            .jsonl_file(&file)
            .env_vars([("HOME", dir.path().display().to_string())])
            .install()
            .unwrap();
        let ok_trace = {
            let root = Span::start("invoke_agent support");
            let trace = root.span_context().unwrap().trace_id().to_string();
            root.in_scope(|| {
                let _chat = Span::start("chat gpt-4o").entered();
            });
            drop(root);
            trace
        };
        let error_trace = {
            let root = Span::start("invoke_agent research");
            let trace = root.span_context().unwrap().trace_id().to_string();
            root.in_scope(|| {
                let mut tool = Span::start("execute_tool search");
                tool.record_error("timeout", "upstream timed out");
            });
            drop(root);
            trace
        };
        telemetry.shutdown().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap().to_owned();
        let slow = edited_line(&first, SLOW_TRACE, "slow batch", 20_000_000_000);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap()
            .write_all(format!("{slow}\n").as_bytes())
            .unwrap();
        Fixture {
            _dir: dir,
            file,
            ok_trace,
            error_trace,
        }
    })
}

/// `line` (one span) as a root span of `trace` named `name`, lasting `nanos`.
fn edited_line(line: &str, trace: &str, name: &str, nanos: u128) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    let span = &mut v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    span["traceId"] = trace.into();
    span["parentSpanId"] = "".into();
    span["name"] = name.into();
    let start: u128 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
    span["endTimeUnixNano"] = (start + nanos).to_string().into();
    v.to_string()
}

fn view(args: &[&str]) -> common::Run {
    let f = fixture();
    let dir = f.file.parent().unwrap();
    let mut all = vec!["view", f.file.to_str().unwrap()];
    all.extend_from_slice(args);
    run(dir, &all, &[])
}

#[test]
fn renders_trees_with_bars_plain_when_piped() {
    let f = fixture();
    let out = view(&[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = &out.stdout;
    assert!(!s.contains('\x1b'), "colours when piped:\n{s}");
    assert!(
        s.contains(&format!("trace {}  view-test", f.ok_trace)),
        "{s}"
    );
    assert!(
        s.contains(&format!("trace {}  view-test", f.error_trace)),
        "{s}"
    );
    // The child is drawn under its root, with a bar.
    let root = s
        .lines()
        .position(|l| l.starts_with("invoke_agent support"))
        .unwrap();
    let child = s.lines().nth(root + 1).unwrap();
    assert!(child.starts_with("└─ chat gpt-4o"), "{s}");
    assert!(child.contains("|") && child.contains('█'), "{child}");
    // Errors are called out on the span and counted in the header.
    let tool = s
        .lines()
        .find(|l| l.contains("execute_tool search"))
        .unwrap();
    assert!(tool.contains("✗ error: upstream timed out"), "{tool}");
    assert!(s.contains("2 spans  1 error"), "{s}");
}

#[test]
fn filters_select_whole_traces() {
    let f = fixture();
    let by_id = view(&["--trace-id", &f.error_trace[..12]]).stdout;
    assert!(
        by_id.contains(&f.error_trace) && !by_id.contains(&f.ok_trace),
        "{by_id}"
    );

    let by_name = view(&["--name", "chat"]).stdout;
    assert!(
        by_name.contains(&f.ok_trace) && !by_name.contains(&f.error_trace),
        "{by_name}"
    );
    assert!(
        by_name.contains("invoke_agent support"),
        "the whole trace: {by_name}"
    );

    let errors = view(&["--errors"]).stdout;
    assert!(errors.contains(&f.error_trace), "{errors}");
    assert!(
        !errors.contains(&f.ok_trace) && !errors.contains(SLOW_TRACE),
        "{errors}"
    );

    let slow = view(&["--min-duration", "10s"]).stdout;
    assert!(
        slow.contains(SLOW_TRACE) && slow.contains("20.00s"),
        "{slow}"
    );
    assert!(
        !slow.contains(&f.ok_trace) && !slow.contains(&f.error_trace),
        "{slow}"
    );

    let none = view(&["--name", "no-such-span"]);
    assert_eq!(none.code, Some(0));
    assert!(none.stdout.is_empty());
    assert!(none.stderr.contains("no trace matches"), "{}", none.stderr);

    let bad = view(&["--min-duration", "5"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("has no unit"), "{}", bad.stderr);
}

#[test]
fn malformed_line_is_skipped_with_its_line_number() {
    let f = fixture();
    let dir = TempDir::new("view-malformed");
    let file = dir.path().join("broken.jsonl");
    let good = std::fs::read_to_string(&f.file).unwrap();
    let first = good.lines().next().unwrap();
    std::fs::write(&file, format!("{first}\n{{\"resourceSpans\": [\n{first}\n")).unwrap();
    let out = run(dir.path(), &["view", "broken.jsonl"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: broken.jsonl:2: not a span line"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.is_empty());
}

#[test]
fn missing_file_is_an_error() {
    let dir = TempDir::new("view-missing");
    let out = run(dir.path(), &["view", "nope.jsonl"], &[]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("cannot open trace file `nope.jsonl`"),
        "{}",
        out.stderr
    );
}

#[test]
fn follow_picks_up_appended_lines() {
    let f = fixture();
    let dir = TempDir::new("view-follow");
    let file = dir.path().join("live.jsonl");
    let first = std::fs::read_to_string(&f.file).unwrap();
    let first = first.lines().next().unwrap().to_owned();
    std::fs::write(&file, "").unwrap();

    let mut child = command(dir.path(), &["view", "--follow", "live.jsonl"], &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    append(
        &file,
        &edited_line(&first, FOLLOWED_TRACE, "appended later", 1_000_000),
    );
    // A bound on waiting, not a timing assertion: the viewer polls every 200 ms.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(line) => {
                let done = line.contains("appended later");
                seen.push(line);
                if done {
                    break;
                }
            }
            Err(_) => continue,
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let seen = seen.join("\n");
    assert!(seen.contains(&format!("trace {FOLLOWED_TRACE}")), "{seen}");
    assert!(seen.contains("appended later"), "{seen}");
}

fn append(file: &Path, line: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .unwrap()
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
}
