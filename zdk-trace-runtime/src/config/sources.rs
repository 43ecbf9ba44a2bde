//! Where [`Config`] layers come from: a `zdk-trace.toml` document or file, the `OTEL_*`
//! variables, and the `with_*` setters of code, each a one-line call into the setting's
//! definition in [`table`].

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::env;
use super::env_value::ZDK_TRACE_CONFIG;
use super::error::ConfigError;
#[cfg(feature = "config-file")]
use super::file;
use super::kinds::unsigned_zero;
use super::settings::{Secret, PRICE_CURRENCY_DEFAULT};
use super::table;
use super::values::{
    Config, Endpoint, ExporterChoice, ModelPrice, Origin, Protocol, Root, Set, Strategy,
};
use super::Temporality;
use crate::genai::CaptureMode;
use crate::sampling::{Sampler, TailSampling};

/// The file [`Config::discover`] looks for in the working directory.
#[cfg(feature = "config-file")]
pub(crate) const CONFIG_FILE_DEFAULT: &str = "zdk-trace.toml";

impl Config {
    /// Parses a `zdk-trace.toml` document. Errors name the source as `<string>`.
    ///
    /// Unknown keys, wrong types and values out of range are errors naming the key, its line,
    /// the value given and the values accepted. OTLP header values may contain `${VAR}`; it is
    /// replaced with the environment variable when the layers are merged.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::Config;
    ///
    /// let layer = Config::from_toml_str(
    ///     r#"
    ///     [telemetry]
    ///     service_name = "my-agent"
    ///
    ///     [telemetry.tracing.sampling]
    ///     strategy = "parent_based"
    ///     probability = 0.1
    ///
    ///     [[telemetry.tracing.exporters]]
    ///     type = "stdout"
    ///     "#,
    /// )?;
    /// # let _ = layer;
    /// # Ok::<(), zdk_trace_runtime::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Syntax`], [`ConfigError::UnknownKey`], [`ConfigError::Invalid`] or
    /// [`ConfigError::Missing`] when the document does not follow the schema.
    #[cfg(feature = "config-file")]
    #[cfg_attr(docsrs, doc(cfg(feature = "config-file")))]
    pub fn from_toml_str(toml: &str) -> Result<Config, ConfigError> {
        file::parse(toml, "<string>")
    }

