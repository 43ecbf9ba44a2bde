//! The kinds of value a setting can hold (a flag, seconds, a positive integer, a protocol, a
//! sampler strategy, …): how each is read from `zdk-trace.toml` and from an `OTEL_*` variable,
//! range-checked, and shown by `zdk-trace status`. Each setting of [`table`](super::table)
//! names its kind.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

#[cfg(feature = "config-file")]
use toml::de::DeValue;

use super::endpoint::{is_valid_url, EXPECTED_URL};
use super::env_value::{
    choice_error, error, escape_controls, parse_bool, parse_count, parse_millis,
    OTEL_EXPORTER_OTLP_ENDPOINT,
};
use super::error::{expected_one_of, suggest, ConfigError};
use super::setting::Kind;
use super::settings::OtlpProtocol;
use super::toml_value::EXPECTED_PROBABILITY;
#[cfg(feature = "config-file")]
use super::toml_value::{Doc, Item};
use super::values::{
    Endpoint, MetricsExporters, ModelPrice, ProfileExporterType, Root, Strategy, Temporality,
};
use crate::genai::CaptureMode;
use crate::sampling::Sampler;

// ----- the bounds of every numeric setting -----
//
// A value outside them is refused with an error naming the key (or variable, or setter), the
// value and the range. The upper bounds keep every later `Instant + Duration`, allocation and
// token bucket far from overflow; the lower bounds refuse values that would silently turn a
// feature off (a rate of 1e-320 per second keeps one trace, then none).

/// Most spans waiting for export: 2^20 (1 048 576), 32 times the default. Every waiting span
/// takes a few hundred bytes (encoded, and as `SpanData` for a non-OTLP exporter), one
/// thread's ring of 320-byte slots may grow to the queue size, and tail sampling
/// holds as many spans again: hundreds of MB at the bound. Past it a queue is no longer slack
/// for a slow export but memory the application needs.
pub(crate) const QUEUE_SIZE_MAX: usize = 1 << 20;
const QUEUE_SIZE_RANGE: RangeInclusive<usize> = 1..=QUEUE_SIZE_MAX;
const EXPECTED_QUEUE_SIZE: &str = "a positive integer no larger than 1048576 (2^20 spans, \
                                   a few hundred bytes each while they wait), e.g. `32768`";

/// Most spans per export call: 65 536. At a few hundred bytes per encoded span that is already
/// a request of tens of MB, several times what OTLP receivers accept by default (4 MiB for
/// gRPC); the queue size bounds it too.
pub(crate) const BATCH_SIZE_MAX: usize = 65_536;
const BATCH_SIZE_RANGE: RangeInclusive<usize> = 1..=BATCH_SIZE_MAX;
const EXPECTED_BATCH_SIZE: &str = "a positive integer no larger than 65536, e.g. `512`";

/// Shortest timeout (an export, an OTLP request): 1 ms, the environment variables' unit; a
/// shorter one fails every export.
pub(crate) const TIMEOUT_MIN: Duration = Duration::from_millis(1);
/// Longest timeout, and longest delay: one hour. A shutdown may wait this long for an export.
pub(crate) const TIMEOUT_MAX: Duration = Duration::from_secs(3600);
// Read only by the file reader (and the bounds test).
#[cfg(any(feature = "config-file", test))]
const EXPECTED_TIMEOUT_SECONDS: &str =
    "a positive number of seconds from 0.001 (1 ms) to 3600 (1 h), e.g. `10` or `0.5`";
const EXPECTED_TIMEOUT_MILLIS: &str =
    "a positive whole number of milliseconds, at most 3600000 (1 h), e.g. `10000`";
const EXPECTED_TIMEOUT: &str =
    "a duration from 1 ms to 1 h (`Duration::from_millis(1)` to `Duration::from_secs(3600)`)";

/// Longest delay (the batch delay, the usage circuit's cooldown): one hour. 0 is allowed.
pub(crate) const DELAY_MAX: Duration = Duration::from_secs(3600);
// Read only by the file reader (and the bounds test).
#[cfg(any(feature = "config-file", test))]
const EXPECTED_DELAY_SECONDS: &str =
    "a number of seconds, 0 or more and at most 3600 (1 h), e.g. `5` or `0.5`";
const EXPECTED_DELAY_MILLIS: &str =
    "a whole number of milliseconds, 0 or more and at most 3600000 (1 h), e.g. `5000`";
const EXPECTED_DELAY: &str = "a duration of at most 1 h (`Duration::from_secs(3600)`)";

/// Longest slow-trace threshold: one day (an agent's run may well last hours).
pub(crate) const SLOW_THRESHOLD_MAX: Duration = Duration::from_secs(86_400);
// Read only by the file reader (and the bounds test).
#[cfg(any(feature = "config-file", test))]
const EXPECTED_SLOW_SECONDS: &str =
    "a number of seconds, 0 or more and at most 86400 (1 day), e.g. `5` or `0.5`";
const EXPECTED_SLOW_MILLIS: &str =
    "a whole number of milliseconds, 0 or more and at most 86400000 (1 day), e.g. `5000`";
const EXPECTED_SLOW: &str = "a duration of at most 1 day (`Duration::from_secs(86400)`)";

/// Fewest traces per second a rate limit keeps: 0.001, one trace per root span name every
/// 17 minutes. Less is in effect "none": use the `always_off` sampler for that.
pub(crate) const RATE_MIN: f64 = 0.001;
/// Most traces per second a rate limit keeps: 1 000 000, more than the pipeline can export
/// (so a larger limit would never apply).
pub(crate) const RATE_MAX: f64 = 1_000_000.0;
const RATE_RANGE: RangeInclusive<f64> = RATE_MIN..=RATE_MAX;
const EXPECTED_RATE: &str = "a number of traces per second from 0.001 to 1000000, e.g. `100`";

