//! `zdk-trace`: the command-line companion of the zdk-trace runtime.
//!
//! - `zdk-trace init`: writes a commented `zdk-trace.toml` for a backend (console, otlp,
//!   phoenix, jaeger, tempo);
//! - `zdk-trace status`: the effective configuration of both layers and where each value came
//!   from;
//! - `zdk-trace check`: sends one test span to the configured OTLP endpoint;
//! - `zdk-trace view FILE`: renders a JSON-lines trace file as waterfalls;
//! - `zdk-trace profile FILE`: summarizes a pprof profile (CPU or heap) like
//!   `go tool pprof -top` and writes its flamegraph as SVG.
//!
//! It lives in its own crate so that clap and the terminal code never reach applications,
//! which depend on `zdk-trace-runtime` only.
#![forbid(unsafe_code)]

mod check;
mod check_metrics;
mod init;
mod paint;
mod profile;
mod status;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Inspect the zdk-trace configuration, check the trace endpoint, view trace files and
/// profiles.
#[derive(Debug, Parser)]
#[command(name = "zdk-trace", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented `zdk-trace.toml` for a backend (console, otlp, phoenix, jaeger,
    /// tempo), with the metrics and profiling sections off and explained. An existing file is
    /// left unchanged (exit code 1) unless `--force` is given.
    Init(init::InitArgs),
    /// Show the effective configuration of both layers (trace pipeline and anonymous usage
    /// telemetry) and where each value came from, read from the working directory's
    /// `zdk-trace.toml` (or `ZDK_TRACE_CONFIG`) and the environment, as an application would.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Send one test span to the configured OTLP endpoint and report success and latency, or
    /// what went wrong. Exits non-zero on failure.
    Check,
    /// Render a JSON-lines trace file (the runtime's file exporter) as trees with a time bar
    /// per span. Filters select whole traces.
    View(view::ViewArgs),
    /// Summarize a pprof profile (CPU or heap; gzipped or not) like `go tool pprof -top`, by
    /// function and by label (span, trace), and write its flamegraph as SVG beside it.
    Profile(profile::ProfileArgs),
}

/// Exit code for a failed check, an unreadable input or a file `init` will not overwrite.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code for an invalid configuration (clap also uses 2 for bad arguments).
pub(crate) const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Status { json } => status::run(json),
        Command::Check => check::run(),
        Command::View(args) => view::run(&args),
        Command::Profile(args) => profile::run(&args),
    };
    ExitCode::from(code)
}

/// A path as users typed it, for messages.
pub(crate) fn shown(path: &std::path::Path) -> String {
    PathBuf::from(path).display().to_string()
}
