//! `#[llm_call]` request parameters and GenAI content capture (`capture` on `#[llm_call]` and
//! `#[tool_call]`, switched at run time by `CaptureMode`): what each mode records, that
//! nothing is recorded (or computed) otherwise, and how the mode is configured.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures_core::Stream;
use opentelemetry::{Array, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use zdk_trace_runtime::genai::{self, CaptureMode, LlmOutput, TokenUsage};
use zdk_trace_runtime::{llm_call, tool_call, Config, InstallError};
use zdk_trace_tests::harness::{attr, isolated_builder, one, serial, Harness};

const ENV: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

struct Reply {
    text: String,
    finish: Option<&'static str>,
}

impl LlmOutput for Reply {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(3, 1))
    }

    fn output_text(&self) -> Option<&str> {
        Some(&self.text)
    }

    fn finish_reason(&self) -> Option<&str> {
        self.finish
    }
}

fn reply(text: &str) -> Reply {
    Reply {
        text: text.to_owned(),
        finish: None,
    }
}

/// How many times a `capture(input = ...)` expression was evaluated.
static PROMPTS_BUILT: AtomicUsize = AtomicUsize::new(0);

fn counted(prompt: &str) -> String {
    PROMPTS_BUILT.fetch_add(1, Ordering::SeqCst);
    prompt.to_owned()
}

#[llm_call(provider = "openai", model = "gpt-4o", capture(input = counted(prompt)))]
fn chat(prompt: &str) -> Reply {
    reply(&prompt.to_uppercase())
}

#[llm_call(provider = "openai", model = "gpt-4o-mini")]
fn chat_without_capture(prompt: &str) -> Reply {
    reply(prompt)
}

const CHAT: &str = "chat gpt-4o";
const INPUT_HI: &str = r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#;
const OUTPUT_HI: &str =
    r#"[{"role":"assistant","parts":[{"type":"text","content":"HI"}],"finish_reason":"stop"}]"#;

fn s(v: &str) -> Option<Value> {
    Some(Value::from(v.to_owned()))
}

fn details(span: &SpanData) -> Vec<&opentelemetry::trace::Event> {
    span.events
        .iter()
        .filter(|e| e.name == genai::INFERENCE_DETAILS_EVENT)
        .collect()
}

fn event_attr(event: &opentelemetry::trace::Event, key: &str) -> Option<Value> {
    event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn no_content_attributes(span: &SpanData) {
    for key in [
        genai::INPUT_MESSAGES,
        genai::OUTPUT_MESSAGES,
        genai::TOOL_CALL_ARGUMENTS,
        genai::TOOL_CALL_RESULT,
    ] {
        assert_eq!(attr(span, key), None, "{key} recorded on {}", span.name);
    }
    assert!(details(span).is_empty(), "content event on {}", span.name);
}

#[test]
fn request_parameters_are_typed_attributes() {
    #[llm_call(
        provider = "openai",
        model = "gpt-4o",
        temperature = 0.2,
        max_tokens = limit,
        top_p = 0.9_f32,
        top_k = 40,
        frequency_penalty = penalties.0,
        presence_penalty = penalties.1,
        stop_sequences = ["\n\n", "END"],
        seed = seed,
        choice_count = 2_usize
    )]
    fn tuned(limit: u32, penalties: (f64, Option<f64>), seed: Option<u64>) -> Reply {
        reply("ok")
    }

    let h = Harness::install(|b| b);
    tuned(256, (0.5, None), Some(7));
    let spans = h.spans();
    let span = one(&spans, CHAT);
    assert_eq!(
        attr(span, genai::REQUEST_TEMPERATURE),
        Some(Value::F64(0.2))
    );
    assert_eq!(attr(span, genai::REQUEST_MAX_TOKENS), Some(Value::I64(256)));
    assert_eq!(
        attr(span, genai::REQUEST_TOP_P),
        Some(Value::F64(f64::from(0.9_f32)))
    );
    // `top_k` is a double in the conventions.
    assert_eq!(attr(span, genai::REQUEST_TOP_K), Some(Value::F64(40.0)));
    assert_eq!(
        attr(span, genai::REQUEST_FREQUENCY_PENALTY),
        Some(Value::F64(0.5))
    );
    // `None` records nothing.
    assert_eq!(attr(span, genai::REQUEST_PRESENCE_PENALTY), None);
    assert_eq!(
        attr(span, genai::REQUEST_STOP_SEQUENCES),
        Some(Value::Array(Array::String(vec![
            StringValue::from("\n\n"),
            StringValue::from("END"),
        ])))
    );
    assert_eq!(attr(span, genai::REQUEST_SEED), Some(Value::I64(7)));
    assert_eq!(
        attr(span, "gen_ai.request.choice.count"),
        Some(Value::I64(2))
    );
}

