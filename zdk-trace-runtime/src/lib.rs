//! zdk-trace runtime (manual written at the end of the runtime issue).
#![warn(missing_docs, unreachable_pub)]

mod config;
mod export;
mod sampling;

pub use config::{Config, ConfigError, Protocol};
pub use sampling::{Sampler, TailSampling};
