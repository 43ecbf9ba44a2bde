//! OpenTelemetry GenAI semantic conventions: attribute names, the [`LlmOutput`] trait through
//! which `#[llm_call]` reads token usage (and, when capturing, the completion) from a model's
//! response, and [`CaptureMode`], the run-time switch for recording message content.
//!
//! The names follow the [GenAI semantic conventions] **v1.41.0** (status: development; the
//! last release before the GenAI conventions moved to their own repository), where
//! `gen_ai.system` is `gen_ai.provider.name`, and the `invoke_workflow` operation,
//! [`WORKFLOW_NAME`], [`TOOL_CALL_ARGUMENTS`], [`TOOL_CALL_RESULT`], [`REQUEST_STREAM`] and
//! [`RESPONSE_TIME_TO_FIRST_CHUNK`] are defined. [`WORKFLOW_TYPE`] and [`CONTENT_TRUNCATED`]
//! are zdk-trace's own names, not part of the conventions.
//!
//! # Message content
//!
//! Prompts, completions and tool arguments and results often hold personal data, so they are
//! recorded only when **both** the function asks for it (`capture` on `#[llm_call]` or
//! `#[tool_call]`) **and** content capture is turned on at run time ([`CaptureMode`], off by
//! default). Otherwise the content is not even computed.
//!
//! Each captured value is cut to [`CONTENT_MAX_BYTES`]; a span whose content was cut carries
//! [`CONTENT_TRUNCATED`] with the number of values cut.
//!
//! [GenAI semantic conventions]: https://opentelemetry.io/docs/specs/semconv/gen-ai/

use std::borrow::Cow;

pub(crate) mod capture;
#[cfg(feature = "async-openai")]
mod openai;
pub(crate) mod prices;
pub(crate) mod request;

/// `gen_ai.operation.name`: `chat`, `invoke_agent`, `execute_tool`, …
pub const OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`: `openai`, `anthropic`, `gcp.gemini`, …
pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.request.model`: the model asked for.
pub const REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.response.model`: the model that answered.
pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.response.finish_reasons` (string array): why the model stopped, one reason per
/// choice it returned ([`LlmOutput::finish_reasons`]).
pub const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.usage.input_tokens`: tokens in the prompt.
pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`: tokens in the completion.
pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.agent.name`: the agent's name.
pub const AGENT_NAME: &str = "gen_ai.agent.name";
/// `gen_ai.agent.id`: the agent's unique id.
pub const AGENT_ID: &str = "gen_ai.agent.id";
/// `gen_ai.conversation.id`: the conversation (session, thread) the call belongs to.
pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
/// `gen_ai.tool.name`: the tool's name.
pub const TOOL_NAME: &str = "gen_ai.tool.name";
/// `gen_ai.tool.call.id`: the id of the model's tool call.
pub const TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
/// `gen_ai.tool.type`: `function`, `extension` or `datastore`.
pub const TOOL_TYPE: &str = "gen_ai.tool.type";
/// `gen_ai.workflow.name`: the workflow's name.
pub const WORKFLOW_NAME: &str = "gen_ai.workflow.name";
/// `workflow.type` (zdk-trace extension): `sequential`, `parallel` or `loop`.
pub const WORKFLOW_TYPE: &str = "workflow.type";
/// `gen_ai.request.stream`: `true` on an `#[llm_call]` that returns a stream.
pub const REQUEST_STREAM: &str = "gen_ai.request.stream";
/// `gen_ai.response.time_to_first_chunk`: seconds from the call to the first item of an
/// `#[llm_call]` stream.
pub const RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// The cost of a model call (provisional: the open semantic-convention proposal's name).
pub const USAGE_COST_AMOUNT: &str = "gen_ai.usage.cost.amount";
/// The currency of [`USAGE_COST_AMOUNT`] (ISO 4217, e.g. `USD`; provisional).
pub const USAGE_COST_CURRENCY: &str = "gen_ai.usage.cost.currency";
/// Where the cost came from: `provider` (the client reported it) or `local` (computed from
/// the configured price table, `[telemetry.genai.prices]`).
pub const USAGE_COST_SOURCE: &str = "zdk.gen_ai.usage.cost.source";

