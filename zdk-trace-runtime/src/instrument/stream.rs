//! [`InstrumentedStream`]: a stream run inside a span that also counts its items, times the
//! first one and, for `#[llm_call]`, sums token usage and gathers captured text (what the
//! macros put around a function that returns a stream).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use pin_project::{pin_project, pinned_drop};

use super::Instrumented;
use crate::genai::capture::{Content, StreamCapture, StreamText};
use crate::genai::{self, prices, Cost, LlmOutput, TokenUsage};
use crate::span::Span;

/// Attribute: how many items an instrumented stream yielded (also when dropped early).
pub const STREAM_ITEMS: &str = "stream.items";
/// Attribute: milliseconds from the call to the stream's first item.
pub const STREAM_TIME_TO_FIRST_ITEM_MS: &str = "stream.time_to_first_item_ms";

/// Reads an `#[llm_call]` stream item's usage and response model.
type ReadUsage<T> = fn(&T) -> (Option<TokenUsage>, Option<String>);
/// Appends an `#[llm_call]` stream item's finish reasons (read only while the span records).
type ReadReasons<T> = fn(&T, &mut Vec<String>);

/// The most finish reasons one stream keeps: one per choice, and a provider returns at most
/// 128 choices (OpenAI's `n`); a stream that repeats a reason in every chunk stays bounded.
const MAX_FINISH_REASONS: usize = 128;

/// A stream run inside a span: current during every `poll_next`, ended when the stream ends,
/// marked cancelled if dropped early (as [`Instrumented`], which it wraps). It also records
/// the item count and the time to the first item, and, for `#[llm_call]`, token usage summed
/// over the items.
#[pin_project(PinnedDrop)]
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct InstrumentedStream<S: Stream> {
    #[pin]
    inner: Instrumented<S>,
    started: std::time::Instant,
    /// When the last item came (a model stream's time per output chunk).
    last_item: std::time::Instant,
    items: u64,
    /// `Some` for `#[llm_call]`.
    read_usage: Option<ReadUsage<S::Item>>,
    usage: Option<TokenUsage>,
    response_model: Option<String>,
    /// `Some` for `#[llm_call]`.
    read_reasons: Option<ReadReasons<S::Item>>,
    finish_reasons: Vec<String>,
    /// `Some` for `#[llm_call(..., capture)]` with content capture on.
    capture: Option<Box<StreamCapture<S::Item>>>,
}

/// Runs `stream` inside `span` (see [`InstrumentedStream`]).
#[inline]
pub fn instrument_stream<S: Stream>(stream: S, span: Span) -> InstrumentedStream<S> {
    InstrumentedStream {
        inner: super::StreamExt::instrument_stream(stream, span),
        started: std::time::Instant::now(),
        last_item: std::time::Instant::now(),
        items: 0,
        read_usage: None,
        usage: None,
        response_model: None,
        read_reasons: None,
        finish_reasons: Vec::new(),
        capture: None,
    }
}

/// Like [`instrument_stream`], also summing the items' token usage and keeping the last
/// response model (`#[llm_call]` on a stream).
#[inline]
pub fn instrument_llm_stream<S>(stream: S, span: Span) -> InstrumentedStream<S>
where
    S: Stream,
    S::Item: LlmOutput,
{
    let mut span = span;
    if span.is_recording() {
        span.set_attribute(KeyValue::new(genai::REQUEST_STREAM, true));
    }
    let mut stream = instrument_stream(stream, span);
    stream.read_usage = Some(|item| (item.usage(), item.response_model().map(str::to_owned)));
    stream.read_reasons = Some(|item, reasons| {
        for reason in item.finish_reasons() {
            if reasons.len() < MAX_FINISH_REASONS {
                reasons.push(reason.to_owned());
            }
        }
    });
    stream
}

/// Like [`instrument_llm_stream`], also concatenating the items' text into
/// `gen_ai.output.messages` when `content` captures (`#[llm_call(..., capture)]` on a stream).
#[inline]
pub fn instrument_llm_stream_captured<S>(
    stream: S,
    span: Span,
    content: Content,
) -> InstrumentedStream<S>
where
    S: Stream,
    S::Item: LlmOutput,
{
    let mut stream = instrument_llm_stream(stream, span);
    if content.mode.captures() {
        stream.capture = Some(Box::new(StreamCapture {
            content,
            read: |item, text| text.push(item),
            text: StreamText::default(),
        }));
    }
    stream
}

