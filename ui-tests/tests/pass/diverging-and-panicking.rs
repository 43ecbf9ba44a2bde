// Bodies that never return or panic expand without warnings.
#![deny(warnings)]
#![allow(dead_code)]

use zdk_trace_runtime::{span, tool_call};

#[span]
async fn serve() -> ! {
    loop {
        std::future::pending::<()>().await;
    }
}

#[span]
async fn never_done() {
    loop {
        std::future::pending::<()>().await;
    }
}

#[tool_call(err)]
async fn fails() -> Result<u8, String> {
    panic!("not implemented yet")
}

#[span]
fn sync_panics() -> u8 {
    panic!("boom")
}

fn main() {}
