use zdk_trace_runtime::tool_call;

#[tool_call(name = "notify", fields(user.id = 1_i64), allow_pii(user.email, user.id))]
fn notify() {}

fn main() {}
