//! Configuration through the public API: `zdk-trace.toml` documents and `OTEL_*` variables,
//! and the errors for every kind of bad input.
// Tests panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use zdk_trace_runtime::{Config, ConfigError, Protocol, Sampler, TailSampling};

/// The full example of the schema.
const FULL_EXAMPLE: &str = r#"
[telemetry]
enabled = true
service_name = "my-agent"        # optional
service_version = "1.2.3"        # optional
[telemetry.resource]             # optional, string values
"deployment.environment" = "prod"
[telemetry.tracing]
enabled = true
[telemetry.tracing.otlp]
endpoint = "http://localhost:4317"
protocol = "grpc"            # or "http/protobuf"
timeout_seconds = 10         # number, may be float
compression = "gzip"         # gzip | none
[telemetry.tracing.otlp.headers]
"x-api-key" = "${API_KEY}"   # ${VAR} expanded from the environment at resolve time
[telemetry.tracing.otlp.batch]
scheduled_delay_seconds = 5
max_export_batch_size = 512
max_queue_size = 2048
export_timeout_seconds = 30
[telemetry.tracing.sampling]
strategy = "probability"     # always_on | always_off | probability | parent_based
probability = 0.1
always_sample_errors = true
always_sample_slow_seconds = 5.0
max_traces_per_second = 100  # per root span name
[[telemetry.tracing.exporters]]
type = "stdout"
[[telemetry.tracing.exporters]]
type = "file"
path = "traces.jsonl"
[[telemetry.tracing.exporters]]
type = "otlp"
[telemetry.usage]
enabled = true
endpoint = "http://usage.example.com:4318"
notice = false
"#;

#[test]
fn full_example_parses() {
    Config::from_toml_str(FULL_EXAMPLE).unwrap();
}

#[test]
fn empty_documents_parse() {
    assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    assert_eq!(
        Config::from_toml_str("[telemetry]\n[telemetry.tracing]\n").unwrap(),
        Config::default()
    );
}

#[test]
fn debug_hides_header_values() {
    let file = Config::from_toml_str(
        "[telemetry.tracing.otlp.headers]\nauthorization = \"Bearer literal-secret\"\n",
    )
    .unwrap();
    let debug = format!("{file:?}");
    assert!(!debug.contains("literal-secret"), "{debug}");
    assert!(debug.contains("authorization"), "{debug}");

    let env =
        Config::from_env_vars([("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=env-secret")]).unwrap();
    let debug = format!("{env:?}");
    assert!(!debug.contains("env-secret"), "{debug}");

    let code = Config::default().with_otlp_header("x-api-key", "code-secret");
    assert!(!format!("{code:?}").contains("code-secret"));
}

#[test]
fn code_setters_chain() {
    let layer = Config::default()
        .with_service_name("svc")
        .with_service_version("1")
        .with_resource_attribute("k", "v")
        .with_enabled(true)
        .with_sampler(Sampler::AlwaysOn)
        .with_tail_sampling(TailSampling::default().keep_errors(true))
        .with_max_queue_size(10)
        .with_max_export_batch_size(5)
        .with_scheduled_delay(Duration::from_secs(1))
        .with_export_timeout(Duration::from_secs(2))
        .with_otlp_endpoint("http://c:4317")
        .with_otlp_protocol(Protocol::Grpc)
        .with_otlp_header("h", "v")
        .with_otlp_timeout(Duration::from_secs(3))
        .with_otlp_compression(true)
        .with_stdout_exporter()
        .with_file_exporter("t.jsonl")
        .with_otlp_exporter();
    assert_ne!(layer, Config::default());
}

// ----- file errors -----

/// Parses `toml`, expecting an error; returns it and its message.
fn error(toml: &str) -> (ConfigError, String) {
    let err = Config::from_toml_str(toml).expect_err("expected an error");
    let msg = err.to_string();
    (err, msg)
}

/// Asserts an [`ConfigError::Invalid`] for `key` at `line`, showing `value` and naming every
/// `accepted` fragment, in both the fields and the message.
#[track_caller]
fn assert_invalid(toml: &str, key: &str, line: usize, value: &str, accepted: &[&str]) {
    let (err, msg) = error(toml);
    match &err {
        ConfigError::Invalid {
            source_name,
            line: l,
            key: k,
            value: v,
            expected,
            ..
        } => {
            assert_eq!(source_name, "<string>", "{msg}");
            assert_eq!(*l, Some(line), "{msg}");
            assert_eq!(k, key, "{msg}");
            assert_eq!(v, value, "{msg}");
            for a in accepted {
                assert!(expected.contains(a), "`{a}` not in {expected:?}");
            }
        }
        other => panic!("expected Invalid, got {other:?}: {msg}"),
    }
    assert!(msg.contains(&format!("<string>:{line}")), "{msg}");
    assert!(msg.contains(&format!("`{key}`")), "{msg}");
    assert!(msg.contains(value), "{msg}");
    for a in accepted {
        assert!(msg.contains(a), "`{a}` not in {msg}");
    }
}

