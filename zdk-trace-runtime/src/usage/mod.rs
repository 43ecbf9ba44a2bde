//! Anonymous usage telemetry: which features, frameworks and error types are used, never what
//! they were used on.
//!
//! This layer is separate from tracing. Traces carry real data and go to the operator's own
//! backend; usage events are counts of *kinds* of things, sent to the endpoint the application
//! names, through their own queue, batching, HTTP client and circuit breaker. Turning either
//! layer off never changes the other (except `ZDK_DISABLE_ALL_TRACING`, which turns off both):
//! `OTEL_SDK_DISABLED=true` stops traces, not usage events.
//!
//! # Off unless the application turns it on
//!
//! ```toml
//! [telemetry.usage]
//! enabled = true
//! endpoint = "http://usage.example.com:4318"   # OTLP/HTTP base URL; /v1/traces is appended
//! notice = true                                # the one-time notice (default true)
//! ```
//!
//! or in code with [`TelemetryBuilder::usage`](crate::TelemetryBuilder::usage) and
//! [`UsageOptions::endpoint`]. With no
//! endpoint nothing is sent. The endpoint must be `http://`: the HTTP client of this layer is
//! built without TLS, and an `https://` endpoint is refused at install
//! ([`InstallError::Config`](crate::InstallError::Config)).
//!
//! [`UsageOptions::span_exporter`]
//! hands the events, as spans, to an exporter of the application's choice instead (tests use
//! `InMemorySpanExporter`). Giving one in code is an explicit choice, so it turns the layer on
//! without an endpoint, unless the code also says `usage(false)` or the configuration file
//! says `enabled = false`. Either way, the user's opt-outs below still apply.
//!
//! While the layer is off, `#[usage_event]` and the `track_*` functions cost one atomic load
//! and build nothing.
//!
//! # Events from code: `#[usage_event]`
//!
//! [`macro@crate::usage_event`] sends one event per call of a function, with `duration_ms` and
//! `success` filled in (`false` on `Err`, a panic, or a future or stream dropped before its
//! end). Its keys are checked at compile time against [`ALLOWED_KEYS`] (a typo names the
//! closest key), and its values must be of a type that cannot carry user content: `bool`,
//! integers, floats, string literals written in the attribute, or a type implementing
//! [`UsageLabel`] (a fixed `&'static str` per value, typically an enum), or an `Option` of
//! those (`None` leaves the key out). A `String`, a `&str` variable or `format!(..)` does not
//! compile.
//!
//! ```
//! use zdk_trace_runtime::usage::UsageLabel;
//! use zdk_trace_runtime::usage_event;
//!
//! #[derive(Clone, Copy)]
//! enum Mode { Chat, Batch }
//!
//! impl UsageLabel for Mode {
//!     fn label(&self) -> &'static str {
//!         match self { Mode::Chat => "chat", Mode::Batch => "batch" }
//!     }
//! }
//!
//! #[usage_event(name = "agent.run", fields(agent.type = mode, framework = "zdk"))]
//! fn run(mode: Mode) -> Result<(), String> {
//!     Ok(())
//! }
//! # assert!(run(Mode::Batch).is_ok());
//! # let _ = Mode::Chat;
//! ```
//!
//! # Events from values known at run time: the dynamic API
//!
//! [`track_agent_run`], [`track_feature_usage`], [`track_error`] and [`track_event`] (with an
//! [`EventType`]) are called where the event happens, with values chosen at run time among
//! fixed labels: their text parameters take [`UsageText`] (a `&'static str` or a
//! [`UsageLabel`]) and [`UsageValue::Str`] holds a `&'static str`, so an error message or user
//! input (a `String`) does not compile. The sanitizer then checks every event: keys off the allowlist are dropped, string values that look
//! like personal data or secrets (emails, URLs, paths, IP addresses, host names, UUIDs, runs of
//! 7+ digits, credential-shaped tokens) are dropped, strings longer than [`MAX_STRING_LEN`]
//! characters are cut, non-finite numbers are dropped, and each removal is counted
//! ([`UsageCounters::keys_dropped`], [`UsageCounters::values_screened`],
//! [`UsageCounters::strings_truncated`]). Events of `#[usage_event]` go through the same
//! sanitizer. All of them return at once.
//!
//! # Application keys
//!
//! An application that needs keys beyond [`ALLOWED_KEYS`] declares them once with
//! [`usage_keys!`](crate::usage_keys), names that list in each `#[usage_event]` that uses them
//! (`keys = ...`, checked at compile time: a key missing from the list does not compile), and
//! hands the same list to the runtime with
//! [`UsageOptions::allowlist`] so the
//! sanitizer keeps those keys (keys it does not know are dropped, and counted, before they are
//! queued). The same list then also admits those keys from [`track_event`].
//!
//! ```
//! use zdk_trace_runtime::usage::UsageOptions;
//! use zdk_trace_runtime::{usage_event, usage_keys, Telemetry};
//!
//! usage_keys!(pub APP_USAGE_KEYS = ["plugin.name", "model.family"]);
//!
//! #[usage_event(name = "plugin.load", keys = APP_USAGE_KEYS, fields(plugin.name = "pdf"))]
//! fn load_plugin() {}
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = Telemetry::builder()
//! #   .span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
//! #   .env_vars([("HOME", "/nonexistent")])
//!     .usage(
//!         UsageOptions::new()
//!             .allowlist(APP_USAGE_KEYS)
//! #           .notice(false)
//!             .span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default()),
//!     )
//!     .install()?;
//! load_plugin();
//! # telemetry.shutdown()?;
//! # Ok(())
//! # }
//! ```
//!
//! # What is sent
//!
//! Each event becomes one span of an OTLP/JSON request, gzip-compressed, POSTed to
//! `{endpoint}/v1/traces` in batches (or one span handed to the exporter given with [`UsageOptions::span_exporter`]):
//!
//! - the resource: `service.name` and `service.version` (the application's), `user.id` (a
//!   random UUID v4 created on first use, see below) and `session.id` (a random UUID v4 per
//!   process);
//! - per event: its name (`agent.run`, `feature.used`, … see [`EventType`], or the `name` of
//!   `#[usage_event]`), `system.os` and `system.arch` (`linux`, `x86_64`), a random trace and
//!   span id, the time (a span ending when the event was recorded and starting `duration_ms`
//!   earlier when the event has one), and only the allowlisted attributes, sent as `event.` +
//!   the key with `.` replaced by `_` (`agent.type` → `event.agent_type`). Strings are cut to
//!   [`MAX_STRING_LEN`] characters.
//!
//! # What is never sent
//!
//! Span names, attributes or events of the trace layer; function arguments, prompts,
//! completions, messages; file paths, hostnames, user names, IP addresses (the id is random,
//! never derived from the machine); error messages (only an error's *type*). Any attribute
//! not on [`ALLOWED_KEYS`] (or the application's list) is dropped before it is queued, and
//! counted in [`UsageCounters::keys_dropped`]; `#[usage_event]` rejects such keys at compile
//! time.
//!
//! # How to turn it off
//!
//! The person running the application can always turn it off. Checked in this order (the
//! first that applies is the [`UsageReason`] reported):
//!
//! 1. `ZDK_DISABLE_ALL_TRACING=1`: turns off both layers, tracing included;
//! 2. `ZDK_TELEMETRY_ENABLED=false`;
//! 3. `DO_NOT_TRACK=1` (the cross-tool convention);
//! 4. a file named `no-tracing` in the zdk configuration directory:
//!    `$XDG_CONFIG_HOME/zdk/no-tracing`, or `~/.config/zdk/no-tracing`;
//! 5. CI: off when any of `CI`, `GITHUB_ACTIONS`, `GITLAB_CI`, `BUILDKITE`, `JENKINS_URL`,
//!    `TF_BUILD`, `CIRCLECI`, `TRAVIS` (and a few more CI services' variables) is set, unless
//!    `ZDK_ENABLE_TRACING_IN_CI=1`.
//!
//! An opt-out variable set to a value that is not recognised (anything but `0`, `false`,
//! `no`, `off`) counts as set: doubt turns telemetry off. When off, nothing is read from or
//! written to the configuration directory (except looking for `no-tracing`).
//!
//! # Notice
//!
//! The first time the layer is active for a user, one notice on stderr says what is
//! collected, what is not and how to opt out. A marker file next to the id remembers it was
//! shown. The application can suppress it (`notice = false`,
//! [`UsageOptions::notice`]).
//!
//! # Debug mode
//!
//! With `ZDK_TELEMETRY_DEBUG=1`, each batch is printed on stderr, exactly as the JSON body
//! that would be sent (before compression), and nothing is sent.
//!
//! # Identity
//!
//! The anonymous id is a random UUID v4 stored in `anonymous_id` in the zdk configuration
//! directory, created on first use with permissions 0600 (directory 0700).
//! [`reset_anonymous_id`] deletes it; the next start creates a new one. If the file cannot be
//! read or written, an id kept in memory for this process is used instead.
//!
//! # Status
//!
//! [`usage_status`] (or [`Telemetry::usage_status`](crate::Telemetry::usage_status)) tells
//! whether the layer is on and exactly why, where events go, the ids, the counters (queued,
//! sent, dropped by reason, sanitizer removals) and the circuit state. An unreachable endpoint
//! is tried a few times with backoff, then the circuit opens: events are dropped and counted
//! until a cool-down has passed, when one batch is tried again. One warning at most is
//! printed per process; the application is never blocked.
//!
//! # Examples
//!
//! ```
//! use zdk_trace_runtime::usage::{self, EventType, UsageOptions, UsageValue};
//! use zdk_trace_runtime::Telemetry;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("zdk-usage-doc-{}", std::process::id()));
//! let telemetry = Telemetry::builder()
//!     .span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
//!     .usage(
//!         UsageOptions::new()
//!             .enabled(true)
//!             .endpoint("http://127.0.0.1:9") // nothing listens there: events are dropped
//! #           .config_dir(&dir)
//! #           .notice(false),
//!     )
//! #   .env_vars([("HOME", "/nonexistent")])
//!     .install()?;
//!
//! usage::track_agent_run("simple", "pydantic_ai", true, 1234.5);
//! usage::track_feature_usage("streaming");
//! usage::track_error("timeout", "llm_client");
//! usage::track_event(EventType::ToolExecuted, [("tool.type", UsageValue::from("search"))]);
//!
//! let status = telemetry.usage_status();
//! assert!(status.enabled, "{}", status.reason);
//! assert_eq!(status.counters.queued, 4);
//! # telemetry.shutdown()?;
//! # let _ = std::fs::remove_dir_all(&dir);
//! # Ok(())
//! # }
//! ```

