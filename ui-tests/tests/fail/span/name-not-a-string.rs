use zdk_trace_runtime::span;

#[span(name = runner_run)]
fn run() {}

fn main() {}
