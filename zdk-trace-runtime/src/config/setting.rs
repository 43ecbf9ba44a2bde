//! What defines a setting: [`Setting`] for one value (its key in `zdk-trace.toml`, its
//! environment variables, its [`Kind`], its default, how `zdk-trace status` shows it),
//! [`EnvOnly`] for one that only variables set, and [`Custom`] for structured ones that keep
//! hand-written readers. The file reader, the environment reader, the resolver and the report
//! all go through [`Describe`], the view the table (`table.rs`) lists.

use std::ops::Deref;

use super::entry::{entry, source_of, ConfigEntry};
use super::env_value::Vars;
use super::error::ConfigError;
use super::settings::{OtlpSettings, Settings};
#[cfg(feature = "config-file")]
use super::toml_value::{Doc, Item};
use super::values::{Config, Origin, Set, Value};

/// Reads a layer's values from the variables (a setting's or a structured reader).
pub(crate) type EnvReader = fn(&Vars, &mut Config) -> Result<(), ConfigError>;
/// Reads a layer's values from one key of a file (a structured reader).
#[cfg(feature = "config-file")]
pub(crate) type FileReader = fn(&Doc<'_>, &mut Config, &str, &Item<'_>) -> Result<(), ConfigError>;
/// A check over one layer.
#[cfg(feature = "config-file")]
pub(crate) type LayerCheck = fn(&Config) -> Result<(), ConfigError>;

/// How one kind of value is read from a file and from a variable, checked when set in code,
/// and shown.
pub(crate) struct Kind<T: 'static> {
    /// From a TOML value; errors name the key, its line, the value and what is accepted.
    #[cfg(feature = "config-file")]
    pub(crate) file: fn(&Doc<'_>, &str, &Item<'_>) -> Result<T, ConfigError>,
    /// From a variable's value (trimmed, not empty); errors name the variable.
    pub(crate) env: fn(&'static str, &str) -> Result<T, ConfigError>,
    /// For a value set in code (file and environment values are checked when read): the value
    /// as shown and what is accepted, when it is out of range.
    pub(crate) check: fn(&T) -> Option<(String, String)>,
    /// As `zdk-trace status` shows it, spelled as the file takes it.
    pub(crate) show: fn(&T) -> String,
}

/// What a report entry is built from: the layers and what they resolve to.
pub(crate) struct ReportInput<'a> {
    pub(crate) layers: &'a [&'a Config],
    pub(crate) settings: &'a Settings,
    /// The OTLP settings, resolved even when no OTLP exporter is on.
    pub(crate) otlp: &'a OtlpSettings,
    /// The user's `ZDK_DISABLE_ALL_TRACING`.
    pub(crate) disable_all: bool,
}

