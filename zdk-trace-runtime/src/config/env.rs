//! The standard `OTEL_*` variables (and `ZDK_TRACE_CONFIG`), read into a [`Config`] layer.
//!
//! Unlike the OpenTelemetry SDKs, a value that is not accepted is an error naming the variable,
//! never skipped with a warning: a typo in a sampler name should not silently sample everything.

use std::collections::HashMap;
use std::time::Duration;

use super::endpoint::{is_valid_url, EXPECTED_URL};
use super::error::{expected_one_of, ConfigError};
use super::file::{EXPECTED_POSITIVE_INT, EXPECTED_PROBABILITY};
use super::layer::{Config, Endpoint, Origin, Root, Set, Strategy};
use super::settings::{OtlpProtocol, Secret};
use crate::genai::CaptureMode;

/// Path of the configuration file [`Config::discover`] reads (instead of `./zdk-trace.toml`).
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
/// The head sampler, see [`SAMPLERS`].
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

/// Whether and where GenAI message content is recorded (the OpenTelemetry Python GenAI
/// instrumentations' variable): see [`CAPTURE_MODES`].
pub(crate) const OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: &str =
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

/// Every variable [`Config::from_env`] reads.
pub(crate) const ALL_VARS: &[&str] = &[
    OTEL_SDK_DISABLED,
    OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    OTEL_EXPORTER_OTLP_COMPRESSION,
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
    OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG,
    OTEL_BSP_SCHEDULE_DELAY,
    OTEL_BSP_EXPORT_TIMEOUT,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
];

/// Values of [`OTEL_TRACES_SAMPLER`] this crate implements.
const SAMPLERS: &[&str] = &[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
];
/// Values of [`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`], accepted in any case.
const CAPTURE_MODES: &[&str] = &[
    "true",
    "false",
    "NO_CONTENT",
    "SPAN_ONLY",
    "EVENT_ONLY",
    "SPAN_AND_EVENT",
];
const PROTOCOLS: &[&str] = &["grpc", "http/protobuf"];
const COMPRESSIONS: &[&str] = &["gzip", "none"];
const EXPECTED_PAIRS: &str = "comma-separated `key=value` pairs, values percent-encoded \
                              (e.g. `a=1,b=hello%20world`)";

