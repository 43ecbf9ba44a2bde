use zdk_trace_runtime::span;

// `profile` is a flag, `profile = "busy"` or `profile = "full"`; anything else says so.
#[span(name = "step", profile = "cpu")]
fn step() {}

fn main() {}
