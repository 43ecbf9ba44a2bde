use zdk_trace_runtime::usage_event;

#[usage_event(name = "agent.run", fields(success = true))]
fn run() {}

fn main() {}
