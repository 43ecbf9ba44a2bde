//! Typed values of a `zdk-trace.toml` document, read over `toml`'s spanned document so that
//! every error names the key path, the line, the value given and the values accepted.
//!
//! serde derive with `deny_unknown_fields` was the alternative; its errors carry the key path
//! (through `serde_path_to_error`) but only as text, and neither the given value nor the
//! accepted ones, so they could not fill [`ConfigError`]'s fields.

#[cfg(feature = "config-file")]
use std::ops::{Range, RangeInclusive};
#[cfg(feature = "config-file")]
use std::time::Duration;

#[cfg(feature = "config-file")]
use toml::de::{DeTable, DeValue};
#[cfg(feature = "config-file")]
use toml::Spanned;

#[cfg(feature = "config-file")]
use super::error::{expected_one_of, one_of, suggest, ConfigError};
#[cfg(feature = "config-file")]
use super::values::{Origin, Set};

/// One value of the document, with its span.
#[cfg(feature = "config-file")]
pub(crate) type Item<'i> = Spanned<DeValue<'i>>;

pub(crate) const EXPECTED_PROBABILITY: &str = "a number from 0 to 1, e.g. `0.1`";
#[cfg(feature = "config-file")]
pub(crate) const EXPECTED_BOOL: &str = "`true` or `false`";
/// Header values are secrets: errors about them never show what was written.
#[cfg(feature = "config-file")]
pub(crate) const HIDDEN: &str = "\"***\"";

/// The document being read, for line numbers and errors.
#[cfg(feature = "config-file")]
pub(crate) struct Doc<'s> {
    pub(crate) src: &'s str,
    pub(crate) source_name: &'s str,
}

