use zdk_trace_runtime::span;

#[span]
struct Runner;

fn main() {}
