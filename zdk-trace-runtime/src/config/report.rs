//! [`ConfigReport`]: the effective configuration and where each value came from, as
//! [`TelemetryBuilder::install`](crate::TelemetryBuilder::install) would resolve it, without
//! installing anything (what `zdk-trace status` prints).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::error::ConfigError;
use super::layer::{Config, ExporterChoice, Origin, Set};
use super::resolve::{resolve, resolve_otlp};
use super::settings::{ExporterSettings, OtlpProtocol, Settings};
use super::usage_reason::UsageReason;
use crate::genai::CaptureMode;
use crate::sampling::Sampler;

/// What an OTLP header value is shown as: header values often hold API keys.
pub const MASKED: &str = "****";

/// The effective configuration of both layers (the trace pipeline and the anonymous usage
/// layer), each value with the place it came from.
///
/// Built by [`TelemetryBuilder::config_report`](crate::TelemetryBuilder::config_report),
/// which reads the same sources as `install()` (code, `zdk-trace.toml`, the environment) and
/// changes nothing: in particular the anonymous id is only read, never created. OTLP header
/// values are replaced with [`MASKED`].
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{ConfigSource, Telemetry};
///
/// let report = Telemetry::builder()
///     .service_name("my-agent")
///     .env_vars([("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t")])
///     .config_report()?;
/// let name = report.entry("telemetry.service_name").unwrap();
/// assert_eq!(name.value, "my-agent");
/// assert!(matches!(name.source, ConfigSource::Code { .. }));
/// assert!(!format!("{report:?}").contains("s3cr3t"));
/// # Ok::<(), zdk_trace_runtime::InstallError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConfigReport {
    /// The trace pipeline's settings, in the order of the configuration file's sections.
    pub tracing: Vec<ConfigEntry>,
    /// The anonymous usage layer's settings, its state and the anonymous id.
    pub usage: Vec<ConfigEntry>,
    /// Whether the trace pipeline would record spans.
    pub tracing_enabled: bool,
    /// Whether the usage layer would run, and exactly why (the first opt-out that applies).
    pub usage_reason: UsageReason,
}

impl ConfigReport {
    /// The entry named `key` (of either layer), e.g. `telemetry.tracing.otlp.endpoint`.
    ///
    /// # Examples
    ///
    /// ```
    /// let report = zdk_trace_runtime::Telemetry::builder().ignore_env().config_report()?;
    /// assert_eq!(report.entry("telemetry.tracing.otlp.protocol").unwrap().value, "http/protobuf");
    /// # Ok::<(), zdk_trace_runtime::InstallError>(())
    /// ```
    pub fn entry(&self, key: &str) -> Option<&ConfigEntry> {
        self.tracing
            .iter()
            .chain(&self.usage)
            .find(|entry| entry.key == key)
    }
}

/// One effective setting: its key (as written in `zdk-trace.toml`), its value as text and
/// where it came from.
///
/// # Examples
///
/// ```
/// let report = zdk_trace_runtime::Telemetry::builder().ignore_env().config_report()?;
/// for entry in &report.tracing {
///     println!("{} = {} ({})", entry.key, entry.value, entry.source);
/// }
/// # Ok::<(), zdk_trace_runtime::InstallError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigEntry {
    /// The key, named as in `zdk-trace.toml` (`telemetry.tracing.otlp.endpoint`); keys that
    /// are not settings (`usage.state`, `usage.anonymous_id`) start with `usage.`.
    pub key: String,
    /// The effective value as text; secrets are [`MASKED`].
    pub value: String,
    /// Where the value came from.
    pub source: ConfigSource,
}

