use zdk_trace_runtime::usage_event;

struct Request {
    command: String,
}

impl Request {
    #[usage_event(name = "command.run", fields(command.name = self.command))]
    fn run(&self) {}
}

fn main() {
    Request { command: String::new() }.run();
}
