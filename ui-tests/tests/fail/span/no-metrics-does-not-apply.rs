use zdk_trace_runtime::span;

// `#[span]` records no built-in metrics: there is nothing to turn off.
#[span(name = "step", no_metrics)]
fn step() {}

fn main() {}
