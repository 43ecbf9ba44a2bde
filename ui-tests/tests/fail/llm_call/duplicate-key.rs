use zdk_trace_runtime::llm_call;

#[llm_call(provider = "openai", model = "gpt-4o", model = "gpt-4o-mini")]
fn complete() -> u32 {
    0
}

fn main() {}
