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
            Endpoint::Signal("http://traces:4318/t".to_owned())
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
    fn metrics_variables() {
        use crate::config::table::{
            metrics_exporters, metrics_otlp_url, METRICS_EXPORTERS, METRICS_OTLP_ENDPOINT,
            METRICS_OTLP_INTERVAL, METRICS_OTLP_PROTOCOL, METRICS_OTLP_TEMPORALITY,
        };
        use crate::config::values::MetricsExporters;
        use crate::config::{resolve, Temporality};

        let resolved = |vars: &[(&str, &str)]| {
            let layer = parse(vars.iter().copied()).unwrap();
            resolve(&[&layer], &|_| None).unwrap()
        };

        // The generic endpoint is a base URL: HTTP appends `/v1/metrics` (and turns the push on).
        let s = resolved(&[
            (OTEL_EXPORTER_OTLP_ENDPOINT, "http://c:4318/otlp/"),
            (OTEL_EXPORTER_OTLP_PROTOCOL, "http/protobuf"),
        ]);
        assert_eq!(
            METRICS_OTLP_ENDPOINT.resolved(&s).unwrap(),
            Some(Endpoint::Base("http://c:4318/otlp/".to_owned()))
        );
        assert_eq!(
            metrics_otlp_url(&s).unwrap(),
            "http://c:4318/otlp/v1/metrics"
        );
        assert!(metrics_exporters(&s).otlp);
        // ... while traces get `/v1/traces` from the same variable.
        match &s.exporters[..] {
            [crate::config::ExporterSettings::Otlp(otlp)] => {
                assert_eq!(otlp.endpoint, "http://c:4318/otlp/v1/traces");
            }
            other => panic!("unexpected {other:?}"),
        }
        // gRPC takes it as given.
        let s = resolved(&[
            (OTEL_EXPORTER_OTLP_ENDPOINT, "http://c:4317"),
            (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
        ]);
        assert_eq!(metrics_otlp_url(&s).unwrap(), "http://c:4317");

        // The metrics variables win over the generic ones; the metrics URL is used as-is.
        let s = resolved(&[
            (OTEL_EXPORTER_OTLP_ENDPOINT, "http://base:4318"),
            (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, "http://m:4318/custom"),
            (OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
            (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, "http/protobuf"),
        ]);
        assert_eq!(
            METRICS_OTLP_ENDPOINT.resolved(&s).unwrap(),
            Some(Endpoint::Signal("http://m:4318/custom".to_owned()))
        );
        assert_eq!(
            METRICS_OTLP_PROTOCOL.resolved(&s).unwrap(),
            Some(OtlpProtocol::HttpProtobuf)
        );
        assert_eq!(metrics_otlp_url(&s).unwrap(), "http://m:4318/custom");
        let s = resolved(&[(OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, "http://m:4318")]);
        assert_eq!(metrics_otlp_url(&s).unwrap(), "http://m:4318");
        // The generic protocol alone applies to metrics too.
        let s = resolved(&[(OTEL_EXPORTER_OTLP_PROTOCOL, "http/protobuf")]);
        assert_eq!(
            METRICS_OTLP_PROTOCOL.resolved(&s).unwrap(),
            Some(OtlpProtocol::HttpProtobuf)
        );

        // Milliseconds, as the specification says.
        let s = resolved(&[(OTEL_METRIC_EXPORT_INTERVAL, "1500")]);
        assert_eq!(
            METRICS_OTLP_INTERVAL.resolved(&s).unwrap(),
            Some(Duration::from_millis(1500))
        );

        for (value, temporality) in [
            ("cumulative", Temporality::Cumulative),
            ("DELTA", Temporality::Delta),
            ("LowMemory", Temporality::LowMemory),
        ] {
            let s = resolved(&[(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, value)]);
            assert_eq!(
                METRICS_OTLP_TEMPORALITY.resolved(&s).unwrap(),
                Some(temporality),
                "{value}"
            );
        }

        for (value, otlp, prometheus, console) in [
            ("otlp", true, false, false),
            ("prometheus,OTLP", true, true, false),
            (" console , otlp,,otlp ", true, false, true),
            ("none", false, false, false),
            ("None", false, false, false),
        ] {
            let s = resolved(&[(OTEL_METRICS_EXPORTER, value)]);
            let expected = MetricsExporters {
                otlp,
                prometheus,
                console,
            };
            assert_eq!(METRICS_EXPORTERS.resolved(&s).unwrap(), Some(expected));
            assert_eq!(metrics_exporters(&s), expected, "{value}");
        }
    }

    #[test]
    fn bad_metrics_variables_are_named() {
        for (var, value, accepted) in [
            (
                OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
                "localhost:4317",
                "an `http://` or `https://` URL",
            ),
            (
                OTEL_EXPORTER_OTLP_ENDPOINT,
                "http://c:0",
                "a port from 1 to 65535",
            ),
            (
                OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
                "http/json",
                "`http/protobuf` or `grpc`",
            ),
            (
                OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
                "grcp",
                "did you mean `grpc`?",
            ),
            (
                OTEL_METRIC_EXPORT_INTERVAL,
                "0",
                "a positive whole number of milliseconds",
            ),
            (OTEL_METRIC_EXPORT_INTERVAL, "60s", "milliseconds"),
            (OTEL_METRIC_EXPORT_INTERVAL, "3600001", "at most 3600000"),
            (
                OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
                "Deltaa",
                "one of `cumulative`, `delta`, `lowmemory`; did you mean `delta`?",
            ),
            (
                OTEL_METRICS_EXPORTER,
                "otlp,prometeus",
                "here `prometeus` is not one of them; did you mean `prometheus`?",
            ),
            (
                OTEL_METRICS_EXPORTER,
                "jaeger",
                "`otlp`, `prometheus` and `console`",
            ),
            (
                OTEL_METRICS_EXPORTER,
                "none,otlp",
                "`none` is listed with exporters",
            ),
            (OTEL_METRICS_EXPORTER, ",", "it names no exporter"),
        ] {
            match parse([(var, value)]) {
                Err(ConfigError::Env {
                    var: v,
                    value: shown,
                    expected,
                }) => {
                    assert_eq!((v.as_str(), shown.as_str()), (var, value));
                    assert!(expected.contains(accepted), "{var}={value}: {expected}");
                }
                other => panic!("{var}={value}: {other:?}"),
            }
        }
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

/// Property tests of the `OTEL_*` reader: it never panics, an error always names a variable
/// it reads, and valid values are what the layer holds.
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
        metrics_exporters, metrics_otlp_url, METRICS_CARDINALITY_LIMIT, METRICS_ENABLED,
        METRICS_EXPORTERS, METRICS_OTLP_INTERVAL, METRICS_OTLP_PROTOCOL, METRICS_OTLP_TEMPORALITY,
        PROMETHEUS_ADDRESS, PROMETHEUS_ENABLED, PROMETHEUS_PATH, PROMETHEUS_PORT,
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

    fn known_var() -> impl Strategy<Value = &'static str> {
        prop::sample::select(table::env_vars().collect::<Vec<_>>())
    }

    proptest! {
        #[test]
        fn arbitrary_values_never_panic(vars in vec((known_var(), any::<String>()), 0..8)) {
            match parse(vars.iter().map(|(k, v)| (*k, v.as_str()))) {
                Ok(layer) => {
                    if let Ok(s) = resolve(&[&layer], &|_| None) {
                        read_metrics(&s);
                    }
                }
                Err(ConfigError::Env { var, expected, .. }) => {
                    prop_assert!(vars.iter().any(|(k, _)| *k == var), "{var}");
                    prop_assert!(!expected.is_empty());
                }
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }

        #[test]
        fn valid_values_are_what_the_layer_holds(
            queue in 1usize..=1 << 20,
            batch in 1usize..=65_536,
            delay_ms in 0u64..=3_600_000,
            timeout_ms in 1u64..=3_600_000,
            probability in 0.0f64..=1.0,
            name in "[A-Za-z0-9._é-]{1,40}",
            interval_ms in 1u64..=3_600_000,
        ) {
            let batch = batch.min(queue);
            let vars = [
                ("OTEL_BSP_MAX_QUEUE_SIZE", queue.to_string()),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", batch.to_string()),
                ("OTEL_BSP_SCHEDULE_DELAY", delay_ms.to_string()),
                ("OTEL_BSP_EXPORT_TIMEOUT", timeout_ms.to_string()),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", timeout_ms.to_string()),
                ("OTEL_TRACES_SAMPLER", "traceidratio".to_owned()),
                ("OTEL_TRACES_SAMPLER_ARG", format!("{probability:?}")),
                ("OTEL_SERVICE_NAME", name.clone()),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318".to_owned()),
                ("OTEL_METRIC_EXPORT_INTERVAL", interval_ms.to_string()),
            ];
            let layer = parse(vars.iter().map(|(k, v)| (*k, v.as_str())))
                .unwrap_or_else(|e| panic!("{e}"));
            let s = resolve(&[&layer], &|_| None).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(&s.service_name, &name);
            prop_assert_eq!(s.batch.max_queue_size, queue);
            prop_assert_eq!(s.batch.max_export_batch_size, batch);
            prop_assert_eq!(s.batch.scheduled_delay, Duration::from_millis(delay_ms));
            prop_assert_eq!(s.batch.export_timeout, Duration::from_millis(timeout_ms));
            prop_assert_eq!(
                METRICS_OTLP_INTERVAL.resolved(&s).unwrap(),
                Some(Duration::from_millis(interval_ms))
            );
            prop_assert_eq!(s.sampler, crate::sampling::Sampler::TraceIdRatio(probability));
        }

        #[test]
        fn out_of_range_values_are_refused(
            queue in (1u64 << 20) + 1..=u64::MAX,
            ms in 3_600_001u64..=u64::MAX,
            which in 0usize..4,
        ) {
            let (var, value) = match which {
                0 => ("OTEL_BSP_MAX_QUEUE_SIZE", queue.to_string()),
                1 => ("OTEL_BSP_SCHEDULE_DELAY", ms.to_string()),
                2 => ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", ms.to_string()),
                _ => ("OTEL_METRIC_EXPORT_INTERVAL", ms.to_string()),
            };
            match parse([(var, value.as_str())]) {
                Err(ConfigError::Env { var: v, value: shown, .. }) => {
                    prop_assert_eq!(v, var);
                    prop_assert_eq!(shown, value);
                }
                other => prop_assert!(false, "{var}={value}: {other:?}"),
            }
        }
    }
}