mod allowlist;
pub(crate) mod call;
mod event;
#[cfg(feature = "usage")]
mod identity;
// Without the `usage` feature, `off` stands in for the sender: nothing runs, nothing is sent.
#[cfg(not(feature = "usage"))]
mod off;
mod options;
mod optout;
#[cfg(feature = "usage")]
mod sanitize;
#[cfg(feature = "usage")]
mod screen;
#[cfg(feature = "usage")]
mod sender;
mod status;
#[cfg(feature = "usage")]
mod wire;

#[cfg(not(feature = "usage"))]
use off as sender;
#[cfg(not(feature = "usage"))]
pub(crate) use off::{report_entries, set_installed, UsageHandle};

use std::borrow::Cow;
#[cfg(feature = "usage")]
use std::path::Path;
use std::path::PathBuf;
#[cfg(feature = "usage")]
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[cfg(feature = "usage")]
use once_cell::sync::Lazy;

pub use allowlist::UsageKeys;
pub use event::{UsageEvent, UsageValue, ALLOWED_KEYS, MAX_STRING_LEN};
pub use options::UsageOptions;
pub use status::{CircuitState, ScreenedValues, UsageCounters, UsageReason, UsageStatus};

#[cfg(feature = "usage")]
pub(crate) use allowlist::is_allowed;
pub(crate) use allowlist::set_app_keys;
pub(crate) use optout::disable_all;
pub(crate) use sender::{stderr_output, Output};

