//! [`Telemetry`]: install the pipeline once at start-up, flush and shut it down at exit.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;
use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanExporter;

use crate::clock;
use crate::config::{
    self, Config, ConfigError, ConfigReport, ConfigSource, ExporterSettings, Settings,
};
use crate::export::{self, DynExporter, ExporterBuildError, OtlpCheck};
use crate::genai::CaptureMode;
use crate::hot::{hot, limits, COUNT_DEFAULT, VALUE_LENGTH_DEFAULT};
use crate::lock::lock;
use crate::metrics::{self, Metrics, MetricsError, MetricsOptions};
use crate::pipeline::stats::Stats;
use crate::pipeline::{Pipeline, PipelineError, PipelineParts, RetrySettings};
use crate::sampling::{Sampler, TailSampling};
use crate::usage::{self, StartParts, UsageHandle, UsageOptions, UsageStatus};

/// How long [`Telemetry::force_flush`] and [`Telemetry::shutdown`] wait by default.
pub const FLUSH_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);
/// How long dropping a [`Telemetry`] without `shutdown()` waits for the export to finish.
pub const DROP_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// The installed pipeline, if any.
static INSTALLED: Lazy<Mutex<Option<Arc<Inner>>>> = Lazy::new(|| Mutex::new(None));

#[derive(Debug)]
struct Inner {
    /// `None` when configuration disabled tracing.
    pipeline: Option<Pipeline>,
    baseline: Stats,
    stopped: AtomicBool,
    final_stats: Mutex<Option<Stats>>,
    /// The anonymous usage layer: its own queue and thread, independent of `pipeline`; shared
    /// with [`usage::usage_status`] while installed.
    usage: Arc<UsageHandle>,
    /// The metrics stages (the Prometheus endpoint); stopped after the pipeline, so that the
    /// console's summary sees the last spans' metrics.
    metrics: Mutex<Metrics>,
    /// Continuous CPU profiling and the profile exporter (`[telemetry.profiling]`).
    #[cfg(feature = "profiling")]
    profiling: Mutex<crate::profiling::stage::Stage>,
}

impl Inner {
    fn stats(&self) -> Stats {
        match *lock(&self.final_stats) {
            Some(stats) => stats,
            None => Stats::read_cumulative().since(&self.baseline),
        }
    }

    fn shutdown(self: &Arc<Self>, timeout: Duration) -> Result<(), ShutdownError> {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return Err(ShutdownError::AlreadyShutdown);
        }
        let deadline = clock::deadline_after(timeout);
        {
            let mut installed = lock(&INSTALLED);
            if installed.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, self)) {
                hot().set_enabled(false);
                *installed = None;
                usage::set_installed(None);
            }
        }
        let result = match &self.pipeline {
            Some(pipeline) => {
                let result = pipeline.shutdown(timeout);
                if result.is_err() {
                    // Whatever is still queued will not be exported.
                    crate::counters::count_dropped_shutdown(pipeline.queued() as u64);
                }
                result
            }
            None => Ok(()),
        };
        lock(&self.metrics).shutdown();
        #[cfg(feature = "profiling")]
        lock(&self.profiling).shutdown(deadline.saturating_duration_since(Instant::now()));
        *lock(&self.final_stats) = Some(Stats::read_cumulative().since(&self.baseline));
        // Within what is left of the same deadline. Usage failures are not the application's
        // concern: they are counted in `usage_status()`, never returned.
        self.usage
            .shutdown(deadline.saturating_duration_since(Instant::now()));
        result
    }
}

