//! Attribute macros for zdk-trace.
//!
//! Applications do not depend on this crate directly: `zdk-trace-runtime` re-exports every macro,
//! and the code they expand to reaches the runtime through its hidden `__private` module, whose
//! version is pinned exactly to this crate's.
//!
//! Every macro works on a sync `fn`, an `async fn`, a `fn` returning `impl Future` or a boxed
//! future (`Pin<Box<dyn Future<..> + ..>>`, so methods of `#[async_trait]` impls too), and a
//! `fn` returning `impl Stream` or a boxed stream (`Pin<Box<dyn Stream<..> + ..>>`,
//! `BoxStream`, `LocalBoxStream`, or any alias of them marked with `stream`: the span lasts
//! until the stream ends or is dropped, with the item count and time to first item recorded;
//! not with `err`), including methods and generic functions, without changing the signature
//! or the `Send`-ness of the returned future. A panic is recorded on the span (`error.type = "panic"`), which then ends, and the
//! panic goes on. Each accepts:
//!
//! | option | meaning |
//! |---|---|
//! | `fields(key = expr, ...)` | extra attributes; nothing about the arguments is recorded unless listed here. Values go through `KeyValue::new(key, expr)` and are computed only when the span records. Keys that look like personal data or secrets (`email`, `token`, `api_key`, …, on normalized segments) are rejected at compile time |
//! | `allow_pii(key, ...)` | the escape hatch: `fields` keys that look like personal data but are recorded on purpose (explicit and greppable); a listed key must be in `fields` and must need it |
//! | `err` | the function returns `Result<T, E>` with `E: Display`; an `Err` sets status error, `error.type` (from `E`'s `zdk_trace_runtime::ErrorType` impl, else the short type name of `E`; in a generic fn only a written `E: ErrorType` bound is seen) and an `exception` event with the message |
//! | `stream` | the function returns a boxed stream whose type does not show it (an alias such as `BoxStream` from another crate or your own); the returned stream is instrumented as an `impl Stream` is, and boxed again. Not on an `async fn` |
//! | `crate = path` | where the runtime is, when it is re-exported (default `::zdk_trace_runtime`) |
//!
//! The pipeline: `args` parses the attribute, `check` and `privacy` validate it (reporting
//! every error at once, with the function emitted unchanged), `expand` writes the code for the
//! function's shape.
#![warn(missing_docs, unreachable_pub)]

mod args;
mod check;
mod ctxt;
mod expand;
mod item;
mod keys;
mod privacy;

use proc_macro::TokenStream;

use args::MacroKind;

/// A plain span around a function: `runner.run`, `session.get_or_create`, …
///
/// | option | default | |
/// |---|---|---|
/// | `name = "..."` | the function's name | the span's name |
/// | `kind = internal \| server \| client \| producer \| consumer` | `internal` | the span kind |
/// | `fields(...)`, `err`, `stream`, `crate = ...` | | see the crate docs |
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::span;
///
/// #[span(name = "runner.run", kind = server, fields(turn = 3_i64), err)]
/// async fn run(input: &str) -> Result<String, std::io::Error> {
///     Ok(input.to_uppercase())
/// }
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(run("hi")).ok().as_deref(), Some("HI"));
/// ```
///
/// What it expands to, roughly:
///
/// ```text
/// async fn run(input: &str) -> Result<String, std::io::Error> {
///     let mut __zdk_span = Span::start_with_kind("runner.run", SpanKind::Server);
///     if __zdk_span.is_recording() { __zdk_span.set_attribute(KeyValue::new("turn", 3_i64)); }
///     in_span(async move { Ok(..) }, &mut __zdk_span,
///             |span, ret| record_err(span, ret, /* ErrorType or type name */)).await
/// }
/// ```
///
/// A rejected attribute:
///
/// ```compile_fail
/// #[zdk_trace_runtime::span(kind = sever)]
/// fn step() {}
/// ```
#[proc_macro_attribute]
pub fn span(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(MacroKind::Span, attr.into(), item.into()).into()
}

/// An agent invocation: span `invoke_agent {name}` with `gen_ai.operation.name =
/// "invoke_agent"`, `gen_ai.agent.name`, and, when given, `gen_ai.agent.id` and
/// `gen_ai.conversation.id`.
///
/// | option | default | |
/// |---|---|---|
/// | `name = "..."` | the function's name | `gen_ai.agent.name` |
/// | `id = expr` | | `gen_ai.agent.id` (any `Display`) |
/// | `conversation = expr` | | `gen_ai.conversation.id` (any `Display`) |
/// | `fields(...)`, `err`, `stream`, `crate = ...` | | see the crate docs |
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::agent_span;
///
/// struct Agent { id: u64 }
///
/// impl Agent {
///     #[agent_span(name = "support", id = self.id, conversation = session)]
///     fn answer(&self, session: &str, question: &str) -> String {
///         format!("{session}: {question}?")
///     }
/// }
/// assert_eq!(Agent { id: 7 }.answer("s-1", "why"), "s-1: why?");
/// ```
///
/// Expands to `let __zdk_span = Span::start("invoke_agent support")`, the attributes set
/// when the span records, `__private::enter(__zdk_span)` (a guard that records a panic and
/// ends the span), then the body.
///
/// ```compile_fail
/// #[zdk_trace_runtime::agent_span(name = "support", model = "gpt-4o")]
/// fn answer() {}
/// ```
#[proc_macro_attribute]
pub fn agent_span(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(MacroKind::AgentSpan, attr.into(), item.into()).into()
}

