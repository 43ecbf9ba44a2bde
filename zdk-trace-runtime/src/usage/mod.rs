//! Anonymous usage telemetry: which features, frameworks and error types are used, never what
//! they were used on. Separate from tracing: its own allowlist, route and exporter.
//!
//! # Events from code: `#[usage_event]`
//!
//! [`macro@crate::usage_event`] sends one event per call of a function, with `duration_ms` and
//! `success` filled in. Its keys are checked at compile time against [`ALLOWED_KEYS`], and its
//! values must be of a type that cannot carry user content: `bool`, integers, floats, string
//! literals written in the attribute, or a type implementing [`UsageLabel`] (a fixed
//! `&'static str` per value, typically an enum), or an `Option` of those (`None` leaves the
//! key out). A `String`, a `&str` variable or `format!(..)` does not compile.
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
//! # Application keys
//!
//! An application that needs keys beyond [`ALLOWED_KEYS`] declares them once with
//! [`usage_keys!`](crate::usage_keys), names that list in each `#[usage_event]` that uses them
//! (`keys = ...`, checked at compile time: a key missing from the list does not compile), and
//! hands the same list to the runtime with
//! [`TelemetryBuilder::usage_allowlist`](crate::TelemetryBuilder::usage_allowlist) so events
//! keep those keys (keys the runtime does not know are dropped before export).
//!
//! ```
//! use zdk_trace_runtime::{usage_event, usage_keys, Telemetry};
//!
//! usage_keys!(pub APP_USAGE_KEYS = ["plugin.name", "model.family"]);
//!
//! #[usage_event(name = "plugin.load", keys = APP_USAGE_KEYS, fields(plugin.name = "pdf"))]
//! fn load_plugin() {}
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = Telemetry::builder()
//!     .usage_allowlist(APP_USAGE_KEYS)
//! #   .span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
//!     .usage_span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
//!     .install()?;
//! load_plugin();
//! # telemetry.shutdown()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Where events go
//!
//! Nowhere until a usage exporter is installed with
//! [`TelemetryBuilder::usage_span_exporter`](crate::TelemetryBuilder::usage_span_exporter):
//! then each event is exported as one span named after the event, with attributes
//! `event.<key>` (dots become `_`: `agent.type` → `event.agent_type`). Without one, or with
//! telemetry disabled (`OTEL_SDK_DISABLED=true`), `#[usage_event]` costs one atomic load per
//! call and builds nothing. Usage events never enter the trace pipeline.

pub(crate) mod call;
mod event;
mod route;

pub use event::{UsageEvent, UsageValue, ALLOWED_KEYS, MAX_STRING_LEN};

pub(crate) use route::UsageRoute;

use std::sync::RwLock;

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

/// A list of application usage keys, made by [`usage_keys!`](crate::usage_keys): accepted by
/// `#[usage_event(keys = ...)]` at compile time and by
/// [`TelemetryBuilder::usage_allowlist`](crate::TelemetryBuilder::usage_allowlist) at run time.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::usage::UsageKeys;
///
/// const KEYS: UsageKeys = UsageKeys::new(&["plugin.name"]);
/// assert!(KEYS.contains("plugin.name"));
/// assert!(!KEYS.contains("plugin"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageKeys {
    keys: &'static [&'static str],
}

