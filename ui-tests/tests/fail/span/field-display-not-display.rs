use zdk_trace_runtime::span;

#[derive(Debug)]
struct Plan;

#[span(fields(plan = %plan))]
fn run(plan: &Plan) {
    let _ = plan;
}

fn main() {}
