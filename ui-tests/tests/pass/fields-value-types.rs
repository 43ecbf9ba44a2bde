// Every value type `fields(...)` accepts, the sigils and the shorthands, on sync and async fns.
#![deny(warnings, unused_qualifications)]

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use zdk_trace_runtime::{agent_span, span, tool_call};

#[derive(Debug)]
struct Plan {
    steps: u8,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} steps", self.steps)
    }
}

#[span(fields(
    a = 1_u8, b = 2_u16, c = 3_u32, d = 4_u64, e = 5_u128, f = 6_usize,
    g = -1_i8, h = -2_i16, i = -3_i32, j = -4_i64, k = -5_i128, l = -6_isize,
    m = 0.5_f32, n = 0.25_f64, o = true, p = 'x', q = 7,
))]
fn numbers() {}

#[allow(clippy::too_many_arguments)]
#[span(fields(
    text, owned, cow, shared, boxed, maybe,
    text2 = text, owned_ref = &owned, nested = &&cow, literal = "static",
    none = None::<u32>, some = Some(3_u64), some_text = Some("x"),
    len = owned.len(), first = text.chars().next(),
))]
fn strings(
    text: &str,
    owned: String,
    cow: Cow<'_, str>,
    shared: Arc<str>,
    boxed: Box<str>,
    maybe: Option<String>,
) -> usize {
    // The values are borrowed, not moved: everything is still usable here.
    text.len() + owned.len() + cow.len() + shared.len() + boxed.len() + maybe.map_or(0, |m| m.len())
}

#[tool_call(name = "plan", fields(plan = %plan, plan.debug = ?plan, %attempt, ?steps))]
fn run_plan(plan: &Plan, attempt: u32, steps: Vec<u8>) -> u8 {
    plan.steps + u8::try_from(attempt).unwrap_or(0) + u8::try_from(steps.len()).unwrap_or(0)
}

#[tool_call(name = "attempt", fields(attempt = n))]
fn attempt(n: u32) -> u32 {
    n
}

#[agent_span(name = "agent", fields(turn = turn, id = %id, mode = ?mode))]
async fn agent(turn: u16, id: u64, mode: Option<&str>) -> u16 {
    let _ = (id, mode);
    turn
}

// OpenTelemetry's own `Value` is taken as it is.
#[span(fields(v = value))]
fn otel_value(value: &zdk_trace_runtime::Value) {
    let _ = value;
}

fn main() {
    numbers();
    let n = strings(
        "a",
        "bb".to_owned(),
        Cow::Borrowed("c"),
        Arc::from("d"),
        Box::from("e"),
        Some("f".to_owned()),
    );
    assert_eq!(n, 7);
    assert_eq!(run_plan(&Plan { steps: 1 }, 2, vec![3]), 4);
    assert_eq!(attempt(4), 4);
    let _ = agent(1, 2, Some("fast"));
    otel_value(&zdk_trace_runtime::Value::from(1_i64));
}
