//! Fast OpenTelemetry tracing for AI-agent applications.
//!
//! zdk-trace records the spans of an agent (agent invocations, model calls, tool calls, the
//! tasks and threads they fan out to) as standard OpenTelemetry spans, and exports them to the
//! console, a JSON-lines file, an OTLP backend or any `opentelemetry_sdk`
//! [`SpanExporter`](opentelemetry_sdk::trace::SpanExporter). Recording is built for the hot
//! path: a span is one pointer to a record written in place into a slot of a per-thread pool,
//! and when it ends that pointer is pushed into a per-thread ring that a background collector
//! drains (the collector gives the slot back). Starting or ending a span never blocks the
//! application and, after a thread's first span, takes no lock and allocates nothing once the
//! thread's pool has grown; when the exporter falls behind, spans are dropped and counted,
//! never waited for.
//!
//! This crate is the only one an application depends on. It re-exports the attribute macros
//! of `zdk-trace-macros`: [`macro@span`], [`macro@agent_span`], [`macro@llm_call`],
//! [`macro@tool_call`] and [`macro@workflow`], which put a span with the GenAI semantic
//! conventions' attributes ([`genai`]) around a function; spans can also be written by hand
//! with the API below. A sixth, [`macro@usage_event`], records no span: it sends one anonymous
//! usage event per call (see [Usage telemetry](#usage-telemetry)).
//! With the macros' `err` option, an error type names itself in
//! `error.type` by implementing [`ErrorType`] (per variant: `"timeout"`, `"rate_limited"`);
//! otherwise its type name is used.
//!
//! # Quick start
//!
//! Install the pipeline once, at start-up, and keep the [`Telemetry`] handle until exit. With
//! no exporter and no OTLP endpoint configured, finished traces print as trees on stdout
//! ([`ConsoleExporter`]); this example collects them in memory instead.
//!
//! ```
//! use opentelemetry_sdk::trace::InMemorySpanExporter;
//! use zdk_trace_runtime::{FutureExt, KeyValue, Span, SpanKind, Telemetry};
//!
//! # async fn call_model(_prompt: &str) -> String { String::from("sunny") }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let exporter = InMemorySpanExporter::default();
//! let telemetry = Telemetry::builder()
//!     .service_name("support-agent")
//!     .span_exporter(exporter.clone()) // instead of the console
//!     .install()?;
//!
//! let answer = async {
//!     let mut chat = Span::start_with_kind("chat gpt-4o", SpanKind::Client);
//!     chat.set_attribute(KeyValue::new("gen_ai.operation.name", "chat"));
//!     chat.set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4o"));
//!     call_model("weather in Lisbon?").instrument(chat).await
//! }
//! .instrument(Span::start("invoke_agent support"))
//! .await;
//!
//! telemetry.force_flush()?; // exports everything recorded so far, and waits
//! let spans = exporter.get_finished_spans()?;
//! assert_eq!(spans.len(), 2);
//! assert_eq!(spans[0].name, "chat gpt-4o");
//! assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
//! # assert_eq!(answer, "sunny");
//!
//! telemetry.shutdown()?; // at exit: flushes, then stops the pipeline
//! # Ok(())
//! # }
//! ```
//!
//! # Model and tool content
//!
//! `#[llm_call]` records the request parameters given to it (`temperature = ..`,
//! `max_tokens = ..`, …) as the conventions' typed `gen_ai.request.*` attributes. Prompts,
//! completions and tool arguments and results are recorded only by functions marked
//! `capture` **and** only when [`CaptureMode`] turns content capture on at run time (off by
//! default; `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY`, `[telemetry.genai]
//! capture_message_content = "span_only"` or [`TelemetryBuilder::capture_message_content`]),
//! as span attributes, a `gen_ai.client.inference.operation.details` event, or both. See
//! [`genai`].
//!
//! # Spans
//!
//! A [`Span`] starts when it is created and ends when it is dropped (or at [`Span::end`]). A
//! new span's parent is the span *current* on the thread; a span is only current while it is
//! entered:
//!
//! - [`Span::entered`] makes it current until the returned [`EnteredSpan`] drops, then ends it:
//!   the usual way to trace a block of sync code;
//! - [`Span::enter`] makes it current until the [`EnterGuard`] drops, leaving it open;
//! - [`Span::in_scope`] runs a closure with it current.
//!
//! [`Span::start`] makes an internal span, [`Span::start_with_kind`] takes a [`SpanKind`]
//! (`Client` for a model or HTTP call, `Server` for a request), and [`Span::builder`] also sets
//! an explicit parent ([`SpanBuilder::parent`]), a new trace ([`SpanBuilder::root`]),
//! attributes and links. While it runs, a span takes attributes ([`Span::set_attribute`], typed
//! [`KeyValue`]s), events, links, a [`Status`] and errors: [`Span::record_error`] sets status
//! error, `error.type` and an `exception` event, and marks the trace for tail sampling's
//! `keep_errors`. Names are `Cow<'static, str>`: a literal costs nothing. Compute expensive
//! attribute values only when [`Span::is_recording`] is true.
//!
//! ```
//! use zdk_trace_runtime::{KeyValue, Span};
//!
//! fn get_weather(city: &str) -> Result<String, String> {
//!     let mut span = Span::start("execute_tool get_weather").entered();
//!     span.set_attribute(KeyValue::new("gen_ai.tool.name", "get_weather"));
//!     if city.is_empty() {
//!         span.record_error("invalid_argument", "no city given");
//!         return Err("no city given".to_owned());
//!     }
//!     Ok("sunny".to_owned())
//! } // the span ends here
//! # let _ = get_weather("");
//! ```
//!
//! Until a pipeline is installed (and after it is shut down, or when configuration disables
//! tracing) every span is [`Span::disabled`]: starting one costs an atomic load.
//!
//! # Async code, tasks and threads
//!
//! An [`EnteredSpan`] is not `Send` and must not be held across an `.await` in a task: the
//! span would stay current on the thread while other tasks run there. Attach spans to futures
//! instead:
//!
//! - [`FutureExt::instrument`] makes the span current during every poll and ends it when the
//!   future completes; if the future is dropped first, the span gets `cancelled = true`;
//! - [`StreamExt::instrument_stream`] does the same for a stream, ending the span at its end;
//! - [`FutureExt::in_current_span`] (and [`StreamExt::stream_in_current_span`]) carry the
//!   *current* span into a future polled elsewhere, without a span of their own;
//! - [`spawn`] (`tokio::spawn`) and [`spawn_thread`] (`std::thread::spawn`) keep the current span
//!   as the parent of the spans of the new task or thread;
//! - [`TraceContext::current`] captures the current span as a value to move anywhere and
//!   [`attach`](TraceContext::attach) there.
//!
//! ```
//! use zdk_trace_runtime::{FutureExt, Span};
//!
//! # async fn fetch(_: &str) {}
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! async {
//!     // Both tool calls are children of "invoke_agent", each on its own task.
//!     let weather = fetch("weather").instrument(Span::start("execute_tool weather"));
//!     let flights = fetch("flights").instrument(Span::start("execute_tool flights"));
//!     let (a, b) = (zdk_trace_runtime::spawn(weather), zdk_trace_runtime::spawn(flights));
//!     let _ = (a.await, b.await);
//! }
//! .instrument(Span::start("invoke_agent"))
//! .await;
//! # }
//! ```
//!
//! # Context propagation
//!
//! [`propagation::inject`] writes the current span as W3C `traceparent` (plus `tracestate` and
//! baggage) into any header map implementing OpenTelemetry's `Injector`;
//! [`propagation::extract`] reads them back into a [`TraceContext`], to use as the parent of
//! the span that handles the request. A missing or malformed `traceparent` starts a new trace
//! (malformed ones are counted in [`Stats::malformed_traceparent`]); it never panics. The
//! W3C Trace Context rules are followed to the letter (the working group's suite passes at
//! its strictest level, Level 2 included): a `tracestate` sent on several header lines is one
//! list (read them all with [`propagation::HeaderLines`] when your framework's header map
//! returns only the first), an invalid one is discarded whole, and the random flag travels
//! with the trace. To mix
//! with other OpenTelemetry-instrumented crates, convert with [`TraceContext::from_otel`] and
//! [`TraceContext::to_otel`], or let new spans nest under the span of OpenTelemetry's current
//! `Context` with [`TelemetryBuilder::inherit_otel_context`] (opt-in: a sampled-out span
//! costs 17.7 ns instead of 14.2 ns with it, see `BENCHMARKS.md`).
//!
//! ```
//! use std::collections::HashMap;
//! use opentelemetry_sdk::trace::InMemorySpanExporter;
//! use zdk_trace_runtime::{propagation, Span, SpanKind, Telemetry};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let telemetry = Telemetry::builder().span_exporter(InMemorySpanExporter::default()).install()?;
//! // An incoming request from a traced caller.
//! let mut incoming = HashMap::new();
//! incoming.insert(
//!     "traceparent".to_string(),
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
//! );
//! let parent = propagation::extract(&incoming);
//! let _request = Span::builder("POST /chat")
//!     .kind(SpanKind::Server)
//!     .parent(&parent)
//!     .start()
//!     .entered();
//!
//! // An outgoing call continues the same trace.
//! let mut outgoing = HashMap::new();
//! propagation::inject(&mut outgoing);
//! assert!(outgoing["traceparent"].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! # drop(_request);
//! # telemetry.shutdown()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Configuration
//!
//! [`Telemetry::builder`] merges three layers; a setting in a later layer replaces the earlier
//! one (resource attributes and OTLP headers merge key by key):
//!
//! 1. code: the [`TelemetryBuilder`] setters (or a [`Config`] built with its `with_*` setters);
//! 2. a `zdk-trace.toml` file: the one named by `ZDK_TRACE_CONFIG`, else `./zdk-trace.toml`
//!    when it exists, or the [`Config`] given to [`TelemetryBuilder::config`] instead;
//! 3. the standard `OTEL_*` variables ([`Config::from_env`] lists them), unless
//!    [`TelemetryBuilder::ignore_env`] is called.
//!
//! Every value is checked: an unknown key, a wrong type or a bad variable is an
//! [`InstallError`] naming the key (with its line) or the variable, the value and what is
//! accepted, never silently skipped. In a file, OTLP header values may use `${VAR}` to read a
//! secret from the environment.
//!
//! ```
//! use zdk_trace_runtime::Config;
//!
//! let file = Config::from_toml_str(r#"
//!     [telemetry]
//!     service_name = "support-agent"
//!
//!     [telemetry.tracing.otlp]
//!     endpoint = "http://collector:4318"
//!     protocol = "http/protobuf"
//!
//!     [telemetry.tracing.otlp.headers]
//!     authorization = "Bearer ${OTLP_TOKEN}"
//!
//!     [telemetry.tracing.sampling]
//!     strategy = "parent_based"
//!     probability = 0.1
//!     always_sample_errors = true
//!
//!     [telemetry.genai]
//!     capture_message_content = "span_only"
//! "#)?;
//! # let _ = file;
//! # Ok::<(), zdk_trace_runtime::ConfigError>(())
//! ```
//!
//! The exporters are the ones listed by the last layer that lists any
//! (`[[telemetry.tracing.exporters]]`, [`TelemetryBuilder::console`],
//! [`TelemetryBuilder::jsonl_file`]) plus those given to [`TelemetryBuilder::span_exporter`].
//! With none listed, an OTLP endpoint set anywhere (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`) selects
//! the OTLP exporter; with no endpoint either, the console. An entry of `type = "jaeger"` or
//! `"tempo"` sends OTLP (which both ingest natively) to an `endpoint` of its own (default
//! `http://localhost:4317`; `protocol` defaults to `http/protobuf` on port 4318, else `grpc`).
//! A value that is valid but will not work as meant, such as an OTLP endpoint on Jaeger's
//! legacy port 14250, is a [`ConfigWarning`]: printed on stderr by `install()` and listed in
//! [`ConfigReport::warnings`]. `OTEL_SDK_DISABLED=true` (or `telemetry.enabled = false`) turns
//! tracing off: spans then cost an atomic load.
//!
//! # Metrics
//!
//! Every `#[agent_span]`, `#[llm_call]`, `#[tool_call]` and `#[workflow]` call is counted and
//! timed into the OpenTelemetry GenAI instruments (`gen_ai.client.operation.duration`,
//! `gen_ai.client.token.usage`, `gen_ai.invoke_agent.duration`, …), whether its trace is
//! sampled in or out; [`Telemetry::meter`] gives a standard [`Meter`] on the same
//! aggregation for the application's own instruments. They are served to Prometheus
//! (`[telemetry.metrics.prometheus] enabled = true`, `http://127.0.0.1:9464/metrics`),
//! pushed over OTLP (`[telemetry.metrics.otlp]`, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`), and
//! summarised by the console exporter at shutdown. `docs/metrics.md` in the repository lists
//! the instruments and the PromQL for each.
//!
//! ```
//! use zdk_trace_runtime::{tool_call, KeyValue, Telemetry};
//!
//! #[tool_call(name = "search")]
//! fn search(query: &str) -> usize {
//!     query.len()
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = Telemetry::builder().ignore_env().install()?;
//! search("flights to Lisbon"); // counted and timed in gen_ai.execute_tool.duration
//! let cache_hits = telemetry.meter("my_agent").u64_counter("cache.hits").build();
//! cache_hits.add(1, &[KeyValue::new("cache", "prompts")]);
//! telemetry.shutdown()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Sampling
//!
//! *Head* sampling ([`Sampler`]) decides when a trace starts: `AlwaysOn` (the default),
//! `AlwaysOff`, `TraceIdRatio` (by trace id, the OpenTelemetry rule, so services agree) and
//! `ParentBased` (follow the caller's `traceparent` flag). A local parent's decision is always
//! followed, so a trace is never half recorded. A span dropped by the head sampler records
//! nothing, but keeps its ids so that `traceparent` stays consistent.
//!
//! *Tail* sampling ([`TailSampling`]) decides per trace, when its local root ends: keep every
//! trace with an error, every trace slower than a threshold, and rate-limit the rest per root
//! span name. It is not free: to judge traces by their outcome, `keep_errors` and
//! `keep_slower_than` make every span of every trace recorded on the application thread, even
//! those the head sampler drops (the saving is in export only), and every tail rule holds a
//! trace's spans on the collector until its root ends (at most four times the queue size;
//! beyond that the oldest trace is decided without its root).
//!
//! ```
//! use std::time::Duration;
//! use opentelemetry_sdk::trace::InMemorySpanExporter;
//! use zdk_trace_runtime::{Sampler, TailSampling, Telemetry};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Keep 10% of traces, plus every trace with an error or slower than 5 s.
//! let telemetry = Telemetry::builder()
//!     .sampler(Sampler::parent_based(Sampler::TraceIdRatio(0.1)))
//!     .tail_sampling(
//!         TailSampling::default()
//!             .keep_errors(true)
//!             .keep_slower_than(Duration::from_secs(5)),
//!     )
//! #   .span_exporter(InMemorySpanExporter::default())
//!     .install()?;
//! # telemetry.shutdown()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Pipeline and stats
//!
//! Each application thread pushes finished spans into its own ring; a collector thread drains
//! the rings, applies tail sampling and forms batches (up to `max_export_batch_size` spans, or
//! whatever is there after `scheduled_delay`); an exporter thread runs the exporters on its own
//! single-threaded tokio runtime, each call bounded by `export_timeout`. At most
//! `max_queue_size` spans wait for export: past that, spans are dropped and counted, and the
//! application is never blocked; while the queue is full (and no tail rule holds traces),
//! threads drop finished spans themselves, so an overloaded pipeline costs the collector
//! nothing. Exporter errors, timeouts and panics are caught, counted and warned about once on
//! stderr.
//!
//! [`Telemetry::force_flush`] exports everything recorded so far, on every thread, and waits
//! for it. [`Telemetry::shutdown`] does the same, shuts the exporters down and stops the
//! threads; spans that end afterwards are counted as `dropped_shutdown`. Dropping the
//! [`Telemetry`] handle without calling `shutdown` shuts down too, waiting at most
//! [`DROP_TIMEOUT_DEFAULT`]. Installing a new pipeline flushes and replaces the previous one.
//! [`Telemetry::stats`] tells what happened:
//!
//! ```
//! use opentelemetry_sdk::trace::InMemorySpanExporter;
//! use zdk_trace_runtime::{Span, Telemetry};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = Telemetry::builder()
//!     .span_exporter(InMemorySpanExporter::default())
//!     .install()?;
//! drop(Span::start("step"));
//! telemetry.shutdown()?;
//!
//! let stats = telemetry.stats();
//! assert_eq!((stats.spans_started, stats.spans_exported, stats.dropped()), (1, 1, 0));
//! # Ok(())
//! # }
//! ```
//!
//! # Exporters
//!
//! - [`ConsoleExporter`]: one indented tree per trace on stdout, with durations, errors,
//!   events and attributes; coloured on a terminal unless `NO_COLOR` is set. The default when
//!   nothing else is configured; [`TelemetryBuilder::console`] or `type = "stdout"` adds it.
//! - [`JsonLinesExporter`]: one OTLP/JSON span per line, appended to a file;
//!   [`TelemetryBuilder::jsonl_file`] or `type = "file"`.
//! - OTLP over gRPC or HTTP/protobuf, built from the configuration (`endpoint`, `protocol`,
//!   `headers`, `timeout_seconds`, `compression`, or the `OTEL_EXPORTER_OTLP_*` variables).
//! - Any `opentelemetry_sdk` `SpanExporter`, with [`TelemetryBuilder::span_exporter`]
//!   (`InMemorySpanExporter` in tests).
//!
//! # Usage telemetry
//!
//! Anonymous usage events (which features, frameworks and error types are used, never what
//! on) are a layer of their own, separate from traces: own endpoint, queue, thread and circuit
//! breaker. It is off unless the application turns it on (`[telemetry.usage]`,
//! [`TelemetryBuilder::usage`] with [`UsageOptions::endpoint`](usage::UsageOptions::endpoint), or
//! an exporter given with [`UsageOptions::span_exporter`](usage::UsageOptions::span_exporter)),
//! and the person running the application can
//! always turn it off (`DO_NOT_TRACK=1`, `ZDK_TELEMETRY_ENABLED=false`, a `no-tracing` file,
//! automatically in CI, …). [`macro@usage_event`] sends one event per call of a function, with
//! `duration_ms` and `success` filled in; its keys are checked at compile time against
//! [`usage::ALLOWED_KEYS`] (extensible with [`usage_keys!`] and
//! [`UsageOptions::allowlist`](usage::UsageOptions::allowlist)), and its values must be of types that cannot carry
//! user content. Values known only at run time go through [`usage::track_event`] and its
//! siblings, checked by a run-time sanitizer. `ZDK_TELEMETRY_DEBUG=1` prints what would be
//! sent instead of sending it, and [`usage::usage_status`] says whether the layer is on and
//! why. See [`usage`], the manual of this layer.
//!
//! ```
//! use zdk_trace_runtime::usage_event;
//!
//! #[usage_event(name = "tool.run", fields(tool.type = "function", component = "search"))]
//! fn search(query: &str) -> Result<usize, String> {
//!     Ok(query.len()) // `query` is never sent
//! }
//! # assert_eq!(search("abc"), Ok(3));
//! ```
//!
//! # Cargo features
//!
//! Optional parts are behind Cargo features, so an application compiles only what it uses.
//! Those marked *on* are on by default (the examples above need them); to trim, turn the
//! defaults off and name what you use:
//!
//! ```toml
//! zdk-trace-runtime = { version = "0.1", default-features = false, features = ["otlp-http"] }
//! ```
//!
//! | Feature | Default | What it compiles | Without it |
//! |---|---|---|---|
//! | `otlp-grpc` | on | OTLP over gRPC (an HTTP/2 connection driven by h2), gzip | choosing `protocol = "grpc"` (file, `OTEL_EXPORTER_OTLP_PROTOCOL`, code) makes `install()` and `check_otlp()` fail with [`InstallError::Exporter`] naming the feature |
//! | `otlp-http` | on | OTLP over HTTP/protobuf (an HTTP/1.1 connection driven by hyper), gzip | the same for `http/protobuf`, the default protocol |
//! | `config-file` | on | `zdk-trace.toml`: [`Config::from_toml_str`], [`Config::from_file`] and the file [`Config::discover`] finds | `ZDK_TRACE_CONFIG` naming a file is [`ConfigError::FileNotCompiled`]; `./zdk-trace.toml` is not looked for |
//! | `usage` | on | the anonymous usage layer's sender: its thread, HTTP client, gzip, anonymous id, opt-out files | `#[usage_event]`, [`usage_keys!`], the `track_*` functions still compile and send nothing; [`usage::usage_status`] says [`NotCompiled`](usage::UsageReason::NotCompiled) |
//! | `prometheus` | on | the metrics scrape endpoint (`[telemetry.metrics.prometheus]`): an HTTP/1.1 server on its own thread | the built-in metrics and [`Telemetry::meter`] still record; turning the endpoint on is an install error, [`MetricsError::PrometheusNotCompiled`] |
//! | `profiling` | on | CPU and heap profiles: the SIGPROF sampler that labels each sample with the span polled at that instant (Linux), pprof output, flamegraphs, the Pyroscope and file exporters ([`profiling`], [`Telemetry::profile_cpu`]) | those are not compiled; per-span busy time, CPU time and allocations ([`Span::measure_resources`], [`CountingAllocator`]) still work |
//! | `tracing` | off | the `tracing` bridge: [`tracing::layer()`], a `tracing_subscriber` layer that records `tracing` spans and events (of reqwest, hyper, sqlx, rig, …) in the same traces, and `[telemetry] logging = true`, which installs it (and `log` records) globally | `tracing` spans stay outside the traces; `logging = true` warns at install that the feature is off |
//! | `async-openai` | **off** | [`genai::LlmOutput`] for async-openai 0.43's chat completion response, its stream chunk and its embedding responses (its response types only: no HTTP client from it), so `#[llm_call]` on a function returning one records usage, response model and finish reasons with no code | implement [`genai::LlmOutput`] on a wrapper of the response (five lines, see its docs) |
//! | `reqwest` | off | [`http::ClientTracing`]: a CLIENT span per request of a `reqwest-middleware` client, its `traceparent`, `tracestate` and baggage sent on | propagate by hand with [`propagation::inject`] |
//! | `tower` | off | [`http::ServerTracing`]: a tower layer (axum, tonic, hyper) opening the SERVER span from the caller's `traceparent` | extract by hand with [`propagation::extract`] |
//!
//! Without any of them the console and JSON-lines exporters, any `opentelemetry_sdk`
//! `SpanExporter` given to [`TelemetryBuilder::span_exporter`], the `OTEL_*` variables and
//! configuration in code all work as usual.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs, unreachable_pub)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
// The docs link to `Config::from_toml_str`, `reset_anonymous_id`, `http::ClientTracing` and
// other items that a build without `config-file`, `usage`, `reqwest` or `tower` does not have;
// those links are checked by the all-features doc build in CI, so only they are let go when a
// feature is off.
#![cfg_attr(
    not(all(
        feature = "config-file",
        feature = "usage",
        feature = "reqwest",
        feature = "tower"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

#[doc(hidden)]
pub mod __private;
mod clock;
mod config;
mod context;
mod counters;
mod error_type;
mod export;
pub mod genai;
mod hot;
#[cfg(any(feature = "reqwest", feature = "tower"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "reqwest", feature = "tower"))))]
pub mod http;
mod instrument;
mod lock;
mod metrics;
mod pipeline;
mod privacy;
#[cfg(feature = "profiling")]
#[cfg_attr(docsrs, doc(cfg(feature = "profiling")))]
pub mod profiling;
mod record;
mod resources;
mod sampler;
mod sampling;
mod span;
mod tally;
mod telemetry;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod tracing;
mod transport;
pub mod usage;
mod warn;

pub use config::{
    Config, ConfigEntry, ConfigError, ConfigReport, ConfigSource, ConfigWarning, Protocol, MASKED,
};
pub use context::propagation;
pub use context::{current_span_context, ContextGuard, TraceContext};
pub use error_type::ErrorType;
pub use export::OtlpCheck;
pub use export::{ConsoleExporter, JsonLinesExporter};
pub use genai::CaptureMode;
pub use instrument::{spawn, spawn_thread, FutureExt, Instrumented, StreamExt, WithContext};
pub use metrics::MetricsError;
pub use opentelemetry::metrics::{
    Counter, Gauge, Histogram, Meter, ObservableCounter, ObservableGauge, ObservableUpDownCounter,
    UpDownCounter,
};
pub use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId};
pub use opentelemetry::{KeyValue, Value};
pub use pipeline::stats::Stats;
pub use pipeline::{CircuitState, PipelineError};
pub use resources::CountingAllocator;
pub use sampling::{Sampler, TailSampling};
pub use span::{EnterGuard, EnteredSpan, Span, SpanBuilder};
pub use telemetry::{
    FlushError, InstallError, ShutdownError, Telemetry, TelemetryBuilder, DROP_TIMEOUT_DEFAULT,
    FLUSH_TIMEOUT_DEFAULT,
};
pub use zdk_trace_macros::{agent_span, llm_call, span, tool_call, usage_event, workflow};
