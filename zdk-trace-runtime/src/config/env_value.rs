//! Values of the standard `OTEL_*` variables (and `ZDK_TRACE_CONFIG`, the `ZDK_TRACE_PROFILING_*`
//! switches and Pyroscope's `PYROSCOPE_*`): their names and the parsers that turn a value into a
//! setting, or into an error naming the variable.
//!
//! Unlike the OpenTelemetry SDKs, a value that is not accepted is an error naming the variable,
//! never skipped with a warning: a typo in a sampler name should not silently sample everything.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::error::{expected_one_of, ConfigError};
use super::values::{Origin, Set};

/// Path of the configuration file [`Config::discover`](crate::Config::discover) reads (instead of `./zdk-trace.toml`).
pub(crate) const ZDK_TRACE_CONFIG: &str = "ZDK_TRACE_CONFIG";

/// `true` turns tracing off.
pub(crate) const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// The service name; wins over `service.name` in [`OTEL_RESOURCE_ATTRIBUTES`].
pub(crate) const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// `key=value,key2=value2`, percent-encoded.
pub(crate) const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// Base URL; for HTTP, `/v1/traces` is appended.
pub(crate) const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Traces URL, used as-is; wins over [`OTEL_EXPORTER_OTLP_ENDPOINT`].
pub(crate) const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// `grpc` or `http/protobuf`.
pub(crate) const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// Wins over [`OTEL_EXPORTER_OTLP_PROTOCOL`].
pub(crate) const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// `key=value,key2=value2`, percent-encoded.
pub(crate) const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// Wins over [`OTEL_EXPORTER_OTLP_HEADERS`] (the whole list).
pub(crate) const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
/// Milliseconds.
pub(crate) const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// Wins over [`OTEL_EXPORTER_OTLP_TIMEOUT`].
pub(crate) const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// `gzip` or `none`.
pub(crate) const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// Wins over [`OTEL_EXPORTER_OTLP_COMPRESSION`].
pub(crate) const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str =
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// The head sampler, see [`SAMPLERS`](super::kinds::SAMPLERS).
pub(crate) const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// The sampler's ratio, `0..=1`.
pub(crate) const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
/// Milliseconds.
pub(crate) const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
/// Milliseconds.
pub(crate) const OTEL_BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
/// Spans.
pub(crate) const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// Spans.
pub(crate) const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// The OpenTelemetry attribute and span limits (the span-specific variable wins).
pub(crate) const OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
pub(crate) const OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str =
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
pub(crate) const OTEL_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_ATTRIBUTE_COUNT_LIMIT";
pub(crate) const OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
pub(crate) const OTEL_SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
pub(crate) const OTEL_SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";

/// Metrics URL, used as-is; wins over [`OTEL_EXPORTER_OTLP_ENDPOINT`] (which, for HTTP, gets
/// `/v1/metrics`).
pub(crate) const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// Wins over [`OTEL_EXPORTER_OTLP_PROTOCOL`] for metrics.
pub(crate) const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
/// `cumulative`, `delta` or `lowmemory`, in any case.
pub(crate) const OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
/// Milliseconds between two pushes of the metrics.
pub(crate) const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// `otlp`, `prometheus`, `console`, comma-separated, or `none`.
pub(crate) const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";

/// `true` or `false`: the master switch of profiling (`telemetry.profiling.enabled`).
pub(crate) const ZDK_TRACE_PROFILING_ENABLED: &str = "ZDK_TRACE_PROFILING_ENABLED";
/// `true` or `false`: every macro span records its busy time, thread CPU time and allocations
/// (`telemetry.profiling.span_resources`).
pub(crate) const ZDK_TRACE_PROFILING_SPAN_RESOURCES: &str = "ZDK_TRACE_PROFILING_SPAN_RESOURCES";
/// `true` or `false` (`telemetry.profiling.cpu.enabled`).
pub(crate) const ZDK_TRACE_PROFILING_CPU_ENABLED: &str = "ZDK_TRACE_PROFILING_CPU_ENABLED";
/// CPU samples per second, 1 to 1000 (`telemetry.profiling.cpu.frequency`).
pub(crate) const ZDK_TRACE_PROFILING_CPU_FREQUENCY: &str = "ZDK_TRACE_PROFILING_CPU_FREQUENCY";
/// The Pyroscope server's URL (Pyroscope's own variable, as its agents read it).
pub(crate) const PYROSCOPE_SERVER_ADDRESS: &str = "PYROSCOPE_SERVER_ADDRESS";
/// The application name profiles are pushed under (Pyroscope's own variable).
pub(crate) const PYROSCOPE_APPLICATION_NAME: &str = "PYROSCOPE_APPLICATION_NAME";

