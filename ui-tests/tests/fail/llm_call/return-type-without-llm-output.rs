use zdk_trace_runtime::llm_call;

struct Reply;

#[llm_call(provider = "openai", model = "gpt-4o")]
fn complete() -> Reply {
    Reply
}

fn main() {}
