use zdk_trace_runtime::usage_event;

#[usage_event(name = "tool.run", fields(tool.type = format!("tool-{}", id)))]
fn run(id: u32) {
    let _ = id;
}

fn main() {}
