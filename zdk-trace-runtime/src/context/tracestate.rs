//! W3C `tracestate` (Trace Context, the current grammar): one or several header lines
//! combined into one list, each list member checked, and the list sent on as it came (less
//! empty members, the whitespace around members and repeated keys).
//!
//! ```text
//! list   = list-member 0*31( OWS "," OWS list-member )
//! member = key "=" value
//! key    = ( lcalpha / DIGIT ) 0*255( keychar )
//! keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
//! value  = 0*255( chr ) nblk-chr      ; chr: %x20-2B / %x2D-3C / %x3E-7E, nblk-chr: not %x20
//! ```
//!
//! The specification's rule for what is invalid: a member that does not follow the grammar,
//! or more than 32 members, makes the whole header invalid, and an invalid `tracestate` is
//! discarded (the `traceparent` is still used). Empty members (two commas in a row, an empty
//! header line) are allowed and skipped; a key seen again is dropped (the first one is kept),
//! one of the two behaviours the specification allows.

/// The most list members a `tracestate` may have.
pub const MAX_MEMBERS: usize = 32;
/// The longest key, in characters.
pub const MAX_KEY_LEN: usize = 256;
/// The longest value, in characters.
pub const MAX_VALUE_LEN: usize = 256;

/// Why a `tracestate` header was discarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TracestateError {
    /// A list member does not follow `key=value` with the W3C key and value grammar.
    #[error(
        "invalid tracestate member `{0}`: expected `key=value`, the key 1 to 256 of `a-z 0-9 _ - \
         * / @` starting with a letter or digit, the value 1 to 256 printable ASCII characters \
         other than `,` and `=`, not ending in a space"
    )]
    Member(String),
    /// More than [`MAX_MEMBERS`] list members.
    #[error("tracestate has {0} list members; at most 32 are allowed")]
    TooManyMembers(usize),
}

