//! The privacy denylist at run time: field names that look like personal data or secrets.
//!
//! The macros refuse such `fields(...)` keys at compile time; names that only exist at run
//! time (the fields of `tracing` spans and events, feature `tracing`) are checked here with
//! the same lists and the same normalization: a name is split into lowercase segments on `.`,
//! `_`, `-` and camelCase humps (`user.email`, `userEmail` and `user_email` all hit `email`),
//! and two-word entries match adjacent segments (`api_key`, `apiKey`). A test in the macros
//! crate checks that both crates hold the same lists.
//!
//! A leaf: no allocation, a few ns per name.

/// One-segment names that are personal data or secrets.
pub const DENY_WORDS: &[&str] = &[
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
pub const DENY_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("session", "token"),
    ("access", "token"),
    ("credit", "card"),
    ("card", "number"),
    ("ip", "address"),
    ("phone", "number"),
];

/// Whether the name `key` looks like personal data or a secret.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn denied(key: &str) -> bool {
    let mut previous: Option<&str> = None;
    let mut hit = false;
    for_each_segment(key, |segment| {
        if hit {
            return;
        }
        hit = DENY_WORDS.iter().any(|w| eq_lower(segment, w))
            || previous.is_some_and(|p| {
                DENY_PAIRS
                    .iter()
                    .any(|(a, b)| eq_lower(p, a) && eq_lower(segment, b))
            });
        previous = Some(segment);
    });
    hit
}

/// [`denied`] for a `'static` name (a `tracing` field's), remembered per thread in a small
/// direct-mapped cache keyed by the name's address: a few ns on the second sight of a name,
/// where the full check takes tens.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn denied_static(key: &'static str) -> bool {
    use std::cell::Cell;
    const WAYS: usize = 64;
    thread_local! {
        static SEEN: [Cell<(usize, usize, bool)>; WAYS] =
            const { [const { Cell::new((0, 0, false)) }; WAYS] };
    }
    let address = key.as_ptr() as usize;
    let way = (address >> 3) % WAYS;
    SEEN.try_with(|seen| {
        let (a, len, hit) = seen[way].get();
        if a == address && len == key.len() {
            return hit;
        }
        let hit = denied(key);
        seen[way].set((address, key.len(), hit));
        hit
    })
    .unwrap_or_else(|_| denied(key))
}

/// `segment`, lowercased, equals `word` (lowercase ASCII).
fn eq_lower(segment: &str, word: &str) -> bool {
    segment.len() == word.len()
        && segment
            .chars()
            .zip(word.chars())
            .all(|(c, w)| c.to_ascii_lowercase() == w)
}

/// Calls `f` with each segment of `key` (`user.emailAddress` → `user`, `email`, `Address`).
fn for_each_segment<'a>(key: &'a str, mut f: impl FnMut(&'a str)) {
    let mut start = 0;
    let mut prev_lower = false;
    for (i, c) in key.char_indices() {
        if c == '.' || c == '_' || c == '-' {
            if i > start {
                f(&key[start..i]);
            }
            start = i + c.len_utf8();
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && i > start {
            f(&key[start..i]);
            start = i;
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    if key.len() > start {
        f(&key[start..]);
    }
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
            "http.request.header.authorization",
            "SESSION_TOKEN",
            "card-number",
            "password",
        ] {
            assert!(denied(key), "{key}");
        }
    }

    #[test]
    fn the_cached_check_agrees_and_tells_names_apart() {
        for _ in 0..3 {
            for key in ["user.email", "user.id", "api_key", "apiary", "email", "e"] {
                assert_eq!(super::denied_static(key), denied(key), "{key}");
            }
        }
    }

    #[test]
    fn ordinary_names_pass() {
        for key in [
            "gen_ai.request.model",
            "http.response.status_code",
            "tokens_total",
            "user.id",
            "emailer",
            "key",
            "api",
            "url.full",
            "",
            ".",
        ] {
            assert!(!denied(key), "{key}");
        }
    }
}
