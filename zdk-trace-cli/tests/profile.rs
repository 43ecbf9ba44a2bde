//! `zdk-trace profile` on pprof files: the report, the flamegraph beside the file, and the
//! errors for files that are not profiles.

// Tests panic on failure by design (the shared helpers in common/ unwrap).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{run, TempDir};
use pprof::protos::{Function, Label, Line, Location, Message, Sample, ValueType};
use zdk_trace_runtime::profiling::Profile;

/// A CPU profile as raw `profile.proto` bytes: `main;work;hash` 30 ms (span `chat`),
/// `main;work` 20 ms (span `chat`), `main;parse` 10 ms (span `tool`).
fn raw_profile() -> Vec<u8> {
    let strings = [
        "",
        "cpu",
        "nanoseconds",
        "main",
        "work",
        "hash",
        "parse",
        "span",
        "chat",
        "tool",
    ];
    let s = |name: &str| {
        strings
            .iter()
            .position(|x| *x == name)
            .unwrap_or_else(|| panic!("`{name}` is not in the string table")) as i64
    };
    let function = |id: u64, name: &str| Function {
        id,
        name: s(name),
        ..Function::default()
    };
    let location = |id: u64, function_id: u64| Location {
        id,
        line: vec![Line {
            function_id,
            line: 0,
        }],
        ..Location::default()
    };
    let sample = |location_id: Vec<u64>, ms: i64, span: &str| Sample {
        location_id,
        value: vec![ms * 1_000_000],
        label: vec![Label {
            key: s("span"),
            str: s(span),
            ..Label::default()
        }],
    };
    pprof::protos::Profile {
        sample_type: vec![ValueType {
            ty: s("cpu"),
            unit: s("nanoseconds"),
        }],
        sample: vec![
            sample(vec![3, 2, 1], 30, "chat"),
            sample(vec![2, 1], 20, "chat"),
            sample(vec![4, 1], 10, "tool"),
        ],
        location: vec![
            location(1, 1),
            location(2, 2),
            location(3, 3),
            location(4, 4),
        ],
        function: vec![
            function(1, "main"),
            function(2, "work"),
            function(3, "hash"),
            function(4, "parse"),
        ],
        string_table: strings.iter().map(|s| (*s).to_owned()).collect(),
        duration_nanos: 1_000_000_000,
        ..pprof::protos::Profile::default()
    }
    .encode_to_vec()
}

/// The same profile gzipped, as the runtime's exporter writes it.
fn gzipped_profile() -> Vec<u8> {
    Profile::from_pprof(&raw_profile())
        .unwrap_or_else(|e| panic!("the test profile does not read: {e}"))
        .to_pprof()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Parses `path` as XML and returns the texts of its `<title>` elements (one per frame).
fn svg_titles(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no flamegraph at {}: {e}", path.display()));
    // inferno writes the SVG DOCTYPE; roxmltree refuses DTDs unless allowed.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, options)
        .unwrap_or_else(|e| panic!("{} is not XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("title"))
        .filter_map(|n| n.text())
        .map(str::to_owned)
        .collect()
}

#[test]
fn reports_the_top_function_and_writes_the_flamegraph_beside_the_file() {
    let dir = TempDir::new("profile-report");
    write(&dir.path().join("cpu.pb.gz"), &gzipped_profile());
    let out = run(dir.path(), &["profile", "cpu.pb.gz"], &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = &out.stdout;
    assert!(s.contains("Sample types: cpu/nanoseconds"), "{s}");
    assert!(s.contains("Total cpu: 60.00ms"), "{s}");
    // The first function row is the hottest one.
    let header = s
        .lines()
        .position(|l| l.trim_start().starts_with("flat"))
        .unwrap_or_else(|| panic!("no table header in\n{s}"));
    let first = s.lines().nth(header + 1).unwrap_or_default();
    assert!(first.ends_with("  hash"), "{s}");
    assert!(first.contains("30.00ms"), "{s}");
    assert!(s.contains("By label `span`"), "{s}");
    assert!(s.contains("flamegraph: cpu.svg"), "{s}");

    let titles = svg_titles(&dir.path().join("cpu.svg"));
    for name in ["hash", "work", "parse", "main"] {
        assert!(
            titles.iter().any(|t| t.starts_with(&format!("{name} ("))),
            "no frame `{name}` in {titles:?}"
        );
    }
}

#[test]
fn raw_protobuf_top_n_and_svg_path() {
    let dir = TempDir::new("profile-options");
    write(&dir.path().join("cpu.pb"), &raw_profile());
    std::fs::create_dir_all(dir.path().join("out"))
        .unwrap_or_else(|e| panic!("creating out/: {e}"));
    let out = run(
        dir.path(),
        &["profile", "cpu.pb", "--top", "1", "--svg", "out/graph.svg"],
        &[],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let s = &out.stdout;
    assert!(s.contains("Showing 1 of 4 functions"), "{s}");
    assert!(s.lines().any(|l| l.ends_with("  hash")), "{s}");
    assert!(!s.lines().any(|l| l.ends_with("  work")), "{s}");
    assert!(s.contains("flamegraph: out/graph.svg"), "{s}");
    assert!(!dir.path().join("cpu.svg").exists());
    let titles = svg_titles(&dir.path().join("out/graph.svg"));
    assert!(titles.iter().any(|t| t.starts_with("hash (")), "{titles:?}");
}

#[test]
fn a_file_that_is_not_a_profile_is_an_error_naming_it() {
    let dir = TempDir::new("profile-not-one");
    write(
        &dir.path().join("notes.txt"),
        b"these are notes, not a profile\n",
    );
    let out = run(dir.path(), &["profile", "notes.txt"], &[]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(out.stderr.contains("`notes.txt`"), "{}", out.stderr);
    assert!(out.stderr.contains("not a pprof profile"), "{}", out.stderr);
    assert!(!dir.path().join("notes.txt.svg").exists());

    // Corrupt gzip too.
    write(&dir.path().join("broken.pb.gz"), &[0x1f, 0x8b, 8, 0, 1, 2]);
    let out = run(dir.path(), &["profile", "broken.pb.gz"], &[]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(out.stderr.contains("`broken.pb.gz`"), "{}", out.stderr);
    assert!(out.stderr.contains("gzip"), "{}", out.stderr);

    let out = run(dir.path(), &["profile", "missing.pb.gz"], &[]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("cannot read profile file `missing.pb.gz`"),
        "{}",
        out.stderr
    );
}
