//! The kinds of value a setting can hold (a flag, seconds, a positive integer, a protocol, a
//! sampler strategy, …): how each is read from `zdk-trace.toml` and from an `OTEL_*` variable,
//! range-checked, and shown by `zdk-trace status`. Each setting of [`table`](super::table)
//! names its kind.

use std::time::Duration;

#[cfg(feature = "config-file")]
use toml::de::DeValue;

use super::endpoint::is_valid_url;
use super::env_value::{choice_error, error, parse_bool, parse_millis, parse_positive};
use super::setting::Kind;
use super::settings::OtlpProtocol;
use super::toml_value::{EXPECTED_POSITIVE_INT, EXPECTED_PROBABILITY, EXPECTED_RATE};
use super::values::{Root, Strategy};
use crate::genai::CaptureMode;
use crate::sampling::Sampler;

pub(super) static BOOL: Kind<bool> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.boolean(key, item),
    env: |var, value| parse_bool(var, value),
    check: |_| None,
    show: |b| b.to_string(),
};

/// A non-empty string in a file; any value in a variable.
pub(super) static TEXT: Kind<String> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.text(key, item),
    env: |_, value| Ok(value.to_owned()),
    check: |_| None,
    show: Clone::clone,
};

pub(super) static POSITIVE_INT: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.positive_int(key, item),
    env: |var, value| parse_positive(var, value),
    check: |n| (*n == 0).then(|| ("0".to_owned(), EXPECTED_POSITIVE_INT)),
    show: |n| n.to_string(),
};

/// Seconds in a file, milliseconds in a variable; 0 allowed.
pub(super) static SECONDS: Kind<Duration> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.seconds(key, item, true),
    env: |var, value| parse_millis(var, value, true),
    check: |_| None,
    show: |d| seconds(*d),
};

/// [`SECONDS`], but not 0.
pub(super) static POSITIVE_SECONDS: Kind<Duration> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.seconds(key, item, false),
    env: |var, value| parse_millis(var, value, false),
    check: |d| {
        d.is_zero()
            .then(|| (format!("{d:?}"), "a positive duration"))
    },
    show: |d| seconds(*d),
};

pub(super) const PROTOCOLS: &[&str] = &["grpc", "http/protobuf"];

pub(super) static PROTOCOL: Kind<OtlpProtocol> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        Ok(match doc.choice(key, item, PROTOCOLS)? {
            "grpc" => OtlpProtocol::Grpc,
            _ => OtlpProtocol::HttpProtobuf,
        })
    },
    env: |var, value| match value {
        "grpc" => Ok(OtlpProtocol::Grpc),
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        "http/json" => Err(error(
            var,
            value,
            "`http/protobuf` or `grpc` (`http/json` is not supported; use `http/protobuf`)"
                .to_owned(),
        )),
        _ => Err(choice_error(var, value, PROTOCOLS)),
    },
    check: |_| None,
    show: |p| {
        match p {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        }
        .to_owned()
    },
};

pub(super) const COMPRESSIONS: &[&str] = &["gzip", "none"];

/// `gzip` (`true`) or `none`.
pub(super) static COMPRESSION: Kind<bool> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| Ok(doc.choice(key, item, COMPRESSIONS)? == "gzip"),
    env: |var, value| {
        if !COMPRESSIONS.contains(&value) {
            return Err(choice_error(var, value, COMPRESSIONS));
        }
        Ok(value == "gzip")
    },
    check: |_| None,
    show: |gzip| if *gzip { "gzip" } else { "none" }.to_owned(),
};

/// `0..=1`. A code value is not checked: `Sampler` clamps it.
pub(super) static PROBABILITY_KIND: Kind<f64> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let p = doc.number(key, item, EXPECTED_PROBABILITY)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(doc.invalid(key, item, EXPECTED_PROBABILITY));
        }
        Ok(p)
    },
    env: |var, value| match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(error(var, value, EXPECTED_PROBABILITY.to_owned())),
    },
    check: |_| None,
    show: |p| p.to_string(),
};

/// A positive, finite number.
pub(super) static RATE: Kind<f64> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let rate = doc.number(key, item, EXPECTED_RATE)?;
        if rate <= 0.0 {
            return Err(doc.invalid(key, item, EXPECTED_RATE));
        }
        Ok(rate)
    },
    env: |var, value| match value.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate.is_finite() => Ok(rate),
        _ => Err(error(var, value, EXPECTED_RATE.to_owned())),
    },
    check: |rate| (!(*rate > 0.0 && rate.is_finite())).then(|| (rate.to_string(), EXPECTED_RATE)),
    show: |rate| rate.to_string(),
};

/// What a file's `capture_message_content` takes (besides `true` and `false`).
#[cfg(feature = "config-file")]
pub(super) const CAPTURE_MODES: &[&str] =
    &["no_content", "span_only", "event_only", "span_and_event"];
