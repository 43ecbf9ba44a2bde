//! Bodies written on one line (`{ 7 }`) and empty bodies expand without warnings.
#![deny(warnings)]

use zdk_trace_runtime::{agent_span, llm_call, span, tool_call, usage_event, workflow};

#[span]
async fn one_line() -> u64 { 7 }

#[span(err)]
async fn one_line_err() -> Result<u64, std::fmt::Error> { Ok(7) }

#[agent_span(name = "a")]
fn sync_one_line() -> u64 { 7 }

#[tool_call(name = "t")]
async fn empty() {}

#[workflow(kind = "loop")]
async fn loop_one_line() -> u64 { 7 }

#[workflow(kind = "loop")]
async fn loop_with_one_line_loop(n: u64) -> u64 { for _ in 0..n { std::future::ready(()).await } n }

#[workflow(kind = "loop")]
fn sync_loop_one_line(n: u64) { for _ in 0..n {} }

#[span]
fn macro_body(n: u64) -> String { format!("{n}") }

#[span]
async fn async_macro_body(n: u64) -> String { format!("{n}") }

struct Reply;
impl zdk_trace_runtime::genai::LlmOutput for Reply {
    fn usage(&self) -> Option<zdk_trace_runtime::genai::TokenUsage> { None }
}

#[llm_call(provider = "p", model = "m")]
async fn llm_one_line() -> Reply { Reply }

#[usage_event(name = "agent.run")]
async fn usage_one_line() -> u64 { 7 }

fn main() {
    let _ = (one_line(), one_line_err(), sync_one_line(), empty(), loop_one_line());
    let _ = (llm_one_line(), usage_one_line(), loop_with_one_line_loop(2));
    sync_loop_one_line(2);
    let _ = (macro_body(1), async_macro_body(1));
}
