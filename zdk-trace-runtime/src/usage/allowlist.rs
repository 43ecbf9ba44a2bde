//! The run-time allowlist: the built-in [`ALLOWED_KEYS`] plus the keys the application
//! declares with [`usage_keys!`](crate::usage_keys) and hands to
//! [`UsageOptions::allowlist`](crate::usage::UsageOptions::allowlist). The
//! sanitizer keeps exactly the keys [`is_allowed`] accepts; `#[usage_event]` checks the same
//! lists at compile time.

use std::sync::RwLock;

#[cfg(feature = "usage")]
use super::ALLOWED_KEYS;

/// A list of application usage keys, made by [`usage_keys!`](crate::usage_keys): accepted by
/// `#[usage_event(keys = ...)]` at compile time and by
/// [`UsageOptions::allowlist`](crate::usage::UsageOptions::allowlist) at run time.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::usage::UsageKeys;
///
/// const KEYS: UsageKeys = UsageKeys::new(&["plugin.name"]);
/// assert!(KEYS.contains("plugin.name"));
/// assert!(!KEYS.contains("plugin"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageKeys {
    keys: &'static [&'static str],
}

impl UsageKeys {
    /// The list `keys`.
    ///
    /// # Examples
    ///
    /// ```
    /// const KEYS: zdk_trace_runtime::usage::UsageKeys =
    ///     zdk_trace_runtime::usage::UsageKeys::new(&["model.family"]);
    /// assert_eq!(KEYS.as_slice(), ["model.family"]);
    /// ```
    pub const fn new(keys: &'static [&'static str]) -> UsageKeys {
        UsageKeys { keys }
    }

    /// Whether `key` is in the list; usable in a `const` (this is how `#[usage_event]` checks
    /// a key at compile time).
    ///
    /// # Examples
    ///
    /// ```
    /// const KEYS: zdk_trace_runtime::usage::UsageKeys =
    ///     zdk_trace_runtime::usage::UsageKeys::new(&["plugin.name"]);
    /// const LISTED: bool = KEYS.contains("plugin.name");
    /// assert!(LISTED);
    /// ```
    pub const fn contains(&self, key: &str) -> bool {
        let mut i = 0;
        while i < self.keys.len() {
            if const_str_eq(self.keys[i], key) {
                return true;
            }
            i += 1;
        }
        false
    }

    /// The keys.
    ///
    /// # Examples
    ///
    /// ```
    /// const KEYS: zdk_trace_runtime::usage::UsageKeys =
    ///     zdk_trace_runtime::usage::UsageKeys::new(&["a.b"]);
    /// assert_eq!(KEYS.as_slice().len(), 1);
    /// ```
    pub const fn as_slice(&self) -> &'static [&'static str] {
        self.keys
    }
}

/// `a == b` in a `const` (`PartialEq` for `str` is not `const`).
const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares the application's extra usage keys once, as a `const`
/// [`UsageKeys`] to name in
/// `#[usage_event(keys = ...)]` and to pass to
/// [`UsageOptions::allowlist`](crate::usage::UsageOptions::allowlist).
///
/// Keys are string literals; like the built-in ones, they should name a category (a plugin, a
/// model family), never something a user typed.
///
/// # Examples
///
/// ```
/// zdk_trace_runtime::usage_keys!(pub APP_USAGE_KEYS = ["plugin.name", "model.family"]);
///
/// assert!(APP_USAGE_KEYS.contains("model.family"));
/// ```
#[macro_export]
macro_rules! usage_keys {
    ($(#[$meta:meta])* $vis:vis $name:ident = [$($key:literal),* $(,)?]) => {
        $(#[$meta])*
        $vis const $name: $crate::usage::UsageKeys = $crate::usage::UsageKeys::new(&[$($key),*]);
    };
}

/// Application keys accepted besides [`ALLOWED_KEYS`] (set at install).
static APP_KEYS: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// Replaces the application keys (at install).
pub(crate) fn set_app_keys(keys: Vec<&'static str>) {
    match APP_KEYS.write() {
        Ok(mut current) => *current = keys,
        Err(poisoned) => *poisoned.into_inner() = keys,
    }
}

/// Whether a usage event may carry `key`: built in ([`ALLOWED_KEYS`]) or declared by the
/// application with [`UsageOptions::allowlist`](crate::usage::UsageOptions::allowlist).
/// The usage sanitizer drops every other key.
#[cfg(feature = "usage")]
pub(crate) fn is_allowed(key: &str) -> bool {
    if ALLOWED_KEYS.contains(&key) {
        return true;
    }
    match APP_KEYS.read() {
        Ok(keys) => keys.contains(&key),
        Err(poisoned) => poisoned.into_inner().contains(&key),
    }
}

#[cfg(test)]
mod tests {
    use super::UsageKeys;

    #[test]
    fn const_contains_compares_whole_keys() {
        const KEYS: UsageKeys = UsageKeys::new(&["plugin.name", "model.family"]);
        assert!(KEYS.contains("plugin.name"));
        assert!(KEYS.contains("model.family"));
        assert!(!KEYS.contains("plugin.nam"));
        assert!(!KEYS.contains("plugin.names"));
        assert!(!KEYS.contains(""));
    }

    #[test]
    #[cfg(feature = "usage")]
    fn built_in_keys_are_allowed() {
        use super::is_allowed;

        assert!(is_allowed("agent.type"));
        assert!(is_allowed("success"));
        assert!(!is_allowed("user.name"));
    }
}
