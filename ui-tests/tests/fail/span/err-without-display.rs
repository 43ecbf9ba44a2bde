use zdk_trace_runtime::span;

struct Opaque;

#[span(err)]
async fn run() -> Result<(), Opaque> {
    Ok(())
}

fn main() {}