/// `error.type`: the class of an error (set by `err` on a failed call).
pub const ERROR_TYPE: &str = "error.type";

/// `gen_ai.request.temperature` (double): the temperature asked for.
pub const REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
/// `gen_ai.request.max_tokens` (int): the most tokens the model may generate.
pub const REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
/// `gen_ai.request.top_p` (double): the nucleus sampling setting.
pub const REQUEST_TOP_P: &str = "gen_ai.request.top_p";
/// `gen_ai.request.top_k` (double, as the conventions define it): the top-k sampling setting.
pub const REQUEST_TOP_K: &str = "gen_ai.request.top_k";
/// `gen_ai.request.frequency_penalty` (double).
pub const REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
/// `gen_ai.request.presence_penalty` (double).
pub const REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
/// `gen_ai.request.stop_sequences` (string array): where the model stops generating.
pub const REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
/// `gen_ai.request.seed` (int): the seed asked for.
pub const REQUEST_SEED: &str = "gen_ai.request.seed";
/// `gen_ai.request.choice.count` (int): how many candidate completions were asked for.
pub const REQUEST_CHOICE_COUNT: &str = "gen_ai.request.choice.count";

/// `gen_ai.input.messages` (JSON): the messages sent to the model, in the conventions'
/// [input messages schema]: `[{"role":"user","parts":[{"type":"text","content":"..."}]}]`.
/// Recorded only when capturing content.
///
/// [input messages schema]: https://github.com/open-telemetry/semantic-conventions/blob/v1.41.0/docs/gen-ai/gen-ai-input-messages.json
pub const INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.output.messages` (JSON): the model's answer, in the conventions' [output messages
/// schema]: `[{"role":"assistant","parts":[{"type":"text","content":"..."}],
/// "finish_reason":"stop"}]`. Recorded only when capturing content.
///
/// [output messages schema]: https://github.com/open-telemetry/semantic-conventions/blob/v1.41.0/docs/gen-ai/gen-ai-output-messages.json
pub const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// `gen_ai.tool.call.arguments` (semantic conventions v1.41.0): what the tool was called with,
/// as JSON (a string argument as-is). Recorded only when capturing content.
pub const TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
/// `gen_ai.tool.call.result` (semantic conventions v1.41.0): what the tool returned (the `Ok`
/// value of a `Result`), as JSON (a string as-is). Recorded only when capturing content.
pub const TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
/// The event that carries captured content in [`CaptureMode::EventOnly`] and
/// [`CaptureMode::SpanAndEvent`]: `gen_ai.client.inference.operation.details` (for tool calls
/// too, as the conventions define no tool event).
pub const INFERENCE_DETAILS_EVENT: &str = "gen_ai.client.inference.operation.details";
/// `resource.busy.micros`: a measured span's busy time (wall time while polled or entered,
/// summed over its polls), in microseconds ([`Span::measure_resources`](crate::Span::measure_resources)).
pub const RESOURCE_BUSY_MICROS: &str = "resource.busy.micros";
/// `resource.cpu.micros`: a measured span's thread CPU time, in microseconds.
pub const RESOURCE_CPU_MICROS: &str = "resource.cpu.micros";
/// `resource.memory.bytes`: bytes allocated while a measured span ran (with a
/// [`CountingAllocator`](crate::CountingAllocator)).
pub const RESOURCE_MEMORY_BYTES: &str = "resource.memory.bytes";
/// `resource.memory.allocations`: allocations made while a measured span ran.
pub const RESOURCE_MEMORY_ALLOCATIONS: &str = "resource.memory.allocations";
/// `resource.memory.peak`: the peak of the live bytes a measured span added (allocated minus
/// freed while it ran).
pub const RESOURCE_MEMORY_PEAK: &str = "resource.memory.peak";
/// `pyroscope.profile.id`: set on a local root span that overlapped a CPU profile, to its
/// own span id (Grafana's span-profiles convention), so a backend can open the profile.
pub const PYROSCOPE_PROFILE_ID: &str = "pyroscope.profile.id";
/// `zdk.gen_ai.content.truncated` (zdk-trace extension, int): how many captured values of this
/// span were cut to [`CONTENT_MAX_BYTES`]. Absent when none was.
pub const CONTENT_TRUNCATED: &str = "zdk.gen_ai.content.truncated";
/// The most bytes of one captured text: a prompt, a completion, tool arguments or a result.
/// Longer text is cut at a character boundary and counted in [`CONTENT_TRUNCATED`], so one
/// huge prompt cannot fill the export queue. 8 KiB holds a few pages of text; a value that
/// serializes to more JSON than this is cut too, and is then no longer valid JSON.
pub const CONTENT_MAX_BYTES: usize = 8 * 1024;

/// Whether, and where, message content (prompts, completions, tool arguments and results) is
/// recorded. Default: [`CaptureMode::NoContent`].
///
/// Content is recorded only by functions that ask for it with `capture`
/// (`#[llm_call(..., capture)]`, `#[tool_call(..., capture)]`); this switch turns it on for
/// all of them at run time. Set it with
/// [`TelemetryBuilder::capture_message_content`](crate::TelemetryBuilder::capture_message_content)
/// or [`Config::with_capture_message_content`](crate::Config::with_capture_message_content)
/// (code), `capture_message_content` in `[telemetry.genai]` of `zdk-trace.toml`, or
/// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (the variable the OpenTelemetry Python
/// GenAI instrumentations read), which win in that order:
///
/// | variable value (any case) | file value | mode |
/// |---|---|---|
/// | `false`, `NO_CONTENT` | `false`, `"no_content"` | [`NoContent`](CaptureMode::NoContent) |
/// | `true`, `SPAN_ONLY` | `true`, `"span_only"` | [`SpanOnly`](CaptureMode::SpanOnly) |
/// | `EVENT_ONLY` | `"event_only"` | [`EventOnly`](CaptureMode::EventOnly) |
/// | `SPAN_AND_EVENT` | `"span_and_event"` | [`SpanAndEvent`](CaptureMode::SpanAndEvent) |
///
/// # Examples
///
/// ```
/// use opentelemetry_sdk::trace::InMemorySpanExporter;
/// use zdk_trace_runtime::genai::{CaptureMode, LlmOutput, TokenUsage};
/// use zdk_trace_runtime::{llm_call, Telemetry};
///
/// struct Reply(String);
///
/// impl LlmOutput for Reply {
///     fn usage(&self) -> Option<TokenUsage> { None }
///     fn output_text(&self) -> Option<&str> { Some(&self.0) }
/// }
///
/// #[llm_call(provider = "openai", model = "gpt-4o", capture(input = prompt))]
/// fn complete(prompt: &str) -> Reply {
///     Reply(prompt.to_uppercase())
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let exporter = InMemorySpanExporter::default();
/// let telemetry = Telemetry::builder()
///     .capture_message_content(CaptureMode::SpanOnly)
///     .span_exporter(exporter.clone())
///     # .ignore_env()
///     # .config(zdk_trace_runtime::Config::default())
///     .install()?;
/// complete("hi");
/// telemetry.force_flush()?;
/// let span = &exporter.get_finished_spans()?[0];
/// let output = span.attributes.iter().find(|kv| kv.key.as_str() == "gen_ai.output.messages");
/// assert_eq!(
///     output.map(|kv| kv.value.to_string()).as_deref(),
///     Some(r#"[{"role":"assistant","parts":[{"type":"text","content":"HI"}],"finish_reason":"stop"}]"#)
/// );
/// # telemetry.shutdown()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CaptureMode {
    /// Nothing is recorded (the default).
    #[default]
    NoContent,
    /// Content goes into span attributes ([`INPUT_MESSAGES`], [`OUTPUT_MESSAGES`],
    /// [`TOOL_CALL_ARGUMENTS`], [`TOOL_CALL_RESULT`]).
    SpanOnly,
    /// Content goes into one span event, [`INFERENCE_DETAILS_EVENT`], with the same attribute
    /// names, so a backend can store or drop it apart from the span.
    EventOnly,
    /// Both.
    SpanAndEvent,
}

impl CaptureMode {
    /// Whether anything is recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::genai::CaptureMode;
    /// assert!(!CaptureMode::default().captures());
    /// assert!(CaptureMode::EventOnly.captures());
    /// ```
    pub const fn captures(self) -> bool {
        !matches!(self, CaptureMode::NoContent)
    }

    /// Whether content goes into span attributes.
    pub(crate) const fn on_span(self) -> bool {
        matches!(self, CaptureMode::SpanOnly | CaptureMode::SpanAndEvent)
    }

    /// Whether content goes into the [`INFERENCE_DETAILS_EVENT`] event.
    pub(crate) const fn on_event(self) -> bool {
        matches!(self, CaptureMode::EventOnly | CaptureMode::SpanAndEvent)
    }

    /// The value of `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (any case).
    pub(crate) fn from_env_value(value: &str) -> Option<CaptureMode> {
        const NAMES: &[(&str, CaptureMode)] = &[
            ("false", CaptureMode::NoContent),
            ("true", CaptureMode::SpanOnly),
            ("no_content", CaptureMode::NoContent),
            ("span_only", CaptureMode::SpanOnly),
            ("event_only", CaptureMode::EventOnly),
            ("span_and_event", CaptureMode::SpanAndEvent),
        ];
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(value))
            .map(|(_, mode)| *mode)
    }

    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            CaptureMode::NoContent => 0,
            CaptureMode::SpanOnly => 1,
            CaptureMode::EventOnly => 2,
            CaptureMode::SpanAndEvent => 3,
        }
    }

    pub(crate) const fn from_u8(n: u8) -> CaptureMode {
        match n {
            1 => CaptureMode::SpanOnly,
            2 => CaptureMode::EventOnly,
            3 => CaptureMode::SpanAndEvent,
            _ => CaptureMode::NoContent,
        }
    }
}

