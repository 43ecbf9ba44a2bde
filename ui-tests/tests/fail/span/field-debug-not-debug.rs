use zdk_trace_runtime::span;

struct Plan;

#[span(fields(?plan))]
fn run(plan: &Plan) {
    let _ = plan;
}

fn main() {}
