//! One usage event and the keys it may carry.

use std::borrow::Cow;
use std::time::SystemTime;

/// Keys a usage event may carry (besides its name). `#[usage_event]` rejects any other key at
/// compile time and the dynamic API drops any other key at run time, counting it: both read
/// this one list, which the macros crate defines (its `keys.rs`) and hands over here.
///
/// On the wire each key becomes `event.` + the key with `.` replaced by `_`
/// (`agent.type` → `event.agent_type`).
pub const ALLOWED_KEYS: &[&str] = zdk_trace_macros::__usage_allowed_keys!();

/// Longest string value a usage event carries; longer values are cut (and counted).
pub const MAX_STRING_LEN: usize = 50;

/// A value a usage event can carry: none of these can hold free-form user content once the
/// allowlist and the length cap are applied.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UsageValue {
    /// `event.success = true`
    Bool(bool),
    /// A count.
    I64(i64),
    /// A measure, such as `duration_ms`.
    F64(f64),
    /// A label: a `&'static str` from code (a literal, or a [`UsageLabel`](super::UsageLabel)),
    /// cut to [`MAX_STRING_LEN`] characters when sent. Never text built at run time: a
    /// `String` (an error message, user input) cannot become one.
    Str(&'static str),
}

/// One anonymous usage event, before the layer adds the resource (service, anonymous id,
/// session id) and `system.os` / `system.arch`.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageEvent {
    /// `agent.run`, `feature.used`, …
    pub name: Cow<'static, str>,
    /// Allowlisted keys (see [`ALLOWED_KEYS`]) and their values.
    pub attributes: Vec<(Cow<'static, str>, UsageValue)>,
    /// When it happened.
    pub time: SystemTime,
}

impl From<bool> for UsageValue {
    fn from(value: bool) -> Self {
        UsageValue::Bool(value)
    }
}

impl From<i64> for UsageValue {
    fn from(value: i64) -> Self {
        UsageValue::I64(value)
    }
}

impl From<f64> for UsageValue {
    fn from(value: f64) -> Self {
        UsageValue::F64(value)
    }
}

/// A literal label (cut to [`MAX_STRING_LEN`] later, when the event is sanitized). There is
/// no conversion from `String` or a borrowed `&str`: usage values are fixed labels.
impl From<&'static str> for UsageValue {
    fn from(value: &'static str) -> Self {
        UsageValue::Str(value)
    }
}

impl UsageValue {
    /// The label of `value` (an enum mapping each variant to a fixed string).
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::usage::{UsageLabel, UsageValue};
    ///
    /// enum Store { Memory, Disk }
    /// impl UsageLabel for Store {
    ///     fn label(&self) -> &'static str {
    ///         match self { Store::Memory => "memory", Store::Disk => "disk" }
    ///     }
    /// }
    /// assert_eq!(UsageValue::label(&Store::Disk), UsageValue::Str("disk"));
    /// # let _ = Store::Memory;
    /// ```
    pub fn label(value: &impl super::UsageLabel) -> UsageValue {
        UsageValue::Str(value.label())
    }
}
