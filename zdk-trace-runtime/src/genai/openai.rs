//! [`LlmOutput`] for the responses of [async-openai] 0.43 (feature `async-openai`), so that
//! `#[llm_call]` on a function returning one records its token usage, response model and finish
//! reasons with no code: the chat completion response, its stream chunk, and the embedding
//! responses.
//!
//! A finish reason is written as the GenAI conventions' output messages schema names it:
//! `stop`, `length`, `content_filter`, and `tool_call` for OpenAI's `tool_calls` and its
//! deprecated `function_call`. The completion text (recorded only when capturing content) is
//! the first choice's: its message content, else its refusal.
//!
//! [async-openai]: https://docs.rs/async-openai/0.43

use async_openai::types::chat::{
    ChatChoice, ChatChoiceStream, CompletionUsage, CreateChatCompletionResponse,
    CreateChatCompletionStreamResponse, FinishReason,
};
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingResponse, EmbeddingUsage,
};

use super::{LlmOutput, TokenUsage};

/// The conventions' name of an OpenAI finish reason.
fn reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::ToolCalls | FinishReason::FunctionCall => "tool_call",
    }
}

fn chat_usage(usage: &CompletionUsage) -> TokenUsage {
    TokenUsage::new(
        u64::from(usage.prompt_tokens),
        u64::from(usage.completion_tokens),
    )
}

/// An embedding call reads its input and generates no token.
fn embedding_usage(usage: &EmbeddingUsage) -> TokenUsage {
    TokenUsage::new(u64::from(usage.prompt_tokens), 0)
}

/// The first choice (index 0): the one whose text is captured. Choices arrive in index order,
/// but a stream chunk may carry another choice alone.
fn first_choice(choices: &[ChatChoice]) -> Option<&ChatChoice> {
    choices.iter().find(|c| c.index == 0)
}

fn first_stream_choice(choices: &[ChatChoiceStream]) -> Option<&ChatChoiceStream> {
    choices.iter().find(|c| c.index == 0)
}

/// A chat completion (`client.chat().create(request)`): usage, `model`, each choice's finish
/// reason, and the first choice's text.
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
impl LlmOutput for CreateChatCompletionResponse {
    fn usage(&self) -> Option<TokenUsage> {
        self.usage.as_ref().map(chat_usage)
    }

    fn response_model(&self) -> Option<&str> {
        Some(&self.model)
            .filter(|m| !m.is_empty())
            .map(String::as_str)
    }

    fn output_text(&self) -> Option<&str> {
        let message = &first_choice(&self.choices)?.message;
        message.content.as_deref().or(message.refusal.as_deref())
    }

    fn finish_reason(&self) -> Option<&str> {
        first_choice(&self.choices)?.finish_reason.map(reason)
    }

    fn finish_reasons(&self) -> Vec<&str> {
        self.choices
            .iter()
            .filter_map(|c| c.finish_reason.map(reason))
            .collect()
    }
}

/// One chunk of a streamed chat completion (`client.chat().create_stream(request)`): the
/// chunk's text and finish reasons; the usage is on the last chunk only, and only when the
/// request asks for it (`stream_options: {"include_usage": true}`).
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
impl LlmOutput for CreateChatCompletionStreamResponse {
    fn usage(&self) -> Option<TokenUsage> {
        self.usage.as_ref().map(chat_usage)
    }

    fn response_model(&self) -> Option<&str> {
        Some(&self.model)
            .filter(|m| !m.is_empty())
            .map(String::as_str)
    }

    fn output_text(&self) -> Option<&str> {
        let delta = &first_stream_choice(&self.choices)?.delta;
        delta.content.as_deref().or(delta.refusal.as_deref())
    }

    fn finish_reason(&self) -> Option<&str> {
        first_stream_choice(&self.choices)?
            .finish_reason
            .map(reason)
    }

    fn finish_reasons(&self) -> Vec<&str> {
        self.choices
            .iter()
            .filter_map(|c| c.finish_reason.map(reason))
            .collect()
    }
}

/// Embeddings (`client.embeddings().create(request)`): the input tokens (output tokens 0) and
/// `model`.
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
impl LlmOutput for CreateEmbeddingResponse {
    fn usage(&self) -> Option<TokenUsage> {
        Some(embedding_usage(&self.usage))
    }

    fn response_model(&self) -> Option<&str> {
        Some(&self.model)
            .filter(|m| !m.is_empty())
            .map(String::as_str)
    }
}

/// Embeddings as base64 (`client.embeddings().create_base64(request)`): as
/// [`CreateEmbeddingResponse`].
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
impl LlmOutput for CreateBase64EmbeddingResponse {
    fn usage(&self) -> Option<TokenUsage> {
        Some(embedding_usage(&self.usage))
    }

    fn response_model(&self) -> Option<&str> {
        Some(&self.model)
            .filter(|m| !m.is_empty())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response as the API sends it, through async-openai's own deserializer.
    fn chat(json: &str) -> CreateChatCompletionResponse {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    #[test]
    fn every_finish_reason_has_the_conventions_name() {
        let cases = [
            ("stop", "stop"),
            ("length", "length"),
            ("content_filter", "content_filter"),
            ("tool_calls", "tool_call"),
            ("function_call", "tool_call"),
        ];
        for (wire, name) in cases {
            let reply = chat(&format!(
                r#"{{"id":"c","object":"chat.completion","created":1,"model":"m",
                    "choices":[{{"index":0,"message":{{"role":"assistant","content":"x"}},
                    "finish_reason":"{wire}"}}]}}"#
            ));
            assert_eq!(reply.finish_reason(), Some(name), "{wire}");
            assert_eq!(reply.finish_reasons(), [name], "{wire}");
        }
    }

    #[test]
    fn several_choices_list_each_reason_and_capture_the_first_text() {
        let reply = chat(
            r#"{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18",
                "choices":[
                  {"index":1,"message":{"role":"assistant","content":"second"},"finish_reason":"length"},
                  {"index":0,"message":{"role":"assistant","content":null,"refusal":"no"},"finish_reason":"content_filter"}],
                "usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,
                  "prompt_tokens_details":{"cached_tokens":4},
                  "completion_tokens_details":{"reasoning_tokens":3}}}"#,
        );
        assert_eq!(reply.usage(), Some(TokenUsage::new(9, 12)));
        assert_eq!(reply.response_model(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(reply.finish_reasons(), ["length", "content_filter"]);
        assert_eq!(reply.finish_reason(), Some("content_filter"));
        assert_eq!(reply.output_text(), Some("no"));
    }

    #[test]
    fn a_chunk_without_usage_or_choices_reports_none() {
        let chunk: CreateChatCompletionStreamResponse = serde_json::from_str(
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"",
                "choices":[],"usage":null}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chunk.usage(), None);
        assert_eq!(chunk.response_model(), None);
        assert_eq!(chunk.output_text(), None);
        assert!(chunk.finish_reasons().is_empty());
    }

    #[test]
    fn embeddings_report_input_tokens_only() {
        let reply: CreateEmbeddingResponse = serde_json::from_str(
            r#"{"object":"list","model":"text-embedding-3-small",
                "data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],
                "usage":{"prompt_tokens":8,"total_tokens":8}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.usage(), Some(TokenUsage::new(8, 0)));
        assert_eq!(reply.response_model(), Some("text-embedding-3-small"));
        assert!(reply.finish_reasons().is_empty());
    }
}
