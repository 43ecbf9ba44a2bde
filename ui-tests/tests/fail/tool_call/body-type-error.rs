use zdk_trace_runtime::tool_call;

// A type error in the body is reported on the user's code, not on the macro.
#[tool_call(name = "count", err)]
fn count() -> Result<u32, String> {
    Ok("three")
}

fn main() {}