use crate::config::UsageSettings;
#[cfg(feature = "usage")]
use crate::config::{report_entry, ConfigEntry, ConfigSource};
use crate::export::DynExporter;
#[cfg(feature = "usage")]
use crate::lock::lock;
#[cfg(feature = "usage")]
use identity::Identity;
use optout::Lookup;
#[cfg(feature = "usage")]
use sender::{write_out, LayerParts, Sink, UsageLayer};
#[cfg(feature = "usage")]
use wire::UsageResource;

/// Hands one event to the usage layer: sanitized (keys not [allowed](is_allowed) dropped,
/// long strings cut, both counted), then queued. Never blocks, never panics; when the layer is
/// off it costs one atomic load, and an event the queue cannot take is dropped and counted.
/// `#[usage_event]` expansions (through `__private`) and the `track_*` functions end here.
pub(crate) fn submit(event: UsageEvent) {
    sender::submit(event);
}

/// Whether the usage layer is running: the one flag `#[usage_event]` and the `track_*`
/// functions check before building anything.
#[inline]
pub(crate) fn enabled() -> bool {
    sender::is_on()
}

/// A value with a fixed label, accepted as a `#[usage_event]` field value.
///
/// The only text it can give is a `&'static str`, so an enum whose variants map to literals
/// cannot leak user content. (A `&'static str` leaked from user input would defeat this; do not
/// write such an impl.)
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::usage::UsageLabel;
///
/// enum Backend { Local, Remote }
///
/// impl UsageLabel for Backend {
///     fn label(&self) -> &'static str {
///         match self {
///             Backend::Local => "local",
///             Backend::Remote => "remote",
///         }
///     }
/// }
/// assert_eq!(Backend::Remote.label(), "remote");
/// # let _ = Backend::Local;
/// ```
pub trait UsageLabel {
    /// The label sent for this value.
    fn label(&self) -> &'static str;
}