/// Where an effective value came from.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::ConfigSource;
///
/// let source = ConfigSource::Env { var: "OTEL_SERVICE_NAME".to_owned() };
/// assert_eq!(source.to_string(), "env `OTEL_SERVICE_NAME`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// Nobody set it: the built-in default.
    Default,
    /// A `Config::with_*` setter or a `TelemetryBuilder` method.
    Code {
        /// The setter, e.g. `with_service_name`.
        setter: String,
    },
    /// A file: `zdk-trace.toml` (with the key's line), or a file the usage layer reads.
    File {
        /// The file's path as it was opened.
        path: PathBuf,
        /// The line of the key, when the value is a key of a TOML file.
        line: Option<usize>,
    },
    /// An environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Default => f.write_str("default"),
            ConfigSource::Code { setter } => write!(f, "code `{setter}`"),
            ConfigSource::File {
                path,
                line: Some(line),
            } => write!(f, "file {}:{line}", path.display()),
            ConfigSource::File { path, line: None } => write!(f, "file {}", path.display()),
            ConfigSource::Env { var } => write!(f, "env `{var}`"),
        }
    }
}

impl From<&Origin> for ConfigSource {
    fn from(origin: &Origin) -> Self {
        match origin {
            Origin::Code { setter } => ConfigSource::Code {
                setter: (*setter).to_owned(),
            },
            Origin::File {
                source_name, line, ..
            } => ConfigSource::File {
                path: PathBuf::from(source_name),
                line: Some(*line),
            },
            Origin::Env { var } => ConfigSource::Env {
                var: (*var).to_owned(),
            },
        }
    }
}

/// The source of the value set by the last layer that sets it, else the default.
fn source_of<T>(set: Option<&Set<T>>) -> ConfigSource {
    set.map_or(ConfigSource::Default, |s| ConfigSource::from(&s.origin))
}

fn last<'a, T>(
    layers: &[&'a Config],
    field: impl Fn(&'a Config) -> &'a Option<Set<T>>,
) -> Option<&'a Set<T>> {
    layers.iter().rev().find_map(|layer| field(layer).as_ref())
}

pub(crate) fn entry(
    key: impl Into<String>,
    value: impl Into<String>,
    source: ConfigSource,
) -> ConfigEntry {
    ConfigEntry {
        key: key.into(),
        value: value.into(),
        source,
    }
}

/// The sampler as the configuration file spells it: `always_on`, `always_off`,
/// `probability 0.1`, `parent_based (root: always_on)`.
pub(crate) fn sampler_text(sampler: &Sampler) -> String {
    match sampler {
        Sampler::AlwaysOn => "always_on".to_owned(),
        Sampler::AlwaysOff => "always_off".to_owned(),
        Sampler::TraceIdRatio(p) => format!("probability {p}"),
        Sampler::ParentBased(root) => format!("parent_based (root: {})", sampler_text(root)),
    }
}