const PROBABILITY_RANGE: RangeInclusive<f64> = 0.0..=1.0;

/// Most attribute sets one metric instrument keeps: 1 000 000, 500 times the default. Each is
/// a series with cells of its own, in memory until the process ends; an attribute that needs
/// more holds ids (of users, of requests), and the memory would grow with the traffic. At
/// least 2: the overflow series (`otel.metric.overflow`) takes one.
pub(crate) const CARDINALITY_MAX: usize = 1_000_000;
const CARDINALITY_RANGE: RangeInclusive<usize> = 2..=CARDINALITY_MAX;
const EXPECTED_CARDINALITY: &str = "an integer from 2 to 1000000 (attribute sets per \
                                    instrument, the overflow series included), e.g. `2000`";

// ----- the rule of every string -----

/// What a string setting may hold: never a control character (U+0000 to U+001F, U+007F to
/// U+009F: a NUL, a line break or an escape corrupts what is exported and the logs that show
/// it), at most `max_chars` characters, and, unless `empty_ok`, something.
#[derive(Debug)]
pub(crate) struct TextRule {
    /// What is accepted, for errors.
    pub(crate) expected: &'static str,
    max_chars: usize,
    empty_ok: bool,
}

impl TextRule {
    /// What is wrong with `s`, if anything (never quoting `s`: it may be a secret).
    pub(crate) fn problem(&self, s: &str) -> Option<String> {
        if s.is_empty() && !self.empty_ok {
            return Some("it is empty".to_owned());
        }
        if let Some((at, c)) = s.chars().enumerate().find(|(_, c)| c.is_control()) {
            return Some(format!(
                "character {} is the control character U+{:04X}",
                at + 1,
                u32::from(c)
            ));
        }
        let chars = s.chars().count();
        (chars > self.max_chars).then(|| format!("it is {chars} characters long"))
    }

    /// What is accepted and, when `s` breaks the rule, what is wrong with it.
    pub(crate) fn check(&self, s: &str) -> Option<String> {
        self.problem(s)
            .map(|problem| format!("{}; here {problem}", self.expected))
    }

    /// `s` if it follows the rule, else the error for `var`.
    pub(crate) fn env(&self, var: &str, value: &str) -> Result<String, ConfigError> {
        match self.check(value) {
            Some(expected) => Err(error(var, value, expected)),
            None => Ok(value.to_owned()),
        }
    }

    /// The string at `key` if it follows the rule, else the error naming the key and line.
    #[cfg(feature = "config-file")]
    pub(crate) fn file(
        &self,
        doc: &Doc<'_>,
        key: &str,
        item: &Item<'_>,
    ) -> Result<String, ConfigError> {
        let s = doc.string(key, item, self.expected)?;
        match self.check(s) {
            Some(expected) => Err(doc.invalid(key, item, expected)),
            None => Ok(s.to_owned()),
        }
    }
}

/// The service name and version: a label every backend shows and indexes.
pub(crate) const NAME: TextRule = TextRule {
    expected: "a non-empty string of at most 255 characters without control characters \
               (U+0000 to U+001F, U+007F to U+009F), e.g. `my-agent`",
    max_chars: 255,
    empty_ok: false,
};

/// A resource attribute's key.
pub(crate) const ATTRIBUTE_KEY: TextRule = TextRule {
    expected: "a non-empty attribute name of at most 255 characters without control \
               characters, e.g. `deployment.environment`",
    max_chars: 255,
    empty_ok: false,
};

/// A resource attribute's value (empty allowed, as OpenTelemetry allows it).
pub(crate) const ATTRIBUTE_VALUE: TextRule = TextRule {
    expected: "a string of at most 4096 characters without control characters \
               (U+0000 to U+001F, U+007F to U+009F)",
    max_chars: 4096,
    empty_ok: true,
};

/// An OTLP header's value (a secret: errors never show it). 8192 characters is the whole
/// header block most servers accept.
pub(crate) const HEADER_VALUE: TextRule = TextRule {
    expected: "a header value of at most 8192 characters without control characters (a \
               trailing line break, as `$(cat token-file)` leaves, is one)",
    max_chars: 8192,
    empty_ok: true,
};

/// The file exporter's path (4096 bytes is Linux's `PATH_MAX`).
pub(crate) const FILE_PATH: TextRule = TextRule {
    expected: "a non-empty path of at most 4096 characters without control characters, e.g. \
               `traces.jsonl`",
    max_chars: 4096,
    empty_ok: false,
};

/// What an OTLP header name must be.
pub(crate) const EXPECTED_HEADER_NAME: &str = "a header name of at most 255 letters, digits and \
                                               `!#$%&'*+-.^_`|~`, e.g. `x-api-key`";

/// An HTTP header name (RFC 9110 token), at most 255 characters.
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// What is wrong with an OTLP header, if anything. Its value is a secret: only where the
/// problem is is said, never what the value holds.
pub(crate) fn header_problem(name: &str, value: &str) -> Option<String> {
    if !is_header_name(name) {
        return Some(format!(
            "the name `{}` is not {EXPECTED_HEADER_NAME}",
            escape_controls(name)
        ));
    }
    HEADER_VALUE.problem(value).map(|problem| {
        format!(
            "the value of `{name}`: {problem}; expected {}",
            HEADER_VALUE.expected
        )
    })
}

/// The key of the resource attribute that names the service when no service name is set.
pub(crate) const SERVICE_NAME_ATTRIBUTE: &str = "service.name";

/// What is wrong with a resource attribute, if anything (a `service.name` follows [`NAME`]).
pub(crate) fn attribute_problem(key: &str, value: &str) -> Option<String> {
    if let Some(problem) = ATTRIBUTE_KEY.problem(key) {
        return Some(format!(
            "the key `{}`: {problem}; expected {}",
            escape_controls(key),
            ATTRIBUTE_KEY.expected
        ));
    }
    let rule = attribute_rule(key);
    rule.problem(value).map(|problem| {
        format!(
            "the value of `{key}`: {problem}; expected {}",
            rule.expected
        )
    })
}