/// The installed tracing pipeline. Dropping it shuts the pipeline down (waiting at most
/// [`DROP_TIMEOUT_DEFAULT`] for the export), so keep it alive for the life of the application.
///
/// # Examples
///
/// ```
/// use opentelemetry_sdk::trace::InMemorySpanExporter;
/// use zdk_trace_runtime::{Config, Span, Telemetry};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let exporter = InMemorySpanExporter::default();
/// let telemetry = Telemetry::builder()
///     .config(Config::from_toml_str(r#"[telemetry.tracing.sampling]
/// strategy = "always_on""#)?)
///     .service_name("demo")
///     .span_exporter(exporter.clone())
///     .install()?;
/// {
///     let _span = Span::start("work").entered();
/// }
/// telemetry.force_flush()?;
/// assert_eq!(exporter.get_finished_spans()?.len(), 1);
/// telemetry.shutdown()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl Telemetry {
    /// A builder: configure in code, from `zdk-trace.toml` and from `OTEL_*` variables.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = zdk_trace_runtime::Telemetry::builder().service_name("my-agent");
    /// # drop(builder);
    /// ```
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder {
            code: Config::default(),
            file: None,
            env: EnvSource::Process,
            exporters: Vec::new(),
            inherit_otel_context: false,
            usage: UsageOptions::new(),
        }
    }

    /// Exports everything recorded so far, on every thread, and waits for the exporters
    /// (at most [`FLUSH_TIMEOUT_DEFAULT`]). Queued usage events are sent too, within the same
    /// deadline; their failures are counted in [`usage_status`](Self::usage_status), not
    /// returned.
    ///
    /// # Errors
    ///
    /// [`FlushError`] if a trace exporter failed or the wait timed out.
    pub fn force_flush(&self) -> Result<(), FlushError> {
        self.force_flush_with_timeout(FLUSH_TIMEOUT_DEFAULT)
    }

    /// [`force_flush`](Self::force_flush) with a deadline.
    ///
    /// # Errors
    ///
    /// [`FlushError`] if an exporter failed, the wait timed out, or the pipeline is shut down.
    pub fn force_flush_with_timeout(&self, timeout: Duration) -> Result<(), FlushError> {
        if self.inner.stopped.load(Ordering::Acquire) {
            return Err(FlushError::AlreadyShutdown);
        }
        let deadline = clock::deadline_after(timeout);
        let result = match &self.inner.pipeline {
            Some(pipeline) => pipeline.force_flush(timeout),
            None => Ok(()),
        };
        // Usage events too, within the same deadline; their failures are counted in
        // `usage_status()`, not returned.
        self.inner
            .usage
            .flush(deadline.saturating_duration_since(Instant::now()));
        result
    }

    /// Exports everything recorded, shuts the exporters down and stops the pipeline threads
    /// (waiting at most [`FLUSH_TIMEOUT_DEFAULT`]). Spans ending afterwards are counted as
    /// `dropped_shutdown`. The usage layer sends what it has queued and stops within the same
    /// deadline; its failures are counted in [`usage_status`](Self::usage_status), not
    /// returned.
    ///
    /// # Errors
    ///
    /// [`ShutdownError`] if a trace exporter failed, the wait timed out, or it was already shut
    /// down.
    pub fn shutdown(&self) -> Result<(), ShutdownError> {
        self.shutdown_with_timeout(FLUSH_TIMEOUT_DEFAULT)
    }

    /// [`shutdown`](Self::shutdown) with a deadline.
    ///
    /// # Errors
    ///
    /// As [`shutdown`](Self::shutdown).
    pub fn shutdown_with_timeout(&self, timeout: Duration) -> Result<(), ShutdownError> {
        self.inner.shutdown(timeout)
    }

    /// A standard OpenTelemetry [`Meter`] of instrumentation scope `name`, on zdk-trace's
    /// metrics: its counters, up-down counters, histograms and gauges (and their observable
    /// forms) record into per-thread cells without a lock, and are exported with the built-in
    /// GenAI instruments (the Prometheus endpoint, the console summary). An instrument asked
    /// for twice (same name, kind and unit) is the same instrument.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{KeyValue, Telemetry};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = Telemetry::builder().ignore_env().install()?;
    /// let meter = telemetry.meter("my_agent");
    /// let retries = meter.u64_counter("agent.retries").build();
    /// retries.add(1, &[KeyValue::new("gen_ai.agent.name", "planner")]);
    /// let latency = meter
    ///     .f64_histogram("search.latency")
    ///     .with_unit("s")
    ///     .with_boundaries(vec![0.01, 0.1, 1.0, 10.0])
    ///     .build();
    /// latency.record(0.042, &[]);
    /// telemetry.shutdown()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn meter(&self, name: impl Into<Cow<'static, str>>) -> Meter {
        metrics::meter(name.into())
    }

    /// A CPU profile of the whole process over the next `duration` (blocks the calling
    /// thread that long), sampled at `[telemetry.profiling.cpu] frequency` (99 Hz by
    /// default). Every sample taken while a span was being polled or entered carries the
    /// pprof labels `trace_id`, `span_id`, `span_name` and `gen_ai.agent.name` of that span.
    /// Render it with [`Profile::text_report`](crate::profiling::Profile::text_report),
    /// [`Profile::flamegraph_svg`](crate::profiling::Profile::flamegraph_svg) or save
    /// [`Profile::to_pprof`](crate::profiling::Profile::to_pprof). Works whether or not
    /// continuous profiling is on (both share one sampler).
    ///
    /// # Errors
    ///
    /// [`ProfilingError`](crate::profiling::ProfilingError): another profiler holds SIGPROF
    /// in this process, not Linux, or the profiler stopped.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = zdk_trace_runtime::Telemetry::builder().install()?;
    /// let profile = telemetry.profile_cpu(std::time::Duration::from_secs(10))?;
    /// std::fs::write("cpu.pb.gz", profile.to_pprof())?;
    /// println!("{}", profile.text_report());
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "profiling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "profiling")))]
    pub fn profile_cpu(
        &self,
        duration: Duration,
    ) -> Result<crate::profiling::Profile, crate::profiling::ProfilingError> {
        lock(&self.inner.profiling).profile_cpu(duration)
    }

    /// Starts a CPU profile of the whole process that runs until
    /// [`CpuProfileGuard::stop`](crate::profiling::CpuProfileGuard::stop), with the same
    /// span labels as [`profile_cpu`](Self::profile_cpu).
    ///
    /// # Errors
    ///
    /// As [`profile_cpu`](Self::profile_cpu).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = zdk_trace_runtime::Telemetry::builder().install()?;
    /// let guard = telemetry.start_cpu_profile()?;
    /// // ... the run ...
    /// println!("{}", guard.stop()?.text_report());
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "profiling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "profiling")))]
    pub fn start_cpu_profile(
        &self,
    ) -> Result<crate::profiling::CpuProfileGuard, crate::profiling::ProfilingError> {
        lock(&self.inner.profiling).start_cpu_profile()
    }

    /// The heap profile so far, when `[telemetry.profiling.memory] track_allocations` samples
    /// allocations (one in `sampling_rate`, with its stack and the span current when it was
    /// made): `alloc_objects`/`alloc_space` since install and, with `heap_profiling`,
    /// `inuse_objects`/`inuse_space` (not yet freed), scaled by the rate, with the same span
    /// labels as CPU profiles. Needs [`CountingAllocator`](crate::CountingAllocator) as the
    /// global allocator.
    ///
    /// # Errors
    ///
    /// [`ProfilingError::HeapOff`](crate::profiling::ProfilingError::HeapOff) when
    /// allocations are not being sampled.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = zdk_trace_runtime::Telemetry::builder().install()?;
    /// let heap = telemetry.heap_profile()?;
    /// std::fs::write("heap.pb.gz", heap.to_pprof())?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "profiling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "profiling")))]
    pub fn heap_profile(
        &self,
    ) -> Result<crate::profiling::Profile, crate::profiling::ProfilingError> {
        lock(&self.inner.profiling).heap_profile()
    }

    /// The process's memory now: from the [`CountingAllocator`](crate::CountingAllocator)
    /// when it is the global allocator (allocated, current, peak, allocations) and from the
    /// operating system (resident and virtual size).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = zdk_trace_runtime::Telemetry::builder().install()?;
    /// let stats = telemetry.memory_stats();
    /// println!("rss: {:?} bytes", stats.rss_bytes);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "profiling")]
    #[cfg_attr(docsrs, doc(cfg(feature = "profiling")))]
    pub fn memory_stats(&self) -> crate::profiling::MemoryStats {
        crate::profiling::MemoryStats::now()
    }

    /// The address the Prometheus endpoint listens on, when it runs (the port chosen by the
    /// system when port 0 was configured).
    pub fn prometheus_addr(&self) -> Option<SocketAddr> {
        lock(&self.inner.metrics).prometheus_addr()
    }

    /// The console's metrics summary now: per agent, model, tool and workflow, the calls,
    /// errors, p50/p95 latency and tokens; `None` before any instrumented call ended.
    pub fn metrics_summary(&self) -> Option<String> {
        export::metrics_summary::summary(&crate::tally::collect())
    }

    /// Counters of what the pipeline did since it was installed.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// What the anonymous usage layer of this `Telemetry` is doing: on or off and exactly why,
    /// endpoint, ids, counters and circuit state (see [`usage`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::usage::{UsageOptions, UsageReason};
    /// use zdk_trace_runtime::Telemetry;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = Telemetry::builder()
    ///     .span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
    ///     .env_vars([("DO_NOT_TRACK", "1")])
    ///     .usage(UsageOptions::new().enabled(true).endpoint("http://usage.example.com:4318"))
    ///     .install()?;
    /// let status = telemetry.usage_status();
    /// assert!(!status.enabled);
    /// assert_eq!(status.reason, UsageReason::DoNotTrack);
    /// # telemetry.shutdown()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn usage_status(&self) -> UsageStatus {
        self.inner.usage.status()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if !self.inner.stopped.load(Ordering::Acquire) {
            let _ = self.inner.shutdown(DROP_TIMEOUT_DEFAULT);
        }
    }
}

