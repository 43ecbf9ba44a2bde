//! Attribute macros for zdk-trace.
//!
//! Applications do not depend on this crate directly: `zdk-trace-runtime` re-exports every macro,
//! and the code they expand to reaches the runtime through its hidden `__private` module, whose
//! version is pinned exactly to this crate's.
//!
//! The macros themselves (`#[agent_span]`, `#[llm_call]`, `#[tool_call]`, `#[workflow]`,
//! `#[usage_event]`, `#[span]`) are being built in the macros issue; until then this crate exports
//! nothing.
#![warn(missing_docs, unreachable_pub)]
