use zdk_trace_runtime::usage_event;

#[usage_event(name = "agent.run", fields(component = "a", component = "b"))]
fn run() {}

fn main() {}
