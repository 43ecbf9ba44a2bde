//! Content capture for `#[llm_call(..., capture)]` and `#[tool_call(..., capture)]`: what a
//! captured value becomes (text, or JSON), the messages' JSON schema, the cut at
//! [`CONTENT_MAX_BYTES`](super::CONTENT_MAX_BYTES), and where the content goes (attributes, an
//! event, or both, as [`CaptureMode`] says). Reached by the expansions through `__private`.
//!
//! A leaf: it writes to the span through [`ContentSink`], which `Span` implements, so it needs
//! nothing from the recording side.

use std::borrow::Cow;

use opentelemetry::KeyValue;

use super::{CaptureMode, LlmOutput};

/// Where captured content is written: the call's span (`Span` implements it, in `__private`).
pub(crate) trait ContentSink {
    /// Whether the span records.
    fn is_recording(&self) -> bool;
    /// Adds an event, timestamped now.
    fn add_event(&mut self, name: &'static str, attributes: Vec<KeyValue>);
    /// Sets several attributes.
    fn set_attributes(&mut self, attributes: Vec<KeyValue>);
    /// Sets one attribute.
    fn set_attribute(&mut self, attribute: KeyValue);
}

/// What `capture` records: any `serde::Serialize` value (strings as text).
#[diagnostic::on_unimplemented(
    message = "`capture` records `{Self}` as JSON, but it does not implement `serde::Serialize`",
    label = "captured here",
    note = "derive `serde::Serialize` for it, or capture a `String` made from it"
)]
pub trait CaptureValue {
    /// The value as text (a string) or JSON (anything else).
    fn capture(&self) -> Captured;
}

/// A captured value: a string's text, or another value's JSON.
#[derive(Debug)]
pub enum Captured {
    /// The value serialized as a string.
    Text(String),
    /// The value's JSON, fields in declaration order.
    Json(String),
}

impl<T: serde::Serialize + ?Sized> CaptureValue for T {
    fn capture(&self) -> Captured {
        // Straight to a string (not through `serde_json::Value`, which would sort the keys);
        // a JSON string is read back as its text.
        match serde_json::to_string(self) {
            Ok(json) if json.starts_with('"') => match serde_json::from_str::<String>(&json) {
                Ok(text) => Captured::Text(text),
                Err(_) => Captured::Json(json),
            },
            Ok(json) => Captured::Json(json),
            Err(error) => Captured::Json(unserializable(&error)),
        }
    }
}

/// The content of one captured call: the mode read when it started (one relaxed load, and
/// `NoContent` for a span that does not record) and what was captured before the body ran.
#[derive(Debug, Clone)]
pub struct Content {
    pub(crate) mode: CaptureMode,
    /// `(attribute, JSON)` pairs captured at the start (the prompt, the tool arguments).
    inputs: Vec<(&'static str, String)>,
    truncated: i64,
}

impl Content {
    /// Content captured in `mode` (what [`Content::start`] reads for a span).
    #[inline]
    pub(crate) fn with_mode(mode: CaptureMode) -> Content {
        Content {
            mode,
            inputs: Vec::new(),
            truncated: 0,
        }
    }

    /// Whether content is recorded: only then is anything computed.
    #[inline]
    pub fn captures(&self) -> bool {
        self.mode.captures()
    }

    /// `capture(input = ...)` of `#[llm_call]`: a string becomes one user message; any other
    /// value is taken to be the messages already (the schema's array of `{role, parts}`).
    pub fn llm_input<T: CaptureValue + ?Sized>(&mut self, input: &T) {
        let json = match input.capture() {
            Captured::Text(text) => {
                let text = self.cut(&text);
                message_json("user", &text, None)
            }
            Captured::Json(json) => self.cut(&json).into_owned(),
        };
        self.inputs.push((super::INPUT_MESSAGES, json));
    }

    /// `capture(arguments = ...)` of `#[tool_call]`: a string as-is, anything else as JSON.
    pub fn tool_arguments<T: CaptureValue + ?Sized>(&mut self, arguments: &T) {
        let json = self.json_or_text(arguments);
        self.inputs.push((super::TOOL_CALL_ARGUMENTS, json));
    }

    pub(crate) fn json_or_text<T: CaptureValue + ?Sized>(&mut self, value: &T) -> String {
        match value.capture() {
            Captured::Text(text) | Captured::Json(text) => self.cut(&text).into_owned(),
        }
    }

    /// `text` cut to [`CONTENT_MAX_BYTES`](super::CONTENT_MAX_BYTES), counted.
    pub(crate) fn cut<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let max = super::CONTENT_MAX_BYTES;
        if text.len() <= max {
            return Cow::Borrowed(text);
        }
        self.truncated += 1;
        Cow::Owned(format!("{}…", prefix(text, max)))
    }

