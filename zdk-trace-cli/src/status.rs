//! `zdk-trace status`: the effective configuration and where each value came from.

use serde_json::{json, Value};
use zdk_trace_runtime::{ConfigEntry, ConfigSource, Telemetry};

use crate::paint::{self, Painter, BOLD, DIM, GREEN, YELLOW};
use crate::EXIT_CONFIG;

pub(crate) fn run(as_json: bool) -> u8 {
    let report = match Telemetry::builder().config_report() {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return EXIT_CONFIG;
        }
    };
    if as_json {
        let body = json!({
            "tracing_enabled": report.tracing_enabled,
            "usage_enabled": report.usage_reason == zdk_trace_runtime::usage::UsageReason::Enabled,
            "usage_reason": report.usage_reason.to_string(),
            "tracing": report.tracing.iter().map(entry_json).collect::<Vec<_>>(),
            "usage": report.usage.iter().map(entry_json).collect::<Vec<_>>(),
            "warnings": report.warnings.iter().map(|w| json!({
                "key": w.key,
                "message": w.message,
                "source": source_json(&w.source),
                "source_text": w.source.to_string(),
            })).collect::<Vec<_>>(),
        });
        println!("{body:#}");
        return 0;
    }
    let p = Painter {
        on: paint::stdout_colors(),
    };
    let on_off = |on: bool| {
        if on {
            p.paint(GREEN, "on")
        } else {
            p.paint(YELLOW, "off")
        }
    };
    let width = report
        .tracing
        .iter()
        .chain(&report.usage)
        .map(|e| e.key.len())
        .max()
        .unwrap_or(0);
    // The report lists the metrics settings after the trace pipeline's: they get a heading of
    // their own (their switch is their first line).
    let (metrics, tracing): (Vec<&ConfigEntry>, Vec<&ConfigEntry>) = report
        .tracing
        .iter()
        .partition(|e| e.key.starts_with(METRICS_PREFIX));
    // The profiling settings, likewise.
    let (profiling, tracing): (Vec<&ConfigEntry>, Vec<&ConfigEntry>) = tracing
        .into_iter()
        .partition(|e| e.key.starts_with(PROFILING_PREFIX));
    // Valid values that will not work as meant come first, where they are seen.
    for warning in &report.warnings {
        println!("{} {warning}", p.paint(YELLOW, "warning:"));
    }
    if !report.warnings.is_empty() {
        println!();
    }
    println!(
        "{} {}",
        p.paint(BOLD, "Trace pipeline:"),
        on_off(report.tracing_enabled)
    );
    for entry in tracing {
        print_entry(p, width, entry);
    }
    println!();
    if !metrics.is_empty() {
        println!("{}", p.paint(BOLD, "Metrics:"));
        for entry in metrics {
            print_entry(p, width, entry);
        }
        println!();
    }
    if !profiling.is_empty() {
        println!("{}", p.paint(BOLD, "Profiling:"));
        for entry in profiling {
            print_entry(p, width, entry);
        }
        println!();
    }
    let state_source = report
        .entry("usage.state")
        .map(|e| format!("  ({})", e.source))
        .unwrap_or_default();
    println!(
        "{} {}{}",
        p.paint(BOLD, "Anonymous usage telemetry:"),
        report.usage_reason,
        p.paint(DIM, &state_source)
    );
    // The state is the heading above.
    for entry in report.usage.iter().filter(|e| e.key != "usage.state") {
        print_entry(p, width, entry);
    }
    0
}

/// The keys of the metrics settings.
const METRICS_PREFIX: &str = "telemetry.metrics.";
/// The keys of the profiling settings.
const PROFILING_PREFIX: &str = "telemetry.profiling.";

fn print_entry(p: Painter, width: usize, entry: &ConfigEntry) {
    println!(
        "  {:width$}  {}  {}",
        entry.key,
        entry.value,
        p.paint(DIM, &format!("({})", entry.source)),
    );
}

fn entry_json(entry: &ConfigEntry) -> Value {
    let source = source_json(&entry.source);
    json!({ "key": entry.key, "value": entry.value, "source": source, "source_text": entry.source.to_string() })
}

fn source_json(source: &ConfigSource) -> Value {
    match source {
        ConfigSource::Default => json!({ "kind": "default" }),
        ConfigSource::Code { setter } => json!({ "kind": "code", "setter": setter }),
        ConfigSource::File { path, line } => {
            json!({ "kind": "file", "path": path.display().to_string(), "line": line })
        }
        ConfigSource::Env { var } => json!({ "kind": "env", "var": var }),
        // `ConfigSource` is non-exhaustive: a newer runtime may add kinds.
        other => json!({ "kind": "other", "text": other.to_string() }),
    }
}
