//! `zdk-trace.toml`: the schema, walked by hand over `toml`'s spanned document so that every
//! error names the key path, the line, the value given and the values accepted.
//!
//! serde derive with `deny_unknown_fields` was the alternative; its errors carry the key path
//! (through `serde_path_to_error`) but only as text, and neither the given value nor the
//! accepted ones, so they could not fill [`ConfigError`]'s fields.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::endpoint::{is_valid_url, EXPECTED_URL};
use super::error::{expected_one_of, one_of, suggest, ConfigError};
use super::expand::{self, ExpandError};
use super::layer::{Config, Endpoint, ExporterChoice, Origin, Root, Set, Strategy};
use super::settings::{OtlpProtocol, Secret};
use crate::genai::CaptureMode;

type Item<'i> = Spanned<DeValue<'i>>;

const ROOT_KEYS: &[&str] = &["telemetry"];
const TELEMETRY_KEYS: &[&str] = &[
    "enabled",
    "service_name",
    "service_version",
    "resource",
    "tracing",
    "genai",
    "usage",
];
const GENAI_KEYS: &[&str] = &["capture_message_content"];
const CAPTURE_MODES: &[&str] = &["no_content", "span_only", "event_only", "span_and_event"];
const USAGE_KEYS: &[&str] = &["enabled", "endpoint", "notice"];
const TRACING_KEYS: &[&str] = &["enabled", "otlp", "sampling", "exporters"];
const OTLP_KEYS: &[&str] = &[
    "endpoint",
    "protocol",
    "timeout_seconds",
    "compression",
    "headers",
    "batch",
];
const BATCH_KEYS: &[&str] = &[
    "scheduled_delay_seconds",
    "max_export_batch_size",
    "max_queue_size",
    "export_timeout_seconds",
];
const SAMPLING_KEYS: &[&str] = &[
    "strategy",
    "probability",
    "always_sample_errors",
    "always_sample_slow_seconds",
    "max_traces_per_second",
];
const EXPORTER_KEYS: &[&str] = &["type", "path"];

const STRATEGIES: &[&str] = &["always_on", "always_off", "probability", "parent_based"];
const PROTOCOLS: &[&str] = &["grpc", "http/protobuf"];
const COMPRESSIONS: &[&str] = &["gzip", "none"];
const EXPORTER_TYPES: &[&str] = &["stdout", "file", "otlp"];

pub(crate) const EXPECTED_POSITIVE_INT: &str = "a positive integer";
pub(crate) const EXPECTED_PROBABILITY: &str = "a number from 0 to 1, e.g. `0.1`";
pub(crate) const EXPECTED_RATE: &str = "a positive number, e.g. `100`";
const EXPECTED_BOOL: &str = "`true` or `false`";
const EXPECTED_SECONDS: &str = "a number of seconds, 0 or more, e.g. `5` or `0.5`";
const EXPECTED_POSITIVE_SECONDS: &str = "a positive number of seconds, e.g. `10` or `0.5`";
const EXPECTED_TEXT: &str = "a non-empty string";
const EXPECTED_HEADER_NAME: &str =
    "a header name made of letters, digits and `!#$%&'*+-.^_`|~`, e.g. `x-api-key`";
/// Header values are secrets: errors about them never show what was written.
const HIDDEN: &str = "\"***\"";

/// Parses a document; `source_name` is the path (or `<string>`) errors name.
pub(crate) fn parse(src: &str, source_name: &str) -> Result<Config, ConfigError> {
    let doc = Doc { src, source_name };
    let root = DeTable::parse(src).map_err(|e| doc.syntax(&e))?;
    let mut config = Config::default();
    for (name, key, item) in doc.fields(root.get_ref(), "", ROOT_KEYS)? {
        if name == "telemetry" {
            doc.telemetry(&mut config, &key, item)?;
        }
    }
    Ok(config)
}

/// The document being read, for line numbers and errors.
struct Doc<'s> {
    src: &'s str,
    source_name: &'s str,
}

