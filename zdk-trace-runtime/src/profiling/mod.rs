//! Profiles (feature `profiling`): CPU profiles whose samples carry the span that was being
//! polled when they were taken, heap profiles, memory statistics, and their export (files,
//! Pyroscope).
//!
//! The sampler itself (the SIGPROF handler, the per-thread label slot it reads) is the leaf
//! `sampler/`; this stage drains its samples, builds pprof profiles and exports them.

mod report;

pub use report::{FunctionCost, Profile, ProfileError};