#[test]
fn capture_is_off_by_default_and_computes_nothing() {
    let h = Harness::install(|b| b);
    let before = PROMPTS_BUILT.load(Ordering::SeqCst);
    assert_eq!(chat("hi").text, "HI");
    assert_eq!(
        PROMPTS_BUILT.load(Ordering::SeqCst),
        before,
        "prompt was built"
    );
    let spans = h.spans();
    let span = one(&spans, CHAT);
    assert_eq!(attr(span, genai::USAGE_INPUT_TOKENS), Some(Value::I64(3)));
    no_content_attributes(span);
}

#[test]
fn span_only_records_messages_as_span_attributes() {
    let h = Harness::install(|b| b.capture_message_content(CaptureMode::SpanOnly));
    chat("hi");
    let spans = h.spans();
    let span = one(&spans, CHAT);
    assert_eq!(attr(span, genai::INPUT_MESSAGES), s(INPUT_HI));
    assert_eq!(attr(span, genai::OUTPUT_MESSAGES), s(OUTPUT_HI));
    assert!(details(span).is_empty());
    assert_eq!(attr(span, genai::CONTENT_TRUNCATED), None);
}

#[test]
fn event_only_records_one_details_event() {
    let h = Harness::install(|b| b.capture_message_content(CaptureMode::EventOnly));
    chat("hi");
    let spans = h.spans();
    let span = one(&spans, CHAT);
    assert_eq!(attr(span, genai::INPUT_MESSAGES), None);
    assert_eq!(attr(span, genai::OUTPUT_MESSAGES), None);
    let events = details(span);
    assert_eq!(events.len(), 1);
    assert_eq!(event_attr(events[0], genai::INPUT_MESSAGES), s(INPUT_HI));
    assert_eq!(event_attr(events[0], genai::OUTPUT_MESSAGES), s(OUTPUT_HI));
}

#[test]
fn span_and_event_records_both() {
    let h = Harness::install(|b| b.capture_message_content(CaptureMode::SpanAndEvent));
    chat("hi");
    let spans = h.spans();
    let span = one(&spans, CHAT);
    assert_eq!(attr(span, genai::INPUT_MESSAGES), s(INPUT_HI));
    assert_eq!(attr(span, genai::OUTPUT_MESSAGES), s(OUTPUT_HI));
    let events = details(span);
    assert_eq!(events.len(), 1);
    assert_eq!(event_attr(events[0], genai::OUTPUT_MESSAGES), s(OUTPUT_HI));
}

#[test]
fn env_true_and_false() {
    {
        let h = Harness::install(|b| b.env_vars([(ENV, "true")]));
        chat("hi");
        let spans = h.spans();
        assert_eq!(
            attr(one(&spans, CHAT), genai::OUTPUT_MESSAGES),
            s(OUTPUT_HI)
        );
    }
    // The environment wins over code.
    let h = Harness::install(|b| {
        b.capture_message_content(CaptureMode::SpanAndEvent)
            .env_vars([(ENV, "False")])
    });
    chat("hi");
    let spans = h.spans();
    no_content_attributes(one(&spans, CHAT));
}

#[test]
fn env_modes_in_any_case() {
    let h = Harness::install(|b| b.env_vars([(ENV, "event_only")]));
    chat("hi");
    let spans = h.spans();
    let span = one(&spans, CHAT);
    assert_eq!(attr(span, genai::OUTPUT_MESSAGES), None);
    assert_eq!(details(span).len(), 1);
}

#[test]
fn without_capture_nothing_is_recorded_even_when_the_mode_is_on() {
    let h = Harness::install(|b| b.capture_message_content(CaptureMode::SpanAndEvent));
    chat_without_capture("hi");
    let spans = h.spans();
    no_content_attributes(one(&spans, "chat gpt-4o-mini"));
}

