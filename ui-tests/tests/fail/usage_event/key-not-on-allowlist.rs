use zdk_trace_runtime::usage_event;

#[usage_event(name = "agent.run", fields(agent.typ = "react"))]
fn run() {}

fn main() {}
