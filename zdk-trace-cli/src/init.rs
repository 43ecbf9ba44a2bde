//! `zdk-trace init`: writes a commented `zdk-trace.toml` for one backend, with the metrics and
//! profiling sections present, off and explained.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write as _};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use zdk_trace_runtime::{Config, InstallError, Telemetry};

use crate::{shown, EXIT_CONFIG, EXIT_FAILURE};

/// The file `Config::discover` finds in an application's working directory.
const DEFAULT_PATH: &str = "zdk-trace.toml";

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where the traces go: `console` (trees on stdout), `otlp` (any OTLP receiver, e.g. an
    /// OpenTelemetry Collector, OTLP/HTTP on localhost:4318), `phoenix` (Arize Phoenix,
    /// OTLP/HTTP on 127.0.0.1:6006), `jaeger` or `tempo` (OTLP/gRPC on localhost:4317).
    #[arg(long, value_enum, default_value_t = Backend::Console)]
    backend: Backend,
    /// The file to write. Applications read `./zdk-trace.toml` from their working directory;
    /// any other path must be named by `ZDK_TRACE_CONFIG`.
    #[arg(long, default_value = DEFAULT_PATH)]
    path: PathBuf,
    /// The backend's endpoint instead of its usual local one (not for `console`). On port
    /// 4317 the protocol is `grpc`, on 4318 `http/protobuf`, else the backend's usual one.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Replace the file if it exists (without it, an existing file is left as it is).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Console,
    Otlp,
    Phoenix,
    Jaeger,
    Tempo,
}

/// The two OTLP transports, as the file spells them.
const GRPC: &str = "grpc";
const HTTP: &str = "http/protobuf";

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Console => "console",
            Backend::Otlp => "otlp",
            Backend::Phoenix => "phoenix",
            Backend::Jaeger => "jaeger",
            Backend::Tempo => "tempo",
        }
    }

    /// The endpoint and protocol the project documents for the backend on this machine
    /// (docs/backends.md); `None` for the console.
    fn default_endpoint(self) -> Option<(&'static str, &'static str)> {
        match self {
            Backend::Console => None,
            Backend::Otlp => Some(("http://localhost:4318", HTTP)),
            Backend::Phoenix => Some(("http://127.0.0.1:6006/v1/traces", HTTP)),
            Backend::Jaeger | Backend::Tempo => Some(("http://localhost:4317", GRPC)),
        }
    }
}

pub(crate) fn run(args: &InitArgs) -> u8 {
    let endpoint = match (args.backend.default_endpoint(), &args.endpoint) {
        (None, Some(_)) => {
            eprintln!(
                "error: `--endpoint` is for the backends that receive OTLP (otlp, phoenix, \
                 jaeger, tempo); `--backend console` prints traces on stdout"
            );
            return EXIT_CONFIG;
        }
        (None, None) => None,
        (Some((_, protocol)), Some(url)) => Some((url.as_str(), protocol_for(url, protocol))),
        (Some(default), None) => Some(default),
    };
    let text = template(args.backend, endpoint);
    // What is written must be a configuration an application accepts: checked as `install()`
    // reads it, with nothing of this machine's environment.
    let report = Config::from_toml_str(&text)
        .map_err(InstallError::from)
        .and_then(|file| {
            Telemetry::builder()
                .ignore_env()
                .config(file)
                .config_report()
        });
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            match &args.endpoint {
                Some(url) => eprintln!("error: `--endpoint {url}` is not a valid endpoint: {e}"),
                None => eprintln!("error: the generated configuration is invalid: {e}"),
            }
            return EXIT_CONFIG;
        }
    };
    for warning in &report.warnings {
        eprintln!("warning: {}", warning.message);
    }
    let path = shown(&args.path);
    let mut options = OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        // Refused atomically if the file exists, even if it appeared a moment ago.
        options.create_new(true);
    }
    let written = options
        .open(&args.path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            eprintln!(
                "error: {path} already exists; it was left unchanged (pass `--force` to \
                 replace it)"
            );
            return EXIT_FAILURE;
        }
        Err(e) => {
            eprintln!("error: cannot write {path}: {e}");
            return EXIT_FAILURE;
        }
    }
    let target = match endpoint {
        Some((url, protocol)) => format!(" (OTLP {protocol} to {url})"),
        None => " (trace trees on stdout)".to_owned(),
    };
    println!(
        "wrote {path} for {}{target}; `zdk-trace status` shows what it sets",
        args.backend.name()
    );
    if args.path.file_name().and_then(|n| n.to_str()) != Some(DEFAULT_PATH)
        || args
            .path
            .parent()
            .is_some_and(|p| !p.as_os_str().is_empty())
    {
        println!(
            "applications read ./{DEFAULT_PATH} from their working directory; for this file set \
             ZDK_TRACE_CONFIG={path}"
        );
    }
    0
}