/// Token counts of one model call.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::genai::TokenUsage;
/// let usage = TokenUsage::new(120, 30);
/// assert_eq!(usage.input_tokens + usage.output_tokens, 150);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TokenUsage {
    /// Tokens in the prompt (`gen_ai.usage.input_tokens`).
    pub input_tokens: u64,
    /// Tokens in the completion (`gen_ai.usage.output_tokens`).
    pub output_tokens: u64,
}

impl TokenUsage {
    /// Token usage of `input_tokens` prompt tokens and `output_tokens` completion tokens.
    ///
    /// # Examples
    ///
    /// ```
    /// let usage = zdk_trace_runtime::genai::TokenUsage::new(10, 2);
    /// assert_eq!(usage.output_tokens, 2);
    /// ```
    pub const fn new(input_tokens: u64, output_tokens: u64) -> TokenUsage {
        TokenUsage {
            input_tokens,
            output_tokens,
        }
    }
}

/// What a model call cost, when the client reports it ([`LlmOutput::cost`]).
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::genai::Cost;
/// let cost = Cost::usd(0.0042);
/// assert_eq!(cost.currency, "USD");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// The amount, in `currency`.
    pub amount: f64,
    /// An ISO 4217 code, e.g. `USD`.
    pub currency: Cow<'static, str>,
}