/// The rule of an attribute's value: [`NAME`] for `service.name`, else [`ATTRIBUTE_VALUE`].
pub(crate) fn attribute_rule(key: &str) -> &'static TextRule {
    if key == SERVICE_NAME_ATTRIBUTE {
        &NAME
    } else {
        &ATTRIBUTE_VALUE
    }
}

// ----- model prices -----

/// A model's name in `[telemetry.genai.prices."<model>"]`: any text (dots, dashes and slashes
/// included) without a control character, as the application reports it.
pub(crate) const MODEL_NAME: TextRule = TextRule {
    expected: "a non-empty model name of at most 255 characters without control characters, \
               e.g. `gpt-4o` or `anthropic/claude-sonnet-4`",
    max_chars: 255,
    empty_ok: false,
};

/// What `input_per_million` and `output_per_million` take.
pub(crate) const EXPECTED_PRICE: &str =
    "a price per million tokens: a number, 0 or more, e.g. `2.5`";

/// What `currency` takes.
pub(crate) const EXPECTED_CURRENCY: &str =
    "a currency code of 3 upper-case letters (ISO 4217), e.g. `USD` or `EUR`";

/// A price: finite (NaN would turn every cost into NaN) and 0 or more.
fn is_price(price: f64) -> bool {
    price.is_finite() && price >= 0.0
}

/// `price` as it is kept: `-0.0` (a price, being 0) as `0`, so that it is never shown as `-0`.
pub(crate) fn unsigned_zero(price: f64) -> f64 {
    if price == 0.0 {
        0.0
    } else {
        price
    }
}

/// What is accepted when `price` is not a price, and why (else `None`).
pub(crate) fn price_check(price: f64) -> Option<String> {
    if is_price(price) {
        None
    } else if price < 0.0 {
        Some(format!("{EXPECTED_PRICE}; here it is negative"))
    } else {
        Some(EXPECTED_PRICE.to_owned())
    }
}

fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// What is accepted when `code` is not a currency code (else `None`), with the code in upper
/// case as a suggestion when that is one (`usd`).
pub(crate) fn currency_check(code: &str) -> Option<String> {
    if is_currency(code) {
        return None;
    }
    let upper = code.to_ascii_uppercase();
    Some(if is_currency(&upper) {
        format!("{EXPECTED_CURRENCY}; did you mean `{upper}`?")
    } else {
        EXPECTED_CURRENCY.to_owned()
    })
}

/// The key of one model's entry: `telemetry.genai.prices."gpt-4o"` (the name always quoted,
/// as a name with a dot must be in the file).
pub(crate) fn model_key(table_key: &str, model: &str) -> String {
    format!("{table_key}.{model:?}")
}

/// What is wrong with a price set in code, if anything (a file's was checked when read): the
/// value as shown and what is accepted.
pub(crate) fn model_price_problem(price: &ModelPrice) -> Option<(String, String)> {
    let model = &price.model;
    if let Some(expected) = MODEL_NAME.check(model) {
        return Some((format!("{model:?} (the model name)"), expected));
    }
    for (field, value) in [
        ("input_per_million", price.input_per_million),
        ("output_per_million", price.output_per_million),
    ] {
        if let Some(expected) = price_check(value) {
            return Some((format!("{value} ({field} of {model:?})"), expected));
        }
    }
    currency_check(&price.currency).map(|expected| {
        (
            format!("{:?} (currency of {model:?})", price.currency),
            expected,
        )
    })
}

// ----- kinds -----

pub(super) static BOOL: Kind<bool> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.boolean(key, item),
    env: |var, value| parse_bool(var, value),
    check: |_| None,
    show: |b| b.to_string(),
};

/// The service name or version: see [`NAME`].
pub(super) static NAME_KIND: Kind<String> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| NAME.file(doc, key, item),
    env: |var, value| NAME.env(var, value),
    check: |s| NAME.check(s).map(|expected| (format!("{s:?}"), expected)),
    show: Clone::clone,
};

/// `1..=`[`QUEUE_SIZE_MAX`] spans.
pub(super) static QUEUE_SIZE: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.count(key, item, QUEUE_SIZE_RANGE, EXPECTED_QUEUE_SIZE),
    env: |var, value| parse_count(var, value, QUEUE_SIZE_RANGE, EXPECTED_QUEUE_SIZE),
    check: |n| outside(n, &QUEUE_SIZE_RANGE, n.to_string(), EXPECTED_QUEUE_SIZE),
    show: |n| n.to_string(),
};

/// `1..=`[`BATCH_SIZE_MAX`] spans (and at most the queue size, checked across layers).
pub(super) static BATCH_SIZE: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.count(key, item, BATCH_SIZE_RANGE, EXPECTED_BATCH_SIZE),
    env: |var, value| parse_count(var, value, BATCH_SIZE_RANGE, EXPECTED_BATCH_SIZE),
    check: |n| outside(n, &BATCH_SIZE_RANGE, n.to_string(), EXPECTED_BATCH_SIZE),
    show: |n| n.to_string(),
};

/// The largest OTLP request: 1 KiB to 256 MiB (collectors cap requests at a few MiB).
const REQUEST_BYTES_RANGE: RangeInclusive<usize> = 1024..=(256 << 20);
const EXPECTED_REQUEST_BYTES: &str =
    "a number of bytes from 1024 to 268435456 (256 MiB), e.g. `4194304` (4 MiB)";

/// `1024..=256 MiB` bytes.
pub(super) static REQUEST_BYTES: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.count(key, item, REQUEST_BYTES_RANGE, EXPECTED_REQUEST_BYTES),
    env: |var, value| parse_count(var, value, REQUEST_BYTES_RANGE, EXPECTED_REQUEST_BYTES),
    check: |n| {
        outside(
            n,
            &REQUEST_BYTES_RANGE,
            n.to_string(),
            EXPECTED_REQUEST_BYTES,
        )
    },
    show: |n| n.to_string(),
};

