use zdk_trace_runtime::llm_call;

trait Stream {}

struct Chunks;

impl Stream for Chunks {}

#[llm_call(provider = "openai", model = "gpt-4o")]
fn chat() -> impl Stream {
    Chunks
}

fn main() {}
