//! The readers of the settings whose value has a structure of its own (the resource, the OTLP
//! endpoint and headers, the exporters list, the model prices), which their
//! [`Custom`](super::setting::Custom) descriptors in [`table`](super::table) name.

#[cfg(feature = "config-file")]
use std::path::PathBuf;

#[cfg(feature = "config-file")]
use toml::de::DeValue;

use super::endpoint::{is_valid_url, EXPECTED_URL};
use super::env_value::{
    error, parse_pairs, set, Vars, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_RESOURCE_ATTRIBUTES,
};
#[cfg(feature = "config-file")]
use super::error::one_of;
use super::error::ConfigError;
#[cfg(feature = "config-file")]
use super::expand::{self, ExpandError};
use super::kinds::attribute_problem;
#[cfg(feature = "config-file")]
use super::kinds::{
    attribute_rule, currency_check, is_header_name, model_key, price_check, unsigned_zero,
    ATTRIBUTE_KEY, EXPECTED_CURRENCY, EXPECTED_HEADER_NAME, EXPECTED_PRICE, FILE_PATH,
    HEADER_VALUE, MODEL_NAME, PROTOCOL,
};
#[cfg(feature = "config-file")]
use super::settings::{Secret, PRICE_CURRENCY_DEFAULT};
#[cfg(feature = "config-file")]
use super::toml_value::{Doc, Item, HIDDEN};
#[cfg(feature = "config-file")]
use super::values::{Backend, ExporterChoice, ModelPrice};
use super::values::{Config, Endpoint, Origin, Set};

#[cfg(feature = "config-file")]
pub(super) fn resource_from_file(
    doc: &Doc<'_>,
    c: &mut Config,
    key: &str,
    item: &Item<'_>,
) -> Result<(), ConfigError> {
    for (attr, attr_key, value) in doc.entries(doc.table(key, item)?, key) {
        if let Some(expected) = ATTRIBUTE_KEY.check(attr) {
            return Err(doc.invalid_with(&attr_key, value, format!("{attr:?}"), expected));
        }
        let text = attribute_rule(attr).file(doc, &attr_key, value)?;
        c.resource.retain(|set| set.value.0 != attr);
        c.resource.push(Set::new(
            (attr.to_owned(), text),
            doc.origin(&attr_key, value),
        ));
    }
    Ok(())
}

pub(super) fn resource_from_env(vars: &Vars, c: &mut Config) -> Result<(), ConfigError> {
    if let Some(v) = vars.get(OTEL_RESOURCE_ATTRIBUTES) {
        for (key, value) in parse_pairs(OTEL_RESOURCE_ATTRIBUTES, v, false, attribute_problem)? {
            c.resource.retain(|set| set.value.0 != key);
            c.resource.push(Set::new(
                (key, value),
                Origin::Env {
                    var: OTEL_RESOURCE_ATTRIBUTES,
                },
            ));
        }
    }
    Ok(())
}

pub(super) fn endpoint_from_env(vars: &Vars, c: &mut Config) -> Result<(), ConfigError> {
    // The generic variable is checked even when the traces-specific one wins, so a bad value
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
        c.otlp.endpoint = set(var, Endpoint::Signal(url.to_owned()));
    } else if let Some((var, url)) = endpoint {
        c.otlp.endpoint = set(var, Endpoint::Base(url.to_owned()));
    }
    Ok(())
}

