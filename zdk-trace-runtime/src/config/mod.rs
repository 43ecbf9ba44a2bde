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
// Until the builder (another branch) calls `resolve` and `build_resource`, only tests use them.
#[cfg_attr(not(test), allow(dead_code))]
mod resolve;
#[cfg_attr(not(test), allow(dead_code))]
mod resource;
#[cfg_attr(not(test), allow(dead_code))]
mod settings;

pub use error::ConfigError;
pub use layer::{Config, Protocol};
#[allow(unused_imports)] // reason: used by the builder, which lands from another branch
pub(crate) use resolve::resolve;
#[allow(unused_imports)] // reason: used by the builder, which lands from another branch
pub(crate) use resource::build_resource;
#[allow(unused_imports)] // reason: used by the pipeline, which lands from another branch
pub(crate) use settings::*;
