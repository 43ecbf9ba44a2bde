//! Option names the macros accept and the attribute names they write (serde_derive's
//! `symbol.rs`). GenAI names follow the OpenTelemetry GenAI semantic conventions v1.41.0,
//! the same as `zdk_trace_runtime::genai`.

// Options.
pub(crate) const NAME: &str = "name";
pub(crate) const KIND: &str = "kind";
pub(crate) const FIELDS: &str = "fields";
pub(crate) const ALLOW_PII: &str = "allow_pii";
pub(crate) const ERR: &str = "err";
pub(crate) const CRATE: &str = "crate";
pub(crate) const ID: &str = "id";
pub(crate) const CONVERSATION: &str = "conversation";
pub(crate) const CALL_ID: &str = "call_id";
pub(crate) const PROVIDER: &str = "provider";
pub(crate) const MODEL: &str = "model";
pub(crate) const OPERATION: &str = "operation";
pub(crate) const KEYS: &str = "keys";
pub(crate) const CAPTURE: &str = "capture";
pub(crate) const TEMPERATURE: &str = "temperature";
pub(crate) const MAX_TOKENS: &str = "max_tokens";
pub(crate) const TOP_P: &str = "top_p";
pub(crate) const TOP_K: &str = "top_k";
pub(crate) const FREQUENCY_PENALTY: &str = "frequency_penalty";
pub(crate) const PRESENCE_PENALTY: &str = "presence_penalty";
pub(crate) const STOP_SEQUENCES: &str = "stop_sequences";
pub(crate) const SEED: &str = "seed";
pub(crate) const CHOICE_COUNT: &str = "choice_count";
/// Turns the built-in metrics of a GenAI macro's call off.
pub(crate) const NO_METRICS: &str = "no_metrics";
pub(crate) const PROFILE: &str = "profile";

// Keys inside `capture(...)`.
pub(crate) const CAPTURE_INPUT: &str = "input";
pub(crate) const CAPTURE_ARGUMENTS: &str = "arguments";

/// How a request parameter's value is recorded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamType {
    /// `f64` (the conventions' `double`).
    Float,
    /// `i64` (the conventions' `int`).
    Int,
    /// A string array.
    Strings,
}

/// `#[llm_call]` request parameters: option, attribute (GenAI semconv v1.41.0), type. `top_k`
/// is a `double` in the conventions.
pub(crate) const REQUEST_PARAMS: &[(&str, &str, ParamType)] = &[
    (TEMPERATURE, "gen_ai.request.temperature", ParamType::Float),
    (MAX_TOKENS, "gen_ai.request.max_tokens", ParamType::Int),
    (TOP_P, "gen_ai.request.top_p", ParamType::Float),
    (TOP_K, "gen_ai.request.top_k", ParamType::Float),
    (
        FREQUENCY_PENALTY,
        "gen_ai.request.frequency_penalty",
        ParamType::Float,
    ),
    (
        PRESENCE_PENALTY,
        "gen_ai.request.presence_penalty",
        ParamType::Float,
    ),
    (
        STOP_SEQUENCES,
        "gen_ai.request.stop_sequences",
        ParamType::Strings,
    ),
    (SEED, "gen_ai.request.seed", ParamType::Int),
    (CHOICE_COUNT, "gen_ai.request.choice.count", ParamType::Int),
];
pub(crate) const STREAM: &str = "stream";

/// Every option of any macro, to tell "unknown" from "not for this macro".
pub(crate) const ALL_OPTIONS: &[&str] = &[
    NAME,
    KIND,
    FIELDS,
    ALLOW_PII,
    ERR,
    CRATE,
    ID,
    CONVERSATION,
    CALL_ID,
    PROVIDER,
    MODEL,
    OPERATION,
    KEYS,
    CAPTURE,
    TEMPERATURE,
    MAX_TOKENS,
    TOP_P,
    TOP_K,
    FREQUENCY_PENALTY,
    PRESENCE_PENALTY,
    STOP_SEQUENCES,
    SEED,
    CHOICE_COUNT,
    STREAM,
    NO_METRICS,
    PROFILE,
];

// `kind = …` of `#[span]`.
pub(crate) const SPAN_KINDS: &[(&str, &str)] = &[
    ("internal", "Internal"),
    ("server", "Server"),
    ("client", "Client"),
    ("producer", "Producer"),
    ("consumer", "Consumer"),
];

// `kind = "…"` of `#[workflow]`.
pub(crate) const WORKFLOW_KINDS: &[&str] = &["sequential", "parallel", "loop"];

// Attribute names (GenAI semantic conventions v1.41.0, plus zdk-trace's workflow names).
pub(crate) const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
pub(crate) const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
pub(crate) const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
pub(crate) const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
pub(crate) const GEN_AI_AGENT_ID: &str = "gen_ai.agent.id";
pub(crate) const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
pub(crate) const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
pub(crate) const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
pub(crate) const GEN_AI_TOOL_TYPE: &str = "gen_ai.tool.type";
pub(crate) const GEN_AI_WORKFLOW_NAME: &str = "gen_ai.workflow.name";
pub(crate) const WORKFLOW_TYPE: &str = "workflow.type";

// Operation names.
pub(crate) const OP_INVOKE_AGENT: &str = "invoke_agent";
pub(crate) const OP_EXECUTE_TOOL: &str = "execute_tool";
pub(crate) const OP_INVOKE_WORKFLOW: &str = "invoke_workflow";
pub(crate) const OP_CHAT: &str = "chat";

/// Keys a usage event may carry, the only copy of the list: the runtime defines
/// `zdk_trace_runtime::usage::ALLOWED_KEYS` from it through the hidden `__usage_allowed_keys!`
/// (the UI pass case `usage-event-every-key.rs` uses each key).
pub(crate) const USAGE_ALLOWED_KEYS: &[&str] = &[
    "agent.type",
    "agent.framework",
    "framework",
    "framework.name",
    "tool.type",
    "workflow.type",
    "error.type",
    "feature.name",
    "command.name",
    "component",
    "duration_ms",
    "success",
];

/// Usage keys `#[usage_event]` fills in itself.
pub(crate) const USAGE_DURATION_MS: &str = "duration_ms";
pub(crate) const USAGE_SUCCESS: &str = "success";
