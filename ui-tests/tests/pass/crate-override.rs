// `crate = path` reaches the runtime through a re-export.
#![deny(warnings)]

mod telemetry {
    pub use zdk_trace_runtime as runtime;
}

#[telemetry::runtime::span(crate = telemetry::runtime, name = "reexported")]
fn step() -> u8 {
    1
}

fn main() {
    assert_eq!(step(), 1);
}
