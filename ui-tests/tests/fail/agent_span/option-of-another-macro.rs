use zdk_trace_runtime::agent_span;

#[agent_span(name = "support", model = "gpt-4o")]
async fn answer() {}

fn main() {}
