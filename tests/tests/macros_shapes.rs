//! The attribute macros on every supported function shape: sync, `async fn`, `impl Future`,
//! methods, generic functions with `where` clauses, `Result` with `?` and `err`, nesting, and a
//! multi-threaded runtime. Exported spans are asserted through the in-memory exporter.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use std::fmt;
use std::future::Future;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
use zdk_trace_runtime::{agent_span, llm_call, span, tool_call, workflow};
use zdk_trace_tests::harness::{assert_child_of, assert_root, attr, one, Harness};

fn s(v: &str) -> Option<Value> {
    Some(Value::from(v.to_owned()))
}

#[span]
fn plain_sync(x: u32) -> u32 {
    x + 1
}

#[span(name = "runner.run", kind = server, fields(turn = 3_i64, mode = "fast"))]
fn runner_run() -> &'static str {
    "done"
}

#[test]
fn span_on_sync_fn_defaults_to_fn_name_and_internal_kind() {
    let h = Harness::install(|b| b);
    assert_eq!(plain_sync(1), 2);
    assert_eq!(runner_run(), "done");
    let spans = h.spans();
    let plain = one(&spans, "plain_sync");
    assert_eq!(plain.span_kind, SpanKind::Internal);
    assert!(plain.attributes.is_empty(), "arguments are never recorded");
    let run = one(&spans, "runner.run");
    assert_eq!(run.span_kind, SpanKind::Server);
    assert_eq!(attr(run, "turn"), Some(Value::I64(3)));
    assert_eq!(attr(run, "mode"), Some(Value::from("fast")));
}

#[derive(Debug)]
struct ToolError(String);

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tool failed: {}", self.0)
    }
}

fn parse(input: &str) -> Result<u32, ToolError> {
    input.parse().map_err(|_| ToolError(input.to_owned()))
}

#[tool_call(name = "parse_number", call_id = call_id, err)]
fn parse_tool(call_id: u32, input: &str) -> Result<u32, ToolError> {
    if input.is_empty() {
        return Err(ToolError("empty".into()));
    }
    let n = parse(input)?;
    Ok(n * 2)
}

#[test]
fn err_records_returned_and_question_mark_errors_on_sync_fn() {
    let h = Harness::install(|b| b);
    assert_eq!(parse_tool(1, "21").ok(), Some(42));
    assert!(parse_tool(2, "").is_err());
    assert!(parse_tool(3, "x").is_err());
    let spans = h.spans();
    assert_eq!(spans.len(), 3);
    for span in &spans {
        assert_eq!(span.name, "execute_tool parse_number");
        assert_eq!(attr(span, "gen_ai.operation.name"), s("execute_tool"));
        assert_eq!(attr(span, "gen_ai.tool.name"), s("parse_number"));
        assert_eq!(attr(span, "gen_ai.tool.type"), s("function"));
    }
    let by_id = |id: &str| {
        spans
            .iter()
            .find(|sp| attr(sp, "gen_ai.tool.call.id") == s(id))
            .expect("span with call id")
    };
    assert_eq!(by_id("1").status, Status::Unset);
    assert_eq!(attr(by_id("1"), "error.type"), None);
    for (id, message) in [("2", "tool failed: empty"), ("3", "tool failed: x")] {
        let failed = by_id(id);
        assert_eq!(failed.status, Status::error(message));
        assert_eq!(attr(failed, "error.type"), s("ToolError"));
        let exception = failed
            .events
            .iter()
            .find(|e| e.name == "exception")
            .expect("exception event");
        assert!(exception
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "exception.message"
                && kv.value == Value::from(message.to_owned())));
    }
}

#[tool_call(name = "fetch", err)]
async fn fetch_async(fail: bool) -> Result<String, ToolError> {
    tokio::task::yield_now().await;
    if fail {
        parse("not a number")?;
    }
    Ok("page".to_owned())
}

#[workflow(kind = "parallel", name = "fanout")]
fn fanout() -> impl Future<Output = usize> {
    let inner = zdk_trace_runtime::Span::start("built while the future is made");
    drop(inner);
    async {
        tokio::task::yield_now().await;
        let _child = zdk_trace_runtime::Span::start("inside the future");
        3
    }
}

#[tokio::test]
async fn async_fn_and_impl_future() {
    let h = Harness::install(|b| b);
    assert_eq!(fetch_async(false).await.ok().as_deref(), Some("page"));
    assert!(fetch_async(true).await.is_err());
    let fut = fanout();
    assert_eq!(fut.await, 3);
    let spans = h.spans();
    let fetched: Vec<_> = spans
        .iter()
        .filter(|sp| sp.name == "execute_tool fetch")
        .collect();
    assert_eq!(fetched.len(), 2);
    assert_eq!(
        fetched
            .iter()
            .filter(|sp| attr(sp, "error.type") == s("ToolError"))
            .count(),
        1
    );
    let wf = one(&spans, "invoke_workflow fanout");
    assert_eq!(attr(wf, "gen_ai.operation.name"), s("invoke_workflow"));
    assert_eq!(attr(wf, "gen_ai.workflow.name"), s("fanout"));
    assert_eq!(attr(wf, "workflow.type"), s("parallel"));
    assert_child_of(one(&spans, "built while the future is made"), wf);
    assert_child_of(one(&spans, "inside the future"), wf);
}

#[derive(Debug, Clone)]
struct Reply {
    text: String,
    model: &'static str,
}

impl LlmOutput for Reply {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(12, self.text.len() as u64))
    }

    fn response_model(&self) -> Option<&str> {
        Some(self.model)
    }
}

struct Agent {
    id: u64,
    model: String,
    calls: u32,
}

