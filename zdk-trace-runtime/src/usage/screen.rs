//! The value screen: defence in depth behind the usage layer's allowlist. Any string value
//! that looks like personal data or a secret is dropped before it is queued, and counted by
//! reason ([`ScreenedValues`](super::ScreenedValues)). A value is checked whole and word by
//! word (split on whitespace and punctuation that cannot belong to the shapes below), so
//! `"connect to 10.0.0.7 failed"` is caught as well as `"10.0.0.7"`.
//!
//! False positives are accepted: a label that looks like a host name (`agent.run`, whose
//! `run` is a public suffix) or carries a 7-digit date stamp (`claude-3-5-sonnet-20241022`) is
//! dropped too. Ordinary labels (`react`, `web_search`, `gpt-4.1`, `gemini-1.5-pro`) pass.

/// Why a value was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    Email,
    Url,
    Path,
    IpAddress,
    HostName,
    Uuid,
    LongNumber,
    Secret,
}

impl Reason {
    pub(crate) const ALL: [Reason; 8] = [
        Reason::Email,
        Reason::Url,
        Reason::Path,
        Reason::IpAddress,
        Reason::HostName,
        Reason::Uuid,
        Reason::LongNumber,
        Reason::Secret,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Private-network suffixes that are not on the public suffix list.
const PRIVATE_SUFFIXES: [&str; 6] = ["local", "internal", "corp", "lan", "home", "localdomain"];

/// Prefixes of well-known credential formats.
const SECRET_PREFIXES: [&str; 16] = [
    "sk-",
    "sk_live_",
    "sk_test_",
    "pk_live_",
    "rk_live_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "github_pat_",
    "glpat-",
    "xox",
    "akia",
    "asia",
    "aiza",
    "eyj",
];

/// Why `value` must not be sent, or `None` when it may.
pub(crate) fn screen(value: &str) -> Option<Reason> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return None;
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("bearer ") || lower.starts_with("basic ") || lower.contains("bearer ") {
        return Some(Reason::Secret);
    }
    if lower.contains("://") || lower.starts_with("www.") || lower.contains("mailto:") {
        return Some(Reason::Url);
    }
    if is_path(trimmed) {
        return Some(Reason::Path);
    }
    for word in trimmed.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '(' | ')' | '"' | '\'' | '<' | '>' | '=' | '|'
            )
    }) {
        if let Some(reason) = screen_word(word) {
            return Some(reason);
        }
    }
    // Last, so that a UUID or a key with digits in it is named for what it is.
    if has_long_number(trimmed) {
        return Some(Reason::LongNumber);
    }
    None
}

fn screen_word(word: &str) -> Option<Reason> {
    // Before trimming: `::1` and `[::1]:443` begin and end with what trimming removes.
    if is_ip(word) {
        return Some(Reason::IpAddress);
    }
    // Sentence punctuation around a word is not part of it.
    let word = word.trim_matches(|c: char| matches!(c, '.' | ':' | '!' | '?' | '[' | ']'));
    if word.is_empty() {
        return None;
    }
    if is_email(word) {
        return Some(Reason::Email);
    }
    if is_ip(word) {
        return Some(Reason::IpAddress);
    }
    if is_uuid(word) {
        return Some(Reason::Uuid);
    }
    if is_secret(word) {
        return Some(Reason::Secret);
    }
    if is_host(word) {
        return Some(Reason::HostName);
    }
    None
}

fn is_email(word: &str) -> bool {
    let Some((user, domain)) = word.split_once('@') else {
        return false;
    };
    !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
}

/// Absolute, home- or dot-relative Unix paths, Windows drive and UNC paths, anything with a
/// backslash, and relative paths of three or more segments (`home/alice/notes.txt`; a single
/// slash, as in `openai/gpt-4o`, is a label).
fn is_path(value: &str) -> bool {
    let b = value.as_bytes();
    if value.starts_with('/')
        || value.starts_with("~/")
        || value.starts_with("./")
        || value.starts_with("../")
        || value.contains('\\')
        || value.contains(" /")
        || value.contains("~/")
    {
        return true;
    }
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'/' || b[2] == b'\\')
    {
        return true;
    }
    value
        .split_whitespace()
        .any(|w| w.matches('/').count() >= 2)
}

