//! OpenTelemetry GenAI semantic conventions: attribute names, and the [`LlmOutput`] trait
//! through which `#[llm_call]` reads token usage from a model's response.
//!
//! The names follow the [GenAI semantic conventions] **v1.37.0** (status: development), where
//! `gen_ai.system` became `gen_ai.provider.name`. [`WORKFLOW_NAME`], [`WORKFLOW_TYPE`] and the
//! `invoke_workflow` operation are zdk-trace's own names for multi-agent workflows, not (yet)
//! part of the conventions.
//!
//! [GenAI semantic conventions]: https://opentelemetry.io/docs/specs/semconv/gen-ai/

/// `gen_ai.operation.name`: `chat`, `invoke_agent`, `execute_tool`, …
pub const OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`: `openai`, `anthropic`, `gcp.gemini`, …
pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.request.model`: the model asked for.
pub const REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.response.model`: the model that answered.
pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
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
/// `gen_ai.workflow.name` (zdk-trace extension): the workflow's name.
pub const WORKFLOW_NAME: &str = "gen_ai.workflow.name";
/// `workflow.type` (zdk-trace extension): `sequential`, `parallel` or `loop`.
pub const WORKFLOW_TYPE: &str = "workflow.type";
/// `error.type`: the class of an error (set by `err` on a failed call).
pub const ERROR_TYPE: &str = "error.type";

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

/// What `#[llm_call]` reads from a model call's return value: token usage and the model that
/// answered. The return type of every `#[llm_call]` function must implement it.
///
/// Implemented for `Result<T, E>` where `T` implements it (an `Err` has no usage).
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
}

impl<T: LlmOutput, E> LlmOutput for Result<T, E> {
    fn usage(&self) -> Option<TokenUsage> {
        self.as_ref().ok().and_then(LlmOutput::usage)
    }

    fn response_model(&self) -> Option<&str> {
        self.as_ref().ok().and_then(LlmOutput::response_model)
    }
}

impl<T: LlmOutput + ?Sized> LlmOutput for &T {
    fn usage(&self) -> Option<TokenUsage> {
        (**self).usage()
    }

    fn response_model(&self) -> Option<&str> {
        (**self).response_model()
    }
}

impl<T: LlmOutput + ?Sized> LlmOutput for Box<T> {
    fn usage(&self) -> Option<TokenUsage> {
        (**self).usage()
    }

    fn response_model(&self) -> Option<&str> {
        (**self).response_model()
    }
}