/// Where and how a setting appears in [`ConfigReport`](super::ConfigReport). Entries are
/// sorted by `rank`; keys under `telemetry.usage.` go to the usage list.
pub(crate) enum Report {
    /// Not shown on its own (it is part of another entry).
    Hidden,
    /// The last value set, else the default, else `unset`.
    Value { rank: u16, unset: &'static str },
    /// The value the resolved settings hold (it depends on other settings too).
    Resolved {
        rank: u16,
        show: fn(&ReportInput<'_>) -> String,
    },
    /// Built by hand (structured values, one entry per attribute or header).
    Custom {
        rank: u16,
        entries: fn(&ReportInput<'_>, &mut Vec<ConfigEntry>),
    },
}

impl Report {
    fn rank(&self) -> Option<u16> {
        match self {
            Report::Hidden => None,
            Report::Value { rank, .. }
            | Report::Resolved { rank, .. }
            | Report::Custom { rank, .. } => Some(*rank),
        }
    }
}

/// A field of [`Config`] that keeps a setting's value.
pub(crate) struct Field<T: 'static> {
    pub(crate) get: fn(&Config) -> &Option<Set<T>>,
    pub(crate) get_mut: fn(&mut Config) -> &mut Option<Set<T>>,
}

/// One setting holding one value: everything about it is here.
pub(crate) struct Setting<T: 'static> {
    /// The full key in `zdk-trace.toml`, e.g. `telemetry.tracing.otlp.batch.max_queue_size`.
    pub(crate) key: &'static str,
    /// The variables that set it, lowest precedence first (`OTEL_EXPORTER_OTLP_TIMEOUT`, then
    /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`); every one is checked even when a later one wins.
    pub(crate) env: &'static [&'static str],
    /// The code setter, named in errors about a value set in code.
    pub(crate) setter: &'static str,
    pub(crate) kind: &'static Kind<T>,
    /// The value when no layer sets one (`None`: no value).
    pub(crate) default: fn() -> Option<T>,
    /// The layer's field that keeps it; `None`: the layer keeps it by key, with no field (a
    /// new setting needs none).
    pub(crate) field: Option<Field<T>>,
    /// Replaces the reading of [`env`](Self::env) when the variable does not simply carry the
    /// value (`OTEL_SDK_DISABLED=true` turns `telemetry.enabled` off).
    pub(crate) read_env: Option<EnvReader>,
    pub(crate) report: Report,
}

impl<T: Value + Clone> Setting<T> {
    /// `config` with this setting set in code (what each `with_*` setter is).
    pub(crate) fn code(&self, mut config: Config, value: T) -> Config {
        self.store(&mut config, Set::code(self.setter, value));
        config
    }

    /// The value set by the last layer that sets it, and where.
    pub(crate) fn last<'a>(&self, layers: &[&'a Config]) -> Option<&'a Set<T>> {
        layers.iter().rev().find_map(|layer| self.stored(layer))
    }

    /// The value `config` sets, if any.
    pub(crate) fn stored<'a>(&self, config: &'a Config) -> Option<&'a Set<T>> {
        match &self.field {
            Some(field) => (field.get)(config).as_ref(),
            None => config.keyed.get(self.key),
        }
    }

    fn store(&self, config: &mut Config, set: Option<Set<T>>) {
        match &self.field {
            Some(field) => *(field.get_mut)(config) = set,
            None => config.keyed.set(self.key, set),
        }
    }

    /// The effective value: the last one set (checked), else the default.
    pub(crate) fn value(&self, layers: &[&Config]) -> Result<Option<T>, ConfigError> {
        match self.last(layers) {
            Some(set) => match (self.kind.check)(&set.value) {
                Some((shown, expected)) => Err(set.origin.invalid(shown, expected)),
                None => Ok(Some(set.value.clone())),
            },
            None => Ok((self.default)()),
        }
    }

    /// [`value`](Self::value) over the layers `settings` were resolved from: how the part that
    /// uses a setting reads it, with no field of its own in [`Settings`].
    pub(crate) fn resolved(&self, settings: &Settings) -> Result<Option<T>, ConfigError> {
        let layers: Vec<&Config> = settings.layers.iter().collect();
        self.value(&layers)
    }

    fn shown(&self, layers: &[&Config], unset: &str) -> String {
        match self.last(layers) {
            Some(set) => (self.kind.show)(&set.value),
            None => (self.default)().map_or_else(|| unset.to_owned(), |d| (self.kind.show)(&d)),
        }
    }
}

/// A structured setting (resource attributes, headers, the exporter list, the OTLP endpoint)
/// whose readers and report are written by hand, and hang off this definition.
pub(crate) struct Custom {
    pub(crate) key: &'static str,
    pub(crate) env: &'static [&'static str],
    #[cfg(feature = "config-file")]
    pub(crate) read_file: FileReader,
    pub(crate) read_env: EnvReader,
    pub(crate) report: Report,
}

/// A setting that only its variables set: no table of a file takes its key, which names it in
/// the report. It is read as the [`Setting`] it wraps (`METRICS_EXPORTERS.resolved(..)`).
pub(crate) struct EnvOnly<T: 'static>(pub(crate) Setting<T>);

impl<T> Deref for EnvOnly<T> {
    type Target = Setting<T>;

    fn deref(&self) -> &Setting<T> {
        &self.0
    }
}

/// A setting as the readers and the report see it, whatever its type.
pub(crate) trait Describe: Sync {
    fn key(&self) -> &'static str;
    /// Whether a file may set it (else only its variables do).
    #[cfg(feature = "config-file")]
    fn in_file(&self) -> bool {
        true
    }
    fn env_vars(&self) -> &'static [&'static str];
    #[cfg(feature = "config-file")]
    fn read_file(
        &self,
        doc: &Doc<'_>,
        config: &mut Config,
        key: &str,
        item: &Item<'_>,
    ) -> Result<(), ConfigError>;
    fn read_env(&self, vars: &Vars, config: &mut Config) -> Result<(), ConfigError>;
    fn report_rank(&self) -> Option<u16>;
    fn report(&self, input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>);
}

impl<T: Value + Clone> Describe for Setting<T> {
    fn key(&self) -> &'static str {
        self.key
    }

    fn env_vars(&self) -> &'static [&'static str] {
        self.env
    }

    #[cfg(feature = "config-file")]
    fn read_file(
        &self,
        doc: &Doc<'_>,
        config: &mut Config,
        key: &str,
        item: &Item<'_>,
    ) -> Result<(), ConfigError> {
        let value = (self.kind.file)(doc, key, item)?;
        self.store(config, doc.set(key, item, value));
        Ok(())
    }

    fn read_env(&self, vars: &Vars, config: &mut Config) -> Result<(), ConfigError> {
        if let Some(read) = self.read_env {
            return read(vars, config);
        }
        for &var in self.env {
            if let Some(value) = vars.get(var) {
                let value = (self.kind.env)(var, value)?;
                self.store(config, Some(Set::new(value, Origin::Env { var })));
            }
        }
        Ok(())
    }

    fn report_rank(&self) -> Option<u16> {
        self.report.rank()
    }

    fn report(&self, input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
        let source = || source_of(self.last(input.layers));
        match &self.report {
            Report::Hidden => {}
            Report::Value { unset, .. } => {
                out.push(entry(self.key, self.shown(input.layers, unset), source()));
            }
            Report::Resolved { show, .. } => out.push(entry(self.key, show(input), source())),
            Report::Custom { entries, .. } => entries(input, out),
        }
    }
}

impl<T: Value + Clone> Describe for EnvOnly<T> {
    fn key(&self) -> &'static str {
        self.0.key()
    }

    #[cfg(feature = "config-file")]
    fn in_file(&self) -> bool {
        false
    }

    fn env_vars(&self) -> &'static [&'static str] {
        self.0.env_vars()
    }

    // Never called: `children` does not offer the key to a file.
    #[cfg(feature = "config-file")]
    fn read_file(
        &self,
        doc: &Doc<'_>,
        config: &mut Config,
        key: &str,
        item: &Item<'_>,
    ) -> Result<(), ConfigError> {
        self.0.read_file(doc, config, key, item)
    }

    fn read_env(&self, vars: &Vars, config: &mut Config) -> Result<(), ConfigError> {
        self.0.read_env(vars, config)
    }

    fn report_rank(&self) -> Option<u16> {
        self.0.report_rank()
    }

    fn report(&self, input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
        self.0.report(input, out);
    }
}

impl Describe for Custom {
    fn key(&self) -> &'static str {
        self.key
    }

    fn env_vars(&self) -> &'static [&'static str] {
        self.env
    }

    #[cfg(feature = "config-file")]
    fn read_file(
        &self,
        doc: &Doc<'_>,
        config: &mut Config,
        key: &str,
        item: &Item<'_>,
    ) -> Result<(), ConfigError> {
        (self.read_file)(doc, config, key, item)
    }

    fn read_env(&self, vars: &Vars, config: &mut Config) -> Result<(), ConfigError> {
        (self.read_env)(vars, config)
    }

    fn report_rank(&self) -> Option<u16> {
        self.report.rank()
    }

    fn report(&self, input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
        if let Report::Custom { entries, .. } = &self.report {
            entries(input, out);
        }
    }
}

/// The names a TOML table at `path` accepts: the next part of every key under it that a file
/// may set, in the order of `settings` (`""` is the document's root).
#[cfg(feature = "config-file")]
pub(crate) fn children(settings: &[&dyn Describe], path: &str) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for setting in settings.iter().filter(|s| s.in_file()) {
        let key = setting.key();
        let rest = if path.is_empty() {
            Some(key)
        } else {
            key.strip_prefix(path)
                .and_then(|rest| rest.strip_prefix('.'))
        };
        if let Some(rest) = rest {
            let name = rest.split('.').next().unwrap_or(rest);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}
