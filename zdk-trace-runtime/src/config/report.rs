//! [`ConfigReport`]: the effective configuration and where each value came from, as
//! [`TelemetryBuilder::install`](crate::TelemetryBuilder::install) would resolve it, without
//! installing anything (what `zdk-trace status` prints).

use super::entry::{ConfigEntry, ConfigWarning};
use super::error::ConfigError;
use super::resolve::{resolve, resolve_otlp};
use super::setting::ReportInput;
use super::settings::{ExporterSettings, Settings};
use super::table::SETTINGS;
use super::usage_reason::UsageReason;
use super::values::Config;

/// The effective configuration of both layers (the trace pipeline and the anonymous usage
/// layer), each value with the place it came from.
///
/// Built by [`TelemetryBuilder::config_report`](crate::TelemetryBuilder::config_report),
/// which reads the same sources as `install()` (code, `zdk-trace.toml`, the environment) and
/// changes nothing: in particular the anonymous id is only read, never created. OTLP header
/// values are replaced with [`MASKED`](super::MASKED).
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
    /// The trace pipeline's settings, in the order of the configuration file's sections, then
    /// the metrics settings (keys starting with `telemetry.metrics.`), then the profiling
    /// settings (keys starting with `telemetry.profiling.`).
    pub tracing: Vec<ConfigEntry>,
    /// The anonymous usage layer's settings, its state and the anonymous id.
    pub usage: Vec<ConfigEntry>,
    /// Whether the trace pipeline would record spans.
    pub tracing_enabled: bool,
    /// Whether the usage layer would run, and exactly why (the first opt-out that applies).
    pub usage_reason: UsageReason,
    /// Values that are valid but will not work as meant (an OTLP endpoint on Jaeger's legacy
    /// port 14250, say): what `install()` prints on stderr, and `zdk-trace status` lists.
    pub warnings: Vec<ConfigWarning>,
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

/// The trace pipeline's entries, resolved from `layers` (code, file, environment) exactly as
/// `install()` resolves them; `disable_all` is the user's `ZDK_DISABLE_ALL_TRACING`. Each
/// setting of the [table](super::table) shows itself, in the order of its rank.
pub(crate) fn tracing_entries(
    layers: &[&Config],
    env_for_expansion: &dyn Fn(&str) -> Option<String>,
    disable_all: bool,
) -> Result<(Settings, Vec<ConfigEntry>), ConfigError> {
    let settings = resolve(layers, env_for_expansion)?;
    // The OTLP settings, shown even when no OTLP exporter is on (what `zdk-trace check` uses).
    let otlp = match settings.exporters.iter().find_map(|e| match e {
        ExporterSettings::Otlp(otlp) => Some(otlp.clone()),
        _ => None,
    }) {
        Some(otlp) => otlp,
        None => resolve_otlp(layers, env_for_expansion)?,
    };
    let input = ReportInput {
        layers,
        settings: &settings,
        otlp: &otlp,
        disable_all,
    };
    let entries = entries(&input, |key| !key.starts_with(USAGE_PREFIX));
    Ok((settings, entries))
}

/// The usage layer's settings as the application configured them (before the user's
/// opt-outs, which [`crate::usage`] adds). `telemetry.usage.enabled` comes first.
pub(crate) fn usage_setting_entries(
    layers: &[&Config],
    settings: &Settings,
    env_for_expansion: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<ConfigEntry>, ConfigError> {
    let otlp = resolve_otlp(layers, env_for_expansion)?;
    let input = ReportInput {
        layers,
        settings,
        otlp: &otlp,
        disable_all: false,
    };
    Ok(entries(&input, |key| key.starts_with(USAGE_PREFIX)))
}

const USAGE_PREFIX: &str = "telemetry.usage.";

/// The entries of the settings whose key `wanted` accepts, by rank.
fn entries(input: &ReportInput<'_>, wanted: impl Fn(&str) -> bool) -> Vec<ConfigEntry> {
    let mut shown: Vec<_> = SETTINGS
        .iter()
        .filter(|s| wanted(s.key()))
        .filter_map(|s| s.report_rank().map(|rank| (rank, *s)))
        .collect();
    shown.sort_by_key(|(rank, _)| *rank);
    let mut out = Vec::new();
    for (_, setting) in shown {
        setting.report(input, &mut out);
    }
    out
}

// These tests read `zdk-trace.toml` documents.
#[cfg(all(test, feature = "config-file"))]
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
