//! Configuration: code, `zdk-trace.toml` and `OTEL_*` variables.
//!
//! Each source gives one [`Config`] layer in which every setting is optional; [`resolve()`]
//! merges the layers (code < file < environment) into the [`Settings`] the pipeline is built
//! from, and [`build_resource()`] turns those into the OpenTelemetry resource. Every setting is
//! defined once, in [`table`]: the readers, the resolver and the report derive from it.
//!
//! The files import one way (a file uses only those listed before it here): leaves first,
//! then the definitions, then what reads and shows them.

// Leaves: errors, URL and `${VAR}` helpers, the resolved settings, the layer's values.
mod endpoint;
mod entry;
mod env_value;
mod error;
mod expand;
mod resource;
mod settings;
mod toml_value;
mod usage_reason;
mod values;
// What a setting is, and every setting.
mod setting;
pub(crate) mod table;
// Readers, resolver, report, constructors and setters.
mod env;
mod file;
mod report;
mod resolve;
mod sources;

pub(crate) use entry::entry as report_entry;
pub use entry::{ConfigEntry, ConfigSource, MASKED};
pub use error::ConfigError;
pub use report::ConfigReport;
pub(crate) use report::{tracing_entries, usage_setting_entries};
pub(crate) use resolve::{resolve, resolve_otlp};
pub(crate) use resource::build_resource;
pub(crate) use settings::*;
pub use usage_reason::UsageReason;
pub use values::{Config, Protocol};
