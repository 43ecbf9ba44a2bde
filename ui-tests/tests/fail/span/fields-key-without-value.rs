use zdk_trace_runtime::span;

#[span(fields(user.id))]
fn run() {}

fn main() {}