#[cfg(feature = "config-file")]
impl Doc<'_> {
    // ----- tables and keys -----

    /// The entries of `table` in the order they are written (the parser sorts them by name),
    /// each with its full key path.
    pub(crate) fn entries<'t, 'i>(
        &self,
        table: &'t DeTable<'i>,
        path: &str,
    ) -> Vec<(&'t str, String, &'t Item<'i>)> {
        let mut entries: Vec<_> = table
            .iter()
            .map(|(k, v)| (k.span().start, k.get_ref().as_ref(), v))
            .collect();
        entries.sort_by_key(|(start, _, _)| *start);
        entries
            .into_iter()
            .map(|(_, name, v)| (name, join(path, name), v))
            .collect()
    }

    /// [`Doc::entries`], rejecting any key not in `accepted`.
    pub(crate) fn fields<'t, 'i>(
        &self,
        table: &'t DeTable<'i>,
        path: &str,
        accepted: &[&str],
    ) -> Result<Vec<(&'t str, String, &'t Item<'i>)>, ConfigError> {
        if let Some((k, _)) = table
            .iter()
            .filter(|(k, _)| !accepted.contains(&k.get_ref().as_ref()))
            .min_by_key(|(k, _)| k.span().start)
        {
            let name: &str = k.get_ref();
            return Err(ConfigError::UnknownKey {
                source_name: self.source_name.to_owned(),
                line: self.line(k.span()),
                key: join(path, name),
                expected: one_of(accepted),
                suggestion: suggest(name, accepted.iter().copied()),
            });
        }
        Ok(self.entries(table, path))
    }

    // ----- typed values -----

    pub(crate) fn table<'t, 'i>(
        &self,
        key: &str,
        item: &'t Item<'i>,
    ) -> Result<&'t DeTable<'i>, ConfigError> {
        match item.get_ref() {
            DeValue::Table(table) => Ok(table),
            _ => Err(self.invalid(key, item, format!("a table (`[{key}]`)"))),
        }
    }

    pub(crate) fn string<'t>(
        &self,
        key: &str,
        item: &'t Item<'_>,
        expected: &str,
    ) -> Result<&'t str, ConfigError> {
        match item.get_ref() {
            DeValue::String(s) => Ok(s),
            _ => Err(self.invalid(key, item, expected)),
        }
    }

    pub(crate) fn boolean(&self, key: &str, item: &Item<'_>) -> Result<bool, ConfigError> {
        match item.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.invalid(key, item, EXPECTED_BOOL)),
        }
    }

    /// An integer or a float, finite.
    pub(crate) fn number(
        &self,
        key: &str,
        item: &Item<'_>,
        expected: &str,
    ) -> Result<f64, ConfigError> {
        let n = match item.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|i| i as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => None,
        };
        n.filter(|n| n.is_finite())
            .ok_or_else(|| self.invalid(key, item, expected))
    }

    /// A whole number in `range` (an integer in the document, any radix TOML allows).
    pub(crate) fn count(
        &self,
        key: &str,
        item: &Item<'_>,
        range: RangeInclusive<usize>,
        expected: &str,
    ) -> Result<usize, ConfigError> {
        let n = match item.get_ref() {
            DeValue::Integer(i) => usize::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        n.filter(|n| range.contains(n))
            .ok_or_else(|| self.invalid(key, item, expected))
    }

    /// A number of seconds (integer or float) from `min` to `max`.
    pub(crate) fn seconds(
        &self,
        key: &str,
        item: &Item<'_>,
        min: Duration,
        max: Duration,
        expected: &str,
    ) -> Result<Duration, ConfigError> {
        let secs = self.number(key, item, expected)?;
        match Duration::try_from_secs_f64(secs) {
            Ok(d) if (min..=max).contains(&d) => Ok(d),
            _ => Err(self.invalid(key, item, expected)),
        }
    }

    /// One of `choices`, exactly.
    pub(crate) fn choice<'c>(
        &self,
        key: &str,
        item: &Item<'_>,
        choices: &[&'c str],
    ) -> Result<&'c str, ConfigError> {
        let given = self.string(key, item, &format!("one of {}", one_of(choices)))?;
        match choices.iter().find(|c| **c == given) {
            Some(c) => Ok(c),
            None => Err(self.invalid(key, item, expected_one_of(given, choices))),
        }
    }

    // ----- origins and errors -----

    pub(crate) fn origin(&self, key: &str, item: &Item<'_>) -> Origin {
        Origin::File {
            source_name: self.source_name.to_owned(),
            line: self.line(item.span()),
            key: key.to_owned(),
        }
    }

    pub(crate) fn set<T>(&self, key: &str, item: &Item<'_>, value: T) -> Option<Set<T>> {
        Some(Set::new(value, self.origin(key, item)))
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, span: Range<usize>) -> usize {
        self.src
            .get(..span.start)
            .map_or(1, |before| before.matches('\n').count() + 1)
    }

    pub(crate) fn syntax(&self, err: &toml::de::Error) -> ConfigError {
        let start = err.span().map_or(0, |span| span.start);
        let before = self.src.get(..start).unwrap_or(self.src);
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        ConfigError::Syntax {
            source_name: self.source_name.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message: self.name_duplicate(err),
        }
    }

    /// toml's message, with the key named when it is a duplicate (toml says only "duplicate
    /// key" and points at it).
    fn name_duplicate(&self, err: &toml::de::Error) -> String {
        let message = err.message().trim_end().to_owned();
        if !message.starts_with("duplicate key") {
            return message;
        }
        let key = err
            .span()
            .and_then(|span| self.src.get(span))
            .map(|text| {
                text.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim()
            })
            .filter(|key| !key.is_empty() && !key.contains('\n'));
        match key {
            Some(key) if !message.contains(key) => format!("duplicate key `{key}`"),
            _ => message,
        }
    }

    pub(crate) fn invalid(
        &self,
        key: &str,
        item: &Item<'_>,
        expected: impl Into<String>,
    ) -> ConfigError {
        self.invalid_with(key, item, show(item.get_ref()), expected)
    }

    pub(crate) fn invalid_with(
        &self,
        key: &str,
        item: &Item<'_>,
        value: String,
        expected: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            source_name: self.source_name.to_owned(),
            line: Some(self.line(item.span())),
            key: key.to_owned(),
            value,
            expected: expected.into(),
        }
    }

    pub(crate) fn missing(&self, key: &str, span: Range<usize>, expected: String) -> ConfigError {
        ConfigError::Missing {
            source_name: self.source_name.to_owned(),
            line: Some(self.line(span)),
            key: key.to_owned(),
            expected,
        }
    }
}

/// `path.name`, quoting `name` as TOML does when it is not a bare key.
#[cfg(feature = "config-file")]
pub(crate) fn join(path: &str, name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let name = if bare {
        name.to_owned()
    } else {
        format!("{name:?}")
    };
    if path.is_empty() {
        name
    } else {
        format!("{path}.{name}")
    }
}

/// A value as the user wrote it, for errors: strings quoted, numbers as written.
#[cfg(feature = "config-file")]
pub(crate) fn show(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("{s:?}"),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.as_str().to_owned(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

#[cfg(all(test, feature = "config-file"))]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn join_quotes_dotted_keys() {
        assert_eq!(join("", "telemetry"), "telemetry");
        assert_eq!(join("a.b", "c_d-e"), "a.b.c_d-e");
        assert_eq!(
            join("telemetry.resource", "deployment.environment"),
            "telemetry.resource.\"deployment.environment\""
        );
    }
}
