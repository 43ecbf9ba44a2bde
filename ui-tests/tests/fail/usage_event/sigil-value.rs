use zdk_trace_runtime::usage_event;

#[usage_event(name = "agent.run", fields(agent.type = %kind, ?component))]
fn run(kind: &str, component: u8) {
    let _ = (kind, component);
}

fn main() {}