#[derive(Debug)]
enum EnvSource {
    Process,
    Vars(Vec<(String, String)>),
    Ignore,
}

impl EnvSource {
    fn config(&self) -> Result<Config, ConfigError> {
        match self {
            EnvSource::Process => Config::from_env(),
            EnvSource::Vars(vars) => Config::from_env_vars(vars.iter().cloned()),
            EnvSource::Ignore => Ok(Config::default()),
        }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        match self {
            EnvSource::Process | EnvSource::Ignore => std::env::var(name).ok(),
            EnvSource::Vars(vars) => vars
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
        }
    }
}

/// Configures and installs the pipeline. Precedence: values set here in code are overridden
/// by the configuration file, which is overridden by `OTEL_*` environment variables.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::{Sampler, TailSampling, Telemetry};
/// use std::time::Duration;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = Telemetry::builder()
///     .service_name("support-agent")
///     .sampler(Sampler::TraceIdRatio(0.1))
///     .tail_sampling(TailSampling::default().keep_errors(true).keep_slower_than(Duration::from_secs(5)))
///     .span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
///     .install()?;
/// # telemetry.shutdown()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "call `install()` to start the pipeline"]
pub struct TelemetryBuilder {
    code: Config,
    file: Option<Config>,
    env: EnvSource,
    exporters: Vec<Box<dyn DynExporter>>,
    inherit_otel_context: bool,
    usage: UsageOptions,
}