/// The retry buffer: 0 (off) to 1 GiB.
const RETRY_BYTES_RANGE: RangeInclusive<usize> = 0..=(1 << 30);
const EXPECTED_RETRY_BYTES: &str =
    "a number of bytes from 0 (no retry buffer) to 1073741824 (1 GiB), e.g. `33554432` (32 MiB)";

/// `0..=1 GiB` bytes.
pub(super) static RETRY_BYTES: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.count(key, item, RETRY_BYTES_RANGE, EXPECTED_RETRY_BYTES),
    env: |var, value| parse_count(var, value, RETRY_BYTES_RANGE, EXPECTED_RETRY_BYTES),
    check: |n| outside(n, &RETRY_BYTES_RANGE, n.to_string(), EXPECTED_RETRY_BYTES),
    show: |n| n.to_string(),
};

/// Failures in a row that open the circuit: 1 to 1000.
const FAILURES_RANGE: RangeInclusive<usize> = 1..=1000;
const EXPECTED_FAILURES: &str = "a positive integer no larger than 1000, e.g. `5`";

/// `1..=1000`.
pub(super) static FAILURES: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.count(key, item, FAILURES_RANGE, EXPECTED_FAILURES),
    env: |var, value| parse_count(var, value, FAILURES_RANGE, EXPECTED_FAILURES),
    check: |n| outside(n, &FAILURES_RANGE, n.to_string(), EXPECTED_FAILURES),
    show: |n| n.to_string(),
};

/// The longest attribute value: 1 byte to 64 MiB.
const VALUE_LENGTH_RANGE: RangeInclusive<usize> = 1..=(64 << 20);
const EXPECTED_VALUE_LENGTH: &str =
    "a number of bytes from 1 to 67108864 (64 MiB), e.g. `1048576` (1 MiB)";

/// `1..=64 MiB` bytes.
pub(super) static VALUE_LENGTH: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.count(key, item, VALUE_LENGTH_RANGE, EXPECTED_VALUE_LENGTH),
    env: |var, value| parse_count(var, value, VALUE_LENGTH_RANGE, EXPECTED_VALUE_LENGTH),
    check: |n| outside(n, &VALUE_LENGTH_RANGE, n.to_string(), EXPECTED_VALUE_LENGTH),
    show: |n| n.to_string(),
};

/// How many attributes, events or links a span keeps: 1 to 65 536.
const SPAN_COUNT_RANGE: RangeInclusive<usize> = 1..=65_536;
const EXPECTED_SPAN_COUNT: &str = "a positive integer no larger than 65536, e.g. `128`";

/// `1..=65536`.
pub(super) static SPAN_COUNT: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.count(key, item, SPAN_COUNT_RANGE, EXPECTED_SPAN_COUNT),
    env: |var, value| parse_count(var, value, SPAN_COUNT_RANGE, EXPECTED_SPAN_COUNT),
    check: |n| outside(n, &SPAN_COUNT_RANGE, n.to_string(), EXPECTED_SPAN_COUNT),
    show: |n| n.to_string(),
};

/// `2..=`[`CARDINALITY_MAX`] attribute sets per instrument.
pub(super) static CARDINALITY: Kind<usize> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| doc.count(key, item, CARDINALITY_RANGE, EXPECTED_CARDINALITY),
    env: |var, value| parse_count(var, value, CARDINALITY_RANGE, EXPECTED_CARDINALITY),
    check: |n| outside(n, &CARDINALITY_RANGE, n.to_string(), EXPECTED_CARDINALITY),
    show: |n| n.to_string(),
};

/// A port to listen on. 0 is "any free port" (the system picks; the application reads it from
/// `Telemetry::prometheus_addr`): for tests, since a scraper must be told the port.
const EXPECTED_PORT: &str = "a port from 0 to 65535, e.g. `9464` (0: any free port)";

/// `0..=65535`.
pub(super) static PORT: Kind<u16> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let port = doc.count(key, item, 0..=usize::from(u16::MAX), EXPECTED_PORT)?;
        u16::try_from(port).map_err(|_| doc.invalid(key, item, EXPECTED_PORT))
    },
    env: |var, value| match value.parse::<u16>() {
        Ok(port) => Ok(port),
        Err(_) => Err(error(var, value, EXPECTED_PORT.to_owned())),
    },
    check: |_| None,
    show: |port| port.to_string(),
};

/// What a listening address must be.
const EXPECTED_IP: &str = "an IP address, e.g. `127.0.0.1` (this machine only), `0.0.0.0` \
                           (every interface) or `::1`";

/// `text` as an IP address, else what is accepted and, for the usual mistakes (a host name, a
/// port, brackets), what is wrong.
fn parse_ip(text: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(ip);
    }
    let problem = if text.parse::<SocketAddr>().is_ok() {
        "here it has a port; set the port with `port`"
    } else if text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|inner| inner.parse::<IpAddr>().is_ok())
    {
        "here it has brackets; write an IPv6 address without them"
    } else if text.eq_ignore_ascii_case("localhost") {
        "here it is a host name; `localhost` is `127.0.0.1`"
    } else {
        return Err(EXPECTED_IP.to_owned());
    };
    Err(format!("{EXPECTED_IP}; {problem}"))
}

/// An IPv4 or IPv6 address (no host name: listening needs an address).
pub(super) static IP_ADDRESS: Kind<IpAddr> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let text = doc.string(key, item, EXPECTED_IP)?;
        parse_ip(text).map_err(|expected| doc.invalid(key, item, expected))
    },
    env: |var, value| parse_ip(value).map_err(|expected| error(var, value, expected)),
    check: |_| None,
    show: IpAddr::to_string,
};

