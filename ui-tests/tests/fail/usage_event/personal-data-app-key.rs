use zdk_trace_runtime::{usage_event, usage_keys};

usage_keys!(APP_USAGE_KEYS = ["user.email"]);

#[usage_event(name = "signup", keys = APP_USAGE_KEYS, fields(user.email = true))]
fn signup() {}

fn main() {}