fn has_long_number(value: &str) -> bool {
    let mut run = 0;
    for c in value.chars() {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 7 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

fn is_ip(word: &str) -> bool {
    let bare = word.trim_start_matches('[');
    if bare.parse::<std::net::IpAddr>().is_ok() || word.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    // `10.0.0.7:8080`-style or an address with a zone or prefix (`fe80::1%eth0`, `10.0.0.0/8`).
    let head = bare
        .split(['%', '/', ']'])
        .next()
        .unwrap_or(bare)
        .trim_end_matches(':');
    if head.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    match head.rsplit_once(':') {
        Some((ip, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
            ip.parse::<std::net::Ipv4Addr>().is_ok()
        }
        _ => false,
    }
}

fn is_uuid(word: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
    let parts: Vec<&str> = word.split('-').collect();
    if parts.len() == 5 {
        return hex(parts[0], 8)
            && hex(parts[1], 4)
            && hex(parts[2], 4)
            && hex(parts[3], 4)
            && hex(parts[4], 12);
    }
    hex(word, 32)
}

fn is_secret(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    if word.len() >= 12 && SECRET_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    looks_random(word)
}

/// A long token of mixed letters and digits with high entropy: an API key, a session token.
fn looks_random(word: &str) -> bool {
    if word.len() < 20
        || !word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '='))
    {
        return false;
    }
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
    if digits == 0 || letters == 0 {
        return false;
    }
    let mut counts = [0u32; 128];
    for b in word.bytes() {
        counts[usize::from(b & 0x7f)] += 1;
    }
    let n = word.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    entropy >= 3.5
}

/// A dotted name whose last label is a public suffix (Mozilla's list, through `psl`) or a
/// private-network one (`.local`, `.internal`, ...), with every label a valid host label.
fn is_host(word: &str) -> bool {
    let word = word.trim_end_matches('.');
    let Some((_, last)) = word.rsplit_once('.') else {
        return false;
    };
    let labels_ok = word.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if !labels_ok || !last.chars().all(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    let last = last.to_ascii_lowercase();
    if PRIVATE_SUFFIXES.contains(&last.as_str()) {
        return true;
    }
    psl::suffix(word.to_ascii_lowercase().as_bytes()).is_some_and(|s| s.is_known())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values a usage event must never carry, with the reason each is dropped for.
    pub(crate) const BAD: &[(&str, Reason)] = &[
        ("alice.smith@example.com", Reason::Email),
        ("bob@corp.internal", Reason::Email),
        ("mail from carol+tag@gmail.com failed", Reason::Email),
        ("x@y.io", Reason::Email),
        ("https://api.example.com/v1?key=abc", Reason::Url),
        ("http://localhost:8080", Reason::Url),
        ("ftp://files.example.org/a", Reason::Url),
        ("www.example.com", Reason::Url),
        ("s3://bucket/key", Reason::Url),
        ("/home/alice/x.txt", Reason::Path),
        ("~/projects/secret", Reason::Path),
        ("./config/app.toml", Reason::Path),
        ("../etc/passwd", Reason::Path),
        ("C:\\Users\\alice\\Desktop", Reason::Path),
        ("D:/data/file.csv", Reason::Path),
        ("\\\\server\\share\\doc", Reason::Path),
        ("home/alice/notes.txt", Reason::Path),
        ("cannot open /var/lib/app.db", Reason::Path),
        ("10.0.0.7", Reason::IpAddress),
        ("192.168.1.20:8080", Reason::IpAddress),
        ("connect to 172.16.4.2 failed", Reason::IpAddress),
        ("::1", Reason::IpAddress),
        ("fe80::1ff:fe23:4567:890a", Reason::IpAddress),
        ("[2001:db8::1]:443", Reason::IpAddress),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", Reason::IpAddress),
        ("alice-laptop.local", Reason::HostName),
        ("db01.internal", Reason::HostName),
        ("build.corp", Reason::HostName),
        ("nas.lan", Reason::HostName),
        ("router.home", Reason::HostName),
        ("api.openai.com", Reason::HostName),
        ("example.co.uk", Reason::HostName),
        ("myhost.example.org", Reason::HostName),
        ("550e8400-e29b-41d4-a716-446655440000", Reason::Uuid),
        ("550E8400E29B41D4A716446655440000", Reason::Uuid),
        ("order 123e4567-e89b-12d3-a456-426614174000", Reason::Uuid),
        ("4111111111111111", Reason::LongNumber),
        ("+1 5551234567", Reason::LongNumber),
        ("user 1234567", Reason::LongNumber),
        ("sk-proj-abcdefghijklmnop1234", Reason::Secret),
        ("sk_live_51H8abcdefGHIJK", Reason::Secret),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", Reason::Secret),
        ("github_pat_11ABCDEFG0123456789", Reason::Secret),
        ("AKIAIOSFODNN7EXAMPLE", Reason::Secret),
        ("xoxb-123456-abcdef-ghijkl", Reason::Secret),
        ("Bearer abc.def.ghi", Reason::Secret),
        ("bearer token", Reason::Secret),
        ("glpat-xxxxxxxxxxxxxxxxxxxx", Reason::Secret),
        ("AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv", Reason::Secret),
        ("eyJhbGciOiJIUzI1NiJ9", Reason::Secret),
        ("q8Zt3Lm9Xp2Rv7Ws4Ky1Hb6N", Reason::Secret),
        ("a9F3kL0pQ7zX2mN8vB4cR6tY1wE5", Reason::Secret),
    ];

    /// Labels that must pass.
    pub(crate) const GOOD: &[&str] = &[
        "react",
        "openai",
        "timeout",
        "web_search",
        "gpt-4.1",
        "gpt-4o",
        "gemini-1.5-pro",
        "claude-3.5-sonnet",
        "llama-3.1-70b",
        "rate_limit",
        "llm_client",
        "pydantic_ai",
        "streaming",
        "simple",
        "planner",
        "openai/gpt-4o",
        "v2",
        "tool_call_failed",
        "anthropic",
        "research",
    ];

    #[test]
    fn every_bad_value_is_caught_for_its_reason() {
        assert!(BAD.len() >= 50);
        let wrong: Vec<_> = BAD
            .iter()
            .filter(|(value, reason)| screen(value) != Some(*reason))
            .map(|(value, reason)| format!("{value}: {:?}, expected {reason:?}", screen(value)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn ordinary_labels_pass() {
        let wrong: Vec<_> = GOOD
            .iter()
            .filter(|value| screen(value).is_some())
            .map(|value| format!("{value}: {:?}", screen(value)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