impl TelemetryBuilder {
    /// Configures the anonymous usage layer: on or off, where events go, the notice, the
    /// application's usage keys, … (see [`UsageOptions`] and [`usage`] for what it sends and
    /// how users opt out). Off by default; also `[telemetry.usage]`. Calling it again applies
    /// the options set in the new value over the earlier ones.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::usage::UsageOptions;
    ///
    /// let builder = zdk_trace_runtime::Telemetry::builder()
    ///     .usage(UsageOptions::new().enabled(true).endpoint("http://usage.example.com:4318"));
    /// # drop(builder);
    /// ```
    pub fn usage(mut self, options: UsageOptions) -> Self {
        self.usage = std::mem::take(&mut self.usage).merge(options);
        self
    }

    /// Makes new spans children of OpenTelemetry's current span (`opentelemetry::Context`)
    /// when one is active: spans of other OpenTelemetry-instrumented crates then parent ours
    /// without any code, including a span of theirs opened inside one of ours. Off by default:
    /// reading OpenTelemetry's context on every span start and enter took a sampled-out span
    /// from 14.2 ns to 17.7 ns in the hot-path benchmark. Without it, convert
    /// explicitly with [`TraceContext::from_otel`](crate::TraceContext::from_otel) and
    /// [`TraceContext::to_otel`](crate::TraceContext::to_otel).
    pub fn inherit_otel_context(mut self, on: bool) -> Self {
        self.inherit_otel_context = on;
        self
    }

    /// Uses this configuration (typically from [`Config::from_file`] or
    /// [`Config::from_toml_str`]) instead of discovering `zdk-trace.toml`.
    pub fn config(mut self, config: Config) -> Self {
        self.file = Some(config);
        self
    }