/// Text the run-time usage API accepts: a string literal (`&'static str`) or a value whose type
/// implements [`UsageLabel`]. Never a `String` or a borrowed run-time string, so an error
/// message or user input cannot reach the usage layer by accident:
/// `track_error(&e.to_string(), "llm_client")` does not compile.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::usage::{track_error, UsageLabel};
///
/// enum ErrorKind { Timeout, RateLimit }
/// impl UsageLabel for ErrorKind {
///     fn label(&self) -> &'static str {
///         match self { ErrorKind::Timeout => "timeout", ErrorKind::RateLimit => "rate_limit" }
///     }
/// }
/// track_error(ErrorKind::RateLimit, "llm_client");
/// # let _ = ErrorKind::Timeout;
/// ```
#[diagnostic::on_unimplemented(
    message = "usage telemetry takes fixed labels, not run-time text: `{Self}` is neither a `&'static str` nor a `UsageLabel`",
    label = "run-time text here could carry personal data",
    note = "pass a string literal (`\"timeout\"`), or map the value to an enum that implements `zdk_trace_runtime::usage::UsageLabel` (a fixed `&'static str` per variant)",
    note = "never an error message or user input: `track_error(\"timeout\", \"llm_client\")`, not `track_error(&e.to_string(), …)`"
)]
pub trait UsageText {
    /// The text sent.
    fn text(&self) -> &'static str;
}

impl UsageText for &'static str {
    fn text(&self) -> &'static str {
        self
    }
}

impl<T: UsageLabel> UsageText for T {
    fn text(&self) -> &'static str {
        self.label()
    }
}

/// The kinds of usage event of the dynamic API.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::usage::EventType;
///
/// assert_eq!(EventType::AgentRun.as_str(), "agent.run");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// `agent.run`: an agent ran ([`track_agent_run`]).
    AgentRun,
    /// `agent.error`: an error of some type happened in some component ([`track_error`]).
    AgentError,
    /// `framework.selected`: the application chose an agent framework.
    FrameworkSelected,
    /// `tool.executed`: a tool of some type ran.
    ToolExecuted,
    /// `workflow.started`.
    WorkflowStarted,
    /// `workflow.completed`.
    WorkflowCompleted,
    /// `system.startup`: the application started.
    SystemStartup,
    /// `feature.used`: a named feature was used ([`track_feature_usage`]).
    FeatureUsed,
}

