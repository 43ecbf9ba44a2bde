//! The readers of the settings whose value has a structure of its own (the resource, the OTLP
//! endpoint and headers, the exporters list), which their [`Custom`](super::setting::Custom)
//! descriptors in [`table`](super::table) name.

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
    attribute_rule, is_header_name, ATTRIBUTE_KEY, EXPECTED_HEADER_NAME, FILE_PATH, HEADER_VALUE,
};
#[cfg(feature = "config-file")]
use super::settings::Secret;
#[cfg(feature = "config-file")]
use super::toml_value::{Doc, Item, HIDDEN};
#[cfg(feature = "config-file")]
use super::values::ExporterChoice;
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
pub(super) const EXPORTER_KEYS: &[&str] = &["type", "path"];
#[cfg(feature = "config-file")]
pub(super) const EXPORTER_TYPES: &[&str] = &["stdout", "file", "otlp"];

#[cfg(feature = "config-file")]
pub(super) fn exporters_from_file(
    doc: &Doc<'_>,
    path: &str,
    item: &Item<'_>,
) -> Result<Vec<ExporterChoice>, ConfigError> {
    const EXPECTED: &str = "a list of tables: `[[telemetry.tracing.exporters]]` with \
                            `type = \"stdout\"`, `\"file\"` or `\"otlp\"`";
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
        for (name, key, v) in doc.fields(table, &entry_path, EXPORTER_KEYS)? {
            match name {
                "type" => kind = Some(doc.choice(&key, v, EXPORTER_TYPES)?),
                "path" => {
                    file_path = Some((FILE_PATH.file(doc, &key, v)?, key, v));
                }
                _ => {}
            }
        }
        let exporter = match (kind, file_path) {
            (None, _) => {
                return Err(doc.missing(
                    &format!("{entry_path}.type"),
                    entry.span(),
                    format!("`type = …`, one of {}", one_of(EXPORTER_TYPES)),
                ))
            }
            (Some("file"), Some((file, _, _))) => ExporterChoice::File(PathBuf::from(file)),
            (Some("file"), None) => {
                return Err(doc.missing(
                    &format!("{entry_path}.path"),
                    entry.span(),
                    "the file to write, e.g. `path = \"traces.jsonl\"` \
                     (a `type = \"file\"` exporter needs one)"
                        .to_owned(),
                ))
            }
            (Some(other), Some((_, key, v))) => {
                return Err(doc.invalid(
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
