use zdk_trace_runtime::span;

trait Stream {}

struct Chunks;

impl Stream for Chunks {}

#[span(err)]
fn chunks() -> impl Stream {
    Chunks
}

fn main() {}
