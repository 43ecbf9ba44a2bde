//! `zdk-trace.toml`: the schema walked over `toml`'s spanned document. The tables and keys
//! accepted come from the table of settings (`table.rs`); each key is read by its
//! setting's definition.

use toml::de::DeTable;

use super::error::ConfigError;
use super::setting::children;
use super::table::{self, FILE_TABLE_CHECKS, SETTINGS};
use super::toml_value::Doc;
use super::values::Config;

/// Parses a document; `source_name` is the path (or `<string>`) errors name.
pub(crate) fn parse(src: &str, source_name: &str) -> Result<Config, ConfigError> {
    let doc = Doc { src, source_name };
    let root = DeTable::parse(src).map_err(|e| doc.syntax(&e))?;
    let mut config = Config::default();
    walk(&doc, &mut config, "", root.get_ref())?;
    Ok(config)
}

/// Reads the table at `path`: each key is a setting, or a table of settings.
fn walk(doc: &Doc<'_>, c: &mut Config, path: &str, table: &DeTable<'_>) -> Result<(), ConfigError> {
    let accepted = children(SETTINGS, path);
    for (_, key, item) in doc.fields(table, path, &accepted)? {
        match table::find(&key) {
            Some(setting) => setting.read_file(doc, c, &key, item)?,
            None => walk(doc, c, &key, doc.table(&key, item)?)?,
        }
    }
    for (table_path, check) in FILE_TABLE_CHECKS {
        if *table_path == path {
            check(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    #[test]
    fn a_duplicate_key_is_named() {
        for (doc, key) in [
            (
                "[telemetry]\nservice_name = \"a\"\nservice_name = \"b\"\n",
                "service_name",
            ),
            (
                "[telemetry.tracing.otlp]\ntimeout_seconds = 1\n[telemetry.tracing.otlp]\n",
                "otlp",
            ),
        ] {
            let err = match Config::from_toml_str(doc) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{doc:?} was accepted"),
            };
            assert!(
                err.contains("duplicate key") && err.contains(&format!("`{key}`")),
                "{err}"
            );
        }
    }

    use std::time::Duration;

    use super::*;
    use crate::config::values::Origin;
    use crate::genai::CaptureMode;

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
