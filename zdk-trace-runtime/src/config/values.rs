//! [`Config`]: one layer of configuration (code, a `zdk-trace.toml` file, or `OTEL_*`
//! variables) in which every setting is optional: the values and where each was set. How
//! each setting is read, checked and shown is in `table.rs`; the constructors and setters are
//! in `sources.rs`.

use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::error::ConfigError;
use crate::genai::CaptureMode;
use crate::sampling::Sampler;

/// One layer of configuration in which every setting is optional (unset = "let another layer or
/// the default decide").
///
/// Layers come from code (the `with_*` setters), from a `zdk-trace.toml` file
/// ([`Config::from_toml_str`], [`Config::from_file`], [`Config::discover`]) and from the
/// standard `OTEL_*` variables ([`Config::from_env`]). They are merged with code lowest, then
/// the file, then the environment: a setting made in a later layer replaces the earlier one.
/// Resource attributes and OTLP headers are merged key by key, model prices model by model.
///
/// `Debug` never shows OTLP header values; they often hold API keys.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zdk_trace_runtime::{Config, Sampler};
///
/// let code = Config::default()
///     .with_service_name("my-agent")
///     .with_sampler(Sampler::TraceIdRatio(0.25))
///     .with_scheduled_delay(Duration::from_secs(1));
///
/// let file = Config::from_toml_str(
///     r#"
///     [telemetry]
///     service_name = "from-file"
///     "#,
/// )?;
/// # let _ = (code, file);
/// # Ok::<(), zdk_trace_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// `telemetry.enabled`, `OTEL_SDK_DISABLED`, [`Config::with_enabled`].
    pub(crate) enabled: Option<Set<bool>>,
    /// `telemetry.tracing.enabled`.
    pub(crate) tracing_enabled: Option<Set<bool>>,
    /// `telemetry.logging`, [`Config::with_logging`].
    pub(crate) logging: Option<Set<bool>>,
    pub(crate) service_name: Option<Set<String>>,
    pub(crate) service_version: Option<Set<String>>,
    /// In the order given. A `service.name` here is this layer's service name when the layer
    /// sets none otherwise (the OTel rule for `OTEL_RESOURCE_ATTRIBUTES`).
    pub(crate) resource: Vec<Set<(String, String)>>,
    pub(crate) sampling: SamplingLayer,
    pub(crate) batch: BatchLayer,
    pub(crate) otlp: OtlpLayer,
    /// `[[telemetry.tracing.exporters]]`; a later layer's list replaces an earlier one whole.
    pub(crate) exporters: Option<Set<Vec<ExporterChoice>>>,
    /// `telemetry.genai.capture_message_content`,
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`.
    pub(crate) capture: Option<Set<CaptureMode>>,
    /// `[telemetry.genai.prices."<model>"]`, [`Config::with_model_price`]: one entry per model,
    /// in the order set; merged model by model.
    pub(crate) prices: Vec<Set<ModelPrice>>,
    /// `[telemetry.usage]`: the anonymous usage layer (off unless the application turns it on).
    pub(crate) usage: UsageLayer,
    /// The settings defined with no field of their own, by key.
    pub(crate) keyed: Keyed,
}

/// Values of settings that have no field in [`Config`], by key: a new setting is defined in
/// the table alone.
#[derive(Clone, Default)]
pub(crate) struct Keyed(Vec<(&'static str, Arc<dyn KeyedSet>)>);

/// What a setting's value must be to be kept by key.
pub(crate) trait Value: Any + Send + Sync + PartialEq + fmt::Debug {}

impl<T: Any + Send + Sync + PartialEq + fmt::Debug> Value for T {}

/// A `Set<T>` of any [`Value`] type.
trait KeyedSet: Send + Sync + fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn KeyedSet) -> bool;
}

impl<T: Value> KeyedSet for Set<T> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same(&self, other: &dyn KeyedSet) -> bool {
        other.as_any().downcast_ref::<Set<T>>() == Some(self)
    }
}

impl Keyed {
    /// The value kept for `key`, if it is a `T`.
    pub(crate) fn get<T: Value>(&self, key: &str) -> Option<&Set<T>> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, set)| set.as_any().downcast_ref())
    }

    /// Keeps `set` for `key` (`None`: unset).
    pub(crate) fn set<T: Value>(&mut self, key: &'static str, set: Option<Set<T>>) {
        self.0.retain(|(k, _)| *k != key);
        if let Some(set) = set {
            self.0.push((key, Arc::new(set)));
        }
    }
}

impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().all(|(key, set)| {
                other
                    .0
                    .iter()
                    .any(|(k, s)| k == key && set.same(s.as_ref()))
            })
    }
}

impl fmt::Debug for Keyed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

/// Anonymous usage telemetry settings of one layer (`[telemetry.usage]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct UsageLayer {
    pub(crate) enabled: Option<Set<bool>>,
    /// The base URL; `/v1/traces` is appended.
    pub(crate) endpoint: Option<Set<String>>,
    /// Whether the one-time notice may be printed.
    pub(crate) notice: Option<Set<bool>>,
}