impl Cost {
    /// `amount` in `currency`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cost = zdk_trace_runtime::genai::Cost::new(0.01, "EUR");
    /// assert_eq!(cost.amount, 0.01);
    /// ```
    pub fn new(amount: f64, currency: impl Into<Cow<'static, str>>) -> Cost {
        Cost {
            amount,
            currency: currency.into(),
        }
    }

    /// `amount` US dollars.
    ///
    /// # Examples
    ///
    /// ```
    /// let cost = zdk_trace_runtime::genai::Cost::usd(1.5);
    /// assert_eq!(cost.currency, "USD");
    /// ```
    pub fn usd(amount: f64) -> Cost {
        Cost::new(amount, "USD")
    }
}

/// What `#[llm_call]` reads from a model call's return value: token usage, the model that
/// answered and, only when content is captured ([`CaptureMode`]), the completion's text and
/// finish reason. The return type of every `#[llm_call]` function must implement it (for a
/// function returning a stream, the item type: usage is summed and text concatenated over the
/// items).
///
/// Implemented for `Result<T, E>` where `T` implements it (an `Err` has no usage), `&T` and
/// `Box<T>`, and, with the feature `async-openai`, for async-openai 0.43's
/// `CreateChatCompletionResponse`, its stream chunk `CreateChatCompletionStreamResponse`,
/// `CreateEmbeddingResponse` and `CreateBase64EmbeddingResponse` (`docs/llm-clients.md`).
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
///
/// struct Completion { text: String, prompt_tokens: u64, completion_tokens: u64 }
///
/// impl LlmOutput for Completion {
///     fn usage(&self) -> Option<TokenUsage> {
///         Some(TokenUsage::new(self.prompt_tokens, self.completion_tokens))
///     }
///     fn response_model(&self) -> Option<&str> {
///         Some("gpt-4o-2024-08-06")
///     }
/// }
///
/// let ok: Result<Completion, std::io::Error> =
///     Ok(Completion { text: "hi".into(), prompt_tokens: 5, completion_tokens: 1 });
/// assert_eq!(ok.usage(), Some(TokenUsage::new(5, 1)));
/// ```
///
/// Any other client, in five lines. Rust lets a crate implement a trait of another crate only
/// for its own types, so wrap the client's response in a type of yours (here `client::Response`
/// stands for the client crate's type):
///
/// ```
/// # mod client {
/// #     pub struct Response { pub model: String, pub usage: Usage, pub stop_reason: Option<String> }
/// #     pub struct Usage { pub input_tokens: u32, pub output_tokens: u32 }
/// # }
/// use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
///
/// struct Reply(client::Response);
///
/// impl LlmOutput for Reply {
///     fn usage(&self) -> Option<TokenUsage> { Some(TokenUsage::new(self.0.usage.input_tokens.into(), self.0.usage.output_tokens.into())) }
///     fn response_model(&self) -> Option<&str> { Some(&self.0.model) }
///     fn finish_reason(&self) -> Option<&str> { self.0.stop_reason.as_deref() }
/// }
///
/// #[zdk_trace_runtime::llm_call(provider = "anthropic", model = "claude-sonnet-4-5")]
/// fn ask(prompt: &str) -> Reply {
///     // A real application calls its client here.
///     # let _ = prompt;
///     Reply(client::Response {
///         model: "claude-sonnet-4-5-20250929".into(),
///         usage: client::Usage { input_tokens: 12, output_tokens: 40 },
///         stop_reason: Some("end_turn".into()),
///     })
/// }
///
/// let reply = ask("Weekend in Lisbon?");
/// assert_eq!(reply.usage(), Some(TokenUsage::new(12, 40)));
/// assert_eq!(reply.finish_reasons(), ["end_turn"]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[llm_call]` reads token usage from the return value, but `{Self}` does not implement `LlmOutput`",
    label = "the return type of an `#[llm_call]` function",
    note = "implement `zdk_trace_runtime::genai::LlmOutput` for `{Self}` (return `None` from `usage` if the provider reports none)"
)]
pub trait LlmOutput {
    /// The tokens this call used, if known.
    fn usage(&self) -> Option<TokenUsage>;

