use zdk_trace_runtime::span;

trait Runner {
    #[span]
    fn run(&self);
}

fn main() {}
