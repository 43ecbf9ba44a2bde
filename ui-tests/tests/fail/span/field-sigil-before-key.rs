use zdk_trace_runtime::span;

#[span(fields(%turn = 1))]
fn run() {}

fn main() {}
