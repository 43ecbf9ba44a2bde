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

fn main() {}