/// What `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` takes, in any case (suggestions
/// compare against the upper-case names, as they are usually written).
pub(super) const ENV_CAPTURE_MODES: &[&str] = &[
    "true",
    "false",
    "NO_CONTENT",
    "SPAN_ONLY",
    "EVENT_ONLY",
    "SPAN_AND_EVENT",
];

pub(super) static CAPTURE_KIND: Kind<CaptureMode> = Kind {
    // `true`/`false` as in the environment variable, or one of the modes.
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        Ok(match item.get_ref() {
            DeValue::Boolean(true) => CaptureMode::SpanOnly,
            DeValue::Boolean(false) => CaptureMode::NoContent,
            _ => match doc.choice(key, item, CAPTURE_MODES)? {
                "span_only" => CaptureMode::SpanOnly,
                "event_only" => CaptureMode::EventOnly,
                "span_and_event" => CaptureMode::SpanAndEvent,
                _ => CaptureMode::NoContent,
            },
        })
    },
    env: |var, value| {
        CaptureMode::from_env_value(value)
            .ok_or_else(|| choice_error(var, value, ENV_CAPTURE_MODES))
    },
    check: |_| None,
    show: |mode| capture_text(*mode).to_owned(),
};

/// What a usage endpoint may be in this build.
pub(super) const EXPECTED_HTTP_USAGE_URL: &str =
    "an `http://` URL such as `http://localhost:4318`: this \
     build has no TLS backend, so `https://` cannot connect; send to a collector reachable over \
     http";

/// An `http://` URL. The usage client is built without a TLS backend (as are the OTLP
/// clients): an https endpoint could never connect, so say so now rather than drop every
/// event. A file's value is checked for a URL when read, and for `https` when resolved.
pub(super) static USAGE_URL: Kind<String> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let url = doc.string(key, item, EXPECTED_HTTP_USAGE_URL)?;
        if !is_valid_url(url) {
            return Err(doc.invalid(key, item, EXPECTED_HTTP_USAGE_URL));
        }
        Ok(url.to_owned())
    },
    env: |var, value| {
        if !is_valid_url(value) {
            return Err(error(var, value, EXPECTED_HTTP_USAGE_URL.to_owned()));
        }
        Ok(value.to_owned())
    },
    check: |url| {
        if !is_valid_url(url) || url.starts_with("https://") {
            Some((format!("{url:?}"), EXPECTED_HTTP_USAGE_URL))
        } else {
            None
        }
    },
    show: Clone::clone,
};

/// What a file's `strategy` takes.
#[cfg(feature = "config-file")]
pub(super) const STRATEGIES: &[&str] = &["always_on", "always_off", "probability", "parent_based"];
/// What `OTEL_TRACES_SAMPLER` takes (the samplers this crate implements).
pub(super) const SAMPLERS: &[&str] = &[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
];

pub(super) static STRATEGY_KIND: Kind<Strategy> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        Ok(match doc.choice(key, item, STRATEGIES)? {
            "always_on" => Strategy::AlwaysOn,
            "always_off" => Strategy::AlwaysOff,
            "probability" => Strategy::TraceIdRatio,
            _ => Strategy::ParentBased(Root::RatioOrAlwaysOn),
        })
    },
    env: |var, value| {
        Ok(match value {
            "always_on" => Strategy::AlwaysOn,
            "always_off" => Strategy::AlwaysOff,
            "traceidratio" => Strategy::TraceIdRatio,
            "parentbased_always_on" => Strategy::ParentBased(Root::AlwaysOn),
            "parentbased_always_off" => Strategy::ParentBased(Root::AlwaysOff),
            "parentbased_traceidratio" => Strategy::ParentBased(Root::TraceIdRatio),
            _ => return Err(choice_error(var, value, SAMPLERS)),
        })
    },
    check: |_| None,
    // Shown resolved, as a sampler (see `strategy_entry`).
    show: |strategy| format!("{strategy:?}"),
};

// ----- how values are shown -----

/// `5s`, `0.5s`.
pub(crate) fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// The sampler as the configuration file spells it: `always_on`, `always_off`,
/// `probability 0.1`, `parent_based (root: always_on)`.
pub(crate) fn sampler_text(sampler: &Sampler) -> String {
    match sampler {
        Sampler::AlwaysOn => "always_on".to_owned(),
        Sampler::AlwaysOff => "always_off".to_owned(),
        Sampler::TraceIdRatio(p) => format!("probability {p}"),
        Sampler::ParentBased(root) => format!("parent_based (root: {})", sampler_text(root)),
    }
}

/// The capture mode as `telemetry.genai.capture_message_content` takes it.
pub(crate) fn capture_text(mode: CaptureMode) -> &'static str {
    match mode {
        CaptureMode::NoContent => "no_content",
        CaptureMode::SpanOnly => "span_only",
        CaptureMode::EventOnly => "event_only",
        CaptureMode::SpanAndEvent => "span_and_event",
    }
}
