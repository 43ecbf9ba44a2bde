//! [`UsageOptions`]: what the application tells the usage layer, handed to
//! [`TelemetryBuilder::usage`](crate::TelemetryBuilder::usage).

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_sdk::trace::SpanExporter;

use super::allowlist::UsageKeys;
use super::Output;
use crate::export::DynExporter;

/// The application's choices for the anonymous usage layer (see [`usage`](crate::usage)),
/// given to [`TelemetryBuilder::usage`](crate::TelemetryBuilder::usage).
///
/// Every option is unset until a method sets it. Options set here are the code layer of the
/// configuration: `[telemetry.usage]` in `zdk-trace.toml` overrides `enabled`, `endpoint` and
/// `notice`, and the user's opt-outs (`DO_NOT_TRACK`, CI, …) apply whatever the application
/// says. Calling `TelemetryBuilder::usage` again applies the options set in the new value over
/// the earlier ones (allowlists add up).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use zdk_trace_runtime::usage::UsageOptions;
/// use zdk_trace_runtime::Telemetry;
///
/// zdk_trace_runtime::usage_keys!(APP_USAGE_KEYS = ["plugin.name"]);
///
/// let builder = Telemetry::builder().usage(
///     UsageOptions::new()
///         .enabled(true)
///         .endpoint("http://usage.example.com:4318")
///         .notice(false)
///         .allowlist(APP_USAGE_KEYS)
///         .circuit_cooldown(Duration::from_secs(300)),
/// );
/// # drop(builder);
/// ```
#[derive(Debug, Default)]
#[must_use = "hand the options to `TelemetryBuilder::usage`"]
pub struct UsageOptions {
    pub(crate) enabled: Option<bool>,
    pub(crate) endpoint: Option<String>,
    pub(crate) notice: Option<bool>,
    pub(crate) config_dir: Option<PathBuf>,
    pub(crate) exporter: Option<Box<dyn DynExporter>>,
    pub(crate) keys: Vec<&'static str>,
    pub(crate) output: Option<Output>,
    pub(crate) cooldown: Option<Duration>,
}

impl UsageOptions {
    /// No option set: the usage layer stays as the configuration file and the defaults say
    /// (off).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = zdk_trace_runtime::usage::UsageOptions::new();
    /// # drop(options);
    /// ```
    pub fn new() -> Self {
        UsageOptions::default()
    }

    /// Turns the usage layer on (`true`) or off. Off by default; also
    /// `[telemetry.usage] enabled = true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::usage::UsageOptions;
    /// let options = UsageOptions::new().enabled(true).endpoint("http://usage.example.com:4318");
    /// # drop(options);
    /// ```
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// Where usage events go: an OTLP/HTTP base URL, `/v1/traces` is appended. Also
    /// `[telemetry.usage] endpoint`. Without one (and without a
    /// [`span_exporter`](Self::span_exporter)) nothing is sent. Only `http://`: this build's
    /// usage client has no TLS backend, so
    /// [`install`](crate::TelemetryBuilder::install) refuses an `https://` endpoint with
    /// [`InstallError::Config`](crate::InstallError::Config).
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::usage::UsageOptions;
    /// let options = UsageOptions::new().endpoint("http://localhost:4318");
    /// # drop(options);
    /// ```
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Allows (`true`, the default) or suppresses the one-time notice printed on stderr the
    /// first time the usage layer is active for a user. Also `[telemetry.usage] notice`.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = zdk_trace_runtime::usage::UsageOptions::new().notice(false);
    /// # drop(options);
    /// ```
    pub fn notice(mut self, notice: bool) -> Self {
        self.notice = Some(notice);
        self
    }

