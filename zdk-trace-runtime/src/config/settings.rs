//! The resolved configuration: what the pipeline is built from, after every layer
//! (code < file < environment) has been merged and validated.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use super::entry::ConfigWarning;
use super::values::Config;
pub(crate) use super::values::{Backend, OtlpProtocol, Secret};
use crate::genai::CaptureMode;
use crate::sampling::{Sampler, TailSampling};

/// Default for [`BatchSettings::max_queue_size`] (`OTEL_BSP_MAX_QUEUE_SIZE`): 32 768, sixteen
/// times the OpenTelemetry SDKs' 2048. At a million spans per second that is 32 ms of slack,
/// in the export queue and in each thread's ring (which grows up to the same size): on a
/// busy machine the exporter, or the collector at its lower priority, is now and then off the
/// CPU for longer than 8 ms (the bench VM's hypervisor takes a core for up to 9 ms; the
/// collector once fell 24 ms behind). In the `throughput` bench's paced runs at 1 M/s, 2048
/// dropped spans, 8192 dropped in 16 of 64 runs and 32 768 in none of 64, alternated in the
/// same minutes (BENCHMARKS.md, issue 12). The queue holds encoded requests, a few hundred
/// bytes a span.
pub(crate) const MAX_QUEUE_SIZE_DEFAULT: usize = 32_768;
/// Default `telemetry.tracing.otlp.batch.max_request_bytes`: gRPC's default message limit.
pub(crate) const MAX_REQUEST_BYTES_DEFAULT: usize = 4 << 20;
/// Default `telemetry.tracing.otlp.retry.buffer_bytes`: 32 MiB, a minute of 5 000 spans a
/// second at about 100 bytes a span, seven times over.
pub(crate) const RETRY_BUFFER_BYTES_DEFAULT: usize = 32 << 20;
/// Default `telemetry.tracing.otlp.retry.max_age_seconds`: five minutes (older telemetry is
/// rarely worth sending late).
pub(crate) const RETRY_MAX_AGE_DEFAULT: Duration = Duration::from_secs(300);
/// Default `telemetry.tracing.otlp.retry.circuit_failures`.
pub(crate) const RETRY_FAILURES_TO_OPEN_DEFAULT: u32 = 5;
/// Default `telemetry.tracing.otlp.retry.probe_interval_seconds`: a dead collector costs one
/// request a second.
pub(crate) const RETRY_PROBE_INTERVAL_DEFAULT: Duration = Duration::from_secs(1);
/// Default for [`BatchSettings::max_export_batch_size`] (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
pub(crate) const MAX_EXPORT_BATCH_SIZE_DEFAULT: usize = 512;
/// Default for [`BatchSettings::scheduled_delay`] (`OTEL_BSP_SCHEDULE_DELAY`).
pub(crate) const SCHEDULED_DELAY_DEFAULT: Duration = Duration::from_secs(5);
/// Default for [`BatchSettings::export_timeout`] (`OTEL_BSP_EXPORT_TIMEOUT`).
pub(crate) const EXPORT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// Default OTLP timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`).
pub(crate) const OTLP_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);
/// Default OTLP protocol (the OpenTelemetry specification's).
pub(crate) const OTLP_PROTOCOL_DEFAULT: OtlpProtocol = OtlpProtocol::HttpProtobuf;
/// Default `telemetry.metrics.cardinality_limit`: attribute sets one instrument keeps (the
/// overflow series included), the OpenTelemetry SDKs' 2000.
pub(crate) const METRICS_CARDINALITY_LIMIT_DEFAULT: usize = 2000;
/// Default `telemetry.metrics.prometheus.port`: the port the OpenTelemetry Prometheus
/// exporters serve on.
pub(crate) const PROMETHEUS_PORT_DEFAULT: u16 = 9464;
/// Default `telemetry.metrics.prometheus.address`: this machine only; `0.0.0.0` exposes the
/// metrics to the network, which the application must ask for.
pub(crate) const PROMETHEUS_ADDRESS_DEFAULT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Default `telemetry.metrics.prometheus.path`.
pub(crate) const PROMETHEUS_PATH_DEFAULT: &str = "/metrics";
/// Default `telemetry.metrics.otlp.protocol`.
pub(crate) const METRICS_OTLP_PROTOCOL_DEFAULT: OtlpProtocol = OtlpProtocol::HttpProtobuf;
/// Default `telemetry.metrics.otlp.interval_seconds` (`OTEL_METRIC_EXPORT_INTERVAL`): the
/// OpenTelemetry specification's 60 s.
pub(crate) const METRICS_EXPORT_INTERVAL_DEFAULT: Duration = Duration::from_secs(60);
/// Default `telemetry.profiling.cpu.frequency`: 99 Hz, not 100, so that sampling does not run
/// in lockstep with work a 100 Hz (or 10 ms) timer starts, which would be over- or
/// under-sampled (the usual choice of `perf record -F 99` and of the pprof-based profilers).
pub(crate) const PROFILING_CPU_FREQUENCY_DEFAULT: u32 = 99;
/// Default `telemetry.profiling.cpu.duration_seconds`: one profile every 10 s, the interval at
/// which Pyroscope's agents upload.
pub(crate) const PROFILING_CPU_WINDOW_DEFAULT: Duration = Duration::from_secs(10);
/// Default `telemetry.profiling.memory.sampling_rate`: one allocation in 100 records its stack.
pub(crate) const PROFILING_SAMPLING_RATE_DEFAULT: u32 = 100;
/// Default `telemetry.profiling.exporter.pyroscope_endpoint`: a Pyroscope server on this
/// machine, on the port it listens on by default.
pub(crate) const PYROSCOPE_ENDPOINT_DEFAULT: &str = "http://localhost:4040";
/// Default `telemetry.profiling.exporter.file_output_dir`, relative to the working directory.
pub(crate) const PROFILES_DIR_DEFAULT: &str = "./profiles";
/// Default service name when none is configured anywhere (as the OTel spec says).
pub(crate) const SERVICE_NAME_DEFAULT: &str = "unknown_service";
/// Default currency of a model's price (`telemetry.genai.prices."<model>".currency`).
pub(crate) const PRICE_CURRENCY_DEFAULT: &str = "USD";

