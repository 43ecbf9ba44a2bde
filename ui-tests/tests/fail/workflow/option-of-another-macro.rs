use zdk_trace_runtime::workflow;

#[workflow(kind = "loop", call_id = "c-1")]
fn retry() {}

fn main() {}