    /// `service.name` (overridden by the file and by `OTEL_SERVICE_NAME`): 1 to 255
    /// characters, no control character, as [`Config::with_service_name`].
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.code = self.code.with_service_name(name);
        self
    }

    /// Records `tracing` and `log` records as events of the current span (overridden by the
    /// file's `telemetry.logging`), as [`Config::with_logging`]: needs the `tracing` feature.
    pub fn logging(mut self, on: bool) -> Self {
        self.code = self.code.with_logging(on);
        self
    }

    /// `service.version`: 1 to 255 characters, no control character.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.code = self.code.with_service_version(version);
        self
    }

    /// An extra resource attribute (rules: [`Config::with_resource_attribute`]).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.code = self.code.with_resource_attribute(key, value);
        self
    }

    /// The head sampler (`always_on` by default).
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.code = self.code.with_sampler(sampler);
        self
    }

    /// Tail-sampling rules (none by default).
    pub fn tail_sampling(mut self, tail: TailSampling) -> Self {
        self.code = self.code.with_tail_sampling(tail);
        self
    }

    /// Most spans waiting for export; more are dropped and counted (default 32 768, from 1 to
    /// 1 048 576).
    pub fn max_queue_size(mut self, size: usize) -> Self {
        self.code = self.code.with_max_queue_size(size);
        self
    }

    /// Most spans per export call (default 512, from 1 to 65 536 and at most the queue size).
    /// The built-in OTLP exporters send batches already waiting together, in one request (see
    /// [`Config::with_max_export_batch_size`]).
    pub fn max_export_batch_size(mut self, size: usize) -> Self {
        self.code = self.code.with_max_export_batch_size(size);
        self
    }

    /// Longest wait before a partial batch is exported (default 5 s, from 0 to 1 hour).
    pub fn scheduled_delay(mut self, delay: Duration) -> Self {
        self.code = self.code.with_scheduled_delay(delay);
        self
    }

    /// CPU profile samples per second (1 to 1000 Hz; default 99), overridden by
    /// `telemetry.profiling.cpu.frequency` in the file and `ZDK_TRACE_PROFILING_CPU_FREQUENCY`.
    pub fn cpu_profile_frequency(mut self, hz: u32) -> Self {
        self.code = self.code.with_cpu_profile_frequency(hz);
        self
    }

    /// Longest an export call may take (default 30 s, from 1 ms to 1 hour).
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.code = self.code.with_export_timeout(timeout);
        self
    }

    /// Whether, and where, functions marked `capture` record message content (prompts,
    /// completions, tool arguments and results). Default [`CaptureMode::NoContent`];
    /// overridden by `telemetry.genai.capture_message_content` in the file and by
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{genai::CaptureMode, Telemetry};
    /// let builder = Telemetry::builder().capture_message_content(CaptureMode::SpanOnly);
    /// # drop(builder);
    /// ```
    pub fn capture_message_content(mut self, mode: CaptureMode) -> Self {
        self.code = self.code.with_capture_message_content(mode);
        self
    }

    /// Adds an exporter: any `opentelemetry_sdk` `SpanExporter` (tests use
    /// `InMemorySpanExporter`). Exporters added here replace the default console exporter.
    pub fn span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.exporters.push(Box::new(exporter));
        self
    }

    /// Adds the console exporter (trace trees on stdout).
    pub fn console(mut self) -> Self {
        self.code = self.code.with_stdout_exporter();
        self
    }

    /// Adds a JSON-lines file exporter writing to `path`.
    pub fn jsonl_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.code = self.code.with_file_exporter(path.into());
        self
    }

    /// Reads `OTEL_*` variables, and the usage layer's opt-outs and configuration directory
    /// (`ZDK_*`, `DO_NOT_TRACK`, the CI variables, `XDG_CONFIG_HOME`, `HOME`), from `vars`
    /// instead of the process environment (for tests).
    pub fn env_vars<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env = EnvSource::Vars(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Ignores `OTEL_*` variables. The user's opt-outs of the usage layer
    /// (`ZDK_DISABLE_ALL_TRACING`, `DO_NOT_TRACK`, …) are still read from the process
    /// environment: an application cannot ignore them. To test without them, inject variables
    /// with [`env_vars`](Self::env_vars).
    pub fn ignore_env(mut self) -> Self {
        self.env = EnvSource::Ignore;
        self
    }

    /// Resolves the configuration without installing anything.
    fn settings(&self) -> Result<Settings, InstallError> {
        self.with_layers(|layers| Ok(config::resolve(layers, &|name| self.env.lookup(name))?))
    }

    /// The code layer: the settings made on this builder, with what [`UsageOptions`] says of
    /// the `[telemetry.usage]` settings.
    fn code_layer(&self) -> Config {
        let options = &self.usage;
        let mut code = self.code.clone();
        if let Some(enabled) = options.enabled {
            code = code.with_usage_enabled(enabled);
        }
        if let Some(endpoint) = &options.endpoint {
            code = code.with_usage_endpoint(endpoint.clone());
        }
        if let Some(notice) = options.notice {
            code = code.with_usage_notice(notice);
        }
        if let Some(cooldown) = options.cooldown {
            code = config::table::USAGE_CIRCUIT_COOLDOWN.code(code, cooldown);
        }
        if options.exporter.is_some() {
            // An exporter given in code is the application's explicit choice: it turns the
            // usage layer on unless the code said `enabled(false)` (or a later layer says so).
            code = code.with_usage_enabled_by_exporter();
        }
        code
    }

    /// Runs `f` on the configuration layers (code, file, environment), lowest first, read
    /// exactly as [`install`](Self::install) reads them.
    fn with_layers<T>(
        &self,
        f: impl FnOnce(&[&Config]) -> Result<T, InstallError>,
    ) -> Result<T, InstallError> {
        let discovered;
        let file = match &self.file {
            Some(file) => Some(file),
            None => {
                discovered = Config::discover()?;
                discovered.as_ref()
            }
        };
        let env = self.env.config()?;
        let code = self.code_layer();
        let mut layers = vec![&code];
        layers.extend(file);
        layers.push(&env);
        f(&layers)
    }

    /// Resolves the configuration as [`install`](Self::install) would, without installing
    /// anything, and reports every effective value with where it came from (default, file and
    /// line, environment variable, code), for both layers. The anonymous id is read, never
    /// created; OTLP header values are [masked](crate::MASKED). `zdk-trace status` prints it.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::{ConfigSource, Telemetry};
    ///
    /// let report = Telemetry::builder()
    ///     .env_vars([("OTEL_SERVICE_NAME", "from-env"), ("DO_NOT_TRACK", "1")])
    ///     .config_report()?;
    /// let name = report.entry("telemetry.service_name").unwrap();
    /// assert_eq!(name.value, "from-env");
    /// assert_eq!(name.source, ConfigSource::Env { var: "OTEL_SERVICE_NAME".to_owned() });
    /// assert!(report.entry("usage.state").unwrap().value.contains("DO_NOT_TRACK"));
    /// # Ok::<(), zdk_trace_runtime::InstallError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`InstallError::Config`] when a configuration value is invalid, as `install()` would.
    pub fn config_report(&self) -> Result<ConfigReport, InstallError> {
        let lookup = |name: &str| self.env.lookup(name);
        let disable_all = usage::disable_all(&lookup);
        self.with_layers(|layers| {
            let (settings, tracing) = config::tracing_entries(layers, &lookup, disable_all)?;
            let mut usage_entries = config::usage_setting_entries(layers, &settings, &lookup)?;
            let enabled_source = usage_entries
                .first()
                .map_or(ConfigSource::Default, |e| e.source.clone());
            let (usage_reason, state) = usage::report_entries(
                &settings.usage,
                self.usage.exporter.is_some(),
                &lookup,
                self.usage.config_dir.clone(),
                enabled_source,
            );
            usage_entries.splice(0..0, state);
            Ok(ConfigReport {
                tracing,
                usage: usage_entries,
                tracing_enabled: settings.enabled && !disable_all,
                usage_reason,
                warnings: settings.warnings,
            })
        })
    }

    /// Sends one test span (`zdk-trace check`) through the OTLP exporter the configuration
    /// describes (the same client `install()` builds), waits for the answer and reports it.
    /// When no OTLP exporter is configured, the OTLP settings are still resolved (the default
    /// endpoint is `http://localhost:4318/v1/traces`) and
    /// [`OtlpCheck::configured`] is `false`. Nothing is installed.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::Telemetry;
    ///
    /// // Port 9 (discard) on localhost: nothing listens there.
    /// let check = Telemetry::builder()
    ///     .env_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")])
    ///     .check_otlp()?;
    /// assert!(check.configured);
    /// assert_eq!(check.endpoint, "http://127.0.0.1:9/v1/traces");
    /// assert!(check.error.is_some());
    /// # Ok::<(), zdk_trace_runtime::InstallError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`InstallError::Config`] when a configuration value is invalid,
    /// [`InstallError::Exporter`] when the exporter cannot be built (an `https://` endpoint:
    /// this build has no TLS), [`InstallError::Thread`] when no tokio runtime can be made.
    /// A failed export is not an error: it is in [`OtlpCheck::error`].
    pub fn check_otlp(&self) -> Result<OtlpCheck, InstallError> {
        let lookup = |name: &str| self.env.lookup(name);
        let (settings, otlp, configured) = self.with_layers(|layers| {
            let settings = config::resolve(layers, &lookup)?;
            // The `[telemetry.tracing.otlp]` exporter, else the first backend's (`type =
            // "jaeger"` or `"tempo"`).
            let configured = settings
                .exporters
                .iter()
                .find_map(|e| match e {
                    ExporterSettings::Otlp(otlp) => Some(otlp.clone()),
                    _ => None,
                })
                .or_else(|| {
                    settings.exporters.iter().find_map(|e| match e {
                        ExporterSettings::Backend { otlp, .. } => Some(otlp.clone()),
                        _ => None,
                    })
                });
            Ok(match configured {
                Some(otlp) => (settings, otlp, true),
                None => {
                    let otlp = config::resolve_otlp(layers, &lookup)?;
                    (settings, otlp, false)
                }
            })
        })?;
        let resource = config::build_resource(&settings);
        let runtime = crate::pipeline::export_runtime().map_err(InstallError::Thread)?;
        Ok(export::send_test_span(
            &otlp, configured, &resource, &runtime,
        )?)
    }

    /// Builds the exporters and starts the pipeline, replacing (after flushing it) any
    /// pipeline installed before. Each [`ConfigWarning`](crate::ConfigWarning) of the
    /// configuration (a value that is valid but will not work as meant) is printed on stderr
    /// as `zdk-trace: warning: …`; installing goes on.
    ///
    /// # Errors
    ///
    /// [`InstallError`] naming the bad configuration value or the exporter that could not be
    /// built.
    pub fn install(self) -> Result<Telemetry, InstallError> {
        let mut settings = self.settings()?;
        // Valid, but will not work as meant: said once, at install (`zdk-trace status` lists
        // them too), and the application carries on.
        for warning in &settings.warnings {
            eprintln!("zdk-trace: warning: {warning}");
        }
        let env = |name: &str| self.env.lookup(name);
        // The user's "turn everything off" beats whatever the application configured.
        if usage::disable_all(&env) {
            settings.enabled = false;
        }
        let resource = config::build_resource(&settings);
        let runtime = crate::pipeline::export_runtime().map_err(InstallError::Thread)?;
        // gRPC clients start a background task on the runtime current when they are built.
        let runtime_guard = runtime.enter();
        let mut exporters = self.exporters;
        let mut otlp = Vec::new();
        let mut configured = settings.exporters.clone();
        if configured.is_empty() && exporters.is_empty() {
            configured.push(ExporterSettings::Stdout);
        }
        for spec in &configured {
            exporters.push(match spec {
                ExporterSettings::Stdout => {
                    Box::new(export::ConsoleExporter::new()) as Box<dyn DynExporter>
                }
                ExporterSettings::File { path } => {
                    Box::new(export::JsonLinesExporter::create(path).map_err(|source| {
                        InstallError::File {
                            path: path.clone(),
                            source,
                        }
                    })?)
                }
                ExporterSettings::Otlp(settings)
                | ExporterSettings::Backend { otlp: settings, .. } => {
                    otlp.push(export::build_otlp_sender(settings)?);
                    continue;
                }
            });
        }
        for exporter in &mut exporters {
            exporter.set_resource(&resource);
        }
        drop(runtime_guard);

        // Only one pipeline at a time: flush and stop the previous one first.
        let previous = lock(&INSTALLED).take();
        if let Some(previous) = previous {
            let _ = previous.shutdown(FLUSH_TIMEOUT_DEFAULT);
        }

        clock::init();
        // The span limits, read by the recording API from now on.
        use config::table::{ATTRIBUTE_COUNT, ATTRIBUTE_VALUE_LENGTH, EVENT_COUNT, LINK_COUNT};
        limits().set(
            ATTRIBUTE_VALUE_LENGTH
                .resolved(&settings)?
                .unwrap_or(VALUE_LENGTH_DEFAULT),
            ATTRIBUTE_COUNT
                .resolved(&settings)?
                .unwrap_or(COUNT_DEFAULT),
            EVENT_COUNT.resolved(&settings)?.unwrap_or(COUNT_DEFAULT),
            LINK_COUNT.resolved(&settings)?.unwrap_or(COUNT_DEFAULT),
        );
        let retry = RetrySettings {
            buffer_bytes: config::table::RETRY_BUFFER_BYTES
                .resolved(&settings)?
                .unwrap_or(config::RETRY_BUFFER_BYTES_DEFAULT),
            max_age: config::table::RETRY_MAX_AGE
                .resolved(&settings)?
                .unwrap_or(config::RETRY_MAX_AGE_DEFAULT),
            failures_to_open: config::table::CIRCUIT_FAILURES
                .resolved(&settings)?
                .map_or(config::RETRY_FAILURES_TO_OPEN_DEFAULT, |n| {
                    u32::try_from(n).unwrap_or(u32::MAX)
                }),
            probe_interval: config::table::PROBE_INTERVAL
                .resolved(&settings)?
                .unwrap_or(config::RETRY_PROBE_INTERVAL_DEFAULT),
        };
        let metrics_options = metrics_options(&settings, &resource)?;
        // The price table: a model call whose client reports no cost is priced from it.
        crate::genai::prices::set(
            config::table::model_prices(&settings)?
                .into_iter()
                .map(|p| crate::genai::prices::Price {
                    model: p.model,
                    input_per_million: p.input_per_million,
                    output_per_million: p.output_per_million,
                    currency: p.currency,
                })
                .collect(),
        );
        let pipeline = if settings.enabled {
            Some(
                Pipeline::start(PipelineParts {
                    batch: settings.batch,
                    tail: settings.tail.clone(),
                    exporters,
                    otlp,
                    resource,
                    scope: export::scope(),
                    runtime,
                    retry,
                })
                .map_err(InstallError::Thread)?,
            )
        } else {
            None
        };
        let metrics = metrics::start(&metrics_options)?;
        let profiling_settings = config::table::profiling_settings(&settings)?;
        let span_resources =
            settings.enabled && profiling_settings.enabled && profiling_settings.span_resources;
        #[cfg(feature = "profiling")]
        let profiling = if settings.enabled {
            crate::profiling::stage::Stage::start(&profiling_settings, &settings.service_name)?
        } else {
            crate::profiling::stage::Stage::off(&profiling_settings)
        };
        let options = self.usage;
        usage::set_app_keys(options.keys);
        let usage = UsageHandle::start(StartParts {
            settings: &settings.usage,
            service_name: &settings.service_name,
            service_version: settings.service_version.as_deref(),
            env: &env,
            config_dir: options.config_dir,
            exporter: options.exporter,
            output: options.output.unwrap_or_else(usage::stderr_output),
            cooldown: config::table::USAGE_CIRCUIT_COOLDOWN
                .resolved(&settings)?
                .unwrap_or_default(),
        })
        .map_err(InstallError::Thread)?;
        let inner = Arc::new(Inner {
            baseline: Stats::read_cumulative(),
            pipeline,
            stopped: AtomicBool::new(false),
            final_stats: Mutex::new(None),
            usage: Arc::new(usage),
            metrics: Mutex::new(metrics),
            #[cfg(feature = "profiling")]
            profiling: Mutex::new(profiling),
        });
        {
            let mut installed = lock(&INSTALLED);
            hot().configure(&settings.sampler, &settings.tail);
            hot().set_inherit_otel(self.inherit_otel_context);
            hot().set_capture(settings.capture);
            hot().set_span_resources(span_resources);
            hot().set_enabled(settings.enabled);
            usage::set_installed(Some(Arc::clone(&inner.usage)));
            *installed = Some(inner.clone());
        }
        if settings.logging && settings.enabled {
            install_logging();
        }
        Ok(Telemetry { inner })
    }
}

