//! The export half of metrics: what [`Telemetry`](crate::Telemetry) starts at install from the
//! `[telemetry.metrics]` settings (the Prometheus endpoint, the process gauges), the `Meter`
//! handed to applications, and the console summary. It reads the aggregation in `tally`
//! (per-thread cells the built-in instruments and the `Meter` write) only by collecting.

mod meter;
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
    #[error("the Prometheus metrics endpoint's thread could not start: {0}")]
    Runtime(#[source] std::io::Error),
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
    /// The resource, as `target_info`.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) resource: Vec<KeyValue>,
}

/// The running metrics stages.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    #[cfg(feature = "prometheus")]
    endpoint: Option<server::Endpoint>,
}

/// Starts what `options` asks for.
pub(crate) fn start(options: &MetricsOptions) -> Result<Metrics, MetricsError> {
    tally::set_cardinality_limit(options.cardinality_limit);
    tally::set_built_in(options.enabled);
    if !options.enabled {
        return Ok(Metrics::default());
    }
    process_gauges();
    #[cfg(feature = "prometheus")]
    {
        let endpoint = match &options.prometheus {
            Some((addr, path)) => Some(server::Endpoint::start(
                *addr,
                path.clone(),
                options.resource.clone(),
            )?),
            None => None,
        };
        Ok(Metrics { endpoint })
    }
    #[cfg(not(feature = "prometheus"))]
    {
        if options.prometheus.is_some() {
            return Err(MetricsError::PrometheusNotCompiled);
        }
        Ok(Metrics::default())
    }
}

/// The process gauges, registered once per process.
fn process_gauges() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| process::register(&meter(tally::genai::SCOPE.into())));
}

impl Metrics {
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
        tally::set_built_in(false);
        #[cfg(feature = "prometheus")]
        if let Some(mut endpoint) = self.endpoint.take() {
            endpoint.stop();
        }
    }
}
