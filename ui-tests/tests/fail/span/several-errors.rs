use zdk_trace_runtime::span;

#[span(nmae = "a", kind = sever, err = true, fields = 3)]
fn run() {}

fn main() {
    // The function is still emitted: its callers type-check.
    run();
}
