//! A realistic agent application, traced with zdk-trace's macros, that needs no network: a
//! runner with sessions, an LLM agent calling a simulated streaming model and two tools, and
//! workflow agents that run agents in sequence, in parallel on several tokio tasks, and in a
//! loop.
//!
//! ```sh
//! cargo run -p zdk-trace-examples --bin agent_app                 # trace trees on stdout
//! cargo run -p zdk-trace-examples --bin agent_app -- --jsonl spans.jsonl --turns 2
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \
//!     cargo run -p zdk-trace-examples --bin agent_app -- --project demo   # to a backend
//! ```
//!
//! With zero configuration each turn's trace prints as a tree on stdout. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set (or an endpoint in `zdk-trace.toml`) the runtime exports
//! over OTLP instead (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc` for port 4317). `--jsonl PATH` (or
//! `AGENT_APP_JSONL`) appends every span as an OTLP/JSON line to `PATH` as well. At the end the
//! pipeline is shut down, which exports everything still queued, and a one-line summary goes
//! to stderr.
//!
//! # The trace of one turn
//!
//! Every turn (`--turns N`, default 1) is one trace with this tree, the same on every run;
//! only the order of the parallel branches' children in time varies:
//!
//! ```text
//! runner.run                                   SERVER  session.id, turn
//! ├─ session.get_or_create                             session.id
//! ├─ session.append_event                              session.event.author = "user"
//! ├─ invoke_workflow trip_planner                      workflow.type = "sequential"
//! │  ├─ invoke_agent planner                           gen_ai.agent.id = "planner-1"
//! │  │  ├─ chat sim-chat-1                     CLIENT  8 input / 13 output tokens
//! │  │  ├─ execute_tool get_weather                    gen_ai.tool.call.id = "call_1"
//! │  │  │  └─ GET /v1/forecast                 CLIENT  http.request.method = "GET"
//! │  │  ├─ execute_tool search_flights         ERROR   error.type = "timeout", call_2
//! │  │  └─ chat sim-chat-1                     CLIENT  36 input / 16 output tokens
//! │  ├─ invoke_workflow research                       workflow.type = "parallel"
//! │  │  ├─ invoke_agent researcher  (task 1)           gen_ai.agent.id = "researcher-1"
//! │  │  │  └─ chat sim-chat-1                  CLIENT  2 input / 9 output tokens
//! │  │  ├─ invoke_agent researcher  (task 2)           "researcher-2", same shape
//! │  │  └─ invoke_agent researcher  (task 3)           "researcher-3", same shape
//! │  └─ invoke_workflow refine                         workflow.type = "loop",
//! │     │                                              workflow.iterations = 3, and one
//! │     │                                              `workflow.iteration` event per round
//! │     ├─ invoke_agent critic                         gen_ai.agent.id = "critic-1"
//! │     │  └─ chat sim-chat-1                  CLIENT  45 (52, 59) input / 7 output
//! │     ├─ invoke_agent critic                         (round 2, same shape)
//! │     └─ invoke_agent critic                         (round 3, same shape)
//! └─ session.append_event                              session.event.author = "agent"
//! ```
//!
//! That is 25 spans per turn. Every agent span has `gen_ai.conversation.id` = the session id
//! (`trip-1`, shared by all turns). Every `chat sim-chat-1` span has `gen_ai.provider.name =
//! "simulated"`, `gen_ai.request.model = "sim-chat-1"`, `gen_ai.request.temperature = 0.2`,
//! `gen_ai.request.max_tokens = 256`, `gen_ai.response.model`, the token usage summed over the
//! stream's chunks, `stream.items` and `stream.time_to_first_item_ms`. The prompt and the
//! completion are recorded only with content capture on
//! (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY`).
//!
//! The agent functions also carry `#[usage_event(name = "agent.run", ...)]`; the anonymous
//! usage layer is off unless the application turns it on, so nothing is sent.
#![forbid(unsafe_code)]

mod agents;
mod model;
mod runner;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zdk_trace_runtime::{JsonLinesExporter, Telemetry};

use crate::agents::TripPlanner;
use crate::model::SimulatedModel;
use crate::runner::Runner;

/// The session every turn belongs to (`gen_ai.conversation.id`).
const SESSION_ID: &str = "trip-1";
/// What the user asks, one message per turn.
const USER_MESSAGE: &str = "Plan a weekend in Lisbon from Berlin";

/// The resource attribute Arize Phoenix files spans under.
const PROJECT_ATTRIBUTE: &str = "openinference.project.name";

/// A traced example agent app: prints each turn's trace tree, or exports it over OTLP when
/// OTEL_EXPORTER_OTLP_ENDPOINT is set.
#[derive(Debug, Parser)]
#[command(name = "agent_app", version)]
struct Args {
    /// Time the simulated model takes to its first token, in milliseconds (each later token
    /// takes a tenth of it).
    #[arg(long, value_name = "N", default_value_t = 20)]
    delay_ms: u64,

    /// Also append every span to PATH as JSON lines (OTLP/JSON, one span per line).
    #[arg(long, value_name = "PATH", env = "AGENT_APP_JSONL")]
    jsonl: Option<PathBuf>,

    /// How many turns of the conversation to run (one trace each).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    turns: u32,

