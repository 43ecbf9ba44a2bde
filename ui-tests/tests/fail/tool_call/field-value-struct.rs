use zdk_trace_runtime::tool_call;

struct Attempt {
    n: u32,
}

#[tool_call(name = "retry", fields(attempt = attempt))]
fn retry(attempt: &Attempt) -> u32 {
    attempt.n
}

fn main() {}