impl EventType {
    /// The event's name on the wire (the span name).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AgentRun => "agent.run",
            EventType::AgentError => "agent.error",
            EventType::FrameworkSelected => "framework.selected",
            EventType::ToolExecuted => "tool.executed",
            EventType::WorkflowStarted => "workflow.started",
            EventType::WorkflowCompleted => "workflow.completed",
            EventType::SystemStartup => "system.startup",
            EventType::FeatureUsed => "feature.used",
        }
    }
}

/// Records an event of `event_type` with `attributes`. Keys not on [`ALLOWED_KEYS`] are
/// dropped (and counted), strings longer than [`MAX_STRING_LEN`] characters are cut. Returns
/// at once; costs one atomic load when the usage layer is off.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::usage::{track_event, EventType, UsageValue};
///
/// track_event(
///     EventType::WorkflowCompleted,
///     [
///         ("workflow.type", UsageValue::from("research")),
///         ("success", UsageValue::from(true)),
///     ],
/// );
/// ```
pub fn track_event<K, I>(event_type: EventType, attributes: I)
where
    K: Into<Cow<'static, str>>,
    I: IntoIterator<Item = (K, UsageValue)>,
{
    if !enabled() {
        return;
    }
    submit(UsageEvent {
        name: Cow::Borrowed(event_type.as_str()),
        attributes: attributes
            .into_iter()
            .map(|(key, value)| (key.into(), value))
            .collect(),
        time: SystemTime::now(),
    });
}

/// Records that an agent of `agent_type` ran on `framework`, whether it succeeded and how long
/// it took (`agent.run` with `event.agent_type`, `event.framework`, `event.success`,
/// `event.duration_ms`). Returns at once.
///
/// # Examples
///
/// ```
/// zdk_trace_runtime::usage::track_agent_run("simple", "pydantic_ai", true, 1234.5);
/// ```
pub fn track_agent_run(
    agent_type: impl UsageText,
    framework: impl UsageText,
    success: bool,
    duration_ms: f64,
) {
    if !enabled() {
        return;
    }
    track_event(
        EventType::AgentRun,
        [
            ("agent.type", UsageValue::Str(agent_type.text())),
            ("framework", UsageValue::Str(framework.text())),
            ("success", UsageValue::Bool(success)),
            ("duration_ms", UsageValue::F64(duration_ms)),
        ],
    );
}

/// Records that the feature `name` was used (`feature.used` with `event.feature_name`).
/// Returns at once.
///
/// # Examples
///
/// ```
/// zdk_trace_runtime::usage::track_feature_usage("streaming");
/// ```
pub fn track_feature_usage(name: impl UsageText) {
    if !enabled() {
        return;
    }
    track_event(
        EventType::FeatureUsed,
        [("feature.name", UsageValue::Str(name.text()))],
    );
}

/// Records that an error of type `error_type` happened in `component` (`agent.error` with
/// `event.error_type`, `event.component`). Pass a type (`"timeout"`, `"rate_limit"`), never
/// the error's message. Returns at once.
///
/// # Examples
///
/// ```
/// zdk_trace_runtime::usage::track_error("rate_limit", "llm_client");
/// ```
pub fn track_error(error_type: impl UsageText, component: impl UsageText) {
    if !enabled() {
        return;
    }
    track_event(
        EventType::AgentError,
        [
            ("error.type", UsageValue::Str(error_type.text())),
            ("component", UsageValue::Str(component.text())),
        ],
    );
}

