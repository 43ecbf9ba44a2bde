//! The export half of metrics: what [`Telemetry`](crate::Telemetry) starts at install from the
//! `[telemetry.metrics]` settings (the Prometheus endpoint, the process gauges), the `Meter`
//! handed to applications, and the console summary. It reads the aggregation in `tally`
//! (per-thread cells the built-in instruments and the `Meter` write) only by collecting.

mod meter;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod otlp;
mod process;
#[cfg(feature = "prometheus")]
mod prometheus;
#[cfg(feature = "prometheus")]
mod server;

use std::net::SocketAddr;

use opentelemetry::KeyValue;

pub(crate) use meter::meter;

use crate::tally;

/// Why the metrics could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The Prometheus endpoint could not listen.
    #[error(
        "the Prometheus metrics endpoint cannot listen on {addr}: {source}; choose another \
         `telemetry.metrics.prometheus.port` (or address), or stop what uses that port"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The endpoint's thread or runtime could not start.
    #[error("the metrics endpoint's or push's thread could not start: {0}")]
    Runtime(#[source] std::io::Error),
    /// The OTLP metrics exporter could not be built (its cause names the endpoint or header).
    #[error("cannot build the OTLP metrics exporter: {0}")]
    Otlp(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The Prometheus endpoint was asked for but the `prometheus` feature is off.
    #[error(
        "`telemetry.metrics.prometheus.enabled` is true but zdk-trace-runtime was built without \
         its `prometheus` feature; enable the feature or turn the endpoint off"
    )]
    PrometheusNotCompiled,
}

/// What the installer resolved from the `[telemetry.metrics]` settings.
#[derive(Clone, Debug)]
pub(crate) struct MetricsOptions {
    pub(crate) enabled: bool,
    pub(crate) cardinality_limit: usize,
    /// Where to serve Prometheus scrapes, and the path.
    pub(crate) prometheus: Option<(SocketAddr, String)>,
    /// Where and how to push over OTLP: the transport settings (endpoint: the full metrics
    /// URL for HTTP), the interval and the temporality.
    pub(crate) otlp: Option<(
        crate::config::OtlpSettings,
        std::time::Duration,
        crate::config::Temporality,
    )>,
    /// Print the summary on stdout at shutdown (`OTEL_METRICS_EXPORTER=console`), unless the
    /// console span exporter printed it.
    pub(crate) console: bool,
    /// The resource, as `target_info`.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) resource: Vec<KeyValue>,
}

/// The running metrics stages.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    console: bool,
    #[cfg(feature = "prometheus")]
    endpoint: Option<server::Endpoint>,
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    pusher: Option<otlp::Pusher>,
}

/// Starts what `options` asks for.
pub(crate) fn start(options: &MetricsOptions) -> Result<Metrics, MetricsError> {
    tally::set_cardinality_limit(options.cardinality_limit);
    crate::export::metrics_summary::PRINTED.store(false, std::sync::atomic::Ordering::Relaxed);
    tally::set_built_in(options.enabled);
    if !options.enabled {
        return Ok(Metrics::default());
    }
    process_gauges();
    #[cfg_attr(
        not(any(feature = "otlp-grpc", feature = "otlp-http", feature = "prometheus")),
        allow(unused_mut)
    )]
    let mut metrics = Metrics::new(options.console);
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    if let Some((settings, interval, temporality)) = &options.otlp {
        metrics.pusher = Some(start_push(
            settings,
            *interval,
            *temporality,
            options.resource.clone(),
        )?);
    }
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    if options.otlp.is_some() {
        return Err(MetricsError::Otlp(
            "zdk-trace-runtime was built without `otlp-grpc` and `otlp-http`".into(),
        ));
    }
    match &options.prometheus {
        #[cfg(feature = "prometheus")]
        Some((addr, path)) => {
            metrics.endpoint = Some(server::Endpoint::start(
                *addr,
                path.clone(),
                options.resource.clone(),
            )?);
        }
        #[cfg(not(feature = "prometheus"))]
        Some(_) => return Err(MetricsError::PrometheusNotCompiled),
        None => {}
    }
    Ok(metrics)
}

/// The OTLP push thread, its sender built on its own single-threaded runtime (a gRPC channel
/// spawns its connection task on the runtime current when it is built).
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn start_push(
    settings: &crate::config::OtlpSettings,
    interval: std::time::Duration,
    temporality: crate::config::Temporality,
    resource: Vec<KeyValue>,
) -> Result<otlp::Pusher, MetricsError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(MetricsError::Runtime)?;
    let sender = {
        let _entered = runtime.enter();
        crate::export::build_otlp_metrics_sender(settings)
            .map_err(|e| MetricsError::Otlp(Box::new(e)))?
    };
    otlp::Pusher::start(sender, runtime, interval, temporality, resource)
        .map_err(MetricsError::Runtime)
}

/// The process gauges, registered once per process.
fn process_gauges() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| process::register(&meter(tally::genai::SCOPE.into())));
}

impl Metrics {
    /// Nothing started yet; `console`: print the summary at shutdown.
    fn new(console: bool) -> Metrics {
        Metrics {
            console,
            #[cfg(feature = "prometheus")]
            endpoint: None,
            #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
            pusher: None,
        }
    }

    /// The address the Prometheus endpoint listens on, if it runs.
    pub(crate) fn prometheus_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "prometheus")]
        {
            self.endpoint.as_ref().map(server::Endpoint::addr)
        }
        #[cfg(not(feature = "prometheus"))]
        {
            None
        }
    }

    /// Stops the endpoint (the built-in instruments stop recording).
    pub(crate) fn shutdown(&mut self) {
        // The last push first, with everything recorded until now.
        #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
        if let Some(mut pusher) = self.pusher.take() {
            pusher.stop();
        }
        if self.console
            && !crate::export::metrics_summary::PRINTED
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            if let Some(summary) = crate::export::metrics_summary::summary(&tally::collect()) {
                use std::io::Write as _;
                // Never `print!`: it panics when stdout is closed.
                let _ = writeln!(std::io::stdout(), "\n{summary}");
            }
        }
        tally::set_built_in(false);
        #[cfg(feature = "prometheus")]
        if let Some(mut endpoint) = self.endpoint.take() {
            endpoint.stop();
        }
    }
}
