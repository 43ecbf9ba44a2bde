//! What `#[llm_call]` and `#[tool_call]` record on their span from the call: token usage and
//! the response model of the return value, and captured content. The logic of capture lives in
//! `genai::capture`; this is where it meets the span and the run-time capture mode.

use opentelemetry::KeyValue;

use crate::genai::capture::{finish_or_stop, message_json, CaptureValue, Content, ContentSink};
use crate::genai::{self, CaptureMode, LlmOutput};
use crate::hot::hot;
use crate::instrument::{meter_usage, model_cost, record_cost, set_finish_reasons, set_usage};
use crate::span::Span;

impl Content {
    /// Reads the capture mode for `span`.
    #[inline]
    pub fn start(span: &Span) -> Content {
        let mode = if span.is_recording() {
            hot().capture()
        } else {
            CaptureMode::NoContent
        };
        Content::with_mode(mode)
    }
}

impl ContentSink for Span {
    #[inline]
    fn is_recording(&self) -> bool {
        Span::is_recording(self)
    }

    #[inline]
    fn add_event(&mut self, name: &'static str, attributes: Vec<KeyValue>) {
        Span::add_event(self, name, attributes);
    }

    #[inline]
    fn set_attributes(&mut self, attributes: Vec<KeyValue>) {
        Span::set_attributes(self, attributes);
    }

    #[inline]
    fn set_attribute(&mut self, attribute: KeyValue) {
        Span::set_attribute(self, attribute);
    }
}

/// Sets token usage, the response model and the finish reasons from an `#[llm_call]` return value.
#[inline]
pub fn record_llm_output<T: LlmOutput + ?Sized>(span: &mut Span, output: &T) {
    let (metered, recording) = (span.is_metered(), span.is_recording());
    if !metered && !recording {
        return;
    }
    let usage = output.usage();
    let model = output.response_model();
    if metered {
        meter_usage(span, usage.as_ref(), model);
    }
    let cost = model_cost(span, output.cost(), usage.as_ref(), model);
    record_cost(span, cost.as_ref(), model);
    if recording {
        set_usage(span, usage.as_ref(), model.map(str::to_owned));
        let reasons = output.finish_reasons();
        set_finish_reasons(span, reasons.into_iter().map(str::to_owned).collect());
    }
}

/// Records the prompt and the completion of an `#[llm_call(..., capture)]` (when `content`
/// captures).
#[inline]
pub fn record_llm_content<T: LlmOutput + ?Sized>(span: &mut Span, output: &T, content: &Content) {
    if !content.captures() {
        return;
    }
    // Borrowed, so that the return hook can be a `Fn` (called at most once); cloned only
    // when capturing.
    let mut content = content.clone();
    let mut outputs = Vec::new();
    if let Some(text) = output.output_text() {
        let text = content.cut(text);
        outputs.push((
            genai::OUTPUT_MESSAGES,
            message_json(
                "assistant",
                &text,
                Some(finish_or_stop(output.finish_reason())),
            ),
        ));
    }
    content.record(span, outputs);
}

/// Records the arguments and the result of a `#[tool_call(..., capture)]` (when `content`
/// captures); `result` is the `Ok` value of a `Result`, `None` for an `Err`.
#[inline]
pub fn record_tool_content<T: CaptureValue + ?Sized>(
    span: &mut Span,
    result: Option<&T>,
    content: &Content,
) {
    if !content.captures() {
        return;
    }
    // Borrowed, so that the return hook can be a `Fn` (called at most once); cloned only
    // when capturing.
    let mut content = content.clone();
    let outputs = match result {
        Some(result) => vec![(genai::TOOL_CALL_RESULT, content.json_or_text(result))],
        None => Vec::new(),
    };
    content.record(span, outputs);
}