/// Head and tail sampling settings of one layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SamplingLayer {
    pub(crate) strategy: Option<Set<Strategy>>,
    /// Kept apart from the strategy so that one layer can set the strategy and another the
    /// ratio (`OTEL_TRACES_SAMPLER_ARG` alone, or a file's `probability` over a code sampler).
    pub(crate) probability: Option<Set<f64>>,
    pub(crate) keep_errors: Option<Set<bool>>,
    pub(crate) slow_threshold: Option<Set<Duration>>,
    pub(crate) max_traces_per_second: Option<Set<f64>>,
}

/// Batch span processor settings of one layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BatchLayer {
    pub(crate) max_queue_size: Option<Set<usize>>,
    pub(crate) max_export_batch_size: Option<Set<usize>>,
    pub(crate) scheduled_delay: Option<Set<Duration>>,
    pub(crate) export_timeout: Option<Set<Duration>>,
}

/// OTLP exporter settings of one layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OtlpLayer {
    pub(crate) endpoint: Option<Set<Endpoint>>,
    pub(crate) protocol: Option<Set<OtlpProtocol>>,
    /// Header values are secrets; values from a file may contain `${VAR}`, expanded when the
    /// layers are resolved.
    pub(crate) headers: Vec<Set<(String, Secret)>>,
    pub(crate) timeout: Option<Set<Duration>>,
    pub(crate) gzip: Option<Set<bool>>,
}

/// An OTLP endpoint and the rule that turns it into the URL the exporter uses (the signal's
/// path is `/v1/traces` or `/v1/metrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// From code or a file: for HTTP, a URL without a path gets the signal's path; else as-is.
    Url(String),
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: for HTTP, the signal's path is always appended.
    Base(String),
    /// The signal's own variable (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`): used as-is.
    Signal(String),
}

impl Endpoint {
    pub(crate) fn url(&self) -> &str {
        match self {
            Endpoint::Url(url) | Endpoint::Base(url) | Endpoint::Signal(url) => url,
        }
    }
}

/// The metrics exporters `OTEL_METRICS_EXPORTER` names (all off: `none`), or that the metrics
/// settings turn on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MetricsExporters {
    /// Push to the OTLP metrics endpoint.
    pub(crate) otlp: bool,
    /// Serve a Prometheus scrape endpoint.
    pub(crate) prometheus: bool,
    /// Print the metrics on stdout at each export interval.
    pub(crate) console: bool,
}

/// Where `telemetry.profiling.exporter.type` sends profiles, as a layer sets it. `Gcp` is read
/// (the design's schema names it) and refused when the layers are resolved: there is no GCP
/// Cloud Profiler exporter yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProfileExporterType {
    /// pprof files in `telemetry.profiling.exporter.file_output_dir` (the default).
    File,
    /// Pushed to the Pyroscope server at `telemetry.profiling.exporter.pyroscope_endpoint`.
    Pyroscope,
    /// GCP Cloud Profiler: not supported yet.
    Gcp,
}

/// A head sampling strategy whose ratio (if it needs one) may come from another layer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Strategy {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio,
    ParentBased(Root),
    /// A sampler set in code that the other forms cannot express (nested `ParentBased`).
    Exact(Sampler),
}

/// The root sampler of a parent-based strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio,
    /// The file's `parent_based`: the probability when one is set, else always on.
    #[cfg(feature = "config-file")]
    RatioOrAlwaysOn,
}

/// One configured exporter, before the OTLP settings of all layers are merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExporterChoice {
    Stdout,
    File(PathBuf),
    Otlp,
    /// `type = "jaeger"` or `"tempo"`: OTLP to that backend, with an endpoint and protocol of
    /// its own (`None`: the backend's default, the protocol from the endpoint's port).
    // Only a file names one (there is no setter): without `config-file`, never built.
    #[cfg_attr(not(feature = "config-file"), allow(dead_code))]
    Backend {
        backend: Backend,
        endpoint: Option<Set<String>>,
        protocol: Option<Set<OtlpProtocol>>,
    },
}

/// A tracing backend an exporter entry names by its `type`; each ingests OTLP natively, so
/// its exporter is an OTLP exporter with its own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Only a file names one (there is no setter): without `config-file`, never built.
#[cfg_attr(not(feature = "config-file"), allow(dead_code))]
pub(crate) enum Backend {
    /// Jaeger 1.35+ and v2: OTLP on 4317 (gRPC) and 4318 (HTTP).
    Jaeger,
    /// Grafana Tempo: OTLP on 4317 (gRPC) and 4318 (HTTP).
    Tempo,
}

impl Backend {
    /// The `type` that names it in `[[telemetry.tracing.exporters]]`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Jaeger => "jaeger",
            Backend::Tempo => "tempo",
        }
    }
}

