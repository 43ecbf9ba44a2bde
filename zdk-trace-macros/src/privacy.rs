//! Compile-time privacy: a `fields(...)` key that names personal data or a secret is an error.
//! Keys are split into lowercase segments (on `.`, `_`, `-` and camelCase humps), so
//! `user.email`, `userEmail` and `user_email` all match `email`; multi-word entries match
//! adjacent segments (`api_key`, `apiKey`). The escape hatch is explicit and greppable:
//! `allow_pii(user.email)` next to `fields(user.email = ...)`.
//!
//! `#[usage_event]` is stricter: its keys must be on the usage allowlist (or in the
//! application's `keys = ...` list, checked by the expansion), there is no escape hatch, and
//! no value is formatted as text (`%expr`, `?expr`).
//!
//! The checks read keys only, so the sigil forms (`key = %expr`, `%key`) are checked as the
//! plain ones are.

use crate::args::{Args, MacroKind};
use crate::ctxt::Ctxt;
use crate::keys;

/// One-segment names that are personal data or secrets.
const DENY_WORDS: &[&str] = &[
    "email",
    "phone",
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "ssn",
    "iban",
];

/// Two-segment names, matched on adjacent segments.
const DENY_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("session", "token"),
    ("access", "token"),
    ("credit", "card"),
    ("card", "number"),
    ("ip", "address"),
    ("phone", "number"),
];

pub(crate) fn check(cx: &Ctxt, args: &Args) {
    if args.kind == MacroKind::UsageEvent {
        usage_keys(cx, args);
        return;
    }
    for field in &args.fields {
        if args.allow_pii.iter().any(|a| a.key == field.key) {
            continue;
        }
        if let Some(hit) = denied(&field.key) {
            cx.error_spanned_by(
                &field.key_tokens,
                format!(
                    "field `{}` looks like personal data or a secret (`{hit}`); remove it, record \
                     a non-identifying value instead (a keyed hash, a length, a flag), or, if \
                     recording it is intended, list it in `allow_pii({})`",
                    field.key, field.key
                ),
            );
        }
    }
    // The escape hatch stays honest: it names fields that exist and need it.
    for allowed in &args.allow_pii {
        if !args.fields.iter().any(|f| f.key == allowed.key) {
            cx.error_spanned_by(
                &allowed.key_tokens,
                format!(
                    "`allow_pii` lists `{}`, which is not in `fields(...)`",
                    allowed.key
                ),
            );
        } else if denied(&allowed.key).is_none() {
            cx.error_spanned_by(
                &allowed.key_tokens,
                format!(
                    "`{}` does not look like personal data; remove it from `allow_pii`",
                    allowed.key
                ),
            );
        }
    }
}

/// Usage event keys: on the allowlist, not filled in automatically, and (for application keys)
/// not personal data either.
fn usage_keys(cx: &Ctxt, args: &Args) {
    for field in &args.fields {
        let key = field.key.as_str();
        // `%expr` / `?expr` turn any value into text: exactly what usage values must not be.
        if let Some(sigil) = field.sigil.token() {
            cx.error_spanned_by(
                sigil,
                format!(
                    "`#[usage_event]` fields take no `%` or `?`: formatting `{key}` as text \
                     could carry user content into anonymous usage telemetry; pass a number, \
                     `bool`, string literal or `UsageLabel` value"
                ),
            );
        }
        if key == keys::USAGE_DURATION_MS {
            cx.error_spanned_by(
                &field.key_tokens,
                "`duration_ms` is filled in automatically by `#[usage_event]` (the wall time of \
                 the call); remove it from `fields`",
            );
        } else if key == keys::USAGE_SUCCESS {
            cx.error_spanned_by(
                &field.key_tokens,
                "`success` is filled in automatically by `#[usage_event]` (`false` when the \
                 function returns `Err`, panics, or is dropped before completing); remove it \
                 from `fields`",
            );
        } else if keys::USAGE_ALLOWED_KEYS.contains(&key) {
            // Built in.
        } else if args.usage_keys.is_some() {
            // The expansion checks it against the application's list at compile time; a name
            // that looks like personal data is refused even there.
            if let Some(hit) = denied(key) {
                cx.error_spanned_by(
                    &field.key_tokens,
                    format!(
                        "usage key `{key}` looks like personal data or a secret (`{hit}`); usage \
                         events are anonymous, remove it"
                    ),
                );
            }
        } else {
            cx.error_spanned_by(
                &field.key_tokens,
                format!(
                    "`{key}` is not on the usage allowlist; did you mean `{}`? (the allowed keys \
                     are in `zdk_trace_runtime::usage::ALLOWED_KEYS`; to add an application key, \
                     declare it with `usage_keys!` and pass `keys = ...`)",
                    closest_usage_key(key)
                ),
            );
        }
    }
}

/// The allowed key nearest to `key` by edit distance (the first of equals, in list order).
fn closest_usage_key(key: &str) -> &'static str {
    let mut best = ("", usize::MAX);
    for candidate in keys::USAGE_ALLOWED_KEYS {
        if *candidate == keys::USAGE_DURATION_MS || *candidate == keys::USAGE_SUCCESS {
            continue;
        }
        let distance = levenshtein(key, candidate);
        if distance < best.1 {
            best = (candidate, distance);
        }
    }
    best.0
}

/// Edit distance (insertions, deletions, substitutions) over chars, two rows at a time.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The denylist entry `key` matches, if any.
fn denied(key: &str) -> Option<String> {
    let segments = segments(key);
    for s in &segments {
        if DENY_WORDS.contains(&s.as_str()) {
            return Some(s.clone());
        }
    }
    for pair in segments.windows(2) {
        if DENY_PAIRS
            .iter()
            .any(|(a, b)| pair[0] == *a && pair[1] == *b)
        {
            return Some(format!("{}_{}", pair[0], pair[1]));
        }
    }
    None
}

/// `user.emailAddress` → `["user", "email", "address"]`.
fn segments(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if c == '.' || c == '_' || c == '-' {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{closest_usage_key, denied, levenshtein};

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("agent.typ", "agent.type"), 1);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
    }

    #[test]
    fn closest_allowed_key() {
        assert_eq!(closest_usage_key("agent.typ"), "agent.type");
        assert_eq!(closest_usage_key("agent_type"), "agent.type");
        assert_eq!(closest_usage_key("tool_type"), "tool.type");
        assert_eq!(closest_usage_key("feature"), "feature.name");
        // The automatic keys are never suggested.
        assert_ne!(closest_usage_key("succes"), "success");
        assert_ne!(closest_usage_key("duration"), "duration_ms");
    }

    /// The runtime applies the same lists to names only known at run time (the `tracing`
    /// bridge's fields).
    #[test]
    fn the_runtime_holds_the_same_lists() {
        assert_eq!(super::DENY_WORDS, zdk_trace_runtime::__private::DENY_WORDS);
        assert_eq!(super::DENY_PAIRS, zdk_trace_runtime::__private::DENY_PAIRS);
    }

    #[test]
    fn normalized_segments_hit() {
        for key in [
            "user.email",
            "userEmail",
            "user_email",
            "api_key",
            "apiKey",
            "x.ApiKey",
        ] {
            assert!(denied(key).is_some(), "{key}");
        }
        for key in [
            "user.id",
            "gen_ai.usage.input_tokens",
            "item_count",
            "emails_sent_total_x",
        ] {
            // `emails` is not `email`: counts of things are fine.
            assert!(denied(key).is_none(), "{key}");
        }
    }
}
