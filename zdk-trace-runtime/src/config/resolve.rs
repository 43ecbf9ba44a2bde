//! Merging layers (code < file < environment) into the [`Settings`] the pipeline is built from.

use super::endpoint::{
    append_traces_path, base_with_port, is_valid_url, jaeger_legacy_port, port_of, traces_url,
    EXPECTED_URL, OTLP_GRPC_PORT, OTLP_HTTP_PORT,
};
use super::entry::{source_of, ConfigSource, ConfigWarning};
use super::error::ConfigError;
#[cfg(feature = "config-file")]
use super::expand::{expand, ExpandError};
use super::kinds::{
    attribute_problem, header_problem, FILE_PATH, HEADER_VALUE, SERVICE_NAME_ATTRIBUTE,
};
use super::settings::{
    BatchSettings, ExporterSettings, OtlpProtocol, OtlpSettings, Secret, Settings, UsageSettings,
    OTLP_PROTOCOL_DEFAULT, SERVICE_NAME_DEFAULT,
};
use super::table::{
    prices, profiling, CAPTURE, ENABLED, EXPORTERS, EXPORT_TIMEOUT, KEEP_ERRORS, LOGGING,
    MAX_EXPORT_BATCH_SIZE, MAX_QUEUE_SIZE, MAX_REQUEST_BYTES, MAX_TRACES_PER_SECOND,
    OTLP_COMPRESSION, OTLP_ENDPOINT, OTLP_PROTOCOL, OTLP_TIMEOUT, PROBABILITY, SCHEDULED_DELAY,
    SERVICE_NAME, SERVICE_VERSION, SLOW_THRESHOLD, STRATEGY, TRACING_ENABLED, USAGE_ENABLED,
    USAGE_ENDPOINT, USAGE_NOTICE,
};
use super::toml_value::EXPECTED_PROBABILITY;
use super::values::{Config, Endpoint, ExporterChoice, Origin, Root, Set, Strategy};
use crate::sampling::{Sampler, TailSampling};
/// The ratio of `traceidratio` samplers when no layer sets one (as `OTEL_TRACES_SAMPLER_ARG`).
const PROBABILITY_DEFAULT: f64 = 1.0;

/// Merges `layers`, lowest precedence first (code, then file, then environment): a value set in
/// a later layer replaces the earlier one; resource attributes and OTLP headers merge by key.
/// `${VAR}` in a file's header values is looked up with `env_for_expansion`.
///
/// Values that only make sense together (a batch no larger than the queue, a probability for
/// the `probability` strategy) are checked here, where every layer is known; values set in code
/// are checked here too.
pub(crate) fn resolve(
    layers: &[&Config],
    env_for_expansion: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let enabled = ENABLED.last(layers).is_none_or(|s| s.value)
        && TRACING_ENABLED.last(layers).is_none_or(|s| s.value);

    // File and environment values were checked when read; this catches code values.
    for set in layers.iter().flat_map(|layer| &layer.resource) {
        let (key, value) = &set.value;
        if let Some(problem) = attribute_problem(key, value) {
            return Err(set.origin.invalid(format!("{key:?} = {value:?}"), problem));
        }
    }
    SERVICE_NAME.value(layers)?;
    SERVICE_VERSION.value(layers)?;
    // The model prices are read by the stage that computes costs (`table::model_prices`);
    // checked here too, so that `install()` and `zdk-trace status` refuse a bad one.
    prices(layers)?;
    // The profiling settings are read by the profiling stage (`table::profiling_settings`);
    // checked here too, so that `install()` and `zdk-trace status` refuse `exporter.type =
    // "gcp"`, which files may write but nothing supports yet.
    profiling(layers)?;

    let mut service_name = None;
    for layer in layers {
        // A layer's `service.name` resource attribute names the service only when that layer
        // has no service name of its own (the OTel rule for `OTEL_RESOURCE_ATTRIBUTES`).
        let from_resource = layer
            .resource
            .iter()
            .rev()
            .find(|set| set.value.0 == SERVICE_NAME_ATTRIBUTE)
            .map(|set| &set.value.1);
        if let Some(name) = layer
            .service_name
            .as_ref()
            .map(|s| &s.value)
            .or(from_resource)
        {
            service_name = Some(name.clone());
        }
    }

    let mut resource_attributes: Vec<(String, String)> = Vec::new();
    for set in layers.iter().flat_map(|layer| &layer.resource) {
        let (key, value) = &set.value;
        if key != SERVICE_NAME_ATTRIBUTE {
            resource_attributes.retain(|(k, _)| k != key);
            resource_attributes.push((key.clone(), value.clone()));
        }
    }

    let mut warnings = Vec::new();
    let exporters = match last(layers, |c| &c.exporters) {
        Some(list) => {
            let mut exporters = Vec::with_capacity(list.value.len());
            for (index, choice) in list.value.iter().enumerate() {
                exporters.push(match choice {
                    ExporterChoice::Stdout => ExporterSettings::Stdout,
                    ExporterChoice::File(path) => {
                        // A file's path was checked when read; this catches code values.
                        let shown = path.to_string_lossy();
                        if let Some(expected) = FILE_PATH.check(&shown) {
                            return Err(list.origin.invalid(format!("{shown:?}"), expected));
                        }
                        ExporterSettings::File { path: path.clone() }
                    }
                    ExporterChoice::Otlp => {
                        let otlp = resolve_otlp(layers, env_for_expansion)?;
                        warnings.extend(otlp_endpoint_warning(layers, &otlp));
                        ExporterSettings::Otlp(otlp)
                    }
                    ExporterChoice::Backend {
                        backend,
                        endpoint,
                        protocol,
                    } => {
                        let otlp = resolve_backend(layers, endpoint.as_ref(), protocol.as_ref())?;
                        warnings.extend(legacy_port_warning(
                            format!("{}[{index}].endpoint", EXPORTERS.key),
                            source_of(endpoint.as_ref()),
                            &otlp,
                        ));
                        ExporterSettings::Backend {
                            backend: *backend,
                            otlp,
                        }
                    }
                });
            }
            // The list is *additional* to `[telemetry.tracing.otlp]` (as the design documents'
            // config file reads: "Additional exporters"): an OTLP endpoint set anywhere adds
            // that exporter first, unless the list names it itself.
            let lists_otlp = list.value.iter().any(|c| matches!(c, ExporterChoice::Otlp));
            if !lists_otlp && last(layers, |c| &c.otlp.endpoint).is_some() {
                let otlp = resolve_otlp(layers, env_for_expansion)?;
                warnings.extend(otlp_endpoint_warning(layers, &otlp));
                exporters.insert(0, ExporterSettings::Otlp(otlp));
            }
            exporters
        }
        None if last(layers, |c| &c.otlp.endpoint).is_some() => {
            let otlp = resolve_otlp(layers, env_for_expansion)?;
            warnings.extend(otlp_endpoint_warning(layers, &otlp));
            vec![ExporterSettings::Otlp(otlp)]
        }
        // The pipeline's default (the console).
        None => Vec::new(),
    };

    Ok(Settings {
        enabled,
        logging: LOGGING.value(layers)?.unwrap_or(false),
        service_name: service_name.unwrap_or_else(|| SERVICE_NAME_DEFAULT.to_owned()),
        service_version: last(layers, |c| &c.service_version).map(|s| s.value.clone()),
        resource_attributes,
        sampler: sampler(layers)?,
        tail: tail(layers)?,
        batch: batch(layers)?,
        exporters,
        capture: CAPTURE.value(layers)?.unwrap_or_default(),
        usage: usage(layers)?,
        warnings,
        layers: layers.iter().map(|layer| (*layer).clone()).collect(),
    })
}