/// Whether and where GenAI message content is recorded (the OpenTelemetry Python GenAI
/// instrumentations' variable): see [`CAPTURE_MODES`](super::kinds::CAPTURE_MODES).
pub(crate) const OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: &str =
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

const EXPECTED_PAIRS: &str = "comma-separated `key=value` pairs, values percent-encoded \
                              (e.g. `a=1,b=hello%20world`)";

/// The known variables that are set and not empty.
pub(crate) struct Vars(pub(crate) HashMap<String, String>);

impl Vars {
    pub(crate) fn get(&self, var: &str) -> Option<&str> {
        self.0.get(var).map(String::as_str)
    }
}

pub(crate) fn set<T>(var: &'static str, value: T) -> Option<Set<T>> {
    Some(Set::new(value, Origin::Env { var }))
}

/// The error for `var=value`; control characters in `value` are shown escaped (`\u{0}`,
/// `\n`), so the message stays on one line and shows what is there.
pub(crate) fn error(var: &str, value: &str, expected: String) -> ConfigError {
    ConfigError::Env {
        var: var.to_owned(),
        value: escape_controls(value),
        expected,
    }
}

/// `value` with each control character written as its Rust escape.
pub(crate) fn escape_controls(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(crate) fn choice_error(var: &str, value: &str, choices: &[&str]) -> ConfigError {
    ConfigError::Env {
        var: var.to_owned(),
        value: value.to_owned(),
        expected: expected_one_of(value, choices),
    }
}

pub(crate) fn parse_bool(var: &str, value: &str) -> Result<bool, ConfigError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(error(var, value, "`true` or `false`".to_owned()))
    }
}

/// A whole number in `range`.
pub(crate) fn parse_count(
    var: &str,
    value: &str,
    range: RangeInclusive<usize>,
    expected: &str,
) -> Result<usize, ConfigError> {
    match value.parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(error(var, value, expected.to_owned())),
    }
}

/// A whole number of milliseconds from `min` to `max`.
pub(crate) fn parse_millis(
    var: &str,
    value: &str,
    min: Duration,
    max: Duration,
    expected: &str,
) -> Result<Duration, ConfigError> {
    match value.parse::<u64>().map(Duration::from_millis) {
        Ok(d) if (min..=max).contains(&d) => Ok(d),
        _ => Err(error(var, value, expected.to_owned())),
    }
}

/// `k=v,k2=v2` with percent-encoded keys and values (the W3C baggage form the OTel
/// specification uses). `secret` values never appear in errors. `problem` says what is wrong
/// with a decoded pair, if anything (the rule of the setting the variable sets).
pub(crate) fn parse_pairs(
    var: &str,
    value: &str,
    secret: bool,
    problem: fn(&str, &str) -> Option<String>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let fail = |problem: String| {
        // Header values are secrets: show the names only (`a=***,***`).
        let shown = if secret {
            let masked: Vec<String> = value
                .split(',')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) => format!("{}=***", name.trim()),
                    None => "***".to_owned(),
                })
                .collect();
            masked.join(",")
        } else {
            value.to_owned()
        };
        error(var, &shown, format!("{EXPECTED_PAIRS}; here {problem}"))
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in value.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((key, val)) = pair.split_once('=') else {
            return Err(fail(if secret {
                "an entry has no `=`".to_owned()
            } else {
                format!("`{}` has no `=`", escape_controls(pair.trim()))
            }));
        };
        let key = percent_decode(key.trim())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                fail(format!(
                    "the key `{}` is empty or badly encoded",
                    escape_controls(key.trim())
                ))
            })?;
        let val = percent_decode(val.trim())
            .ok_or_else(|| fail(format!("the value of `{key}` has a bad `%` escape")))?;
        if let Some(problem) = problem(&key, &val) {
            return Err(fail(problem));
        }
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, val));
    }
    Ok(pairs)
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Cc").as_deref(), Some("a b,c"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%FF"), None);
    }

    #[test]
    fn pairs() {
        let p = parse_pairs("V", "a=1, b = x%3Dy ,,a=2", false, |_, _| None).unwrap();
        assert_eq!(
            p,
            vec![
                ("b".to_owned(), "x=y".to_owned()),
                ("a".to_owned(), "2".to_owned())
            ]
        );
        assert!(parse_pairs("V", "a", false, |_, _| None).is_err());
        assert!(parse_pairs("V", "=1", false, |_, _| None).is_err());
    }

    #[test]
    fn header_errors_hide_values() {
        let err = parse_pairs("H", "api-key=s3cr3t%zz", true, |_, _| None).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains("s3cr3t"), "{msg}");
        assert!(msg.contains("api-key"), "{msg}");
        let err = parse_pairs("H", "s3cr3t", true, |_, _| None).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }
}