/// What the `stream` option (and a `Pin<Box<dyn Stream>>` return type) accepts: a boxed
/// stream, which the instrumented stream is boxed again into.
#[diagnostic::on_unimplemented(
    message = "`stream` needs the function to return a boxed stream, not `{Self}`",
    label = "not a `Pin<Box<dyn Stream<Item = T> + Send + 'a>>`",
    note = "return `Pin<Box<dyn Stream<Item = T> + Send + 'a>>` (`BoxStream<'a, T>`) or \
            `Pin<Box<dyn Stream<Item = T> + 'a>>` (`LocalBoxStream<'a, T>`), or remove `stream` \
            (an `impl Stream` return type needs no option)"
)]
pub trait BoxedStream: Stream + Sized {
    /// Boxes the instrumented stream as `Self` (an unsized coercion).
    fn rebox(stream: InstrumentedStream<Self>) -> Self;
}

impl<'a, T: 'a> BoxedStream for Pin<Box<dyn Stream<Item = T> + Send + 'a>> {
    #[inline]
    fn rebox(stream: InstrumentedStream<Self>) -> Self {
        Box::pin(stream)
    }
}

impl<'a, T: 'a> BoxedStream for Pin<Box<dyn Stream<Item = T> + Send + Sync + 'a>> {
    #[inline]
    fn rebox(stream: InstrumentedStream<Self>) -> Self {
        Box::pin(stream)
    }
}

impl<'a, T: 'a> BoxedStream for Pin<Box<dyn Stream<Item = T> + 'a>> {
    #[inline]
    fn rebox(stream: InstrumentedStream<Self>) -> Self {
        Box::pin(stream)
    }
}

/// [`instrument_stream`] for a boxed stream, boxed again as the same type.
#[inline]
pub fn instrument_boxed_stream<S: BoxedStream>(stream: S, span: Span) -> S {
    S::rebox(instrument_stream(stream, span))
}

/// [`instrument_llm_stream`] for a boxed stream, boxed again as the same type.
#[inline]
pub fn instrument_llm_boxed_stream<S>(stream: S, span: Span) -> S
where
    S: BoxedStream,
    S::Item: LlmOutput,
{
    S::rebox(instrument_llm_stream(stream, span))
}

/// [`instrument_llm_stream_captured`] for a boxed stream, boxed again as the same type.
#[inline]
pub fn instrument_llm_boxed_stream_captured<S>(stream: S, span: Span, content: Content) -> S
where
    S: BoxedStream,
    S::Item: LlmOutput,
{
    S::rebox(instrument_llm_stream_captured(stream, span, content))
}

impl<S: Stream> Stream for InstrumentedStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let started = *this.started;
        let last_item = this.last_item;
        let items = this.items;
        let read_usage = *this.read_usage;
        let usage = this.usage;
        let response_model = this.response_model;
        let read_reasons = *this.read_reasons;
        let finish_reasons = this.finish_reasons;
        let capture = this.capture;
        this.inner.poll_next_then(cx, |span, item| match item {
            Some(item) => {
                // A model stream's chunk timings, into the built-in metrics (sampled or not).
                if read_usage.is_some() && span.is_metered() {
                    let now = std::time::Instant::now();
                    let since = if *items == 0 { started } else { *last_item };
                    span.meter_chunk(*items == 0, now.duration_since(since).as_secs_f64());
                    *last_item = now;
                }
                if *items == 0 && span.is_recording() {
                    let seconds = started.elapsed().as_secs_f64();
                    span.set_attribute(KeyValue::new(
                        STREAM_TIME_TO_FIRST_ITEM_MS,
                        seconds * 1000.0,
                    ));
                    // A model's stream: the conventions' own name, in seconds.
                    if read_usage.is_some() {
                        span.set_attribute(KeyValue::new(
                            genai::RESPONSE_TIME_TO_FIRST_CHUNK,
                            seconds,
                        ));
                    }
                }
                *items += 1;
                if let Some(read) = read_usage {
                    let (item_usage, model) = read(item);
                    if let Some(u) = item_usage {
                        let total = usage.get_or_insert_with(TokenUsage::default);
                        total.input_tokens = total.input_tokens.saturating_add(u.input_tokens);
                        total.output_tokens = total.output_tokens.saturating_add(u.output_tokens);
                    }
                    if model.is_some() {
                        *response_model = model;
                    }
                }
                if let Some(read) = read_reasons.filter(|_| span.is_recording()) {
                    read(item, finish_reasons);
                }
                if let Some(capture) = capture {
                    (capture.read)(item, &mut capture.text);
                }
            }
            None => {
                finish(
                    span,
                    *items,
                    usage.as_ref(),
                    response_model.take(),
                    std::mem::take(finish_reasons),
                );
                if let Some(capture) = capture.take() {
                    (*capture).finish(span);
                }
            }
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.inner().size_hint()
    }
}