/// The value set by the last layer that sets it.
fn last<'a, T>(
    layers: &[&'a Config],
    field: impl Fn(&'a Config) -> &'a Option<Set<T>>,
) -> Option<&'a Set<T>> {
    layers.iter().rev().find_map(|layer| field(layer).as_ref())
}

fn sampler(layers: &[&Config]) -> Result<Sampler, ConfigError> {
    let probability = PROBABILITY.last(layers);
    // Checks the ratio set last, wherever it was set (code too: NaN or 1.5 is a mistake).
    PROBABILITY.value(layers)?;
    let ratio = probability.map(|p| p.value);
    let Some(strategy) = STRATEGY.last(layers) else {
        // A probability with no strategy anywhere means sampling by that probability.
        return Ok(ratio.map_or_else(Sampler::default, Sampler::TraceIdRatio));
    };
    let required_ratio = || match (ratio, &strategy.origin) {
        (Some(p), _) => Ok(p),
        // A file that says `strategy = "probability"` must say which.
        #[cfg(feature = "config-file")]
        (
            None,
            Origin::File {
                source_name, line, ..
            },
        ) => Err(ConfigError::Missing {
            source_name: source_name.clone(),
            line: Some(*line),
            key: "telemetry.tracing.sampling.probability".to_owned(),
            expected: format!(
                "`probability = …`, {EXPECTED_PROBABILITY} (`strategy = \"probability\"` needs it)"
            ),
        }),
        // `OTEL_TRACES_SAMPLER=traceidratio` without `OTEL_TRACES_SAMPLER_ARG` means 1.
        (None, _) => Ok(PROBABILITY_DEFAULT),
    };
    Ok(match &strategy.value {
        Strategy::AlwaysOn => Sampler::AlwaysOn,
        Strategy::AlwaysOff => Sampler::AlwaysOff,
        Strategy::TraceIdRatio => Sampler::TraceIdRatio(required_ratio()?),
        Strategy::ParentBased(root) => Sampler::parent_based(match root {
            Root::AlwaysOn => Sampler::AlwaysOn,
            Root::AlwaysOff => Sampler::AlwaysOff,
            Root::TraceIdRatio => Sampler::TraceIdRatio(ratio.unwrap_or(PROBABILITY_DEFAULT)),
            #[cfg(feature = "config-file")]
            Root::RatioOrAlwaysOn => ratio.map_or(Sampler::AlwaysOn, Sampler::TraceIdRatio),
        }),
        Strategy::Exact(sampler) => {
            if let Some(p) = ratio_of(sampler).filter(|p| !(0.0..=1.0).contains(p)) {
                return Err(strategy
                    .origin
                    .invalid(p.to_string(), EXPECTED_PROBABILITY.to_owned()));
            }
            sampler.clone()
        }
    })
}

/// The ratio of a (nested) ratio sampler.
fn ratio_of(sampler: &Sampler) -> Option<f64> {
    match sampler {
        Sampler::TraceIdRatio(p) => Some(*p),
        Sampler::ParentBased(root) => ratio_of(root),
        _ => None,
    }
}

fn tail(layers: &[&Config]) -> Result<TailSampling, ConfigError> {
    let mut tail = TailSampling::default();
    if let Some(keep) = KEEP_ERRORS.last(layers) {
        tail = tail.keep_errors(keep.value);
    }
    if let Some(slow) = SLOW_THRESHOLD.value(layers)? {
        tail = tail.keep_slower_than(slow);
    }
    if let Some(rate) = MAX_TRACES_PER_SECOND.value(layers)? {
        tail = tail.max_traces_per_second(rate);
    }
    Ok(tail)
}

fn batch(layers: &[&Config]) -> Result<BatchSettings, ConfigError> {
    let max_queue_size = MAX_QUEUE_SIZE.value(layers)?.unwrap_or_default();
    // Checks the batch size set last against its own range first.
    MAX_EXPORT_BATCH_SIZE.value(layers)?;
    let batch = MAX_EXPORT_BATCH_SIZE.last(layers);
    let max_export_batch_size = match batch {
        Some(b) if b.value > max_queue_size => {
            let queue_from = MAX_QUEUE_SIZE
                .last(layers)
                .map_or("the default".to_owned(), |q| q.origin.describe());
            return Err(b.origin.invalid(
                b.value.to_string(),
                format!(
                    "a positive integer no larger than the queue size, {max_queue_size} \
                     (set by {queue_from})"
                ),
            ));
        }
        Some(b) => b.value,
        // A small queue (set alone) lowers the default batch instead of being an error.
        None => MAX_EXPORT_BATCH_SIZE
            .value(layers)?
            .unwrap_or_default()
            .min(max_queue_size),
    };
    Ok(BatchSettings {
        max_queue_size,
        max_export_batch_size,
        scheduled_delay: SCHEDULED_DELAY.value(layers)?.unwrap_or_default(),
        export_timeout: EXPORT_TIMEOUT.value(layers)?.unwrap_or_default(),
        max_request_bytes: MAX_REQUEST_BYTES.value(layers)?.unwrap_or_default(),
    })
}

fn usage(layers: &[&Config]) -> Result<UsageSettings, ConfigError> {
    Ok(UsageSettings {
        enabled: USAGE_ENABLED.value(layers)?.unwrap_or_default(),
        url: USAGE_ENDPOINT
            .value(layers)?
            .map(|endpoint| append_traces_path(&endpoint)),
        notice: USAGE_NOTICE.value(layers)?.unwrap_or(true),
    })
}

/// The protocol of a backend's exporter (`type = "jaeger"`, `"tempo"`): the entry's
/// `protocol`, else OTLP over HTTP when the endpoint is on port 4318 (the OTLP/HTTP port),
/// else gRPC (port 4317, and the default endpoint).
pub(crate) fn backend_protocol(
    endpoint: Option<&str>,
    protocol: Option<OtlpProtocol>,
) -> OtlpProtocol {
    protocol.unwrap_or(match endpoint.and_then(port_of) {
        Some(OTLP_HTTP_PORT) => OtlpProtocol::HttpProtobuf,
        _ => OtlpProtocol::Grpc,
    })
}

/// The OTLP settings of a backend's exporter: its own endpoint (default
/// `http://localhost:4317`, or `http://localhost:4318/v1/traces` for `http/protobuf`) and
/// protocol; the timeout and compression of `[telemetry.tracing.otlp]`. The headers of
/// `[telemetry.tracing.otlp.headers]` are not sent: they are the credentials of another
/// endpoint.
fn resolve_backend(
    layers: &[&Config],
    endpoint: Option<&Set<String>>,
    protocol: Option<&Set<OtlpProtocol>>,
) -> Result<OtlpSettings, ConfigError> {
    // Only files set a backend's endpoint, and the file reader checked it.
    let url = endpoint.map(|set| set.value.as_str());
    let protocol = backend_protocol(url, protocol.map(|set| set.value));
    Ok(OtlpSettings {
        endpoint: traces_url(url.map(|u| Endpoint::Url(u.to_owned())).as_ref(), protocol),
        protocol,
        headers: Vec::new(),
        timeout: OTLP_TIMEOUT.value(layers)?.unwrap_or_default(),
        gzip: OTLP_COMPRESSION.value(layers)?.unwrap_or_default(),
    })
}

/// The warning for the `[telemetry.tracing.otlp]` exporter's endpoint, if it is on a legacy
/// Jaeger port.
fn otlp_endpoint_warning(layers: &[&Config], otlp: &OtlpSettings) -> Option<ConfigWarning> {
    legacy_port_warning(
        OTLP_ENDPOINT.key.to_owned(),
        source_of(last(layers, |c| &c.otlp.endpoint)),
        otlp,
    )
}

