//! Configuration: code, `zdk-trace.toml` and `OTEL_*` variables.
//!
//! Each source gives one [`Config`] layer in which every setting is optional; [`resolve()`]
//! merges the layers (code < file < environment) into the [`Settings`] the pipeline is built
//! from, and [`build_resource()`] turns those into the OpenTelemetry resource. Every setting is
//! defined once, in [`table`]: the readers, the resolver and the report derive from it.
//!
//! The files import one way, each only from the groups above it (and, inside a group, from
//! the files named before it):
//!
//! 1. leaves: `error`, `expand`, `usage_reason`; `values` (the layer); `entry` (what the
//!    report shows); `settings` (resolved); `endpoint`, `resource`, `toml_value`, then
//!    `env_value`;
//! 2. `setting` (what defines a setting); `kinds` (the kinds of value: parsers, range checks,
//!    display) and `structured` (readers of structured values), then `table` (every setting);
//! 3. `env`, `file` and `resolve` (read through the table), then `report` (uses `resolve`),
//!    `sources` (the `Config` constructors and setters: uses `env` and `file`).

mod endpoint;
mod entry;
mod env;
mod env_value;
mod error;
#[cfg(feature = "config-file")]
mod expand;
#[cfg(feature = "config-file")]
mod file;
mod kinds;
mod report;
mod resolve;
mod resource;
mod setting;
mod settings;
mod sources;
mod structured;
pub(crate) mod table;
mod toml_value;
mod usage_reason;
mod values;

pub(crate) use entry::entry as report_entry;
pub use entry::{ConfigEntry, ConfigSource, ConfigWarning, MASKED};
pub use error::ConfigError;
pub use report::ConfigReport;
pub(crate) use report::{tracing_entries, usage_setting_entries};
pub(crate) use resolve::{resolve, resolve_otlp};
pub(crate) use resource::build_resource;
pub(crate) use settings::*;
pub use usage_reason::UsageReason;
pub use values::{Config, Protocol};
// Reached from outside only through `Config::with_metrics_otlp_temporality` until lib.rs
// re-exports it with the rest of the metrics API (a separate change).
#[allow(unreachable_pub)]
pub use values::Temporality;
