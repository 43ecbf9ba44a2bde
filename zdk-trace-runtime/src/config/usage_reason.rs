//! [`UsageReason`]: why the anonymous usage layer is on or off. Defined here, below both the
//! usage layer that decides it and the [`ConfigReport`](super::ConfigReport) that shows it;
//! public as `zdk_trace_runtime::usage::UsageReason`.

use std::fmt;
use std::path::PathBuf;

/// Why the usage layer is on or off, in the order the reasons are checked: the user's
/// opt-outs first, then the application's choice.
///
/// Its `Display` names the exact setting, e.g. "off: `DO_NOT_TRACK` is set".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageReason {
    /// On: the application enabled it and no opt-out applies.
    Enabled,
    /// `ZDK_DISABLE_ALL_TRACING` is set (tracing is off too).
    DisableAllTracing,
    /// `ZDK_TELEMETRY_ENABLED=false`.
    TelemetryDisabled,
    /// `DO_NOT_TRACK=1`.
    DoNotTrack,
    /// This opt-out file exists.
    OptOutFile(PathBuf),
    /// Running in CI (this variable is set) and `ZDK_ENABLE_TRACING_IN_CI` is not.
    Ci(String),
    /// The application did not enable it (`[telemetry.usage] enabled = true`, or an exporter
    /// given with `UsageOptions::span_exporter`).
    NotEnabledByApp,
    /// Enabled, but no endpoint is configured (`[telemetry.usage] endpoint`) and no exporter
    /// given in code.
    NoEndpoint,
    /// No [`Telemetry`](crate::Telemetry) is installed.
    NotInstalled,
    /// The usage layer is not compiled in: the `usage` Cargo feature of zdk-trace-runtime is
    /// off. Nothing is ever sent.
    NotCompiled,
}

impl fmt::Display for UsageReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageReason::Enabled => f.write_str("on: enabled by the application"),
            UsageReason::DisableAllTracing => {
                f.write_str("off: `ZDK_DISABLE_ALL_TRACING` is set (tracing is off too)")
            }
            UsageReason::TelemetryDisabled => f.write_str("off: `ZDK_TELEMETRY_ENABLED=false`"),
            UsageReason::DoNotTrack => f.write_str("off: `DO_NOT_TRACK` is set"),
            UsageReason::OptOutFile(path) => {
                write!(f, "off: the opt-out file `{}` exists", path.display())
            }
            UsageReason::Ci(var) => write!(
                f,
                "off: running in CI (`{var}` is set); set `ZDK_ENABLE_TRACING_IN_CI=1` to keep it on"
            ),
            UsageReason::NotEnabledByApp => f.write_str(
                "off: not enabled by the application (`[telemetry.usage] enabled = true`)",
            ),
            UsageReason::NoEndpoint => {
                f.write_str("off: no endpoint configured (`[telemetry.usage] endpoint`)")
            }
            UsageReason::NotInstalled => f.write_str("off: no `Telemetry` is installed"),
            UsageReason::NotCompiled => f.write_str(
                "off: the usage layer is not compiled in (enable the `usage` feature of \
                 zdk-trace-runtime)",
            ),
        }
    }
}
