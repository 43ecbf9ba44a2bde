//! zdk-trace runtime (manual written at the end of the runtime issue).
#![warn(missing_docs, unreachable_pub)]

mod config;
mod export;
mod sampling;

pub use export::{ConsoleExporter, JsonLinesExporter};
pub use sampling::{Sampler, TailSampling};