/// A tool execution: span `execute_tool {name}` with `gen_ai.operation.name =
/// "execute_tool"`, `gen_ai.tool.name`, `gen_ai.tool.type = "function"` and, when given,
/// `gen_ai.tool.call.id`.
///
/// | option | default | |
/// |---|---|---|
/// | `name = "..."` | the function's name | `gen_ai.tool.name` |
/// | `call_id = expr` | | `gen_ai.tool.call.id` (any `Display`) |
/// | `fields(...)`, `err`, `stream`, `crate = ...` | | see the crate docs |
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::tool_call;
///
/// #[tool_call(name = "get_weather", call_id = call_id, err)]
/// fn get_weather(call_id: &str, city: &str) -> Result<String, String> {
///     if city.is_empty() { return Err("no city".into()); }
///     Ok(format!("sunny in {city}"))
/// }
/// assert!(get_weather("call-1", "").is_err());
/// ```
///
/// With `err` on a sync function the body runs in a closure called once, so that `return`
/// and `?` are seen: `let __zdk_ret: R = call_once(move || -> R { body });`, then
/// `record_err(span, &__zdk_ret)`.
///
/// ```compile_fail
/// #[zdk_trace_runtime::tool_call(name = "lookup", fields(user.email = "a@b.c"))]
/// fn lookup() {}
/// ```
#[proc_macro_attribute]
pub fn tool_call(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(MacroKind::ToolCall, attr.into(), item.into()).into()
}

/// A multi-agent workflow: span `invoke_workflow {name}` with `gen_ai.operation.name =
/// "invoke_workflow"`, `gen_ai.workflow.name` and `workflow.type` (zdk-trace extensions to the
/// GenAI conventions).
///
/// | option | default | |
/// |---|---|---|
/// | `name = "..."` | the function's name | `gen_ai.workflow.name` |
/// | `kind = "sequential" \| "parallel" \| "loop"` | | `workflow.type` |
/// | `fields(...)`, `err`, `stream`, `crate = ...` | | see the crate docs |
///
/// With `kind = "loop"` on a sync or `async fn`, every iteration of the function's outermost
/// `loop`, `while` and `for` is recorded: a span event `workflow.iteration` with
/// `workflow.iteration.number` (from 1), timestamped when the iteration starts (the first 64
/// iterations get one), and `workflow.iterations`, the total, on the span. They are added
/// before the span ends however it ends: return, `?`, panic or, for an `async fn`, drop. An
/// iteration that ends in `continue` counts; a nested loop is part of its outer iteration; loops
/// inside closures, `async` blocks, nested items and macro calls (`select!`) are not counted,
/// nor are those of a function returning a future or a stream (they run after it returns).
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::workflow;
///
/// #[workflow(kind = "sequential", name = "triage")]
/// fn triage(steps: u32) -> u32 {
///     steps * 2
/// }
/// assert_eq!(triage(2), 4);
///
/// // One `workflow.iteration` event per round, and `workflow.iterations = 3`.
/// #[workflow(kind = "loop", name = "refine")]
/// async fn refine(mut draft: String) -> String {
///     for _round in 0..3 {
///         draft.push('!');
///     }
///     draft
/// }
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(refine("hi".into())), "hi!!!");
/// ```
///
/// ```compile_fail
/// #[zdk_trace_runtime::workflow(kind = "round_robin")]
/// fn triage() {}
/// ```
#[proc_macro_attribute]
pub fn workflow(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(MacroKind::Workflow, attr.into(), item.into()).into()
}

/// A model call: span `{operation} {model}`, kind `CLIENT`, with `gen_ai.operation.name`,
/// `gen_ai.provider.name`, `gen_ai.request.model`, and, read from the return value after the
/// call, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` and
/// `gen_ai.response.model`.
///
/// **The return type must implement `zdk_trace_runtime::genai::LlmOutput`** (it is implemented
/// for `Result<T, E>` where `T` implements it).
///
/// | option | default | |
/// |---|---|---|
/// | `provider = "..."` | required | `gen_ai.provider.name` |
/// | `model = "..."` or `model = expr` | required | `gen_ai.request.model`; an expression (any `Display`) names the span at run time, only when it records |
/// | `operation = "..."` | `"chat"` | `gen_ai.operation.name` |
/// | `fields(...)`, `err`, `stream`, `crate = ...` | | see the crate docs |
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
/// use zdk_trace_runtime::llm_call;
///
/// struct Reply { text: String, tokens_in: u64, tokens_out: u64 }
///
/// impl LlmOutput for Reply {
///     fn usage(&self) -> Option<TokenUsage> {
///         Some(TokenUsage::new(self.tokens_in, self.tokens_out))
///     }
/// }
///
/// #[llm_call(provider = "openai", model = model, fields(gen_ai.request.temperature = 0.2))]
/// fn complete(model: &str, prompt: &str) -> Reply {
///     Reply { text: prompt.to_owned(), tokens_in: 3, tokens_out: 1 }
/// }
/// assert_eq!(complete("gpt-4o", "hi").text, "hi");
/// ```
///
/// After the call: `record_llm_output(span, &ret)` (usage and response model).
///
/// ```compile_fail
/// #[zdk_trace_runtime::llm_call(model = "gpt-4o")] // no provider
/// fn complete() -> u32 { 0 }
/// ```
#[proc_macro_attribute]
pub fn llm_call(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(MacroKind::LlmCall, attr.into(), item.into()).into()
}
