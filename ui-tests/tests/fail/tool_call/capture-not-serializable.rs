use zdk_trace_runtime::tool_call;

struct Query {
    city: String,
}

#[tool_call(name = "get_weather", capture(arguments = query))]
fn get_weather(query: Query) -> String {
    query.city
}

fn main() {}
