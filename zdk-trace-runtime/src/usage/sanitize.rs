//! The run-time twin of `#[usage_event]`'s compile-time check: whatever reaches the layer
//! carries only allowlisted keys, short strings that do not look like personal data or secrets
//! (`screen.rs`), and finite numbers.

use std::borrow::Cow;

use super::event::{UsageEvent, UsageValue, MAX_STRING_LEN};
use super::is_allowed;
use super::screen::{screen, Reason};

/// What the sanitizer removed from one event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Removed {
    /// Attributes whose key is not on the allowlist (or whose number is not finite).
    pub(crate) keys_dropped: u64,
    /// Strings (values or the event name) cut to [`MAX_STRING_LEN`] characters.
    pub(crate) strings_truncated: u64,
    /// Attributes whose string value looked like personal data or a secret, by
    /// [`Reason::index`].
    pub(crate) screened: [u64; Reason::ALL.len()],
}

/// Drops attributes off the allowlist (built-in and application keys, see [`is_allowed`]) and
/// non-finite numbers (JSON has no NaN), cuts long strings, and says how much it removed.
pub(crate) fn sanitize(event: &mut UsageEvent) -> Removed {
    let mut removed = Removed::default();
    if truncate(&mut event.name) {
        removed.strings_truncated += 1;
    }
    event.attributes.retain_mut(|(key, value)| {
        let keep = is_allowed(key)
            && match value {
                UsageValue::F64(f) => f.is_finite(),
                _ => true,
            };
        if !keep {
            removed.keys_dropped += 1;
            return false;
        }
        if let UsageValue::Str(s) = value {
            if let Some(reason) = screen(s) {
                removed.screened[reason.index()] += 1;
                return false;
            }
            if truncate_label(s) {
                removed.strings_truncated += 1;
            }
        }
        true
    });
    removed
}

/// [`truncate`] for a label.
fn truncate_label(s: &mut &'static str) -> bool {
    match s.char_indices().nth(MAX_STRING_LEN) {
        Some((at, _)) => {
            *s = &s[..at];
            true
        }
        None => false,
    }
}

/// Cuts `s` to [`MAX_STRING_LEN`] characters (never inside a character). `true` if it did.
fn truncate(s: &mut Cow<'static, str>) -> bool {
    match s.char_indices().nth(MAX_STRING_LEN) {
        Some((at, _)) => {
            match s {
                Cow::Borrowed(b) => *b = &b[..at],
                Cow::Owned(o) => o.truncate(at),
            }
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn event(attributes: Vec<(&'static str, UsageValue)>) -> UsageEvent {
        UsageEvent {
            name: Cow::Borrowed("agent.run"),
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v))
                .collect(),
            time: SystemTime::now(),
        }
    }

    #[test]
    fn drops_cuts_and_counts() {
        let long = "é".repeat(60);
        let mut e = event(vec![
            ("agent.type", UsageValue::Str("simple")),
            ("user.email", UsageValue::Str("jane@example.com")),
            ("component", UsageValue::Str(long.leak())),
            ("duration_ms", UsageValue::F64(f64::NAN)),
            ("success", UsageValue::Bool(true)),
        ]);
        let removed = sanitize(&mut e);
        assert_eq!(
            removed,
            Removed {
                keys_dropped: 2,
                strings_truncated: 1,
                ..Removed::default()
            }
        );
        let keys: Vec<&str> = e.attributes.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["agent.type", "component", "success"]);
        assert_eq!(
            e.attributes[1].1,
            UsageValue::Str("é".repeat(MAX_STRING_LEN).leak())
        );
    }

    #[test]
    fn clean_events_are_untouched() {
        let mut e = event(vec![("framework", UsageValue::Str("x".repeat(50).leak()))]);
        let before = e.clone();
        assert_eq!(sanitize(&mut e), Removed::default());
        assert_eq!(e, before);
    }
}
