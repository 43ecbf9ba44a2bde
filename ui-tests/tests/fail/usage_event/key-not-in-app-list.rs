use zdk_trace_runtime::{usage_event, usage_keys};

usage_keys!(APP_USAGE_KEYS = ["plugin.name"]);

#[usage_event(name = "plugin.load", keys = APP_USAGE_KEYS, fields(plugin.nme = "pdf"))]
fn load() {}

fn main() {}