/// Longest scrape path: 2048 characters, as an endpoint URL.
const SCRAPE_PATH_MAX_CHARS: usize = 2048;
const EXPECTED_SCRAPE_PATH: &str = "a URL path starting with `/`, without spaces, control \
                                    characters, `?` or `#`, at most 2048 characters, e.g. \
                                    `/metrics`";

/// What is wrong with a scrape path, if anything.
fn scrape_path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("it is empty".to_owned());
    }
    if !path.starts_with('/') {
        return Some("it does not start with `/`".to_owned());
    }
    if let Some((at, c)) = path
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
    {
        let what = match c {
            '?' | '#' => format!("`{c}`"),
            ' ' => "a space".to_owned(),
            c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
            c => format!("the space character U+{:04X}", u32::from(c)),
        };
        return Some(format!("character {} is {what}", at + 1));
    }
    let chars = path.chars().count();
    (chars > SCRAPE_PATH_MAX_CHARS).then(|| format!("it is {chars} characters long"))
}

/// What is accepted and, when `path` is not, what is wrong with it.
fn scrape_path_check(path: &str) -> Option<String> {
    scrape_path_problem(path).map(|problem| format!("{EXPECTED_SCRAPE_PATH}; here {problem}"))
}

/// The path a Prometheus scrape endpoint serves: see [`EXPECTED_SCRAPE_PATH`].
pub(super) static SCRAPE_PATH: Kind<String> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let path = doc.string(key, item, EXPECTED_SCRAPE_PATH)?;
        match scrape_path_check(path) {
            Some(expected) => Err(doc.invalid(key, item, expected)),
            None => Ok(path.to_owned()),
        }
    },
    env: |var, value| match scrape_path_check(value) {
        Some(expected) => Err(error(var, value, expected)),
        None => Ok(value.to_owned()),
    },
    check: |path| scrape_path_check(path).map(|expected| (format!("{path:?}"), expected)),
    show: Clone::clone,
};

/// An OTLP metrics endpoint, checked as the traces endpoint is: a URL from code or a file,
/// `OTEL_EXPORTER_OTLP_ENDPOINT` as a base URL, the metrics variable as the URL itself.
pub(super) static METRICS_URL: Kind<Endpoint> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let url = doc.string(key, item, EXPECTED_URL)?;
        if !is_valid_url(url) {
            return Err(doc.invalid(key, item, EXPECTED_URL));
        }
        Ok(Endpoint::Url(url.to_owned()))
    },
    env: |var, value| {
        if !is_valid_url(value) {
            return Err(error(var, value, EXPECTED_URL.to_owned()));
        }
        Ok(if var == OTEL_EXPORTER_OTLP_ENDPOINT {
            Endpoint::Base(value.to_owned())
        } else {
            Endpoint::Signal(value.to_owned())
        })
    },
    check: |endpoint| {
        (!is_valid_url(endpoint.url()))
            .then(|| (format!("{:?}", endpoint.url()), EXPECTED_URL.to_owned()))
    },
    show: |endpoint| endpoint.url().to_owned(),
};

/// What `telemetry.metrics.otlp.temporality` takes (and, in any case, the variable).
pub(super) const TEMPORALITIES: &[&str] = &["cumulative", "delta", "lowmemory"];

fn temporality(name: &str) -> Temporality {
    match name {
        "delta" => Temporality::Delta,
        "lowmemory" => Temporality::LowMemory,
        _ => Temporality::Cumulative,
    }
}

/// One of [`TEMPORALITIES`]: exactly in a file, in any case in the variable (as the
/// specification says of its enum values).
pub(super) static TEMPORALITY_KIND: Kind<Temporality> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| Ok(temporality(doc.choice(key, item, TEMPORALITIES)?)),
    env: |var, value| {
        let lower = value.to_ascii_lowercase();
        match TEMPORALITIES.iter().find(|name| **name == lower) {
            Some(name) => Ok(temporality(name)),
            None => Err(error(var, value, expected_one_of(&lower, TEMPORALITIES))),
        }
    },
    check: |_| None,
    show: |t| temporality_text(*t).to_owned(),
};

/// The exporters `OTEL_METRICS_EXPORTER` may name (`none` alone).
pub(super) const METRICS_EXPORTER_NAMES: &[&str] = &["otlp", "prometheus", "console", "none"];
const EXPECTED_METRICS_EXPORTERS: &str = "a comma-separated list of `otlp`, `prometheus` and \
                                          `console`, or `none` alone (no metrics export), e.g. \
                                          `otlp,prometheus`";

/// `OTEL_METRICS_EXPORTER`: names in any case, empty entries skipped, repeats allowed.
fn parse_metrics_exporters(var: &str, value: &str) -> Result<MetricsExporters, ConfigError> {
    let fail = |problem: String| {
        error(
            var,
            value,
            format!("{EXPECTED_METRICS_EXPORTERS}; {problem}"),
        )
    };
    let mut exporters = MetricsExporters::default();
    let (mut named, mut none) = (0, false);
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name.to_ascii_lowercase().as_str() {
            "otlp" => exporters.otlp = true,
            "prometheus" => exporters.prometheus = true,
            "console" => exporters.console = true,
            "none" => none = true,
            lower => {
                let hint = suggest(lower, METRICS_EXPORTER_NAMES.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(fail(format!(
                    "here `{}` is not one of them{hint}",
                    escape_controls(name)
                )));
            }
        }
        named += 1;
    }
    if named == 0 {
        return Err(fail("here it names no exporter".to_owned()));
    }
    if none && exporters != MetricsExporters::default() {
        return Err(fail(
            "here `none` is listed with exporters; keep one or the other".to_owned(),
        ));
    }
    Ok(exporters)
}