    /// Keeps the usage layer's files (the anonymous id, the notice marker) and looks for the
    /// `no-tracing` opt-out file in `dir`, instead of `$XDG_CONFIG_HOME/zdk` or
    /// `~/.config/zdk`. For tests and sandboxed applications.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = zdk_trace_runtime::usage::UsageOptions::new()
    ///     .config_dir(std::env::temp_dir().join("my-app-zdk"));
    /// # drop(options);
    /// ```
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(dir.into());
        self
    }

    /// Hands usage events (from [`macro@crate::usage_event`] and the [`usage`](crate::usage)
    /// functions), as spans, to `exporter` instead of sending them over HTTP: tests use
    /// `InMemorySpanExporter`, and an application can route usage elsewhere. Each event is one
    /// span named after it, with `system.os`, `system.arch` and `event.<key>` attributes
    /// (`agent.type` → `event.agent_type`): exactly what would be sent. Usage events never
    /// enter the trace pipeline.
    ///
    /// Giving an exporter in code is an explicit choice, so it turns the usage layer on (no
    /// endpoint needed) unless [`enabled(false)`](Self::enabled) or `[telemetry.usage] enabled
    /// = false` says otherwise. The user's opt-outs still apply (`DO_NOT_TRACK`, CI, … see
    /// [`usage`](crate::usage)), as do the sanitizer and the circuit breaker.
    ///
    /// # Examples
    ///
    /// ```
    /// use opentelemetry_sdk::trace::InMemorySpanExporter;
    /// use zdk_trace_runtime::usage::UsageOptions;
    /// use zdk_trace_runtime::{usage_event, Telemetry};
    ///
    /// #[usage_event(name = "command.run", fields(command.name = "init"))]
    /// fn init() {}
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let usage = InMemorySpanExporter::default();
    /// let telemetry = Telemetry::builder()
    /// #   .span_exporter(InMemorySpanExporter::default())
    /// #   // Not the process environment: it may opt out (`CI=true` does).
    /// #   .env_vars([("HOME", "/nonexistent")])
    ///     .usage(UsageOptions::new().notice(false).span_exporter(usage.clone()))
    ///     .install()?;
    /// init();
    /// telemetry.force_flush()?;
    /// assert_eq!(usage.get_finished_spans()?[0].name, "command.run");
    /// # telemetry.shutdown()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.exporter = Some(Box::new(exporter));
        self
    }

    /// Accepts the application's usage keys (declared with [`usage_keys!`](crate::usage_keys))
    /// besides the built-in [`ALLOWED_KEYS`](crate::usage::ALLOWED_KEYS), for
    /// `#[usage_event(keys = ...)]` and [`track_event`](crate::usage::track_event) alike; the
    /// usage sanitizer drops (and counts) every other key before the event is queued. Can be
    /// called more than once: the lists add up.
    ///
    /// # Examples
    ///
    /// ```
    /// zdk_trace_runtime::usage_keys!(APP_USAGE_KEYS = ["plugin.name"]);
    ///
    /// let options = zdk_trace_runtime::usage::UsageOptions::new().allowlist(APP_USAGE_KEYS);
    /// # drop(options);
    /// ```
    pub fn allowlist(mut self, keys: UsageKeys) -> Self {
        self.keys.extend_from_slice(keys.as_slice());
        self
    }

    /// Writes the usage layer's one-time notice, its debug output (`ZDK_TELEMETRY_DEBUG`) and
    /// its single failure warning to `output` instead of stderr (tests, or an application
    /// that routes its own logs).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = zdk_trace_runtime::usage::UsageOptions::new().output(std::io::sink());
    /// # drop(options);
    /// ```
    pub fn output(mut self, output: impl std::io::Write + Send + 'static) -> Self {
        self.output = Some(Output::new(output));
        self
    }

    /// How long the usage circuit stays open after the endpoint failed (default 60 s):
    /// events are dropped and counted meanwhile, then one batch is tried again. Also
    /// `[telemetry.usage] circuit_cooldown_seconds`, which overrides it. From 0 to 1 hour;
    /// a longer one makes [`install`](crate::TelemetryBuilder::install) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = zdk_trace_runtime::usage::UsageOptions::new()
    ///     .circuit_cooldown(Duration::from_secs(300));
    /// # drop(options);
    /// ```
    pub fn circuit_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = Some(cooldown);
        self
    }

    /// `later` applied over `self`: the options `later` sets replace these; allowlists add up.
    pub(crate) fn merge(mut self, later: UsageOptions) -> Self {
        let UsageOptions {
            enabled,
            endpoint,
            notice,
            config_dir,
            exporter,
            keys,
            output,
            cooldown,
        } = later;
        self.enabled = enabled.or(self.enabled);
        self.endpoint = endpoint.or(self.endpoint);
        self.notice = notice.or(self.notice);
        self.config_dir = config_dir.or(self.config_dir);
        self.exporter = exporter.or(self.exporter);
        self.keys.extend(keys);
        self.output = output.or(self.output);
        self.cooldown = cooldown.or(self.cooldown);
        self
    }
}