/// The protocol for a given endpoint: `grpc` on OTLP/gRPC's port 4317, `http/protobuf` on
/// OTLP/HTTP's 4318, else the backend's own.
fn protocol_for(url: &str, default: &'static str) -> &'static str {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let port = authority
        .rsplit_once(':')
        .filter(|(_, port)| !port.contains(']'))
        .map(|(_, port)| port);
    match port {
        Some("4317") => GRPC,
        Some("4318") => HTTP,
        _ => default,
    }
}

/// Writes `line` with `comment` aligned in a column, `# ` before each comment line.
fn line(out: &mut String, line: &str, comment: &str) {
    const COLUMN: usize = 40;
    let mut first = true;
    for part in comment.lines() {
        let code = if first { line } else { "" };
        first = false;
        // A line longer than the column keeps two spaces before its comment.
        let width = COLUMN.max(code.len() + 2);
        let _ = writeln!(out, "{code:width$}# {part}");
    }
}

/// The commented configuration for `backend`, sending to `endpoint` with its protocol.
fn template(backend: Backend, endpoint: Option<(&str, &str)>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# zdk-trace configuration, written by `zdk-trace init --backend {}`.\n\
         #\n\
         # An application reads ./zdk-trace.toml from its working directory when it installs\n\
         # zdk-trace (or the file ZDK_TRACE_CONFIG names); OTEL_* environment variables override\n\
         # it. `zdk-trace status` shows every effective value and where it came from. Every key\n\
         # and its default: the README's \"Configuration\" section.\n",
        backend.name()
    );
    out.push_str("[telemetry]\n");
    line(
        &mut out,
        "enabled = true",
        "false: no span is recorded or exported",
    );
    line(
        &mut out,
        "# service_name = \"my-agent\"",
        "the name backends file traces under\n(default \"unknown_service\")",
    );
    if backend == Backend::Phoenix {
        out.push_str("\n[telemetry.resource]\n");
        line(
            &mut out,
            "# \"openinference.project.name\" = \"my-project\"",
            "the Phoenix project the traces go to\n(default: \"default\")",
        );
    }
    out.push('\n');
    match (backend, endpoint) {
        (Backend::Console, _) | (_, None) => {
            out.push_str("[[telemetry.tracing.exporters]]\n");
            line(
                &mut out,
                "type = \"stdout\"",
                "each trace as a tree on stdout, when its\nroot span ends",
            );
        }
        (Backend::Otlp | Backend::Phoenix, Some((url, protocol))) => {
            let receiver = if backend == Backend::Phoenix {
                "Arize Phoenix: OTLP/HTTP on its port 6006\n(the UI's), OTLP/gRPC on 4317"
            } else {
                "any OTLP receiver (an OpenTelemetry\nCollector...): OTLP/HTTP on port 4318,\n\
                 OTLP/gRPC on 4317"
            };
            out.push_str("[telemetry.tracing.otlp]\n");
            line(&mut out, &format!("endpoint = \"{url}\""), receiver);
            line(
                &mut out,
                &format!("protocol = \"{protocol}\""),
                "\"http/protobuf\" or \"grpc\"; over HTTP a URL\nwithout a path gets /v1/traces",
            );
            line(
                &mut out,
                "timeout_seconds = 10",
                "longest wait for one export request",
            );
            out.push_str("\n# [telemetry.tracing.otlp.headers]\n");
            line(
                &mut out,
                "# authorization = \"Bearer ${OTLP_TOKEN}\"",
                "sent with every request; ${VAR} reads\nthe environment",
            );
            out.push_str("\n[[telemetry.tracing.exporters]]\n");
            line(
                &mut out,
                "type = \"otlp\"",
                "export to [telemetry.tracing.otlp];\nadd `type = \"stdout\"` to print too",
            );
        }
        (Backend::Jaeger | Backend::Tempo, Some((url, protocol))) => {
            let (kind, about) = if backend == Backend::Jaeger {
                (
                    "jaeger",
                    "Jaeger 1.35+ and v2 ingest OTLP natively;\nUI on http://localhost:16686",
                )
            } else {
                (
                    "tempo",
                    "Grafana Tempo ingests OTLP natively;\nsearch it from Grafana (TraceQL)",
                )
            };
            let ports = if backend == Backend::Jaeger {
                "OTLP/gRPC on 4317, OTLP/HTTP on 4318\n(not 14250, Jaeger's legacy port, which\n\
                 does not speak OTLP)"
            } else {
                "OTLP/gRPC on 4317, OTLP/HTTP on 4318"
            };
            out.push_str("[[telemetry.tracing.exporters]]\n");
            line(&mut out, &format!("type = \"{kind}\""), about);
            line(&mut out, &format!("endpoint = \"{url}\""), ports);
            line(
                &mut out,
                &format!("protocol = \"{protocol}\""),
                "\"grpc\" or \"http/protobuf\" (without it:\nhttp/protobuf on port 4318, else grpc)",
            );
        }
    }
    out.push_str(
        "\n# Metrics: the GenAI histograms and counters of every macro call (durations, tokens,\n\
         # cost, errors) and the application's own, served to Prometheus or pushed over OTLP.\n\
         # Off here; see docs/metrics.md.\n\
         [telemetry.metrics]\n",
    );
    line(
        &mut out,
        "enabled = false",
        "true (the default): counted in the process;\n[telemetry.metrics.prometheus] enabled =\ntrue serves them on\nhttp://127.0.0.1:9464/metrics",
    );
    out.push_str(
        "\n# Profiling: CPU and heap profiles whose samples carry the span they were taken in,\n\
         # written as pprof files or pushed to Pyroscope. Off here; see docs/profiling.md.\n\
         [telemetry.profiling]\n",
    );
    line(
        &mut out,
        "enabled = false",
        "true: on ([telemetry.profiling.cpu] and\n[telemetry.profiling.memory] say what)",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_picks_the_protocol() {
        assert_eq!(protocol_for("http://h:4317", HTTP), GRPC);
        assert_eq!(protocol_for("http://h:4318/v1/traces", GRPC), HTTP);
        assert_eq!(protocol_for("http://[::1]:4317", HTTP), GRPC);
        assert_eq!(protocol_for("http://[::1]", GRPC), GRPC);
        assert_eq!(protocol_for("https://h/otlp", HTTP), HTTP);
        assert_eq!(protocol_for("http://h:6006", HTTP), HTTP);
    }
}
