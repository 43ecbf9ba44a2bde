//! `#[llm_call]` on functions returning async-openai's responses (feature `async-openai`):
//! a real `async_openai::Client` talks to an OpenAI-compatible server on 127.0.0.1 (axum,
//! in-process, answering `/v1/chat/completions` as JSON or as a server-sent event stream, and
//! `/v1/embeddings`), and the exported span carries the usage, response model and finish
//! reasons the server sent, with no `LlmOutput` code in the application; the built-in token
//! metrics count them too.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, ChatCompletionStreamOptions, CreateChatCompletionRequest,
    CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
    CreateChatCompletionStreamResponse,
};
use async_openai::types::embeddings::{CreateEmbeddingRequestArgs, CreateEmbeddingResponse};
use async_openai::Client;
use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use futures_core::Stream;
use futures_util::{stream, StreamExt, TryStreamExt};
use opentelemetry::trace::Status;
use opentelemetry::{Array, Value};
use zdk_trace_runtime::genai::CaptureMode;
use zdk_trace_runtime::{llm_call, Config, Telemetry};
use zdk_trace_tests::harness::{attr, one, Harness};
use zdk_trace_tests::scrape::{scrape, value};

// Each test's calls use their own model: the built-in metrics are the process's, and a model
// given as a literal is a label of them (an expression would only be on the span).

/// The dated model the server says answered, as OpenAI does.
fn served(model: &str) -> String {
    format!("{model}-2024-07-18")
}

// ---- the application: no `LlmOutput` impl anywhere ----

#[llm_call(provider = "openai", model = "gpt-4o-mini", err, capture(input = question))]
async fn chat(
    client: &Client<OpenAIConfig>,
    question: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client
        .chat()
        .create(request("gpt-4o-mini", question, false)?)
        .await
}

#[llm_call(provider = "openai", model = "gpt-4.1", err)]
async fn plan(
    client: &Client<OpenAIConfig>,
    question: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client
        .chat()
        .create(request("gpt-4.1", question, false)?)
        .await
}

/// The request is sent when the stream is first polled, inside the span, which lasts until
/// the server's `[DONE]`.
#[llm_call(provider = "openai", model = "gpt-4o", capture(input = question))]
fn chat_stream<'a>(
    client: &'a Client<OpenAIConfig>,
    question: &'a str,
) -> impl Stream<Item = Result<CreateChatCompletionStreamResponse, OpenAIError>> + 'a {
    stream::once(async move {
        client
            .chat()
            .create_stream(request("gpt-4o", question, true)?)
            .await
    })
    .try_flatten()
}

#[llm_call(
    provider = "openai",
    model = "text-embedding-3-small",
    operation = "embeddings"
)]
async fn embed(
    client: &Client<OpenAIConfig>,
    text: &str,
) -> Result<CreateEmbeddingResponse, OpenAIError> {
    let request = CreateEmbeddingRequestArgs::default()
        .model("text-embedding-3-small")
        .input(text)
        .build()?;
    client.embeddings().create(request).await
}

fn request(
    model: &str,
    question: &str,
    stream: bool,
) -> Result<CreateChatCompletionRequest, OpenAIError> {
    let mut request = CreateChatCompletionRequestArgs::default();
    request
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from(question).into()]);
    if stream {
        request.stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        });
    }
    request.build()
}

// ---- the OpenAI-compatible server ----

/// What the server received: each request body, as JSON.
type Received = Arc<Mutex<Vec<serde_json::Value>>>;

struct Server {
    addr: SocketAddr,
    received: Received,
}

impl Server {
    async fn start() -> Server {
        let received = Received::default();
        let (chat_log, embed_log) = (received.clone(), received.clone());
        let app = Router::new()
            .route(
                "/v1/chat/completions",
                post(move |body: Bytes| completions(chat_log.clone(), body)),
            )
            .route(
                "/v1/embeddings",
                post(move |body: Bytes| embeddings(embed_log.clone(), body)),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server { addr, received }
    }

    fn client(&self) -> Client<OpenAIConfig> {
        Client::with_config(
            OpenAIConfig::new()
                .with_api_base(format!("http://{}/v1", self.addr))
                .with_api_key("test"),
        )
    }

    fn received(&self) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn log(received: &Received, body: &Bytes) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("request body: {e}"));
    received
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(json.clone());
    json
}

fn json_response(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Bodies as api.openai.com sends them. The question picks the answer: `"weather?"` gets a
/// tool call, `"fail"` a 400 error, anything else a text answer.
async fn completions(received: Received, body: Bytes) -> Response {
    let request = log(&received, &body);
    let question = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    let served = served(request["model"].as_str().unwrap_or_default());
    if question == "fail" {
        return json_response(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":null}}"#.into(),
        );
    }
    if request["stream"] == serde_json::Value::Bool(true) {
        return sse(question, &served);
    }
    let (message, finish) = if question == "weather?" {
        (
            r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lisbon\"}"}}],"refusal":null,"annotations":[]}"#,
            "tool_calls",
        )
    } else {
        (
            r#"{"role":"assistant","content":"Sunny, 24 degrees.","refusal":null,"annotations":[]}"#,
            "stop",
        )
    };
    json_response(
        StatusCode::OK,
        format!(
            r#"{{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"{served}","choices":[{{"index":0,"message":{message},"logprobs":null,"finish_reason":"{finish}"}}],"usage":{{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{{"cached_tokens":0,"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}},"service_tier":"default","system_fingerprint":"fp_06737a9306"}}"#
        ),
    )
}

