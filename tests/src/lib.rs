//! Shared helpers for the zdk-trace integration tests (cases live in `tests/tests/`).

pub mod harness;