impl UsageKeys {
    /// The list `keys`.
    ///
    /// # Examples
    ///
    /// ```
    /// const KEYS: zdk_trace_runtime::usage::UsageKeys =
    ///     zdk_trace_runtime::usage::UsageKeys::new(&["model.family"]);
    /// assert_eq!(KEYS.as_slice(), ["model.family"]);
    /// ```
    pub const fn new(keys: &'static [&'static str]) -> UsageKeys {
        UsageKeys { keys }
    }

    /// Whether `key` is in the list; usable in a `const` (this is how `#[usage_event]` checks
    /// a key at compile time).
    ///
    /// # Examples
    ///
    /// ```
    /// const KEYS: zdk_trace_runtime::usage::UsageKeys =
    ///     zdk_trace_runtime::usage::UsageKeys::new(&["plugin.name"]);
    /// const LISTED: bool = KEYS.contains("plugin.name");
    /// assert!(LISTED);
    /// ```
    pub const fn contains(&self, key: &str) -> bool {
        let mut i = 0;
        while i < self.keys.len() {
            if const_str_eq(self.keys[i], key) {
                return true;
            }
            i += 1;
        }
        false
    }

    /// The keys.
    ///
    /// # Examples
    ///
    /// ```
    /// const KEYS: zdk_trace_runtime::usage::UsageKeys =
    ///     zdk_trace_runtime::usage::UsageKeys::new(&["a.b"]);
    /// assert_eq!(KEYS.as_slice().len(), 1);
    /// ```
    pub const fn as_slice(&self) -> &'static [&'static str] {
        self.keys
    }
}

/// `a == b` in a `const` (`PartialEq` for `str` is not `const`).
const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares the application's extra usage keys once, as a `const` [`UsageKeys`] to name in
/// `#[usage_event(keys = ...)]` and to pass to
/// [`TelemetryBuilder::usage_allowlist`](crate::TelemetryBuilder::usage_allowlist).
///
/// Keys are string literals; like the built-in ones, they should name a category (a plugin, a
/// model family), never something a user typed.
///
/// # Examples
///
/// ```
/// zdk_trace_runtime::usage_keys!(pub APP_USAGE_KEYS = ["plugin.name", "model.family"]);
///
/// assert!(APP_USAGE_KEYS.contains("model.family"));
/// ```
#[macro_export]
macro_rules! usage_keys {
    ($(#[$meta:meta])* $vis:vis $name:ident = [$($key:literal),* $(,)?]) => {
        $(#[$meta])*
        $vis const $name: $crate::usage::UsageKeys = $crate::usage::UsageKeys::new(&[$($key),*]);
    };
}

/// Application keys accepted besides [`ALLOWED_KEYS`] (set at install).
static APP_KEYS: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// Replaces the application keys (at install).
pub(crate) fn set_app_keys(keys: Vec<&'static str>) {
    match APP_KEYS.write() {
        Ok(mut current) => *current = keys,
        Err(poisoned) => *poisoned.into_inner() = keys,
    }
}

/// Whether a usage event may carry `key`: built in ([`ALLOWED_KEYS`]) or declared by the
/// application with [`TelemetryBuilder::usage_allowlist`](crate::TelemetryBuilder::usage_allowlist).
/// The usage sanitizer drops every other key.
pub(crate) fn is_allowed(key: &str) -> bool {
    if ALLOWED_KEYS.contains(&key) {
        return true;
    }
    match APP_KEYS.read() {
        Ok(keys) => keys.contains(&key),
        Err(poisoned) => poisoned.into_inner().contains(&key),
    }
}

/// Hands one event to the usage route. Never blocks, never panics; an event the route cannot
/// take (none installed, queue full) is dropped.
pub(crate) fn submit(event: UsageEvent) {
    route::submit(event);
}

/// Whether a usage route is installed: the one flag `#[usage_event]` checks before building
/// anything.
#[inline]
pub(crate) fn enabled() -> bool {
    route::enabled()
}

#[cfg(test)]
mod tests {
    use super::{is_allowed, UsageKeys};

    #[test]
    fn const_contains_compares_whole_keys() {
        const KEYS: UsageKeys = UsageKeys::new(&["plugin.name", "model.family"]);
        assert!(KEYS.contains("plugin.name"));
        assert!(KEYS.contains("model.family"));
        assert!(!KEYS.contains("plugin.nam"));
        assert!(!KEYS.contains("plugin.names"));
        assert!(!KEYS.contains(""));
    }

    #[test]
    fn built_in_keys_are_allowed() {
        assert!(is_allowed("agent.type"));
        assert!(is_allowed("success"));
        assert!(!is_allowed("user.name"));
    }
}