    /// The model that produced the response (`gen_ai.response.model`), if known.
    fn response_model(&self) -> Option<&str> {
        None
    }

    /// The completion's text, recorded in [`OUTPUT_MESSAGES`] by `#[llm_call(..., capture)]`
    /// when content capture is on. Called only then.
    fn output_text(&self) -> Option<&str> {
        None
    }

    /// Why the model stopped (`stop`, `length`, `content_filter`, `tool_call`, `error`): the
    /// default of [`finish_reasons`](LlmOutput::finish_reasons), and the `finish_reason` of
    /// [`OUTPUT_MESSAGES`] when capturing (`"stop"` is recorded there when this is `None`,
    /// since the schema requires one).
    fn finish_reason(&self) -> Option<&str> {
        None
    }

    /// Why the model stopped, one reason per choice it returned, recorded as
    /// [`RESPONSE_FINISH_REASONS`] when the span records (absent when empty). By default the
    /// one [`finish_reason`](LlmOutput::finish_reason); implement it for a response that can
    /// carry several choices. For a stream, the reasons of all its items are listed in order
    /// (one per choice, since a choice's last chunk carries its reason).
    fn finish_reasons(&self) -> Vec<&str> {
        self.finish_reason().into_iter().collect()
    }

    /// What the call cost, when the client reports it (recorded as
    /// [`USAGE_COST_AMOUNT`]/[`USAGE_COST_CURRENCY`] and summed in the cost counter). When it
    /// is `None`, a price for the model in `[telemetry.genai.prices]` computes it from the
    /// token usage.
    fn cost(&self) -> Option<Cost> {
        None
    }
}