#[test]
fn syntax_error() {
    let (err, msg) = error("[telemetry]\nenabled = \n");
    match err {
        ConfigError::Syntax {
            source_name,
            line,
            column,
            ..
        } => {
            assert_eq!(source_name, "<string>");
            assert_eq!(line, 2);
            assert_eq!(column, 11);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(msg.starts_with("<string>:2:11: invalid TOML"), "{msg}");

    let (err, _) = error("[telemetry]\nenabled = true\nenabled = false\n");
    assert!(
        matches!(err, ConfigError::Syntax { line: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn unknown_key_with_suggestion() {
    let (err, msg) =
        error("[telemetry.tracing.sampling]\nstrategy = \"always_on\"\nprobabilty = 0.5\n");
    match &err {
        ConfigError::UnknownKey {
            source_name,
            line,
            key,
            expected,
            suggestion,
            ..
        } => {
            assert_eq!(source_name, "<string>");
            assert_eq!(*line, 3);
            assert_eq!(key, "telemetry.tracing.sampling.probabilty");
            assert_eq!(suggestion.as_deref(), Some("probability"));
            assert!(expected.contains("`always_sample_errors`"), "{expected}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(msg.contains("<string>:3"), "{msg}");
    assert!(
        msg.contains("`telemetry.tracing.sampling.probabilty`"),
        "{msg}"
    );
    assert!(msg.contains("did you mean `probability`?"), "{msg}");
    assert!(msg.contains("`strategy`, `probability`"), "{msg}");
}

#[test]
fn unknown_keys_at_every_level() {
    let cases = [
        ("telemtry = 1\n", "telemtry", 1, Some("telemetry")),
        (
            "[telemetry]\nservice = \"x\"\n",
            "telemetry.service",
            2,
            Some("service_name"),
        ),
        (
            "[telemetry]\nservce_name = \"x\"\n",
            "telemetry.servce_name",
            2,
            Some("service_name"),
        ),
        (
            "[telemetry.tracng]\n",
            "telemetry.tracng",
            1,
            Some("tracing"),
        ),
        (
            "[telemetry.tracing]\nexporter = []\n",
            "telemetry.tracing.exporter",
            2,
            Some("exporters"),
        ),
        (
            "[telemetry.tracing.otlp]\nendpont = \"http://c\"\n",
            "telemetry.tracing.otlp.endpont",
            2,
            Some("endpoint"),
        ),
        (
            "[telemetry.tracing.otlp.batch]\nmax_queue = 1\n",
            "telemetry.tracing.otlp.batch.max_queue",
            2,
            Some("max_queue_size"),
        ),
        (
            "[telemetry.tracing.sampling]\nrate = 1\n",
            "telemetry.tracing.sampling.rate",
            2,
            None,
        ),
        ("[telemetry]\nfoo = 1\n", "telemetry.foo", 2, None),
        (
            "[[telemetry.tracing.exporters]]\ntype = \"stdout\"\nkind = \"x\"\n",
            "telemetry.tracing.exporters[0].kind",
            3,
            None,
        ),
    ];
    for (toml, key, line, suggestion) in cases {
        let (err, msg) = error(toml);
        match &err {
            ConfigError::UnknownKey {
                key: k,
                line: l,
                suggestion: s,
                ..
            } => {
                assert_eq!(k, key, "{msg}");
                assert_eq!(*l, line, "{msg}");
                assert_eq!(s.as_deref(), suggestion, "{msg}");
            }
            other => panic!("expected UnknownKey for {toml:?}, got {other:?}"),
        }
        assert!(msg.contains(&format!("`{key}`")), "{msg}");
        assert!(msg.contains(&format!("<string>:{line}")), "{msg}");
    }
}

#[test]
fn usage_table_is_checked() {
    assert_invalid(
        "[telemetry.usage]\nendpoint = \"usage.example.com\"\n",
        "telemetry.usage.endpoint",
        2,
        "\"usage.example.com\"",
        &["http://"],
    );
    assert_invalid(
        "[telemetry.usage]\n\nenabled = \"yes\"\n",
        "telemetry.usage.enabled",
        3,
        "\"yes\"",
        &["`true` or `false`"],
    );
}

#[test]
fn unknown_strategy() {
    assert_invalid(
        "[telemetry.tracing.sampling]\nstrategy = \"probabilty\"\n",
        "telemetry.tracing.sampling.strategy",
        2,
        "\"probabilty\"",
        &[
            "`always_on`, `always_off`, `probability`, `parent_based`",
            "did you mean `probability`?",
        ],
    );
}

#[test]
fn unknown_protocol() {
    // `http` is not an alias of `http/protobuf`.
    assert_invalid(
        "[telemetry.tracing.otlp]\nprotocol = \"http\"\n",
        "telemetry.tracing.otlp.protocol",
        2,
        "\"http\"",
        &["`grpc`, `http/protobuf`"],
    );
}

#[test]
fn unknown_compression() {
    assert_invalid(
        "[telemetry.tracing.otlp]\n\ncompression = \"zstd\"\n",
        "telemetry.tracing.otlp.compression",
        3,
        "\"zstd\"",
        &["`gzip`, `none`"],
    );
}

#[test]
fn unknown_exporter_type() {
    assert_invalid(
        "[[telemetry.tracing.exporters]]\ntype = \"stdout\"\n[[telemetry.tracing.exporters]]\ntype = \"zipkin\"\n",
        "telemetry.tracing.exporters[1].type",
        4,
        "\"zipkin\"",
        &["`stdout`, `file`, `otlp`, `jaeger`, `tempo`"],
    );
}

#[test]
fn probability_out_of_range() {
    for (given, line) in [("1.5", 2), ("-0.1", 2), ("2", 2)] {
        assert_invalid(
            &format!("[telemetry.tracing.sampling]\nprobability = {given}\n"),
            "telemetry.tracing.sampling.probability",
            line,
            given,
            &["a number from 0 to 1"],
        );
    }
    assert_invalid(
        "[telemetry.tracing.sampling]\nprobability = \"0.5\"\n",
        "telemetry.tracing.sampling.probability",
        2,
        "\"0.5\"",
        &["a number from 0 to 1"],
    );
}

#[test]
fn negative_or_zero_seconds() {
    let cases = [
        (
            "[telemetry.tracing.otlp.batch]\nscheduled_delay_seconds = -1\n",
            "telemetry.tracing.otlp.batch.scheduled_delay_seconds",
            "-1",
            "0 or more",
        ),
        (
            "[telemetry.tracing.otlp.batch]\nexport_timeout_seconds = -2.5\n",
            "telemetry.tracing.otlp.batch.export_timeout_seconds",
            "-2.5",
            "a positive number of seconds",
        ),
        (
            "[telemetry.tracing.otlp.batch]\nexport_timeout_seconds = 0\n",
            "telemetry.tracing.otlp.batch.export_timeout_seconds",
            "0",
            "a positive number of seconds",
        ),
        (
            "[telemetry.tracing.otlp]\ntimeout_seconds = -10\n",
            "telemetry.tracing.otlp.timeout_seconds",
            "-10",
            "a positive number of seconds",
        ),
        (
            "[telemetry.tracing.otlp]\ntimeout_seconds = \"10s\"\n",
            "telemetry.tracing.otlp.timeout_seconds",
            "\"10s\"",
            "a positive number of seconds",
        ),
        (
            "[telemetry.tracing.otlp]\ntimeout_seconds = nan\n",
            "telemetry.tracing.otlp.timeout_seconds",
            "nan",
            "a positive number of seconds",
        ),
        (
            "[telemetry.tracing.sampling]\nalways_sample_slow_seconds = -5.0\n",
            "telemetry.tracing.sampling.always_sample_slow_seconds",
            "-5.0",
            "0 or more",
        ),
    ];
    for (toml, key, value, accepted) in cases {
        assert_invalid(toml, key, 2, value, &[accepted]);
    }
}

#[test]
fn zero_and_non_integer_sizes() {
    for key in ["max_queue_size", "max_export_batch_size"] {
        for given in ["0", "-1", "512.0", "\"512\""] {
            assert_invalid(
                &format!("[telemetry.tracing.otlp.batch]\n{key} = {given}\n"),
                &format!("telemetry.tracing.otlp.batch.{key}"),
                2,
                given,
                &["a positive integer"],
            );
        }
    }
}

#[test]
fn batch_larger_than_queue() {
    assert_invalid(
        "[telemetry.tracing.otlp.batch]\nmax_queue_size = 100\nmax_export_batch_size = 512\n",
        "telemetry.tracing.otlp.batch.max_export_batch_size",
        3,
        "512",
        &[
            "no larger than the queue size, 100",
            "`telemetry.tracing.otlp.batch.max_queue_size` at <string>:2",
        ],
    );
}

#[test]
fn file_exporter_without_path() {
    let (err, msg) = error("[[telemetry.tracing.exporters]]\ntype = \"file\"\n");
    match &err {
        ConfigError::Missing {
            line,
            key,
            expected,
            ..
        } => {
            assert_eq!(*line, Some(1));
            assert_eq!(key, "telemetry.tracing.exporters[0].path");
            assert!(expected.contains("path = \"traces.jsonl\""), "{expected}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(msg.contains("<string>:1"), "{msg}");
    assert!(
        msg.contains("`telemetry.tracing.exporters[0].path` is missing"),
        "{msg}"
    );
    assert!(msg.contains("`type = \"file\"`"), "{msg}");
}

#[test]
fn exporter_without_type() {
    let (err, msg) = error("[[telemetry.tracing.exporters]]\npath = \"t.jsonl\"\n");
    assert!(
        matches!(&err, ConfigError::Missing { key, line: Some(1), .. } if key == "telemetry.tracing.exporters[0].type"),
        "{err:?}"
    );
    assert!(msg.contains("`stdout`, `file`, `otlp`"), "{msg}");
}

#[test]
fn path_on_a_non_file_exporter() {
    assert_invalid(
        "[[telemetry.tracing.exporters]]\ntype = \"stdout\"\npath = \"t.jsonl\"\n",
        "telemetry.tracing.exporters[0].path",
        3,
        "\"t.jsonl\"",
        &["only `type = \"file\"` takes one"],
    );
}

#[test]
fn exporters_must_be_a_list_of_tables() {
    assert_invalid(
        "[telemetry.tracing]\nexporters = \"stdout\"\n",
        "telemetry.tracing.exporters",
        2,
        "\"stdout\"",
        &["`[[telemetry.tracing.exporters]]`"],
    );
    assert_invalid(
        "[telemetry.tracing]\nexporters = [\"stdout\"]\n",
        "telemetry.tracing.exporters[0]",
        2,
        "\"stdout\"",
        &["`[[telemetry.tracing.exporters]]`"],
    );
    // Inline tables are tables too.
    Config::from_toml_str("[telemetry.tracing]\nexporters = [{ type = \"stdout\" }]\n").unwrap();
}

#[test]
fn wrong_types() {
    let cases = [
        (
            "[telemetry]\nenabled = \"yes\"\n",
            "telemetry.enabled",
            "\"yes\"",
            "`true` or `false`",
        ),
        (
            "[telemetry.tracing]\nenabled = 1\n",
            "telemetry.tracing.enabled",
            "1",
            "`true` or `false`",
        ),
        (
            "[telemetry]\nservice_name = 5\n",
            "telemetry.service_name",
            "5",
            "a non-empty string",
        ),
        (
            "[telemetry]\nservice_name = \"\"\n",
            "telemetry.service_name",
            "\"\"",
            "a non-empty string",
        ),
        (
            "[telemetry]\nservice_version = 1.2\n",
            "telemetry.service_version",
            "1.2",
            "a non-empty string",
        ),
        (
            "[telemetry.resource]\n\"deployment.environment\" = 1\n",
            "telemetry.resource.\"deployment.environment\"",
            "1",
            "a string",
        ),
        (
            "[telemetry]\nresource = \"x\"\n",
            "telemetry.resource",
            "\"x\"",
            "a table",
        ),
        (
            "[telemetry]\ntracing = true\n",
            "telemetry.tracing",
            "true",
            "a table",
        ),
        ("telemetry = [1, 2]\n", "telemetry", "an array", "a table"),
        (
            "[telemetry.tracing]\notlp = 1\n",
            "telemetry.tracing.otlp",
            "1",
            "a table",
        ),
        (
            "[telemetry.tracing.otlp]\nendpoint = 4317\n",
            "telemetry.tracing.otlp.endpoint",
            "4317",
            "`http://` or `https://` URL",
        ),
        (
            "[telemetry.tracing.otlp]\nendpoint = \"localhost:4317\"\n",
            "telemetry.tracing.otlp.endpoint",
            "\"localhost:4317\"",
            "`http://` or `https://` URL",
        ),
        (
            "[telemetry.tracing.otlp]\nprotocol = 1\n",
            "telemetry.tracing.otlp.protocol",
            "1",
            "`grpc`, `http/protobuf`",
        ),
        (
            "[telemetry.tracing.sampling]\nalways_sample_errors = \"true\"\n",
            "telemetry.tracing.sampling.always_sample_errors",
            "\"true\"",
            "`true` or `false`",
        ),
        (
            "[telemetry.tracing.sampling]\nmax_traces_per_second = 0\n",
            "telemetry.tracing.sampling.max_traces_per_second",
            "0",
            "a number of traces per second from 0.001 to 1000000",
        ),
        (
            "[telemetry.tracing.sampling]\nmax_traces_per_second = -3.5\n",
            "telemetry.tracing.sampling.max_traces_per_second",
            "-3.5",
            "a number of traces per second from 0.001 to 1000000",
        ),
        (
            "[telemetry.tracing.sampling]\nstrategy = true\n",
            "telemetry.tracing.sampling.strategy",
            "true",
            "`always_on`, `always_off`, `probability`, `parent_based`",
        ),
        (
            "[[telemetry.tracing.exporters]]\ntype = \"file\"\npath = \"\"\n",
            "telemetry.tracing.exporters[0].path",
            "\"\"",
            "a non-empty path",
        ),
    ];
    for (toml, key, value, accepted) in cases {
        let line = if toml.starts_with("telemetry =") {
            1
        } else {
            toml.lines().count()
        };
        assert_invalid(toml, key, line, value, &[accepted]);
    }
}

#[test]
fn header_errors_hide_values() {
    let cases = [
        ("\"x-api-key\" = 12345\n", "a string"),
        (
            "\"x-api-key\" = \"Bearer ${TOKEN\"\n",
            "is not closed by `}`",
        ),
        (
            "\"x-api-key\" = \"${1TOKEN}\"\n",
            "`${1TOKEN}` does not name a variable",
        ),
    ];
    for (entry, accepted) in cases {
        let toml = format!("[telemetry.tracing.otlp.headers]\n{entry}");
        assert_invalid(
            &toml,
            "telemetry.tracing.otlp.headers.x-api-key",
            2,
            "\"***\"",
            &[accepted],
        );
        let msg = error(&toml).1;
        assert!(!msg.contains("12345") && !msg.contains("Bearer"), "{msg}");
    }
    assert_invalid(
        "[telemetry.tracing.otlp.headers]\n\"bad header\" = \"v\"\n",
        "telemetry.tracing.otlp.headers.\"bad header\"",
        2,
        "\"bad header\"",
        &["a header name"],
    );
}

#[test]
fn header_templates_parse() {
    Config::from_toml_str(
        "[telemetry.tracing.otlp.headers]\nauthorization = \"Bearer ${TOKEN}\"\nliteral = \"$${NOT_A_VAR} and $5\"\n",
    )
    .unwrap();
}

#[test]
fn from_file_names_the_path() {
    let path = std::env::temp_dir().join(format!("zdk-trace-it-{}.toml", std::process::id()));
    std::fs::write(&path, "[telemetry.tracing.sampling]\nstrategy = \"most\"\n").unwrap();
    let err = Config::from_file(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    match &err {
        ConfigError::Invalid {
            source_name, line, ..
        } => {
            assert_eq!(source_name, &path.display().to_string());
            assert_eq!(*line, Some(2));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:", path.display())),
        "{err}"
    );

    let missing = Config::from_file("/definitely/not/here/zdk-trace.toml").unwrap_err();
    assert!(
        matches!(&missing, ConfigError::Io { path, named_by: None, .. } if path.ends_with("zdk-trace.toml")),
        "{missing:?}"
    );
    assert!(
        missing
            .to_string()
            .contains("/definitely/not/here/zdk-trace.toml"),
        "{missing}"
    );
}

// ----- environment -----

#[test]
fn env_variables_parse() {
    Config::from_env_vars([
        ("OTEL_SDK_DISABLED", "false"),
        ("OTEL_SERVICE_NAME", "svc"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=prod,team=a%20b",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://collector:4318/v1/traces",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "c=3"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10000"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "5000"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ("OTEL_BSP_SCHEDULE_DELAY", "0"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "30000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "2048"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"),
    ])
    .unwrap();
}

#[test]
fn empty_env_values_are_unset() {
    let layer = Config::from_env_vars([
        ("OTEL_TRACES_SAMPLER", ""),
        ("OTEL_BSP_MAX_QUEUE_SIZE", ""),
        ("UNRELATED", "x"),
    ])
    .unwrap();
    assert_eq!(layer, Config::default());
}

#[track_caller]
fn assert_env_error(var: &str, value: &str, accepted: &str, given: &str) {
    let err = Config::from_env_vars([(var, given)]).expect_err("expected an error");
    let msg = err.to_string();
    match &err {
        ConfigError::Env {
            var: v,
            value: given,
            expected,
            ..
        } => {
            assert_eq!(v, var, "{msg}");
            assert!(given.contains(value), "{given:?} does not show {value:?}");
            assert!(
                expected.contains(accepted),
                "{accepted:?} not in {expected:?}"
            );
        }
        other => panic!("expected Env for {var}={value}, got {other:?}"),
    }
    assert!(msg.contains(var), "{msg}");
    assert!(msg.contains(value), "{msg}");
    assert!(msg.contains(accepted), "{msg}");
}

#[test]
fn bad_env_values_name_the_variable() {
    let cases = [
        ("OTEL_SDK_DISABLED", "yes", "`true` or `false`"),
        ("OTEL_RESOURCE_ATTRIBUTES", "novalue", "`key=value` pairs"),
        ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz", "`key=value` pairs"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "`http://` or `https://` URL"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "grpc://x", "`http://` or `https://` URL"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "use `http/protobuf`"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", "not supported"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grcp", "`grpc`, `http/protobuf`; did you mean `grpc`?"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "milliseconds"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0", "a positive whole number of milliseconds"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "`gzip`, `none`"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP", "`gzip`, `none`"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidration", "did you mean `parentbased_traceidratio`?"),
        ("OTEL_TRACES_SAMPLER", "jaeger_remote", "`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5", "a number from 0 to 1"),
        ("OTEL_TRACES_SAMPLER_ARG", "half", "a number from 0 to 1"),
        ("OTEL_BSP_SCHEDULE_DELAY", "-1", "0 or more"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "0", "a positive whole number of milliseconds"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0", "a positive integer"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "lots", "a positive integer"),
    ];
    for (var, value, accepted) in cases {
        assert_env_error(var, value, accepted, value);
    }
}

#[test]
fn bad_header_variables_hide_values() {
    for var in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ] {
        for value in ["x-api-key=s3cr3t%zz", "s3cr3t", "=s3cr3t"] {
            let err = Config::from_env_vars([(var, value)]).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(&err, ConfigError::Env { var: v, .. } if v == var),
                "{err:?}"
            );
            assert!(!msg.contains("s3cr3t"), "{msg}");
            assert!(msg.contains("`key=value` pairs"), "{msg}");
        }
        let err = Config::from_env_vars([(var, "ok=1,x-api-key=s3cr3t%zz")]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("ok=***,x-api-key=***"), "{msg}");
        assert!(
            msg.contains("the value of `x-api-key` has a bad `%` escape"),
            "{msg}"
        );
    }
}

#[test]
fn generic_variable_is_checked_even_when_overridden() {
    let err = Config::from_env_vars([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "nope"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://ok:4318/v1/traces",
        ),
    ])
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Env { var, .. } if var == "OTEL_EXPORTER_OTLP_ENDPOINT"),
        "{err:?}"
    );
}

/// The README documents every `zdk-trace.toml` key in one block: it must stay a valid file.
#[test]
fn readme_config_block_is_a_valid_file() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("### `zdk-trace.toml`")
        .nth(1)
        .expect("README has a `zdk-trace.toml` section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a toml block");
    // The example header uses `${OTLP_TOKEN}`, expanded at install, not at parse time.
    if let Err(error) = Config::from_toml_str(block) {
        panic!("README's zdk-trace.toml block does not parse: {error}");
    }
    assert!(block.contains("[telemetry.genai]") && block.contains("[telemetry.usage]"));
}

// ----- issue 13: every numeric setting has a range, every string a rule -----

/// Out-of-range values of issue 13, in a file: each an error naming the key, its line, the
/// value and the range.
#[test]
fn repro_13_out_of_range_values_in_a_file() {
    let batch = "[telemetry.tracing.otlp.batch]\n";
    let otlp = "[telemetry.tracing.otlp]\n";
    let sampling = "[telemetry.tracing.sampling]\n";
    let cases: &[(String, &str, &str, &str)] = &[
        (
            format!("{batch}max_queue_size = 9223372036854775807\n"),
            "telemetry.tracing.otlp.batch.max_queue_size",
            "9223372036854775807",
            "no larger than 1048576",
        ),
        (
            format!("{batch}max_queue_size = 1048577\n"),
            "telemetry.tracing.otlp.batch.max_queue_size",
            "1048577",
            "no larger than 1048576",
        ),
        (
            format!("{batch}max_export_batch_size = 65537\n"),
            "telemetry.tracing.otlp.batch.max_export_batch_size",
            "65537",
            "no larger than 65536",
        ),
        (
            format!("{batch}export_timeout_seconds = 0.0000001\n"),
            "telemetry.tracing.otlp.batch.export_timeout_seconds",
            "0.0000001",
            "from 0.001 (1 ms) to 3600 (1 h)",
        ),
        (
            format!("{batch}export_timeout_seconds = 3601\n"),
            "telemetry.tracing.otlp.batch.export_timeout_seconds",
            "3601",
            "from 0.001 (1 ms) to 3600 (1 h)",
        ),
        (
            format!("{batch}scheduled_delay_seconds = 9.2e18\n"),
            "telemetry.tracing.otlp.batch.scheduled_delay_seconds",
            "9.2e18",
            "at most 3600 (1 h)",
        ),
        (
            format!("{otlp}timeout_seconds = 0.0000001\n"),
            "telemetry.tracing.otlp.timeout_seconds",
            "0.0000001",
            "from 0.001 (1 ms) to 3600 (1 h)",
        ),
        (
            format!("{otlp}timeout_seconds = 1e10\n"),
            "telemetry.tracing.otlp.timeout_seconds",
            "1e10",
            "from 0.001 (1 ms) to 3600 (1 h)",
        ),
        (
            format!("{otlp}endpoint = \"http://collector:99999\"\n"),
            "telemetry.tracing.otlp.endpoint",
            "\"http://collector:99999\"",
            "a port from 1 to 65535",
        ),
        (
            format!("{otlp}endpoint = \"http://collector\\u0007:4318\"\n"),
            "telemetry.tracing.otlp.endpoint",
            "\"http://collector\\u{7}:4318\"",
            "without spaces or control characters",
        ),
        (
            format!("{sampling}max_traces_per_second = 1e-320\n"),
            "telemetry.tracing.sampling.max_traces_per_second",
            "1e-320",
            "from 0.001 to 1000000",
        ),
        (
            format!("{sampling}max_traces_per_second = 1e7\n"),
            "telemetry.tracing.sampling.max_traces_per_second",
            "1e7",
            "from 0.001 to 1000000",
        ),
        (
            format!("{sampling}max_traces_per_second = inf\n"),
            "telemetry.tracing.sampling.max_traces_per_second",
            "inf",
            "from 0.001 to 1000000",
        ),
        (
            format!("{sampling}always_sample_slow_seconds = 9.2e18\n"),
            "telemetry.tracing.sampling.always_sample_slow_seconds",
            "9.2e18",
            "at most 86400 (1 day)",
        ),
        (
            "[telemetry.usage]\ncircuit_cooldown_seconds = 9.2e18\n".to_owned(),
            "telemetry.usage.circuit_cooldown_seconds",
            "9.2e18",
            "at most 3600 (1 h)",
        ),
        (
            "[telemetry.usage]\nendpoint = \"http://usage:0\"\n".to_owned(),
            "telemetry.usage.endpoint",
            "\"http://usage:0\"",
            "an `http://` URL",
        ),
        (
            "[telemetry]\nservice_name = \"\\u0000\"\n".to_owned(),
            "telemetry.service_name",
            "\"\\0\"",
            "character 1 is the control character U+0000",
        ),
        (
            "[telemetry]\nservice_name = \"agent\\n\"\n".to_owned(),
            "telemetry.service_name",
            "\"agent\\n\"",
            "character 6 is the control character U+000A",
        ),
        (
            "[telemetry]\nservice_version = \"\\u001b[31m1.0\"\n".to_owned(),
            "telemetry.service_version",
            "\"\\u{1b}[31m1.0\"",
            "the control character U+001B",
        ),
        (
            "[telemetry.resource]\nteam = \"a\\u0000b\"\n".to_owned(),
            "telemetry.resource.team",
            "\"a\\0b\"",
            "without control characters",
        ),
        (
            "[telemetry.resource]\n\"te\\tam\" = \"a\"\n".to_owned(),
            "telemetry.resource.\"te\\tam\"",
            "\"te\\tam\"",
            "a non-empty attribute name",
        ),
        (
            "[telemetry.resource]\n\"service.name\" = \"\"\n".to_owned(),
            "telemetry.resource.\"service.name\"",
            "\"\"",
            "a non-empty string of at most 255 characters",
        ),
        (
            "[[telemetry.tracing.exporters]]\ntype = \"file\"\npath = \"t\\u0000.jsonl\"\n"
                .to_owned(),
            "telemetry.tracing.exporters[0].path",
            "\"t\\0.jsonl\"",
            "a non-empty path",
        ),
    ];
    for (toml, key, value, accepted) in cases {
        assert_invalid(toml, key, toml.lines().count(), value, &[accepted]);
    }
    let long = "a".repeat(256);
    assert_invalid(
        &format!("[telemetry]\nservice_name = \"{long}\"\n"),
        "telemetry.service_name",
        2,
        &format!("{long:?}"),
        &["at most 255 characters", "it is 256 characters long"],
    );
    let long = "a".repeat(4097);
    assert_invalid(
        &format!("[telemetry.resource]\nteam = \"{long}\"\n"),
        "telemetry.resource.team",
        2,
        &format!("{long:?}"),
        &["at most 4096 characters", "it is 4097 characters long"],
    );
}

/// Header values are secrets: the rule is applied, the value never shown.
#[test]
fn repro_13_header_values_without_control_characters() {
    let (err, msg) = error("[telemetry.tracing.otlp.headers]\nx-api-key = \"s3cr3t\\n\"\n");
    assert!(
        matches!(&err, ConfigError::Invalid { key, .. } if key == "telemetry.tracing.otlp.headers.x-api-key"),
        "{msg}"
    );
    assert!(!msg.contains("s3cr3t"), "{msg}");
    assert!(
        msg.contains("character 7 is the control character U+000A"),
        "{msg}"
    );
}

/// The bounds themselves are accepted, in a file and in variables.
#[test]
fn repro_13_the_bounds_are_accepted() {
    Config::from_toml_str(&format!(
        "[telemetry]\nservice_name = \"{}\"\n\
         [telemetry.resource]\nteam = \"\"\n\
         [telemetry.tracing.otlp]\nendpoint = \"http://[::1]:65535\"\ntimeout_seconds = 0.001\n\
         [telemetry.tracing.otlp.batch]\nmax_queue_size = 1048576\nmax_export_batch_size = 65536\n\
         scheduled_delay_seconds = 3600\nexport_timeout_seconds = 3600\n\
         [telemetry.tracing.sampling]\nmax_traces_per_second = 0.001\nalways_sample_slow_seconds = 86400\n\
         [telemetry.usage]\ncircuit_cooldown_seconds = 0\n",
        "é".repeat(255)
    ))
    .unwrap();
    Config::from_env_vars([
        ("OTEL_BSP_MAX_QUEUE_SIZE", "1048576"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "65536"),
        ("OTEL_BSP_SCHEDULE_DELAY", "3600000"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "1"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "3600000"),
        ("OTEL_RESOURCE_ATTRIBUTES", "empty=,team=a%20b"),
    ])
    .unwrap();
}

/// The same values of issue 13, in variables: each an error naming the variable.
#[test]
fn repro_13_out_of_range_values_in_variables() {
    let cases = [
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "9223372036854775807",
            "no larger than 1048576",
        ),
        (
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "65537",
            "no larger than 65536",
        ),
        (
            "OTEL_BSP_EXPORT_TIMEOUT",
            "3600001",
            "at most 3600000 (1 h)",
        ),
        (
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "9223372036854775807",
            "at most 3600000 (1 h)",
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "18446744073709551616",
            "at most 3600000 (1 h)",
        ),
        (
            "OTEL_BSP_SCHEDULE_DELAY",
            "9223372036854775807",
            "at most 3600000 (1 h)",
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://collector:65536",
            "a port from 1 to 65535",
        ),
        ("OTEL_TRACES_SAMPLER_ARG", "NaN", "a number from 0 to 1"),
        (
            "OTEL_SERVICE_NAME",
            "agent\u{0}",
            "character 6 is the control character U+0000",
        ),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "team=a%00b",
            "the value of `team`: character 2 is the control character U+0000",
        ),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=",
            "the value of `service.name`: it is empty",
        ),
    ];
    for (var, value, accepted) in cases {
        let shown = value.replace('\u{0}', "\\u{0}");
        assert_env_error(var, &shown, accepted, value);
    }
    assert_env_error(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "x%20api=***",
        "the name `x api` is not a header name",
        "x%20api=1",
    );
    // A header value is a secret: the rule holds, the value is never shown.
    let err = Config::from_env_vars([("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t%0A")])
        .unwrap_err()
        .to_string();
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(err.contains("x-api-key=***"), "{err}");
    assert!(
        err.contains("the value of `x-api-key`: character 7 is the control character U+000A"),
        "{err}"
    );
}

// ----- profiling -----

/// `[telemetry.profiling*]` as the design's complete configuration writes it: accepted, and
/// `zdk-trace status` (the config report) shows every setting with where it came from.
#[test]
fn profiling_sections_in_the_report() {
    let file = Config::from_toml_str(
        r#"[telemetry]
service_name = "my-agent"
[telemetry.profiling]
enabled = true
[telemetry.profiling.cpu]
enabled = true
frequency = 100
continuous = true
duration_seconds = 30
[telemetry.profiling.memory]
enabled = true
track_allocations = false
sampling_rate = 100
heap_profiling = false
[telemetry.profiling.exporter]
type = "pyroscope"
pyroscope_endpoint = "http://localhost:4040"
"#,
    )
    .unwrap();
    let report = zdk_trace_runtime::Telemetry::builder()
        .config(file)
        .env_vars([
            ("PYROSCOPE_APPLICATION_NAME", "from-env"),
            ("HOME", "/nonexistent"),
        ])
        .config_report()
        .unwrap();
    let shown = |key: &str| {
        let e = report
            .entry(key)
            .unwrap_or_else(|| panic!("no entry {key}"));
        (e.value.clone(), e.source.to_string())
    };
    let file = |value: &str, line: usize| (value.to_owned(), format!("file <string>:{line}"));
    assert_eq!(shown("telemetry.profiling.enabled"), file("true", 4));
    assert_eq!(
        shown("telemetry.profiling.span_resources"),
        ("false".to_owned(), "default".to_owned())
    );
    assert_eq!(shown("telemetry.profiling.cpu.frequency"), file("100", 7));
    assert_eq!(
        shown("telemetry.profiling.cpu.duration_seconds"),
        file("30s", 9)
    );
    assert_eq!(
        shown("telemetry.profiling.memory.sampling_rate"),
        file("100", 13)
    );
    assert_eq!(
        shown("telemetry.profiling.exporter.type"),
        file("pyroscope", 16)
    );
    assert_eq!(
        shown("telemetry.profiling.exporter.application_name"),
        (
            "from-env".to_owned(),
            "env `PYROSCOPE_APPLICATION_NAME`".to_owned()
        )
    );
    assert_eq!(
        shown("telemetry.profiling.exporter.file_output_dir"),
        ("./profiles".to_owned(), "default".to_owned())
    );
}

/// `type = "gcp"` is read (the design's schema names it) and refused when resolved, naming the
/// key and what to use instead.
#[test]
fn gcp_profile_exporter_is_refused() {
    let file = Config::from_toml_str(
        "[telemetry.profiling.exporter]\ntype = \"gcp\"\ngcp_project_id = \"my-project\"\n",
    )
    .unwrap();
    let err = zdk_trace_runtime::Telemetry::builder()
        .config(file)
        .env_vars([("HOME", "/nonexistent")])
        .config_report()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("<string>:2: invalid value \"gcp\" for `telemetry.profiling.exporter.type`"),
        "{err}"
    );
    assert!(
        err.contains("GCP Cloud Profiler is not supported yet"),
        "{err}"
    );
    assert!(
        err.contains("`file`") && err.contains("`pyroscope`"),
        "{err}"
    );
    assert_invalid(
        "[telemetry.profiling.cpu]\nfrequency = 5000\n",
        "telemetry.profiling.cpu.frequency",
        2,
        "5000",
        &["from 1 to 1000"],
    );
}