/// Builds the environment layer from `vars` (other names are ignored; empty values are unset).
pub(crate) fn parse<I, K, V>(vars: I) -> Result<Config, ConfigError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars = Vars(
        vars.into_iter()
            .filter(|(k, _)| ALL_VARS.contains(&k.as_ref()))
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
    );
    let mut c = Config::default();

    if let Some(v) = vars.get(OTEL_SDK_DISABLED) {
        // `false` is the default: it does not re-enable what a file or code turned off.
        if parse_bool(OTEL_SDK_DISABLED, v)? {
            c.enabled = set(OTEL_SDK_DISABLED, false);
        }
    }

    if let Some(v) = vars.get(OTEL_RESOURCE_ATTRIBUTES) {
        for (key, value) in parse_pairs(OTEL_RESOURCE_ATTRIBUTES, v, false)? {
            c.resource.retain(|set| set.value.0 != key);
            c.resource.push(Set::new(
                (key, value),
                Origin::Env {
                    var: OTEL_RESOURCE_ATTRIBUTES,
                },
            ));
        }
    }
    if let Some(v) = vars.get(OTEL_SERVICE_NAME) {
        c.service_name = set(OTEL_SERVICE_NAME, v.to_owned());
    }

    // The generic variables are checked even when the traces-specific one wins, so a bad value
    // is never ignored.
    let endpoint = vars
        .get(OTEL_EXPORTER_OTLP_ENDPOINT)
        .map(|v| (OTEL_EXPORTER_OTLP_ENDPOINT, v));
    let traces_endpoint = vars
        .get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
        .map(|v| (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, v));
    for (var, url) in endpoint.iter().chain(traces_endpoint.iter()) {
        if !is_valid_url(url) {
            return Err(error(var, url, EXPECTED_URL.to_owned()));
        }
    }
    if let Some((var, url)) = traces_endpoint {
        c.otlp.endpoint = set(var, Endpoint::Traces(url.to_owned()));
    } else if let Some((var, url)) = endpoint {
        c.otlp.endpoint = set(var, Endpoint::Base(url.to_owned()));
    }

    for var in [
        OTEL_EXPORTER_OTLP_PROTOCOL,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    ] {
        if let Some(v) = vars.get(var) {
            let protocol = match v {
                "grpc" => OtlpProtocol::Grpc,
                "http/protobuf" => OtlpProtocol::HttpProtobuf,
                "http/json" => {
                    return Err(error(
                        var,
                        v,
                        "`http/protobuf` or `grpc` (`http/json` is not supported; use \
                         `http/protobuf`)"
                            .to_owned(),
                    ))
                }
                _ => return Err(choice_error(var, v, PROTOCOLS)),
            };
            c.otlp.protocol = set(var, protocol);
        }
    }

    for var in [
        OTEL_EXPORTER_OTLP_HEADERS,
        OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    ] {
        if let Some(v) = vars.get(var) {
            let origin = Origin::Env { var };
            c.otlp.headers = parse_pairs(var, v, true)?
                .into_iter()
                .map(|(name, value)| Set::new((name, Secret(value)), origin.clone()))
                .collect();
        }
    }

    for var in [
        OTEL_EXPORTER_OTLP_TIMEOUT,
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    ] {
        if let Some(v) = vars.get(var) {
            c.otlp.timeout = set(var, parse_millis(var, v, false)?);
        }
    }

    for var in [
        OTEL_EXPORTER_OTLP_COMPRESSION,
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
    ] {
        if let Some(v) = vars.get(var) {
            if !COMPRESSIONS.contains(&v) {
                return Err(choice_error(var, v, COMPRESSIONS));
            }
            c.otlp.gzip = set(var, v == "gzip");
        }
    }

    if let Some(v) = vars.get(OTEL_TRACES_SAMPLER) {
        let strategy = match v {
            "always_on" => Strategy::AlwaysOn,
            "always_off" => Strategy::AlwaysOff,
            "traceidratio" => Strategy::TraceIdRatio,
            "parentbased_always_on" => Strategy::ParentBased(Root::AlwaysOn),
            "parentbased_always_off" => Strategy::ParentBased(Root::AlwaysOff),
            "parentbased_traceidratio" => Strategy::ParentBased(Root::TraceIdRatio),
            _ => return Err(choice_error(OTEL_TRACES_SAMPLER, v, SAMPLERS)),
        };
        c.sampling.strategy = set(OTEL_TRACES_SAMPLER, strategy);
    }
    if let Some(v) = vars.get(OTEL_TRACES_SAMPLER_ARG) {
        match v.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => {
                c.sampling.probability = set(OTEL_TRACES_SAMPLER_ARG, p);
            }
            _ => {
                return Err(error(
                    OTEL_TRACES_SAMPLER_ARG,
                    v,
                    EXPECTED_PROBABILITY.to_owned(),
                ))
            }
        }
    }

    if let Some(v) = vars.get(OTEL_BSP_SCHEDULE_DELAY) {
        c.batch.scheduled_delay = set(
            OTEL_BSP_SCHEDULE_DELAY,
            parse_millis(OTEL_BSP_SCHEDULE_DELAY, v, true)?,
        );
    }
    if let Some(v) = vars.get(OTEL_BSP_EXPORT_TIMEOUT) {
        c.batch.export_timeout = set(
            OTEL_BSP_EXPORT_TIMEOUT,
            parse_millis(OTEL_BSP_EXPORT_TIMEOUT, v, false)?,
        );
    }
    if let Some(v) = vars.get(OTEL_BSP_MAX_QUEUE_SIZE) {
        c.batch.max_queue_size = set(
            OTEL_BSP_MAX_QUEUE_SIZE,
            parse_positive(OTEL_BSP_MAX_QUEUE_SIZE, v)?,
        );
    }
    if let Some(v) = vars.get(OTEL_BSP_MAX_EXPORT_BATCH_SIZE) {
        c.batch.max_export_batch_size = set(
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
            parse_positive(OTEL_BSP_MAX_EXPORT_BATCH_SIZE, v)?,
        );
    }
    if let Some(v) = vars.get(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT) {
        let var = OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
        // Suggestions compare against the upper-case names, as they are usually written.
        let mode =
            CaptureMode::from_env_value(v).ok_or_else(|| choice_error(var, v, CAPTURE_MODES))?;
        c.capture = set(var, mode);
    }
    Ok(c)
}

/// The known variables that are set and not empty.
struct Vars(HashMap<String, String>);

impl Vars {
    fn get(&self, var: &str) -> Option<&str> {
        self.0.get(var).map(String::as_str)
    }
}

fn set<T>(var: &'static str, value: T) -> Option<Set<T>> {
    Some(Set::new(value, Origin::Env { var }))
}

fn error(var: &str, value: &str, expected: String) -> ConfigError {
    ConfigError::Env {
        var: var.to_owned(),
        value: value.to_owned(),
        expected,
    }
}

fn choice_error(var: &str, value: &str, choices: &[&str]) -> ConfigError {
    ConfigError::Env {
        var: var.to_owned(),
        value: value.to_owned(),
        expected: expected_one_of(value, choices),
    }
}

fn parse_bool(var: &str, value: &str) -> Result<bool, ConfigError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(error(var, value, "`true` or `false`".to_owned()))
    }
}

