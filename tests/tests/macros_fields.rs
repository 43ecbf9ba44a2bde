//! What `fields(...)` records for each value type a user writes (issue 16, item 5): the
//! attribute's OpenTelemetry type and value as exported, `None` left out, `%`/`?` as text,
//! and every form computed only when the span records.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use zdk_trace_runtime::{agent_span, span, tool_call, Sampler};
use zdk_trace_tests::harness::{attr, one, Harness};

fn string(s: &str) -> Option<Value> {
    Some(Value::String(s.to_owned().into()))
}

fn has(span: &SpanData, key: &str) -> bool {
    span.attributes.iter().any(|kv| kv.key.as_str() == key)
}

#[span(name = "numbers", fields(
    small = 200_u8, word = n, big = u64::MAX, fits = 9_223_372_036_854_775_807_u64,
    huge = u128::MAX, negative = i128::MIN, size = 3_usize, signed = -4_isize,
    ratio = 0.5_f32, exact = 0.1_f64, flag = false, letter = 'é',
))]
fn numbers(n: u32) -> u32 {
    n
}

#[test]
fn numbers_are_typed_and_wide_integers_beyond_i64_are_exact_strings() {
    let h = Harness::install(|b| b);
    assert_eq!(numbers(4_000_000_000), 4_000_000_000);
    let spans = h.spans();
    let span = one(&spans, "numbers");
    assert_eq!(attr(span, "small"), Some(Value::I64(200)));
    assert_eq!(attr(span, "word"), Some(Value::I64(4_000_000_000)));
    assert_eq!(attr(span, "big"), string("18446744073709551615"));
    assert_eq!(attr(span, "fits"), Some(Value::I64(i64::MAX)));
    assert_eq!(
        attr(span, "huge"),
        string("340282366920938463463374607431768211455")
    );
    assert_eq!(
        attr(span, "negative"),
        string("-170141183460469231731687303715884105728")
    );
    assert_eq!(attr(span, "size"), Some(Value::I64(3)));
    assert_eq!(attr(span, "signed"), Some(Value::I64(-4)));
    assert_eq!(attr(span, "ratio"), Some(Value::F64(0.5)));
    assert_eq!(attr(span, "exact"), Some(Value::F64(0.1)));
    assert_eq!(attr(span, "flag"), Some(Value::Bool(false)));
    assert_eq!(attr(span, "letter"), string("é"));
}

#[tool_call(name = "strings", fields(
    text, owned, cow, shared, boxed, maybe, missing,
    some = Some(3_u8), none = None::<i64>, literal = "static", borrowed = &owned,
))]
fn strings(
    text: &str,
    owned: String,
    cow: Cow<'_, str>,
    shared: Arc<str>,
    boxed: Box<str>,
    maybe: Option<&str>,
    missing: Option<String>,
) -> String {
    // Borrowed by the macro, not moved: all still usable.
    format!("{text}{owned}{cow}{shared}{boxed}{maybe:?}{missing:?}")
}

#[test]
fn strings_options_and_shorthands() {
    let h = Harness::install(|b| b);
    let out = strings(
        "t",
        "o".to_owned(),
        Cow::Owned("c".to_owned()),
        Arc::from("s"),
        Box::from("b"),
        Some("m"),
        None,
    );
    assert_eq!(out, "tocsbSome(\"m\")None");
    let spans = h.spans();
    let span = one(&spans, "execute_tool strings");
    assert_eq!(attr(span, "text"), string("t"));
    assert_eq!(attr(span, "owned"), string("o"));
    assert_eq!(attr(span, "cow"), string("c"));
    assert_eq!(attr(span, "shared"), string("s"));
    assert_eq!(attr(span, "boxed"), string("b"));
    assert_eq!(attr(span, "maybe"), string("m"));
    assert_eq!(attr(span, "some"), Some(Value::I64(3)));
    assert_eq!(attr(span, "literal"), string("static"));
    assert_eq!(attr(span, "borrowed"), string("o"));
    assert!(!has(span, "missing"), "None is not recorded: {span:?}");
    assert!(!has(span, "none"), "None is not recorded: {span:?}");
}

static FORMATTED: AtomicUsize = AtomicUsize::new(0);

/// Counts its `Display` and `Debug` calls, to see when the sigils format.
struct Plan {
    steps: u8,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FORMATTED.fetch_add(1, Ordering::SeqCst);
        write!(f, "{} steps", self.steps)
    }
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FORMATTED.fetch_add(1, Ordering::SeqCst);
        f.debug_struct("Plan").field("steps", &self.steps).finish()
    }
}

#[span(name = "sigils", fields(shown = %plan, dumped = ?plan, %attempt, ?tags))]
fn sigils(plan: &Plan, attempt: u32, tags: &[&str]) -> usize {
    usize::from(plan.steps) + tags.len() + attempt as usize
}

#[agent_span(name = "planner", fields(plan = %plan, detail = ?plan))]
async fn planner(plan: Plan) -> u8 {
    plan.steps
}

#[tokio::test]
async fn sigils_record_display_and_debug_only_when_the_span_records() {
    let plan = Plan { steps: 2 };
    {
        let h = Harness::install(|b| b.sampler(Sampler::AlwaysOff));
        assert_eq!(sigils(&plan, 1, &["a"]), 4);
        assert_eq!(planner(Plan { steps: 3 }).await, 3);
        assert!(h.spans().is_empty());
        assert_eq!(
            FORMATTED.load(Ordering::SeqCst),
            0,
            "sampled out: nothing formatted"
        );
    }
    let h = Harness::install(|b| b);
    assert_eq!(sigils(&plan, 7, &["a", "b"]), 11);
    assert_eq!(planner(Plan { steps: 3 }).await, 3);
    assert_eq!(FORMATTED.load(Ordering::SeqCst), 4);
    let spans = h.spans();
    let span = one(&spans, "sigils");
    assert_eq!(attr(span, "shown"), string("2 steps"));
    assert_eq!(attr(span, "dumped"), string("Plan { steps: 2 }"));
    assert_eq!(attr(span, "attempt"), string("7"));
    assert_eq!(attr(span, "tags"), string("[\"a\", \"b\"]"));
    let agent = one(&spans, "invoke_agent planner");
    assert_eq!(attr(agent, "plan"), string("3 steps"));
    assert_eq!(attr(agent, "detail"), string("Plan { steps: 3 }"));
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn counted() -> Option<u64> {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    Some(u64::MAX)
}

#[span(name = "lazy.option", fields(value = counted()))]
fn lazy_option() {}

#[test]
fn trait_converted_values_are_computed_only_when_the_span_records() {
    {
        let h = Harness::install(|b| b.sampler(Sampler::AlwaysOff));
        lazy_option();
        assert!(h.spans().is_empty());
        assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
    }
    let h = Harness::install(|b| b);
    lazy_option();
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 1);
    assert_eq!(
        attr(one(&h.spans(), "lazy.option"), "value"),
        string("18446744073709551615")
    );
}