#[cfg(feature = "config-file")]
pub(super) fn headers_from_file(
    doc: &Doc<'_>,
    c: &mut Config,
    key: &str,
    item: &Item<'_>,
) -> Result<(), ConfigError> {
    for (header, header_key, value) in doc.entries(doc.table(key, item)?, key) {
        if !is_header_name(header) {
            return Err(doc.invalid_with(
                &header_key,
                value,
                format!("{header:?}"),
                EXPECTED_HEADER_NAME,
            ));
        }
        let template = match value.get_ref() {
            DeValue::String(s) => s,
            _ => {
                return Err(doc.invalid_with(
                    &header_key,
                    value,
                    HIDDEN.to_owned(),
                    "a string (`${NAME}` is replaced by environment variable `NAME`)",
                ))
            }
        };
        if let Some(problem) = HEADER_VALUE.problem(template) {
            return Err(doc.invalid_with(
                &header_key,
                value,
                HIDDEN.to_owned(),
                format!("{}; here {problem}", HEADER_VALUE.expected),
            ));
        }
        if let Err(err) = expand::check(template) {
            let problem = match err {
                ExpandError::BadName(name) => {
                    format!("`${{{name}}}` does not name a variable")
                }
                _ => "a `${` is not closed by `}`".to_owned(),
            };
            return Err(doc.invalid_with(
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
            doc.origin(&header_key, value),
        ));
    }
    Ok(())
}

#[cfg(feature = "config-file")]
pub(super) const EXPORTER_KEYS: &[&str] = &["type", "path", "endpoint", "protocol"];
#[cfg(feature = "config-file")]
pub(super) const EXPORTER_TYPES: &[&str] = &["stdout", "file", "otlp", "jaeger", "tempo"];

/// `[[telemetry.tracing.exporters]]`: a list of tables, each with a `type`; `path` for
/// `file`, `endpoint` and `protocol` for the backends that ingest OTLP (`jaeger`, `tempo`).
#[cfg(feature = "config-file")]
pub(super) fn exporters_from_file(
    doc: &Doc<'_>,
    path: &str,
    item: &Item<'_>,
) -> Result<Vec<ExporterChoice>, ConfigError> {
    const EXPECTED: &str = "a list of tables: `[[telemetry.tracing.exporters]]` with \
                            `type = \"stdout\"`, `\"file\"`, `\"otlp\"`, `\"jaeger\"` or \
                            `\"tempo\"`";
    let DeValue::Array(items) = item.get_ref() else {
        return Err(doc.invalid(path, item, EXPECTED));
    };
    let mut exporters = Vec::with_capacity(items.len());
    for (index, entry) in items.iter().enumerate() {
        let entry_path = format!("{path}[{index}]");
        let DeValue::Table(table) = entry.get_ref() else {
            return Err(doc.invalid(&entry_path, entry, EXPECTED));
        };
        let mut kind = None;
        let mut file_path = None;
        let mut endpoint = None;
        let mut protocol = None;
        for (name, key, v) in doc.fields(table, &entry_path, EXPORTER_KEYS)? {
            match name {
                "type" => kind = Some(doc.choice(&key, v, EXPORTER_TYPES)?),
                "path" => {
                    file_path = Some((FILE_PATH.file(doc, &key, v)?, key, v));
                }
                "endpoint" => {
                    let url = doc.string(&key, v, EXPECTED_URL)?;
                    if !is_valid_url(url) {
                        return Err(doc.invalid(&key, v, EXPECTED_URL));
                    }
                    endpoint = Some((Set::new(url.to_owned(), doc.origin(&key, v)), key, v));
                }
                "protocol" => {
                    let value = (PROTOCOL.file)(doc, &key, v)?;
                    protocol = Some((Set::new(value, doc.origin(&key, v)), key, v));
                }
                _ => {}
            }
        }
        let Some(kind) = kind else {
            return Err(doc.missing(
                &format!("{entry_path}.type"),
                entry.span(),
                format!("`type = …`, one of {}", one_of(EXPORTER_TYPES)),
            ));
        };
        let backend = match kind {
            "jaeger" => Some(Backend::Jaeger),
            "tempo" => Some(Backend::Tempo),
            _ => None,
        };
        // A key the entry's type does not take is a mistake (a `path` on `otlp`, an
        // `endpoint` on `stdout`): refused, naming the keys that type takes.
        let misplaced = [
            file_path
                .as_ref()
                .filter(|_| kind != "file")
                .map(|(_, key, v)| (key, *v, "path", "only `type = \"file\"` takes one")),
            endpoint
                .as_ref()
                .filter(|_| backend.is_none())
                .map(|(_, key, v)| (key, *v, "endpoint", NOT_HERE_OTLP)),
            protocol
                .as_ref()
                .filter(|_| backend.is_none())
                .map(|(_, key, v)| (key, *v, "protocol", NOT_HERE_OTLP)),
        ];
        if let Some((key, v, name, why)) = misplaced.into_iter().flatten().next() {
            return Err(doc.invalid(
                key,
                v,
                format!("no `{name}` for `type = \"{kind}\"` ({why}); remove it"),
            ));
        }
        let exporter = match (kind, backend) {
            (_, Some(backend)) => ExporterChoice::Backend {
                backend,
                endpoint: endpoint.map(|(set, _, _)| set),
                protocol: protocol.map(|(set, _, _)| set),
            },
            ("file", _) => match file_path {
                Some((file, _, _)) => ExporterChoice::File(PathBuf::from(file)),
                None => {
                    return Err(doc.missing(
                        &format!("{entry_path}.path"),
                        entry.span(),
                        "the file to write, e.g. `path = \"traces.jsonl\"` \
                         (a `type = \"file\"` exporter needs one)"
                            .to_owned(),
                    ))
                }
            },
            ("stdout", _) => ExporterChoice::Stdout,
            _ => ExporterChoice::Otlp,
        };
        exporters.push(exporter);
    }
    Ok(exporters)
}

/// Why an `endpoint` or `protocol` is refused on an entry that is not a backend's.
#[cfg(feature = "config-file")]
const NOT_HERE_OTLP: &str = "only `type = \"jaeger\"` and `\"tempo\"` take one; the `otlp` \
                             exporter's are `endpoint` and `protocol` in \
                             `[telemetry.tracing.otlp]`";

/// The keys of one model's entry in `[telemetry.genai.prices."<model>"]`.
#[cfg(feature = "config-file")]
pub(super) const PRICE_KEYS: &[&str] = &["input_per_million", "output_per_million", "currency"];

/// `[telemetry.genai.prices."<model>"]`: one table per model, merged model by model.
#[cfg(feature = "config-file")]
pub(super) fn prices_from_file(
    doc: &Doc<'_>,
    c: &mut Config,
    key: &str,
    item: &Item<'_>,
) -> Result<(), ConfigError> {
    for (model, _, entry) in doc.entries(doc.table(key, item)?, key) {
        let model_key = model_key(key, model);
        if let Some(expected) = MODEL_NAME.check(model) {
            return Err(doc.invalid_with(&model_key, entry, format!("{model:?}"), expected));
        }
        let DeValue::Table(fields) = entry.get_ref() else {
            return Err(doc.invalid(
                &model_key,
                entry,
                format!(
                    "a table of the model's prices, e.g. `[{key}.\"gpt-4o\"]` with \
                     `input_per_million = 2.5` and `output_per_million = 10.0` (or \
                     `\"gpt-4o\" = {{ input_per_million = 2.5, output_per_million = 10.0 }}` \
                     under `[{key}]`)"
                ),
            ));
        };
        // `[telemetry.genai.prices.gpt-4.1]` is model `gpt-4` holding a table `1`: the name
        // needed quotes.
        if let Some((name, field_key, v)) =
            doc.entries(fields, &model_key)
                .into_iter()
                .find(|(name, _, v)| {
                    !PRICE_KEYS.contains(name) && matches!(v.get_ref(), DeValue::Table(_))
                })
        {
            return Err(doc.invalid(
                &field_key,
                v,
                format!(
                    "a price key ({}), not a table; a model name with a dot is quoted: \
                     `[{key}.\"{model}.{name}\"]`",
                    one_of(PRICE_KEYS)
                ),
            ));
        }
        let mut input = None;
        let mut output = None;
        let mut currency = None;
        for (name, field_key, v) in doc.fields(fields, &model_key, PRICE_KEYS)? {
            match name {
                "input_per_million" => input = Some(price_from_file(doc, &field_key, v)?),
                "output_per_million" => output = Some(price_from_file(doc, &field_key, v)?),
                "currency" => {
                    let code = doc.string(&field_key, v, EXPECTED_CURRENCY)?;
                    if let Some(expected) = currency_check(code) {
                        return Err(doc.invalid(&field_key, v, expected));
                    }
                    currency = Some(code.to_owned());
                }
                _ => {}
            }
        }
        let missing = |field: &str, tokens: &str, example: &str| {
            doc.missing(
                &format!("{model_key}.{field}"),
                entry.span(),
                format!(
                    "`{field} = …`, the price of a million {tokens} tokens, e.g. \
                     `{field} = {example}` (every model needs both prices)"
                ),
            )
        };
        let input = input.ok_or_else(|| missing("input_per_million", "input", "2.5"))?;
        let output = output.ok_or_else(|| missing("output_per_million", "output", "10.0"))?;
        c.prices.retain(|set| set.value.model != model);
        c.prices.push(Set::new(
            ModelPrice {
                model: model.to_owned(),
                input_per_million: input,
                output_per_million: output,
                currency: currency.unwrap_or_else(|| PRICE_CURRENCY_DEFAULT.to_owned()),
            },
            doc.origin(&model_key, entry),
        ));
    }
    Ok(())
}

/// A price: a number (integer or float), finite, 0 or more.
#[cfg(feature = "config-file")]
fn price_from_file(doc: &Doc<'_>, key: &str, item: &Item<'_>) -> Result<f64, ConfigError> {
    let price = doc.number(key, item, EXPECTED_PRICE)?;
    match price_check(price) {
        Some(expected) => Err(doc.invalid(key, item, expected)),
        None => Ok(unsigned_zero(price)),
    }
}
