//! Installing a pipeline with an in-memory exporter, one test at a time, and finding spans in
//! what it exported.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use opentelemetry::trace::SpanId;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use zdk_trace_runtime::usage::UsageOptions;
use zdk_trace_runtime::{Telemetry, TelemetryBuilder};

static SERIAL: Mutex<()> = Mutex::new(());

/// The pipeline is process-wide: tests that install one hold this lock.
pub fn serial() -> MutexGuard<'static, ()> {
    match SERIAL.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A builder that sees neither the process environment nor a `zdk-trace.toml`, so a test
/// gets exactly what it configures. An empty injected environment rather than `ignore_env()`:
/// the usage layer's opt-outs are read from the process environment unless variables are
/// injected, and CI runs with `CI=true`, which would turn usage off. A test can inject its own
/// variables with `env_vars(..)` (they replace this empty set).
pub fn isolated_builder() -> TelemetryBuilder {
    Telemetry::builder()
        .env_vars(std::iter::empty::<(String, String)>())
        .config(zdk_trace_runtime::Config::default())
}

/// A scratch usage configuration directory (anonymous id, notice marker, opt-out file) of one
/// test, removed on drop, so no test reads or writes the user's `~/.config/zdk`.
#[derive(Debug)]
pub struct UsageDir(PathBuf);

impl UsageDir {
    /// A new, not yet created, directory under the system temporary directory.
    pub fn new() -> UsageDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zdk-usage-harness-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        UsageDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Default for UsageDir {
    fn default() -> Self {
        UsageDir::new()
    }
}

impl Drop for UsageDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test's pipeline: the installed telemetry and the exporter it writes to.
#[derive(Debug)]
pub struct Harness {
    /// The installed pipeline.
    pub telemetry: Telemetry,
    /// Where spans go.
    pub exporter: InMemorySpanExporter,
    /// Dropped after `telemetry` (fields drop in order): the usage layer may still write there
    /// while shutting down.
    _usage_dir: Option<UsageDir>,
    _serial: MutexGuard<'static, ()>,
}

impl Harness {
    /// Installs a pipeline that exports to memory, ignoring the process environment and any
    /// config file; `configure` adds to the builder.
    pub fn install(configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder) -> Harness {
        let serial = serial();
        let exporter = InMemorySpanExporter::default();
        let builder = isolated_builder()
            .service_name("test")
            .span_exporter(exporter.clone());
        let telemetry = match configure(builder).install() {
            Ok(t) => t,
            Err(e) => panic!("install failed: {e}"),
        };
        Harness {
            telemetry,
            exporter,
            _usage_dir: None,
            _serial: serial,
        }
    }

    /// [`install`](Self::install) with the usage layer on, exporting usage events (as spans)
    /// to the returned exporter: a `UsageOptions::span_exporter` turns the layer on. No opt-out of the
    /// process environment applies (the builder's injected environment is empty, so `CI=true`
    /// does not turn it off; `configure` may inject variables with `env_vars(..)`), the usage
    /// files go to a scratch directory, and the one-time notice is not printed.
    pub fn install_usage(
        configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder,
    ) -> (Harness, InMemorySpanExporter) {
        let usage = InMemorySpanExporter::default();
        let dir = UsageDir::new();
        let for_builder = usage.clone();
        let path = dir.path().to_owned();
        let mut h = Harness::install(move |b| {
            configure(
                b.usage(
                    UsageOptions::new()
                        .config_dir(path)
                        .notice(false)
                        .span_exporter(for_builder),
                ),
            )
        });
        h._usage_dir = Some(dir);
        (h, usage)
    }

    /// Flushes and returns every span exported so far.
    pub fn spans(&self) -> Vec<SpanData> {
        if let Err(e) = self.telemetry.force_flush() {
            panic!("flush failed: {e}");
        }
        self.exporter.get_finished_spans().unwrap_or_default()
    }
}

/// The one span named `name` (panics if there is not exactly one).
pub fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one span named {name:?}, got {}: {:#?}",
        found.len(),
        spans.iter().map(|s| s.name.to_string()).collect::<Vec<_>>()
    );
    found[0]
}

/// Every span named `name`.
pub fn all<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// Asserts `child` is a direct child of `parent` in the same trace.
pub fn assert_child_of(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id(),
        "{} and {} are in different traces",
        child.name,
        parent.name
    );
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
}

/// Asserts the span starts a trace.
pub fn assert_root(span: &SpanData) {
    assert_eq!(
        span.parent_span_id,
        SpanId::INVALID,
        "{} has a parent",
        span.name
    );
}

/// The value of attribute `key`, if set.
pub fn attr(span: &SpanData, key: &str) -> Option<opentelemetry::Value> {
    span.attributes
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

/// An exporter that keeps every span it receives, also after shutdown (the SDK's
/// `InMemorySpanExporter` forgets them on shutdown, which shutdown tests must not).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    spans: std::sync::Arc<Mutex<Vec<SpanData>>>,
}

impl Recorder {
    /// Every span received so far.
    pub fn spans(&self) -> Vec<SpanData> {
        match self.spans.lock() {
            Ok(spans) => spans.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The names of every span received so far.
    pub fn names(&self) -> Vec<String> {
        self.spans().iter().map(|s| s.name.to_string()).collect()
    }
}

impl opentelemetry_sdk::trace::SpanExporter for Recorder {
    async fn export(&self, batch: Vec<SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        match self.spans.lock() {
            Ok(mut spans) => spans.extend(batch),
            Err(poisoned) => poisoned.into_inner().extend(batch),
        }
        Ok(())
    }
}
