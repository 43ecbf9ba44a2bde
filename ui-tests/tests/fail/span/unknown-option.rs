use zdk_trace_runtime::span;

#[span(nmae = "runner.run")]
fn run() {}

fn main() {}
