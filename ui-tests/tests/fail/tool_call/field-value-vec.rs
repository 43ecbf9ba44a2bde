use zdk_trace_runtime::tool_call;

#[tool_call(name = "upload", fields(body = bytes))]
fn upload(bytes: Vec<u8>) -> usize {
    bytes.len()
}

fn main() {}
