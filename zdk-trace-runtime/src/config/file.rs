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
pub(crate) mod tests {
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

    /// A bad value of every kind of metrics setting: the error names the key, its line, the
    /// value and what is accepted.
    #[test]
    fn bad_metrics_values_name_the_key() {
        for (table, line, key, accepted) in [
            (
                "metrics",
                "enabled = \"yes\"",
                "enabled",
                "`true` or `false`",
            ),
            (
                "metrics",
                "cardinality_limit = 1",
                "cardinality_limit",
                "from 2 to 1000000",
            ),
            (
                "metrics",
                "cardinality_limit = 1_000_001",
                "cardinality_limit",
                "e.g. `2000`",
            ),
            (
                "metrics",
                "cardinality_limit = \"2000\"",
                "cardinality_limit",
                "an integer",
            ),
            (
                "metrics.prometheus",
                "enabled = 1",
                "enabled",
                "`true` or `false`",
            ),
            (
                "metrics.prometheus",
                "port = 65536",
                "port",
                "a port from 0 to 65535",
            ),
            ("metrics.prometheus", "port = -1", "port", "e.g. `9464`"),
            ("metrics.prometheus", "port = \"9090\"", "port", "a port"),
            (
                "metrics.prometheus",
                "address = \"localhost\"",
                "address",
                "an IP address, e.g. `127.0.0.1` (this machine only), `0.0.0.0` (every \
                 interface) or `::1`; here it is a host name",
            ),
            (
                "metrics.prometheus",
                "address = \"example.com\"",
                "address",
                "e.g. `127.0.0.1`",
            ),
            (
                "metrics.prometheus",
                "address = \"[::1]\"",
                "address",
                "without them",
            ),
            (
                "metrics.prometheus",
                "address = \"127.0.0.1:9090\"",
                "address",
                "it has a port",
            ),
            (
                "metrics.prometheus",
                "address = 127",
                "address",
                "an IP address",
            ),
            (
                "metrics.prometheus",
                "path = \"metrics\"",
                "path",
                "does not start with `/`",
            ),
            (
                "metrics.prometheus",
                "path = \"\"",
                "path",
                "here it is empty",
            ),
            (
                "metrics.prometheus",
                "path = \"/a b\"",
                "path",
                "character 3 is a space",
            ),
            (
                "metrics.prometheus",
                "path = \"/m?x=1\"",
                "path",
                "character 3 is `?`",
            ),
            (
                "metrics.prometheus",
                "path = \"/m#top\"",
                "path",
                "character 3 is `#`",
            ),
            (
                "metrics.prometheus",
                "path = \"/m\\n\"",
                "path",
                "control character U+000A",
            ),
            (
                "metrics.prometheus",
                "path = 1",
                "path",
                "a URL path starting with `/`",
            ),
            (
                "metrics.otlp",
                "endpoint = \"localhost:4317\"",
                "endpoint",
                "`http://`",
            ),
            (
                "metrics.otlp",
                "endpoint = 4317",
                "endpoint",
                "e.g. `http://localhost:4318`",
            ),
            (
                "metrics.otlp",
                "protocol = \"http\"",
                "protocol",
                "`grpc`, `http/protobuf`",
            ),
            (
                "metrics.otlp",
                "interval_seconds = 0",
                "interval_seconds",
                "from 0.001 (1 ms)",
            ),
            (
                "metrics.otlp",
                "interval_seconds = -60",
                "interval_seconds",
                "positive",
            ),
            (
                "metrics.otlp",
                "interval_seconds = 3601",
                "interval_seconds",
                "to 3600 (1 h)",
            ),
            (
                "metrics.otlp",
                "interval_seconds = \"60\"",
                "interval_seconds",
                "seconds",
            ),
            (
                "metrics.otlp",
                "temporality = \"Delta\"",
                "temporality",
                "one of `cumulative`, `delta`, `lowmemory`; did you mean `delta`?",
            ),
            (
                "metrics.otlp",
                "temporality = true",
                "temporality",
                "`lowmemory`",
            ),
        ] {
            let doc = format!("[telemetry.{table}]\n{line}\n");
            match parse(&doc, "<string>") {
                Err(ConfigError::Invalid {
                    key: k,
                    line: l,
                    expected,
                    ..
                }) => {
                    assert_eq!(k, format!("telemetry.{table}.{key}"), "{doc}");
                    assert_eq!(l, Some(2), "{doc}");
                    assert!(expected.contains(accepted), "{doc}: {expected}");
                }
                other => panic!("{doc}: {other:?}"),
            }
        }
        // `OTEL_METRICS_EXPORTER` alone sets the exporter list: a file has no such key.
        let err = parse("[telemetry.metrics]\nexporters = [\"otlp\"]\n", "<string>")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown key `telemetry.metrics.exporters`")
                && err.contains("`enabled`, `cardinality_limit`, `prometheus`, `otlp`"),
            "{err}"
        );
        let err = parse("[telemetry.metrics.prometheus]\nprot = 9090\n", "<string>")
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `port`?"), "{err}");
    }

    /// The example of `telemetry.genai.prices` as the documentation gives it.
    pub(crate) const PRICES_EXAMPLE: &str = r#"[telemetry.genai.prices."gpt-4o"]
