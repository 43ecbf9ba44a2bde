use zdk_trace_runtime::usage_event;

#[usage_event(name = "agent.run", fields(duration_ms = 1.5))]
fn run() {}

fn main() {}
