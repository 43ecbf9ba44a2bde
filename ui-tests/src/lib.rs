//! Compile-time (trybuild) tests of the zdk-trace macros: `tests/ui.rs`.