/// A streamed answer: a role chunk, three content chunks, the finish chunk, the usage chunk
/// (`include_usage`), `[DONE]`; 10 ms apart, as a model writes.
fn sse(question: &str, served: &str) -> Response {
    let chunk = |choices: &str, usage: &str| {
        format!(
            r#"data: {{"id":"chatcmpl-stream","object":"chat.completion.chunk","created":1741569952,"model":"{served}","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[{choices}],"usage":{usage}}}"#
        ) + "\n\n"
    };
    let delta = |content: &str| {
        format!(
            r#"{{"index":0,"delta":{{"content":{}}},"logprobs":null,"finish_reason":null}}"#,
            serde_json::Value::from(content)
        )
    };
    let mut events = vec![chunk(
        r#"{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}"#,
        "null",
    )];
    for word in ["You asked: ", question, "."] {
        events.push(chunk(&delta(word), "null"));
    }
    events.push(chunk(
        r#"{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}"#,
        "null",
    ));
    events.push(chunk(
        "",
        r#"{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#,
    ));
    events.push("data: [DONE]\n\n".into());
    let body = stream::iter(events).then(|event| async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok::<_, Infallible>(Bytes::from(event))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn embeddings(received: Received, body: Bytes) -> Response {
    log(&received, &body);
    json_response(
        StatusCode::OK,
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,0.015797347]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#.into(),
    )
}

// ---- the tests ----

/// The pipeline, with content capture on (so the completion's text is checked too) and the
/// Prometheus endpoint on a free port.
fn install() -> Harness {
    let config =
        Config::from_toml_str("[telemetry.metrics.prometheus]\nenabled = true\nport = 0\n")
            .unwrap_or_else(|e| panic!("config: {e}"));
    Harness::install(|b| {
        b.config(config)
            .capture_message_content(CaptureMode::SpanOnly)
    })
}

fn strings(values: &[&str]) -> Option<Value> {
    Some(Value::Array(Array::String(
        values.iter().map(|v| v.to_string().into()).collect(),
    )))
}

fn text(value: Option<Value>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The built-in token histogram's sum, scraped from the Prometheus endpoint (a blocking GET,
/// so off the runtime's worker).
fn token_sum(telemetry: &Telemetry, request_model: &str, kind: &str) -> f64 {
    tokio::task::block_in_place(|| scrape_token_sum(telemetry, request_model, kind))
}

fn scrape_token_sum(telemetry: &Telemetry, request_model: &str, kind: &str) -> f64 {
    telemetry
        .force_flush()
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let addr = telemetry
        .prometheus_addr()
        .unwrap_or_else(|| panic!("the endpoint is not running"));
    value(
        &scrape(addr, "/metrics", None).body,
        "gen_ai_client_token_usage_sum",
        &[
            ("gen_ai_request_model", request_model),
            ("gen_ai_response_model", &served(request_model)),
            ("gen_ai_token_type", kind),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_completion_records_usage_model_and_finish_reasons() {
    let h = install();
    let server = Server::start().await;
    let client = server.client();

    let reply = chat(&client, "Weather in Lisbon today?")
        .await
        .unwrap_or_else(|e| panic!("chat: {e}"));
    assert_eq!(reply.model, "gpt-4o-mini-2024-07-18");

    let spans = h.spans();
    let span = one(&spans, "chat gpt-4o-mini");
    assert_eq!(
        attr(span, "gen_ai.usage.input_tokens"),
        Some(Value::I64(19))
    );
    assert_eq!(
        attr(span, "gen_ai.usage.output_tokens"),
        Some(Value::I64(10))
    );
    assert_eq!(
        attr(span, "gen_ai.response.model"),
        Some("gpt-4o-mini-2024-07-18".into())
    );
    assert_eq!(
        attr(span, "gen_ai.request.model"),
        Some("gpt-4o-mini".into())
    );
    assert_eq!(
        attr(span, "gen_ai.response.finish_reasons"),
        strings(&["stop"])
    );
    assert_eq!(
        text(attr(span, "gen_ai.output.messages")),
        r#"[{"role":"assistant","parts":[{"type":"text","content":"Sunny, 24 degrees."}],"finish_reason":"stop"}]"#
    );
    assert_eq!(span.status, Status::Unset);
    // The client sent what the application asked for.
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["model"], "gpt-4o-mini");
    assert_eq!(
        received[0]["messages"][0]["content"],
        "Weather in Lisbon today?"
    );

    assert_eq!(token_sum(&h.telemetry, "gpt-4o-mini", "input"), 19.0);
    assert_eq!(token_sum(&h.telemetry, "gpt-4o-mini", "output"), 10.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_chat_completion_records_the_last_chunks_usage() {
    let h = install();
    let server = Server::start().await;
    let client = server.client();

    let chunks: Vec<CreateChatCompletionStreamResponse> = chat_stream(&client, "rain?")
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("stream: {e}"));
    assert_eq!(chunks.len(), 6, "{chunks:#?}");

    let spans = h.spans();
    let span = one(&spans, "chat gpt-4o");
    assert_eq!(attr(span, "gen_ai.request.stream"), Some(Value::Bool(true)));
    assert_eq!(attr(span, "stream.items"), Some(Value::I64(6)));
    assert_eq!(
        attr(span, "gen_ai.usage.input_tokens"),
        Some(Value::I64(12))
    );
    assert_eq!(
        attr(span, "gen_ai.usage.output_tokens"),
        Some(Value::I64(7))
    );
    assert_eq!(
        attr(span, "gen_ai.response.model"),
        Some("gpt-4o-2024-07-18".into())
    );
    assert_eq!(
        attr(span, "gen_ai.response.finish_reasons"),
        strings(&["length"])
    );
    assert_eq!(
        text(attr(span, "gen_ai.output.messages")),
        r#"[{"role":"assistant","parts":[{"type":"text","content":"You asked: rain?."}],"finish_reason":"length"}]"#
    );
    // The first chunk comes 10 ms after the request, at the earliest.
    let Some(Value::F64(first)) = attr(span, "gen_ai.response.time_to_first_chunk") else {
        panic!("no time to first chunk: {:?}", span.attributes);
    };
    assert!(first >= 0.01, "{first}");
    // The span lasted until `[DONE]`, seven events 10 ms apart.
    let lasted = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default();
    assert!(lasted >= Duration::from_millis(70), "{lasted:?}");

    let received = server.received();
    assert_eq!(received[0]["stream"], true);
    assert_eq!(received[0]["stream_options"]["include_usage"], true);

    assert_eq!(token_sum(&h.telemetry, "gpt-4o", "input"), 12.0);
    assert_eq!(token_sum(&h.telemetry, "gpt-4o", "output"), 7.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_is_a_finish_reason_and_an_api_error_fails_the_span() {
    let h = install();
    let server = Server::start().await;
    let client = server.client();

    let reply = plan(&client, "weather?")
        .await
        .unwrap_or_else(|e| panic!("chat: {e}"));
    assert!(reply.choices[0].message.tool_calls.is_some());
    let error = plan(&client, "fail").await.err();
    assert!(matches!(error, Some(OpenAIError::ApiError(_))), "{error:?}");

    let spans = h.spans();
    let calls: Vec<_> = spans.iter().filter(|s| s.name == "chat gpt-4.1").collect();
    assert_eq!(calls.len(), 2);
    let (tool, failed) = (calls[0], calls[1]);
    assert_eq!(
        attr(tool, "gen_ai.response.finish_reasons"),
        strings(&["tool_call"])
    );
    assert_eq!(
        attr(tool, "gen_ai.usage.output_tokens"),
        Some(Value::I64(10))
    );
    // No text: nothing captured as output.
    assert_eq!(attr(tool, "gen_ai.output.messages"), None);

    assert!(
        matches!(&failed.status, Status::Error { description } if description.contains("Invalid value for 'temperature'")),
        "{:?}",
        failed.status
    );
    assert_eq!(attr(failed, "error.type"), Some("OpenAIError".into()));
    assert_eq!(attr(failed, "gen_ai.usage.input_tokens"), None);
    assert_eq!(attr(failed, "gen_ai.response.model"), None);
    assert_eq!(attr(failed, "gen_ai.response.finish_reasons"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedding_call_records_its_input_tokens() {
    let h = install();
    let server = Server::start().await;
    let client = server.client();

    let reply = embed(&client, "The food was delicious")
        .await
        .unwrap_or_else(|e| panic!("embed: {e}"));
    assert_eq!(reply.data[0].embedding.len(), 3);

    let spans = h.spans();
    let span = one(&spans, "embeddings text-embedding-3-small");
    assert_eq!(
        attr(span, "gen_ai.operation.name"),
        Some("embeddings".into())
    );
    assert_eq!(attr(span, "gen_ai.usage.input_tokens"), Some(Value::I64(8)));
    assert_eq!(
        attr(span, "gen_ai.usage.output_tokens"),
        Some(Value::I64(0))
    );
    assert_eq!(
        attr(span, "gen_ai.response.model"),
        Some("text-embedding-3-small".into())
    );
    assert_eq!(attr(span, "gen_ai.response.finish_reasons"), None);
    assert_eq!(server.received()[0]["input"], "The food was delicious");
}
