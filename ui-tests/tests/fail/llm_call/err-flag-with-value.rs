use zdk_trace_runtime::llm_call;

#[llm_call(provider = "openai", model = "gpt-4o", err(always))]
fn complete() {}

fn main() {}