pub(crate) fn finish(
    span: &mut Span,
    items: u64,
    usage: Option<&TokenUsage>,
    model: Option<String>,
    finish_reasons: Vec<String>,
) {
    meter_usage(span, usage, model.as_deref());
    // A stream's items report no cost: the price table prices the summed usage.
    let cost = model_cost(span, None, usage, model.as_deref());
    record_cost(span, cost.as_ref(), model.as_deref());
    if !span.is_recording() {
        return;
    }
    span.set_attribute(KeyValue::new(STREAM_ITEMS, saturating_i64(items)));
    set_usage(span, usage, model);
    set_finish_reasons(span, finish_reasons);
}

/// What a model call cost and where that came from: the client's report (`provider`), else
/// the price table for its response or request model (`local`), else nothing.
pub(crate) fn model_cost(
    span: &Span,
    reported: Option<Cost>,
    usage: Option<&TokenUsage>,
    response_model: Option<&str>,
) -> Option<(Cost, &'static str)> {
    if let Some(cost) = reported {
        return cost.amount.is_finite().then_some((cost, "provider"));
    }
    let usage = usage?;
    let request_model = span
        .metered_request_model()
        .or_else(|| span.request_model_attr());
    prices::cost(
        &[response_model, request_model],
        usage.input_tokens,
        usage.output_tokens,
    )
    .map(|(amount, currency)| (Cost::new(amount, currency), "local"))
}

/// A model call's cost on its span (when it records) and in the cost counter (always).
pub(crate) fn record_cost(
    span: &mut Span,
    cost: Option<&(Cost, &'static str)>,
    response_model: Option<&str>,
) {
    let Some((cost, source)) = cost else {
        return;
    };
    if span.is_metered() {
        span.meter_cost(cost.amount, &cost.currency, source, response_model);
    }
    if span.is_recording() {
        span.set_attribute(KeyValue::new(genai::USAGE_COST_AMOUNT, cost.amount));
        span.set_attribute(KeyValue::new(
            genai::USAGE_COST_CURRENCY,
            cost.currency.to_string(),
        ));
        span.set_attribute(KeyValue::new(genai::USAGE_COST_SOURCE, *source));
    }
}

/// A model call's usage and response model into its built-in metrics, whether its span
/// records or not.
#[inline]
pub(crate) fn meter_usage(span: &mut Span, usage: Option<&TokenUsage>, model: Option<&str>) {
    if !span.is_metered() {
        return;
    }
    if let Some(model) = model {
        span.meter_response_model(model);
    }
    if let Some(u) = usage {
        span.meter_tokens(model, Some(u.input_tokens), Some(u.output_tokens));
    }
}

/// `gen_ai.usage.*` and `gen_ai.response.model`, from a call's return value or summed over a
/// stream's items.
pub(crate) fn set_usage(span: &mut Span, usage: Option<&TokenUsage>, model: Option<String>) {
    if let Some(usage) = usage {
        span.set_attribute(KeyValue::new(
            genai::USAGE_INPUT_TOKENS,
            saturating_i64(usage.input_tokens),
        ));
        span.set_attribute(KeyValue::new(
            genai::USAGE_OUTPUT_TOKENS,
            saturating_i64(usage.output_tokens),
        ));
    }
    if let Some(model) = model {
        span.set_attribute(KeyValue::new(genai::RESPONSE_MODEL, model));
    }
}

/// `gen_ai.response.finish_reasons`, when the call reported any.
pub(crate) fn set_finish_reasons(span: &mut Span, reasons: Vec<String>) {
    if reasons.is_empty() {
        return;
    }
    let reasons = reasons.into_iter().map(StringValue::from).collect();
    span.set_attribute(KeyValue::new(
        genai::RESPONSE_FINISH_REASONS,
        Value::Array(Array::String(reasons)),
    ));
}

#[pinned_drop]
impl<S: Stream> PinnedDrop for InstrumentedStream<S> {
    fn drop(self: Pin<&mut Self>) {
        let this = self.project();
        let items = *this.items;
        let usage = *this.usage;
        let model = this.response_model.take();
        let reasons = std::mem::take(this.finish_reasons);
        let capture = this.capture.take();
        let span = this.inner.span_pin_mut();
        // Dropped before the end: still say how far it got (`Instrumented` then marks the span
        // cancelled and ends it).
        if !span.is_ended() {
            finish(span, items, usage.as_ref(), model, reasons);
            if let Some(capture) = capture {
                (*capture).finish(span);
            }
        }
    }
}

pub(crate) fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