/// What one model's tokens cost: an entry of `[telemetry.genai.prices]`, as one layer sets it
/// and, once the layers are merged, as `table::model_prices` returns it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModelPrice {
    /// The model's name as the application reports it (`gen_ai.request.model`), e.g. `gpt-4o`.
    pub(crate) model: String,
    /// The price of one million input (prompt) tokens, in [`currency`](Self::currency).
    pub(crate) input_per_million: f64,
    /// The price of one million output (completion) tokens, in [`currency`](Self::currency).
    pub(crate) output_per_million: f64,
    /// The ISO 4217 code of the currency, e.g. `USD` (the default).
    pub(crate) currency: String,
}

/// Where a value was set, so that errors found when layers are merged (a batch larger than the
/// queue set elsewhere, a `${VAR}` that is not set) can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A `Config::with_*` setter.
    Code { setter: &'static str },
    /// A key in a TOML document.
    #[cfg(feature = "config-file")]
    File {
        source_name: String,
        line: usize,
        key: String,
    },
    /// An environment variable (its value is not kept: it may be a secret).
    Env { var: &'static str },
}

impl Origin {
    /// "`key` at file:line", "`VAR`", "`Config::with_x`": where to go to change the value.
    pub(crate) fn describe(&self) -> String {
        match self {
            Origin::Code { setter } => format!("`Config::{setter}`"),
            #[cfg(feature = "config-file")]
            Origin::File {
                source_name,
                line,
                key,
            } => format!("`{key}` at {source_name}:{line}"),
            Origin::Env { var } => format!("`{var}`"),
        }
    }

    /// The error for `value`, set here, not being `expected`.
    pub(crate) fn invalid(&self, value: String, expected: String) -> ConfigError {
        match self {
            Origin::Code { setter } => ConfigError::Invalid {
                source_name: "<code>".to_owned(),
                line: None,
                key: format!("Config::{setter}"),
                value,
                expected,
            },
            #[cfg(feature = "config-file")]
            Origin::File {
                source_name,
                line,
                key,
            } => ConfigError::Invalid {
                source_name: source_name.clone(),
                line: Some(*line),
                key: key.clone(),
                value,
                expected,
            },
            Origin::Env { var } => ConfigError::Env {
                var: (*var).to_owned(),
                value,
                expected,
            },
        }
    }
}

/// A value set in one layer, and where.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Set<T> {
    pub(crate) value: T,
    pub(crate) origin: Origin,
}

impl<T> Set<T> {
    pub(crate) fn new(value: T, origin: Origin) -> Self {
        Set { value, origin }
    }

    pub(crate) fn code(setter: &'static str, value: T) -> Option<Self> {
        Some(Set::new(value, Origin::Code { setter }))
    }
}

/// Only the value: `Config`'s `Debug` stays readable, and origins add nothing to it.
impl<T: fmt::Debug> fmt::Debug for Set<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// The OTLP transport.
///
/// In a file: `protocol = "grpc"` or `"http/protobuf"`; in the environment:
/// `OTEL_EXPORTER_OTLP_PROTOCOL` (or `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`). The default is
/// `http/protobuf`, as the OpenTelemetry specification recommends.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{Config, Protocol};
///
/// let layer = Config::default()
///     .with_otlp_protocol(Protocol::Grpc)
///     .with_otlp_endpoint("http://collector:4317");
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP over gRPC (default port 4317).
    Grpc,
    /// OTLP over HTTP with protobuf bodies (default port 4318, path `/v1/traces`).
    HttpProtobuf,
}

impl From<Protocol> for OtlpProtocol {
    fn from(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Grpc => OtlpProtocol::Grpc,
            Protocol::HttpProtobuf => OtlpProtocol::HttpProtobuf,
        }
    }
}

/// The aggregation temporality the OTLP metrics exporter asks for: whether each export carries
/// totals since the start (cumulative) or only what changed since the last export (delta).
///
/// In a file: `telemetry.metrics.otlp.temporality = "cumulative"`, `"delta"` or `"lowmemory"`;
/// in the environment: `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (in any case), as the
/// OpenTelemetry specification defines it. The default is cumulative, which Prometheus-style
/// backends expect.
///
/// # Examples
///
/// ```
/// let layer = zdk_trace_runtime::Config::from_toml_str(
///     "[telemetry.metrics.otlp]\ntemporality = \"delta\"\n",
/// )?;
/// # let _ = layer;
/// # Ok::<(), zdk_trace_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Temporality {
    /// Every instrument reports totals since the process started (the default).
    #[default]
    Cumulative,
    /// Counters, asynchronous counters and histograms report what changed since the last
    /// export; up-down counters stay cumulative (the specification's `delta` preference).
    Delta,
    /// Synchronous counters and histograms report deltas, everything else stays cumulative:
    /// the least memory on the exporting side (the specification's `lowmemory` preference).
    LowMemory,
}

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtlpProtocol {
    Grpc,
    HttpProtobuf,
}

/// A value that must never be printed: its `Debug` shows `"***"`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}
