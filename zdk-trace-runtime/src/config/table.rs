//! Every setting, defined once: its key in `zdk-trace.toml`, its environment variables, its
//! kind (parser, range check, accepted values), its default and how `zdk-trace status` shows
//! it. The file reader, the environment reader, the resolver, the report and the `with_*`
//! setters all read [`SETTINGS`].
//!
//! **Adding a setting** is one entry in the `settings!` list below: its `static` [`Setting`]
//! (its place in the list is its place in the file's tables and in error messages). With
//! `field: None` the layer keeps it by key ([`Keyed`](super::values::Keyed)): no other file
//! changes. The part of the pipeline that uses it reads it with [`Setting::resolved`]; a code
//! setter, if one is wanted, is one line calling [`Setting::code`]. The settings that predate
//! the table keep a field of [`Config`] (`field: Some(..)`), which their tests read. A setting
//! names its kind from [`kinds`](super::kinds) (add a kind there for a new type of value); a
//! structured value's readers live in [`structured`](super::structured).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::endpoint::metrics_url;
#[cfg(feature = "config-file")]
use super::endpoint::{is_valid_url, EXPECTED_URL};
use super::entry::{entry, source_of, ConfigEntry, ConfigSource, MASKED};
use super::env_value::{
    parse_bool, parse_pairs, set, OTEL_ATTRIBUTE_COUNT_LIMIT, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_SCHEDULE_DELAY, OTEL_EXPORTER_OTLP_COMPRESSION, OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
    OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, OTEL_METRICS_EXPORTER,
    OTEL_METRIC_EXPORT_INTERVAL, OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED, OTEL_SERVICE_NAME,
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_SPAN_LINK_COUNT_LIMIT, OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG, PYROSCOPE_APPLICATION_NAME, PYROSCOPE_SERVER_ADDRESS,
    ZDK_TRACE_PROFILING_CPU_ENABLED, ZDK_TRACE_PROFILING_CPU_FREQUENCY,
    ZDK_TRACE_PROFILING_ENABLED, ZDK_TRACE_PROFILING_SPAN_RESOURCES,
};
use super::error::ConfigError;
use super::kinds::{
    header_problem, metrics_exporters_text, model_key, model_price_problem, price_text,
    sampler_text, BATCH_SIZE, BOOL, CAPTURE_KIND, CARDINALITY, COMPRESSION, DELAY, DIRECTORY_KIND,
    FAILURES, FREQUENCY, IP_ADDRESS, METRICS_EXPORTER_LIST, METRICS_URL, NAME_KIND, PORT,
    PROBABILITY_KIND, PROFILE_EXPORTER_KIND, PROFILE_WINDOW, PROTOCOL, PYROSCOPE_URL, QUEUE_SIZE,
    RATE, REQUEST_BYTES, RETRY_BYTES, SAMPLING_RATE, SCRAPE_PATH, SLOW_THRESHOLD_KIND, SPAN_COUNT,
    STRATEGY_KIND, TEMPORALITY_KIND, TIMEOUT, USAGE_URL, VALUE_LENGTH,
};
#[cfg(feature = "config-file")]
use super::setting::LayerCheck;
use super::setting::{Custom, Describe, EnvOnly, Field, Report, ReportInput, Setting};
use super::settings::{
    ExporterSettings, OtlpProtocol, ProfileExporterKind, ProfilingSettings, Secret, Settings,
    EXPORT_TIMEOUT_DEFAULT, MAX_EXPORT_BATCH_SIZE_DEFAULT, MAX_QUEUE_SIZE_DEFAULT,
    MAX_REQUEST_BYTES_DEFAULT, METRICS_CARDINALITY_LIMIT_DEFAULT, METRICS_EXPORT_INTERVAL_DEFAULT,
    METRICS_OTLP_PROTOCOL_DEFAULT, OTLP_PROTOCOL_DEFAULT, OTLP_TIMEOUT_DEFAULT,
    PROFILES_DIR_DEFAULT, PROFILING_CPU_FREQUENCY_DEFAULT, PROFILING_CPU_WINDOW_DEFAULT,
    PROFILING_SAMPLING_RATE_DEFAULT, PROMETHEUS_ADDRESS_DEFAULT, PROMETHEUS_PATH_DEFAULT,
    PROMETHEUS_PORT_DEFAULT, PYROSCOPE_ENDPOINT_DEFAULT, RETRY_BUFFER_BYTES_DEFAULT,
    RETRY_FAILURES_TO_OPEN_DEFAULT, RETRY_MAX_AGE_DEFAULT, RETRY_PROBE_INTERVAL_DEFAULT,
    SCHEDULED_DELAY_DEFAULT, SERVICE_NAME_DEFAULT,
};
use super::structured::{endpoint_from_env, resource_from_env};
#[cfg(feature = "config-file")]
use super::structured::{
    exporters_from_file, headers_from_file, prices_from_file, resource_from_file,
};
use super::values::{
    Config, Endpoint, ExporterChoice, MetricsExporters, ModelPrice, Origin, ProfileExporterType,
    Set, Strategy, Temporality,
};
use crate::genai::CaptureMode;
use crate::hot::{COUNT_DEFAULT, VALUE_LENGTH_DEFAULT};

/// Every variable [`Config::from_env`](super::Config::from_env) reads.
pub(crate) fn env_vars() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().flat_map(|s| s.env_vars().iter().copied())
}

/// The setting whose key is `key`, if any (else `key` may name a table).
#[cfg(feature = "config-file")]
pub(crate) fn find(key: &str) -> Option<&'static dyn Describe> {
    SETTINGS.iter().copied().find(|s| s.key() == key)
}

