use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
use zdk_trace_runtime::llm_call;

struct Reply;

impl LlmOutput for Reply {
    fn usage(&self) -> Option<TokenUsage> {
        None
    }
}

#[llm_call(provider = "openai", model = "gpt-4o", capture(prompt = prompt))]
fn complete(prompt: &str) -> Reply {
    let _ = prompt;
    Reply
}

fn main() {}
