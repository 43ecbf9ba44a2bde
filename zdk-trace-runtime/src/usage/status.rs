//! [`UsageStatus`]: what the usage layer is doing and why.

use std::path::PathBuf;

pub use crate::config::UsageReason;

/// What the anonymous usage layer is doing: on or off and the exact reason, where events go,
/// the ids sent with them, counters and the circuit breaker. From
/// [`usage_status`](super::usage_status) or [`Telemetry::usage_status`](crate::Telemetry::usage_status).
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::usage::{self, UsageReason};
///
/// let status = usage::usage_status();
/// if !status.enabled {
///     println!("usage telemetry is off: {}", status.reason);
/// }
/// # let _ = UsageReason::NotInstalled;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UsageStatus {
    /// Whether events are collected (and sent, or printed in debug mode).
    pub enabled: bool,
    /// Why it is on or off.
    pub reason: UsageReason,
    /// `ZDK_TELEMETRY_DEBUG` is set: events are printed on stderr instead of being sent.
    pub debug: bool,
    /// Where events are sent: `{endpoint}/v1/traces`, `None` when none is configured.
    pub endpoint: Option<String>,
    /// The anonymous id sent as `user.id`. `None` while off: no id is read or created then.
    pub anonymous_id: Option<String>,
    /// The file the anonymous id is kept in; `None` when it lives in memory only (off, or the
    /// configuration directory could not be written).
    pub anonymous_id_file: Option<PathBuf>,
    /// This process's session id, sent as `session.id`.
    pub session_id: String,
    /// What happened to the events.
    pub counters: UsageCounters,
    /// The circuit breaker in front of the endpoint.
    pub circuit: CircuitState,
}

/// Counters of the usage layer since it was installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsageCounters {
    /// Events accepted into the queue.
    pub queued: u64,
    /// Events the endpoint (or the exporter given in code) accepted.
    pub sent: u64,
    /// Events printed in debug mode instead of being sent.
    pub printed: u64,
    /// Events dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Events dropped because sending failed after the retries.
    pub dropped_export_failed: u64,
    /// Events dropped without trying because the circuit was open.
    pub dropped_circuit_open: u64,
    /// Events submitted after shutdown or left in the queue when it timed out.
    pub dropped_shutdown: u64,
    /// Attributes removed by the sanitizer: key not on the allowlist, or a number that is not
    /// finite.
    pub keys_dropped: u64,
    /// Strings cut to [`MAX_STRING_LEN`](super::MAX_STRING_LEN) characters.
    pub strings_truncated: u64,
    /// Attributes dropped because their value looked like personal data or a secret, by
    /// reason (the value screen behind the allowlist).
    pub values_screened: ScreenedValues,
    /// Requests retried after a failure.
    pub retries: u64,
    /// Times the circuit opened.
    pub circuit_opened: u64,
}

impl UsageCounters {
    /// Events dropped for any reason (the sanitizer's removals are not events).
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_export_failed
            + self.dropped_circuit_open
            + self.dropped_shutdown
    }
}

/// Attribute values the usage layer's screen dropped, by what they looked like. Any string
/// value that reaches the layer, by any entry point, is checked before it is queued: neither
/// the endpoint nor the `ZDK_TELEMETRY_DEBUG` print ever sees a dropped value.
///
/// # Examples
///
/// ```
/// let screened = zdk_trace_runtime::usage::usage_status().counters.values_screened;
/// assert_eq!(screened.total(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScreenedValues {
    /// `name@domain.tld`.
    pub email: u64,
    /// Anything with `://`, `www.`, `mailto:`.
    pub url: u64,
    /// Unix (absolute, `~/`, `./`, `../`, three or more segments) and Windows (drive, UNC,
    /// backslash) paths.
    pub path: u64,
    /// IPv4 and IPv6 addresses, with or without a port.
    pub ip_address: u64,
    /// Dotted names ending in a public suffix or in `.local`, `.internal`, `.corp`, `.lan`,
    /// `.home`, `.localdomain`.
    pub host_name: u64,
    /// UUIDs, hyphenated or not.
    pub uuid: u64,
    /// Runs of 7 or more digits (phone, card, account numbers).
    pub long_number: u64,
    /// Credential-shaped tokens: known prefixes (`sk-`, `ghp_`, `AKIA`, `xox`, `Bearer `, ...)
    /// and long high-entropy strings.
    pub secret: u64,
}

impl ScreenedValues {
    /// Values dropped for any reason.
    pub fn total(&self) -> u64 {
        self.email
            + self.url
            + self.path
            + self.ip_address
            + self.host_name
            + self.uuid
            + self.long_number
            + self.secret
    }
}

/// The circuit breaker in front of the usage endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Sending normally.
    Closed,
    /// Sending failed after the retries: events are dropped (and counted) until the cool-down
    /// ends.
    Open,
    /// The cool-down ended: the next batch is a single try, which closes the circuit if it
    /// succeeds and opens it again if not.
    HalfOpen,
}