/// Parses the `tracestate` header lines of a request (all of them, in order: a header sent
/// on several lines is one comma-separated list, RFC 9110 section 5.3) into the value to
/// propagate: its members joined by `,`, or `None` when it has none.
///
/// # Errors
///
/// [`TracestateError`] when the list is invalid and must be discarded as a whole.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::propagation::parse_tracestate;
///
/// let lines = ["rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE", "vendor@tenant=1"];
/// assert_eq!(
///     parse_tracestate(lines).unwrap().as_deref(),
///     Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,vendor@tenant=1")
/// );
/// assert_eq!(parse_tracestate([""]).unwrap(), None);
/// assert!(parse_tracestate(["foo=,bar=3"]).is_err()); // an empty value: all discarded
/// ```
pub fn parse_tracestate<'a>(
    lines: impl IntoIterator<Item = &'a str>,
) -> Result<Option<String>, TracestateError> {
    let mut out = String::new();
    let mut keys: Vec<&str> = Vec::new();
    let mut members = 0usize;
    for line in lines {
        for member in line.split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let Some((key, value)) = member.split_once('=') else {
                return Err(TracestateError::Member(member.to_owned()));
            };
            if !valid_key(key) || !valid_value(value) {
                return Err(TracestateError::Member(member.to_owned()));
            }
            members += 1;
            if keys.contains(&key) {
                continue;
            }
            keys.push(key);
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(member);
        }
    }
    if members > MAX_MEMBERS {
        return Err(TracestateError::TooManyMembers(members));
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Whether `key` follows the W3C key grammar.
fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    bytes.len() <= MAX_KEY_LEN
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && rest.iter().all(|&b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// Whether `value` follows the W3C value grammar.
fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let Some(&last) = bytes.last() else {
        return false;
    };
    bytes.len() <= MAX_VALUE_LEN
        && last != b' '
        && bytes
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(lines: &[&str]) -> Option<String> {
        parse_tracestate(lines.iter().copied()).unwrap_or_else(|e| panic!("{lines:?}: {e}"))
    }

    fn rejected(lines: &[&str]) -> bool {
        parse_tracestate(lines.iter().copied()).is_err()
    }

    #[test]
    fn combines_lines_in_order_and_skips_empty_members() {
        assert_eq!(
            parsed(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]).as_deref(),
            Some("foo=1,bar=2,rojo=1,congo=2,baz=3")
        );
        assert_eq!(parsed(&[""]), None);
        assert_eq!(parsed(&["foo=1", ""]).as_deref(), Some("foo=1"));
        assert_eq!(parsed(&["", "foo=1"]).as_deref(), Some("foo=1"));
        assert_eq!(parsed(&["foo=1,,bar=2, ,"]).as_deref(), Some("foo=1,bar=2"));
    }

    #[test]
    fn whitespace_around_members_is_dropped() {
        for line in [
            "foo=1 \t , \t bar=2, \t baz=3",
            "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
        ] {
            assert_eq!(parsed(&[line]).as_deref(), Some("foo=1,bar=2,baz=3"));
        }
        for line in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
            assert_eq!(parsed(&[line]).as_deref(), Some("foo=1"), "{line:?}");
        }
    }

    #[test]
    fn repeated_keys_keep_the_first() {
        assert_eq!(parsed(&["foo=1,foo=2"]).as_deref(), Some("foo=1"));
        assert_eq!(parsed(&["foo=1", "foo=2"]).as_deref(), Some("foo=1"));
    }

    #[test]
    fn every_allowed_character() {
        let key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
        let value: String = (0x20u8..=0x7e)
            .filter(|&b| b != b',' && b != b'=')
            .map(char::from)
            .collect();
        let member = format!("{key}={value}");
        assert_eq!(parsed(&[&member]), Some(member.clone()));
        let member = format!("{key}@a-z0-9_-*/={value}");
        assert_eq!(parsed(&[&member]), Some(member.clone()));
    }

    #[test]
    fn keys_with_at_signs_follow_the_current_grammar() {
        assert_eq!(parsed(&["foo@=1,bar=2"]).as_deref(), Some("foo@=1,bar=2"));
        assert_eq!(
            parsed(&["foo@@bar=1,bar=2"]).as_deref(),
            Some("foo@@bar=1,bar=2")
        );
        assert_eq!(
            parsed(&["foo@bar@baz=1,bar=2"]).as_deref(),
            Some("foo@bar@baz=1,bar=2")
        );
        assert!(rejected(&["@foo=1,bar=2"]));
    }

    #[test]
    fn key_length_limit() {
        for key in [
            "z".repeat(256),
            format!("{}@{}", "t".repeat(241), "v".repeat(14)),
            format!("{}@v", "t".repeat(242)),
            format!("t@{}", "v".repeat(15)),
        ] {
            let line = format!("{key}=1");
            assert_eq!(
                parsed(&["foo=1", &line]),
                Some(format!("foo=1,{key}=1")),
                "{} characters",
                key.len()
            );
        }
        assert!(rejected(&["foo=1", &format!("{}=1", "z".repeat(257))]));
    }

    #[test]
    fn member_count_limit() {
        let members: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
        let list = |n: usize| members[..n].join(",");
        let kept = parsed(&[&list(32)]).unwrap_or_default();
        assert_eq!(kept.split(',').count(), 32);
        assert_eq!(
            parse_tracestate([list(33).as_str()]),
            Err(TracestateError::TooManyMembers(33))
        );
    }

    #[test]
    fn invalid_members_discard_the_whole_header() {
        for line in [
            "foo =1",
            "FOO=1",
            "foo.bar=1",
            "foo=bar=baz",
            "foo=,bar=3",
            "foo",
            "=1",
            "foo=1 2 ,bar=\u{7f}",
            "foo=caf\u{e9}",
        ] {
            assert!(rejected(&[line]), "{line:?} accepted");
        }
        assert!(rejected(&["foo=1", "bar"]));
        // A value may hold spaces, only not at its end (which OWS trimming removes anyway).
        assert_eq!(parsed(&["foo=a b"]).as_deref(), Some("foo=a b"));
        assert!(parse_tracestate(["foo="]).is_err());
        assert!(parse_tracestate([format!("k={}", "v".repeat(256)).as_str()]).is_ok());
        assert!(parse_tracestate([format!("k={}", "v".repeat(257)).as_str()]).is_err());
    }
}