impl<T: LlmOutput, E> LlmOutput for Result<T, E> {
    fn usage(&self) -> Option<TokenUsage> {
        self.as_ref().ok().and_then(LlmOutput::usage)
    }

    fn response_model(&self) -> Option<&str> {
        self.as_ref().ok().and_then(LlmOutput::response_model)
    }

    fn output_text(&self) -> Option<&str> {
        self.as_ref().ok().and_then(LlmOutput::output_text)
    }

    fn finish_reason(&self) -> Option<&str> {
        self.as_ref().ok().and_then(LlmOutput::finish_reason)
    }

    fn finish_reasons(&self) -> Vec<&str> {
        self.as_ref()
            .map(LlmOutput::finish_reasons)
            .unwrap_or_default()
    }

    fn cost(&self) -> Option<Cost> {
        self.as_ref().ok().and_then(LlmOutput::cost)
    }
}

impl<T: LlmOutput + ?Sized> LlmOutput for &T {
    fn usage(&self) -> Option<TokenUsage> {
        (**self).usage()
    }

    fn response_model(&self) -> Option<&str> {
        (**self).response_model()
    }

    fn output_text(&self) -> Option<&str> {
        (**self).output_text()
    }

    fn finish_reason(&self) -> Option<&str> {
        (**self).finish_reason()
    }

    fn finish_reasons(&self) -> Vec<&str> {
        (**self).finish_reasons()
    }

    fn cost(&self) -> Option<Cost> {
        (**self).cost()
    }
}

impl<T: LlmOutput + ?Sized> LlmOutput for Box<T> {
    fn usage(&self) -> Option<TokenUsage> {
        (**self).usage()
    }

    fn response_model(&self) -> Option<&str> {
        (**self).response_model()
    }

    fn output_text(&self) -> Option<&str> {
        (**self).output_text()
    }

    fn finish_reason(&self) -> Option<&str> {
        (**self).finish_reason()
    }

    fn finish_reasons(&self) -> Vec<&str> {
        (**self).finish_reasons()
    }

    fn cost(&self) -> Option<Cost> {
        (**self).cost()
    }
}
