//! The usage layer without its sender (the `usage` Cargo feature is off): the same crate-internal
//! names as `sender` and the real `UsageHandle`, doing nothing. `#[usage_event]` and the
//! `track_*` functions still compile and cost one load of a constant; no event is ever built,
//! queued or sent, and every status says [`UsageReason::NotCompiled`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::event::UsageEvent;
use super::optout::Lookup;
use super::status::{CircuitState, UsageCounters, UsageReason, UsageStatus};
use super::StartParts;
use crate::config::{report_entry, ConfigEntry, ConfigSource, UsageSettings};

/// Where the layer would write its notice (kept so `UsageOptions::output` means the same in
/// every build; nothing is written without the layer).
#[derive(Debug, Clone)]
pub(crate) struct Output;

impl Output {
    pub(crate) fn new(writer: impl std::io::Write + Send + 'static) -> Output {
        drop(writer);
        Output
    }
}

/// Standard error, as an [`Output`].
pub(crate) fn stderr_output() -> Output {
    Output
}

/// Never on: there is no layer to run.
#[inline]
pub(crate) fn is_on() -> bool {
    false
}

/// Drops the event (never called in practice: callers check [`is_on`] first).
pub(crate) fn submit(event: UsageEvent) {
    drop(event);
}

/// The status every query reports in this build.
pub(crate) fn not_compiled_status() -> UsageStatus {
    UsageStatus {
        enabled: false,
        reason: UsageReason::NotCompiled,
        debug: false,
        endpoint: None,
        anonymous_id: None,
        anonymous_id_file: None,
        session_id: String::new(),
        counters: UsageCounters::default(),
        circuit: CircuitState::Closed,
    }
}

/// Nothing to publish: [`usage_status`](super::usage_status) answers without a handle.
pub(crate) fn set_installed(handle: Option<Arc<UsageHandle>>) {
    drop(handle);
}

/// The report's usage state in this build: one entry saying the layer is not compiled in.
pub(crate) fn report_entries(
    settings: &UsageSettings,
    has_exporter: bool,
    env: Lookup<'_>,
    config_dir: Option<PathBuf>,
    enabled_source: ConfigSource,
) -> (UsageReason, Vec<ConfigEntry>) {
    let _ = (settings, has_exporter, env, config_dir, enabled_source);
    let reason = UsageReason::NotCompiled;
    let entry = report_entry("usage.state", reason.to_string(), ConfigSource::Default);
    (reason, vec![entry])
}

/// The usage layer of one installed `Telemetry` in this build: none.
#[derive(Debug)]
pub(crate) struct UsageHandle;

impl UsageHandle {
    /// Starts nothing; the options (an exporter given in code included) are dropped.
    pub(crate) fn start(options: StartParts<'_>) -> std::io::Result<UsageHandle> {
        drop(options);
        Ok(UsageHandle)
    }

    pub(crate) fn status(&self) -> UsageStatus {
        not_compiled_status()
    }

    /// Nothing is queued.
    pub(crate) fn flush(&self, _timeout: Duration) -> bool {
        true
    }

    /// Nothing runs.
    pub(crate) fn shutdown(&self, _timeout: Duration) -> bool {
        true
    }
}