impl Agent {
    #[agent_span(name = "support", id = self.id, conversation = session, err)]
    async fn run(&mut self, session: &str, question: &str) -> Result<String, ToolError> {
        let reply = self.chat(question).await?;
        let tool = self.lookup(7)?;
        self.calls += 1;
        Ok(format!("{} {tool}", reply.text))
    }

    #[llm_call(provider = "openai", model = self.model, err, fields(gen_ai.request.temperature = 0.5))]
    async fn chat(&self, prompt: &str) -> Result<Reply, ToolError> {
        tokio::task::yield_now().await;
        Ok(Reply {
            text: prompt.to_uppercase(),
            model: "gpt-4o-2024-08-06",
        })
    }

    #[tool_call(name = "lookup", call_id = format!("call-{n}"))]
    fn lookup(&self, n: u32) -> Result<u32, ToolError> {
        Ok(n + self.calls)
    }
}

#[tokio::test]
async fn agent_nests_llm_and_tool_spans_on_methods() {
    let h = Harness::install(|b| b);
    let mut agent = Agent {
        id: 42,
        model: "gpt-4o".to_owned(),
        calls: 0,
    };
    let out = agent.run("conv-1", "hi").await.expect("agent answers");
    assert_eq!(out, "HI 7");
    assert_eq!(agent.calls, 1);
    let spans = h.spans();
    let run = one(&spans, "invoke_agent support");
    assert_root(run);
    assert_eq!(attr(run, "gen_ai.operation.name"), s("invoke_agent"));
    assert_eq!(attr(run, "gen_ai.agent.name"), s("support"));
    assert_eq!(attr(run, "gen_ai.agent.id"), s("42"));
    assert_eq!(attr(run, "gen_ai.conversation.id"), s("conv-1"));
    let chat = one(&spans, "chat gpt-4o");
    assert_child_of(chat, run);
    assert_eq!(chat.span_kind, SpanKind::Client);
    assert_eq!(attr(chat, "gen_ai.operation.name"), s("chat"));
    assert_eq!(attr(chat, "gen_ai.provider.name"), s("openai"));
    assert_eq!(attr(chat, "gen_ai.request.model"), s("gpt-4o"));
    assert_eq!(
        attr(chat, "gen_ai.request.temperature"),
        Some(Value::F64(0.5))
    );
    assert_eq!(
        attr(chat, "gen_ai.usage.input_tokens"),
        Some(Value::I64(12))
    );
    assert_eq!(
        attr(chat, "gen_ai.usage.output_tokens"),
        Some(Value::I64(2))
    );
    assert_eq!(attr(chat, "gen_ai.response.model"), s("gpt-4o-2024-08-06"));
    let tool = one(&spans, "execute_tool lookup");
    assert_child_of(tool, run);
    assert_eq!(attr(tool, "gen_ai.tool.call.id"), s("call-7"));
}

#[llm_call(
    provider = "anthropic",
    model = "claude-sonnet",
    operation = "text_completion"
)]
fn complete_sync(prompt: &str) -> Reply {
    Reply {
        text: prompt.to_owned(),
        model: "claude-sonnet-4",
    }
}

#[test]
fn llm_call_with_literal_model_on_sync_fn() {
    let h = Harness::install(|b| b);
    assert_eq!(complete_sync("abc").text, "abc");
    let spans = h.spans();
    let span = one(&spans, "text_completion claude-sonnet");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(attr(span, "gen_ai.operation.name"), s("text_completion"));
    assert_eq!(attr(span, "gen_ai.request.model"), s("claude-sonnet"));
    assert_eq!(
        attr(span, "gen_ai.usage.output_tokens"),
        Some(Value::I64(3))
    );
    assert_eq!(attr(span, "gen_ai.response.model"), s("claude-sonnet-4"));
}

#[span(name = "generic.step", fields(len = items.len() as i64))]
fn generic_step<T, I>(items: &[T], extra: I) -> usize
where
    T: Clone,
    I: IntoIterator<Item = T>,
{
    items.iter().cloned().chain(extra).count()
}

#[span(name = "generic.async")]
async fn generic_async<T: Send + fmt::Debug>(value: T) -> String {
    tokio::task::yield_now().await;
    format!("{value:?}")
}

#[test]
fn generic_fns_with_where_clauses() {
    let h = Harness::install(|b| b);
    assert_eq!(generic_step(&[1, 2], vec![3]), 3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(rt.block_on(generic_async(5_u8)), "5");
    let spans = h.spans();
    assert_eq!(
        attr(one(&spans, "generic.step"), "len"),
        Some(Value::I64(2))
    );
    one(&spans, "generic.async");
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_runtime_keeps_parents_per_task() {
    let h = Harness::install(|b| b);
    let mut handles = Vec::new();
    for i in 0..8_u64 {
        // The expansion keeps the future `Send`, so it can be spawned.
        handles.push(tokio::spawn(assert_send(worker(i))));
    }
    for handle in handles {
        handle.await.expect("task");
    }
    let spans = h.spans();
    let agents: Vec<_> = spans
        .iter()
        .filter(|sp| sp.name == "invoke_agent worker")
        .collect();
    assert_eq!(agents.len(), 8);
    for agent in agents {
        let fetches: Vec<_> = spans
            .iter()
            .filter(|sp| sp.parent_span_id == agent.span_context.span_id())
            .collect();
        assert_eq!(fetches.len(), 1);
        assert_eq!(fetches[0].name, "execute_tool fetch");
    }
}

#[agent_span(name = "worker", id = i)]
async fn worker(i: u64) {
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    let _ = fetch_async(i % 2 == 0).await;
}