/// Everything the pipeline needs, fully resolved. Built by `config::resolve`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// `false` when `telemetry.enabled = false`, `telemetry.tracing.enabled = false`
    /// or `OTEL_SDK_DISABLED=true`: spans cost one atomic load and nothing is exported.
    pub(crate) enabled: bool,
    /// `telemetry.logging`: install the `tracing` bridge as the global subscriber.
    pub(crate) logging: bool,
    pub(crate) service_name: String,
    pub(crate) service_version: Option<String>,
    /// Extra resource attributes, in order: code/file first, then `OTEL_RESOURCE_ATTRIBUTES`
    /// (later entries win on duplicate keys).
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) sampler: Sampler,
    pub(crate) tail: TailSampling,
    pub(crate) batch: BatchSettings,
    /// Exporters built from configuration (not counting exporters handed to the builder in code).
    /// Empty here means "the default": OTLP when an endpoint is configured, else the console.
    pub(crate) exporters: Vec<ExporterSettings>,
    /// Where `capture` functions record message content.
    pub(crate) capture: CaptureMode,
    pub(crate) usage: UsageSettings,
    /// What is valid but will not work as meant (an endpoint on Jaeger's legacy port), printed
    /// at install and shown by `zdk-trace status`.
    pub(crate) warnings: Vec<ConfigWarning>,
    /// The layers these settings were resolved from, lowest first: a part that uses a setting
    /// with no field here reads it with `Setting::resolved`.
    pub(crate) layers: Vec<Config>,
}

/// What the application asked of the anonymous usage layer (before the user's opt-outs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageSettings {
    pub(crate) enabled: bool,
    /// The full URL, `{endpoint}/v1/traces`.
    pub(crate) url: Option<String>,
    pub(crate) notice: bool,
}

