use zdk_trace_runtime::workflow;

#[workflow(kind = "round_robin", name = "triage")]
fn triage() {}

fn main() {}