/// Set by `OTEL_METRICS_EXPORTER` alone (no key of a file takes it: see
/// [`EnvOnly`](super::setting::EnvOnly)).
pub(super) static METRICS_EXPORTER_LIST: Kind<MetricsExporters> = Kind {
    // Never called (the file reader does not offer the key); says what to write instead.
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        Err(doc.invalid(
            key,
            item,
            "no value in a file: only `OTEL_METRICS_EXPORTER` sets it; in a file, turn the \
             exporters on with `[telemetry.metrics.prometheus] enabled = true` and \
             `[telemetry.metrics.otlp] endpoint = …`",
        ))
    },
    env: parse_metrics_exporters,
    check: |_| None,
    show: |exporters| metrics_exporters_text(*exporters),
};

/// [`TIMEOUT_MIN`] to [`TIMEOUT_MAX`]: seconds in a file, milliseconds in a variable.
pub(super) static TIMEOUT: Kind<Duration> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        doc.seconds(
            key,
            item,
            TIMEOUT_MIN,
            TIMEOUT_MAX,
            EXPECTED_TIMEOUT_SECONDS,
        )
    },
    env: |var, value| {
        parse_millis(
            var,
            value,
            TIMEOUT_MIN,
            TIMEOUT_MAX,
            EXPECTED_TIMEOUT_MILLIS,
        )
    },
    check: |d| {
        outside(
            d,
            &(TIMEOUT_MIN..=TIMEOUT_MAX),
            format!("{d:?}"),
            EXPECTED_TIMEOUT,
        )
    },
    show: |d| seconds(*d),
};

/// 0 to [`DELAY_MAX`]: seconds in a file, milliseconds in a variable.
pub(super) static DELAY: Kind<Duration> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        doc.seconds(key, item, Duration::ZERO, DELAY_MAX, EXPECTED_DELAY_SECONDS)
    },
    env: |var, value| parse_millis(var, value, Duration::ZERO, DELAY_MAX, EXPECTED_DELAY_MILLIS),
    check: |d| {
        outside(
            d,
            &(Duration::ZERO..=DELAY_MAX),
            format!("{d:?}"),
            EXPECTED_DELAY,
        )
    },
    show: |d| seconds(*d),
};

/// 0 to [`SLOW_THRESHOLD_MAX`] (a file's seconds; no variable sets it).
pub(super) static SLOW_THRESHOLD_KIND: Kind<Duration> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        doc.seconds(
            key,
            item,
            Duration::ZERO,
            SLOW_THRESHOLD_MAX,
            EXPECTED_SLOW_SECONDS,
        )
    },
    env: |var, value| {
        parse_millis(
            var,
            value,
            Duration::ZERO,
            SLOW_THRESHOLD_MAX,
            EXPECTED_SLOW_MILLIS,
        )
    },
    check: |d| {
        outside(
            d,
            &(Duration::ZERO..=SLOW_THRESHOLD_MAX),
            format!("{d:?}"),
            EXPECTED_SLOW,
        )
    },
    show: |d| seconds(*d),
};

/// `value` shown as `shown`, with what is accepted, when it is not in `range` (NaN never is).
fn outside<T: PartialOrd>(
    value: &T,
    range: &RangeInclusive<T>,
    shown: String,
    expected: &str,
) -> Option<(String, String)> {
    (!range.contains(value)).then(|| (shown, expected.to_owned()))
}

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

/// `0..=1`, in a file, a variable and code alike (NaN is refused too: it would sample nothing).
pub(super) static PROBABILITY_KIND: Kind<f64> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let p = doc.number(key, item, EXPECTED_PROBABILITY)?;
        if !PROBABILITY_RANGE.contains(&p) {
            return Err(doc.invalid(key, item, EXPECTED_PROBABILITY));
        }
        Ok(p)
    },
    env: |var, value| match value.parse::<f64>() {
        Ok(p) if PROBABILITY_RANGE.contains(&p) => Ok(p),
        _ => Err(error(var, value, EXPECTED_PROBABILITY.to_owned())),
    },
    check: |p| outside(p, &PROBABILITY_RANGE, p.to_string(), EXPECTED_PROBABILITY),
    show: |p| p.to_string(),
};

/// [`RATE_MIN`] to [`RATE_MAX`] traces per second (finite: NaN and infinities are refused).
pub(super) static RATE: Kind<f64> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let rate = doc.number(key, item, EXPECTED_RATE)?;
        if !RATE_RANGE.contains(&rate) {
            return Err(doc.invalid(key, item, EXPECTED_RATE));
        }
        Ok(rate)
    },
    env: |var, value| match value.parse::<f64>() {
        Ok(rate) if RATE_RANGE.contains(&rate) => Ok(rate),
        _ => Err(error(var, value, EXPECTED_RATE.to_owned())),
    },
    check: |rate| outside(rate, &RATE_RANGE, rate.to_string(), EXPECTED_RATE),
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
            Some((format!("{url:?}"), EXPECTED_HTTP_USAGE_URL.to_owned()))
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

// ----- profiling -----

/// Most CPU samples per second: 1000 Hz, a sample per millisecond of CPU. Each sample
/// interrupts a thread (SIGPROF) and walks its stack; more often than that, the timer's
/// resolution and the cost of the samples distort what is measured.
pub(crate) const FREQUENCY_MAX: u32 = 1000;
const FREQUENCY_RANGE: RangeInclusive<u32> = 1..=FREQUENCY_MAX;
const EXPECTED_FREQUENCY: &str =
    "a sampling frequency in Hz, a whole number from 1 to 1000, e.g. `99`";

/// `1..=`[`FREQUENCY_MAX`] samples per second.
pub(super) static FREQUENCY: Kind<u32> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| file_u32(doc, key, item, &FREQUENCY_RANGE, EXPECTED_FREQUENCY),
    env: |var, value| env_u32(var, value, &FREQUENCY_RANGE, EXPECTED_FREQUENCY),
    check: |n| outside(n, &FREQUENCY_RANGE, n.to_string(), EXPECTED_FREQUENCY),
    show: |n| n.to_string(),
};