/// A warning when `otlp`'s endpoint is on one of Jaeger's legacy ports (14250: its own
/// model.proto over gRPC; 14268: Thrift over HTTP), which do not speak OTLP, so every export
/// there would fail; it says which ports do and what to write instead.
fn legacy_port_warning(
    key: String,
    source: ConfigSource,
    otlp: &OtlpSettings,
) -> Option<ConfigWarning> {
    let url = &otlp.endpoint;
    let port = port_of(url)?;
    let what = jaeger_legacy_port(port)?;
    let grpc = base_with_port(url, OTLP_GRPC_PORT)?;
    let http = base_with_port(url, OTLP_HTTP_PORT)?;
    Some(ConfigWarning {
        key,
        source,
        message: format!(
            "`{url}` is on port {port}, {what}, which does not accept OTLP: every export \
             there would fail. Jaeger 1.35 and later (and Jaeger v2) ingest OTLP natively on \
             {OTLP_GRPC_PORT} (gRPC) and {OTLP_HTTP_PORT} (HTTP): use `{grpc}` for OTLP over \
             gRPC, or `{http}` with protocol `http/protobuf`"
        ),
    })
}

/// The OTLP settings of `layers`, whether or not an OTLP exporter is on.
pub(crate) fn resolve_otlp(
    layers: &[&Config],
    env_for_expansion: &dyn Fn(&str) -> Option<String>,
) -> Result<OtlpSettings, ConfigError> {
    let protocol = OTLP_PROTOCOL
        .value(layers)?
        .unwrap_or(OTLP_PROTOCOL_DEFAULT);
    let endpoint = last(layers, |c| &c.otlp.endpoint);
    if let Some(endpoint) = endpoint {
        if !is_valid_url(endpoint.value.url()) {
            return Err(endpoint.origin.invalid(
                format!("{:?}", endpoint.value.url()),
                EXPECTED_URL.to_owned(),
            ));
        }
    }

    // Only files hold `${VAR}` templates: nothing to expand without the file reader.
    #[cfg(not(feature = "config-file"))]
    let _ = env_for_expansion;
    let mut headers: Vec<(String, Secret)> = Vec::new();
    for set in layers.iter().flat_map(|layer| &layer.otlp.headers) {
        let (name, Secret(value)) = &set.value;
        let hidden = || format!("{name}: \"***\"");
        // File and environment headers were checked when read; this catches code values.
        if let Some(problem) = header_problem(name, value) {
            return Err(set.origin.invalid(hidden(), problem));
        }
        let value = match &set.origin {
            // Only files hold `${VAR}` templates; code and env values are sent as given.
            #[cfg(feature = "config-file")]
            Origin::File {
                source_name,
                line,
                key,
            } => expand(value, env_for_expansion).map_err(|err| match err {
                ExpandError::Missing(var) => ConfigError::MissingEnvVar {
                    var,
                    key: key.clone(),
                    source_name: source_name.clone(),
                    line: Some(*line),
                },
                // Syntax was checked when the file was read.
                ExpandError::Unterminated | ExpandError::BadName(_) => set
                    .origin
                    .invalid("\"***\"".to_owned(), ExpandError::EXPECTED.to_owned()),
            })?,
            Origin::Code { .. } | Origin::Env { .. } => value.clone(),
        };
        // `${VAR}` may bring in what the file could not hold: a variable read from a file
        // often ends in a line break, which no HTTP client can send.
        if let Some(problem) = HEADER_VALUE.problem(&value) {
            return Err(set.origin.invalid(
                hidden(),
                format!(
                    "{}; here, once `${{…}}` is expanded, {problem}",
                    HEADER_VALUE.expected
                ),
            ));
        }
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        headers.push((name.clone(), Secret(value)));
    }

    Ok(OtlpSettings {
        endpoint: traces_url(endpoint.map(|e| &e.value), protocol),
        protocol,
        headers,
        timeout: OTLP_TIMEOUT.value(layers)?.unwrap_or_default(),
        gzip: OTLP_COMPRESSION.value(layers)?.unwrap_or_default(),
    })
}

