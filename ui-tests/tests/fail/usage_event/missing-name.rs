use zdk_trace_runtime::usage_event;

#[usage_event(fields(component = "cli"))]
fn run() {}

fn main() {}