/// `logging = true`: the `tracing` bridge as the global subscriber, `log` records through it.
#[cfg(feature = "tracing")]
fn install_logging() {
    crate::tracing::logging::install();
}

/// `logging = true` in a build without the `tracing` feature: said once, then ignored.
#[cfg(not(feature = "tracing"))]
fn install_logging() {
    crate::warn::warn_once(
        ("logging", "not compiled"),
        "zdk-trace: `logging = true` is ignored: this build of zdk-trace-runtime has no \
         `tracing` feature; enable it (features = [\"tracing\"]) to record `tracing` and `log` \
         records as span events",
    );
}

#[cfg(all(test, feature = "otlp-http"))]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn exporter_build_error_is_the_source() {
        // This build has no TLS backend: the OTLP exporter refuses an https endpoint when it
        // is built (configuration accepts the URL).
        let err = Telemetry::builder()
            .env_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:9")])
            .check_otlp()
            .unwrap_err();
        assert!(matches!(err, InstallError::Exporter(_)), "{err:?}");
        let source = err
            .source()
            .expect("the exporter's error is kept as the source");
        assert!(
            source.downcast_ref::<ExporterBuildError>().is_some(),
            "{source:?}"
        );
        // The message is unchanged: the cause's text follows the prefix.
        assert_eq!(err.to_string(), format!("cannot build exporter: {source}"));
    }
}

