//! Configuration: code, `zdk-trace.toml` and `OTEL_*` variables.
mod settings;
#[allow(unused_imports)]
pub(crate) use settings::*;
