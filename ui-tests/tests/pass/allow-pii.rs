// The privacy escape hatch: a key that looks like personal data, recorded on purpose.
#![deny(warnings)]

use zdk_trace_runtime::tool_call;

#[tool_call(name = "notify", fields(user.email_hash = hash), allow_pii(user.email_hash))]
fn notify(hash: i64) -> i64 {
    hash
}

fn main() {
    assert_eq!(notify(7), 7);
}
