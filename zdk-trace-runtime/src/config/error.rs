//! [`ConfigError`]: every way reading or merging configuration can fail.

use std::path::PathBuf;

/// Why a configuration layer could not be read, or the layers could not be merged.
///
/// Every variant names what was wrong (the key and where it was written, or the environment
/// variable), the value given and what is accepted, so the message alone says what to fix.
/// Header values are secrets and are never part of an error.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{Config, ConfigError};
///
/// let err = Config::from_toml_str("[telemetry.tracing.sampling]\nstrategy = \"sometimes\"\n")
///     .unwrap_err();
/// match &err {
///     ConfigError::Invalid { key, line, value, .. } => {
///         assert_eq!(key, "telemetry.tracing.sampling.strategy");
///         assert_eq!(*line, Some(2));
///         assert_eq!(value, "\"sometimes\"");
///     }
///     other => panic!("unexpected error: {other}"),
/// }
/// assert!(err.to_string().contains("`always_on`, `always_off`, `probability`, `parent_based`"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not valid TOML.
    #[error("{source_name}:{line}:{column}: invalid TOML: {message}; fix the syntax there")]
    #[non_exhaustive]
    Syntax {
        /// The file's path, or `<string>` for [`Config::from_toml_str`](crate::Config::from_toml_str).
        source_name: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the TOML parser expected.
        message: String,
    },

    /// A key that the schema does not have (often a typo).
    #[error(
        "{source_name}:{line}: unknown key `{key}`; {}; accepted keys here: {expected}",
        did_you_mean(.suggestion)
    )]
    #[non_exhaustive]
    UnknownKey {
        /// The file's path, or `<string>`.
        source_name: String,
        /// 1-based line of the key.
        line: usize,
        /// Full key path, e.g. `telemetry.tracing.smapling`.
        key: String,
        /// The keys accepted in that table, e.g. "`enabled`, `otlp`, `sampling`, `exporters`".
        expected: String,
        /// The accepted key closest to the one given, when one is close.
        suggestion: Option<String>,
    },

    /// A value of the wrong type or outside what is accepted.
    #[error(
        "{}: invalid value {value} for `{key}`; expected {expected}",
        location(.source_name, .line)
    )]
    #[non_exhaustive]
    Invalid {
        /// The file's path, `<string>`, or `<code>` for a value set through a `Config::with_*`
        /// setter.
        source_name: String,
        /// 1-based line of the value (`None` for values set in code).
        line: Option<usize>,
        /// Full key path (e.g. `telemetry.tracing.sampling.strategy`), or the setter
        /// (e.g. `Config::with_max_queue_size`) for values set in code.
        key: String,
        /// The value given, as written (strings quoted; header values shown as `"***"`).
        value: String,
        /// What is accepted, e.g. "one of `grpc`, `http/protobuf`", followed by
        /// "; did you mean `x`?" when the value given is close to an accepted one.
        expected: String,
    },

    /// A required key is absent.
    #[error("{}: `{key}` is missing; add {expected}", location(.source_name, .line))]
    #[non_exhaustive]
    Missing {
        /// The file's path or `<string>`.
        source_name: String,
        /// 1-based line of the table that lacks the key.
        line: Option<usize>,
        /// Full path of the missing key, e.g. `telemetry.tracing.exporters[0].path`.
        key: String,
        /// What to add.
        expected: String,
    },

    /// An `OTEL_*` (or `ZDK_TRACE_CONFIG`) environment variable has a value that is not accepted.
    #[error("invalid environment variable `{var}={value}`; expected {expected}")]
    #[non_exhaustive]
    Env {
        /// The variable's name.
        var: String,
        /// The value given (for header variables, only the header names: values are secrets).
        value: String,
        /// What is accepted, followed by "; did you mean `x`?" when the value given is close
        /// to an accepted one.
        expected: String,
    },

    /// A header value uses `${VAR}` but `VAR` is not set (or is empty) in the environment.
    #[error(
        "{}: `{key}` uses `${{{var}}}` but the environment variable `{var}` is not set; set it, \
         or write the value without `${{…}}`",
        location(.source_name, .line)
    )]
    #[non_exhaustive]
    MissingEnvVar {
        /// The variable named in `${…}`.
        var: String,
        /// Full key path of the header, e.g. `telemetry.tracing.otlp.headers.x-api-key`.
        key: String,
        /// The file's path or `<string>`.
        source_name: String,
        /// 1-based line of the header.
        line: Option<usize>,
    },

    /// A configuration file could not be read.
    #[error(
        "cannot read configuration file `{}`{}: {source}; check that it exists and is readable",
        .path.display(),
        named_by_note(.named_by)
    )]
    #[non_exhaustive]
    Io {
        /// The path that was opened.
        path: PathBuf,
        /// The environment variable that named the file (`ZDK_TRACE_CONFIG`), if any.
        named_by: Option<String>,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A configuration file was asked for, but this build cannot read one: the `config-file`
    /// Cargo feature of zdk-trace-runtime is off.
    #[error(
        "cannot read configuration file `{}`{}: reading `zdk-trace.toml` files is not compiled \
         in; enable the `config-file` feature of zdk-trace-runtime, or unset the variable and \
         configure in code or with `OTEL_*` variables",
        .path.display(),
        named_by_note(.named_by)
    )]
    #[non_exhaustive]
    FileNotCompiled {
        /// The path that was asked for.
        path: PathBuf,
        /// The environment variable that named the file (`ZDK_TRACE_CONFIG`), if any.
        named_by: Option<String>,
    },
}