impl Doc<'_> {
    fn telemetry(&self, c: &mut Config, path: &str, item: &Item<'_>) -> Result<(), ConfigError> {
        for (name, key, v) in self.fields(self.table(path, item)?, path, TELEMETRY_KEYS)? {
            match name {
                "enabled" => c.enabled = self.set(&key, v, self.boolean(&key, v)?),
                "service_name" => c.service_name = self.set(&key, v, self.text(&key, v)?),
                "service_version" => c.service_version = self.set(&key, v, self.text(&key, v)?),
                "resource" => {
                    for (attr, attr_key, value) in self.entries(self.table(&key, v)?, &key) {
                        if attr.is_empty() {
                            return Err(self.invalid_with(
                                &attr_key,
                                value,
                                "\"\"".to_owned(),
                                "a non-empty attribute name",
                            ));
                        }
                        let text = self.string(&attr_key, value, "a string")?.to_owned();
                        c.resource.retain(|set| set.value.0 != attr);
                        c.resource.push(Set::new(
                            (attr.to_owned(), text),
                            self.origin(&attr_key, value),
                        ));
                    }
                }
                "tracing" => self.tracing(c, &key, v)?,
                "genai" => self.genai(c, &key, v)?,
                "usage" => self.usage(c, &key, v)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn usage(&self, c: &mut Config, path: &str, item: &Item<'_>) -> Result<(), ConfigError> {
        for (name, key, v) in self.fields(self.table(path, item)?, path, USAGE_KEYS)? {
            match name {
                "enabled" => c.usage.enabled = self.set(&key, v, self.boolean(&key, v)?),
                "notice" => c.usage.notice = self.set(&key, v, self.boolean(&key, v)?),
                "endpoint" => {
                    let url = self.string(&key, v, EXPECTED_URL)?;
                    if !is_valid_url(url) {
                        return Err(self.invalid(&key, v, EXPECTED_URL));
                    }
                    c.usage.endpoint = self.set(&key, v, url.to_owned());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn genai(&self, c: &mut Config, path: &str, item: &Item<'_>) -> Result<(), ConfigError> {
        for (name, key, v) in self.fields(self.table(path, item)?, path, GENAI_KEYS)? {
            if name == "capture_message_content" {
                // `true`/`false` as in the environment variable, or one of the modes.
                let mode = match v.get_ref() {
                    DeValue::Boolean(true) => CaptureMode::SpanOnly,
                    DeValue::Boolean(false) => CaptureMode::NoContent,
                    _ => match self.choice(&key, v, CAPTURE_MODES)? {
                        "span_only" => CaptureMode::SpanOnly,
                        "event_only" => CaptureMode::EventOnly,
                        "span_and_event" => CaptureMode::SpanAndEvent,
                        _ => CaptureMode::NoContent,
                    },
                };
                c.capture = self.set(&key, v, mode);
            }
        }
        Ok(())
    }

    fn tracing(&self, c: &mut Config, path: &str, item: &Item<'_>) -> Result<(), ConfigError> {
        for (name, key, v) in self.fields(self.table(path, item)?, path, TRACING_KEYS)? {
            match name {
                "enabled" => c.tracing_enabled = self.set(&key, v, self.boolean(&key, v)?),
                "otlp" => self.otlp(c, &key, v)?,
                "sampling" => self.sampling(c, &key, v)?,
                "exporters" => c.exporters = self.set(&key, v, self.exporters(&key, v)?),
                _ => {}
            }
        }
        Ok(())
    }

    fn otlp(&self, c: &mut Config, path: &str, item: &Item<'_>) -> Result<(), ConfigError> {
        for (name, key, v) in self.fields(self.table(path, item)?, path, OTLP_KEYS)? {
            match name {
                "endpoint" => {
                    let url = self.string(&key, v, EXPECTED_URL)?;
                    if !is_valid_url(url) {
                        return Err(self.invalid(&key, v, EXPECTED_URL));
                    }
                    c.otlp.endpoint = self.set(&key, v, Endpoint::Url(url.to_owned()));
                }
                "protocol" => {
                    let protocol = match self.choice(&key, v, PROTOCOLS)? {
                        "grpc" => OtlpProtocol::Grpc,
                        _ => OtlpProtocol::HttpProtobuf,
                    };
                    c.otlp.protocol = self.set(&key, v, protocol);
                }
                "timeout_seconds" => {
                    c.otlp.timeout = self.set(&key, v, self.seconds(&key, v, false)?);
                }
                "compression" => {
                    let gzip = self.choice(&key, v, COMPRESSIONS)? == "gzip";
                    c.otlp.gzip = self.set(&key, v, gzip);
                }
                "headers" => {
                    for (header, header_key, value) in self.entries(self.table(&key, v)?, &key) {
                        if !is_header_name(header) {
                            return Err(self.invalid_with(
                                &header_key,
                                value,
                                format!("{header:?}"),
                                EXPECTED_HEADER_NAME,
                            ));
                        }
                        let template = match value.get_ref() {
                            DeValue::String(s) => s,
                            _ => return Err(self.invalid_with(
                                &header_key,
                                value,
                                HIDDEN.to_owned(),
                                "a string (`${NAME}` is replaced by environment variable `NAME`)",
                            )),
                        };
                        if let Err(err) = expand::check(template) {
                            let problem = match err {
                                ExpandError::BadName(name) => {
                                    format!("`${{{name}}}` does not name a variable")
                                }
                                _ => "a `${` is not closed by `}`".to_owned(),
                            };
                            return Err(self.invalid_with(
                                &header_key,
                                value,
                                HIDDEN.to_owned(),
                                format!("{}; here {problem}", ExpandError::EXPECTED),
                            ));
                        }
                        c.otlp
                            .headers
                            .retain(|set| !set.value.0.eq_ignore_ascii_case(header));
                        c.otlp.headers.push(Set::new(
                            (header.to_owned(), Secret(template.to_string())),
                            self.origin(&header_key, value),
                        ));
                    }
                }
                "batch" => self.batch(c, &key, v)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn batch(&self, c: &mut Config, path: &str, item: &Item<'_>) -> Result<(), ConfigError> {
        let mut batch_item = None;
        for (name, key, v) in self.fields(self.table(path, item)?, path, BATCH_KEYS)? {
            match name {
                "scheduled_delay_seconds" => {
                    c.batch.scheduled_delay = self.set(&key, v, self.seconds(&key, v, true)?);
                }
                "export_timeout_seconds" => {
                    c.batch.export_timeout = self.set(&key, v, self.seconds(&key, v, false)?);
                }
                "max_queue_size" => {
                    c.batch.max_queue_size = self.set(&key, v, self.positive_int(&key, v)?);
                }
                "max_export_batch_size" => {
                    c.batch.max_export_batch_size = self.set(&key, v, self.positive_int(&key, v)?);
                    batch_item = Some((key, v));
                }
                _ => {}
            }
        }
        // Checked here too (resolve checks across layers) so the file alone is known good.
        if let (Some(queue), Some(batch), Some((key, v))) = (
            &c.batch.max_queue_size,
            &c.batch.max_export_batch_size,
            batch_item,
        ) {
            if batch.value > queue.value {
                return Err(self.invalid(
                    &key,
                    v,
                    format!(
                        "a positive integer no larger than the queue size, {} (set by {})",
                        queue.value,
                        queue.origin.describe()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn sampling(&self, c: &mut Config, path: &str, item: &Item<'_>) -> Result<(), ConfigError> {
        let s = &mut c.sampling;
        for (name, key, v) in self.fields(self.table(path, item)?, path, SAMPLING_KEYS)? {
            match name {
                "strategy" => {
                    let strategy = match self.choice(&key, v, STRATEGIES)? {
                        "always_on" => Strategy::AlwaysOn,
                        "always_off" => Strategy::AlwaysOff,
                        "probability" => Strategy::TraceIdRatio,
                        _ => Strategy::ParentBased(Root::RatioOrAlwaysOn),
                    };
                    s.strategy = self.set(&key, v, strategy);
                }
                "probability" => {
                    let p = self.number(&key, v, EXPECTED_PROBABILITY)?;
                    if !(0.0..=1.0).contains(&p) {
                        return Err(self.invalid(&key, v, EXPECTED_PROBABILITY));
                    }
                    s.probability = self.set(&key, v, p);
                }
                "always_sample_errors" => {
                    s.keep_errors = self.set(&key, v, self.boolean(&key, v)?);
                }
                "always_sample_slow_seconds" => {
                    s.slow_threshold = self.set(&key, v, self.seconds(&key, v, true)?);
                }
                "max_traces_per_second" => {
                    let rate = self.number(&key, v, EXPECTED_RATE)?;
                    if rate <= 0.0 {
                        return Err(self.invalid(&key, v, EXPECTED_RATE));
                    }
                    s.max_traces_per_second = self.set(&key, v, rate);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn exporters(&self, path: &str, item: &Item<'_>) -> Result<Vec<ExporterChoice>, ConfigError> {
        const EXPECTED: &str = "a list of tables: `[[telemetry.tracing.exporters]]` with \
                                `type = \"stdout\"`, `\"file\"` or `\"otlp\"`";
        let DeValue::Array(items) = item.get_ref() else {
            return Err(self.invalid(path, item, EXPECTED));
        };
        let mut exporters = Vec::with_capacity(items.len());
        for (index, entry) in items.iter().enumerate() {
            let entry_path = format!("{path}[{index}]");
            let DeValue::Table(table) = entry.get_ref() else {
                return Err(self.invalid(&entry_path, entry, EXPECTED));
            };
            let mut kind = None;
            let mut file_path = None;
            for (name, key, v) in self.fields(table, &entry_path, EXPORTER_KEYS)? {
                match name {
                    "type" => kind = Some(self.choice(&key, v, EXPORTER_TYPES)?),
                    "path" => {
                        file_path = Some((self.text(&key, v)?, key, v));
                    }
                    _ => {}
                }
            }
            let exporter = match (kind, file_path) {
                (None, _) => {
                    return Err(self.missing(
                        &format!("{entry_path}.type"),
                        entry.span(),
                        format!("`type = …`, one of {}", one_of(EXPORTER_TYPES)),
                    ))
                }
                (Some("file"), Some((file, _, _))) => ExporterChoice::File(PathBuf::from(file)),
                (Some("file"), None) => {
                    return Err(self.missing(
                        &format!("{entry_path}.path"),
                        entry.span(),
                        "the file to write, e.g. `path = \"traces.jsonl\"` \
                         (a `type = \"file\"` exporter needs one)"
                            .to_owned(),
                    ))
                }
                (Some(other), Some((_, key, v))) => {
                    return Err(self.invalid(
                        &key,
                        v,
                        format!(
                            "no `path` for `type = \"{other}\"` (only `type = \"file\"` \
                             takes one); remove it"
                        ),
                    ))
                }
                (Some("stdout"), None) => ExporterChoice::Stdout,
                (Some(_), None) => ExporterChoice::Otlp,
            };
            exporters.push(exporter);
        }
        Ok(exporters)
    }

    // ----- tables and keys -----

    /// The entries of `table` in the order they are written (the parser sorts them by name),
    /// each with its full key path.
    fn entries<'t, 'i>(
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
    fn fields<'t, 'i>(
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

    fn table<'t, 'i>(&self, key: &str, item: &'t Item<'i>) -> Result<&'t DeTable<'i>, ConfigError> {
        match item.get_ref() {
            DeValue::Table(table) => Ok(table),
            _ => Err(self.invalid(key, item, format!("a table (`[{key}]`)"))),
        }
    }

    fn string<'t>(
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

    fn text(&self, key: &str, item: &Item<'_>) -> Result<String, ConfigError> {
        match self.string(key, item, EXPECTED_TEXT)? {
            "" => Err(self.invalid(key, item, EXPECTED_TEXT)),
            s => Ok(s.to_owned()),
        }
    }

    fn boolean(&self, key: &str, item: &Item<'_>) -> Result<bool, ConfigError> {
        match item.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.invalid(key, item, EXPECTED_BOOL)),
        }
    }

    /// An integer or a float, finite.
    fn number(&self, key: &str, item: &Item<'_>, expected: &str) -> Result<f64, ConfigError> {
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

    fn positive_int(&self, key: &str, item: &Item<'_>) -> Result<usize, ConfigError> {
        let n = match item.get_ref() {
            DeValue::Integer(i) => usize::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        n.filter(|n| *n > 0)
            .ok_or_else(|| self.invalid(key, item, EXPECTED_POSITIVE_INT))
    }

    fn seconds(&self, key: &str, item: &Item<'_>, zero_ok: bool) -> Result<Duration, ConfigError> {
        let expected = if zero_ok {
            EXPECTED_SECONDS
        } else {
            EXPECTED_POSITIVE_SECONDS
        };
        let secs = self.number(key, item, expected)?;
        match Duration::try_from_secs_f64(secs) {
            Ok(d) if zero_ok || !d.is_zero() => Ok(d),
            _ => Err(self.invalid(key, item, expected)),
        }
    }

    /// One of `choices`, exactly.
    fn choice<'c>(
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

    fn origin(&self, key: &str, item: &Item<'_>) -> Origin {
        Origin::File {
            source_name: self.source_name.to_owned(),
            line: self.line(item.span()),
            key: key.to_owned(),
        }
    }

    fn set<T>(&self, key: &str, item: &Item<'_>, value: T) -> Option<Set<T>> {
        Some(Set::new(value, self.origin(key, item)))
    }

    /// 1-based line of a byte offset.
    fn line(&self, span: Range<usize>) -> usize {
        self.src
            .get(..span.start)
            .map_or(1, |before| before.matches('\n').count() + 1)
    }

    fn syntax(&self, err: &toml::de::Error) -> ConfigError {
        let start = err.span().map_or(0, |span| span.start);
        let before = self.src.get(..start).unwrap_or(self.src);
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        ConfigError::Syntax {
            source_name: self.source_name.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message: err.message().to_owned(),
        }
    }

    fn invalid(&self, key: &str, item: &Item<'_>, expected: impl Into<String>) -> ConfigError {
        self.invalid_with(key, item, show(item.get_ref()), expected)
    }

    fn invalid_with(
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

    fn missing(&self, key: &str, span: Range<usize>, expected: String) -> ConfigError {
        ConfigError::Missing {
            source_name: self.source_name.to_owned(),
            line: Some(self.line(span)),
            key: key.to_owned(),
            expected,
        }
    }
}

/// `path.name`, quoting `name` as TOML does when it is not a bare key.
fn join(path: &str, name: &str) -> String {
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
fn show(value: &DeValue<'_>) -> String {
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

/// An HTTP header name (RFC 9110 token).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

#[cfg(test)]
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

    #[test]
    fn entries_keep_file_order() {
        let c = parse(
            "[telemetry.resource]\nz = \"1\"\na = \"2\"\nm = \"3\"\n",
            "<string>",
        )
        .unwrap();
        let keys: Vec<&str> = c.resource.iter().map(|s| s.value.0.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn origins_carry_lines() {
        let c = parse(
            "[telemetry]\n\n[telemetry.tracing.otlp.batch]\nmax_queue_size = 10\n",
            "f.toml",
        )
        .unwrap();
        assert_eq!(
            c.batch.max_queue_size.unwrap().origin,
            Origin::File {
                source_name: "f.toml".to_owned(),
                line: 4,
                key: "telemetry.tracing.otlp.batch.max_queue_size".to_owned(),
            }
        );
    }

    #[test]
    fn genai_capture_mode() {
        for (value, mode) in [
            ("\"event_only\"", CaptureMode::EventOnly),
            ("true", CaptureMode::SpanOnly),
            ("false", CaptureMode::NoContent),
        ] {
            let c = parse(
                &format!("[telemetry.genai]\ncapture_message_content = {value}\n"),
                "<string>",
            )
            .unwrap();
            assert_eq!(c.capture.unwrap().value, mode);
        }
        let err = parse(
            "[telemetry.genai]\ncapture_message_content = \"spans\"\n",
            "<string>",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("telemetry.genai.capture_message_content"),
            "{err}"
        );
        assert!(err.contains("`span_only`"), "{err}");
    }

    #[test]
    fn numbers_in_any_toml_form() {
        let c = parse(
            "[telemetry.tracing.otlp]\ntimeout_seconds = 1_0\n[telemetry.tracing.otlp.batch]\nmax_queue_size = 0x10\n",
            "<string>",
        )
        .unwrap();
        assert_eq!(c.otlp.timeout.unwrap().value, Duration::from_secs(10));
        assert_eq!(c.batch.max_queue_size.unwrap().value, 16);
    }
}
