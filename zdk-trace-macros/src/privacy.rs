//! Compile-time privacy: a `fields(...)` key that names personal data or a secret is an error.
//! Keys are split into lowercase segments (on `.`, `_`, `-` and camelCase humps), so
//! `user.email`, `userEmail` and `user_email` all match `email`; multi-word entries match
//! adjacent segments (`api_key`, `apiKey`). The escape hatch is explicit and greppable:
//! `allow_pii(user.email)` next to `fields(user.email = ...)`.

use crate::args::Args;
use crate::ctxt::Ctxt;

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
    use super::denied;

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
