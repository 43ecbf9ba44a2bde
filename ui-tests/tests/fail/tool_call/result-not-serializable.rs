use zdk_trace_runtime::tool_call;

struct Forecast {
    summary: String,
}

#[tool_call(name = "get_weather", capture)]
fn get_weather(city: &str) -> Result<Forecast, String> {
    Ok(Forecast { summary: city.to_owned() })
}

fn main() {}