/// The metrics options of `settings`: on unless `[telemetry.metrics] enabled = false` or all
/// telemetry is off (`enabled = false`, `OTEL_SDK_DISABLED`, `ZDK_DISABLE_ALL_TRACING`).
fn metrics_options(
    settings: &Settings,
    resource: &opentelemetry_sdk::Resource,
) -> Result<MetricsOptions, InstallError> {
    use config::table::{
        metrics_exporters, metrics_otlp_url, METRICS_CARDINALITY_LIMIT, METRICS_ENABLED,
        METRICS_OTLP_INTERVAL, METRICS_OTLP_PROTOCOL, METRICS_OTLP_TEMPORALITY, PROMETHEUS_ADDRESS,
        PROMETHEUS_PATH, PROMETHEUS_PORT,
    };
    let enabled = settings.enabled && METRICS_ENABLED.resolved(settings)?.unwrap_or(true);
    let exporters = metrics_exporters(settings);
    let prometheus = if enabled && exporters.prometheus {
        let ip = PROMETHEUS_ADDRESS
            .resolved(settings)?
            .unwrap_or(config::PROMETHEUS_ADDRESS_DEFAULT);
        let port = PROMETHEUS_PORT
            .resolved(settings)?
            .unwrap_or(config::PROMETHEUS_PORT_DEFAULT);
        let path = PROMETHEUS_PATH
            .resolved(settings)?
            .unwrap_or_else(|| config::PROMETHEUS_PATH_DEFAULT.to_owned());
        Some((SocketAddr::new(ip, port), path))
    } else {
        None
    };
    let otlp = if enabled && exporters.otlp {
        // Headers, compression and timeout as the traces' OTLP exporter has them (the
        // `OTEL_EXPORTER_OTLP_*` variables apply to every signal), else the defaults.
        let traces = settings.exporters.iter().find_map(|e| match e {
            ExporterSettings::Otlp(otlp) => Some(otlp),
            _ => None,
        });
        let transport = config::OtlpSettings {
            endpoint: metrics_otlp_url(settings)?,
            protocol: METRICS_OTLP_PROTOCOL
                .resolved(settings)?
                .unwrap_or(config::METRICS_OTLP_PROTOCOL_DEFAULT),
            headers: traces.map(|t| t.headers.clone()).unwrap_or_default(),
            timeout: traces.map_or(config::OTLP_TIMEOUT_DEFAULT, |t| t.timeout),
            gzip: traces.is_some_and(|t| t.gzip),
        };
        Some((
            transport,
            METRICS_OTLP_INTERVAL
                .resolved(settings)?
                .unwrap_or(config::METRICS_EXPORT_INTERVAL_DEFAULT),
            METRICS_OTLP_TEMPORALITY
                .resolved(settings)?
                .unwrap_or_default(),
        ))
    } else {
        None
    };
    Ok(MetricsOptions {
        enabled,
        otlp,
        console: enabled && exporters.console,
        cardinality_limit: METRICS_CARDINALITY_LIMIT
            .resolved(settings)?
            .unwrap_or(config::METRICS_CARDINALITY_LIMIT_DEFAULT),
        prometheus,
        resource: resource
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect(),
    })
}

