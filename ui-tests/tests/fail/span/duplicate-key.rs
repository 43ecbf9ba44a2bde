use zdk_trace_runtime::span;

#[span(name = "a", name = "b")]
fn run() {}

fn main() {}
