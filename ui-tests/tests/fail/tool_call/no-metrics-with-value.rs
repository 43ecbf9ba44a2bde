use zdk_trace_runtime::tool_call;

#[tool_call(name = "search", no_metrics = true)]
fn search() {}

fn main() {}