/// The capture mode as `telemetry.genai.capture_message_content` takes it.
pub(crate) fn capture_text(mode: CaptureMode) -> &'static str {
    match mode {
        CaptureMode::NoContent => "no_content",
        CaptureMode::SpanOnly => "span_only",
        CaptureMode::EventOnly => "event_only",
        CaptureMode::SpanAndEvent => "span_and_event",
    }
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// The trace pipeline's entries, resolved from `layers` (code, file, environment) exactly as
/// `install()` resolves them; `disable_all` is the user's `ZDK_DISABLE_ALL_TRACING`.
pub(crate) fn tracing_entries(
    layers: &[&Config],
    env_for_expansion: &dyn Fn(&str) -> Option<String>,
    disable_all: bool,
) -> Result<(Settings, Vec<ConfigEntry>), ConfigError> {
    let settings = resolve(layers, env_for_expansion)?;
    let mut out = Vec::new();

    let enabled_source = if disable_all {
        ConfigSource::Env {
            var: "ZDK_DISABLE_ALL_TRACING".to_owned(),
        }
    } else {
        // The switch that turned tracing off, else the last one set.
        let tracing = last(layers, |c| &c.tracing_enabled);
        let all = last(layers, |c| &c.enabled);
        match (all, tracing) {
            (_, Some(t)) if !t.value => source_of(Some(t)),
            (Some(a), _) => source_of(Some(a)),
            (None, t) => source_of(t),
        }
    };
    out.push(entry(
        "telemetry.enabled",
        (settings.enabled && !disable_all).to_string(),
        enabled_source,
    ));

    // The service name may come from a `service.name` resource attribute of some layer.
    let name_source = layers
        .iter()
        .rev()
        .find_map(|layer| {
            layer.service_name.as_ref().map(|s| &s.origin).or_else(|| {
                layer
                    .resource
                    .iter()
                    .rev()
                    .find(|s| s.value.0 == "service.name")
                    .map(|s| &s.origin)
            })
        })
        .map_or(ConfigSource::Default, ConfigSource::from);
    out.push(entry(
        "telemetry.service_name",
        settings.service_name.clone(),
        name_source,
    ));
    let version = last(layers, |c| &c.service_version);
    out.push(entry(
        "telemetry.service_version",
        settings
            .service_version
            .clone()
            .unwrap_or_else(|| "(none)".to_owned()),
        source_of(version),
    ));
    for (key, value) in &settings.resource_attributes {
        let set = layers
            .iter()
            .rev()
            .find_map(|layer| layer.resource.iter().rev().find(|s| &s.value.0 == key));
        out.push(entry(
            format!("telemetry.resource.{key}"),
            value.clone(),
            source_of(set),
        ));
    }

    let strategy = last(layers, |c| &c.sampling.strategy);
    let probability = last(layers, |c| &c.sampling.probability);
    out.push(entry(
        "telemetry.tracing.sampling.strategy",
        sampler_text(&settings.sampler),
        strategy
            .map(|s| &s.origin)
            .or(probability.map(|p| &p.origin))
            .map_or(ConfigSource::Default, ConfigSource::from),
    ));
    out.push(entry(
        "telemetry.tracing.sampling.always_sample_errors",
        settings.tail.keep_errors.to_string(),
        source_of(last(layers, |c| &c.sampling.keep_errors)),
    ));
    out.push(entry(
        "telemetry.tracing.sampling.always_sample_slow_seconds",
        settings
            .tail
            .slow_threshold
            .map_or_else(|| "(none)".to_owned(), seconds),
        source_of(last(layers, |c| &c.sampling.slow_threshold)),
    ));
    out.push(entry(
        "telemetry.tracing.sampling.max_traces_per_second",
        settings
            .tail
            .max_traces_per_second
            .map_or_else(|| "(no limit)".to_owned(), |n| n.to_string()),
        source_of(last(layers, |c| &c.sampling.max_traces_per_second)),
    ));

    let b = &settings.batch;
    out.push(entry(
        "telemetry.tracing.otlp.batch.max_queue_size",
        b.max_queue_size.to_string(),
        source_of(last(layers, |c| &c.batch.max_queue_size)),
    ));
    out.push(entry(
        "telemetry.tracing.otlp.batch.max_export_batch_size",
        b.max_export_batch_size.to_string(),
        source_of(last(layers, |c| &c.batch.max_export_batch_size)),
    ));
    out.push(entry(
        "telemetry.tracing.otlp.batch.scheduled_delay_seconds",
        seconds(b.scheduled_delay),
        source_of(last(layers, |c| &c.batch.scheduled_delay)),
    ));
    out.push(entry(
        "telemetry.tracing.otlp.batch.export_timeout_seconds",
        seconds(b.export_timeout),
        source_of(last(layers, |c| &c.batch.export_timeout)),
    ));

    let exporters = last(layers, |c| &c.exporters);
    let endpoint = last(layers, |c| &c.otlp.endpoint);
    let (list, exporters_source) = match (exporters, settings.exporters.is_empty()) {
        (Some(list), _) => (
            list.value
                .iter()
                .map(|choice| match choice {
                    ExporterChoice::Stdout => "stdout".to_owned(),
                    ExporterChoice::File(path) => format!("file {}", path.display()),
                    ExporterChoice::Otlp => "otlp".to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            source_of(Some(list)),
        ),
        // No list anywhere: an endpoint turns OTLP on, else the console is used.
        (None, false) => ("otlp".to_owned(), source_of(endpoint)),
        (None, true) => ("stdout".to_owned(), ConfigSource::Default),
    };
    out.push(entry("telemetry.tracing.exporters", list, exporters_source));

    // The OTLP settings, shown even when no OTLP exporter is on (what `zdk-trace check` uses).
    let otlp = match settings.exporters.iter().find_map(|e| match e {
        ExporterSettings::Otlp(otlp) => Some(otlp.clone()),
        _ => None,
    }) {
        Some(otlp) => otlp,
        None => resolve_otlp(layers, env_for_expansion)?,
    };
    out.push(entry(
        "telemetry.tracing.otlp.endpoint",
        otlp.endpoint.clone(),
        source_of(endpoint),
    ));
    out.push(entry(
        "telemetry.tracing.otlp.protocol",
        match otlp.protocol {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        },
        source_of(last(layers, |c| &c.otlp.protocol)),
    ));
    for (name, _) in &otlp.headers {
        let set = layers.iter().rev().find_map(|layer| {
            layer
                .otlp
                .headers
                .iter()
                .rev()
                .find(|s| s.value.0.eq_ignore_ascii_case(name))
        });
        out.push(entry(
            format!("telemetry.tracing.otlp.headers.{name}"),
            MASKED,
            source_of(set),
        ));
    }
    out.push(entry(
        "telemetry.tracing.otlp.timeout_seconds",
        seconds(otlp.timeout),
        source_of(last(layers, |c| &c.otlp.timeout)),
    ));
    out.push(entry(
        "telemetry.tracing.otlp.compression",
        if otlp.gzip { "gzip" } else { "none" },
        source_of(last(layers, |c| &c.otlp.gzip)),
    ));
    out.push(entry(
        "telemetry.genai.capture_message_content",
        capture_text(settings.capture),
        source_of(last(layers, |c| &c.capture)),
    ));
    Ok((settings, out))
}

/// The usage layer's settings as the application configured them (before the user's
/// opt-outs, which [`crate::usage`] adds).
pub(crate) fn usage_setting_entries(layers: &[&Config], settings: &Settings) -> Vec<ConfigEntry> {
    vec![
        entry(
            "telemetry.usage.enabled",
            settings.usage.enabled.to_string(),
            source_of(last(layers, |c| &c.usage.enabled)),
        ),
        entry(
            "telemetry.usage.endpoint",
            settings
                .usage
                .url
                .clone()
                .unwrap_or_else(|| "(none)".to_owned()),
            source_of(last(layers, |c| &c.usage.endpoint)),
        ),
        entry(
            "telemetry.usage.notice",
            settings.usage.notice.to_string(),
            source_of(last(layers, |c| &c.usage.notice)),
        ),
    ]
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn values_are_spelled_as_the_file_takes_them() {
        let file = Config::from_toml_str(
            "[telemetry.tracing.sampling]\nstrategy = \"parent_based\"\nprobability = 0.5\n\
             [telemetry.genai]\ncapture_message_content = \"span_only\"\n",
        )
        .unwrap();
        let (_, entries) = tracing_entries(&[&file], &|_| None, false).unwrap();
        let value = |key: &str| {
            entries
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.value.clone())
                .unwrap()
        };
        assert_eq!(
            value("telemetry.tracing.sampling.strategy"),
            "parent_based (root: probability 0.5)"
        );
        assert_eq!(
            value("telemetry.genai.capture_message_content"),
            "span_only"
        );
        let (_, defaults) = tracing_entries(&[], &|_| None, false).unwrap();
        assert!(defaults
            .iter()
            .any(|e| e.key == "telemetry.tracing.sampling.strategy" && e.value == "always_on"));
        assert!(
            defaults
                .iter()
                .any(|e| e.key == "telemetry.genai.capture_message_content"
                    && e.value == "no_content")
        );
    }
}