/// Queue and batching limits of the export pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchSettings {
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    pub(crate) scheduled_delay: Duration,
    pub(crate) export_timeout: Duration,
    /// The largest OTLP request (`telemetry.tracing.otlp.batch.max_request_bytes`).
    pub(crate) max_request_bytes: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            max_queue_size: MAX_QUEUE_SIZE_DEFAULT,
            max_export_batch_size: MAX_EXPORT_BATCH_SIZE_DEFAULT,
            scheduled_delay: SCHEDULED_DELAY_DEFAULT,
            export_timeout: EXPORT_TIMEOUT_DEFAULT,
            max_request_bytes: MAX_REQUEST_BYTES_DEFAULT,
        }
    }
}

/// One configured exporter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExporterSettings {
    /// Human-readable trace trees on stdout.
    Stdout,
    /// One span per line, OTLP/JSON shape.
    File { path: PathBuf },
    /// OTLP over gRPC or HTTP/protobuf.
    Otlp(OtlpSettings),
    /// `type = "jaeger"` or `"tempo"`: OTLP to that backend, at the entry's own endpoint.
    Backend {
        backend: Backend,
        otlp: OtlpSettings,
    },
}

/// OTLP exporter settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OtlpSettings {
    /// For gRPC, the base endpoint (`http://host:4317`); for HTTP the full traces URL
    /// (`http://host:4318/v1/traces`), already derived from `OTEL_EXPORTER_OTLP_ENDPOINT` by
    /// appending `/v1/traces`, or taken as-is from `..._TRACES_ENDPOINT`.
    pub(crate) endpoint: String,
    pub(crate) protocol: OtlpProtocol,
    /// Header values with `${VAR}` already expanded; values are secrets.
    pub(crate) headers: Vec<(String, Secret)>,
    pub(crate) timeout: Duration,
    pub(crate) gzip: bool,
}

/// What `[telemetry.profiling]` resolves to: plain values, each the last one set or its
/// default. Built by `table::profiling_settings` and read by the profiling stage at install;
/// `enabled` is profiling's own switch (the stage also honours `telemetry.enabled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProfilingSettings {
    /// `telemetry.profiling.enabled`: the master switch of profiling.
    pub(crate) enabled: bool,
    /// `telemetry.profiling.span_resources`: every macro span records its busy time, thread CPU
    /// time and allocations.
    pub(crate) span_resources: bool,
    /// `telemetry.profiling.cpu.enabled`.
    pub(crate) cpu_enabled: bool,
    /// `telemetry.profiling.cpu.frequency`: CPU samples per second, 1 to 1000.
    pub(crate) cpu_frequency_hz: u32,
    /// `telemetry.profiling.cpu.continuous`: profile all the time, one profile per
    /// [`cpu_window`](Self::cpu_window), rather than on demand.
    pub(crate) cpu_continuous: bool,
    /// `telemetry.profiling.cpu.duration_seconds`: how long one CPU profile lasts, 1 s to 1 h.
    pub(crate) cpu_window: Duration,
    /// `telemetry.profiling.memory.enabled`.
    pub(crate) memory_enabled: bool,
    /// `telemetry.profiling.memory.track_allocations` (expensive: for debugging).
    pub(crate) track_allocations: bool,
    /// `telemetry.profiling.memory.sampling_rate`: one allocation in this many records its
    /// stack (1: every one).
    pub(crate) sampling_rate: u32,
    /// `telemetry.profiling.memory.heap_profiling` (very expensive).
    pub(crate) heap_profiling: bool,
    /// `[telemetry.profiling.exporter]`: where profiles go.
    pub(crate) exporter: ProfileExporterKind,
}

/// Where profiles go (`telemetry.profiling.exporter.type`, with the settings of that type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProfileExporterKind {
    /// pprof files written in `dir` (`file_output_dir`, default `./profiles`).
    File { dir: PathBuf },
    /// Pushed to a Pyroscope server.
    Pyroscope {
        /// The server's URL (`pyroscope_endpoint`, `PYROSCOPE_SERVER_ADDRESS`), checked as a
        /// URL; default `http://localhost:4040`.
        endpoint: String,
        /// The name profiles are pushed under (`application_name`,
        /// `PYROSCOPE_APPLICATION_NAME`); `None`: the service name
        /// ([`Settings::service_name`]).
        application_name: Option<String>,
    },
}
