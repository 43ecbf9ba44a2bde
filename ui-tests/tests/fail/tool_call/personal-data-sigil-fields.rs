use zdk_trace_runtime::tool_call;

#[tool_call(name = "notify", fields(user.email = %address, ?phone))]
fn notify(address: &str, phone: &str) {
    let _ = (address, phone);
}

fn main() {}
