//! Why a flush or a shutdown of the pipeline did not complete.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkError;

/// Why [`Telemetry::force_flush`](crate::Telemetry::force_flush) or
/// [`Telemetry::shutdown`](crate::Telemetry::shutdown) did not complete.
///
/// [`FlushError`](crate::FlushError) and [`ShutdownError`](crate::ShutdownError) are this
/// type. An exporter's own error is kept as the [`source`](std::error::Error::source), so error
/// reporters that walk the chain (`anyhow`, `eyre`) print it.
///
/// # Examples
///
/// ```
/// use opentelemetry_sdk::trace::InMemorySpanExporter;
/// use zdk_trace_runtime::{PipelineError, Telemetry};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = Telemetry::builder()
///     .span_exporter(InMemorySpanExporter::default())
///     .install()?;
/// telemetry.shutdown()?;
/// // A second shutdown has nothing left to do.
/// assert!(matches!(telemetry.shutdown(), Err(PipelineError::AlreadyShutdown)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The exporters did not finish in time. After a flush, the spans may still be exported
    /// later; after a shutdown, what was still queued is counted in `stats().dropped_shutdown`.
    #[error(
        "timed out after {0:?}: the exporter is slow or the collector unreachable; \
         give it a longer timeout, or check the collector (spans not exported by shutdown are \
         counted in stats().dropped_shutdown)"
    )]
    Timeout(Duration),
    /// An exporter reported an error (or panicked) while flushing or shutting down; the first
    /// one that failed, if several did.
    #[error("exporter `{exporter}` failed to flush or shut down; its error is the source")]
    Exporter {
        /// The exporter's name.
        exporter: String,
        /// What it reported (a panic is reported as an internal failure).
        #[source]
        source: OTelSdkError,
    },
    /// The pipeline is already shut down (`shutdown` was called before); install a new one to
    /// record again.
    #[error("the pipeline is already shut down; install a new one to record again")]
    AlreadyShutdown,
}
