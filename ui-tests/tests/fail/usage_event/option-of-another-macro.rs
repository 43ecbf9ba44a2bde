use zdk_trace_runtime::usage_event;

#[usage_event(name = "agent.run", err)]
fn run() -> Result<(), String> {
    Ok(())
}

fn main() {}
