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
//! | `fields(key = expr, ...)` | extra attributes; nothing about the arguments is recorded unless listed here. A value may be any integer (`Int`; a `u64`, `u128`, `usize`, `i128` or `isize` outside `i64`'s range is recorded as its exact decimal string), `f32`/`f64` (`Double`), `bool`, `char`, `&str`, `String`, `Cow<str>`, `Arc<str>`, `Box<str>` (`String`), a reference to one, or an `Option` of one (`None`: the attribute is left out); `key = %expr` records its `Display`, `key = ?expr` its `Debug`; any other type is a compile error listing these. `fields(n)`, `fields(%n)`, `fields(?n)` record the binding `n` under its own name. Values are borrowed, not moved, and computed only when the span records. Keys that look like personal data or secrets (`email`, `token`, `api_key`, …, on normalized segments) are rejected at compile time, with or without a sigil |
//! | `allow_pii(key, ...)` | the escape hatch: `fields` keys that look like personal data but are recorded on purpose (explicit and greppable); a listed key must be in `fields` and must need it |
//! | `err` | the function returns `Result<T, E>` with `E: Display`; an `Err` sets status error, `error.type` (from `E`'s `zdk_trace_runtime::ErrorType` impl, else the short type name of `E`; in a generic fn only a written `E: ErrorType` bound is seen) and an `exception` event with the message |
//! | `stream` | the function returns a boxed stream whose type does not show it (an alias such as `BoxStream` from another crate or your own); the returned stream is instrumented as an `impl Stream` is, and boxed again. Not on an `async fn` |
//! | `crate = path` | where the runtime is, when it is re-exported (default `::zdk_trace_runtime`) |
//! | `no_metrics` | (`#[agent_span]`, `#[llm_call]`, `#[tool_call]`, `#[workflow]`) the call records no built-in metrics; the span is unchanged |
//! | `profile`, `profile = "busy"` | (every span macro) the span measures what it uses while it runs, summed over every poll: busy time, thread CPU time (not with `"busy"`) and, with the runtime's `CountingAllocator`, allocations; recorded as `resource.*` attributes. `[telemetry.profiling] span_resources = true` does the same for every macro span |
//!
//! The four GenAI macros also count and time every call into the built-in GenAI metrics,
//! whether its trace is sampled in or out: `gen_ai.client.operation.duration` and
//! `gen_ai.client.token.usage` (`#[llm_call]`), `gen_ai.invoke_agent.duration` and the
//! running-agents gauge (`#[agent_span]`), `gen_ai.execute_tool.duration`,
//! `gen_ai.workflow.duration`, with `error.type` when `err` saw an `Err` (or the call
//! panicked). The attributes known at compile time (operation, names, provider, a literal
//! model) are a `static` of the expansion; see the runtime's `docs/metrics.md`.
//!
//! [`macro@usage_event`] is different: it records no span but sends one anonymous usage event
//! per call, with its own stricter rules (a key allowlist, values that cannot carry user
//! content).
//!
//! `#[llm_call]` and `#[tool_call]` also take `capture`: message content (the prompt and the
//! completion; the tool's arguments and result) is recorded only when `capture` is given
//! **and** content capture is turned on at run time (`zdk_trace_runtime::genai::CaptureMode`,
//! off by default: `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`,
//! `[telemetry.genai] capture_message_content`, or
//! `TelemetryBuilder::capture_message_content`). Otherwise it is not even computed: one
//! relaxed atomic load decides. Any other macro rejects `capture` at compile time.
//!
//! The pipeline: `args` parses the attribute, `check` and `privacy` validate it (reporting
//! every error at once, with the function emitted unchanged), `expand` writes the code for the
//! function's shape.
#![forbid(unsafe_code)]
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
/// #[span(name = "runner.run", kind = server, fields(turn, input.chars = input.len()), err)]
/// async fn run(turn: u32, input: &str) -> Result<String, std::io::Error> {
///     Ok(input.to_uppercase())
/// }
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(run(1, "hi")).ok().as_deref(), Some("HI"));
/// ```
///
/// What it expands to, roughly:
///
/// ```text
/// async fn run(turn: u32, input: &str) -> Result<String, std::io::Error> {
///     let mut __zdk_span = Span::start_with_kind("runner.run", SpanKind::Server);
///     if __zdk_span.is_recording() {
///         // `field_value` takes the types listed in the crate docs; `None` records nothing.
///         if let Some(v) = field_value(&(turn)) { __zdk_span.__set_field("turn", v); }
///         if let Some(v) = field_value(&(input.len())) { /* "input.chars" */ }
///     }
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
///
/// A field value of a type `fields(...)` does not take (record `%expr` or `?expr` instead):
///
/// ```compile_fail
/// #[zdk_trace_runtime::span(fields(body = bytes))]
/// fn upload(bytes: Vec<u8>) {}
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
/// Expands to `__private::start_entered(&mut __zdk_span, "invoke_agent support", ..)` (the
/// span started and made current in one step, and a guard that records a panic and ends it),
/// the attributes set when the span records (their values computed with the span current),
/// then the body.
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
/// | `capture` | off | when content capture is on at run time, `gen_ai.tool.call.result`: the return value (the `Ok` value of a `Result`; nothing for an `Err`) as JSON, a string as-is. The value must implement `serde::Serialize`. Not on a function returning a stream |
/// | `capture(arguments = expr)` | | `capture`, plus `gen_ai.tool.call.arguments`: `expr` (any `serde::Serialize`; a string as-is), evaluated before the body runs and only when capturing |
/// | `fields(...)`, `err`, `stream`, `crate = ...` | | see the crate docs |
///
/// Captured values are cut to `genai::CONTENT_MAX_BYTES` (8 KiB) each; see
/// `zdk_trace_runtime::genai` for where they go in each `CaptureMode`.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::tool_call;
///
/// #[tool_call(name = "get_weather", call_id = call_id, capture(arguments = city), err)]
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
/// "invoke_workflow"`, `gen_ai.workflow.name` (GenAI conventions v1.41.0) and `workflow.type`
/// (a zdk-trace extension).
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
/// call, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, `gen_ai.response.model`
/// and `gen_ai.response.finish_reasons`.
///
/// **The return type must implement `zdk_trace_runtime::genai::LlmOutput`** (it is implemented
/// for `Result<T, E>` where `T` implements it, and with the runtime's `async-openai` feature
/// for async-openai's chat completion and embedding responses and stream chunks).
///
/// | option | default | |
/// |---|---|---|
/// | `provider = "..."` | required | `gen_ai.provider.name` |
/// | `model = "..."` or `model = expr` | required | `gen_ai.request.model`; an expression (any `Display`) names the span at run time, only when it records |
/// | `operation = "..."` | `"chat"` | `gen_ai.operation.name` |
/// | `temperature = expr` | | `gen_ai.request.temperature` (double) |
/// | `max_tokens = expr` | | `gen_ai.request.max_tokens` (int) |
/// | `top_p = expr` | | `gen_ai.request.top_p` (double) |
/// | `top_k = expr` | | `gen_ai.request.top_k` (double, as the conventions define it) |
/// | `frequency_penalty = expr` | | `gen_ai.request.frequency_penalty` (double) |
/// | `presence_penalty = expr` | | `gen_ai.request.presence_penalty` (double) |
/// | `stop_sequences = expr` | | `gen_ai.request.stop_sequences` (string array, from a slice, array or `Vec` of strings) |
/// | `seed = expr` | | `gen_ai.request.seed` (int) |
/// | `choice_count = expr` | | `gen_ai.request.choice.count` (int) |
/// | `capture` | off | when content capture is on at run time, `gen_ai.output.messages`: the return value's `LlmOutput::output_text` (for a stream, the items' text concatenated) and `finish_reason` (`"stop"` when `None`) |
/// | `capture(input = expr)` | | `capture`, plus `gen_ai.input.messages`: a string becomes one user message; any other `serde::Serialize` value is recorded as the messages (the conventions' `[{"role": .., "parts": [..]}]`). Evaluated before the body runs, only when capturing |
/// | `fields(...)`, `err`, `stream`, `crate = ...` | | see the crate docs |
///
/// Request parameters are computed only when the span records. Doubles take any float or
/// integer type, ints any integer type (saturated to `i64`), and each an `Option` of one
/// (`None` records nothing); another type is a compile error at the value.
///
/// Captured content follows the conventions' JSON schemas: `gen_ai.input.messages` =
/// `[{"role":"user","parts":[{"type":"text","content":"..."}]}]`, `gen_ai.output.messages` =
/// `[{"role":"assistant","parts":[{"type":"text","content":"..."}],"finish_reason":"stop"}]`,
/// each text cut to 8 KiB.
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
/// #[llm_call(provider = "openai", model = model, temperature = 0.2, max_tokens = 256)]
/// fn complete(model: &str, prompt: &str) -> Reply {
///     Reply { text: prompt.to_owned(), tokens_in: 3, tokens_out: 1 }
/// }
/// assert_eq!(complete("gpt-4o", "hi").text, "hi");
/// ```
///
/// Capturing the prompt and the completion (recorded only when content capture is on):
///
/// ```
/// use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
/// use zdk_trace_runtime::llm_call;
///
/// struct Reply { text: String }
///
/// impl LlmOutput for Reply {
///     fn usage(&self) -> Option<TokenUsage> { None }
///     fn output_text(&self) -> Option<&str> { Some(&self.text) }
/// }
///
/// #[llm_call(provider = "openai", model = "gpt-4o", capture(input = prompt))]
/// fn complete(prompt: &str) -> Reply {
///     Reply { text: prompt.to_uppercase() }
/// }
/// assert_eq!(complete("hi").text, "HI");
/// ```
///
/// After the call: `record_llm_output(span, &ret)` (usage, response model, finish reasons), and with
/// `capture`, `record_llm_content(span, &ret, content)`.
///
/// ```compile_fail
/// #[zdk_trace_runtime::llm_call(model = "gpt-4o")] // no provider
/// fn complete() -> u32 { 0 }
/// ```
#[proc_macro_attribute]
pub fn llm_call(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(MacroKind::LlmCall, attr.into(), item.into()).into()
}

