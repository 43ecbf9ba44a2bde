// Expansions use fully qualified paths: shadowing the prelude breaks nothing.
#![deny(warnings, unused_qualifications)]
#![allow(dead_code)]

use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
use zdk_trace_runtime::{agent_span, llm_call, span, tool_call, usage_event, workflow};

struct Result;
struct Ok;
struct Err;
struct Option;
struct Some;
struct None;
struct Box;
struct String;
struct Vec;
struct Future;
struct Span;
struct KeyValue;
trait Display {}
#[allow(unused_macros)] // only here to shadow `std::format!`
macro_rules! format {
    () => {};
}

struct Reply;

impl LlmOutput for Reply {
    fn usage(&self) -> ::core::option::Option<TokenUsage> {
        ::core::option::Option::None
    }
}

#[span(name = "runner.run", kind = server, fields(turn = 1_i64), err)]
fn run() -> ::core::result::Result<u8, ::std::io::Error> {
    ::core::result::Result::Ok(1)
}

#[span(err)]
async fn run_async() -> ::core::result::Result<u8, ::std::fmt::Error> {
    ::core::result::Result::Ok(1)
}

#[agent_span(name = "support", id = 7, conversation = "c")]
async fn agent() {}

#[tool_call(name = "lookup", call_id = "x", err)]
fn tool() -> ::core::result::Result<(), ::std::fmt::Error> {
    ::core::result::Result::Ok(())
}

#[workflow(kind = "loop", name = "retry")]
fn flow() -> impl ::core::future::Future<Output = u8> {
    async { 1 }
}

#[workflow(kind = "loop", name = "refine", err)]
fn refine(n: u8) -> ::core::result::Result<u8, ::std::fmt::Error> {
    let mut total = 0;
    'outer: for i in 0..n {
        while total > 100 {
            continue 'outer;
        }
        total += i;
    }
    ::core::result::Result::Ok(total)
}

#[workflow(kind = "loop")]
async fn refine_async(n: u8) -> u8 {
    let mut i = 0;
    loop {
        i += 1;
        if i >= n {
            break i;
        }
    }
}

#[llm_call(provider = "openai", model = model, err)]
async fn chat(model: &str) -> ::core::result::Result<Reply, ::std::fmt::Error> {
    let _ = model;
    ::core::result::Result::Ok(Reply)
}

#[usage_event(name = "agent.run", fields(agent.type = "react", component = 1_u8))]
fn usage() -> ::core::result::Result<u8, ::std::fmt::Error> {
    ::core::result::Result::Ok(1)
}

#[usage_event(name = "agent.run", fields(feature.name = true))]
async fn usage_async() -> ::core::result::Result<u8, ::std::fmt::Error> {
    ::core::result::Result::Ok(1)
}

#[agent_span(name = "support")]
#[usage_event(name = "agent.run")]
fn usage_future() -> impl ::core::future::Future<Output = u8> {
    async { 1 }
}

#[llm_call(
    provider = "openai",
    model = "gpt-4o",
    temperature = 0.2,
    max_tokens = 256_u32,
    top_p = 1,
    top_k = 40,
    frequency_penalty = 0.1,
    presence_penalty = ::core::option::Option::<f64>::None,
    stop_sequences = ["END"],
    seed = 7_u64,
    choice_count = 1,
    capture(input = prompt)
)]
fn chat_captured(prompt: &str) -> Reply {
    let _ = prompt;
    Reply
}

#[tool_call(name = "lookup", capture(arguments = query), err)]
async fn tool_captured(query: &str) -> ::core::result::Result<u8, ::std::fmt::Error> {
    let _ = query;
    ::core::result::Result::Ok(1)
}

#[tool_call(name = "echo", capture)]
fn tool_plain(text: &'static str) -> &'static str {
    text
}

fn main() {}
