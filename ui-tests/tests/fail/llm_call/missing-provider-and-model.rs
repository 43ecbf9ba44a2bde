use zdk_trace_runtime::llm_call;

#[llm_call(operation = "chat")]
fn complete() -> u32 {
    0
}

fn main() {}