/// One anonymous usage event per call: sent to the anonymous usage layer (never the trace
/// pipeline; see `zdk_trace_runtime::usage` for when it runs and what leaves the machine)
/// with the given fields plus `duration_ms` (wall time of the call, `f64`) and `success`
/// (`false` when the function returns `Err`, panics, or, for a future or stream, is dropped
/// before completing; `true` otherwise). Works on every shape the span macros do, without
/// changing the signature or `Send`-ness, and stacks with them
/// (`#[agent_span(...)] #[usage_event(...)]`).
///
/// | option | default | |
/// |---|---|---|
/// | `name = "..."` | required | the event's name (`agent.run`); written out, so renaming the function does not rename the event |
/// | `fields(key = value, ...)` | | keys from the usage allowlist (`zdk_trace_runtime::usage::ALLOWED_KEYS`: `agent.type`, `agent.framework`, `framework`, `framework.name`, `tool.type`, `workflow.type`, `error.type`, `feature.name`, `command.name`, `component`), or from `keys` |
/// | `keys = path` | | the application's extra keys, a `const` declared with `zdk_trace_runtime::usage_keys!`; a key in `fields` that is neither built in nor in this list does not compile |
/// | `crate = path` | `::zdk_trace_runtime` | where the runtime is, when re-exported |
///
/// Checked at compile time:
///
/// - a key not on the allowlist is an error on the key, naming the closest allowed key;
///   `duration_ms` and `success` are filled in and may not be given;
/// - a value must be unable to carry user content: `bool`, an integer, a float, a string
///   *literal* written in the attribute, a type implementing
///   `zdk_trace_runtime::usage::UsageLabel` (a fixed `&'static str` per value, for enums), or
///   an `Option` of those (`None` leaves the key out). A `String`, a `&str` variable or
///   `format!(..)` is an error saying why.
///
/// **Extending the allowlist.** Declare the application's keys once, name the list in the
/// attribute, and give the same list to the runtime so its sanitizer keeps them:
///
/// ```
/// use zdk_trace_runtime::usage::UsageOptions;
/// use zdk_trace_runtime::{usage_event, usage_keys, Telemetry};
///
/// usage_keys!(pub APP_USAGE_KEYS = ["plugin.name", "model.family"]);
///
/// #[usage_event(name = "plugin.load", keys = APP_USAGE_KEYS, fields(plugin.name = "pdf"))]
/// fn load_plugin() {}
///
/// // At start-up, with the rest of the usage configuration:
/// let builder = Telemetry::builder().usage(UsageOptions::new().allowlist(APP_USAGE_KEYS));
/// # drop(builder);
/// load_plugin();
/// ```
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::usage::UsageLabel;
/// use zdk_trace_runtime::usage_event;
///
/// #[derive(Clone, Copy)]
/// enum AgentType { React, Planner }
///
/// impl UsageLabel for AgentType {
///     fn label(&self) -> &'static str {
///         match self { AgentType::React => "react", AgentType::Planner => "planner" }
///     }
/// }
///
/// #[usage_event(name = "agent.run", fields(agent.type = kind, framework = "zdk"))]
/// async fn run(kind: AgentType, question: &str) -> Result<String, std::io::Error> {
///     Ok(question.to_uppercase())
/// }
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # assert_eq!(rt.block_on(run(AgentType::React, "hi")).ok().as_deref(), Some("HI"));
/// # let _ = AgentType::Planner;
/// ```
///
/// What it expands to, roughly (a sync function):
///
/// ```text
/// fn run(kind: AgentType) -> Result<String, Error> {
///     let __zdk_usage = if usage_enabled() {          // one atomic load: is the layer on?
///         UsageCall::start("agent.run", [("agent.type", usage_value(&(kind))),
///                                        ("framework", usage_str("zdk"))])
///     } else {
///         UsageCall::off()                             // builds nothing
///     };
///     let __zdk_ret: Result<..> = call_once(move || -> Result<..> { body });
///     __zdk_usage.finish(/* __zdk_ret.is_ok() for a Result, else true */);
///     __zdk_ret
/// }
/// ```
///
/// `UsageCall` sends `success = false` if dropped unfinished (a panic unwinding, a future
/// or stream dropped early); futures and streams are wrapped in `UsageFuture` and
/// `UsageStream`, which finish the call on completion. Application keys add, in the body,
/// `const _: () = if !APP_USAGE_KEYS.contains("plugin.name") { panic!(...) };`.
///
/// A value that could carry user content is rejected:
///
/// ```compile_fail
/// #[zdk_trace_runtime::usage_event(name = "agent.run", fields(agent.type = agent_name))]
/// fn run(agent_name: &str) {}
/// ```
///
/// So is a key not on the allowlist:
///
/// ```compile_fail
/// #[zdk_trace_runtime::usage_event(name = "agent.run", fields(agent.typ = "react"))]
/// fn run() {}
/// ```
#[proc_macro_attribute]
pub fn usage_event(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::entry(MacroKind::UsageEvent, attr.into(), item.into()).into()
}

/// The built-in usage key allowlist as a `&[&str]` expression: how
/// `zdk_trace_runtime::usage::ALLOWED_KEYS` is defined, so that the keys [`macro@usage_event`]
/// accepts at compile time and the keys the runtime accepts at run time are one list. Support
/// for the runtime, not part of the API.
#[doc(hidden)]
#[proc_macro]
pub fn __usage_allowed_keys(input: TokenStream) -> TokenStream {
    expand::usage_allowed_keys(&input.into()).into()
}