fn parse_positive(var: &str, value: &str) -> Result<usize, ConfigError> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(error(var, value, EXPECTED_POSITIVE_INT.to_owned())),
    }
}

fn parse_millis(var: &str, value: &str, zero_ok: bool) -> Result<Duration, ConfigError> {
    match value.parse::<u64>() {
        Ok(ms) if zero_ok || ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(error(
            var,
            value,
            if zero_ok {
                "a whole number of milliseconds, 0 or more, e.g. `5000`"
            } else {
                "a positive whole number of milliseconds, e.g. `10000`"
            }
            .to_owned(),
        )),
    }
}

/// `k=v,k2=v2` with percent-encoded keys and values (the W3C baggage form the OTel
/// specification uses). `secret` values never appear in errors.
fn parse_pairs(var: &str, value: &str, secret: bool) -> Result<Vec<(String, String)>, ConfigError> {
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
                format!("`{}` has no `=`", pair.trim())
            }));
        };
        let key = percent_decode(key.trim())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                fail(format!(
                    "the key `{}` is empty or badly encoded",
                    key.trim()
                ))
            })?;
        let val = percent_decode(val.trim())
            .ok_or_else(|| fail(format!("the value of `{key}` has a bad `%` escape")))?;
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, val));
    }
    Ok(pairs)
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
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
        let p = parse_pairs("V", "a=1, b = x%3Dy ,,a=2", false).unwrap();
        assert_eq!(
            p,
            vec![
                ("b".to_owned(), "x=y".to_owned()),
                ("a".to_owned(), "2".to_owned())
            ]
        );
        assert!(parse_pairs("V", "a", false).is_err());
        assert!(parse_pairs("V", "=1", false).is_err());
    }

    #[test]
    fn header_errors_hide_values() {
        let err = parse_pairs("H", "api-key=s3cr3t%zz", true).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains("s3cr3t"), "{msg}");
        assert!(msg.contains("api-key"), "{msg}");
        let err = parse_pairs("H", "s3cr3t", true).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn traces_endpoint_wins() {
        let c = parse([
            (OTEL_EXPORTER_OTLP_ENDPOINT, "http://base:4318"),
            (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "http://traces:4318/t"),
        ])
        .unwrap();
        assert_eq!(
            c.otlp.endpoint.unwrap().value,
            Endpoint::Traces("http://traces:4318/t".to_owned())
        );
    }

    #[test]
    fn traces_specific_variables_win() {
        let c = parse([
            (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
            (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "http/protobuf"),
            (OTEL_EXPORTER_OTLP_TIMEOUT, "1000"),
            (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, "2000"),
            (OTEL_EXPORTER_OTLP_COMPRESSION, "gzip"),
            (OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, "none"),
            (OTEL_EXPORTER_OTLP_HEADERS, "a=1"),
            (OTEL_EXPORTER_OTLP_TRACES_HEADERS, "b=2"),
        ])
        .unwrap();
        assert_eq!(c.otlp.protocol.unwrap().value, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.otlp.timeout.unwrap().value, Duration::from_secs(2));
        assert!(!c.otlp.gzip.unwrap().value);
        assert_eq!(c.otlp.headers.len(), 1);
        assert_eq!(c.otlp.headers[0].value.0, "b");
    }

    #[test]
    fn sdk_disabled_false_changes_nothing() {
        assert!(parse([(OTEL_SDK_DISABLED, "false")])
            .unwrap()
            .enabled
            .is_none());
        assert!(
            !parse([(OTEL_SDK_DISABLED, "TRUE")])
                .unwrap()
                .enabled
                .unwrap()
                .value
        );
    }

    #[test]
    fn capture_modes_in_any_case() {
        let var = OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
        for (value, mode) in [
            ("true", CaptureMode::SpanOnly),
            ("False", CaptureMode::NoContent),
            ("span_only", CaptureMode::SpanOnly),
            ("EVENT_ONLY", CaptureMode::EventOnly),
            ("Span_And_Event", CaptureMode::SpanAndEvent),
            ("NO_CONTENT", CaptureMode::NoContent),
        ] {
            assert_eq!(parse([(var, value)]).unwrap().capture.unwrap().value, mode);
        }
        let msg = parse([(var, "SPAN_ONLYY")]).unwrap_err().to_string();
        assert!(msg.contains(var) && msg.contains("SPAN_ONLYY"), "{msg}");
        assert!(msg.contains("`SPAN_AND_EVENT`"), "{msg}");
    }

    #[test]
    fn empty_and_unknown_variables_are_ignored() {
        let c = parse([
            (OTEL_SERVICE_NAME, "  "),
            (OTEL_BSP_MAX_QUEUE_SIZE, ""),
            ("OTEL_SOMETHING_ELSE", "x"),
        ])
        .unwrap();
        assert_eq!(c, Config::default());
    }
}