/// Defines each setting as a `static` and lists them all, in the order written, in
/// [`SETTINGS`].
macro_rules! settings {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $definition:expr;)*) => {
        $($(#[$doc])* pub(crate) static $name: $ty = $definition;)*

        /// Every setting, in the order of the file's tables: the keys each table accepts (and
        /// lists in an error) come from here.
        pub(crate) static SETTINGS: &[&dyn Describe] = &[$(&$name),*];
    };
}

settings! {
    // ----- [telemetry] -----

    /// `telemetry.enabled`; `OTEL_SDK_DISABLED=true` turns it off (`false` changes nothing: it
    /// does not re-enable what a file or code turned off).
    ENABLED: Setting<bool> = Setting {
        key: "telemetry.enabled",
        env: &[OTEL_SDK_DISABLED],
        setter: "with_enabled",
        kind: &BOOL,
        default: || Some(true),
        field: Some(Field {
            get: |c| &c.enabled,
            get_mut: |c| &mut c.enabled,
        }),
        read_env: Some(|vars, c| {
            if let Some(v) = vars.get(OTEL_SDK_DISABLED) {
                if parse_bool(OTEL_SDK_DISABLED, v)? {
                    c.enabled = set(OTEL_SDK_DISABLED, false);
                }
            }
            Ok(())
        }),
        report: Report::Custom {
            rank: 10,
            entries: enabled_entry,
        },
    };

    /// `telemetry.logging`: `tracing` and `log` records become events of the current span
    /// (the `tracing` bridge as the global subscriber; feature `tracing`).
    LOGGING: Setting<bool> = Setting {
        key: "telemetry.logging",
        env: &[],
        setter: "with_logging",
        kind: &BOOL,
        default: || Some(false),
        field: Some(Field {
            get: |c| &c.logging,
            get_mut: |c| &mut c.logging,
        }),
        read_env: None,
        report: Report::Resolved {
            rank: 15,
            show: logging_text,
        },
    };

    /// `telemetry.service_name`, `OTEL_SERVICE_NAME`; else a `service.name` resource attribute.
    SERVICE_NAME: Setting<String> = Setting {
        key: "telemetry.service_name",
        env: &[OTEL_SERVICE_NAME],
        setter: "with_service_name",
        kind: &NAME_KIND,
        default: || Some(SERVICE_NAME_DEFAULT.to_owned()),
        field: Some(Field {
            get: |c| &c.service_name,
            get_mut: |c| &mut c.service_name,
        }),
        read_env: None,
        report: Report::Custom {
            rank: 20,
            entries: service_name_entry,
        },
    };

    SERVICE_VERSION: Setting<String> = Setting {
        key: "telemetry.service_version",
        env: &[],
        setter: "with_service_version",
        kind: &NAME_KIND,
        default: || None,
        field: Some(Field {
            get: |c| &c.service_version,
            get_mut: |c| &mut c.service_version,
        }),
        read_env: None,
        report: Report::Value {
            rank: 30,
            unset: "(none)",
        },
    };

    /// `[telemetry.resource]`, `OTEL_RESOURCE_ATTRIBUTES`: merged key by key.
    RESOURCE: Custom = Custom {
        key: "telemetry.resource",
        env: &[OTEL_RESOURCE_ATTRIBUTES],
        #[cfg(feature = "config-file")]
        read_file: resource_from_file,
        read_env: resource_from_env,
        report: Report::Custom {
            rank: 40,
            entries: resource_entries,
        },
    };

    // ----- [telemetry.tracing] -----

    /// `telemetry.tracing.enabled`: shown with `telemetry.enabled`.
    TRACING_ENABLED: Setting<bool> = Setting {
        key: "telemetry.tracing.enabled",
        env: &[],
        setter: "with_enabled",
        kind: &BOOL,
        default: || Some(true),
        field: Some(Field {
            get: |c| &c.tracing_enabled,
            get_mut: |c| &mut c.tracing_enabled,
        }),
        read_env: None,
        report: Report::Hidden,
    };

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL (HTTP appends `/v1/traces`);
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as-is and wins.
    OTLP_ENDPOINT: Custom = Custom {
        key: "telemetry.tracing.otlp.endpoint",
        env: &[
            OTEL_EXPORTER_OTLP_ENDPOINT,
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
        ],
        #[cfg(feature = "config-file")]
        read_file: |doc, c, key, item| {
            let url = doc.string(key, item, EXPECTED_URL)?;
            if !is_valid_url(url) {
                return Err(doc.invalid(key, item, EXPECTED_URL));
            }
            c.otlp.endpoint = doc.set(key, item, Endpoint::Url(url.to_owned()));
            Ok(())
        },
        read_env: endpoint_from_env,
        report: Report::Custom {
            rank: 150,
            entries: |input, out| {
                out.push(entry(
                    OTLP_ENDPOINT.key,
                    input.otlp.endpoint.clone(),
                    source_of(last(input.layers, |c| &c.otlp.endpoint)),
                ));
            },
        },
    };

    OTLP_PROTOCOL: Setting<OtlpProtocol> = Setting {
        key: "telemetry.tracing.otlp.protocol",
        env: &[
            OTEL_EXPORTER_OTLP_PROTOCOL,
            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
        ],
        setter: "with_otlp_protocol",
        kind: &PROTOCOL,
        default: || Some(OTLP_PROTOCOL_DEFAULT),
        field: Some(Field {
            get: |c| &c.otlp.protocol,
            get_mut: |c| &mut c.otlp.protocol,
        }),
        read_env: None,
        report: Report::Value {
            rank: 160,
            unset: "",
        },
    };

    OTLP_TIMEOUT: Setting<Duration> = Setting {
        key: "telemetry.tracing.otlp.timeout_seconds",
        env: &[
            OTEL_EXPORTER_OTLP_TIMEOUT,
            OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
        ],
        setter: "with_otlp_timeout",
        kind: &TIMEOUT,
        default: || Some(OTLP_TIMEOUT_DEFAULT),
        field: Some(Field {
            get: |c| &c.otlp.timeout,
            get_mut: |c| &mut c.otlp.timeout,
        }),
        read_env: None,
        report: Report::Value {
            rank: 180,
            unset: "",
        },
    };

    /// `gzip` (`true`) or `none`.
    OTLP_COMPRESSION: Setting<bool> = Setting {
        key: "telemetry.tracing.otlp.compression",
        env: &[
            OTEL_EXPORTER_OTLP_COMPRESSION,
            OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
        ],
        setter: "with_otlp_compression",
        kind: &COMPRESSION,
        default: || Some(false),
        field: Some(Field {
            get: |c| &c.otlp.gzip,
            get_mut: |c| &mut c.otlp.gzip,
        }),
        read_env: None,
        report: Report::Value {
            rank: 190,
            unset: "",
        },
    };

    /// Header values are secrets; a file's may hold `${VAR}`, expanded when layers are merged.
    OTLP_HEADERS: Custom = Custom {
        key: "telemetry.tracing.otlp.headers",
        env: &[
            OTEL_EXPORTER_OTLP_HEADERS,
            OTEL_EXPORTER_OTLP_TRACES_HEADERS,
        ],
        #[cfg(feature = "config-file")]
        read_file: headers_from_file,
        read_env: |vars, c| {
            for var in [
                OTEL_EXPORTER_OTLP_HEADERS,
                OTEL_EXPORTER_OTLP_TRACES_HEADERS,
            ] {
                if let Some(v) = vars.get(var) {
                    let origin = Origin::Env { var };
                    c.otlp.headers = parse_pairs(var, v, true, header_problem)?
                        .into_iter()
                        .map(|(name, value)| Set::new((name, Secret(value)), origin.clone()))
                        .collect();
                }
            }
            Ok(())
        },
        report: Report::Custom {
            rank: 170,
            entries: header_entries,
        },
    };

    SCHEDULED_DELAY: Setting<Duration> = Setting {
        key: "telemetry.tracing.otlp.batch.scheduled_delay_seconds",
        env: &[OTEL_BSP_SCHEDULE_DELAY],
        setter: "with_scheduled_delay",
        kind: &DELAY,
        default: || Some(SCHEDULED_DELAY_DEFAULT),
        field: Some(Field {
            get: |c| &c.batch.scheduled_delay,
            get_mut: |c| &mut c.batch.scheduled_delay,
        }),
        read_env: None,
        report: Report::Value {
            rank: 120,
            unset: "",
        },
    };

    /// At most the queue size; a small queue set alone lowers the default.
    MAX_EXPORT_BATCH_SIZE: Setting<usize> = Setting {
        key: "telemetry.tracing.otlp.batch.max_export_batch_size",
        env: &[OTEL_BSP_MAX_EXPORT_BATCH_SIZE],
        setter: "with_max_export_batch_size",
        kind: &BATCH_SIZE,
        default: || Some(MAX_EXPORT_BATCH_SIZE_DEFAULT),
        field: Some(Field {
            get: |c| &c.batch.max_export_batch_size,
            get_mut: |c| &mut c.batch.max_export_batch_size,
        }),
        read_env: None,
        report: Report::Resolved {
            rank: 110,
            show: |input| input.settings.batch.max_export_batch_size.to_string(),
        },
    };

    MAX_QUEUE_SIZE: Setting<usize> = Setting {
        key: "telemetry.tracing.otlp.batch.max_queue_size",
        env: &[OTEL_BSP_MAX_QUEUE_SIZE],
        setter: "with_max_queue_size",
        kind: &QUEUE_SIZE,
        default: || Some(MAX_QUEUE_SIZE_DEFAULT),
        field: Some(Field {
            get: |c| &c.batch.max_queue_size,
            get_mut: |c| &mut c.batch.max_queue_size,
        }),
        read_env: None,
        report: Report::Value {
            rank: 100,
            unset: "",
        },
    };

    EXPORT_TIMEOUT: Setting<Duration> = Setting {
        key: "telemetry.tracing.otlp.batch.export_timeout_seconds",
        env: &[OTEL_BSP_EXPORT_TIMEOUT],
        setter: "with_export_timeout",
        kind: &TIMEOUT,
        default: || Some(EXPORT_TIMEOUT_DEFAULT),
        field: Some(Field {
            get: |c| &c.batch.export_timeout,
            get_mut: |c| &mut c.batch.export_timeout,
        }),
        read_env: None,
        report: Report::Value {
            rank: 130,
            unset: "",
        },
    };

    /// The largest OTLP export request, in bytes: a batch is cut where the next span would
    /// take it past this (collectors reject larger requests whole: gRPC's default limit is
    /// 4 MiB). In code: `Config::with_max_request_bytes`.
    MAX_REQUEST_BYTES: Setting<usize> = Setting {
        key: "telemetry.tracing.otlp.batch.max_request_bytes",
        env: &[],
        setter: "with_max_request_bytes",
        kind: &REQUEST_BYTES,
        default: || Some(MAX_REQUEST_BYTES_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 135,
            unset: "",
        },
    };

    /// Bytes of OTLP requests kept to be sent again when the collector answers (0: none);
    /// past it the oldest are dropped and counted. In code: `Config::with_retry_buffer_bytes`.
    RETRY_BUFFER_BYTES: Setting<usize> = Setting {
        key: "telemetry.tracing.otlp.retry.buffer_bytes",
        env: &[],
        setter: "with_retry_buffer_bytes",
        kind: &RETRY_BYTES,
        default: || Some(RETRY_BUFFER_BYTES_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 181,
            unset: "",
        },
    };

    /// The oldest a kept request may be before it is dropped (and counted).
    RETRY_MAX_AGE: Setting<Duration> = Setting {
        key: "telemetry.tracing.otlp.retry.max_age_seconds",
        env: &[],
        setter: "with_retry_max_age",
        kind: &TIMEOUT,
        default: || Some(RETRY_MAX_AGE_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 182,
            unset: "",
        },
    };

    /// Failed exports in a row that open the circuit (then one probe per interval).
    CIRCUIT_FAILURES: Setting<usize> = Setting {
        key: "telemetry.tracing.otlp.retry.circuit_failures",
        env: &[],
        setter: "with_circuit_failures",
        kind: &FAILURES,
        default: || Some(RETRY_FAILURES_TO_OPEN_DEFAULT as usize),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 183,
            unset: "",
        },
    };

    /// Time between two probes of a collector while the circuit is open.
    PROBE_INTERVAL: Setting<Duration> = Setting {
        key: "telemetry.tracing.otlp.retry.probe_interval_seconds",
        env: &[],
        setter: "with_probe_interval",
        kind: &TIMEOUT,
        default: || Some(RETRY_PROBE_INTERVAL_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 184,
            unset: "",
        },
    };

    /// The longest attribute value kept, in bytes (strings and each string of an array;
    /// longer ones are truncated at a character boundary and counted).
    ATTRIBUTE_VALUE_LENGTH: Setting<usize> = Setting {
        key: "telemetry.tracing.limits.attribute_value_length",
        env: &[
            OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
            OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        ],
        setter: "with_attribute_value_length_limit",
        kind: &VALUE_LENGTH,
        default: || Some(VALUE_LENGTH_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 136,
            unset: "",
        },
    };

    /// Attributes a span keeps (events and links keep as many each); later ones are dropped
    /// and counted.
    ATTRIBUTE_COUNT: Setting<usize> = Setting {
        key: "telemetry.tracing.limits.attribute_count",
        env: &[OTEL_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT],
        setter: "with_attribute_count_limit",
        kind: &SPAN_COUNT,
        default: || Some(COUNT_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 137,
            unset: "",
        },
    };

    /// Events a span keeps; later ones are dropped and counted.
    EVENT_COUNT: Setting<usize> = Setting {
        key: "telemetry.tracing.limits.event_count",
        env: &[OTEL_SPAN_EVENT_COUNT_LIMIT],
        setter: "with_event_count_limit",
        kind: &SPAN_COUNT,
        default: || Some(COUNT_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 138,
            unset: "",
        },
    };

    /// Links a span keeps; later ones are dropped and counted.
    LINK_COUNT: Setting<usize> = Setting {
        key: "telemetry.tracing.limits.link_count",
        env: &[OTEL_SPAN_LINK_COUNT_LIMIT],
        setter: "with_link_count_limit",
        kind: &SPAN_COUNT,
        default: || Some(COUNT_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 139,
            unset: "",
        },
    };

    /// The head sampler; its ratio ([`PROBABILITY`]) may come from another layer.
    STRATEGY: Setting<Strategy> = Setting {
        key: "telemetry.tracing.sampling.strategy",
        env: &[OTEL_TRACES_SAMPLER],
        setter: "with_sampler",
        kind: &STRATEGY_KIND,
        default: || None,
        field: Some(Field {
            get: |c| &c.sampling.strategy,
            get_mut: |c| &mut c.sampling.strategy,
        }),
        read_env: None,
        report: Report::Custom {
            rank: 50,
            entries: strategy_entry,
        },
    };

    /// Shown as part of the strategy.
    PROBABILITY: Setting<f64> = Setting {
        key: "telemetry.tracing.sampling.probability",
        env: &[OTEL_TRACES_SAMPLER_ARG],
        setter: "with_sampler",
        kind: &PROBABILITY_KIND,
        default: || None,
        field: Some(Field {
            get: |c| &c.sampling.probability,
            get_mut: |c| &mut c.sampling.probability,
        }),
        read_env: None,
        report: Report::Hidden,
    };

    KEEP_ERRORS: Setting<bool> = Setting {
        key: "telemetry.tracing.sampling.always_sample_errors",
        env: &[],
        setter: "with_tail_sampling",
        kind: &BOOL,
        default: || Some(false),
        field: Some(Field {
            get: |c| &c.sampling.keep_errors,
            get_mut: |c| &mut c.sampling.keep_errors,
        }),
        read_env: None,
        report: Report::Value {
            rank: 60,
            unset: "",
        },
    };

    SLOW_THRESHOLD: Setting<Duration> = Setting {
        key: "telemetry.tracing.sampling.always_sample_slow_seconds",
        env: &[],
        setter: "with_tail_sampling",
        kind: &SLOW_THRESHOLD_KIND,
        default: || None,
        field: Some(Field {
            get: |c| &c.sampling.slow_threshold,
            get_mut: |c| &mut c.sampling.slow_threshold,
        }),
        read_env: None,
        report: Report::Value {
            rank: 70,
            unset: "(none)",
        },
    };

    MAX_TRACES_PER_SECOND: Setting<f64> = Setting {
        key: "telemetry.tracing.sampling.max_traces_per_second",
        env: &[],
        setter: "with_tail_sampling",
        kind: &RATE,
        default: || None,
        field: Some(Field {
            get: |c| &c.sampling.max_traces_per_second,
            get_mut: |c| &mut c.sampling.max_traces_per_second,
        }),
        read_env: None,
        report: Report::Value {
            rank: 80,
            unset: "(no limit)",
        },
    };

    /// `[[telemetry.tracing.exporters]]`; a later layer's list replaces an earlier one whole.
    EXPORTERS: Custom = Custom {
        key: "telemetry.tracing.exporters",
        env: &[],
        #[cfg(feature = "config-file")]
        read_file: |doc, c, key, item| {
            c.exporters = doc.set(key, item, exporters_from_file(doc, key, item)?);
            Ok(())
        },
        read_env: |_, _| Ok(()),
        report: Report::Custom {
            rank: 140,
            entries: exporters_entry,
        },
    };

    // ----- [telemetry.genai] -----

    CAPTURE: Setting<CaptureMode> = Setting {
        key: "telemetry.genai.capture_message_content",
        env: &[OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT],
        setter: "with_capture_message_content",
        kind: &CAPTURE_KIND,
        default: || Some(CaptureMode::NoContent),
        field: Some(Field {
            get: |c| &c.capture,
            get_mut: |c| &mut c.capture,
        }),
        read_env: None,
        report: Report::Value {
            rank: 200,
            unset: "",
        },
    };

    /// `[telemetry.genai.prices."<model>"]`: what a million input and output tokens of each
    /// model cost (`input_per_million`, `output_per_million`, `currency`, default `USD`), for
    /// the cost of LLM calls. Merged model by model: a later layer's entry for a model replaces
    /// an earlier one's, other models add up. No variable. In code:
    /// `Config::with_model_price`; read with [`model_prices`].
    MODEL_PRICES: Custom = Custom {
        key: "telemetry.genai.prices",
        env: &[],
        #[cfg(feature = "config-file")]
        read_file: prices_from_file,
        read_env: |_, _| Ok(()),
        report: Report::Custom {
            rank: 205,
            entries: price_entries,
        },
    };

    // ----- [telemetry.metrics] -----

    /// The master switch of metrics (`telemetry.enabled = false` and `OTEL_SDK_DISABLED=true`
    /// turn them off too).
    METRICS_ENABLED: Setting<bool> = Setting {
        key: "telemetry.metrics.enabled",
        env: &[],
        setter: "with_metrics_enabled",
        kind: &BOOL,
        default: || Some(true),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 210,
            unset: "",
        },
    };

    /// Attribute sets one instrument keeps, the overflow series included; later ones are
    /// recorded in the overflow series (`otel.metric.overflow = true`).
    METRICS_CARDINALITY_LIMIT: Setting<usize> = Setting {
        key: "telemetry.metrics.cardinality_limit",
        env: &[],
        setter: "with_metrics_cardinality_limit",
        kind: &CARDINALITY,
        default: || Some(METRICS_CARDINALITY_LIMIT_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 220,
            unset: "",
        },
    };

    /// `OTEL_METRICS_EXPORTER` alone: when set, exactly the exporters it names run (`none`:
    /// no export); unset, [`metrics_exporters`] derives them from the settings below.
    METRICS_EXPORTERS: EnvOnly<MetricsExporters> = EnvOnly(Setting {
        key: "telemetry.metrics.exporters",
        env: &[OTEL_METRICS_EXPORTER],
        // No setter: code turns each exporter on with its own setting.
        setter: "",
        kind: &METRICS_EXPORTER_LIST,
        default: || None,
        field: None,
        read_env: None,
        report: Report::Custom {
            rank: 215,
            entries: metrics_exporters_entry,
        },
    });

    PROMETHEUS_ENABLED: Setting<bool> = Setting {
        key: "telemetry.metrics.prometheus.enabled",
        env: &[],
        setter: "with_prometheus_enabled",
        kind: &BOOL,
        default: || Some(false),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 230,
            unset: "",
        },
    };

    PROMETHEUS_PORT: Setting<u16> = Setting {
        key: "telemetry.metrics.prometheus.port",
        env: &[],
        setter: "with_prometheus_port",
        kind: &PORT,
        default: || Some(PROMETHEUS_PORT_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 232,
            unset: "",
        },
    };

    /// The address the scrape endpoint listens on (`0.0.0.0`: every interface).
    PROMETHEUS_ADDRESS: Setting<IpAddr> = Setting {
        key: "telemetry.metrics.prometheus.address",
        env: &[],
        setter: "with_prometheus_address",
        kind: &IP_ADDRESS,
        default: || Some(PROMETHEUS_ADDRESS_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 231,
            unset: "",
        },
    };

    PROMETHEUS_PATH: Setting<String> = Setting {
        key: "telemetry.metrics.prometheus.path",
        env: &[],
        setter: "with_prometheus_path",
        kind: &SCRAPE_PATH,
        default: || Some(PROMETHEUS_PATH_DEFAULT.to_owned()),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 233,
            unset: "",
        },
    };

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL (HTTP appends `/v1/metrics`);
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is used as-is and wins. None: no push (unless
    /// `OTEL_METRICS_EXPORTER` names `otlp`). The URL pushed to is [`metrics_otlp_url`].
    METRICS_OTLP_ENDPOINT: Setting<Endpoint> = Setting {
        key: "telemetry.metrics.otlp.endpoint",
        env: &[
            OTEL_EXPORTER_OTLP_ENDPOINT,
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
        ],
        setter: "with_metrics_otlp_endpoint",
        kind: &METRICS_URL,
        default: || None,
        field: None,
        read_env: None,
        report: Report::Resolved {
            rank: 240,
            show: metrics_endpoint_text,
        },
    };

    METRICS_OTLP_PROTOCOL: Setting<OtlpProtocol> = Setting {
        key: "telemetry.metrics.otlp.protocol",
        env: &[
            OTEL_EXPORTER_OTLP_PROTOCOL,
            OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
        ],
        setter: "with_metrics_otlp_protocol",
        kind: &PROTOCOL,
        default: || Some(METRICS_OTLP_PROTOCOL_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 241,
            unset: "",
        },
    };

    /// Time between two pushes; `OTEL_METRIC_EXPORT_INTERVAL` is in milliseconds.
    METRICS_OTLP_INTERVAL: Setting<Duration> = Setting {
        key: "telemetry.metrics.otlp.interval_seconds",
        env: &[OTEL_METRIC_EXPORT_INTERVAL],
        setter: "with_metrics_otlp_interval",
        kind: &TIMEOUT,
        default: || Some(METRICS_EXPORT_INTERVAL_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 242,
            unset: "",
        },
    };

    METRICS_OTLP_TEMPORALITY: Setting<Temporality> = Setting {
        key: "telemetry.metrics.otlp.temporality",
        env: &[OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE],
        setter: "with_metrics_otlp_temporality",
        kind: &TEMPORALITY_KIND,
        default: || Some(Temporality::Cumulative),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 243,
            unset: "",
        },
    };

    // ----- [telemetry.profiling] -----
    //
    // No code setter yet (`setter: ""`): a file and the variables set these. What they resolve
    // to, for the profiling stage, is [`profiling_settings`].

    /// The master switch of profiling (the stage honours `telemetry.enabled` too).
    PROFILING_ENABLED: Setting<bool> = Setting {
        key: "telemetry.profiling.enabled",
        env: &[ZDK_TRACE_PROFILING_ENABLED],
        setter: "",
        kind: &BOOL,
        default: || Some(false),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 250,
            unset: "",
        },
    };

    /// Every macro span records its busy time, thread CPU time and allocations.
    PROFILING_SPAN_RESOURCES: Setting<bool> = Setting {
        key: "telemetry.profiling.span_resources",
        env: &[ZDK_TRACE_PROFILING_SPAN_RESOURCES],
        setter: "",
        kind: &BOOL,
        default: || Some(false),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 251,
            unset: "",
        },
    };

    PROFILING_CPU_ENABLED: Setting<bool> = Setting {
        key: "telemetry.profiling.cpu.enabled",
        env: &[ZDK_TRACE_PROFILING_CPU_ENABLED],
        setter: "",
        kind: &BOOL,
        default: || Some(false),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 255,
            unset: "",
        },
    };

    /// CPU samples per second (Hz), 1 to 1000.
    PROFILING_CPU_FREQUENCY: Setting<u32> = Setting {
        key: "telemetry.profiling.cpu.frequency",
        env: &[ZDK_TRACE_PROFILING_CPU_FREQUENCY],
        setter: "Config::with_cpu_profile_frequency",
        kind: &FREQUENCY,
        default: || Some(PROFILING_CPU_FREQUENCY_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 256,
            unset: "",
        },
    };

    /// Profile all the time, one profile per `duration_seconds`, rather than on demand.
    PROFILING_CPU_CONTINUOUS: Setting<bool> = Setting {
        key: "telemetry.profiling.cpu.continuous",
        env: &[],
        setter: "",
        kind: &BOOL,
        default: || Some(false),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 257,
            unset: "",
        },
    };

    /// How long one CPU profile lasts: whole seconds, 1 to 3600.
    PROFILING_CPU_DURATION: Setting<Duration> = Setting {
        key: "telemetry.profiling.cpu.duration_seconds",
        env: &[],
        setter: "",
        kind: &PROFILE_WINDOW,
        default: || Some(PROFILING_CPU_WINDOW_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 258,
            unset: "",
        },
    };

    PROFILING_MEMORY_ENABLED: Setting<bool> = Setting {
        key: "telemetry.profiling.memory.enabled",
        env: &[],
        setter: "",
        kind: &BOOL,
        default: || Some(false),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 260,
            unset: "",
        },
    };

    /// Record the stack of sampled allocations (expensive: for debugging).
    PROFILING_TRACK_ALLOCATIONS: Setting<bool> = Setting {
        key: "telemetry.profiling.memory.track_allocations",
        env: &[],
        setter: "",
        kind: &BOOL,
        default: || Some(false),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 261,
            unset: "",
        },
    };

    /// One allocation in N records its stack (1: every one).
    PROFILING_SAMPLING_RATE: Setting<u32> = Setting {
        key: "telemetry.profiling.memory.sampling_rate",
        env: &[],
        setter: "",
        kind: &SAMPLING_RATE,
        default: || Some(PROFILING_SAMPLING_RATE_DEFAULT),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 262,
            unset: "",
        },
    };

    /// Heap profiles (very expensive).
    PROFILING_HEAP: Setting<bool> = Setting {
        key: "telemetry.profiling.memory.heap_profiling",
        env: &[],
        setter: "",
        kind: &BOOL,
        default: || Some(false),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 263,
            unset: "",
        },
    };

    /// `file` (the default), `pyroscope`, or `gcp`, which is read and refused when the layers
    /// are resolved (GCP Cloud Profiler is not supported yet).
    PROFILING_EXPORTER_TYPE: Setting<ProfileExporterType> = Setting {
        key: "telemetry.profiling.exporter.type",
        env: &[],
        setter: "",
        kind: &PROFILE_EXPORTER_KIND,
        default: || Some(ProfileExporterType::File),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 270,
            unset: "",
        },
    };

    /// The Pyroscope server's URL; `PYROSCOPE_SERVER_ADDRESS` is Pyroscope's own variable.
    PROFILING_PYROSCOPE_ENDPOINT: Setting<String> = Setting {
        key: "telemetry.profiling.exporter.pyroscope_endpoint",
        env: &[PYROSCOPE_SERVER_ADDRESS],
        setter: "",
        kind: &PYROSCOPE_URL,
        default: || Some(PYROSCOPE_ENDPOINT_DEFAULT.to_owned()),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 271,
            unset: "",
        },
    };

    /// The name profiles are pushed to Pyroscope under. No default of its own: unset, it is
    /// the service name (which a default here could not read), and `zdk-trace status` shows
    /// that name.
    PROFILING_APPLICATION_NAME: Setting<String> = Setting {
        key: "telemetry.profiling.exporter.application_name",
        env: &[PYROSCOPE_APPLICATION_NAME],
        setter: "",
        kind: &NAME_KIND,
        default: || None,
        field: None,
        read_env: None,
        report: Report::Resolved {
            rank: 272,
            show: |input| {
                PROFILING_APPLICATION_NAME
                    .last(input.layers)
                    .map_or_else(|| input.settings.service_name.clone(), |s| s.value.clone())
            },
        },
    };

    /// The directory the `file` exporter writes profiles in.
    PROFILING_FILE_OUTPUT_DIR: Setting<String> = Setting {
        key: "telemetry.profiling.exporter.file_output_dir",
        env: &[],
        setter: "",
        kind: &DIRECTORY_KIND,
        default: || Some(PROFILES_DIR_DEFAULT.to_owned()),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 273,
            unset: "",
        },
    };

    /// For the `gcp` exporter only, which is not supported yet: accepted, as the design's
    /// schema has it, and otherwise unused.
    PROFILING_GCP_PROJECT_ID: Setting<String> = Setting {
        key: "telemetry.profiling.exporter.gcp_project_id",
        env: &[],
        setter: "",
        kind: &NAME_KIND,
        default: || None,
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 274,
            unset: "(none)",
        },
    };

    /// For the `gcp` exporter only, as [`PROFILING_GCP_PROJECT_ID`].
    PROFILING_GCP_SERVICE_NAME: Setting<String> = Setting {
        key: "telemetry.profiling.exporter.gcp_service_name",
        env: &[],
        setter: "",
        kind: &NAME_KIND,
        default: || None,
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 275,
            unset: "(none)",
        },
    };

    // ----- [telemetry.usage] -----

    USAGE_ENABLED: Setting<bool> = Setting {
        key: "telemetry.usage.enabled",
        env: &[],
        setter: "with_usage_enabled",
        kind: &BOOL,
        default: || Some(false),
        field: Some(Field {
            get: |c| &c.usage.enabled,
            get_mut: |c| &mut c.usage.enabled,
        }),
        read_env: None,
        report: Report::Value {
            rank: 300,
            unset: "",
        },
    };

    /// The base URL; `/v1/traces` is appended. Only `http://`: there is no TLS backend.
    USAGE_ENDPOINT: Setting<String> = Setting {
        key: "telemetry.usage.endpoint",
        env: &[],
        setter: "with_usage_endpoint",
        kind: &USAGE_URL,
        default: || None,
        field: Some(Field {
            get: |c| &c.usage.endpoint,
            get_mut: |c| &mut c.usage.endpoint,
        }),
        read_env: None,
        report: Report::Resolved {
            rank: 310,
            show: |input| (input.settings.usage.url.clone()).unwrap_or_else(|| "(none)".to_owned()),
        },
    };

    USAGE_NOTICE: Setting<bool> = Setting {
        key: "telemetry.usage.notice",
        env: &[],
        setter: "with_usage_notice",
        kind: &BOOL,
        default: || Some(true),
        field: Some(Field {
            get: |c| &c.usage.notice,
            get_mut: |c| &mut c.usage.notice,
        }),
        read_env: None,
        report: Report::Value {
            rank: 320,
            unset: "",
        },
    };

    /// How long the usage circuit stays open after the endpoint failed (events are dropped and
    /// counted meanwhile). In code: `UsageOptions::circuit_cooldown`.
    USAGE_CIRCUIT_COOLDOWN: Setting<Duration> = Setting {
        key: "telemetry.usage.circuit_cooldown_seconds",
        env: &[],
        setter: "UsageOptions::circuit_cooldown",
        kind: &DELAY,
        default: || Some(Duration::from_secs(60)),
        field: None,
        read_env: None,
        report: Report::Value {
            rank: 330,
            unset: "",
        },
    };
}