/// `file:line`, or `file` alone when there is no line (values set in code).
fn location(source_name: &str, line: &Option<usize>) -> String {
    match line {
        Some(line) => format!("{source_name}:{line}"),
        None => source_name.to_owned(),
    }
}

/// What to do with an unknown key.
fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("did you mean `{s}`? rename it"),
        None => "remove it or fix its name".to_owned(),
    }
}

/// "one of `a`, `b`", plus "; did you mean `x`?" when `given` is close to a choice.
pub(crate) fn expected_one_of(given: &str, choices: &[&str]) -> String {
    match suggest(given, choices.iter().copied()) {
        Some(s) => format!("one of {}; did you mean `{s}`?", one_of(choices)),
        None => format!("one of {}", one_of(choices)),
    }
}

fn named_by_note(var: &Option<String>) -> String {
    match var {
        Some(var) => format!(" (named by `{var}`)"),
        None => String::new(),
    }
}

/// The candidate closest to `given`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    // 0.8 is clap's threshold for "did you mean" on Jaro-Winkler; it catches swapped and missing
    // letters without suggesting unrelated words.
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|(score, c)| *score >= 0.8 && *c != given)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}

/// "`a`, `b`, `c`": an accepted list for an error message.
pub(crate) fn one_of(choices: &[&str]) -> String {
    let list: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    list.join(", ")
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn suggest_finds_close_candidates_only() {
        let keys = ["strategy", "probability", "always_sample_errors"];
        assert_eq!(suggest("stratgy", keys), Some("strategy".to_owned()));
        assert_eq!(suggest("probabilty", keys), Some("probability".to_owned()));
        assert_eq!(suggest("zzz", keys), None);
        assert_eq!(suggest("strategy", keys), None);
    }

    #[test]
    fn display_without_line_or_suggestion() {
        let err = ConfigError::Invalid {
            source_name: "<code>".to_owned(),
            line: None,
            key: "Config::with_max_queue_size".to_owned(),
            value: "0".to_owned(),
            expected: "a positive integer".to_owned(),
        };
        assert_eq!(
            err.to_string(),
            "<code>: invalid value 0 for `Config::with_max_queue_size`; expected a positive integer"
        );
    }

    #[test]
    fn error_stays_small() {
        // Larger than 128 bytes, every `Result<_, ConfigError>` in callers trips
        // `clippy::result_large_err`.
        assert!(std::mem::size_of::<ConfigError>() <= 128);
    }

    #[test]
    fn io_names_the_variable() {
        let err = ConfigError::Io {
            path: PathBuf::from("/nope.toml"),
            named_by: Some("ZDK_TRACE_CONFIG".to_owned()),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
        };
        let msg = err.to_string();
        assert!(
            msg.contains("`/nope.toml` (named by `ZDK_TRACE_CONFIG`)"),
            "{msg}"
        );
    }
}