/// The status of the usage layer of the installed [`Telemetry`](crate::Telemetry):
/// [`UsageReason::NotInstalled`] when there is none.
///
/// # Examples
///
/// ```
/// let status = zdk_trace_runtime::usage::usage_status();
/// println!("usage telemetry: {}", status.reason);
/// ```
///
/// Without the `usage` feature the reason is always [`UsageReason::NotCompiled`].
#[cfg(feature = "usage")]
pub fn usage_status() -> UsageStatus {
    let installed = lock(&INSTALLED).clone();
    installed
        .map(|handle| handle.status())
        .unwrap_or_else(|| UsageStatus {
            enabled: false,
            reason: UsageReason::NotInstalled,
            debug: false,
            endpoint: None,
            anonymous_id: None,
            anonymous_id_file: None,
            session_id: identity::session_id().to_owned(),
            counters: UsageCounters::default(),
            circuit: CircuitState::Closed,
        })
}

/// The status of the usage layer: without the `usage` feature there is none, so the reason
/// is always [`UsageReason::NotCompiled`].
///
/// # Examples
///
/// ```
/// let status = zdk_trace_runtime::usage::usage_status();
/// println!("usage telemetry: {}", status.reason);
/// ```
#[cfg(not(feature = "usage"))]
pub fn usage_status() -> UsageStatus {
    off::not_compiled_status()
}

/// The usage layer of the installed `Telemetry`, which [`usage_status`] reads. The installer
/// sets it (this module does not reach up into `telemetry`).
#[cfg(feature = "usage")]
static INSTALLED: Lazy<Mutex<Option<Arc<UsageHandle>>>> = Lazy::new(|| Mutex::new(None));

/// Publishes the usage layer of the `Telemetry` just installed (`None` when it is shut down).
#[cfg(feature = "usage")]
pub(crate) fn set_installed(handle: Option<Arc<UsageHandle>>) {
    *lock(&INSTALLED) = handle;
}

/// The usage layer's state as `install()` would decide it, for
/// [`ConfigReport`](crate::ConfigReport): the reason, the debug switch, the configuration
/// directory and the anonymous id, read only (nothing is created). `enabled_source` is where
/// the application's `telemetry.usage.enabled` came from.
#[cfg(feature = "usage")]
pub(crate) fn report_entries(
    settings: &UsageSettings,
    has_exporter: bool,
    env: Lookup<'_>,
    config_dir: Option<PathBuf>,
    enabled_source: ConfigSource,
) -> (UsageReason, Vec<ConfigEntry>) {
    let env_source = |var: &str| ConfigSource::Env {
        var: var.to_owned(),
    };
    let (dir, dir_source) = match config_dir {
        Some(dir) => (
            Some(dir),
            ConfigSource::Code {
                setter: "UsageOptions::config_dir".to_owned(),
            },
        ),
        None => {
            let dir = optout::config_dir(env);
            // Which variable `config_dir` used: the first of these that is set and valid.
            let var = [optout::XDG_CONFIG_HOME, "HOME", "APPDATA"]
                .into_iter()
                .find(|var| {
                    env(var).is_some_and(|v| {
                        !v.trim().is_empty()
                            && (*var != optout::XDG_CONFIG_HOME
                                || Path::new(v.trim()).is_absolute())
                    })
                });
            (dir, var.map_or(ConfigSource::Default, env_source))
        }
    };
    let reason = optout::decide(settings, has_exporter, env, dir.as_deref());
    let reason_source = match &reason {
        UsageReason::DisableAllTracing => env_source(optout::ZDK_DISABLE_ALL_TRACING),
        UsageReason::TelemetryDisabled => env_source(optout::ZDK_TELEMETRY_ENABLED),
        UsageReason::DoNotTrack => env_source(optout::DO_NOT_TRACK),
        UsageReason::OptOutFile(path) => ConfigSource::File {
            path: path.clone(),
            line: None,
        },
        UsageReason::Ci(var) => env_source(var),
        UsageReason::Enabled | UsageReason::NotEnabledByApp => enabled_source,
        _ => ConfigSource::Default,
    };
    let mut entries = vec![
        report_entry("usage.state", reason.to_string(), reason_source),
        report_entry(
            "usage.debug",
            optout::debug(env).to_string(),
            if optout::debug(env) {
                env_source(optout::ZDK_TELEMETRY_DEBUG)
            } else {
                ConfigSource::Default
            },
        ),
    ];
    match &dir {
        Some(dir) => {
            entries.push(report_entry(
                "usage.config_dir",
                dir.display().to_string(),
                dir_source,
            ));
            let file = ConfigSource::File {
                path: dir.join(identity::ID_FILE),
                line: None,
            };
            let id = match identity::peek(dir) {
                Ok(Some(Ok(id))) => id,
                Ok(Some(Err(_))) => {
                    "(not a valid id: it will be replaced when the layer starts)".to_owned()
                }
                Ok(None) => "(not created yet: created the first time the layer runs)".to_owned(),
                Err(e) => format!("(unreadable: {e}; an id kept in memory would be used)"),
            };
            entries.push(report_entry("usage.anonymous_id", id, file));
        }
        None => {
            entries.push(report_entry(
                "usage.config_dir",
                "(none: neither `XDG_CONFIG_HOME` nor `HOME` is set)",
                ConfigSource::Default,
            ));
            entries.push(report_entry(
                "usage.anonymous_id",
                "(none: an id kept in memory would be used)",
                ConfigSource::Default,
            ));
        }
    }
    (reason, entries)
}

