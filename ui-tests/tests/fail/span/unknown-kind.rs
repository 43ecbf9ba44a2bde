use zdk_trace_runtime::span;

#[span(kind = sever)]
fn run() {}

fn main() {}