/// Checks that need a whole table of one file, run when that table has been read.
#[cfg(feature = "config-file")]
pub(crate) static FILE_TABLE_CHECKS: &[(&str, LayerCheck)] =
    &[("telemetry.tracing.otlp.batch", batch_within_queue)];

/// Checked in the file too (resolve checks across layers) so the file alone is known good.
#[cfg(feature = "config-file")]
fn batch_within_queue(c: &Config) -> Result<(), ConfigError> {
    if let (Some(queue), Some(batch)) = (&c.batch.max_queue_size, &c.batch.max_export_batch_size) {
        if batch.value > queue.value {
            return Err(batch.origin.invalid(
                batch.value.to_string(),
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

// ----- what the metrics settings resolve to -----

/// The metrics exporters that run when metrics are on: those `OTEL_METRICS_EXPORTER` names
/// when it is set, else Prometheus when `telemetry.metrics.prometheus.enabled` and OTLP when a
/// metrics endpoint is set. Nothing here can be out of range (an endpoint counts whatever it
/// holds: [`metrics_otlp_url`] checks it).
pub(crate) fn metrics_exporters(settings: &Settings) -> MetricsExporters {
    let layers: Vec<&Config> = settings.layers.iter().collect();
    match METRICS_EXPORTERS.last(&layers) {
        Some(list) => list.value,
        None => MetricsExporters {
            otlp: METRICS_OTLP_ENDPOINT.last(&layers).is_some(),
            prometheus: PROMETHEUS_ENABLED.last(&layers).is_some_and(|s| s.value),
            console: false,
        },
    }
}

/// The URL the OTLP metrics exporter pushes to: the endpoint set (for `http/protobuf`,
/// `OTEL_EXPORTER_OTLP_ENDPOINT` and a URL without a path get `/v1/metrics`), else the
/// protocol's default (`http://localhost:4317`, `http://localhost:4318/v1/metrics`).
///
/// # Errors
///
/// An endpoint set in code that is not a URL.
pub(crate) fn metrics_otlp_url(settings: &Settings) -> Result<String, ConfigError> {
    let endpoint = METRICS_OTLP_ENDPOINT.resolved(settings)?;
    let protocol = METRICS_OTLP_PROTOCOL
        .resolved(settings)?
        .unwrap_or(METRICS_OTLP_PROTOCOL_DEFAULT);
    Ok(metrics_url(endpoint.as_ref(), protocol))
}

/// The exporters that run; from the variable, else from the setting that turned one on (in
/// the highest layer), else the default (`none`).
fn metrics_exporters_entry(input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
    let exporters = metrics_exporters(input.settings);
    let source = match METRICS_EXPORTERS.last(input.layers) {
        Some(list) => source_of(Some(list)),
        None => input
            .layers
            .iter()
            .rev()
            .find_map(|layer| {
                let prometheus = PROMETHEUS_ENABLED
                    .stored(layer)
                    .filter(|s| s.value && exporters.prometheus);
                let endpoint = METRICS_OTLP_ENDPOINT.stored(layer);
                prometheus
                    .map(|s| &s.origin)
                    .or(endpoint.map(|s| &s.origin))
            })
            .map_or(ConfigSource::Default, ConfigSource::from),
    };
    out.push(entry(
        METRICS_EXPORTERS.key,
        metrics_exporters_text(exporters),
        source,
    ));
}

/// The URL pushed to, when an endpoint is set or `OTEL_METRICS_EXPORTER` names `otlp`.
fn metrics_endpoint_text(input: &ReportInput<'_>) -> String {
    let endpoint = METRICS_OTLP_ENDPOINT.last(input.layers);
    if endpoint.is_none() && !metrics_exporters(input.settings).otlp {
        return "(none)".to_owned();
    }
    // An endpoint set in code that is not a URL is shown as given (`install()` refuses it).
    metrics_otlp_url(input.settings)
        .unwrap_or_else(|_| endpoint.map_or_else(String::new, |s| s.value.url().to_owned()))
}

// ----- what the profiling settings resolve to -----

/// What `[telemetry.profiling]` resolves to over the layers `settings` were resolved from:
/// each value the last one set, else its default; what the profiling stage reads at install.
/// An unset `application_name` stays `None`: the service name is used.
///
/// # Errors
///
/// `telemetry.profiling.exporter.type = "gcp"` (GCP Cloud Profiler is not supported yet),
/// naming the key and where it was set; a value set in code that is out of range. `resolve`
/// checks the same, so settings it returned give no error here.
pub(crate) fn profiling_settings(settings: &Settings) -> Result<ProfilingSettings, ConfigError> {
    let layers: Vec<&Config> = settings.layers.iter().collect();
    profiling(&layers)
}

/// [`profiling_settings`] over `layers`. `resolve` calls it, so that `install()` and
/// `zdk-trace status` refuse `gcp` even while profiling is off: the choice is a mistake to fix
/// now, not when profiling is turned on.
pub(crate) fn profiling(layers: &[&Config]) -> Result<ProfilingSettings, ConfigError> {
    let flag = |setting: &Setting<bool>| -> Result<bool, ConfigError> {
        Ok(setting.value(layers)?.unwrap_or(false))
    };
    // Every value is checked, the chosen exporter's or not (only code could set a bad one).
    let kind = PROFILING_EXPORTER_TYPE
        .value(layers)?
        .unwrap_or(ProfileExporterType::File);
    let endpoint = PROFILING_PYROSCOPE_ENDPOINT
        .value(layers)?
        .unwrap_or_else(|| PYROSCOPE_ENDPOINT_DEFAULT.to_owned());
    let application_name = PROFILING_APPLICATION_NAME.value(layers)?;
    let dir = PROFILING_FILE_OUTPUT_DIR
        .value(layers)?
        .unwrap_or_else(|| PROFILES_DIR_DEFAULT.to_owned());
    PROFILING_GCP_PROJECT_ID.value(layers)?;
    PROFILING_GCP_SERVICE_NAME.value(layers)?;
    let exporter = match kind {
        ProfileExporterType::Pyroscope => ProfileExporterKind::Pyroscope {
            endpoint,
            application_name,
        },
        // `gcp` never gets here: the kind's check refused it in `value` above.
        ProfileExporterType::File | ProfileExporterType::Gcp => ProfileExporterKind::File {
            dir: PathBuf::from(dir),
        },
    };
    Ok(ProfilingSettings {
        enabled: flag(&PROFILING_ENABLED)?,
        span_resources: flag(&PROFILING_SPAN_RESOURCES)?,
        cpu_enabled: flag(&PROFILING_CPU_ENABLED)?,
        cpu_frequency_hz: PROFILING_CPU_FREQUENCY
            .value(layers)?
            .unwrap_or(PROFILING_CPU_FREQUENCY_DEFAULT),
        cpu_continuous: flag(&PROFILING_CPU_CONTINUOUS)?,
        cpu_window: PROFILING_CPU_DURATION
            .value(layers)?
            .unwrap_or(PROFILING_CPU_WINDOW_DEFAULT),
        memory_enabled: flag(&PROFILING_MEMORY_ENABLED)?,
        track_allocations: flag(&PROFILING_TRACK_ALLOCATIONS)?,
        sampling_rate: PROFILING_SAMPLING_RATE
            .value(layers)?
            .unwrap_or(PROFILING_SAMPLING_RATE_DEFAULT),
        heap_profiling: flag(&PROFILING_HEAP)?,
        exporter,
    })
}

// ----- what the model prices resolve to -----

/// The price of every model the layers `settings` were resolved from set, merged model by
/// model (a later layer's entry for a model replaces an earlier one's), in the order each
/// model was first set. Empty when none is set.
///
/// # Errors
///
/// A price set in code that is negative or not finite, a currency code that is not 3
/// upper-case letters, or an empty model name (a file's entries were checked when read).
pub(crate) fn model_prices(settings: &Settings) -> Result<Vec<ModelPrice>, ConfigError> {
    let layers: Vec<&Config> = settings.layers.iter().collect();
    Ok(prices(&layers)?
        .into_iter()
        .map(|set| set.value.clone())
        .collect())
}

/// Each model's price as [`model_prices`] merges it, with where it was set. Checked here,
/// where values set in code are first seen (`resolve` calls it, so `install()` and
/// `zdk-trace status` refuse a bad one).
pub(crate) fn prices<'a>(layers: &[&'a Config]) -> Result<Vec<&'a Set<ModelPrice>>, ConfigError> {
    let mut prices: Vec<&Set<ModelPrice>> = Vec::new();
    for set in layers.iter().flat_map(|layer| &layer.prices) {
        if let Some((shown, expected)) = model_price_problem(&set.value) {
            return Err(set.origin.invalid(shown, expected));
        }
        match prices.iter_mut().find(|p| p.value.model == set.value.model) {
            Some(kept) => *kept = set,
            None => prices.push(set),
        }
    }
    Ok(prices)
}

// ----- how structured values are shown -----

fn last<'a, T>(
    layers: &[&'a Config],
    field: impl Fn(&'a Config) -> &'a Option<Set<T>>,
) -> Option<&'a Set<T>> {
    layers.iter().rev().find_map(|layer| field(layer).as_ref())
}

fn enabled_entry(input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
    let source = if input.disable_all {
        ConfigSource::Env {
            var: "ZDK_DISABLE_ALL_TRACING".to_owned(),
        }
    } else {
        // The switch that turned tracing off, else the last one set.
        let tracing = TRACING_ENABLED.last(input.layers);
        let all = ENABLED.last(input.layers);
        match (all, tracing) {
            (_, Some(t)) if !t.value => source_of(Some(t)),
            (Some(a), _) => source_of(Some(a)),
            (None, t) => source_of(t),
        }
    };
    out.push(entry(
        ENABLED.key,
        (input.settings.enabled && !input.disable_all).to_string(),
        source,
    ));
}

fn service_name_entry(input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
    // The service name may come from a `service.name` resource attribute of some layer.
    let source = input
        .layers
        .iter()
        .rev()
        .find_map(|layer| {
            layer.service_name.as_ref().map(|s| &s.origin).or_else(|| {
                layer
                    .resource
                    .iter()
                    .rev()
                    .find(|s| s.value.0 == "service.name")
                    .map(|s| &s.origin)
            })
        })
        .map_or(ConfigSource::Default, ConfigSource::from);
    out.push(entry(
        SERVICE_NAME.key,
        input.settings.service_name.clone(),
        source,
    ));
}

fn resource_entries(input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
    for (key, value) in &input.settings.resource_attributes {
        let set = input
            .layers
            .iter()
            .rev()
            .find_map(|layer| layer.resource.iter().rev().find(|s| &s.value.0 == key));
        out.push(entry(
            format!("telemetry.resource.{key}"),
            value.clone(),
            source_of(set),
        ));
    }
}

fn strategy_entry(input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
    let strategy = STRATEGY.last(input.layers);
    let probability = PROBABILITY.last(input.layers);
    out.push(entry(
        STRATEGY.key,
        sampler_text(&input.settings.sampler),
        strategy
            .map(|s| &s.origin)
            .or(probability.map(|p| &p.origin))
            .map_or(ConfigSource::Default, ConfigSource::from),
    ));
}

fn exporters_entry(input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
    let exporters = last(input.layers, |c| &c.exporters);
    let endpoint = last(input.layers, |c| &c.otlp.endpoint);
    let (list, source) = match (exporters, input.settings.exporters.is_empty()) {
        (Some(list), _) => (
            list.value
                .iter()
                .map(|choice| match choice {
                    ExporterChoice::Stdout => "stdout".to_owned(),
                    ExporterChoice::File(path) => format!("file {}", path.display()),
                    ExporterChoice::Otlp => "otlp".to_owned(),
                    ExporterChoice::Backend { backend, .. } => backend.name().to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            source_of(Some(list)),
        ),
        // No list anywhere: an endpoint turns OTLP on, else the console is used.
        (None, false) => ("otlp".to_owned(), source_of(endpoint)),
        (None, true) => ("stdout".to_owned(), ConfigSource::Default),
    };
    out.push(entry(EXPORTERS.key, list, source));
    // A backend's exporter (`type = "jaeger"`, `"tempo"`) has an endpoint and protocol of
    // its own: one entry each, under the entry's index, as errors name it. The resolved list
    // is the layer's list, in its order.
    let Some(list) = exporters else { return };
    for (index, (choice, resolved)) in list.value.iter().zip(&input.settings.exporters).enumerate()
    {
        if let (
            ExporterChoice::Backend {
                endpoint, protocol, ..
            },
            ExporterSettings::Backend { otlp, .. },
        ) = (choice, resolved)
        {
            let key = format!("{}[{index}]", EXPORTERS.key);
            out.push(entry(
                format!("{key}.endpoint"),
                otlp.endpoint.clone(),
                source_of(endpoint.as_ref()),
            ));
            // The protocol follows from the endpoint's port when the entry names none.
            let protocol_source = match (protocol, endpoint) {
                (Some(set), _) => source_of(Some(set)),
                (None, endpoint) => source_of(endpoint.as_ref()),
            };
            out.push(entry(
                format!("{key}.protocol"),
                (PROTOCOL.show)(&otlp.protocol),
                protocol_source,
            ));
        }
    }
}

/// One entry per model: `telemetry.genai.prices."gpt-4o"` = `2.5 / 10 USD per 1M tokens
/// (in/out)`, with the layer that set it.
fn price_entries(input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
    // `resolve` has checked the prices already: there is no error left to report here.
    for set in prices(input.layers).unwrap_or_default() {
        out.push(entry(
            model_key(MODEL_PRICES.key, &set.value.model),
            price_text(&set.value),
            source_of(Some(set)),
        ));
    }
}

fn header_entries(input: &ReportInput<'_>, out: &mut Vec<ConfigEntry>) {
    for (name, _) in &input.otlp.headers {
        let set = input.layers.iter().rev().find_map(|layer| {
            layer
                .otlp
                .headers
                .iter()
                .rev()
                .find(|s| s.value.0.eq_ignore_ascii_case(name))
        });
        out.push(entry(
            format!("telemetry.tracing.otlp.headers.{name}"),
            MASKED,
            source_of(set),
        ));
    }
}

/// `telemetry.logging` as `zdk-trace status` shows it: whether this build can do it.
fn logging_text(input: &ReportInput<'_>) -> String {
    match (input.settings.logging, cfg!(feature = "tracing")) {
        (false, _) => "false".to_owned(),
        (true, true) => "true (tracing and log records → events of the current span)".to_owned(),
        (true, false) => {
            "true, but not compiled in: enable the runtime's `tracing` feature (ignored)".to_owned()
        }
    }
}

// These tests read `zdk-trace.toml` documents.
#[cfg(all(test, feature = "config-file"))]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::report::{tracing_entries, usage_setting_entries};
    use crate::config::resolve::resolve;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn keys_are_unique_and_tables_accept_them_in_order() {
        for (i, a) in SETTINGS.iter().enumerate() {
            for b in &SETTINGS[i + 1..] {
                assert_ne!(a.key(), b.key());
            }
        }
        use crate::config::setting::children;
        assert_eq!(children(SETTINGS, ""), ["telemetry"]);
        assert_eq!(
            children(SETTINGS, "telemetry.tracing"),
            ["enabled", "otlp", "limits", "sampling", "exporters"]
        );
        assert_eq!(
            children(SETTINGS, "telemetry"),
            [
                "enabled",
                "logging",
                "service_name",
                "service_version",
                "resource",
                "tracing",
                "genai",
                "metrics",
                "profiling",
                "usage"
            ]
        );
        assert_eq!(
            children(SETTINGS, "telemetry.profiling"),
            ["enabled", "span_resources", "cpu", "memory", "exporter"]
        );
        assert_eq!(
            children(SETTINGS, "telemetry.profiling.cpu"),
            ["enabled", "frequency", "continuous", "duration_seconds"]
        );
        assert_eq!(
            children(SETTINGS, "telemetry.profiling.memory"),
            [
                "enabled",
                "track_allocations",
                "sampling_rate",
                "heap_profiling"
            ]
        );
        assert_eq!(
            children(SETTINGS, "telemetry.profiling.exporter"),
            [
                "type",
                "pyroscope_endpoint",
                "application_name",
                "file_output_dir",
                "gcp_project_id",
                "gcp_service_name"
            ]
        );
        assert_eq!(
            children(SETTINGS, "telemetry.genai"),
            ["capture_message_content", "prices"]
        );
        // `exporters` is `OTEL_METRICS_EXPORTER` alone: no file takes it.
        assert_eq!(
            children(SETTINGS, "telemetry.metrics"),
            ["enabled", "cardinality_limit", "prometheus", "otlp"]
        );
        assert_eq!(
            children(SETTINGS, "telemetry.metrics.prometheus"),
            ["enabled", "port", "address", "path"]
        );
        assert_eq!(
            children(SETTINGS, "telemetry.metrics.otlp"),
            ["endpoint", "protocol", "interval_seconds", "temporality"]
        );
        assert_eq!(
            children(SETTINGS, "telemetry.tracing.otlp.batch"),
            [
                "scheduled_delay_seconds",
                "max_export_batch_size",
                "max_queue_size",
                "export_timeout_seconds",
                "max_request_bytes"
            ]
        );
    }

    /// `(model, input, output, currency)` of each resolved price, in order.
    fn price_list(settings: &Settings) -> Vec<(String, f64, f64, String)> {
        model_prices(settings)
            .unwrap()
            .into_iter()
            .map(|p| {
                (
                    p.model,
                    p.input_per_million,
                    p.output_per_million,
                    p.currency,
                )
            })
            .collect()
    }

    fn price(model: &str, input: f64, output: f64, currency: &str) -> (String, f64, f64, String) {
        (model.to_owned(), input, output, currency.to_owned())
    }

    #[test]
    fn model_prices_from_the_file() {
        let file = Config::from_toml_str(crate::config::file::tests::PRICES_EXAMPLE).unwrap();
        let settings = resolve(&[&file], &no_env).unwrap();
        assert_eq!(
            price_list(&settings),
            [
                price("gpt-4o", 2.5, 10.0, "USD"),
                price("claude-sonnet-4", 3.0, 15.0, "USD")
            ]
        );
        // None set: none.
        assert!(model_prices(&resolve(&[], &no_env).unwrap())
            .unwrap()
            .is_empty());
        // No variable sets a price.
        assert!(MODEL_PRICES.env.is_empty());
        let env = Config::from_env_vars([("OTEL_SERVICE_NAME", "a")]).unwrap();
        assert!(env.prices.is_empty());
    }

    #[test]
    fn model_prices_merge_model_by_model() {
        let code = Config::default()
            .with_model_price("gpt-4o", 5.0, 20.0)
            .with_model_price("o3", 2.0, 8.0)
            // Replaces the first `o3` of this layer.
            .with_model_price_in("o3", 1.0, 4.0, "EUR")
            .with_model_price("llama-3.1-8b", -0.0, 0.0);
        assert_eq!(code.prices.len(), 3);
        let file = Config::from_toml_str(
            "[telemetry.genai.prices.\"gpt-4o\"]\n\
             input_per_million = 2.5\n\
             output_per_million = 10.0\n\
             [telemetry.genai.prices.\"claude-sonnet-4\"]\n\
             input_per_million = 3\n\
             output_per_million = 15\n",
        )
        .unwrap();
        // The file's `gpt-4o` replaces the code's (in its place); the others add up.
        let settings = resolve(&[&code, &file], &no_env).unwrap();
        assert_eq!(
            price_list(&settings),
            [
                price("gpt-4o", 2.5, 10.0, "USD"),
                price("o3", 1.0, 4.0, "EUR"),
                price("llama-3.1-8b", 0.0, 0.0, "USD"),
                price("claude-sonnet-4", 3.0, 15.0, "USD"),
            ]
        );
        let zero = model_prices(&settings).unwrap()[2].input_per_million;
        assert!(zero.is_sign_positive(), "-0.0 is kept as 0");
        // Code alone; and a later code layer over the file wins the same way.
        assert_eq!(
            price_list(&resolve(&[&code], &no_env).unwrap())[0],
            price("gpt-4o", 5.0, 20.0, "USD")
        );
        let later = Config::default().with_model_price("claude-sonnet-4", 1.0, 2.0);
        assert_eq!(
            price_list(&resolve(&[&file, &later], &no_env).unwrap()),
            [
                price("gpt-4o", 2.5, 10.0, "USD"),
                price("claude-sonnet-4", 1.0, 2.0, "USD"),
            ]
        );
    }

    /// A bad price set in code is refused when the layers are resolved (so by `install()` and
    /// `zdk-trace status`), naming the setter, the model and what is expected.
    #[test]
    fn model_prices_set_in_code_are_checked() {
        for (code, value, expected) in [
            (
                Config::default().with_model_price("gpt-4o", -2.5, 10.0),
                "-2.5 (input_per_million of \"gpt-4o\")",
                "a price per million tokens: a number, 0 or more, e.g. `2.5`; here it is \
                 negative",
            ),
            (
                Config::default().with_model_price("gpt-4o", 2.5, f64::NAN),
                "NaN (output_per_million of \"gpt-4o\")",
                "a price per million tokens: a number, 0 or more, e.g. `2.5`",
            ),
            (
                Config::default().with_model_price("gpt-4o", f64::INFINITY, 1.0),
                "inf (input_per_million of \"gpt-4o\")",
                "a number, 0 or more",
            ),
            (
                Config::default().with_model_price("", 2.5, 10.0),
                "\"\" (the model name)",
                "a non-empty model name of at most 255 characters without control \
                 characters, e.g. `gpt-4o` or `anthropic/claude-sonnet-4`; here it is empty",
            ),
            (
                Config::default().with_model_price("gpt\n4o", 2.5, 10.0),
                "\"gpt\\n4o\" (the model name)",
                "here character 4 is the control character U+000A",
            ),
            (
                Config::default().with_model_price_in("gpt-4o", 2.5, 10.0, "usd"),
                "\"usd\" (currency of \"gpt-4o\")",
                "a currency code of 3 upper-case letters (ISO 4217), e.g. `USD` or `EUR`; did \
                 you mean `USD`?",
            ),
            (
                Config::default().with_model_price_in("gpt-4o", 2.5, 10.0, "€"),
                "\"€\" (currency of \"gpt-4o\")",
                "e.g. `USD` or `EUR`",
            ),
        ] {
            let setter = if value.contains("currency") {
                "Config::with_model_price_in"
            } else {
                "Config::with_model_price"
            };
            let err = resolve(&[&code], &no_env).unwrap_err();
            match &err {
                ConfigError::Invalid {
                    source_name,
                    line,
                    key,
                    value: v,
                    expected: e,
                } => {
                    assert_eq!(
                        (source_name.as_str(), *line, key.as_str(), v.as_str()),
                        ("<code>", None, setter, value)
                    );
                    assert!(e.contains(expected), "{e}");
                }
                other => panic!("{other:?}"),
            }
            assert!(
                err.to_string()
                    .starts_with(&format!("<code>: invalid value {value} for `{setter}`")),
                "{err}"
            );
            // Read directly from resolved settings, the same error.
            let settings = Settings {
                layers: vec![code.clone()],
                ..resolve(&[], &no_env).unwrap()
            };
            assert_eq!(
                model_prices(&settings).unwrap_err().to_string(),
                err.to_string()
            );
            // `zdk-trace status` refuses it too.
            assert!(tracing_entries(&[&code], &no_env, false).is_err());
        }
        // A bad price a later layer replaces is still a mistake in its own layer.
        let code = Config::default().with_model_price("gpt-4o", -1.0, 1.0);
        let file = Config::from_toml_str(
            "[telemetry.genai.prices.\"gpt-4o\"]\ninput_per_million = 1\noutput_per_million = 1\n",
        )
        .unwrap();
        assert!(resolve(&[&code, &file], &no_env).is_err());
    }

    #[test]
    fn model_prices_in_the_report() {
        let code = Config::default()
            .with_model_price("gpt-4o", 5.0, 20.0)
            .with_model_price_in("mistral-large", 2.0, 6.0, "EUR");
        let file = Config::from_toml_str(crate::config::file::tests::PRICES_EXAMPLE).unwrap();
        let (_, entries) = tracing_entries(&[&code, &file], &no_env, false).unwrap();
        let prices: Vec<(&str, &str, String)> = entries
            .iter()
            .filter(|e| e.key.starts_with("telemetry.genai.prices."))
            .map(|e| (e.key.as_str(), e.value.as_str(), e.source.to_string()))
            .collect();
        assert_eq!(
            prices,
            [
                (
                    "telemetry.genai.prices.\"gpt-4o\"",
                    "2.5 / 10 USD per 1M tokens (in/out)",
                    "file <string>:1".to_owned()
                ),
                (
                    "telemetry.genai.prices.\"mistral-large\"",
                    "2 / 6 EUR per 1M tokens (in/out)",
                    "code `with_model_price_in`".to_owned()
                ),
                (
                    "telemetry.genai.prices.\"claude-sonnet-4\"",
                    "3 / 15 USD per 1M tokens (in/out)",
                    "file <string>:5".to_owned()
                ),
            ]
        );
        // Shown with the GenAI settings, before the metrics.
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        let at = |key: &str| keys.iter().position(|k| *k == key).unwrap();
        assert_eq!(
            at("telemetry.genai.prices.\"gpt-4o\""),
            at("telemetry.genai.capture_message_content") + 1
        );
        assert_eq!(
            at("telemetry.metrics.enabled"),
            at("telemetry.genai.prices.\"claude-sonnet-4\"") + 1
        );
        // Code alone: the setter is the source.
        let (_, entries) = tracing_entries(&[&code], &no_env, false).unwrap();
        let gpt = entries
            .iter()
            .find(|e| e.key == "telemetry.genai.prices.\"gpt-4o\"")
            .unwrap();
        assert_eq!(gpt.value, "5 / 20 USD per 1M tokens (in/out)");
        assert_eq!(
            gpt.source,
            ConfigSource::Code {
                setter: "with_model_price".to_owned()
            }
        );
    }

    #[test]
    fn the_setting_added_in_one_place() {
        // `telemetry.usage.circuit_cooldown_seconds`: only its entry above was written for it;
        // file, report, code setter and default follow.
        let file =
            Config::from_toml_str("[telemetry.usage]\ncircuit_cooldown_seconds = 300\n").unwrap();
        let code = USAGE_CIRCUIT_COOLDOWN.code(Config::default(), Duration::from_secs(5));
        let settings = resolve(&[&code, &file], &no_env).unwrap();
        assert_eq!(
            USAGE_CIRCUIT_COOLDOWN.resolved(&settings).unwrap(),
            Some(Duration::from_secs(300))
        );
        let entries = usage_setting_entries(&[&code, &file], &settings, &no_env).unwrap();
        let entry = entries
            .iter()
            .find(|e| e.key == "telemetry.usage.circuit_cooldown_seconds")
            .unwrap();
        assert_eq!(entry.value, "300s");
        assert_eq!(entry.source.to_string(), "file <string>:2");
        assert_eq!(entries[0].key, "telemetry.usage.enabled");

        let defaults = resolve(&[], &no_env).unwrap();
        assert_eq!(
            USAGE_CIRCUIT_COOLDOWN.resolved(&defaults).unwrap(),
            Some(Duration::from_secs(60))
        );
        let settings = resolve(&[&code], &no_env).unwrap();
        let entries = usage_setting_entries(&[&code], &settings, &no_env).unwrap();
        assert!(entries.iter().any(|e| e.key == USAGE_CIRCUIT_COOLDOWN.key
            && e.source.to_string() == "code `UsageOptions::circuit_cooldown`"));

        let err = Config::from_toml_str("[telemetry.usage]\ncircuit_cooldown_seconds = \"5\"\n")
            .unwrap_err();
        match err {
            ConfigError::Invalid {
                key,
                line,
                expected,
                ..
            } => {
                assert_eq!(key, "telemetry.usage.circuit_cooldown_seconds");
                assert_eq!(line, Some(2));
                assert!(expected.contains("seconds"), "{expected}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = Config::from_toml_str("[telemetry.usage]\ncircuit_cooldown_second = 5\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("did you mean `circuit_cooldown_seconds`?"),
            "{err}"
        );
    }

    /// The `[telemetry.metrics]` sections of the design's complete configuration
    /// (`seed-config.toml`), exactly as written there.
    const SEED_METRICS: &str = r#"# --- Metrics ------------------------------------------------

[telemetry.metrics]
enabled = true

# Prometheus exporter
[telemetry.metrics.prometheus]
enabled = true
port = 9090
path = "/metrics"

# OTLP metrics exporter
[telemetry.metrics.otlp]
endpoint = "http://localhost:4317"
protocol = "grpc"
interval_seconds = 60  # Push interval
"#;

    #[test]
    fn the_seed_metrics_sections_resolve() {
        use std::net::{IpAddr, Ipv4Addr};

        let file = Config::from_toml_str(SEED_METRICS).unwrap();
        let s = resolve(&[&file], &no_env).unwrap();
        assert_eq!(METRICS_ENABLED.resolved(&s).unwrap(), Some(true));
        assert_eq!(METRICS_CARDINALITY_LIMIT.resolved(&s).unwrap(), Some(2000));
        assert_eq!(PROMETHEUS_ENABLED.resolved(&s).unwrap(), Some(true));
        assert_eq!(PROMETHEUS_PORT.resolved(&s).unwrap(), Some(9090));
        assert_eq!(
            PROMETHEUS_ADDRESS.resolved(&s).unwrap(),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            PROMETHEUS_PATH.resolved(&s).unwrap().as_deref(),
            Some("/metrics")
        );
        assert_eq!(
            METRICS_OTLP_ENDPOINT.resolved(&s).unwrap(),
            Some(Endpoint::Url("http://localhost:4317".to_owned()))
        );
        assert_eq!(metrics_otlp_url(&s).unwrap(), "http://localhost:4317");
        assert_eq!(
            METRICS_OTLP_PROTOCOL.resolved(&s).unwrap(),
            Some(OtlpProtocol::Grpc)
        );
        assert_eq!(
            METRICS_OTLP_INTERVAL.resolved(&s).unwrap(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            METRICS_OTLP_TEMPORALITY.resolved(&s).unwrap(),
            Some(Temporality::Cumulative)
        );
        assert_eq!(METRICS_EXPORTERS.resolved(&s).unwrap(), None);
        assert_eq!(
            metrics_exporters(&s),
            MetricsExporters {
                otlp: true,
                prometheus: true,
                console: false
            }
        );

        // `zdk-trace status` shows each with the line that set it.
        let (_, entries) = tracing_entries(&[&file], &no_env, false).unwrap();
        let shown = |key: &str| {
            let e = entries.iter().find(|e| e.key == key).unwrap();
            (e.value.as_str(), e.source.to_string())
        };
        let file_line = |line: usize| format!("file <string>:{line}");
        assert_eq!(shown("telemetry.metrics.enabled"), ("true", file_line(4)));
        assert_eq!(
            shown("telemetry.metrics.exporters"),
            ("otlp, prometheus", file_line(8))
        );
        assert_eq!(
            shown("telemetry.metrics.cardinality_limit"),
            ("2000", "default".to_owned())
        );
        assert_eq!(
            shown("telemetry.metrics.prometheus.enabled"),
            ("true", file_line(8))
        );
        assert_eq!(
            shown("telemetry.metrics.prometheus.port"),
            ("9090", file_line(9))
        );
        assert_eq!(
            shown("telemetry.metrics.prometheus.address"),
            ("127.0.0.1", "default".to_owned())
        );
        assert_eq!(
            shown("telemetry.metrics.prometheus.path"),
            ("/metrics", file_line(10))
        );
        assert_eq!(
            shown("telemetry.metrics.otlp.endpoint"),
            ("http://localhost:4317", file_line(14))
        );
        assert_eq!(
            shown("telemetry.metrics.otlp.protocol"),
            ("grpc", file_line(15))
        );
        assert_eq!(
            shown("telemetry.metrics.otlp.interval_seconds"),
            ("60s", file_line(16))
        );
        assert_eq!(
            shown("telemetry.metrics.otlp.temporality"),
            ("cumulative", "default".to_owned())
        );
    }

    #[test]
    fn metrics_defaults() {
        use std::net::{IpAddr, Ipv4Addr};

        let s = resolve(&[], &no_env).unwrap();
        assert_eq!(METRICS_ENABLED.resolved(&s).unwrap(), Some(true));
        assert_eq!(METRICS_CARDINALITY_LIMIT.resolved(&s).unwrap(), Some(2000));
        assert_eq!(PROMETHEUS_ENABLED.resolved(&s).unwrap(), Some(false));
        assert_eq!(PROMETHEUS_PORT.resolved(&s).unwrap(), Some(9464));
        assert_eq!(
            PROMETHEUS_ADDRESS.resolved(&s).unwrap(),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            PROMETHEUS_PATH.resolved(&s).unwrap().as_deref(),
            Some("/metrics")
        );
        assert_eq!(METRICS_OTLP_ENDPOINT.resolved(&s).unwrap(), None);
        assert_eq!(
            METRICS_OTLP_PROTOCOL.resolved(&s).unwrap(),
            Some(OtlpProtocol::HttpProtobuf)
        );
        assert_eq!(
            METRICS_OTLP_INTERVAL.resolved(&s).unwrap(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            METRICS_OTLP_TEMPORALITY.resolved(&s).unwrap(),
            Some(Temporality::Cumulative)
        );
        // No endpoint, no Prometheus, no variable: nothing is exported.
        assert_eq!(metrics_exporters(&s), MetricsExporters::default());
        assert_eq!(
            metrics_otlp_url(&s).unwrap(),
            "http://localhost:4318/v1/metrics"
        );
        let (_, entries) = tracing_entries(&[], &no_env, false).unwrap();
        for (key, value) in [
            ("telemetry.metrics.exporters", "none"),
            ("telemetry.metrics.otlp.endpoint", "(none)"),
        ] {
            let e = entries.iter().find(|e| e.key == key).unwrap();
            assert_eq!(
                (e.value.as_str(), &e.source),
                (value, &ConfigSource::Default)
            );
        }
    }

    #[test]
    fn metrics_exporters_from_the_variable_replace_the_settings() {
        let file = Config::from_toml_str(
            "[telemetry.metrics.prometheus]
enabled = true
             [telemetry.metrics.otlp]
endpoint = \"http://c:4318\"
protocol = \"http/protobuf\"
",
        )
        .unwrap();
        let exporters = |vars: &[(&str, &str)]| {
            let env = Config::from_env_vars(vars.iter().copied()).unwrap();
            let s = resolve(&[&file, &env], &no_env).unwrap();
            let (_, entries) = tracing_entries(&[&file, &env], &no_env, false).unwrap();
            let entry = entries
                .iter()
                .find(|e| e.key == "telemetry.metrics.exporters")
                .unwrap()
                .clone();
            (metrics_exporters(&s), entry.value, entry.source.to_string())
        };
        let (on, value, source) = exporters(&[]);
        assert!(on.otlp && on.prometheus && !on.console);
        assert_eq!(
            (value.as_str(), source.as_str()),
            ("otlp, prometheus", "file <string>:2")
        );
        let (none, value, source) = exporters(&[("OTEL_METRICS_EXPORTER", "none")]);
        assert_eq!(none, MetricsExporters::default());
        assert_eq!(
            (value.as_str(), source.as_str()),
            ("none", "env `OTEL_METRICS_EXPORTER`")
        );
        let (console, value, _) = exporters(&[("OTEL_METRICS_EXPORTER", "Console, prometheus,")]);
        assert!(console.console && console.prometheus && !console.otlp);
        assert_eq!(value, "prometheus, console");

        // Named by the variable with no endpoint anywhere: the protocol's default URL.
        let env = Config::from_env_vars([
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        let s = resolve(&[&env], &no_env).unwrap();
        assert!(metrics_exporters(&s).otlp);
        assert_eq!(
            metrics_otlp_url(&s).unwrap(),
            "http://localhost:4318/v1/metrics"
        );
        let (_, entries) = tracing_entries(&[&env], &no_env, false).unwrap();
        let endpoint = entries
            .iter()
            .find(|e| e.key == "telemetry.metrics.otlp.endpoint")
            .unwrap();
        assert_eq!(endpoint.value, "http://localhost:4318/v1/metrics");
        assert_eq!(endpoint.source, ConfigSource::Default);
    }

    /// The `[telemetry.profiling*]` sections of the design's complete configuration
    /// (`seed-config.toml`), exactly as written there.
    const SEED_PROFILING: &str = r##"# --- CPU Profiling ------------------------------------------

[telemetry.profiling]
enabled = true

[telemetry.profiling.cpu]
enabled = true
frequency = 100                   # Sampling frequency (Hz)
continuous = true                 # Continuous vs on-demand
duration_seconds = 30             # Profile duration for periodic

# --- Memory Profiling ---------------------------------------

[telemetry.profiling.memory]
enabled = true
track_allocations = false         # Expensive, use for debugging
sampling_rate = 100               # Sample 1/100 allocations
heap_profiling = false            # Very expensive

# --- Profile Exporters --------------------------------------

[telemetry.profiling.exporter]
type = "pyroscope"                # "pyroscope", "gcp", "file"

# Pyroscope
pyroscope_endpoint = "http://localhost:4040"
application_name = "zdk-rust-app"

# GCP Cloud Profiler
# gcp_project_id = "my-project"
# gcp_service_name = "zdk-service"

# File output (development)
# file_output_dir = "./profiles"
"##;

    /// `(value, source)` of the report entry `key`.
    fn shown(entries: &[ConfigEntry], key: &str) -> (String, String) {
        let e = entries
            .iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("no entry {key}"));
        (e.value.clone(), e.source.to_string())
    }

    #[test]
    fn the_seed_profiling_sections_resolve() {
        let file = Config::from_toml_str(SEED_PROFILING).unwrap();
        let s = resolve(&[&file], &no_env).unwrap();
        assert_eq!(
            profiling_settings(&s).unwrap(),
            ProfilingSettings {
                enabled: true,
                span_resources: false,
                cpu_enabled: true,
                cpu_frequency_hz: 100,
                cpu_continuous: true,
                cpu_window: Duration::from_secs(30),
                memory_enabled: true,
                track_allocations: false,
                sampling_rate: 100,
                heap_profiling: false,
                exporter: ProfileExporterKind::Pyroscope {
                    endpoint: "http://localhost:4040".to_owned(),
                    application_name: Some("zdk-rust-app".to_owned()),
                },
            }
        );

        // `zdk-trace status` shows each with the line that set it, or its default.
        let (_, entries) = tracing_entries(&[&file], &no_env, false).unwrap();
        let file_line =
            |value: &str, line: usize| (value.to_owned(), format!("file <string>:{line}"));
        let default = |value: &str| (value.to_owned(), "default".to_owned());
        for (key, expected) in [
            ("telemetry.profiling.enabled", file_line("true", 4)),
            ("telemetry.profiling.span_resources", default("false")),
            ("telemetry.profiling.cpu.enabled", file_line("true", 7)),
            ("telemetry.profiling.cpu.frequency", file_line("100", 8)),
            ("telemetry.profiling.cpu.continuous", file_line("true", 9)),
            (
                "telemetry.profiling.cpu.duration_seconds",
                file_line("30s", 10),
            ),
            ("telemetry.profiling.memory.enabled", file_line("true", 15)),
            (
                "telemetry.profiling.memory.track_allocations",
                file_line("false", 16),
            ),
            (
                "telemetry.profiling.memory.sampling_rate",
                file_line("100", 17),
            ),
            (
                "telemetry.profiling.memory.heap_profiling",
                file_line("false", 18),
            ),
            (
                "telemetry.profiling.exporter.type",
                file_line("pyroscope", 23),
            ),
            (
                "telemetry.profiling.exporter.pyroscope_endpoint",
                file_line("http://localhost:4040", 26),
            ),
            (
                "telemetry.profiling.exporter.application_name",
                file_line("zdk-rust-app", 27),
            ),
            (
                "telemetry.profiling.exporter.file_output_dir",
                default("./profiles"),
            ),
            (
                "telemetry.profiling.exporter.gcp_project_id",
                default("(none)"),
            ),
            (
                "telemetry.profiling.exporter.gcp_service_name",
                default("(none)"),
            ),
        ] {
            assert_eq!(shown(&entries, key), expected, "{key}");
        }

        // The keys the seed leaves commented out are accepted too.
        let uncommented = SEED_PROFILING
            .replace("# gcp_", "gcp_")
            .replace("# file_output_dir", "file_output_dir");
        let file = Config::from_toml_str(&uncommented).unwrap();
        let s = resolve(&[&file], &no_env).unwrap();
        assert_eq!(
            PROFILING_GCP_PROJECT_ID.resolved(&s).unwrap().as_deref(),
            Some("my-project")
        );
        assert_eq!(
            PROFILING_GCP_SERVICE_NAME.resolved(&s).unwrap().as_deref(),
            Some("zdk-service")
        );
        assert_eq!(
            PROFILING_FILE_OUTPUT_DIR.resolved(&s).unwrap().as_deref(),
            Some("./profiles")
        );
        // The directory belongs to the `file` exporter: with `pyroscope` it is not used.
        assert!(matches!(
            profiling_settings(&s).unwrap().exporter,
            ProfileExporterKind::Pyroscope { .. }
        ));
        let (_, entries) = tracing_entries(&[&file], &no_env, false).unwrap();
        assert_eq!(
            shown(&entries, "telemetry.profiling.exporter.gcp_service_name"),
            file_line("zdk-service", 31)
        );
    }

    #[test]
    fn profiling_defaults() {
        let s = resolve(&[], &no_env).unwrap();
        assert_eq!(
            profiling_settings(&s).unwrap(),
            ProfilingSettings {
                enabled: false,
                span_resources: false,
                cpu_enabled: false,
                cpu_frequency_hz: 99,
                cpu_continuous: false,
                cpu_window: Duration::from_secs(10),
                memory_enabled: false,
                track_allocations: false,
                sampling_rate: 100,
                heap_profiling: false,
                exporter: ProfileExporterKind::File {
                    dir: PathBuf::from("./profiles"),
                },
            }
        );
        // Pyroscope with no name of its own: the service name is used (`None`), and shown.
        let file = Config::from_toml_str(
            "[telemetry]\nservice_name = \"my-agent\"\n\
             [telemetry.profiling.exporter]\ntype = \"pyroscope\"\n",
        )
        .unwrap();
        let s = resolve(&[&file], &no_env).unwrap();
        assert_eq!(
            profiling_settings(&s).unwrap().exporter,
            ProfileExporterKind::Pyroscope {
                endpoint: "http://localhost:4040".to_owned(),
                application_name: None,
            }
        );
        let (_, entries) = tracing_entries(&[&file], &no_env, false).unwrap();
        assert_eq!(
            shown(&entries, "telemetry.profiling.exporter.application_name"),
            ("my-agent".to_owned(), "default".to_owned())
        );
        let (_, entries) = tracing_entries(&[], &no_env, false).unwrap();
        assert_eq!(
            shown(&entries, "telemetry.profiling.exporter.application_name"),
            ("unknown_service".to_owned(), "default".to_owned())
        );
    }

    #[test]
    fn the_gcp_exporter_is_refused_naming_the_key() {
        // Read (the design's schema names it), refused when the layers are resolved.
        let file =
            Config::from_toml_str("[telemetry.profiling.exporter]\ntype = \"gcp\"\n").unwrap();
        let err = resolve(&[&file], &no_env).unwrap_err();
        match &err {
            ConfigError::Invalid {
                source_name,
                line,
                key,
                value,
                expected,
            } => {
                assert_eq!(
                    (source_name.as_str(), *line, key.as_str(), value.as_str()),
                    (
                        "<string>",
                        Some(2),
                        "telemetry.profiling.exporter.type",
                        "\"gcp\""
                    )
                );
                assert!(
                    expected.contains("GCP Cloud Profiler is not supported yet"),
                    "{expected}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "<string>:2: invalid value \"gcp\" for `telemetry.profiling.exporter.type`; \
                 expected `file` or `pyroscope`: GCP Cloud Profiler is not supported yet"
            ),
            "{msg}"
        );
        assert!(msg.contains("`file_output_dir`") && msg.contains("`pyroscope_endpoint`"));
        // Even with profiling off; `zdk-trace status` refuses it too.
        let off = Config::from_toml_str(
            "[telemetry.profiling]\nenabled = false\n[telemetry.profiling.exporter]\n\
             type = \"gcp\"\ngcp_project_id = \"my-project\"\n",
        )
        .unwrap();
        assert!(resolve(&[&off], &no_env).is_err());
        assert_eq!(
            tracing_entries(&[&file], &no_env, false)
                .unwrap_err()
                .to_string(),
            msg
        );
        // Read directly from resolved settings, the same error.
        let settings = Settings {
            layers: vec![file.clone()],
            ..resolve(&[], &no_env).unwrap()
        };
        assert_eq!(profiling_settings(&settings).unwrap_err().to_string(), msg);
        // A later layer's choice replaces it.
        let later =
            Config::from_toml_str("[telemetry.profiling.exporter]\ntype = \"file\"\n").unwrap();
        assert!(resolve(&[&file, &later], &no_env).is_ok());

        // Anything else is refused as the file is read, with the supported choices.
        let err = Config::from_toml_str("[telemetry.profiling.exporter]\ntype = \"pyroscop\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "<string>:2: invalid value \"pyroscop\" for `telemetry.profiling.exporter.type`; \
             expected one of `file`, `pyroscope`; did you mean `pyroscope`?"
        );
        let err = Config::from_toml_str("[telemetry.profiling.exporter]\ntype = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected one of `file`, `pyroscope`"), "{err}");
    }

    #[test]
    fn cpu_frequency_out_of_range() {
        for bad in ["0", "5000", "1001", "-1", "99.5", "\"99\""] {
            let err =
                Config::from_toml_str(&format!("[telemetry.profiling.cpu]\nfrequency = {bad}\n"))
                    .unwrap_err();
            match &err {
                ConfigError::Invalid {
                    key,
                    line,
                    value,
                    expected,
                    ..
                } => {
                    assert_eq!(
                        (key.as_str(), *line, value.as_str()),
                        ("telemetry.profiling.cpu.frequency", Some(2), bad)
                    );
                    assert!(expected.contains("from 1 to 1000"), "{expected}");
                }
                other => panic!("{bad}: unexpected {other:?}"),
            }
        }
        for (bound, hz) in [("1", 1), ("1000", 1000), ("0x63", 99)] {
            let file =
                Config::from_toml_str(&format!("[telemetry.profiling.cpu]\nfrequency = {bound}\n"))
                    .unwrap();
            let s = resolve(&[&file], &no_env).unwrap();
            assert_eq!(profiling_settings(&s).unwrap().cpu_frequency_hz, hz);
        }
        for bad in ["0", "5000", "99Hz"] {
            let err =
                Config::from_env_vars([("ZDK_TRACE_PROFILING_CPU_FREQUENCY", bad)]).unwrap_err();
            match &err {
                ConfigError::Env {
                    var,
                    value,
                    expected,
                } => {
                    assert_eq!(
                        (var.as_str(), value.as_str()),
                        ("ZDK_TRACE_PROFILING_CPU_FREQUENCY", bad)
                    );
                    assert!(expected.contains("from 1 to 1000"), "{expected}");
                }
                other => panic!("{bad}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn other_profiling_values_are_checked() {
        for (table, line, key, accepted) in [
            (
                "cpu",
                "duration_seconds = 0",
                "duration_seconds",
                "from 1 to 3600",
            ),
            (
                "cpu",
                "duration_seconds = 3601",
                "duration_seconds",
                "from 1 to 3600",
            ),
            (
                "cpu",
                "duration_seconds = 1.5",
                "duration_seconds",
                "a whole number",
            ),
            (
                "memory",
                "sampling_rate = 0",
                "sampling_rate",
                "from 1 (every allocation)",
            ),
            (
                "memory",
                "sampling_rate = 4294967296",
                "sampling_rate",
                "4294967295",
            ),
            (
                "memory",
                "heap_profiling = \"no\"",
                "heap_profiling",
                "`true` or `false`",
            ),
            (
                "exporter",
                "pyroscope_endpoint = \"localhost:4040\"",
                "pyroscope_endpoint",
                "e.g. `http://localhost:4040`",
            ),
            (
                "exporter",
                "application_name = \"\"",
                "application_name",
                "here it is empty",
            ),
            (
                "exporter",
                "file_output_dir = \"\"",
                "file_output_dir",
                "a non-empty directory",
            ),
            (
                "exporter",
                "gcp_project_id = 1",
                "gcp_project_id",
                "a non-empty string",
            ),
        ] {
            let doc = format!("[telemetry.profiling.{table}]\n{line}\n");
            let err = Config::from_toml_str(&doc).unwrap_err();
            let full_key = format!("telemetry.profiling.{table}.{key}");
            match &err {
                ConfigError::Invalid {
                    key: k,
                    line: l,
                    expected,
                    ..
                } => {
                    assert_eq!((k, *l), (&full_key, Some(2)), "{doc}");
                    assert!(expected.contains(accepted), "{doc}: {expected}");
                }
                other => panic!("{doc}: unexpected {other:?}"),
            }
        }
        let err = Config::from_toml_str("[telemetry.profiling]\nspan_resource = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `span_resources`?"), "{err}");
    }

    #[test]
    fn profiling_variables() {
        let file = Config::from_toml_str(
            "[telemetry.profiling]\nenabled = false\n\
             [telemetry.profiling.exporter]\ntype = \"pyroscope\"\n\
             pyroscope_endpoint = \"http://file:4040\"\napplication_name = \"from-file\"\n",
        )
        .unwrap();
        let env = Config::from_env_vars([
            ("ZDK_TRACE_PROFILING_ENABLED", "TRUE"),
            ("ZDK_TRACE_PROFILING_SPAN_RESOURCES", "true"),
            ("ZDK_TRACE_PROFILING_CPU_ENABLED", "true"),
            ("ZDK_TRACE_PROFILING_CPU_FREQUENCY", "250"),
            ("PYROSCOPE_SERVER_ADDRESS", "https://pyroscope.example.com"),
            ("PYROSCOPE_APPLICATION_NAME", "from-env"),
        ])
        .unwrap();
        let s = resolve(&[&file, &env], &no_env).unwrap();
        let p = profiling_settings(&s).unwrap();
        assert!(p.enabled && p.span_resources && p.cpu_enabled);
        assert_eq!(p.cpu_frequency_hz, 250);
        assert_eq!(
            p.exporter,
            ProfileExporterKind::Pyroscope {
                endpoint: "https://pyroscope.example.com".to_owned(),
                application_name: Some("from-env".to_owned()),
            }
        );
        let (_, entries) = tracing_entries(&[&file, &env], &no_env, false).unwrap();
        for (key, value, var) in [
            (
                "telemetry.profiling.enabled",
                "true",
                "ZDK_TRACE_PROFILING_ENABLED",
            ),
            (
                "telemetry.profiling.span_resources",
                "true",
                "ZDK_TRACE_PROFILING_SPAN_RESOURCES",
            ),
            (
                "telemetry.profiling.cpu.frequency",
                "250",
                "ZDK_TRACE_PROFILING_CPU_FREQUENCY",
            ),
            (
                "telemetry.profiling.exporter.pyroscope_endpoint",
                "https://pyroscope.example.com",
                "PYROSCOPE_SERVER_ADDRESS",
            ),
            (
                "telemetry.profiling.exporter.application_name",
                "from-env",
                "PYROSCOPE_APPLICATION_NAME",
            ),
        ] {
            assert_eq!(
                shown(&entries, key),
                (value.to_owned(), format!("env `{var}`")),
                "{key}"
            );
        }
        for (var, bad, accepted) in [
            (
                "PYROSCOPE_SERVER_ADDRESS",
                "localhost:4040",
                "e.g. `http://localhost:4040`",
            ),
            (
                "PYROSCOPE_APPLICATION_NAME",
                "a\u{1b}b",
                "control character U+001B",
            ),
            ("ZDK_TRACE_PROFILING_ENABLED", "yes", "`true` or `false`"),
        ] {
            match Config::from_env_vars([(var, bad)]).unwrap_err() {
                ConfigError::Env {
                    var: v, expected, ..
                } => {
                    assert_eq!(v, var);
                    assert!(expected.contains(accepted), "{var}: {expected}");
                }
                other => panic!("{var}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn report_keeps_its_order() {
        let settings = resolve(&[], &no_env).unwrap();
        let (_, entries) = tracing_entries(&[], &no_env, false).unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "telemetry.enabled",
                "telemetry.logging",
                "telemetry.service_name",
                "telemetry.service_version",
                "telemetry.tracing.sampling.strategy",
                "telemetry.tracing.sampling.always_sample_errors",
                "telemetry.tracing.sampling.always_sample_slow_seconds",
                "telemetry.tracing.sampling.max_traces_per_second",
                "telemetry.tracing.otlp.batch.max_queue_size",
                "telemetry.tracing.otlp.batch.max_export_batch_size",
                "telemetry.tracing.otlp.batch.scheduled_delay_seconds",
                "telemetry.tracing.otlp.batch.export_timeout_seconds",
                "telemetry.tracing.otlp.batch.max_request_bytes",
                "telemetry.tracing.limits.attribute_value_length",
                "telemetry.tracing.limits.attribute_count",
                "telemetry.tracing.limits.event_count",
                "telemetry.tracing.limits.link_count",
                "telemetry.tracing.exporters",
                "telemetry.tracing.otlp.endpoint",
                "telemetry.tracing.otlp.protocol",
                "telemetry.tracing.otlp.timeout_seconds",
                "telemetry.tracing.otlp.retry.buffer_bytes",
                "telemetry.tracing.otlp.retry.max_age_seconds",
                "telemetry.tracing.otlp.retry.circuit_failures",
                "telemetry.tracing.otlp.retry.probe_interval_seconds",
                "telemetry.tracing.otlp.compression",
                "telemetry.genai.capture_message_content",
                "telemetry.metrics.enabled",
                "telemetry.metrics.exporters",
                "telemetry.metrics.cardinality_limit",
                "telemetry.metrics.prometheus.enabled",
                "telemetry.metrics.prometheus.address",
                "telemetry.metrics.prometheus.port",
                "telemetry.metrics.prometheus.path",
                "telemetry.metrics.otlp.endpoint",
                "telemetry.metrics.otlp.protocol",
                "telemetry.metrics.otlp.interval_seconds",
                "telemetry.metrics.otlp.temporality",
                "telemetry.profiling.enabled",
                "telemetry.profiling.span_resources",
                "telemetry.profiling.cpu.enabled",
                "telemetry.profiling.cpu.frequency",
                "telemetry.profiling.cpu.continuous",
                "telemetry.profiling.cpu.duration_seconds",
                "telemetry.profiling.memory.enabled",
                "telemetry.profiling.memory.track_allocations",
                "telemetry.profiling.memory.sampling_rate",
                "telemetry.profiling.memory.heap_profiling",
                "telemetry.profiling.exporter.type",
                "telemetry.profiling.exporter.pyroscope_endpoint",
                "telemetry.profiling.exporter.application_name",
                "telemetry.profiling.exporter.file_output_dir",
                "telemetry.profiling.exporter.gcp_project_id",
                "telemetry.profiling.exporter.gcp_service_name",
            ]
        );
        let usage = usage_setting_entries(&[], &settings, &no_env).unwrap();
        let keys: Vec<&str> = usage.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "telemetry.usage.enabled",
                "telemetry.usage.endpoint",
                "telemetry.usage.notice",
                "telemetry.usage.circuit_cooldown_seconds",
            ]
        );
    }
}