/// Longest CPU profile: one hour, as the longest timeout and delay ([`TIMEOUT_MAX`],
/// [`DELAY_MAX`]). A profile is held in memory until it ends, and one that would end after the
/// process is never exported.
pub(crate) const PROFILE_WINDOW_MAX: Duration = Duration::from_secs(3600);
const PROFILE_WINDOW_SECONDS: RangeInclusive<u32> = 1..=3600;
const EXPECTED_PROFILE_WINDOW: &str = "a whole number of seconds from 1 to 3600 (1 h), e.g. `10`";
const EXPECTED_PROFILE_WINDOW_CODE: &str =
    "a whole number of seconds from 1 s to 1 h (`Duration::from_secs(1)` to \
     `Duration::from_secs(3600)`)";

/// 1 s to [`PROFILE_WINDOW_MAX`], whole seconds (in a file and in a variable alike).
pub(super) static PROFILE_WINDOW: Kind<Duration> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        file_u32(
            doc,
            key,
            item,
            &PROFILE_WINDOW_SECONDS,
            EXPECTED_PROFILE_WINDOW,
        )
        .map(|secs| Duration::from_secs(u64::from(secs)))
    },
    env: |var, value| {
        env_u32(var, value, &PROFILE_WINDOW_SECONDS, EXPECTED_PROFILE_WINDOW)
            .map(|secs| Duration::from_secs(u64::from(secs)))
    },
    check: |d| {
        let whole = d.subsec_nanos() == 0;
        (!whole || !(Duration::from_secs(1)..=PROFILE_WINDOW_MAX).contains(d))
            .then(|| (format!("{d:?}"), EXPECTED_PROFILE_WINDOW_CODE.to_owned()))
    },
    show: |d| seconds(*d),
};

/// One allocation in N records its stack: N from 1 (every allocation) up. No upper bound but
/// the type's: a large N records few stacks, which is the point of sampling.
const SAMPLING_RATE_RANGE: RangeInclusive<u32> = 1..=u32::MAX;
const EXPECTED_SAMPLING_RATE: &str = "one allocation in N records its stack: a whole number N \
                                      from 1 (every allocation) to 4294967295, e.g. `100`";

/// `1..=u32::MAX`.
pub(super) static SAMPLING_RATE: Kind<u32> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| file_u32(doc, key, item, &SAMPLING_RATE_RANGE, EXPECTED_SAMPLING_RATE),
    env: |var, value| env_u32(var, value, &SAMPLING_RATE_RANGE, EXPECTED_SAMPLING_RATE),
    check: |n| {
        outside(
            n,
            &SAMPLING_RATE_RANGE,
            n.to_string(),
            EXPECTED_SAMPLING_RATE,
        )
    },
    show: |n| n.to_string(),
};

/// A whole number in `range` from a file (an integer, any radix TOML allows).
#[cfg(feature = "config-file")]
fn file_u32(
    doc: &Doc<'_>,
    key: &str,
    item: &Item<'_>,
    range: &RangeInclusive<u32>,
    expected: &str,
) -> Result<u32, ConfigError> {
    let n = match item.get_ref() {
        DeValue::Integer(i) => u32::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    };
    n.filter(|n| range.contains(n))
        .ok_or_else(|| doc.invalid(key, item, expected))
}

/// A whole number in `range` from a variable.
fn env_u32(
    var: &str,
    value: &str,
    range: &RangeInclusive<u32>,
    expected: &str,
) -> Result<u32, ConfigError> {
    match value.parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(error(var, value, expected.to_owned())),
    }
}

/// The profile exporters `telemetry.profiling.exporter.type` offers (and errors list).
pub(super) const PROFILE_EXPORTERS: &[&str] = &["file", "pyroscope"];
/// Named by the design's schema, read, and refused when the layers are resolved.
const GCP_EXPORTER: &str = "gcp";
/// Why `gcp` is refused, and what to write instead.
const EXPECTED_NOT_GCP: &str = "`file` or `pyroscope`: GCP Cloud Profiler is not supported \
                                yet; write pprof files with `file` (into `file_output_dir`) \
                                or push to a Pyroscope server with `pyroscope` (at \
                                `pyroscope_endpoint`)";

fn profile_exporter(name: &str) -> Option<ProfileExporterType> {
    match name {
        "file" => Some(ProfileExporterType::File),
        "pyroscope" => Some(ProfileExporterType::Pyroscope),
        GCP_EXPORTER => Some(ProfileExporterType::Gcp),
        _ => None,
    }
}

/// `file`, `pyroscope`, or `gcp`, which is read (a file written to the design's schema names
/// it) and refused by `check` when the layers are resolved: `install()` and `zdk-trace status`
/// say it is not supported, naming the key, rather than a reader calling it unknown.
pub(super) static PROFILE_EXPORTER_KIND: Kind<ProfileExporterType> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        if matches!(item.get_ref(), DeValue::String(s) if s == GCP_EXPORTER) {
            return Ok(ProfileExporterType::Gcp);
        }
        let name = doc.choice(key, item, PROFILE_EXPORTERS)?;
        Ok(profile_exporter(name).unwrap_or(ProfileExporterType::File))
    },
    env: |var, value| {
        profile_exporter(value).ok_or_else(|| choice_error(var, value, PROFILE_EXPORTERS))
    },
    check: |exporter| {
        (*exporter == ProfileExporterType::Gcp)
            .then(|| (format!("{GCP_EXPORTER:?}"), EXPECTED_NOT_GCP.to_owned()))
    },
    show: |exporter| {
        match exporter {
            ProfileExporterType::File => "file",
            ProfileExporterType::Pyroscope => "pyroscope",
            ProfileExporterType::Gcp => GCP_EXPORTER,
        }
        .to_owned()
    },
};

