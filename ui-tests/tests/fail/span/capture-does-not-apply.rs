use zdk_trace_runtime::span;

#[span(name = "runner.run", capture)]
fn run() {}

fn main() {}
