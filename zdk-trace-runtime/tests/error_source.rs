//! Flush and shutdown errors keep the exporter's own error as their `source()` (issue 11).

use std::error::Error as _;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use zdk_trace_runtime::{FlushError, PipelineError, ShutdownError, Span, Telemetry};

/// Exports fine, fails to flush and to shut down.
#[derive(Debug)]
struct FailingExporter;

impl SpanExporter for FailingExporter {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure("disk full".into()))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure("disk gone".into()))
    }
}

fn sdk_source(error: &PipelineError) -> &OTelSdkError {
    error
        .source()
        .and_then(|source| source.downcast_ref::<OTelSdkError>())
        .unwrap_or_else(|| panic!("no OTelSdkError source in {error:?}"))
}

#[test]
fn repro_11_flush_and_shutdown_errors_keep_the_exporters_error_as_their_source() {
    let telemetry = Telemetry::builder()
        .service_name("error-source")
        .span_exporter(FailingExporter)
        .ignore_env()
        .install()
        .unwrap_or_else(|e| panic!("{e}"));
    drop(Span::start("step"));

    let flush: FlushError = match telemetry.force_flush() {
        Err(error) => error,
        Ok(()) => panic!("the flush should fail"),
    };
    assert!(matches!(flush, PipelineError::Exporter { .. }), "{flush:?}");
    assert!(
        matches!(sdk_source(&flush), OTelSdkError::InternalFailure(m) if m == "disk full"),
        "{flush:?}"
    );
    assert!(flush.to_string().contains("FailingExporter"), "{flush}");

    let shutdown: ShutdownError = match telemetry.shutdown() {
        Err(error) => error,
        Ok(()) => panic!("the shutdown should fail"),
    };
    assert!(
        matches!(sdk_source(&shutdown), OTelSdkError::InternalFailure(m) if m == "disk gone"),
        "{shutdown:?}"
    );

    // Nothing left to fail: no source.
    let again = match telemetry.shutdown() {
        Err(error) => error,
        Ok(()) => panic!("a second shutdown should fail"),
    };
    assert!(matches!(again, PipelineError::AlreadyShutdown));
    assert!(again.source().is_none());
}
