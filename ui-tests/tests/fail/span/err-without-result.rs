use zdk_trace_runtime::span;

#[span(err)]
fn count() -> u32 {
    3
}

fn main() {}
