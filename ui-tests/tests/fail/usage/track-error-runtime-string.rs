// The run-time usage API takes fixed labels: an error's message (run-time text that can carry
// personal data) does not compile.
use zdk_trace_runtime::usage;

fn main() {
    let e = std::io::Error::other("cannot open /home/alice/notes.txt");
    usage::track_error(&e.to_string(), "llm_client");
    let user_input = String::from("alice@example.com");
    usage::track_feature_usage(user_input);
}