/// Deletes the anonymous id kept in the zdk configuration directory of this user
/// (`$XDG_CONFIG_HOME/zdk`, else `~/.config/zdk`); the next start of the usage layer creates a
/// new one. Returns whether there was one. A layer already running keeps its id.
///
/// # Examples
///
/// ```no_run
/// let had_one = zdk_trace_runtime::usage::reset_anonymous_id()?;
/// # let _ = had_one;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The I/O error if the file exists but cannot be deleted.
#[cfg(feature = "usage")]
#[cfg_attr(docsrs, doc(cfg(feature = "usage")))]
pub fn reset_anonymous_id() -> std::io::Result<bool> {
    match optout::config_dir(&|name| std::env::var(name).ok()) {
        Some(dir) => reset_anonymous_id_in(&dir),
        None => Ok(false),
    }
}

/// [`reset_anonymous_id`] for the id kept in `dir` (what
/// [`UsageOptions::config_dir`] names).
///
/// # Examples
///
/// ```
/// let dir = std::env::temp_dir().join("no-such-zdk-dir");
/// assert!(!zdk_trace_runtime::usage::reset_anonymous_id_in(&dir)?);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The I/O error if the file exists but cannot be deleted.
#[cfg(feature = "usage")]
#[cfg_attr(docsrs, doc(cfg(feature = "usage")))]
pub fn reset_anonymous_id_in(dir: &Path) -> std::io::Result<bool> {
    identity::reset(dir)
}

/// What the installer hands to [`UsageHandle::start`].
// Without the `usage` feature nothing reads these: the installer builds them either way.
#[cfg_attr(not(feature = "usage"), allow(dead_code))]
pub(crate) struct StartParts<'a> {
    pub(crate) settings: &'a UsageSettings,
    pub(crate) service_name: &'a str,
    pub(crate) service_version: Option<&'a str>,
    pub(crate) env: Lookup<'a>,
    /// Replaces the zdk configuration directory (tests, sandboxed applications).
    pub(crate) config_dir: Option<PathBuf>,
    pub(crate) exporter: Option<Box<dyn DynExporter>>,
    pub(crate) output: Output,
    pub(crate) cooldown: Duration,
}

/// The usage layer of one installed `Telemetry`: why it is on or off, and the running layer.
#[cfg(feature = "usage")]
#[derive(Debug)]
pub(crate) struct UsageHandle {
    reason: UsageReason,
    debug: bool,
    endpoint: Option<String>,
    identity: Option<Identity>,
    layer: Option<UsageLayer>,
}