/// Why [`TelemetryBuilder::install`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// A configuration value is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The JSON-lines file could not be opened.
    #[error("cannot open trace file `{}`: {source}; check the directory exists and is writable", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An exporter could not be built. The cause (its [`source`](std::error::Error::source))
    /// names the bad endpoint or header, or why the HTTP or gRPC client could not be built.
    #[error("cannot build exporter: {0}")]
    Exporter(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The pipeline threads could not be started.
    #[error("cannot start the zdk-trace pipeline threads: {0}")]
    Thread(#[source] std::io::Error),
    /// The metrics could not start (the Prometheus endpoint's port is taken, say).
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// Profiling could not start (`[telemetry.profiling]`).
    #[cfg(feature = "profiling")]
    #[error(transparent)]
    Profiling(#[from] crate::profiling::StageError),
}

impl From<ExporterBuildError> for InstallError {
    fn from(error: ExporterBuildError) -> Self {
        InstallError::Exporter(Box::new(error))
    }
}

/// Why [`Telemetry::force_flush`] failed: a [`PipelineError`] (one type for flush and
/// shutdown, since both can fail the same three ways).
pub type FlushError = PipelineError;

/// Why [`Telemetry::shutdown`] failed: a [`PipelineError`].
pub type ShutdownError = PipelineError;