    /// Reads and parses a `zdk-trace.toml` file. Errors name the path.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Config, ConfigError};
    ///
    /// let err = Config::from_file("/no/such/zdk-trace.toml").unwrap_err();
    /// assert!(matches!(err, ConfigError::Io { .. }));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Io`] when the file cannot be read, else as [`Config::from_toml_str`].
    #[cfg(feature = "config-file")]
    #[cfg_attr(docsrs, doc(cfg(feature = "config-file")))]
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        read_file(path.as_ref(), None)
    }

    /// Reads the standard `OTEL_*` variables of this process.
    ///
    /// Read: `OTEL_SDK_DISABLED`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
    /// `OTEL_EXPORTER_OTLP_{,TRACES_}{ENDPOINT,PROTOCOL,HEADERS,TIMEOUT,COMPRESSION}`,
    /// `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`,
    /// `OTEL_BSP_{SCHEDULE_DELAY,EXPORT_TIMEOUT,MAX_QUEUE_SIZE,MAX_EXPORT_BATCH_SIZE}`,
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, the span and attribute limits,
    /// and for metrics `OTEL_METRICS_EXPORTER`, `OTEL_METRIC_EXPORT_INTERVAL`,
    /// `OTEL_EXPORTER_OTLP_METRICS_{ENDPOINT,PROTOCOL,TEMPORALITY_PREFERENCE}`, and for
    /// profiling `ZDK_TRACE_PROFILING_{ENABLED,SPAN_RESOURCES,CPU_ENABLED,CPU_FREQUENCY}` and
    /// Pyroscope's `PYROSCOPE_SERVER_ADDRESS`, `PYROSCOPE_APPLICATION_NAME`.
    /// Empty variables count as unset. See [`Config::from_env_vars`] for the rules.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::from_env()?;
    /// # let _ = layer;
    /// # Ok::<(), zdk_trace_runtime::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Env`] naming the first variable whose value is not accepted (or not
    /// UTF-8). A bad value is never skipped silently.
    pub fn from_env() -> Result<Config, ConfigError> {
        let mut vars = Vec::new();
        for var in table::env_vars() {
            if let Some(value) = std::env::var_os(var) {
                match value.into_string() {
                    Ok(value) => vars.push((var, value)),
                    Err(value) => {
                        return Err(ConfigError::Env {
                            var: var.to_owned(),
                            value: value.to_string_lossy().into_owned(),
                            expected: "valid UTF-8".to_owned(),
                        })
                    }
                }
            }
        }
        Config::from_env_vars(vars)
    }

    /// Reads the standard `OTEL_*` variables from `vars` instead of the process environment
    /// (for tests, or an environment kept elsewhere). Other names are ignored.
    ///
    /// - `OTEL_SDK_DISABLED=true` turns everything off (`false` changes nothing).
    /// - `OTEL_SERVICE_NAME` is the service name; `service.name` in `OTEL_RESOURCE_ATTRIBUTES`
    ///   (`k=v,k2=v2`, percent-encoded) is used only when it is absent.
    /// - `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL: for `http/protobuf`, `/v1/traces` is
    ///   appended. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as-is and wins.
    /// - `…_PROTOCOL`: `grpc` or `http/protobuf` (`http/json` is not supported). `…_HEADERS`:
    ///   `k=v,k2=v2`, percent-encoded. `…_TIMEOUT`: milliseconds, 1 to 3600000. `…_COMPRESSION`: `gzip` or
    ///   `none`. The `OTEL_EXPORTER_OTLP_TRACES_*` form of each wins over the generic one.
    /// - `OTEL_TRACES_SAMPLER`: `always_on`, `always_off`, `traceidratio`,
    ///   `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`;
    ///   `OTEL_TRACES_SAMPLER_ARG`: the ratio, `0..=1` (1 when unset).
    /// - `OTEL_BSP_SCHEDULE_DELAY` (milliseconds, 0 to 3600000), `OTEL_BSP_EXPORT_TIMEOUT`
    ///   (milliseconds, 1 to 3600000), `OTEL_BSP_MAX_QUEUE_SIZE` (1 to 1048576),
    ///   `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (1 to 65536, at most the queue size).
    /// - `OTEL_SERVICE_NAME`, resource attributes and header values: no control characters
    ///   (see the `with_*` setters for every rule).
    /// - `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: `true`, `false`, `NO_CONTENT`,
    ///   `SPAN_ONLY`, `EVENT_ONLY` or `SPAN_AND_EVENT`, in any case (see
    ///   [`CaptureMode`]).
    /// - Metrics: `OTEL_METRICS_EXPORTER`, a comma-separated list of `otlp`, `prometheus` and
    ///   `console`, or `none` (in any case): when set, exactly those exporters run.
    ///   `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is used as-is; else `OTEL_EXPORTER_OTLP_ENDPOINT`
    ///   (for `http/protobuf`, `/v1/metrics` is appended) turns the OTLP push on.
    ///   `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` wins over `OTEL_EXPORTER_OTLP_PROTOCOL`.
    ///   `OTEL_METRIC_EXPORT_INTERVAL`: milliseconds, 1 to 3600000.
    ///   `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`: `cumulative`, `delta` or
    ///   `lowmemory`, in any case.
    /// - Profiling (`[telemetry.profiling]`): `ZDK_TRACE_PROFILING_ENABLED`,
    ///   `ZDK_TRACE_PROFILING_SPAN_RESOURCES` and `ZDK_TRACE_PROFILING_CPU_ENABLED`: `true` or
    ///   `false`, in any case; `ZDK_TRACE_PROFILING_CPU_FREQUENCY`: samples per second, 1 to
    ///   1000. `PYROSCOPE_SERVER_ADDRESS`: the Pyroscope server's URL;
    ///   `PYROSCOPE_APPLICATION_NAME`: the name profiles are pushed under.
    ///
    /// Empty values count as unset.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Config, ConfigError};
    ///
    /// let layer = Config::from_env_vars([
    ///     ("OTEL_SERVICE_NAME", "my-agent"),
    ///     ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
    ///     ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
    /// ])?;
    /// # let _ = layer;
    ///
    /// let err = Config::from_env_vars([("OTEL_BSP_MAX_QUEUE_SIZE", "lots")]).unwrap_err();
    /// assert!(matches!(err, ConfigError::Env { ref var, .. } if var == "OTEL_BSP_MAX_QUEUE_SIZE"));
    /// # Ok::<(), ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Env`] naming the first variable whose value is not accepted.
    pub fn from_env_vars<I, K, V>(vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        env::parse(vars)
    }

    /// Finds the configuration file: the one named by `ZDK_TRACE_CONFIG` if that is set, else
    /// `./zdk-trace.toml` if it exists, else none (`Ok(None)`).
    ///
    /// Without the `config-file` feature no file can be read: `ZDK_TRACE_CONFIG` naming a file
    /// is [`ConfigError::FileNotCompiled`], and `./zdk-trace.toml` is not looked for (always
    /// `Ok(None)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::Config;
    ///
    /// let file_layer: Option<Config> = Config::discover()?;
    /// # let _ = file_layer;
    /// # Ok::<(), zdk_trace_runtime::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Io`] when `ZDK_TRACE_CONFIG` names a file that cannot be read (or
    /// `./zdk-trace.toml` exists but cannot be read); else as `Config::from_toml_str`.
    /// [`ConfigError::FileNotCompiled`] when `ZDK_TRACE_CONFIG` is set in a build without the
    /// `config-file` feature.
    pub fn discover() -> Result<Option<Config>, ConfigError> {
        discover_in(std::env::var_os(ZDK_TRACE_CONFIG), Path::new("."))
    }

    /// Sets the service name (`service.name`).
    ///
    /// File: `telemetry.service_name`; environment: `OTEL_SERVICE_NAME`. Default:
    /// `unknown_service`. 1 to 255 characters, no control character (U+0000 to U+001F,
    /// U+007F to U+009F); anything else is refused when the configuration is resolved.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_service_name("my-agent");
    /// # let _ = layer;
    /// ```
    pub fn with_service_name(self, name: impl Into<String>) -> Self {
        table::SERVICE_NAME.code(self, name.into())
    }

    /// Turns `tracing` and `log` records into events of the span current where they are
    /// emitted, carrying its trace and span ids: at install, the `tracing` bridge
    /// ([`tracing::layer()`](crate::tracing::layer), feature `tracing`) becomes the global
    /// `tracing` subscriber and `log` records are routed through it. An application that sets
    /// its own subscriber adds the layer to it instead (install warns that it could not).
    /// Without the `tracing` feature the setting is shown and ignored, with a warning.
    ///
    /// File: `telemetry.logging`. Default `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_logging(true);
    /// # let _ = layer;
    /// ```
    pub fn with_logging(self, logging: bool) -> Self {
        table::LOGGING.code(self, logging)
    }

    /// Sets the service version (`service.version`).
    ///
    /// File: `telemetry.service_version`. 1 to 255 characters, no control character.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_service_version("1.2.3");
    /// # let _ = layer;
    /// ```
    pub fn with_service_version(self, version: impl Into<String>) -> Self {
        table::SERVICE_VERSION.code(self, version.into())
    }

    /// Adds a resource attribute, replacing one with the same key in this layer.
    ///
    /// File: `[telemetry.resource]`; environment: `OTEL_RESOURCE_ATTRIBUTES`. The key has 1 to
    /// 255 characters, the value at most 4096 (a `service.name` value: 1 to 255), neither any
    /// control character.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_resource_attribute("deployment.environment", "prod");
    /// # let _ = layer;
    /// ```
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        let key = key.into();
        self.resource.retain(|set| set.value.0 != key);
        self.resource.push(Set::new(
            (key, value.into()),
            Origin::Code {
                setter: "with_resource_attribute",
            },
        ));
        self
    }

    /// Turns tracing on or off. Off, spans cost one atomic load and nothing is exported.
    ///
    /// File: `telemetry.enabled` (and `telemetry.tracing.enabled`); environment:
    /// `OTEL_SDK_DISABLED=true`. Default: on.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_enabled(false);
    /// # let _ = layer;
    /// ```
    pub fn with_enabled(self, enabled: bool) -> Self {
        table::ENABLED.code(self, enabled)
    }

    /// CPU profile samples per second (1 to 1000 Hz; default 99).
    ///
    /// File: `telemetry.profiling.cpu.frequency`; environment:
    /// `ZDK_TRACE_PROFILING_CPU_FREQUENCY`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_cpu_profile_frequency(499);
    /// # let _ = layer;
    /// ```
    pub fn with_cpu_profile_frequency(self, hz: u32) -> Self {
        table::PROFILING_CPU_FREQUENCY.code(self, hz)
    }

    /// Sets the head sampler.
    ///
    /// File: `telemetry.tracing.sampling.strategy` and `probability`; environment:
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. A ratio set by a later layer
    /// (e.g. `OTEL_TRACES_SAMPLER_ARG` alone) replaces this sampler's ratio. Default:
    /// [`Sampler::AlwaysOn`]. A ratio outside `0..=1` (or NaN), even nested, is refused when
    /// the configuration is resolved.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Config, Sampler};
    ///
    /// let layer = Config::default().with_sampler(Sampler::parent_based(Sampler::TraceIdRatio(0.1)));
    /// # let _ = layer;
    /// ```
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        const SETTER: &str = "with_sampler";
        let (strategy, probability) = match &sampler {
            Sampler::AlwaysOn => (Strategy::AlwaysOn, None),
            Sampler::AlwaysOff => (Strategy::AlwaysOff, None),
            Sampler::TraceIdRatio(p) => (Strategy::TraceIdRatio, Some(*p)),
            Sampler::ParentBased(root) => match **root {
                Sampler::AlwaysOn => (Strategy::ParentBased(Root::AlwaysOn), None),
                Sampler::AlwaysOff => (Strategy::ParentBased(Root::AlwaysOff), None),
                Sampler::TraceIdRatio(p) => (Strategy::ParentBased(Root::TraceIdRatio), Some(p)),
                Sampler::ParentBased(_) => (Strategy::Exact(sampler.clone()), None),
            },
        };
        self.sampling.strategy = Set::code(SETTER, strategy);
        self.sampling.probability = probability.and_then(|p| Set::code(SETTER, p));
        self
    }

    /// Sets the tail sampling rules (all three of them).
    ///
    /// File: `telemetry.tracing.sampling.always_sample_errors`, `always_sample_slow_seconds`
    /// and `max_traces_per_second`. Default: no tail rule. The slow threshold is at most one
    /// day; the rate from 0.001 to 1 000 000 traces per second (finite); anything else is
    /// refused when the configuration is resolved.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Config, TailSampling};
    ///
    /// let layer = Config::default().with_tail_sampling(TailSampling::default().keep_errors(true));
    /// # let _ = layer;
    /// ```
    pub fn with_tail_sampling(mut self, tail: TailSampling) -> Self {
        const SETTER: &str = "with_tail_sampling";
        self.sampling.keep_errors = Set::code(SETTER, tail.keep_errors);
        self.sampling.slow_threshold = tail.slow_threshold.and_then(|d| Set::code(SETTER, d));
        self.sampling.max_traces_per_second = tail
            .max_traces_per_second
            .and_then(|n| Set::code(SETTER, n));
        self
    }

    /// Sets how many finished spans may wait for export; more are dropped (and counted).
    ///
    /// File: `telemetry.tracing.otlp.batch.max_queue_size`; environment:
    /// `OTEL_BSP_MAX_QUEUE_SIZE`. Default: 32 768, 32 ms at a million spans per second (the
    /// OpenTelemetry SDKs' 2048 is two milliseconds: less than one export round trip, and a
    /// busy machine now and then keeps the exporter off the CPU for longer). From 1 to
    /// 1 048 576 (2^20): each waiting span takes a few hundred bytes, and a thread's ring may
    /// grow to the queue size (320 bytes a slot).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_max_queue_size(65_536);
    /// # let _ = layer;
    /// ```
    pub fn with_max_queue_size(self, size: usize) -> Self {
        table::MAX_QUEUE_SIZE.code(self, size)
    }

    /// Sets the largest batch handed to an exporter at once.
    ///
    /// File: `telemetry.tracing.otlp.batch.max_export_batch_size`; environment:
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. Default: 512 (or the queue size if smaller). From 1
    /// to 65 536, and at most the queue size.
    ///
    /// The built-in OTLP exporters send batches that are already waiting in the queue when
    /// they send (up to 8) in one request, within `max_request_bytes`: under load a request
    /// carries several batches, and costs the exporter thread about what one did.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_max_export_batch_size(256);
    /// # let _ = layer;
    /// ```
    pub fn with_max_export_batch_size(self, size: usize) -> Self {
        table::MAX_EXPORT_BATCH_SIZE.code(self, size)
    }

    /// Sets the longest time a finished span waits before its batch is exported.
    ///
    /// File: `telemetry.tracing.otlp.batch.scheduled_delay_seconds`; environment:
    /// `OTEL_BSP_SCHEDULE_DELAY` (milliseconds). Default: 5 s. From 0 to 1 hour.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = zdk_trace_runtime::Config::default().with_scheduled_delay(Duration::from_secs(1));
    /// # let _ = layer;
    /// ```
    pub fn with_scheduled_delay(self, delay: Duration) -> Self {
        table::SCHEDULED_DELAY.code(self, delay)
    }

    /// Sets how long one export may take before it is abandoned.
    ///
    /// File: `telemetry.tracing.otlp.batch.export_timeout_seconds`; environment:
    /// `OTEL_BSP_EXPORT_TIMEOUT` (milliseconds). Default: 30 s. From 1 ms to 1 hour.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = zdk_trace_runtime::Config::default().with_export_timeout(Duration::from_secs(10));
    /// # let _ = layer;
    /// ```
    pub fn with_export_timeout(self, timeout: Duration) -> Self {
        table::EXPORT_TIMEOUT.code(self, timeout)
    }

    /// Sets the largest OTLP export request, in bytes: a batch is cut into several requests
    /// where the next span would take it past this size, and a span that alone exceeds it is
    /// dropped (counted in [`Stats::spans_too_large`](crate::Stats::spans_too_large)).
    ///
    /// File: `telemetry.tracing.otlp.batch.max_request_bytes`. Default: 4 MiB (gRPC's default
    /// message limit; collectors reject larger requests whole). Must be positive.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_max_request_bytes(1 << 20);
    /// # let _ = layer;
    /// ```
    pub fn with_max_request_bytes(self, bytes: usize) -> Self {
        table::MAX_REQUEST_BYTES.code(self, bytes)
    }

    /// Sets how many bytes of OTLP requests are kept to be sent again when the collector does
    /// not take them (refused, unreachable, 429/502/503/504, `UNAVAILABLE`, no answer in
    /// time); past it the oldest are dropped and counted
    /// ([`Stats::dropped_retry_buffer`](crate::Stats::dropped_retry_buffer)). 0: no retry.
    ///
    /// File: `telemetry.tracing.otlp.retry.buffer_bytes`. Default: 32 MiB. At most 1 GiB.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_retry_buffer_bytes(8 << 20);
    /// # let _ = layer;
    /// ```
    pub fn with_retry_buffer_bytes(self, bytes: usize) -> Self {
        table::RETRY_BUFFER_BYTES.code(self, bytes)
    }

    /// Sets how old a kept request may get before it is dropped (and counted).
    ///
    /// File: `telemetry.tracing.otlp.retry.max_age_seconds`. Default: 300 s; 1 ms to 1 h.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = zdk_trace_runtime::Config::default().with_retry_max_age(Duration::from_secs(60));
    /// # let _ = layer;
    /// ```
    pub fn with_retry_max_age(self, age: Duration) -> Self {
        table::RETRY_MAX_AGE.code(self, age)
    }

    /// Sets how many failed exports in a row open the circuit breaker: the collector is then
    /// left alone but for one probe per [probe interval](Self::with_probe_interval), and new
    /// requests are kept.
    ///
    /// File: `telemetry.tracing.otlp.retry.circuit_failures`. Default: 5; 1 to 1000.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_circuit_failures(3);
    /// # let _ = layer;
    /// ```
    pub fn with_circuit_failures(self, failures: usize) -> Self {
        table::CIRCUIT_FAILURES.code(self, failures)
    }

    /// Sets the time between two probes of the collector while the circuit is open.
    ///
    /// File: `telemetry.tracing.otlp.retry.probe_interval_seconds`. Default: 1 s; 1 ms to 1 h.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = zdk_trace_runtime::Config::default().with_probe_interval(Duration::from_secs(5));
    /// # let _ = layer;
    /// ```
    pub fn with_probe_interval(self, interval: Duration) -> Self {
        table::PROBE_INTERVAL.code(self, interval)
    }

    /// Sets the longest attribute value a span keeps, in bytes: longer strings (and strings
    /// of arrays) are truncated at a character boundary and counted in
    /// [`Stats::attribute_values_truncated`](crate::Stats::attribute_values_truncated).
    ///
    /// File: `telemetry.tracing.limits.attribute_value_length`; environment:
    /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` (wins).
    /// Default: 1 MiB (a long prompt fits; one value cannot fill an export request). Must be
    /// positive.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_attribute_value_length_limit(4096);
    /// # let _ = layer;
    /// ```
    pub fn with_attribute_value_length_limit(self, bytes: usize) -> Self {
        table::ATTRIBUTE_VALUE_LENGTH.code(self, bytes)
    }

    /// Sets how many attributes a span (and each of its events and links) keeps; later ones
    /// are dropped and counted ([`Stats::attributes_dropped`](crate::Stats::attributes_dropped),
    /// and the span's `dropped_attributes_count`).
    ///
    /// File: `telemetry.tracing.limits.attribute_count`; environment:
    /// `OTEL_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` (wins). Default: 128.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_attribute_count_limit(64);
    /// # let _ = layer;
    /// ```
    pub fn with_attribute_count_limit(self, count: usize) -> Self {
        table::ATTRIBUTE_COUNT.code(self, count)
    }

    /// Sets how many events a span keeps; later ones are dropped and counted
    /// ([`Stats::events_dropped`](crate::Stats::events_dropped), and the span's
    /// `dropped_events_count`).
    ///
    /// File: `telemetry.tracing.limits.event_count`; environment:
    /// `OTEL_SPAN_EVENT_COUNT_LIMIT`. Default: 128.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_event_count_limit(32);
    /// # let _ = layer;
    /// ```
    pub fn with_event_count_limit(self, count: usize) -> Self {
        table::EVENT_COUNT.code(self, count)
    }

    /// Sets how many links a span keeps; later ones are dropped and counted
    /// ([`Stats::links_dropped`](crate::Stats::links_dropped), and the span's
    /// `dropped_links_count`).
    ///
    /// File: `telemetry.tracing.limits.link_count`; environment:
    /// `OTEL_SPAN_LINK_COUNT_LIMIT`. Default: 128.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_link_count_limit(32);
    /// # let _ = layer;
    /// ```
    pub fn with_link_count_limit(self, count: usize) -> Self {
        table::LINK_COUNT.code(self, count)
    }

    /// Sets the OTLP endpoint. For `http/protobuf`, a URL without a path gets `/v1/traces`.
    ///
    /// Setting an endpoint anywhere turns the OTLP exporter on when no exporter is listed.
    /// File: `telemetry.tracing.otlp.endpoint`; environment: `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. Default: `http://localhost:4318/v1/traces`
    /// (`http://localhost:4317` for gRPC). An `http://` or `https://` URL with a host, a port
    /// from 1 to 65535 if any, no whitespace or control character, at most 2048 characters.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_otlp_endpoint("http://collector:4318");
    /// # let _ = layer;
    /// ```
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp.endpoint = Set::code("with_otlp_endpoint", Endpoint::Url(endpoint.into()));
        self
    }

    /// Sets the OTLP transport.
    ///
    /// File: `telemetry.tracing.otlp.protocol`; environment: `OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`. Default: [`Protocol::HttpProtobuf`].
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Config, Protocol};
    /// let layer = Config::default().with_otlp_protocol(Protocol::Grpc);
    /// # let _ = layer;
    /// ```
    pub fn with_otlp_protocol(self, protocol: Protocol) -> Self {
        table::OTLP_PROTOCOL.code(self, protocol.into())
    }

    /// Adds an OTLP header (e.g. an API key), replacing one with the same name in this layer.
    /// The value is a secret: no `Debug` output or error shows it. It is sent as given
    /// (`${VAR}` is expanded only in files).
    ///
    /// File: `[telemetry.tracing.otlp.headers]`; environment: `OTEL_EXPORTER_OTLP_HEADERS`,
    /// `OTEL_EXPORTER_OTLP_TRACES_HEADERS`. The name is an HTTP token (letters, digits and
    /// ``!#$%&'*+-.^_`|~``) of at most 255 characters; the value has at most 8192 characters and
    /// no control character (a trailing line break is a common one).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_otlp_header("x-api-key", "s3cr3t");
    /// assert!(!format!("{layer:?}").contains("s3cr3t"));
    /// ```
    pub fn with_otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.otlp
            .headers
            .retain(|set| !set.value.0.eq_ignore_ascii_case(&name));
        self.otlp.headers.push(Set::new(
            (name, Secret(value.into())),
            Origin::Code {
                setter: "with_otlp_header",
            },
        ));
        self
    }

    /// Sets how long one OTLP request may take.
    ///
    /// File: `telemetry.tracing.otlp.timeout_seconds`; environment:
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (milliseconds).
    /// Default: 10 s. From 1 ms to 1 hour.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = zdk_trace_runtime::Config::default().with_otlp_timeout(Duration::from_secs(3));
    /// # let _ = layer;
    /// ```
    pub fn with_otlp_timeout(self, timeout: Duration) -> Self {
        table::OTLP_TIMEOUT.code(self, timeout)
    }

    /// Turns gzip compression of OTLP requests on (`true`) or off.
    ///
    /// File: `telemetry.tracing.otlp.compression = "gzip"` or `"none"`; environment:
    /// `OTEL_EXPORTER_OTLP_COMPRESSION`, `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`. Default: off.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_otlp_compression(true);
    /// # let _ = layer;
    /// ```
    pub fn with_otlp_compression(self, gzip: bool) -> Self {
        table::OTLP_COMPRESSION.code(self, gzip)
    }

    /// Adds the stdout exporter (human-readable trace trees).
    ///
    /// The exporters of the last layer that lists any are used; with none listed anywhere,
    /// OTLP is used when an endpoint is set, else stdout. File:
    /// `[[telemetry.tracing.exporters]] type = "stdout"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_stdout_exporter();
    /// # let _ = layer;
    /// ```
    pub fn with_stdout_exporter(self) -> Self {
        self.with_exporter("with_stdout_exporter", ExporterChoice::Stdout)
    }

    /// Adds the file exporter: one span per line, OTLP/JSON shape, appended to `path`
    /// (relative paths are relative to the working directory).
    ///
    /// File: `[[telemetry.tracing.exporters]] type = "file"`, `path = "traces.jsonl"`. 1 to
    /// 4096 characters, no control character.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_file_exporter("traces.jsonl");
    /// # let _ = layer;
    /// ```
    pub fn with_file_exporter(self, path: impl Into<PathBuf>) -> Self {
        self.with_exporter("with_file_exporter", ExporterChoice::File(path.into()))
    }

    /// Adds the OTLP exporter, configured by the OTLP settings of all layers.
    ///
    /// File: `[[telemetry.tracing.exporters]] type = "otlp"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_otlp_exporter();
    /// # let _ = layer;
    /// ```
    pub fn with_otlp_exporter(self) -> Self {
        self.with_exporter("with_otlp_exporter", ExporterChoice::Otlp)
    }

    /// Sets whether, and where, message content is recorded by functions marked `capture`
    /// (`#[llm_call(..., capture)]`, `#[tool_call(..., capture)]`).
    ///
    /// File: `telemetry.genai.capture_message_content`; environment:
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`. Default:
    /// [`CaptureMode::NoContent`].
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::genai::CaptureMode;
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_capture_message_content(CaptureMode::EventOnly);
    /// # let _ = layer;
    /// ```
    pub fn with_capture_message_content(self, mode: CaptureMode) -> Self {
        table::CAPTURE.code(self, mode)
    }

    /// Sets what a million input and output tokens of `model` cost, in US dollars, from which
    /// the cost of each call to it is computed; replaces this model's price in this layer.
    ///
    /// File: `[telemetry.genai.prices."<model>"]` with `input_per_million` and
    /// `output_per_million`; a file's entry for the same model replaces this one, other models
    /// add to it. No environment variable. The model is named as the application reports it
    /// (`gen_ai.request.model`): 1 to 255 characters (dots, dashes and slashes included), no
    /// control character. Prices are finite and 0 or more. Anything else is refused when the
    /// configuration is resolved. For another currency, see
    /// [`with_model_price_in`](Self::with_model_price_in).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_model_price("gpt-4o", 2.5, 10.0)
    ///     .with_model_price("claude-sonnet-4", 3.0, 15.0);
    /// # let _ = layer;
    /// ```
    pub fn with_model_price(
        self,
        model: impl Into<String>,
        input_per_million: f64,
        output_per_million: f64,
    ) -> Self {
        self.with_price(
            "with_model_price",
            model.into(),
            input_per_million,
            output_per_million,
            PRICE_CURRENCY_DEFAULT.to_owned(),
        )
    }

    /// Sets what a million input and output tokens of `model` cost in `currency`, an ISO 4217
    /// code of 3 upper-case letters (`EUR`); as [`with_model_price`](Self::with_model_price)
    /// otherwise.
    ///
    /// File: `[telemetry.genai.prices."<model>"]` with `input_per_million`,
    /// `output_per_million` and `currency` (default `USD`).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_model_price_in("mistral-large", 1.8, 5.4, "EUR");
    /// # let _ = layer;
    /// ```
    pub fn with_model_price_in(
        self,
        model: impl Into<String>,
        input_per_million: f64,
        output_per_million: f64,
        currency: impl Into<String>,
    ) -> Self {
        self.with_price(
            "with_model_price_in",
            model.into(),
            input_per_million,
            output_per_million,
            currency.into(),
        )
    }

    /// Turns metrics on (`true`, the default) or off. Off, instruments record nothing and
    /// nothing is exported. `telemetry.enabled = false` (`OTEL_SDK_DISABLED=true`) turns them
    /// off too.
    ///
    /// File: `telemetry.metrics.enabled`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_metrics_enabled(false);
    /// # let _ = layer;
    /// ```
    pub fn with_metrics_enabled(self, enabled: bool) -> Self {
        table::METRICS_ENABLED.code(self, enabled)
    }

    /// Sets how many attribute sets (series) one instrument keeps, the overflow series
    /// included: measurements with a new attribute set past the limit go to the series with
    /// the attribute `otel.metric.overflow = true`.
    ///
    /// File: `telemetry.metrics.cardinality_limit`. Default: 2000. From 2 to 1 000 000;
    /// anything else is refused when the configuration is resolved.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_metrics_cardinality_limit(500);
    /// # let _ = layer;
    /// ```
    pub fn with_metrics_cardinality_limit(self, limit: usize) -> Self {
        table::METRICS_CARDINALITY_LIMIT.code(self, limit)
    }

    /// Turns the Prometheus scrape endpoint on (`true`) or off (the default): the metrics are
    /// served at `http://{address}:{port}{path}`.
    ///
    /// File: `telemetry.metrics.prometheus.enabled`; environment: `OTEL_METRICS_EXPORTER`
    /// naming `prometheus` (that variable, when set, decides alone which exporters run).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_prometheus_enabled(true)
    ///     .with_prometheus_port(9090);
    /// # let _ = layer;
    /// ```
    pub fn with_prometheus_enabled(self, enabled: bool) -> Self {
        table::PROMETHEUS_ENABLED.code(self, enabled)
    }

    /// Sets the port the Prometheus scrape endpoint listens on.
    ///
    /// File: `telemetry.metrics.prometheus.port`. Default: 9464. From 0 to 65535; 0 is "any
    /// free port" (read the port chosen from `Telemetry::prometheus_addr`; for tests).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_prometheus_port(9090);
    /// # let _ = layer;
    /// ```
    pub fn with_prometheus_port(self, port: u16) -> Self {
        table::PROMETHEUS_PORT.code(self, port)
    }

    /// Sets the address the Prometheus scrape endpoint listens on.
    ///
    /// File: `telemetry.metrics.prometheus.address` (an IP address, not a host name).
    /// Default: `127.0.0.1`, this machine only; `0.0.0.0` (or `::`) serves every interface,
    /// which exposes the metrics to the network.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// let layer = zdk_trace_runtime::Config::default().with_prometheus_address(Ipv4Addr::UNSPECIFIED);
    /// # let _ = layer;
    /// ```
    pub fn with_prometheus_address(self, address: impl Into<IpAddr>) -> Self {
        table::PROMETHEUS_ADDRESS.code(self, address.into())
    }

    /// Sets the path the Prometheus scrape endpoint serves the metrics on.
    ///
    /// File: `telemetry.metrics.prometheus.path`. Default: `/metrics`. It starts with `/` and
    /// has no space, control character, `?` or `#`, at most 2048 characters; anything else is
    /// refused when the configuration is resolved.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_prometheus_path("/internal/metrics");
    /// # let _ = layer;
    /// ```
    pub fn with_prometheus_path(self, path: impl Into<String>) -> Self {
        table::PROMETHEUS_PATH.code(self, path.into())
    }

    /// Sets the OTLP endpoint the metrics are pushed to, which turns the push on (when
    /// `OTEL_METRICS_EXPORTER` is not set). For `http/protobuf`, a URL without a path gets
    /// `/v1/metrics`.
    ///
    /// File: `telemetry.metrics.otlp.endpoint`; environment: `OTEL_EXPORTER_OTLP_ENDPOINT` (a
    /// base URL: `/v1/metrics` is appended for `http/protobuf`),
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as-is; wins). Default: none, no push. The
    /// same rules as [`with_otlp_endpoint`](Self::with_otlp_endpoint): an `http://` or
    /// `https://` URL with a host, a port from 1 to 65535 if any, no whitespace or control
    /// character, at most 2048 characters.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_metrics_otlp_endpoint("http://collector:4317");
    /// # let _ = layer;
    /// ```
    pub fn with_metrics_otlp_endpoint(self, endpoint: impl Into<String>) -> Self {
        table::METRICS_OTLP_ENDPOINT.code(self, Endpoint::Url(endpoint.into()))
    }

    /// Sets the OTLP transport of the metrics push.
    ///
    /// File: `telemetry.metrics.otlp.protocol`; environment: `OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL` (wins). Default: [`Protocol::Grpc`] (unlike
    /// traces, whose default is `http/protobuf`).
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{Config, Protocol};
    /// let layer = Config::default().with_metrics_otlp_protocol(Protocol::HttpProtobuf);
    /// # let _ = layer;
    /// ```
    pub fn with_metrics_otlp_protocol(self, protocol: Protocol) -> Self {
        table::METRICS_OTLP_PROTOCOL.code(self, protocol.into())
    }

    /// Sets the time between two pushes of the metrics.
    ///
    /// File: `telemetry.metrics.otlp.interval_seconds`; environment:
    /// `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds, as the OpenTelemetry specification says).
    /// Default: 60 s. From 1 ms to 1 hour.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_metrics_otlp_interval(Duration::from_secs(15));
    /// # let _ = layer;
    /// ```
    pub fn with_metrics_otlp_interval(self, interval: Duration) -> Self {
        table::METRICS_OTLP_INTERVAL.code(self, interval)
    }

    /// Sets the aggregation temporality the metrics are pushed with: totals since the start
    /// (`Temporality::Cumulative`, the default) or changes since the last push
    /// (`Temporality::Delta`, `Temporality::LowMemory`).
    ///
    /// File: `telemetry.metrics.otlp.temporality = "cumulative"`, `"delta"` or `"lowmemory"`;
    /// environment: `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (in any case).
    ///
    /// # Examples
    ///
    /// ```
    /// // `Default::default()` is `Temporality::Cumulative`.
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_metrics_otlp_temporality(Default::default());
    /// # let _ = layer;
    /// ```
    pub fn with_metrics_otlp_temporality(self, temporality: Temporality) -> Self {
        table::METRICS_OTLP_TEMPORALITY.code(self, temporality)
    }

    /// Turns the anonymous usage layer on (`true`) or off. It is off unless the application
    /// turns it on, and even then the person running the application can turn it off (see
    /// [`usage`](crate::usage)). With no endpoint it sends nothing.
    ///
    /// File: `telemetry.usage.enabled`. Default: off.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default()
    ///     .with_usage_enabled(true)
    ///     .with_usage_endpoint("http://usage.example.com:4318");
    /// # let _ = layer;
    /// ```
    pub fn with_usage_enabled(self, enabled: bool) -> Self {
        table::USAGE_ENABLED.code(self, enabled)
    }

    /// Sets where anonymous usage events go: an OTLP/HTTP base URL, to which `/v1/traces` is
    /// appended. Only `http://` (this build has no TLS backend): an `https://` URL is refused
    /// when the configuration is resolved.
    ///
    /// File: `telemetry.usage.endpoint`. Default: none (nothing is sent). A port, if any, from
    /// 1 to 65535; no whitespace or control character; at most 2048 characters.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_usage_endpoint("http://localhost:4318");
    /// # let _ = layer;
    /// ```
    pub fn with_usage_endpoint(self, endpoint: impl Into<String>) -> Self {
        table::USAGE_ENDPOINT.code(self, endpoint.into())
    }

    /// Allows (`true`, the default) or suppresses the one-time notice the usage layer prints
    /// on stderr the first time it is active for a user.
    ///
    /// File: `telemetry.usage.notice`.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = zdk_trace_runtime::Config::default().with_usage_notice(false);
    /// # let _ = layer;
    /// ```
    pub fn with_usage_notice(self, notice: bool) -> Self {
        table::USAGE_NOTICE.code(self, notice)
    }

    /// What `UsageOptions::span_exporter` implies: the usage layer on, unless this
    /// layer already says on or off.
    pub(crate) fn with_usage_enabled_by_exporter(mut self) -> Self {
        if self.usage.enabled.is_none() {
            self.usage.enabled = Set::code("UsageOptions::span_exporter", true);
        }
        self
    }

    fn with_price(
        mut self,
        setter: &'static str,
        model: String,
        input_per_million: f64,
        output_per_million: f64,
        currency: String,
    ) -> Self {
        self.prices.retain(|set| set.value.model != model);
        self.prices.push(Set::new(
            ModelPrice {
                model,
                input_per_million: unsigned_zero(input_per_million),
                output_per_million: unsigned_zero(output_per_million),
                currency,
            },
            Origin::Code { setter },
        ));
        self
    }

    fn with_exporter(mut self, setter: &'static str, exporter: ExporterChoice) -> Self {
        match &mut self.exporters {
            Some(list) => list.value.push(exporter),
            None => self.exporters = Set::code(setter, vec![exporter]),
        }
        self
    }
}