#[test]
fn bad_env_value_fails_install_naming_the_variable() {
    let _serial = serial();
    let err = isolated_builder()
        .env_vars([(ENV, "SPAN_ONLYY")])
        .install()
        .expect_err("a bad value must not install");
    assert!(matches!(err, InstallError::Config(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(ENV), "{msg}");
    assert!(msg.contains("SPAN_ONLYY"), "{msg}");
    assert!(msg.contains("`SPAN_AND_EVENT`"), "{msg}");
    assert!(msg.contains("did you mean `SPAN_ONLY`"), "{msg}");
}

#[test]
fn config_file_key_sets_the_mode_and_wins_over_code() {
    let file =
        Config::from_toml_str("[telemetry.genai]\ncapture_message_content = \"event_only\"\n")
            .expect("valid file");
    let h = Harness::install(|b| {
        b.capture_message_content(CaptureMode::SpanOnly)
            .config(file)
    });
    chat("hi");
    let spans = h.spans();
    let span = one(&spans, CHAT);
    assert_eq!(attr(span, genai::OUTPUT_MESSAGES), None);
    assert_eq!(details(span).len(), 1);
}

#[test]
fn long_content_is_cut_and_counted() {
    let h = Harness::install(|b| b.capture_message_content(CaptureMode::SpanOnly));
    let long = "é".repeat(genai::CONTENT_MAX_BYTES); // twice the cap in bytes
    chat(&long);
    let spans = h.spans();
    let span = one(&spans, CHAT);
    // The prompt and the completion were both cut.
    assert_eq!(attr(span, genai::CONTENT_TRUNCATED), Some(Value::I64(2)));
    let input = attr(span, genai::INPUT_MESSAGES)
        .expect("input recorded")
        .to_string();
    let messages: serde_json::Value = serde_json::from_str(&input).expect("still valid JSON");
    let content = messages[0]["parts"][0]["content"].as_str().expect("text");
    assert!(content.len() <= genai::CONTENT_MAX_BYTES + '…'.len_utf8());
    assert!(content.ends_with('…'));
}

#[test]
fn result_and_structured_messages_in_async_fn() {
    #[derive(serde::Serialize)]
    struct Message {
        role: &'static str,
        parts: Vec<serde_json::Value>,
    }

    #[llm_call(provider = "anthropic", model = "claude", capture(input = messages), err)]
    async fn ask(messages: Vec<Message>, fail: bool) -> Result<Reply, String> {
        if fail {
            return Err("overloaded".to_owned());
        }
        Ok(Reply {
            text: format!("{} messages", messages.len()),
            finish: Some("length"),
        })
    }

    let h = Harness::install(|b| b.capture_message_content(CaptureMode::SpanOnly));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let system = || Message {
        role: "system",
        parts: vec![serde_json::json!({"type": "text", "content": "be brief"})],
    };
    assert!(rt.block_on(ask(vec![system()], false)).is_ok());
    assert!(rt.block_on(ask(vec![system()], true)).is_err());
    let spans = h.spans();
    assert_eq!(spans.len(), 2);
    // Fields in declaration order; `json!` objects sort their keys.
    let input = r#"[{"role":"system","parts":[{"content":"be brief","type":"text"}]}]"#;
    for span in &spans {
        // Any `Serialize` value is taken to be the messages, recorded as its JSON.
        assert_eq!(attr(span, genai::INPUT_MESSAGES), s(input));
    }
    let ok = spans
        .iter()
        .find(|s| attr(s, "error.type").is_none())
        .expect("the Ok call");
    assert_eq!(
        attr(ok, genai::OUTPUT_MESSAGES),
        s(
            r#"[{"role":"assistant","parts":[{"type":"text","content":"1 messages"}],"finish_reason":"length"}]"#
        )
    );
    let failed = spans
        .iter()
        .find(|s| attr(s, "error.type").is_some())
        .expect("the Err call");
    assert_eq!(
        attr(failed, genai::OUTPUT_MESSAGES),
        None,
        "an Err has no output"
    );
}

struct Chunk(&'static str, Option<&'static str>);

impl LlmOutput for Chunk {
    fn usage(&self) -> Option<TokenUsage> {
        Some(TokenUsage::new(0, 1))
    }

    fn output_text(&self) -> Option<&str> {
        Some(self.0)
    }

    fn finish_reason(&self) -> Option<&str> {
        self.1
    }
}

struct Chunks(Vec<Chunk>);

impl Stream for Chunks {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Chunk>> {
        if self.0.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(self.0.remove(0)))
        }
    }
}

#[llm_call(provider = "openai", model = "gpt-4o", capture(input = prompt.to_owned()))]
fn stream_chat(prompt: &str) -> impl Stream<Item = Chunk> {
    Chunks(vec![
        Chunk("Hel", None),
        Chunk("lo", None),
        Chunk("!", Some("stop")),
    ])
}

