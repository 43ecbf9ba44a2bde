//! [`ConfigEntry`] and [`ConfigSource`]: one line of the [`ConfigReport`](super::ConfigReport),
//! and where its value came from; [`ConfigWarning`]: a value that is valid but will not work as
//! meant.

use std::fmt;
use std::path::PathBuf;

use super::values::{Origin, Set};

/// What an OTLP header value is shown as: header values often hold API keys.
pub const MASKED: &str = "****";

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
            #[cfg(feature = "config-file")]
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

/// A value that is valid but will not work as meant, such as an OTLP endpoint on Jaeger's
/// legacy port 14250, which does not accept OTLP. `install()` prints each warning on stderr
/// (`zdk-trace: warning: …`) and carries on; `zdk-trace status` lists them
/// ([`ConfigReport::warnings`](super::ConfigReport::warnings)).
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{Config, Telemetry};
///
/// let file = Config::from_toml_str(
///     "[[telemetry.tracing.exporters]]\ntype = \"jaeger\"\nendpoint = \"http://localhost:14250\"\n",
/// )?;
/// let report = Telemetry::builder().ignore_env().config(file).config_report()?;
/// let warning = &report.warnings[0];
/// assert_eq!(warning.key, "telemetry.tracing.exporters[0].endpoint");
/// assert!(warning.message.contains("http://localhost:4317"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigWarning {
    /// The key of the value, named as in `zdk-trace.toml`
    /// (`telemetry.tracing.exporters[1].endpoint`, `telemetry.tracing.otlp.endpoint`).
    pub key: String,
    /// Where the value came from.
    pub source: ConfigSource,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({}): {}", self.key, self.source, self.message)
    }
}

/// The source of the value set by the last layer that sets it, else the default.
pub(crate) fn source_of<T>(set: Option<&Set<T>>) -> ConfigSource {
    set.map_or(ConfigSource::Default, |s| ConfigSource::from(&s.origin))
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