/// Reads `path`; `named_by` is the variable that named it, for the error.
#[cfg(feature = "config-file")]
fn read_file(path: &Path, named_by: Option<&str>) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        named_by: named_by.map(str::to_owned),
        source,
    })?;
    file::parse(&text, &path.display().to_string())
}

/// [`Config::discover`] with its inputs explicit, for tests.
#[cfg(feature = "config-file")]
fn discover_in(
    named: Option<std::ffi::OsString>,
    dir: &Path,
) -> Result<Option<Config>, ConfigError> {
    if let Some(named) = named.filter(|p| !p.is_empty()) {
        return read_file(Path::new(&named), Some(ZDK_TRACE_CONFIG)).map(Some);
    }
    let default = dir.join(CONFIG_FILE_DEFAULT);
    if default.is_file() {
        return read_file(&default, None).map(Some);
    }
    Ok(None)
}

/// [`Config::discover`] without the file reader: a file named by `ZDK_TRACE_CONFIG` is an
/// error naming the feature; `./zdk-trace.toml` is not looked for.
#[cfg(not(feature = "config-file"))]
fn discover_in(
    named: Option<std::ffi::OsString>,
    _dir: &Path,
) -> Result<Option<Config>, ConfigError> {
    match named.filter(|p| !p.is_empty()) {
        Some(named) => Err(ConfigError::FileNotCompiled {
            path: PathBuf::from(named),
            named_by: Some(ZDK_TRACE_CONFIG.to_owned()),
        }),
        None => Ok(None),
    }
}

