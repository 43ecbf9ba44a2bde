// Application keys declared with `usage_keys!` are accepted next to built-in ones.
#![deny(warnings)]

use zdk_trace_runtime::{usage_event, usage_keys};

mod telemetry {
    zdk_trace_runtime::usage_keys!(pub APP_USAGE_KEYS = ["plugin.name", "model.family"]);
}

usage_keys!(LOCAL_KEYS = ["cache.hit"]);

#[usage_event(name = "plugin.load", keys = telemetry::APP_USAGE_KEYS, fields(plugin.name = "pdf", model.family = "small", component = "loader"))]
fn load() {}

#[usage_event(name = "cache.lookup", keys = crate::LOCAL_KEYS, fields(cache.hit = hit))]
async fn lookup(hit: bool) -> bool {
    hit
}

fn main() {
    load();
    let _ = lookup(true);
}
