//! Configuration: code, `zdk-trace.toml` and `OTEL_*` variables.
//!
//! Each source gives one [`Config`] layer in which every setting is optional; [`resolve()`]
//! merges the layers (code < file < environment) into the [`Settings`] the pipeline is built
//! from, and [`build_resource()`] turns those into the OpenTelemetry resource.

mod endpoint;
mod env;
mod error;
mod expand;
mod file;
mod layer;
mod report;
mod resolve;
mod resource;
mod settings;
mod usage_reason;

pub use error::ConfigError;
pub use layer::{Config, Protocol};
pub(crate) use report::{entry as report_entry, tracing_entries, usage_setting_entries};
pub use report::{ConfigEntry, ConfigReport, ConfigSource, MASKED};
pub(crate) use resolve::{resolve, resolve_otlp};
pub(crate) use resource::build_resource;
pub(crate) use settings::*;
pub use usage_reason::UsageReason;