// These tests read `zdk-trace.toml` documents.
#[cfg(all(test, feature = "config-file"))]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zdk-trace-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn discover_prefers_the_named_file() {
        let dir = temp_dir("discover-named");
        std::fs::write(
            dir.join(CONFIG_FILE_DEFAULT),
            "[telemetry]\nservice_name = \"cwd\"\n",
        )
        .unwrap();
        let named = dir.join("other.toml");
        std::fs::write(&named, "[telemetry]\nservice_name = \"named\"\n").unwrap();

        let found = discover_in(Some(named.into_os_string()), &dir)
            .unwrap()
            .unwrap();
        assert_eq!(found.service_name.unwrap().value, "named");

        let found = discover_in(None, &dir).unwrap().unwrap();
        assert_eq!(found.service_name.unwrap().value, "cwd");

        // An empty variable counts as unset.
        let found = discover_in(Some("".into()), &dir).unwrap().unwrap();
        assert_eq!(found.service_name.unwrap().value, "cwd");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn discover_without_file_is_none() {
        let dir = temp_dir("discover-none");
        assert!(discover_in(None, &dir).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn discover_named_missing_file_is_an_error() {
        let dir = temp_dir("discover-missing");
        let missing = dir.join("missing.toml");
        let err = discover_in(Some(missing.clone().into_os_string()), &dir).unwrap_err();
        match &err {
            ConfigError::Io { path, named_by, .. } => {
                assert_eq!(path, &missing);
                assert_eq!(named_by.as_deref(), Some(ZDK_TRACE_CONFIG));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("ZDK_TRACE_CONFIG"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn from_file_errors_name_the_path() {
        let dir = temp_dir("from-file");
        let path = dir.join("bad.toml");
        std::fs::write(&path, "[telemetry]\n\nenabled = \"yes\"\n").unwrap();
        let err = Config::from_file(&path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("{}:3", path.display())), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn with_sampler_splits_strategy_and_ratio() {
        let c = Config::default().with_sampler(Sampler::parent_based(Sampler::TraceIdRatio(0.3)));
        assert_eq!(
            c.sampling.strategy.unwrap().value,
            Strategy::ParentBased(Root::TraceIdRatio)
        );
        assert_eq!(c.sampling.probability.unwrap().value, 0.3);

        let nested = Sampler::parent_based(Sampler::parent_based(Sampler::AlwaysOff));
        let c = Config::default().with_sampler(nested.clone());
        assert_eq!(c.sampling.strategy.unwrap().value, Strategy::Exact(nested));
        assert!(c.sampling.probability.is_none());
    }

    #[test]
    fn setters_replace_same_key_and_append_exporters() {
        let c = Config::default()
            .with_resource_attribute("a", "1")
            .with_resource_attribute("a", "2")
            .with_otlp_header("X-Key", "1")
            .with_otlp_header("x-key", "2")
            .with_stdout_exporter()
            .with_file_exporter("t.jsonl");
        assert_eq!(c.resource.len(), 1);
        assert_eq!(c.resource[0].value.1, "2");
        assert_eq!(c.otlp.headers.len(), 1);
        assert_eq!(c.otlp.headers[0].value.1 .0, "2");
        assert_eq!(
            c.exporters.unwrap().value,
            vec![
                ExporterChoice::Stdout,
                ExporterChoice::File("t.jsonl".into())
            ]
        );
    }

    #[test]
    fn debug_hides_header_values() {
        let c = Config::default().with_otlp_header("x-api-key", "very-secret-value");
        let debug = format!("{c:?}");
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(debug.contains("x-api-key"), "{debug}");
    }
}

// What `ZDK_TRACE_CONFIG` and `./zdk-trace.toml` do in a build without the file reader.
#[cfg(all(test, not(feature = "config-file")))]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod without_file {
    use super::*;

    #[test]
    fn a_named_file_is_an_error_naming_the_feature() {
        let err = discover_in(Some("/etc/app/zdk-trace.toml".into()), Path::new(".")).unwrap_err();
        match &err {
            ConfigError::FileNotCompiled { path, named_by } => {
                assert_eq!(path, Path::new("/etc/app/zdk-trace.toml"));
                assert_eq!(named_by.as_deref(), Some(ZDK_TRACE_CONFIG));
            }
            other => panic!("unexpected error: {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("`/etc/app/zdk-trace.toml`"), "{msg}");
        assert!(msg.contains("ZDK_TRACE_CONFIG"), "{msg}");
        assert!(
            msg.contains("enable the `config-file` feature of zdk-trace-runtime"),
            "{msg}"
        );
    }

    #[test]
    fn the_working_directory_is_not_searched() {
        let dir = std::env::temp_dir().join(format!("zdk-nofile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("zdk-trace.toml"), "not = [valid").unwrap();
        // Documented: without `config-file`, discovery finds nothing (and reads nothing).
        assert!(discover_in(None, &dir).unwrap().is_none());
        assert!(discover_in(Some("".into()), &dir).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
