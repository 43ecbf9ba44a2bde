use zdk_trace_runtime::usage_event;

#[usage_event(name = "agent.run", fields(agent.type = agent_name))]
fn run(agent_name: &str) {
    let _ = agent_name;
}

fn main() {}
