use zdk_trace_runtime::tool_call;

#[tool_call(name = "lookup", fields(items = 1_i64, items = 2_i64))]
fn lookup() {}

fn main() {}