    /// The project to file the traces under in Arize Phoenix (the resource attribute
    /// `openinference.project.name`).
    #[arg(long, value_name = "NAME")]
    project: Option<String>,

    /// After the run, keep serving metrics this many seconds before shutting down, so that a
    /// Prometheus scraping the endpoint (`[telemetry.metrics.prometheus]`) sees the final
    /// values.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    linger_secs: u64,

    /// Profile the run's CPU and write `agent_app-cpu.pb.gz` (pprof, every sample labelled
    /// with its span) and `agent_app-cpu.svg` (a flamegraph) into DIR.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "profiles")]
    profile: Option<PathBuf>,

    /// The service name (`service.name`); OTEL_SERVICE_NAME and zdk-trace.toml override it.
    #[arg(long, value_name = "NAME", default_value = "agent-app")]
    service: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let telemetry = match install(&args) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("agent_app: cannot install tracing: {e}");
            return ExitCode::FAILURE;
        }
    };

    runner::count_session_events(&telemetry);
    let profiling = args
        .profile
        .as_ref()
        .map(|dir| (dir, telemetry.start_cpu_profile()));
    // Built after `install`, so that the runtime's threads are not started before tracing is
    // ready (the workers would not matter, but the order reads as the README says).
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(run(&args)));
    let code = match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("agent_app: a turn failed: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("agent_app: cannot start the tokio runtime: {e}");
            ExitCode::FAILURE
        }
    };

    if let Some((dir, guard)) = profiling {
        match guard.and_then(|g| g.stop()) {
            Ok(profile) => write_profile(dir, &profile),
            Err(e) => eprintln!("agent_app: no CPU profile: {e}"),
        }
    }

    if args.linger_secs > 0 {
        std::thread::sleep(std::time::Duration::from_secs(args.linger_secs));
    }
    // Exports (or prints) everything still queued, then stops the pipeline.
    if let Err(e) = telemetry.shutdown() {
        eprintln!("agent_app: shutting tracing down: {e}");
        return ExitCode::FAILURE;
    }
    let stats = telemetry.stats();
    eprintln!(
        "agent_app: {} turn(s), {} spans exported, {} dropped, {} export errors",
        args.turns,
        stats.spans_exported,
        stats.dropped(),
        stats.export_errors
    );
    code
}

/// Writes the run's CPU profile and its flamegraph into `dir`, and says where.
fn write_profile(dir: &std::path::Path, profile: &zdk_trace_runtime::profiling::Profile) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("agent_app: cannot create `{}`: {e}", dir.display());
        return;
    }
    let pprof = dir.join("agent_app-cpu.pb.gz");
    match std::fs::write(&pprof, profile.to_pprof()) {
        Ok(()) => eprintln!(
            "agent_app: CPU profile ({} samples): {} (read it with `zdk-trace profile {}`)",
            profile.sample_count(),
            pprof.display(),
            pprof.display()
        ),
        Err(e) => eprintln!("agent_app: cannot write `{}`: {e}", pprof.display()),
    }
    let svg = dir.join("agent_app-cpu.svg");
    match profile.flamegraph_svg() {
        Ok(text) => match std::fs::write(&svg, text) {
            Ok(()) => eprintln!("agent_app: flamegraph: {}", svg.display()),
            Err(e) => eprintln!("agent_app: cannot write `{}`: {e}", svg.display()),
        },
        Err(e) => eprintln!("agent_app: no flamegraph: {e}"),
    }
}

/// Installs the pipeline: the runtime's defaults (console, or OTLP when an endpoint is set),
/// plus a JSON-lines file with `--jsonl`.
fn install(args: &Args) -> Result<Telemetry, Box<dyn std::error::Error>> {
    let mut builder = Telemetry::builder().service_name(args.service.as_str());
    if args.profile.is_some() {
        // The run takes a few tens of milliseconds of CPU: sample it finely (a file or
        // variable setting the frequency still wins).
        builder = builder.cpu_profile_frequency(997);
    }
    if let Some(project) = &args.project {
        builder = builder.resource_attribute(PROJECT_ATTRIBUTE, project.as_str());
    }
    if let Some(path) = &args.jsonl {
        let file = JsonLinesExporter::create(path)
            .map_err(|e| format!("cannot open `{}` for --jsonl: {e}", path.display()))?;
        // An exporter given in code replaces the default console exporter, and listing
        // exporters in code (`.jsonl_file`, `.console`) would replace the OTLP exporter an
        // `OTEL_EXPORTER_OTLP_ENDPOINT` selects. So: the file as an extra exporter, plus the
        // console only when no endpoint variable asks for OTLP.
        builder = builder.span_exporter(file);
        if !otlp_endpoint_in_env() {
            builder = builder.console();
        }
    }
    Ok(builder.install()?)
}

/// Whether an `OTEL_*` variable sets an OTLP endpoint for traces.
fn otlp_endpoint_in_env() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// Runs the conversation, one trace per turn.
async fn run(args: &Args) -> Result<(), agents::AgentError> {
    let model = SimulatedModel::new(Duration::from_millis(args.delay_ms));
    let runner = Runner::new(TripPlanner::new(&model));
    for turn in 1..=args.turns {
        runner.run(SESSION_ID, turn, USER_MESSAGE).await?;
    }
    Ok(())
}
