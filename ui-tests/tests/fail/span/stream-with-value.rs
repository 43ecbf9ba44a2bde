use zdk_trace_runtime::span;

#[span(stream = true)]
fn tokens() -> Vec<u32> {
    Vec::new()
}

fn main() {}
