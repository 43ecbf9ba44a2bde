use zdk_trace_runtime::tool_call;

#[tool_call(name = "lookup", fields(user.email = "a@b.c", userPhone = "1", api_key = "k"))]
fn lookup() {}

fn main() {}