#[cfg(feature = "usage")]
impl UsageHandle {
    /// Decides whether the layer runs and starts it if so (printing the notice when due).
    pub(crate) fn start(options: StartParts<'_>) -> std::io::Result<UsageHandle> {
        let dir = options
            .config_dir
            .clone()
            .or_else(|| optout::config_dir(options.env));
        let has_exporter = options.exporter.is_some();
        let reason = optout::decide(options.settings, has_exporter, options.env, dir.as_deref());
        let debug = optout::debug(options.env);
        let endpoint = options.settings.url.clone();
        if reason != UsageReason::Enabled {
            return Ok(UsageHandle {
                reason,
                debug,
                endpoint,
                identity: None,
                layer: None,
            });
        }
        let identity = identity::load_or_create(dir.as_deref());
        let resource = UsageResource {
            service_name: options.service_name.to_owned(),
            service_version: options.service_version.map(str::to_owned),
            anonymous_id: identity.id.clone(),
            session_id: identity::session_id().to_owned(),
        };
        let sink = match (debug, options.exporter, &endpoint) {
            (true, _, url) => Sink::Debug { url: url.clone() },
            (false, Some(mut exporter), _) => {
                exporter.set_resource(&resource.to_otel());
                Sink::Exporter(exporter)
            }
            (false, None, Some(url)) => Sink::Http { url: url.clone() },
            // `decide` reports `NoEndpoint` for this case; kept total for safety.
            (false, None, None) => Sink::Debug { url: None },
        };
        if options.settings.notice {
            let destination = match (has_exporter, &endpoint) {
                (true, _) => "an exporter chosen by the application",
                (false, Some(url)) => url.as_str(),
                (false, None) => "(no endpoint: nothing is sent)",
            };
            show_notice_once(&options.output, dir.as_deref(), destination);
        }
        let layer = UsageLayer::start(LayerParts {
            resource,
            sink,
            cooldown: options.cooldown,
            output: options.output,
        })?;
        Ok(UsageHandle {
            reason,
            debug,
            endpoint,
            identity: Some(identity),
            layer: Some(layer),
        })
    }

    pub(crate) fn status(&self) -> UsageStatus {
        UsageStatus {
            enabled: self.layer.is_some(),
            reason: self.reason.clone(),
            debug: self.debug,
            endpoint: self.endpoint.clone(),
            anonymous_id: self.identity.as_ref().map(|i| i.id.clone()),
            anonymous_id_file: self.identity.as_ref().and_then(|i| i.file.clone()),
            session_id: identity::session_id().to_owned(),
            counters: self
                .layer
                .as_ref()
                .map(UsageLayer::counters)
                .unwrap_or_default(),
            circuit: self
                .layer
                .as_ref()
                .map_or(CircuitState::Closed, UsageLayer::circuit),
        }
    }

    /// Sends what is queued, waiting at most `timeout`. `false` if it timed out.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        self.layer.as_ref().is_none_or(|l| l.flush(timeout))
    }

    /// Sends what is queued and stops the layer, waiting at most `timeout`.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        self.layer.as_ref().is_none_or(|l| l.shutdown(timeout))
    }
}

/// Prints the notice unless this user has seen it (the marker exists), or this process
/// printed it already without being able to write the marker.
#[cfg(feature = "usage")]
fn show_notice_once(output: &Output, dir: Option<&Path>, destination: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static PRINTED_UNMARKED: AtomicBool = AtomicBool::new(false);
    if dir.is_some_and(identity::notice_shown) || PRINTED_UNMARKED.load(Ordering::Acquire) {
        return;
    }
    let opt_out_file = dir.map_or_else(
        || "~/.config/zdk/no-tracing".to_owned(),
        |d| d.join(optout::OPT_OUT_FILE).display().to_string(),
    );
    write_out(
        output,
        &format!(
            "zdk-trace: this application sends anonymous usage statistics to {destination}: which \
             features, frameworks and error types are used, the OS and CPU architecture, and a \
             random id. Never prompts, arguments, outputs, messages, file paths, hostnames or IP \
             addresses. To opt out set ZDK_TELEMETRY_ENABLED=false or DO_NOT_TRACK=1, or create \
             {opt_out_file}; ZDK_TELEMETRY_DEBUG=1 prints what would be sent instead. This \
             notice is shown once.\n"
        ),
    );
    if !dir.is_some_and(identity::mark_notice_shown) {
        PRINTED_UNMARKED.store(true, Ordering::Release);
    }
}
