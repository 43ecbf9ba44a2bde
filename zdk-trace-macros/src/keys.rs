//! Option names the macros accept and the attribute names they write (serde_derive's
//! `symbol.rs`). GenAI names follow the OpenTelemetry GenAI semantic conventions v1.37.0,
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

// Attribute names (GenAI semantic conventions v1.37.0, plus zdk-trace's workflow names).
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

/// Keys a usage event may carry: the same list as `zdk_trace_runtime::usage::ALLOWED_KEYS`
/// (`tests/tests/macros_usage_event.rs` compares the two, and the UI pass case
/// `usage-event-every-key.rs` uses each).
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