// These tests read `zdk-trace.toml` documents.
#[cfg(all(test, feature = "config-file"))]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::config::env_value::{
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_EXPORTER_OTLP_ENDPOINT,
        OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_SDK_DISABLED,
        OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG,
    };
    use crate::config::settings::{Backend, OtlpProtocol, OTLP_TIMEOUT_DEFAULT};
    use crate::config::Protocol;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn toml(s: &str) -> Config {
        Config::from_toml_str(s).unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> Config {
        Config::from_env_vars(vars.iter().copied()).unwrap()
    }

    fn settings(layers: &[&Config]) -> Settings {
        resolve(layers, &no_env).unwrap()
    }

    #[test]
    fn defaults() {
        let s = settings(&[]);
        assert!(s.enabled);
        assert_eq!(s.service_name, SERVICE_NAME_DEFAULT);
        assert_eq!(s.service_version, None);
        assert_eq!(s.sampler, Sampler::AlwaysOn);
        assert_eq!(s.tail, TailSampling::default());
        assert_eq!(s.batch, BatchSettings::default());
        assert!(s.exporters.is_empty());
    }

    #[test]
    fn usage_settings() {
        let off = settings(&[]).usage;
        assert!(!off.enabled && off.url.is_none() && off.notice);
        let code = Config::default()
            .with_usage_enabled(true)
            .with_usage_endpoint("http://a:4318/");
        let file = toml("[telemetry.usage]\nendpoint = \"http://b\"\nnotice = false\n");
        let usage = settings(&[&code, &file]).usage;
        assert!(usage.enabled && !usage.notice);
        assert_eq!(usage.url.as_deref(), Some("http://b/v1/traces"));
        assert_eq!(
            settings(&[&code]).usage.url.as_deref(),
            Some("http://a:4318/v1/traces")
        );
        let bad = Config::default().with_usage_endpoint("usage.example.com");
        let err = resolve(&[&bad], &no_env).unwrap_err().to_string();
        assert!(err.contains("with_usage_endpoint"), "{err}");
        // Whatever is wrong with a usage endpoint, the error asks for what is accepted: an
        // `http://` URL (never "http:// or https://", which would then be refused).
        assert!(
            err.contains("an `http://` URL") && !err.contains("https:// URL"),
            "{err}"
        );
        let err = Config::from_toml_str("[telemetry.usage]\nendpoint = \"usage.example.com\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("an `http://` URL") && !err.contains("https:// URL"),
            "{err}"
        );
        // No TLS backend: https is refused, naming the value, its origin and the limitation.
        let tls = Config::default().with_usage_endpoint("https://usage.example.com");
        let err = resolve(&[&tls], &no_env).unwrap_err().to_string();
        assert!(
            err.contains("with_usage_endpoint")
                && err.contains("https://usage.example.com")
                && err.contains("no TLS backend"),
            "{err}"
        );
        let tls = toml("[telemetry.usage]\nendpoint = \"https://usage.example.com\"\n");
        let err = resolve(&[&tls], &no_env).unwrap_err().to_string();
        assert!(
            err.contains("telemetry.usage.endpoint") && err.contains("no TLS backend"),
            "{err}"
        );
    }

    #[test]
    fn service_name_precedence() {
        let code = Config::default().with_service_name("a");
        let file = toml("[telemetry]\nservice_name = \"b\"\n");
        let environment = env(&[(OTEL_SERVICE_NAME, "c")]);
        assert_eq!(settings(&[&code, &file, &environment]).service_name, "c");
        assert_eq!(settings(&[&code, &file]).service_name, "b");
        assert_eq!(settings(&[&code]).service_name, "a");
        assert_eq!(
            settings(&[&code, &Config::default(), &environment]).service_name,
            "c"
        );
    }

    #[test]
    fn service_name_from_resource_attributes() {
        let file = toml("[telemetry]\nservice_name = \"b\"\n");
        let from_attrs = env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=c,team=x")]);
        let s = settings(&[&file, &from_attrs]);
        assert_eq!(s.service_name, "c");
        assert_eq!(s.resource_attributes, [("team".to_owned(), "x".to_owned())]);

        // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
        let both = env(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=c"),
            (OTEL_SERVICE_NAME, "d"),
        ]);
        assert_eq!(settings(&[&file, &both]).service_name, "d");
    }

    #[test]
    fn sampler_precedence() {
        let code = Config::default().with_sampler(Sampler::AlwaysOff);
        let file =
            toml("[telemetry.tracing.sampling]\nstrategy = \"probability\"\nprobability = 0.5\n");
        let environment = env(&[(OTEL_TRACES_SAMPLER, "parentbased_always_on")]);
        assert_eq!(
            settings(&[&code, &file, &environment]).sampler,
            Sampler::parent_based(Sampler::AlwaysOn)
        );
        assert_eq!(
            settings(&[&code, &file]).sampler,
            Sampler::TraceIdRatio(0.5)
        );
        assert_eq!(settings(&[&code]).sampler, Sampler::AlwaysOff);
    }

    #[test]
    fn sampler_ratio_from_a_later_layer() {
        let code =
            Config::default().with_sampler(Sampler::parent_based(Sampler::TraceIdRatio(0.5)));
        let arg = env(&[(OTEL_TRACES_SAMPLER_ARG, "0.25")]);
        assert_eq!(
            settings(&[&code, &arg]).sampler,
            Sampler::parent_based(Sampler::TraceIdRatio(0.25))
        );
        let file = toml("[telemetry.tracing.sampling]\nprobability = 0.1\n");
        assert_eq!(
            settings(&[&code, &file]).sampler,
            Sampler::parent_based(Sampler::TraceIdRatio(0.1))
        );
        // A probability alone means sampling by it.
        assert_eq!(settings(&[&file]).sampler, Sampler::TraceIdRatio(0.1));
    }

    #[test]
    fn file_parent_based_root() {
        let with_p =
            toml("[telemetry.tracing.sampling]\nstrategy = \"parent_based\"\nprobability = 0.1\n");
        assert_eq!(
            settings(&[&with_p]).sampler,
            Sampler::parent_based(Sampler::TraceIdRatio(0.1))
        );
        let without = toml("[telemetry.tracing.sampling]\nstrategy = \"parent_based\"\n");
        assert_eq!(
            settings(&[&without]).sampler,
            Sampler::parent_based(Sampler::AlwaysOn)
        );
    }

    #[test]
    fn env_sampler_names() {
        let cases = [
            ("always_on", Sampler::AlwaysOn),
            ("always_off", Sampler::AlwaysOff),
            ("traceidratio", Sampler::TraceIdRatio(1.0)),
            (
                "parentbased_always_on",
                Sampler::parent_based(Sampler::AlwaysOn),
            ),
            (
                "parentbased_always_off",
                Sampler::parent_based(Sampler::AlwaysOff),
            ),
            (
                "parentbased_traceidratio",
                Sampler::parent_based(Sampler::TraceIdRatio(1.0)),
            ),
        ];
        for (name, expected) in cases {
            assert_eq!(
                settings(&[&env(&[(OTEL_TRACES_SAMPLER, name)])]).sampler,
                expected,
                "{name}"
            );
        }
        let with_arg = env(&[
            (OTEL_TRACES_SAMPLER, "traceidratio"),
            (OTEL_TRACES_SAMPLER_ARG, "0.3"),
        ]);
        assert_eq!(settings(&[&with_arg]).sampler, Sampler::TraceIdRatio(0.3));
    }

    #[test]
    fn probability_strategy_in_a_file_needs_a_probability() {
        let file = toml("[telemetry.tracing.sampling]\nstrategy = \"probability\"\n");
        let err = resolve(&[&file], &no_env).unwrap_err();
        match &err {
            ConfigError::Missing { key, line, .. } => {
                assert_eq!(key, "telemetry.tracing.sampling.probability");
                assert_eq!(*line, Some(2));
            }
            other => panic!("unexpected {other:?}"),
        }
        // ... which another layer may give.
        let arg = env(&[(OTEL_TRACES_SAMPLER_ARG, "0.2")]);
        assert_eq!(settings(&[&file, &arg]).sampler, Sampler::TraceIdRatio(0.2));
    }

    #[test]
    fn tail_mapping() {
        let file = toml(
            "[telemetry.tracing.sampling]\nalways_sample_errors = true\n\
             always_sample_slow_seconds = 2.5\nmax_traces_per_second = 100\n",
        );
        let tail = settings(&[&file]).tail;
        assert!(tail.keep_errors);
        assert_eq!(tail.slow_threshold, Some(Duration::from_millis(2500)));
        assert_eq!(tail.max_traces_per_second, Some(100.0));

        let code = Config::default().with_tail_sampling(TailSampling::default().keep_errors(false));
        assert!(settings(&[&code, &file]).tail.keep_errors);
        assert!(!settings(&[&file, &code]).tail.keep_errors);
    }

    #[test]
    fn bad_rate_from_code() {
        let code = Config::default()
            .with_tail_sampling(TailSampling::default().max_traces_per_second(-1.0));
        let err = resolve(&[&code], &no_env).unwrap_err();
        assert!(
            err.to_string().contains("Config::with_tail_sampling"),
            "{err}"
        );
    }

    #[test]
    fn batch_precedence() {
        let code = Config::default()
            .with_max_queue_size(100)
            .with_max_export_batch_size(10)
            .with_scheduled_delay(Duration::from_millis(1))
            .with_export_timeout(Duration::from_millis(2));
        let file = toml(
            "[telemetry.tracing.otlp.batch]\nmax_queue_size = 200\nmax_export_batch_size = 20\n\
             scheduled_delay_seconds = 3\n",
        );
        let environment = env(&[
            (OTEL_BSP_MAX_QUEUE_SIZE, "300"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "4000"),
        ]);

        let b = settings(&[&code, &file, &environment]).batch;
        assert_eq!(b.max_queue_size, 300);
        assert_eq!(b.max_export_batch_size, 20);
        assert_eq!(b.scheduled_delay, Duration::from_secs(3));
        assert_eq!(b.export_timeout, Duration::from_secs(4));

        let b = settings(&[&code, &file]).batch;
        assert_eq!(b.max_queue_size, 200);
        assert_eq!(b.export_timeout, Duration::from_millis(2));

        let b = settings(&[&code]).batch;
        assert_eq!((b.max_queue_size, b.max_export_batch_size), (100, 10));
        assert_eq!(b.scheduled_delay, Duration::from_millis(1));
    }

    #[test]
    fn small_queue_lowers_the_default_batch() {
        let b = settings(&[&env(&[(OTEL_BSP_MAX_QUEUE_SIZE, "100")])]).batch;
        assert_eq!((b.max_queue_size, b.max_export_batch_size), (100, 100));
    }

    #[test]
    fn batch_larger_than_queue_across_layers() {
        let file = toml("[telemetry.tracing.otlp.batch]\nmax_queue_size = 100\n");
        let environment = env(&[(OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "500")]);
        let err = resolve(&[&file, &environment], &no_env).unwrap_err();
        match &err {
            ConfigError::Env {
                var,
                value,
                expected,
                ..
            } => {
                assert_eq!(var, OTEL_BSP_MAX_EXPORT_BATCH_SIZE);
                assert_eq!(value, "500");
                assert!(expected.contains("100"), "{expected}");
                assert!(
                    expected
                        .contains("`telemetry.tracing.otlp.batch.max_queue_size` at <string>:2"),
                    "{expected}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn zero_sizes_from_code() {
        let err = resolve(&[&Config::default().with_max_queue_size(0)], &no_env).unwrap_err();
        match err {
            ConfigError::Invalid { key, line, .. } => {
                assert_eq!(key, "Config::with_max_queue_size");
                assert_eq!(line, None);
            }
            other => panic!("unexpected {other:?}"),
        }
        let zero_timeout = Config::default().with_export_timeout(Duration::ZERO);
        assert!(resolve(&[&zero_timeout], &no_env).is_err());
    }

    /// The values of issue 13, set in code: `install()` refuses each, naming the setter, the
    /// value and the range (file and variable forms: tests/config.rs).
    #[test]
    fn repro_13_code_values_are_checked_as_file_values() {
        use crate::config::table::USAGE_CIRCUIT_COOLDOWN;
        let d = Config::default;
        let tail = |t: TailSampling| d().with_tail_sampling(t);
        let cases: Vec<(Config, &str, &str, &str)> = vec![
            (
                d().with_max_queue_size(usize::MAX),
                "Config::with_max_queue_size",
                "18446744073709551615",
                "no larger than 1048576",
            ),
            (
                d().with_max_queue_size(1 << 20)
                    .with_max_export_batch_size(65_537),
                "Config::with_max_export_batch_size",
                "65537",
                "no larger than 65536",
            ),
            (
                d().with_export_timeout(Duration::from_nanos(100)),
                "Config::with_export_timeout",
                "100ns",
                "a duration from 1 ms to 1 h",
            ),
            (
                d().with_otlp_timeout(Duration::MAX).with_otlp_exporter(),
                "Config::with_otlp_timeout",
                "18446744073709551615.999999999s",
                "a duration from 1 ms to 1 h",
            ),
            (
                d().with_scheduled_delay(Duration::from_secs(9_200_000_000_000_000_000)),
                "Config::with_scheduled_delay",
                "9200000000000000000s",
                "at most 1 h",
            ),
            (
                tail(TailSampling::default().max_traces_per_second(1e-320)),
                "Config::with_tail_sampling",
                "0.00000",
                "from 0.001 to 1000000",
            ),
            (
                tail(TailSampling::default().max_traces_per_second(f64::NAN)),
                "Config::with_tail_sampling",
                "NaN",
                "from 0.001 to 1000000",
            ),
            (
                tail(TailSampling::default().max_traces_per_second(f64::INFINITY)),
                "Config::with_tail_sampling",
                "inf",
                "from 0.001 to 1000000",
            ),
            (
                tail(TailSampling::default().keep_slower_than(Duration::MAX)),
                "Config::with_tail_sampling",
                "18446744073709551615.999999999s",
                "at most 1 day",
            ),
            (
                d().with_sampler(Sampler::TraceIdRatio(f64::NAN)),
                "Config::with_sampler",
                "NaN",
                "a number from 0 to 1",
            ),
            (
                d().with_sampler(Sampler::parent_based(Sampler::TraceIdRatio(1.5))),
                "Config::with_sampler",
                "1.5",
                "a number from 0 to 1",
            ),
            (
                d().with_sampler(Sampler::parent_based(Sampler::parent_based(
                    Sampler::TraceIdRatio(-1.0),
                ))),
                "Config::with_sampler",
                "-1",
                "a number from 0 to 1",
            ),
            (
                d().with_service_name("\u{0}"),
                "Config::with_service_name",
                "\"\\0\"",
                "character 1 is the control character U+0000",
            ),
            (
                d().with_service_name(""),
                "Config::with_service_name",
                "\"\"",
                "here it is empty",
            ),
            (
                d().with_service_name("a".repeat(256)),
                "Config::with_service_name",
                "\"aaaa",
                "it is 256 characters long",
            ),
            (
                d().with_service_version("1.0\n"),
                "Config::with_service_version",
                "\"1.0\\n\"",
                "U+000A",
            ),
            (
                d().with_resource_attribute("", "x"),
                "Config::with_resource_attribute",
                "\"\" = \"x\"",
                "the key ``: it is empty",
            ),
            (
                d().with_resource_attribute("team", "a\u{7f}"),
                "Config::with_resource_attribute",
                "\"team\" = \"a\\u{7f}\"",
                "U+007F",
            ),
            (
                d().with_resource_attribute("service.name", ""),
                "Config::with_resource_attribute",
                "\"service.name\" = \"\"",
                "the value of `service.name`: it is empty",
            ),
            (
                d().with_otlp_header("x api", "v").with_otlp_exporter(),
                "Config::with_otlp_header",
                "x api: \"***\"",
                "the name `x api` is not a header name",
            ),
            (
                d().with_otlp_header("x-api-key", "s3cr3t\r\n")
                    .with_otlp_exporter(),
                "Config::with_otlp_header",
                "x-api-key: \"***\"",
                "character 7 is the control character U+000D",
            ),
            (
                d().with_file_exporter(""),
                "Config::with_file_exporter",
                "\"\"",
                "a non-empty path",
            ),
            (
                d().with_file_exporter("t\u{0}.jsonl"),
                "Config::with_file_exporter",
                "\"t\\0.jsonl\"",
                "U+0000",
            ),
            (
                d().with_otlp_endpoint("http://collector:0"),
                "Config::with_otlp_endpoint",
                "\"http://collector:0\"",
                "a port from 1 to 65535",
            ),
            (
                d().with_usage_endpoint("http://usage:70000"),
                "Config::with_usage_endpoint",
                "\"http://usage:70000\"",
                "an `http://` URL",
            ),
        ];
        for (code, setter, value, accepted) in cases {
            let err = match resolve(&[&code], &no_env) {
                Ok(_) => panic!("{setter} {value} accepted"),
                Err(err) => err,
            };
            let msg = err.to_string();
            match &err {
                ConfigError::Invalid {
                    key,
                    line,
                    value: v,
                    expected,
                    ..
                } => {
                    assert_eq!(key, setter, "{msg}");
                    assert_eq!(*line, None, "{msg}");
                    assert!(
                        v.starts_with(value),
                        "{v:?} does not start with {value:?}: {msg}"
                    );
                    assert!(expected.contains(accepted), "{accepted:?} not in {msg}");
                }
                other => panic!("expected Invalid, got {other:?}"),
            }
            assert!(msg.starts_with("<code>: invalid value "), "{msg}");
            assert!(!msg.contains("s3cr3t"), "{msg}");
        }

        // Read by the usage layer at install, through the same check.
        let cooldown = USAGE_CIRCUIT_COOLDOWN.code(d(), Duration::MAX);
        let resolved = resolve(&[&cooldown], &no_env).unwrap();
        let err = USAGE_CIRCUIT_COOLDOWN
            .resolved(&resolved)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("UsageOptions::circuit_cooldown") && err.contains("at most 1 h"),
            "{err}"
        );

        // The bounds themselves are accepted.
        let edge = d()
            .with_service_name("é".repeat(255))
            .with_max_queue_size(1 << 20)
            .with_max_export_batch_size(65_536)
            .with_export_timeout(Duration::from_millis(1))
            .with_otlp_timeout(Duration::from_secs(3600))
            .with_scheduled_delay(Duration::ZERO)
            .with_sampler(Sampler::TraceIdRatio(0.0))
            .with_tail_sampling(
                TailSampling::default()
                    .max_traces_per_second(1_000_000.0)
                    .keep_slower_than(Duration::from_secs(86_400)),
            )
            .with_resource_attribute("empty", "")
            .with_otlp_header("x-empty", "")
            .with_otlp_exporter();
        settings(&[&edge]);
    }

    /// A `${VAR}` whose value ends in a line break (`API_KEY=$(cat key-file)`) is refused when
    /// the header is expanded, without showing the value.
    #[test]
    fn repro_13_expanded_header_values_are_checked() {
        let file = toml(
            "[telemetry.tracing.otlp]\nendpoint = \"http://c:4318\"\n\
             [telemetry.tracing.otlp.headers]\nauthorization = \"Bearer ${API_KEY}\"\n",
        );
        let lookup = |name: &str| (name == "API_KEY").then(|| "s3cr3t\n".to_owned());
        let err = resolve(&[&file], &lookup).unwrap_err();
        let msg = err.to_string();
        match &err {
            ConfigError::Invalid { key, line, .. } => {
                assert_eq!(key, "telemetry.tracing.otlp.headers.authorization");
                assert_eq!(*line, Some(4));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!msg.contains("s3cr3t"), "{msg}");
        assert!(
            msg.contains("once `${…}` is expanded, character 14 is the control character U+000A"),
            "{msg}"
        );
    }

    #[test]
    fn endpoint_precedence_and_default_exporters() {
        let code = Config::default().with_otlp_endpoint("http://code:4318");
        let file = toml("[telemetry.tracing.otlp]\nendpoint = \"http://file:4318\"\n");
        let environment = env(&[(OTEL_EXPORTER_OTLP_ENDPOINT, "http://env:4318/")]);
        let url = |layers: &[&Config]| match &settings(layers).exporters[..] {
            [ExporterSettings::Otlp(otlp)] => otlp.endpoint.clone(),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(
            url(&[&code, &file, &environment]),
            "http://env:4318/v1/traces"
        );
        assert_eq!(url(&[&code, &file]), "http://file:4318/v1/traces");
        assert_eq!(url(&[&code]), "http://code:4318/v1/traces");
        let traces = env(&[
            (OTEL_EXPORTER_OTLP_ENDPOINT, "http://env:4318"),
            (
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                "http://traces:9999/custom",
            ),
        ]);
        assert_eq!(url(&[&code, &traces]), "http://traces:9999/custom");
    }

    /// The design documents' complete `config.toml` (vendored unchanged in `tests/`): every
    /// key resolves, the OTLP section exports beside the list's "additional exporters".
    #[test]
    fn the_seed_config_resolves_with_its_jaeger_entry_and_a_warning() {
        let seed = include_str!("../../../tests/seed-config.toml");
        let file = toml(seed);
        let vars = |name: &str| match name {
            "API_KEY" => Some("k1".to_owned()),
            "GCP_API_KEY" => Some("k2".to_owned()),
            _ => None,
        };
        let s = resolve(&[&file], &vars).unwrap();
        // `[telemetry.tracing.otlp]` first, then the "additional exporters" of the list.
        let [ExporterSettings::Otlp(main), ExporterSettings::Stdout, ExporterSettings::Backend { backend, otlp }] =
            &s.exporters[..]
        else {
            panic!("not [otlp, stdout, jaeger]: {:?}", s.exporters);
        };
        assert_eq!(main.endpoint, "http://localhost:4317");
        assert_eq!(main.headers.len(), 2);
        assert!(s.logging);
        assert_eq!(*backend, Backend::Jaeger);
        assert_eq!(otlp.endpoint, "http://localhost:14250");
        assert_eq!(otlp.protocol, OtlpProtocol::Grpc);
        // `[telemetry.tracing.otlp]`'s timeout applies; its headers are another endpoint's.
        assert_eq!(otlp.timeout, Duration::from_secs(10));
        assert!(otlp.headers.is_empty());
        let [warning] = &s.warnings[..] else {
            panic!("not one warning: {:?}", s.warnings);
        };
        assert_eq!(warning.key, "telemetry.tracing.exporters[1].endpoint");
        assert!(
            matches!(&warning.source, ConfigSource::File { line: Some(41), .. }),
            "{:?}",
            warning.source
        );
        for part in [
            "`http://localhost:14250` is on port 14250",
            "does not accept OTLP",
            "4317 (gRPC) and 4318 (HTTP)",
            "use `http://localhost:4317`",
            "`http://localhost:4318` with protocol `http/protobuf`",
        ] {
            assert!(warning.message.contains(part), "{part}: {warning}");
        }
        // The sections the other exporters read resolve too (the OTLP headers expand).
        let otlp = resolve_otlp(&[&file], &vars).unwrap();
        assert_eq!(otlp.headers.len(), 2);
        assert_eq!(s.sampler, Sampler::TraceIdRatio(0.1));
    }

    #[test]
    fn backend_entries_take_their_own_endpoint_and_protocol() {
        let file = toml(
            "[telemetry.tracing.otlp]\nendpoint = \"http://collector:4318\"\n\
             timeout_seconds = 3\ncompression = \"gzip\"\n\
             [telemetry.tracing.otlp.headers]\nx-api-key = \"secret\"\n\
             [[telemetry.tracing.exporters]]\ntype = \"jaeger\"\n\
             [[telemetry.tracing.exporters]]\ntype = \"jaeger\"\nendpoint = \"http://j:4318\"\n\
             [[telemetry.tracing.exporters]]\ntype = \"tempo\"\nendpoint = \"http://t:4318/otlp\"\n\
             protocol = \"grpc\"\n\
             [[telemetry.tracing.exporters]]\ntype = \"tempo\"\nprotocol = \"http/protobuf\"\n\
             [[telemetry.tracing.exporters]]\ntype = \"otlp\"\n",
        );
        let s = settings(&[&file]);
        let backends: Vec<_> = s
            .exporters
            .iter()
            .filter_map(|e| match e {
                ExporterSettings::Backend { backend, otlp } => {
                    assert_eq!(otlp.timeout, Duration::from_secs(3));
                    assert!(otlp.gzip);
                    assert!(otlp.headers.is_empty(), "{otlp:?}");
                    Some((*backend, otlp.endpoint.as_str(), otlp.protocol))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            backends,
            [
                // No endpoint: the OTLP/gRPC port on this machine.
                (Backend::Jaeger, "http://localhost:4317", OtlpProtocol::Grpc),
                // Port 4318 is OTLP/HTTP.
                (
                    Backend::Jaeger,
                    "http://j:4318/v1/traces",
                    OtlpProtocol::HttpProtobuf
                ),
                // An explicit protocol wins over the port.
                (Backend::Tempo, "http://t:4318/otlp", OtlpProtocol::Grpc),
                (
                    Backend::Tempo,
                    "http://localhost:4318/v1/traces",
                    OtlpProtocol::HttpProtobuf
                ),
            ]
        );
        // The `otlp` entry keeps `[telemetry.tracing.otlp]`, headers included.
        match s.exporters.last() {
            Some(ExporterSettings::Otlp(otlp)) => {
                assert_eq!(otlp.endpoint, "http://collector:4318/v1/traces");
                assert_eq!(otlp.headers.len(), 1);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn legacy_jaeger_ports_warn_wherever_the_endpoint_is_set() {
        // The `[telemetry.tracing.otlp]` exporter, from a variable.
        let environment = env(&[(OTEL_EXPORTER_OTLP_ENDPOINT, "http://jaeger:14268")]);
        let s = settings(&[&environment]);
        let [warning] = &s.warnings[..] else {
            panic!("not one warning: {:?}", s.warnings);
        };
        assert_eq!(warning.key, "telemetry.tracing.otlp.endpoint");
        assert_eq!(
            warning.source,
            ConfigSource::Env {
                var: OTEL_EXPORTER_OTLP_ENDPOINT.to_owned()
            }
        );
        assert!(warning.message.contains("Thrift"), "{warning}");
        assert!(
            warning.message.contains("`http://jaeger:4317`"),
            "{warning}"
        );
        // An explicit `http/protobuf` to 14250 is still not OTLP.
        let file = toml(
            "[[telemetry.tracing.exporters]]\ntype = \"tempo\"\n\
             [[telemetry.tracing.exporters]]\ntype = \"jaeger\"\n\
             endpoint = \"http://[::1]:14250\"\nprotocol = \"http/protobuf\"\n",
        );
        let s = settings(&[&file]);
        let [warning] = &s.warnings[..] else {
            panic!("not one warning: {:?}", s.warnings);
        };
        assert_eq!(warning.key, "telemetry.tracing.exporters[1].endpoint");
        assert!(
            warning.message.contains("`http://[::1]:14250/v1/traces`"),
            "{warning}"
        );
        assert!(warning.message.contains("`http://[::1]:4318`"), "{warning}");
        // Other ports, and an endpoint with none, do not warn.
        for url in [
            "http://jaeger:4317",
            "https://jaeger.example.com",
            "http://j:1425",
        ] {
            let file = toml(&format!(
                "[[telemetry.tracing.exporters]]\ntype = \"jaeger\"\nendpoint = \"{url}\"\n"
            ));
            assert!(settings(&[&file]).warnings.is_empty(), "{url}");
        }
    }

    #[test]
    fn no_endpoint_no_exporters() {
        let file = toml("[telemetry.tracing.otlp]\nprotocol = \"grpc\"\n");
        assert!(settings(&[&file]).exporters.is_empty());
    }

    #[test]
    fn protocol_changes_the_url() {
        let file = toml("[telemetry.tracing.otlp]\nendpoint = \"http://c:4317\"\n");
        let grpc = env(&[(OTEL_EXPORTER_OTLP_PROTOCOL, "grpc")]);
        match &settings(&[&file, &grpc]).exporters[..] {
            [ExporterSettings::Otlp(otlp)] => {
                assert_eq!(otlp.endpoint, "http://c:4317");
                assert_eq!(otlp.protocol, OtlpProtocol::Grpc);
            }
            other => panic!("unexpected {other:?}"),
        }
        let code = Config::default()
            .with_otlp_protocol(Protocol::Grpc)
            .with_otlp_exporter();
        match &settings(&[&code]).exporters[..] {
            [ExporterSettings::Otlp(otlp)] => assert_eq!(otlp.endpoint, "http://localhost:4317"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn explicit_exporters_replace_earlier_lists() {
        let code = Config::default().with_stdout_exporter();
        let file = toml(
            "[[telemetry.tracing.exporters]]\ntype = \"file\"\npath = \"t.jsonl\"\n\
             [[telemetry.tracing.exporters]]\ntype = \"otlp\"\n",
        );
        let s = settings(&[&code, &file]);
        assert_eq!(s.exporters.len(), 2);
        assert_eq!(
            s.exporters[0],
            ExporterSettings::File {
                path: PathBuf::from("t.jsonl")
            }
        );
        match &s.exporters[1] {
            ExporterSettings::Otlp(otlp) => {
                assert_eq!(otlp.endpoint, "http://localhost:4318/v1/traces");
                assert_eq!(otlp.protocol, OTLP_PROTOCOL_DEFAULT);
                assert_eq!(otlp.timeout, OTLP_TIMEOUT_DEFAULT);
                assert!(!otlp.gzip);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(settings(&[&code]).exporters, [ExporterSettings::Stdout]);
    }

    #[test]
    fn enabled_combines_both_switches() {
        let off = toml("[telemetry.tracing]\nenabled = false\n");
        assert!(!settings(&[&off]).enabled);
        let on = toml("[telemetry]\nenabled = true\n");
        assert!(!settings(&[&on, &off]).enabled);
        let code_off = Config::default().with_enabled(false);
        assert!(!settings(&[&code_off]).enabled);
        assert!(settings(&[&code_off, &on]).enabled);
        let disabled = env(&[(OTEL_SDK_DISABLED, "true")]);
        assert!(!settings(&[&on, &disabled]).enabled);
    }

    #[test]
    fn headers_expand_and_merge() {
        let code = Config::default()
            .with_otlp_header("x-code", "${NOT_EXPANDED}")
            .with_otlp_header("x-api-key", "from-code")
            .with_otlp_exporter();
        let file =
            toml("[telemetry.tracing.otlp.headers]\n\"x-api-key\" = \"Bearer ${API_KEY}\"\n");
        let lookup = |name: &str| (name == "API_KEY").then(|| "s3cr3t".to_owned());
        let s = resolve(&[&code, &file], &lookup).unwrap();
        let ExporterSettings::Otlp(otlp) = &s.exporters[0] else {
            panic!("not otlp: {:?}", s.exporters);
        };
        assert_eq!(
            otlp.headers,
            [
                ("x-code".to_owned(), Secret("${NOT_EXPANDED}".to_owned())),
                ("x-api-key".to_owned(), Secret("Bearer s3cr3t".to_owned())),
            ]
        );
        let debug = format!("{s:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(!debug.contains("from-code"), "{debug}");
    }

    #[test]
    fn missing_header_variable() {
        let file = toml(
            "[telemetry.tracing.otlp]\nendpoint = \"http://c:4318\"\n\
             [telemetry.tracing.otlp.headers]\n\"x-api-key\" = \"${API_KEY}\"\n",
        );
        let err = resolve(&[&file], &no_env).unwrap_err();
        match &err {
            ConfigError::MissingEnvVar { var, key, line, .. } => {
                assert_eq!(var, "API_KEY");
                assert_eq!(key, "telemetry.tracing.otlp.headers.x-api-key");
                assert_eq!(*line, Some(4));
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("API_KEY") && msg.contains("x-api-key"),
            "{msg}"
        );
    }

    #[test]
    fn resource_attributes_merge_by_key() {
        let code = Config::default()
            .with_resource_attribute("a", "code")
            .with_resource_attribute("b", "code");
        let file = toml("[telemetry.resource]\na = \"file\"\n");
        let environment = env(&[("OTEL_RESOURCE_ATTRIBUTES", "c=env,b=env")]);
        let s = settings(&[&code, &file, &environment]);
        let pairs: Vec<(&str, &str)> = s
            .resource_attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(pairs, [("a", "file"), ("c", "env"), ("b", "env")]);
    }

    #[test]
    fn bad_code_endpoint() {
        let code = Config::default().with_otlp_endpoint("localhost:4317");
        let err = resolve(&[&code], &no_env).unwrap_err();
        assert!(
            err.to_string().contains("Config::with_otlp_endpoint"),
            "{err}"
        );
    }

    #[test]
    fn metrics_precedence() {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

        use crate::config::env_value::{
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
            OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, OTEL_METRICS_EXPORTER,
            OTEL_METRIC_EXPORT_INTERVAL,
        };
        use crate::config::table::{
            metrics_exporters, metrics_otlp_url, METRICS_CARDINALITY_LIMIT, METRICS_ENABLED,
            METRICS_OTLP_INTERVAL, METRICS_OTLP_PROTOCOL, METRICS_OTLP_TEMPORALITY,
            PROMETHEUS_ADDRESS, PROMETHEUS_ENABLED, PROMETHEUS_PATH, PROMETHEUS_PORT,
        };
        use crate::config::Temporality;

        let code = Config::default()
            .with_metrics_enabled(false)
            .with_metrics_cardinality_limit(100)
            .with_prometheus_enabled(false)
            .with_prometheus_port(1000)
            .with_prometheus_address(Ipv6Addr::LOCALHOST)
            .with_prometheus_path("/code")
            .with_metrics_otlp_endpoint("http://code:4318")
            .with_metrics_otlp_protocol(Protocol::HttpProtobuf)
            .with_metrics_otlp_interval(Duration::from_secs(1))
            .with_metrics_otlp_temporality(Temporality::Delta);
        let file = toml(
            "[telemetry.metrics]\nenabled = true\ncardinality_limit = 200\n\
             [telemetry.metrics.prometheus]\nenabled = true\nport = 2000\n\
             address = \"0.0.0.0\"\npath = \"/file\"\n\
             [telemetry.metrics.otlp]\nendpoint = \"http://file:4317\"\nprotocol = \"grpc\"\n\
             interval_seconds = 2\ntemporality = \"lowmemory\"\n",
        );
        let environment = env(&[
            (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, "http://env:4318/m"),
            (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, "http/protobuf"),
            (OTEL_METRIC_EXPORT_INTERVAL, "3000"),
            (
                OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
                "cumulative",
            ),
            (OTEL_METRICS_EXPORTER, "otlp"),
        ]);

        let s = settings(&[&code, &file, &environment]);
        assert_eq!(metrics_otlp_url(&s).unwrap(), "http://env:4318/m");
        assert_eq!(
            METRICS_OTLP_PROTOCOL.resolved(&s).unwrap(),
            Some(OtlpProtocol::HttpProtobuf)
        );
        assert_eq!(
            METRICS_OTLP_INTERVAL.resolved(&s).unwrap(),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            METRICS_OTLP_TEMPORALITY.resolved(&s).unwrap(),
            Some(Temporality::Cumulative)
        );
        // The variable names the exporters: Prometheus, on in the file, does not run.
        let on = metrics_exporters(&s);
        assert!(on.otlp && !on.prometheus);
        // No variable sets these: the file's values stand.
        assert_eq!(METRICS_ENABLED.resolved(&s).unwrap(), Some(true));
        assert_eq!(PROMETHEUS_PORT.resolved(&s).unwrap(), Some(2000));

        let s = settings(&[&code, &file]);
        assert_eq!(METRICS_ENABLED.resolved(&s).unwrap(), Some(true));
        assert_eq!(METRICS_CARDINALITY_LIMIT.resolved(&s).unwrap(), Some(200));
        assert_eq!(PROMETHEUS_ENABLED.resolved(&s).unwrap(), Some(true));
        assert_eq!(PROMETHEUS_PORT.resolved(&s).unwrap(), Some(2000));
        assert_eq!(
            PROMETHEUS_ADDRESS.resolved(&s).unwrap(),
            Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        );
        assert_eq!(
            PROMETHEUS_PATH.resolved(&s).unwrap().as_deref(),
            Some("/file")
        );
        assert_eq!(metrics_otlp_url(&s).unwrap(), "http://file:4317");
        assert_eq!(
            METRICS_OTLP_INTERVAL.resolved(&s).unwrap(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            METRICS_OTLP_TEMPORALITY.resolved(&s).unwrap(),
            Some(Temporality::LowMemory)
        );
        let on = metrics_exporters(&s);
        assert!(on.otlp && on.prometheus && !on.console);

        let s = settings(&[&code]);
        assert_eq!(METRICS_ENABLED.resolved(&s).unwrap(), Some(false));
        assert_eq!(METRICS_CARDINALITY_LIMIT.resolved(&s).unwrap(), Some(100));
        assert_eq!(PROMETHEUS_ENABLED.resolved(&s).unwrap(), Some(false));
        assert_eq!(PROMETHEUS_PORT.resolved(&s).unwrap(), Some(1000));
        assert_eq!(
            PROMETHEUS_ADDRESS.resolved(&s).unwrap(),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(
            PROMETHEUS_PATH.resolved(&s).unwrap().as_deref(),
            Some("/code")
        );
        // From code, a URL without a path gets `/v1/metrics` over HTTP.
        assert_eq!(metrics_otlp_url(&s).unwrap(), "http://code:4318/v1/metrics");
        assert_eq!(
            METRICS_OTLP_INTERVAL.resolved(&s).unwrap(),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            METRICS_OTLP_TEMPORALITY.resolved(&s).unwrap(),
            Some(Temporality::Delta)
        );
        assert!(metrics_exporters(&s).otlp && !metrics_exporters(&s).prometheus);
    }

    /// Metrics values set in code are checked when the part that uses them reads them, with
    /// the errors a file's values get, naming the setter.
    #[test]
    fn bad_metrics_values_from_code() {
        use crate::config::table::{
            metrics_otlp_url, METRICS_CARDINALITY_LIMIT, METRICS_OTLP_INTERVAL, PROMETHEUS_PATH,
        };

        let d = Config::default;
        let check = |code: Config, read: &dyn Fn(&Settings) -> Result<(), ConfigError>| {
            read(&settings(&[&code])).unwrap_err()
        };
        let cases: Vec<(ConfigError, &str, &str, &str)> = vec![
            (
                check(d().with_metrics_cardinality_limit(1), &|s| {
                    METRICS_CARDINALITY_LIMIT.resolved(s).map(drop)
                }),
                "Config::with_metrics_cardinality_limit",
                "1",
                "an integer from 2 to 1000000",
            ),
            (
                check(d().with_metrics_cardinality_limit(1_000_001), &|s| {
                    METRICS_CARDINALITY_LIMIT.resolved(s).map(drop)
                }),
                "Config::with_metrics_cardinality_limit",
                "1000001",
                "overflow series included",
            ),
            (
                check(d().with_prometheus_path("metrics"), &|s| {
                    PROMETHEUS_PATH.resolved(s).map(drop)
                }),
                "Config::with_prometheus_path",
                "\"metrics\"",
                "here it does not start with `/`",
            ),
            (
                check(d().with_prometheus_path("/a b"), &|s| {
                    PROMETHEUS_PATH.resolved(s).map(drop)
                }),
                "Config::with_prometheus_path",
                "\"/a b\"",
                "here character 3 is a space",
            ),
            (
                check(d().with_metrics_otlp_endpoint("collector:4317"), &|s| {
                    metrics_otlp_url(s).map(drop)
                }),
                "Config::with_metrics_otlp_endpoint",
                "\"collector:4317\"",
                "an `http://` or `https://` URL",
            ),
            (
                check(d().with_metrics_otlp_interval(Duration::ZERO), &|s| {
                    METRICS_OTLP_INTERVAL.resolved(s).map(drop)
                }),
                "Config::with_metrics_otlp_interval",
                "0ns",
                "a duration from 1 ms to 1 h",
            ),
        ];
        for (err, setter, value, accepted) in cases {
            let msg = err.to_string();
            match err {
                ConfigError::Invalid {
                    key,
                    line,
                    value: v,
                    expected,
                    ..
                } => {
                    assert_eq!((key.as_str(), line), (setter, None), "{msg}");
                    assert_eq!(v, value, "{msg}");
                    assert!(expected.contains(accepted), "{accepted:?} not in {msg}");
                }
                other => panic!("expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn otlp_settings_from_every_source() {
        let file = toml(
            "[telemetry.tracing.otlp]\nendpoint = \"http://c:4317\"\nprotocol = \"grpc\"\n\
             timeout_seconds = 2.5\ncompression = \"gzip\"\n",
        );
        let ExporterSettings::Otlp(otlp) = &settings(&[&file]).exporters[0] else {
            panic!("not otlp");
        };
        assert_eq!(otlp.timeout, Duration::from_millis(2500));
        assert!(otlp.gzip);
        let environment = env(&[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ]);
        let ExporterSettings::Otlp(otlp) = &settings(&[&file, &environment]).exporters[0] else {
            panic!("not otlp");
        };
        assert_eq!(otlp.timeout, Duration::from_millis(500));
        assert!(!otlp.gzip);
    }
}