async fn drain<S: Stream>(stream: S) -> usize {
    let mut stream = Box::pin(stream);
    let mut n = 0;
    while poll_fn(|cx| stream.as_mut().poll_next(cx)).await.is_some() {
        n += 1;
    }
    n
}

#[test]
fn streams_concatenate_the_items_text() {
    let h = Harness::install(|b| b.capture_message_content(CaptureMode::SpanAndEvent));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(rt.block_on(drain(stream_chat("hi"))), 3);
    let spans = h.spans();
    let span = one(&spans, CHAT);
    let output = r#"[{"role":"assistant","parts":[{"type":"text","content":"Hello!"}],"finish_reason":"stop"}]"#;
    assert_eq!(attr(span, genai::INPUT_MESSAGES), s(INPUT_HI));
    assert_eq!(attr(span, genai::OUTPUT_MESSAGES), s(output));
    assert_eq!(attr(span, genai::USAGE_OUTPUT_TOKENS), Some(Value::I64(3)));
    assert_eq!(details(span).len(), 1);
}

#[test]
fn streams_capture_nothing_when_off() {
    let h = Harness::install(|b| b);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(rt.block_on(drain(stream_chat("hi"))), 3);
    let spans = h.spans();
    no_content_attributes(one(&spans, CHAT));
}

#[derive(serde::Serialize)]
struct WeatherArgs {
    city: String,
    days: u8,
}

#[derive(serde::Serialize)]
struct Forecast {
    summary: String,
}

#[tool_call(name = "get_weather", capture(arguments = args), err)]
fn get_weather(args: WeatherArgs) -> Result<Forecast, String> {
    if args.city.is_empty() {
        return Err("no city".to_owned());
    }
    Ok(Forecast {
        summary: format!("sunny in {} for {} days", args.city, args.days),
    })
}

#[tool_call(name = "echo", capture(arguments = text))]
fn echo(text: &str) -> String {
    text.to_owned()
}

#[tool_call(name = "ping", capture)]
async fn ping() -> u32 {
    42
}

#[test]
fn tool_arguments_and_result() {
    let h = Harness::install(|b| b.capture_message_content(CaptureMode::SpanOnly));
    let args = |city: &str| WeatherArgs {
        city: city.to_owned(),
        days: 2,
    };
    assert!(get_weather(args("Lisbon")).is_ok());
    assert!(get_weather(args("")).is_err());
    assert_eq!(echo("a \"quoted\" text"), "a \"quoted\" text");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(rt.block_on(ping()), 42);

    let spans = h.spans();
    let weather: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "execute_tool get_weather")
        .collect();
    assert_eq!(weather.len(), 2);
    let ok = weather
        .iter()
        .find(|s| attr(s, "error.type").is_none())
        .expect("the Ok call");
    assert_eq!(
        attr(ok, genai::TOOL_CALL_ARGUMENTS),
        s(r#"{"city":"Lisbon","days":2}"#)
    );
    // The `Ok` value, not `{"Ok": ...}`.
    assert_eq!(
        attr(ok, genai::TOOL_CALL_RESULT),
        s(r#"{"summary":"sunny in Lisbon for 2 days"}"#)
    );
    let failed = weather
        .iter()
        .find(|s| attr(s, "error.type").is_some())
        .expect("the Err call");
    assert_eq!(
        attr(failed, genai::TOOL_CALL_ARGUMENTS),
        s(r#"{"city":"","days":2}"#)
    );
    assert_eq!(attr(failed, genai::TOOL_CALL_RESULT), None);

    // Strings are recorded as they are, not as JSON strings.
    let echo = one(&spans, "execute_tool echo");
    assert_eq!(
        attr(echo, genai::TOOL_CALL_ARGUMENTS),
        s("a \"quoted\" text")
    );
    assert_eq!(attr(echo, genai::TOOL_CALL_RESULT), s("a \"quoted\" text"));

    let ping = one(&spans, "execute_tool ping");
    assert_eq!(attr(ping, genai::TOOL_CALL_ARGUMENTS), None);
    assert_eq!(attr(ping, genai::TOOL_CALL_RESULT), s("42"));
}

#[test]
fn tool_content_off_by_default() {
    let h = Harness::install(|b| b);
    assert!(get_weather(WeatherArgs {
        city: "Porto".to_owned(),
        days: 1,
    })
    .is_ok());
    let spans = h.spans();
    no_content_attributes(one(&spans, "execute_tool get_weather"));
}
