//! The standard `OTEL_*` variables, read into a [`Config`] layer: each variable is read by the
//! definition of the setting it sets (see `table.rs`).

use std::collections::HashMap;

use super::env_value::Vars;
use super::error::ConfigError;
use super::table::{self, SETTINGS};
use super::values::Config;

/// Builds the environment layer from `vars` (other names are ignored; empty values are unset).
pub(crate) fn parse<I, K, V>(vars: I) -> Result<Config, ConfigError>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let known: Vec<&str> = table::env_vars().collect();
    let vars = Vars(
        vars.into_iter()
            .filter(|(k, _)| known.contains(&k.as_ref()))
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect::<HashMap<_, _>>(),
    );
    let mut c = Config::default();
    for setting in SETTINGS {
        setting.read_env(&vars, &mut c)?;
    }
    Ok(c)
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::env_value::*;
    use crate::config::settings::OtlpProtocol;
    use crate::config::values::Endpoint;
    use crate::genai::CaptureMode;

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
