use zdk_trace_runtime::span;

#[span]
const fn answer() -> u8 {
    42
}

fn main() {}
