//! JSON-lines file exporter: one span per line, each line an OTLP/JSON request.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

/// Appends finished spans to a file, one span per line.
///
/// Each line is a complete OTLP/JSON `ExportTraceServiceRequest` holding exactly one span:
///
/// ```text
/// {"resourceSpans":[{"resource":{"attributes":[…]},"scopeSpans":[{"scope":{…},"spans":[{…}]}]}]}
/// ```
///
/// as the OTLP/JSON encoding specifies it: camelCase fields, `traceId`/`spanId`/`parentSpanId`
/// as lowercase hex (`parentSpanId` is `""` for a root), times as unix nanoseconds in strings
/// (`"startTimeUnixNano":"1700000000000000000"`), attributes as
/// `{"key":"k","value":{"stringValue":"v"}}` (`intValue` as a string), enums as integers.
/// Any line can be replayed to a collector's `/v1/traces` with
/// `content-type: application/json`, and `jq` reads the file as it is.
///
/// Each export is written with a single `write` call and flushed, so lines from concurrent
/// processes appending to the same file do not interleave in practice.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::JsonLinesExporter;
///
/// # fn main() -> std::io::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("zdk-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let exporter = JsonLinesExporter::create(dir.join("spans.jsonl"))?;
/// # drop(exporter);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub struct JsonLinesExporter {
    path: PathBuf,
    file: Mutex<Option<File>>,
    resource: ResourceAttributesWithSchema,
}