input_per_million = 2.5
output_per_million = 10.0

[telemetry.genai.prices."claude-sonnet-4"]
input_per_million = 3.0
output_per_million = 15.0
currency = "USD"
"#;

    #[test]
    fn model_prices() {
        use crate::config::values::ModelPrice;

        let c = parse(PRICES_EXAMPLE, "<string>").unwrap();
        let read: Vec<(&ModelPrice, &Origin)> =
            c.prices.iter().map(|s| (&s.value, &s.origin)).collect();
        let at = |line: usize, model: &str| Origin::File {
            source_name: "<string>".to_owned(),
            line,
            key: format!("telemetry.genai.prices.\"{model}\""),
        };
        assert_eq!(
            read,
            [
                (
                    &ModelPrice {
                        model: "gpt-4o".to_owned(),
                        input_per_million: 2.5,
                        output_per_million: 10.0,
                        currency: "USD".to_owned(),
                    },
                    &at(1, "gpt-4o")
                ),
                (
                    &ModelPrice {
                        model: "claude-sonnet-4".to_owned(),
                        input_per_million: 3.0,
                        output_per_million: 15.0,
                        currency: "USD".to_owned(),
                    },
                    &at(5, "claude-sonnet-4")
                ),
            ]
        );

        // Any name (dots, slashes), inline tables, integers, another currency, `-0.0` as 0.
        let c = parse(
            "[telemetry.genai.prices]\n\
             \"openai/gpt-4.1-mini\" = { input_per_million = 0.4, output_per_million = 1.6 }\n\
             \"mistral-large\" = { input_per_million = 2, output_per_million = -0.0, \
             currency = \"EUR\" }\n",
            "<string>",
        )
        .unwrap();
        let prices: Vec<(&str, f64, f64, &str)> = c
            .prices
            .iter()
            .map(|s| {
                let p = &s.value;
                (
                    p.model.as_str(),
                    p.input_per_million,
                    p.output_per_million,
                    p.currency.as_str(),
                )
            })
            .collect();
        assert_eq!(
            prices,
            [
                ("openai/gpt-4.1-mini", 0.4, 1.6, "USD"),
                ("mistral-large", 2.0, 0.0, "EUR")
            ]
        );
        assert!(c.prices[1].value.output_per_million.is_sign_positive());
        assert_eq!(
            c.prices[1].origin,
            at(3, "mistral-large"),
            "an inline entry's line is its own"
        );
    }

    /// Every bad entry of `[telemetry.genai.prices]`: the error names the key (with the model),
    /// the line, and says what is expected, with an example.
    #[test]
    fn bad_model_prices_name_the_key() {
        const ENTRY: &str = "[telemetry.genai.prices.\"gpt-4o\"]\n";
        const PRICES: &str = "input_per_million = 2.5\noutput_per_million = 10.0\n";
        for (doc, key, line, value, expected) in [
            (
                format!("{ENTRY}input_per_million = -2.5\noutput_per_million = 10.0\n"),
                "telemetry.genai.prices.\"gpt-4o\".input_per_million",
                2,
                "-2.5",
                "a price per million tokens: a number, 0 or more, e.g. `2.5`; here it is \
                 negative",
            ),
            (
                format!("{ENTRY}input_per_million = 2.5\noutput_per_million = -1\n"),
                "telemetry.genai.prices.\"gpt-4o\".output_per_million",
                3,
                "-1",
                "here it is negative",
            ),
            (
                format!("{ENTRY}input_per_million = \"2.5\"\noutput_per_million = 10.0\n"),
                "telemetry.genai.prices.\"gpt-4o\".input_per_million",
                2,
                "\"2.5\"",
                "a price per million tokens: a number, 0 or more, e.g. `2.5`",
            ),
            (
                format!("{ENTRY}input_per_million = 2.5\noutput_per_million = true\n"),
                "telemetry.genai.prices.\"gpt-4o\".output_per_million",
                3,
                "true",
                "a number, 0 or more",
            ),
            (
                format!("{ENTRY}input_per_million = nan\noutput_per_million = 10.0\n"),
                "telemetry.genai.prices.\"gpt-4o\".input_per_million",
                2,
                "nan",
                "a number, 0 or more",
            ),
            (
                format!("{ENTRY}input_per_million = inf\noutput_per_million = 10.0\n"),
                "telemetry.genai.prices.\"gpt-4o\".input_per_million",
                2,
                "inf",
                "a number, 0 or more",
            ),
            (
                format!("{ENTRY}{PRICES}currency = \"usd\"\n"),
                "telemetry.genai.prices.\"gpt-4o\".currency",
                4,
                "\"usd\"",
                "a currency code of 3 upper-case letters (ISO 4217), e.g. `USD` or `EUR`; did \
                 you mean `USD`?",
            ),
            (
                format!("{ENTRY}{PRICES}currency = \"dollars\"\n"),
                "telemetry.genai.prices.\"gpt-4o\".currency",
                4,
                "\"dollars\"",
                "e.g. `USD` or `EUR`",
            ),
            (
                format!("{ENTRY}{PRICES}currency = \"U$D\"\n"),
                "telemetry.genai.prices.\"gpt-4o\".currency",
                4,
                "\"U$D\"",
                "3 upper-case letters",
            ),
            (
                format!("{ENTRY}{PRICES}currency = 840\n"),
                "telemetry.genai.prices.\"gpt-4o\".currency",
                4,
                "840",
                "3 upper-case letters",
            ),
            (
                format!("[telemetry.genai.prices.\"\"]\n{PRICES}"),
                "telemetry.genai.prices.\"\"",
                1,
                "\"\"",
                "a non-empty model name of at most 255 characters without control \
                 characters, e.g. `gpt-4o` or `anthropic/claude-sonnet-4`; here it is empty",
            ),
            (
                format!(
                    "[telemetry.genai.prices]\n{:?} = {{ input_per_million = 1, \
                     output_per_million = 1 }}\n",
                    "m".repeat(256)
                ),
                &format!("telemetry.genai.prices.{:?}", "m".repeat(256)),
                2,
                &format!("{:?}", "m".repeat(256)),
                "here it is 256 characters long",
            ),
            (
                "[telemetry.genai.prices]\n\"gpt-4o\" = 2.5\n".to_owned(),
                "telemetry.genai.prices.\"gpt-4o\"",
                2,
                "2.5",
                "a table of the model's prices, e.g. `[telemetry.genai.prices.\"gpt-4o\"]` \
                 with `input_per_million = 2.5` and `output_per_million = 10.0`",
            ),
            (
                "[telemetry.genai]\nprices = [\"gpt-4o\"]\n".to_owned(),
                "telemetry.genai.prices",
                2,
                "an array",
                "a table (`[telemetry.genai.prices]`)",
            ),
            // An unquoted name with a dot is a model holding a table: say to quote it.
            (
                format!("[telemetry.genai.prices.gpt-4.1]\n{PRICES}"),
                "telemetry.genai.prices.\"gpt-4\".1",
                1,
                "a table",
                "a price key (`input_per_million`, `output_per_million`, `currency`), not a \
                 table; a model name with a dot is quoted: \
                 `[telemetry.genai.prices.\"gpt-4.1\"]`",
            ),
        ] {
            let err = parse(&doc, "<string>").unwrap_err();
            match &err {
                ConfigError::Invalid {
                    key: k,
                    line: l,
                    value: v,
                    expected: e,
                    ..
                } => {
                    assert_eq!(
                        (k.as_str(), *l, v.as_str()),
                        (key, Some(line), value),
                        "{doc}"
                    );
                    assert!(e.contains(expected), "{doc}: {e}");
                }
                other => panic!("{doc}: {other:?}"),
            }
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!(
                    "<string>:{line}: invalid value {value} for `{key}`"
                )),
                "{msg}"
            );
        }

        // A missing price names the key it needs, at the model's table, with an example.
        for (doc, line, missing, example) in [
            (
                format!("{ENTRY}output_per_million = 10.0\n"),
                1,
                "input_per_million",
                "`input_per_million = 2.5`",
            ),
            (
                format!("# prices\n\n{ENTRY}input_per_million = 2.5\ncurrency = \"EUR\"\n"),
                3,
                "output_per_million",
                "`output_per_million = 10.0`",
            ),
            (
                "[telemetry.genai.prices]\n\"gpt-4o\" = {}\n".to_owned(),
                2,
                "input_per_million",
                "`input_per_million = 2.5`",
            ),
        ] {
            let err = parse(&doc, "<string>").unwrap_err();
            match &err {
                ConfigError::Missing { key, line: l, .. } => {
                    assert_eq!(key, &format!("telemetry.genai.prices.\"gpt-4o\".{missing}"));
                    assert_eq!(*l, Some(line), "{doc}");
                }
                other => panic!("{doc}: {other:?}"),
            }
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!(
                    "<string>:{line}: `telemetry.genai.prices.\"gpt-4o\".{missing}` is missing; \
                     add `{missing} = …`"
                )) && msg.contains(example),
                "{msg}"
            );
        }

        // An unknown key in an entry: the accepted keys, and the one meant.
        let err = parse(
            &format!("{ENTRY}{PRICES}\ninput_per_milion = 2.5\n"),
            "<string>",
        )
        .unwrap_err();
        match &err {
            ConfigError::UnknownKey {
                key,
                line,
                suggestion,
                ..
            } => {
                assert_eq!(key, "telemetry.genai.prices.\"gpt-4o\".input_per_milion");
                assert_eq!(*line, 5);
                assert_eq!(suggestion.as_deref(), Some("input_per_million"));
            }
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("did you mean `input_per_million`?")
                && msg.contains("`input_per_million`, `output_per_million`, `currency`"),
            "{msg}"
        );
        let err = parse("[telemetry.genai]\nprice = 1\n", "<string>")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown key `telemetry.genai.price`")
                && err.contains("did you mean `prices`?"),
            "{err}"
        );
    }

    #[test]
    fn bad_exporter_entries_name_the_key() {
        const ENTRY: &str = "[[telemetry.tracing.exporters]]\n";
        for (body, key, value, expected) in [
            (
                "type = \"jaeger\"\nendpoint = \"localhost:4317\"\n",
                "telemetry.tracing.exporters[0].endpoint",
                "\"localhost:4317\"",
                "an `http://` or `https://` URL",
            ),
            (
                "type = \"tempo\"\nprotocol = \"http/json\"\n",
                "telemetry.tracing.exporters[0].protocol",
                "\"http/json\"",
                "`grpc`, `http/protobuf`",
            ),
            (
                "type = \"stdout\"\nendpoint = \"http://localhost:4317\"\n",
                "telemetry.tracing.exporters[0].endpoint",
                "\"http://localhost:4317\"",
                "no `endpoint` for `type = \"stdout\"` (only `type = \"jaeger\"` and \
                 `\"tempo\"` take one; the `otlp` exporter's are `endpoint` and `protocol` in \
                 `[telemetry.tracing.otlp]`); remove it",
            ),
            (
                "type = \"otlp\"\nprotocol = \"grpc\"\n",
                "telemetry.tracing.exporters[0].protocol",
                "\"grpc\"",
                "no `protocol` for `type = \"otlp\"`",
            ),
            (
                "type = \"jaeger\"\npath = \"t.jsonl\"\n",
                "telemetry.tracing.exporters[0].path",
                "\"t.jsonl\"",
                "no `path` for `type = \"jaeger\"` (only `type = \"file\"` takes one)",
            ),
            (
                "type = \"zipkin\"\n",
                "telemetry.tracing.exporters[0].type",
                "\"zipkin\"",
                "`stdout`, `file`, `otlp`, `jaeger`, `tempo`",
            ),
        ] {
            let err = parse(&format!("{ENTRY}{body}"), "zdk-trace.toml").unwrap_err();
            match &err {
                ConfigError::Invalid {
                    key: k,
                    value: v,
                    expected: e,
                    line: Some(_),
                    ..
                } => {
                    assert_eq!((k.as_str(), v.as_str()), (key, value), "{body}");
                    assert!(e.contains(expected), "{body}: {e}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        let err = parse(&format!("{ENTRY}type = \"jaeger\"\nport = 4317\n"), "f")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`type`, `path`, `endpoint`, `protocol`"),
            "{err}"
        );
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

/// Property tests of the `zdk-trace.toml` reader: it never panics, an error always names a
/// position and (past the syntax) a key, and a valid document reports what it says.
#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod props {
    use std::time::Duration;

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::config::resolve;
    use crate::config::settings::Settings;
    use crate::config::table::{
        metrics_exporters, metrics_otlp_url, model_prices, METRICS_CARDINALITY_LIMIT,
        METRICS_ENABLED, METRICS_EXPORTERS, METRICS_OTLP_INTERVAL, METRICS_OTLP_PROTOCOL,
        METRICS_OTLP_TEMPORALITY, PROMETHEUS_ADDRESS, PROMETHEUS_ENABLED, PROMETHEUS_PATH,
        PROMETHEUS_PORT,
    };

    /// What the metrics stage reads at install: it must not panic either.
    fn read_metrics(s: &Settings) {
        let _ = (metrics_exporters(s), metrics_otlp_url(s));
        let _ = (METRICS_ENABLED.resolved(s), METRICS_EXPORTERS.resolved(s));
        let _ = (
            METRICS_CARDINALITY_LIMIT.resolved(s),
            PROMETHEUS_ENABLED.resolved(s),
        );
        let _ = (PROMETHEUS_PORT.resolved(s), PROMETHEUS_ADDRESS.resolved(s));
        let _ = (
            PROMETHEUS_PATH.resolved(s),
            METRICS_OTLP_PROTOCOL.resolved(s),
        );
        let _ = (
            METRICS_OTLP_INTERVAL.resolved(s),
            METRICS_OTLP_TEMPORALITY.resolved(s),
        );
    }

    /// Every error of a document says where: `<string>:line`, and the key past the syntax.
    fn assert_named(err: &ConfigError) -> Result<(), TestCaseError> {
        let msg = err.to_string();
        prop_assert!(msg.starts_with("<string>:"), "{msg}");
        match err {
            ConfigError::Syntax { line, column, .. } => prop_assert!(*line >= 1 && *column >= 1),
            ConfigError::UnknownKey { key, .. }
            | ConfigError::Invalid { key, .. }
            | ConfigError::Missing { key, .. } => {
                prop_assert!(
                    !key.is_empty() && msg.contains(&format!("`{key}`")),
                    "{msg}"
                );
            }
            other => prop_assert!(false, "unexpected error from a document: {other:?}"),
        }
        Ok(())
    }

    /// Lines that look like `zdk-trace.toml`: its tables, its keys and other names, values of
    /// every type, in and out of range, and some noise.
    fn tomlish_line() -> impl Strategy<Value = String> {
        let table = prop::sample::select(vec![
            "telemetry",
            "telemetry.resource",
            "telemetry.tracing",
            "telemetry.tracing.otlp",
            "telemetry.tracing.otlp.headers",
            "telemetry.tracing.otlp.batch",
            "telemetry.tracing.sampling",
            "telemetry.genai",
            "telemetry.genai.prices",
            "telemetry.genai.prices.\"gpt-4o\"",
            "telemetry.genai.prices.gpt-4.1",
            "telemetry.genai.prices.\"\"",
            "telemetry.usage",
            "telemetry.metrics",
            "telemetry.metrics.prometheus",
            "telemetry.metrics.otlp",
        ]);
        let key = prop::sample::select(vec![
            "enabled",
            "service_name",
            "service_version",
            "endpoint",
            "protocol",
            "timeout_seconds",
            "compression",
            "max_queue_size",
            "max_export_batch_size",
            "scheduled_delay_seconds",
            "export_timeout_seconds",
            "strategy",
            "probability",
            "always_sample_errors",
            "always_sample_slow_seconds",
            "max_traces_per_second",
            "capture_message_content",
            "notice",
            "circuit_cooldown_seconds",
            "cardinality_limit",
            "port",
            "address",
            "interval_seconds",
            "temporality",
            "exporters",
            "\"x-api-key\"",
            "\"deployment.environment\"",
            "type",
            "path",
            "prices",
            "input_per_million",
            "output_per_million",
            "currency",
            "\"claude-sonnet-4\"",
        ]);
        let value = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| format!("{n:?}")),
            any::<bool>().prop_map(|b| b.to_string()),
            "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
            any::<String>().prop_map(|s| format!("{s:?}")),
            Just("\"http://localhost:4318\"".to_owned()),
            Just("\"/metrics\"".to_owned()),
            Just("\"127.0.0.1\"".to_owned()),
            Just("\"::1\"".to_owned()),
            Just("\"delta\"".to_owned()),
            Just("9090".to_owned()),
            Just("\"${API_KEY}\"".to_owned()),
            Just("[1, 2]".to_owned()),
            Just("{ type = \"stdout\" }".to_owned()),
            Just("\"USD\"".to_owned()),
            Just("\"usd\"".to_owned()),
            Just("-0.0".to_owned()),
            Just("{ input_per_million = 2.5, output_per_million = 10.0 }".to_owned()),
            Just("{ input_per_million = 2.5 }".to_owned()),
            Just("nan".to_owned()),
            Just("inf".to_owned()),
        ];
        prop_oneof![
            table.clone().prop_map(|t| format!("[{t}]")),
            Just("[[telemetry.tracing.exporters]]".to_owned()),
            (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            "[ -~]{0,20}",
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            if let Err(err) = Config::from_toml_str(&text) {
                assert_named(&err)?;
            }
        }

        #[test]
        fn tomlish_documents_load_or_name_what_is_wrong(lines in vec(tomlish_line(), 0..12)) {
            let doc = lines.join("\n");
            match Config::from_toml_str(&doc) {
                // What a document holds is resolved at install: that must not panic either.
                Ok(layer) => {
                    if let Ok(s) = resolve(&[&layer], &|_| None) {
                        read_metrics(&s);
                        // Every price was checked when the file was read.
                        prop_assert!(model_prices(&s).is_ok());
                    }
                }
                Err(err) => assert_named(&err)?,
            }
        }

        #[test]
        fn valid_documents_report_what_they_say(
            queue in 1usize..=1 << 20,
            batch_fraction in 0.0f64..=1.0,
            delay_ms in 0u64..=3_600_000,
            export_ms in 1u64..=3_600_000,
            otlp_ms in 1u64..=3_600_000,
            slow_ms in 0u64..=86_400_000,
            rate in 0.001f64..=1_000_000.0,
            probability in 0.0f64..=1.0,
            name in "[A-Za-z0-9 ._é-]{1,40}",
            cardinality in 2usize..=1_000_000,
            port in 1u16..=u16::MAX,
            interval_ms in 1u64..=3_600_000,
            path in "/[A-Za-z0-9._~/-]{0,40}",
            price in ("[A-Za-z0-9 ._:/@-]{1,40}", 0.0f64..=1e6, 0.0f64..=1e6, "[A-Z]{3}"),
        ) {
            let (model, input, output, currency) = price;
            let batch = ((queue.min(65_536) as f64 * batch_fraction) as usize).max(1);
            let secs = |ms: u64| format!("{}.{:03}", ms / 1000, ms % 1000);
            let doc = format!(
                "[telemetry]\nservice_name = {name:?}\n\
                 [telemetry.tracing.otlp]\nendpoint = \"http://c:4318\"\ntimeout_seconds = {}\n\
                 [telemetry.tracing.otlp.batch]\nmax_queue_size = {queue}\n\
                 max_export_batch_size = {batch}\nscheduled_delay_seconds = {}\n\
                 export_timeout_seconds = {}\n\
                 [telemetry.tracing.sampling]\nprobability = {probability:?}\n\
                 always_sample_slow_seconds = {}\nmax_traces_per_second = {rate:?}\n\
                 [telemetry.metrics]\ncardinality_limit = {cardinality}\n\
                 [telemetry.metrics.prometheus]\nport = {port}\npath = {path:?}\n\
                 [telemetry.metrics.otlp]\ninterval_seconds = {}\n\
                 [telemetry.genai.prices.{model:?}]\ninput_per_million = {input:?}\n\
                 output_per_million = {output:?}\ncurrency = {currency:?}\n",
                secs(otlp_ms), secs(delay_ms), secs(export_ms), secs(slow_ms), secs(interval_ms),
            );
            let layer = Config::from_toml_str(&doc)
                .unwrap_or_else(|e| panic!("{e}\n{doc}"));
            let s = resolve(&[&layer], &|_| None).unwrap_or_else(|e| panic!("{e}\n{doc}"));
            // Seconds are read as the float they are written as.
            let read = |ms: u64| Duration::from_secs_f64(secs(ms).parse::<f64>().unwrap());
            prop_assert_eq!(&s.service_name, &name);
            prop_assert_eq!(s.batch.max_queue_size, queue);
            prop_assert_eq!(s.batch.max_export_batch_size, batch);
            prop_assert_eq!(s.batch.scheduled_delay, read(delay_ms));
            prop_assert_eq!(s.batch.export_timeout, read(export_ms));
            prop_assert_eq!(s.tail.slow_threshold, Some(read(slow_ms)));
            prop_assert_eq!(s.tail.max_traces_per_second, Some(rate));
            prop_assert_eq!(METRICS_CARDINALITY_LIMIT.resolved(&s).unwrap(), Some(cardinality));
            prop_assert_eq!(PROMETHEUS_PORT.resolved(&s).unwrap(), Some(port));
            prop_assert_eq!(PROMETHEUS_PATH.resolved(&s).unwrap(), Some(path));
            prop_assert_eq!(METRICS_OTLP_INTERVAL.resolved(&s).unwrap(), Some(read(interval_ms)));
            let prices = model_prices(&s).unwrap();
            prop_assert_eq!(prices.len(), 1);
            prop_assert_eq!(&prices[0].model, &model);
            prop_assert_eq!(prices[0].input_per_million, input);
            prop_assert_eq!(prices[0].output_per_million, output);
            prop_assert_eq!(&prices[0].currency, &currency);
            prop_assert_eq!(s.sampler, crate::sampling::Sampler::TraceIdRatio(probability));
            match &s.exporters[..] {
                [crate::config::ExporterSettings::Otlp(otlp)] => {
                    prop_assert_eq!(otlp.timeout, read(otlp_ms));
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn out_of_range_numbers_are_refused(
            queue in (1u64 << 20) + 1..=i64::MAX as u64,
            timeout in 3600.001f64..1e300,
            rate in prop_oneof![1e-300f64..0.000_999, 1_000_000.001f64..1e300],
            cardinality in prop_oneof![0u64..2, 1_000_001..=i64::MAX as u64],
            port in prop_oneof![i64::MIN..=0, 65_536..=i64::MAX],
            price in prop_oneof![-1e300f64..-1e-300, Just(f64::NEG_INFINITY)],
            which in 0usize..6,
        ) {
            let (doc, key) = match which {
                0 => (
                    format!("[telemetry.tracing.otlp.batch]\nmax_queue_size = {queue}\n"),
                    "telemetry.tracing.otlp.batch.max_queue_size",
                ),
                1 => (
                    format!("[telemetry.tracing.otlp]\ntimeout_seconds = {timeout:?}\n"),
                    "telemetry.tracing.otlp.timeout_seconds",
                ),
                2 => (
                    format!("[telemetry.tracing.sampling]\nmax_traces_per_second = {rate:?}\n"),
                    "telemetry.tracing.sampling.max_traces_per_second",
                ),
                3 => (
                    format!("[telemetry.metrics]\ncardinality_limit = {cardinality}\n"),
                    "telemetry.metrics.cardinality_limit",
                ),
                4 => (
                    format!("[telemetry.metrics.prometheus]\nport = {port}\n"),
                    "telemetry.metrics.prometheus.port",
                ),
                _ => (
                    format!(
                        "[telemetry.genai.prices.\"gpt-4o\"]\noutput_per_million = {}\n\
                         input_per_million = 1\n",
                        // TOML spells the infinities `inf`.
                        if price.is_finite() { format!("{price:?}") } else { "-inf".to_owned() }
                    ),
                    "telemetry.genai.prices.\"gpt-4o\".output_per_million",
                ),
            };
            match Config::from_toml_str(&doc) {
                Err(ConfigError::Invalid { key: k, line, .. }) => {
                    prop_assert_eq!(k, key);
                    prop_assert_eq!(line, Some(2));
                }
                other => prop_assert!(false, "{doc}: {other:?}"),
            }
        }
    }
}
