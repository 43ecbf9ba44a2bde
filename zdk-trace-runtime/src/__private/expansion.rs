//! Small functions that attribute values, span names and bodies in the expansions go through.

use std::fmt::{Debug, Display};

/// `Display` of a value as an owned string, for attribute values given as expressions
/// (`id = self.id`, `model = req.model`, `fields(key = %expr)`), which may borrow.
#[inline]
pub fn display<T: Display + ?Sized>(value: &T) -> String {
    value.to_string()
}

/// `Debug` of a value as an owned string, for `fields(key = ?expr)`.
#[inline]
pub fn debug<T: Debug + ?Sized>(value: &T) -> String {
    format!("{value:?}")
}

/// Calls `body` once. A closure passed here is inferred `FnOnce` (not `FnMut`), so it can
/// return borrows of what it captured (`&mut self.items[0]`), as the function body could.
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// `prefix` followed by `rest`: the name of an `#[llm_call]` span whose model is an
/// expression (`"chat "` + model).
#[inline]
pub fn join_name(prefix: &'static str, rest: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + rest.len());
    name.push_str(prefix);
    name.push_str(rest);
    name
}