/// What a Pyroscope endpoint must look like: [`EXPECTED_URL`]'s rule, with Pyroscope's port.
pub(crate) const EXPECTED_PYROSCOPE_URL: &str =
    "an `http://` or `https://` URL with a host (and a port from 1 to 65535, if any), without \
     spaces or control characters, at most 2048 characters, e.g. `http://localhost:4040`";

/// A Pyroscope server's URL, checked as the OTLP endpoints are.
pub(super) static PYROSCOPE_URL: Kind<String> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| {
        let url = doc.string(key, item, EXPECTED_PYROSCOPE_URL)?;
        if !is_valid_url(url) {
            return Err(doc.invalid(key, item, EXPECTED_PYROSCOPE_URL));
        }
        Ok(url.to_owned())
    },
    env: |var, value| {
        if !is_valid_url(value) {
            return Err(error(var, value, EXPECTED_PYROSCOPE_URL.to_owned()));
        }
        Ok(value.to_owned())
    },
    check: |url| {
        (!is_valid_url(url)).then(|| (format!("{url:?}"), EXPECTED_PYROSCOPE_URL.to_owned()))
    },
    show: Clone::clone,
};

/// The directory profile files are written in (4096 bytes is Linux's `PATH_MAX`).
pub(crate) const DIRECTORY: TextRule = TextRule {
    expected: "a non-empty directory path of at most 4096 characters without control \
               characters, e.g. `./profiles`",
    max_chars: 4096,
    empty_ok: false,
};

/// See [`DIRECTORY`].
pub(super) static DIRECTORY_KIND: Kind<String> = Kind {
    #[cfg(feature = "config-file")]
    file: |doc, key, item| DIRECTORY.file(doc, key, item),
    env: |var, value| DIRECTORY.env(var, value),
    check: |s| {
        DIRECTORY
            .check(s)
            .map(|expected| (format!("{s:?}"), expected))
    },
    show: Clone::clone,
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

/// The temporality as `telemetry.metrics.otlp.temporality` takes it.
pub(crate) fn temporality_text(temporality: Temporality) -> &'static str {
    match temporality {
        Temporality::Cumulative => "cumulative",
        Temporality::Delta => "delta",
        Temporality::LowMemory => "lowmemory",
    }
}

/// A model's price as `zdk-trace status` shows it: `2.5 / 10 USD per 1M tokens (in/out)`.
pub(crate) fn price_text(price: &ModelPrice) -> String {
    format!(
        "{} / {} {} per 1M tokens (in/out)",
        price.input_per_million, price.output_per_million, price.currency
    )
}

/// The exporters as `OTEL_METRICS_EXPORTER` names them: `otlp, prometheus`, or `none`.
pub(crate) fn metrics_exporters_text(exporters: MetricsExporters) -> String {
    let names: Vec<&str> = [
        (exporters.otlp, "otlp"),
        (exporters.prometheus, "prometheus"),
        (exporters.console, "console"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages spell the bounds out; they must say what the constants are.
    #[test]
    fn messages_state_the_bounds() {
        assert!(EXPECTED_QUEUE_SIZE.contains(&QUEUE_SIZE_MAX.to_string()));
        assert!(EXPECTED_BATCH_SIZE.contains(&BATCH_SIZE_MAX.to_string()));
        for (max, messages) in [
            (
                TIMEOUT_MAX,
                [EXPECTED_TIMEOUT_SECONDS, EXPECTED_TIMEOUT_MILLIS],
            ),
            (DELAY_MAX, [EXPECTED_DELAY_SECONDS, EXPECTED_DELAY_MILLIS]),
            (
                SLOW_THRESHOLD_MAX,
                [EXPECTED_SLOW_SECONDS, EXPECTED_SLOW_MILLIS],
            ),
        ] {
            assert!(messages[0].contains(&format!(" {} ", max.as_secs())));
            assert!(messages[1].contains(&format!(" {} ", max.as_millis())));
        }
        assert!(EXPECTED_TIMEOUT_SECONDS.contains(&TIMEOUT_MIN.as_secs_f64().to_string()));
        assert!(EXPECTED_RATE.contains(&format!("from {RATE_MIN} to {RATE_MAX}")));
        assert!(EXPECTED_FREQUENCY.contains(&format!("to {FREQUENCY_MAX},")));
        assert!(EXPECTED_PROFILE_WINDOW.contains(&format!("to {} ", PROFILE_WINDOW_MAX.as_secs())));
        assert_eq!(
            u64::from(*PROFILE_WINDOW_SECONDS.end()),
            PROFILE_WINDOW_MAX.as_secs()
        );
        assert!(EXPECTED_SAMPLING_RATE.contains(&u32::MAX.to_string()));
    }

    /// The Pyroscope endpoint follows the OTLP endpoints' rule; only the example differs.
    #[test]
    fn pyroscope_url_rule_is_the_endpoints() {
        let rule = |expected: &'static str| expected.split("e.g.").next();
        assert_eq!(rule(EXPECTED_PYROSCOPE_URL), rule(EXPECTED_URL));
        assert!(EXPECTED_PYROSCOPE_URL.ends_with("e.g. `http://localhost:4040`"));
    }

    #[test]
    fn text_rules() {
        assert_eq!(NAME.problem("my-agent"), None);
        assert_eq!(NAME.problem("é".repeat(255).as_str()), None);
        assert_eq!(NAME.problem("").as_deref(), Some("it is empty"));
        assert_eq!(
            NAME.problem("a\u{85}").as_deref(),
            Some("character 2 is the control character U+0085")
        );
        assert_eq!(ATTRIBUTE_VALUE.problem(""), None);
        assert!(header_problem("x-api-key", "Bearer abc").is_none());
        assert!(header_problem("x-api-key", "abc\r").is_some());
        assert!(header_problem("", "abc").is_some());
        assert!(header_problem(&"h".repeat(256), "abc").is_some());
    }
}