impl JsonLinesExporter {
    /// Opens `path` for appending, creating the file (but not its directories) if needed.
    ///
    /// # Errors
    ///
    /// The I/O error from opening the file, e.g. `NotFound` when its directory is missing.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::JsonLinesExporter;
    ///
    /// let missing_dir = std::env::temp_dir().join("zdk-no-such-dir/a/b/spans.jsonl");
    /// assert!(JsonLinesExporter::create(missing_dir).is_err());
    /// ```
    pub fn create(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(JsonLinesExporter {
            path,
            file: Mutex::new(Some(file)),
            resource: ResourceAttributesWithSchema::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<File>> {
        // The file handle stays valid whatever panicked while it was held.
        self.file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn export_batch(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut text = Vec::with_capacity(batch.len() * 512);
        let mut failed = 0_usize;
        let mut first_error = None;
        for span in batch {
            let request = ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans::new(span, &self.resource)],
            };
            let start = text.len();
            match serde_json::to_writer(&mut text, &request) {
                Ok(()) => text.push(b'\n'),
                Err(e) => {
                    // Drop the partial line, keep the others.
                    text.truncate(start);
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        let mut guard = self.lock();
        let Some(file) = guard.as_mut() else {
            return Err(OTelSdkError::AlreadyShutdown);
        };
        if !text.is_empty() {
            file.write_all(&text)
                .and_then(|()| file.flush())
                .map_err(|e| self.error(&format!("writing spans failed: {e}")))?;
        }
        match first_error {
            None => Ok(()),
            Some(e) => Err(self.error(&format!("{failed} span(s) could not be encoded: {e}"))),
        }
    }

    fn error(&self, message: &str) -> OTelSdkError {
        OTelSdkError::InternalFailure(format!(
            "JSON-lines exporter `{}`: {message}",
            self.path.display()
        ))
    }
}

impl std::fmt::Debug for JsonLinesExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesExporter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SpanExporter for JsonLinesExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // Writing is synchronous (and fast: the pipeline runs it off the app threads).
        std::future::ready(self.export_batch(batch))
    }

    fn force_flush(&self) -> OTelSdkResult {
        match self.lock().as_mut() {
            Some(file) => file
                .sync_data()
                .map_err(|e| self.error(&format!("sync failed: {e}"))),
            None => Ok(()),
        }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        // Dropping the handle closes the file; a second shutdown finds nothing to do.
        match self.lock().take() {
            Some(file) => file
                .sync_data()
                .map_err(|e| self.error(&format!("sync failed: {e}"))),
            None => Ok(()),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{
        Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{InstrumentationScope, KeyValue};
    use serde_json::{json, Value};

    use super::*;
    use crate::export::fixtures;

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

    /// A fresh path under the system temp dir, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("zdk-trace-file-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                panic!("{e}");
            }
            TempFile(dir.join("spans.jsonl"))
        }
        fn lines(&self) -> Vec<Value> {
            let text = std::fs::read_to_string(&self.0).unwrap_or_default();
            text.lines()
                .map(|l| match serde_json::from_str(l) {
                    Ok(v) => v,
                    Err(e) => panic!("line is not JSON ({e}): {l}"),
                })
                .collect()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    fn span(id: u64, parent: u64, name: &'static str) -> SpanData {
        let mut span = fixtures::span_data(
            TRACE,
            id,
            parent,
            name,
            Duration::ZERO,
            Duration::from_millis(5),
        );
        span.span_kind = SpanKind::Client;
        span.attributes = vec![
            KeyValue::new("gen_ai.request.model", "gpt-4o"),
            KeyValue::new("tokens", 42_i64),
            KeyValue::new("temperature", 0.5),
            KeyValue::new("stream", true),
        ];
        span.instrumentation_scope = InstrumentationScope::builder("zdk-trace")
            .with_version("0.1.0")
            .build();
        span
    }

    fn exporter(file: &TempFile) -> JsonLinesExporter {
        let mut exporter = match JsonLinesExporter::create(&file.0) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        exporter.set_resource(
            &Resource::builder_empty()
                .with_service_name("checkout")
                .build(),
        );
        exporter
    }

    fn export(exporter: &JsonLinesExporter, batch: Vec<SpanData>) -> OTelSdkResult {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(rt) => rt.block_on(exporter.export(batch)),
            Err(e) => panic!("{e}"),
        }
    }

    fn only_span(line: &Value) -> &Value {
        let spans = &line["resourceSpans"][0]["scopeSpans"][0]["spans"];
        assert_eq!(spans.as_array().map(Vec::len), Some(1), "{line}");
        &spans[0]
    }

    #[test]
    fn one_otlp_json_request_per_span() {
        let file = TempFile::new("shape");
        let exp = exporter(&file);
        let mut child = span(2, 1, "llm.call");
        child.status = Status::error("rate limited");
        assert!(export(&exp, vec![child, span(1, 0, "agent.run")]).is_ok());

        let lines = file.lines();
        assert_eq!(lines.len(), 2);
        for line in &lines {
            assert_eq!(line["resourceSpans"].as_array().map(Vec::len), Some(1));
            assert_eq!(
                line["resourceSpans"][0]["resource"]["attributes"][0],
                json!({"key": "service.name", "value": {"stringValue": "checkout"}})
            );
            assert_eq!(
                line["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"],
                "zdk-trace"
            );
            assert_eq!(
                line["resourceSpans"][0]["scopeSpans"][0]["scope"]["version"],
                "0.1.0"
            );
        }

        let child = only_span(&lines[0]);
        assert_eq!(child["name"], "llm.call");
        assert_eq!(child["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(child["spanId"], "0000000000000002");
        assert_eq!(child["parentSpanId"], "0000000000000001");
        assert_eq!(child["kind"], 3, "SPAN_KIND_CLIENT as an integer");
        assert_eq!(child["startTimeUnixNano"], "1700000000000000000");
        assert_eq!(child["endTimeUnixNano"], "1700000000005000000");
        assert_eq!(
            child["attributes"],
            json!([
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                {"key": "tokens", "value": {"intValue": "42"}},
                {"key": "temperature", "value": {"doubleValue": 0.5}},
                {"key": "stream", "value": {"boolValue": true}},
            ])
        );
        assert_eq!(
            child["status"],
            json!({"code": 2, "message": "rate limited"})
        );

        let root = only_span(&lines[1]);
        assert_eq!(root["parentSpanId"], "");
    }

    #[test]
    fn events_and_links_are_written() {
        let file = TempFile::new("events");
        let exp = exporter(&file);
        let mut s = span(1, 0, "root");
        s.events.events.push(Event::new(
            "exception",
            s.start_time + Duration::from_millis(1),
            vec![KeyValue::new("exception.message", "oops")],
            0,
        ));
        s.links.links.push(Link::new(
            SpanContext::new(
                TraceId::from(7_u128),
                SpanId::from(9_u64),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            ),
            vec![],
            0,
        ));
        assert!(export(&exp, vec![s]).is_ok());
        let lines = file.lines();
        let root = only_span(&lines[0]);
        assert_eq!(
            root["events"],
            json!([{
                "timeUnixNano": "1700000000001000000",
                "name": "exception",
                "attributes": [{"key": "exception.message", "value": {"stringValue": "oops"}}],
                "droppedAttributesCount": 0
            }])
        );
        assert_eq!(
            root["links"][0]["traceId"],
            "00000000000000000000000000000007"
        );
        assert_eq!(root["links"][0]["spanId"], "0000000000000009");
    }

    #[test]
    fn appends_across_exporters_and_batches() {
        let file = TempFile::new("append");
        {
            let exp = exporter(&file);
            assert!(export(&exp, vec![span(1, 0, "a")]).is_ok());
            assert!(exp.shutdown().is_ok());
        }
        let exp = exporter(&file);
        assert!(export(&exp, vec![span(2, 0, "b")]).is_ok());
        assert!(export(&exp, vec![span(3, 0, "c"), span(4, 0, "d")]).is_ok());
        assert!(exp.force_flush().is_ok());
        let names: Vec<String> = file
            .lines()
            .iter()
            .map(|l| only_span(l)["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }

    #[test]
    fn lines_are_written_before_export_returns() {
        let file = TempFile::new("flush");
        let exp = exporter(&file);
        assert!(export(&exp, vec![span(1, 0, "a")]).is_ok());
        // No flush, no shutdown: the line is already on disk.
        assert_eq!(file.lines().len(), 1);
    }

    #[test]
    fn shutdown_is_idempotent_and_stops_exports() {
        let file = TempFile::new("shutdown");
        let exp = exporter(&file);
        assert!(exp.shutdown().is_ok());
        assert!(exp.shutdown().is_ok());
        assert!(matches!(
            export(&exp, vec![span(1, 0, "late")]),
            Err(OTelSdkError::AlreadyShutdown)
        ));
        assert!(file.lines().is_empty());
    }

    #[test]
    fn missing_directory_is_an_error() {
        let file = TempFile::new("missing");
        let path = file.0.with_file_name("no/such/dir/spans.jsonl");
        assert!(JsonLinesExporter::create(path).is_err());
    }

    #[test]
    fn non_finite_doubles_are_written_as_null() {
        let file = TempFile::new("nan");
        let exp = exporter(&file);
        let mut s = span(1, 0, "nan");
        s.attributes = vec![KeyValue::new("x", f64::NAN)];
        assert!(export(&exp, vec![s, span(2, 0, "ok")]).is_ok());
        // JSON has no NaN: serde_json writes null, and the line stays valid.
        let lines = file.lines();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            only_span(&lines[0])["attributes"][0]["value"],
            json!({"doubleValue": null})
        );
    }
}