    /// Records what was captured, plus `outputs`, where the mode says.
    pub(crate) fn record(
        mut self,
        span: &mut impl ContentSink,
        outputs: Vec<(&'static str, String)>,
    ) {
        if !self.mode.captures() || !span.is_recording() {
            return;
        }
        self.inputs.extend(outputs);
        let attributes: Vec<KeyValue> = self
            .inputs
            .into_iter()
            .map(|(key, value)| KeyValue::new(key, value))
            .collect();
        if self.mode.on_event() {
            span.add_event(super::INFERENCE_DETAILS_EVENT, attributes.clone());
        }
        if self.mode.on_span() {
            span.set_attributes(attributes);
        }
        if self.truncated > 0 {
            span.set_attribute(KeyValue::new(super::CONTENT_TRUNCATED, self.truncated));
        }
    }
}

/// Appends a captured `#[llm_call]` stream item's text and keeps its finish reason.
pub(crate) type ReadText<T> = fn(&T, &mut StreamText);

/// The completion of a captured `#[llm_call]` stream, gathered item by item.
#[derive(Debug, Default)]
pub struct StreamText {
    text: String,
    finish_reason: Option<String>,
    /// Some item had text: a stream whose items never do records no output.
    any: bool,
}

impl StreamText {
    pub(crate) fn push<T: LlmOutput + ?Sized>(&mut self, item: &T) {
        if let Some(text) = item.output_text() {
            self.any = true;
            // Stop growing at the cap (plus one byte, so the cut is still seen and counted).
            let room = (super::CONTENT_MAX_BYTES + 1).saturating_sub(self.text.len());
            if room > 0 {
                self.text.push_str(prefix(text, room));
            }
        }
        if let Some(reason) = item.finish_reason() {
            self.finish_reason = Some(reason.to_owned());
        }
    }
}

/// What a captured `#[llm_call]` stream keeps besides its usage.
#[derive(Debug)]
pub(crate) struct StreamCapture<T> {
    pub(crate) content: Content,
    pub(crate) read: ReadText<T>,
    pub(crate) text: StreamText,
}

impl<T> StreamCapture<T> {
    pub(crate) fn finish(mut self, span: &mut impl ContentSink) {
        let text = std::mem::take(&mut self.text);
        let outputs = if text.any {
            let cut = self.content.cut(&text.text).into_owned();
            vec![(
                super::OUTPUT_MESSAGES,
                message_json(
                    "assistant",
                    &cut,
                    Some(finish_or_stop(text.finish_reason.as_deref())),
                ),
            )]
        } else {
            Vec::new()
        };
        self.content.record(span, outputs);
    }
}

/// A tool's return value, seen through [`ReturnedOk`] (a `Result`: its `Ok` value) or else
/// [`ReturnedAny`] (the value itself). The expansion calls `(&Returned(ret)).value()`:
/// method lookup tries the receiver `&Returned<R>` first, which only [`ReturnedOk`]'s impl
/// (for `Returned<Result<T, E>>`, through `&self`) takes, then auto-ref, where
/// [`ReturnedAny`]'s impl for `&Returned<R>` takes anything ("autoref specialization"). Both
/// impls are unbounded, so a value that cannot be captured fails on [`CaptureValue`] with its
/// own message.
#[derive(Debug)]
pub struct Returned<'a, T: ?Sized>(pub &'a T);

/// See [`Returned`]: the `Ok` value of a `Result`.
pub trait ReturnedOk<'a> {
    /// The `Ok` type.
    type Value: ?Sized;
    /// The `Ok` value, `None` for an `Err`.
    fn value(&self) -> Option<&'a Self::Value>;
}

impl<'a, T, E> ReturnedOk<'a> for Returned<'a, Result<T, E>> {
    type Value = T;
    #[inline]
    fn value(&self) -> Option<&'a T> {
        self.0.as_ref().ok()
    }
}

/// See [`Returned`]: any other value, itself.
pub trait ReturnedAny<'a> {
    /// The returned type.
    type Value: ?Sized;
    /// The value.
    fn value(&self) -> Option<&'a Self::Value>;
}

impl<'a, T: ?Sized> ReturnedAny<'a> for &Returned<'a, T> {
    type Value = T;
    #[inline]
    fn value(&self) -> Option<&'a T> {
        Some(self.0)
    }
}

/// `[{"role":role,"parts":[{"type":"text","content":text}]}]`, with `"finish_reason"` for an
/// output message, keys in the order the conventions' examples use.
pub(crate) fn message_json(role: &str, text: &str, finish_reason: Option<&str>) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut json = format!(
        "[{{\"role\":{},\"parts\":[{{\"type\":\"text\",\"content\":{}}}]",
        quote(role),
        quote(text)
    );
    if let Some(reason) = finish_reason {
        json.push_str(",\"finish_reason\":");
        json.push_str(&quote(reason));
    }
    json.push_str("}]");
    json
}

/// The output schema requires a finish reason; a response that gives none finished normally.
pub(crate) fn finish_or_stop(reason: Option<&str>) -> &str {
    reason.unwrap_or("stop")
}

/// What is recorded when a value's `Serialize` fails (a map with non-string keys, a custom
/// impl's error): the failure, never a panic.
fn unserializable(error: &serde_json::Error) -> String {
    format!("<not serializable: {error}>")
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::{message_json, prefix};

    #[test]
    fn messages_follow_the_schema() {
        assert_eq!(
            message_json("user", "say \"hi\"", None),
            r#"[{"role":"user","parts":[{"type":"text","content":"say \"hi\""}]}]"#
        );
        assert_eq!(
            message_json("assistant", "hi", Some("length")),
            r#"[{"role":"assistant","parts":[{"type":"text","content":"hi"}],"finish_reason":"length"}]"#
        );
    }

    #[test]
    fn prefix_cuts_on_char_boundaries() {
        assert_eq!(prefix("héllo", 2), "h");
        assert_eq!(prefix("héllo", 3), "hé");
        assert_eq!(prefix("hi", 10), "hi");
    }
}
