//! A simulated chat model that streams its answer token by token, as a real provider's
//! streaming API does, with no network.
//!
//! The answer depends only on the prompt, so every run produces the same chunks and the same
//! token counts (the tests rely on it). Usage is reported on the last chunk only, the way
//! OpenAI's `stream_options.include_usage` does; `#[llm_call]` sums usage over the chunks, so
//! the span carries the call's totals.

use std::time::Duration;

use futures_util::stream::{self, Stream};
use zdk_trace_runtime::genai::{LlmOutput, TokenUsage};
use zdk_trace_runtime::llm_call;

/// The model that "answers" (`gen_ai.response.model`): providers report a dated snapshot.
pub const RESPONSE_MODEL: &str = "sim-chat-1-2025-06-01";

/// One streamed piece of a completion.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The text of this piece: one word and the space after it.
    pub text: String,
    /// Set on the last chunk only.
    usage: Option<TokenUsage>,
    /// Set on the last chunk only.
    finish_reason: Option<&'static str>,
}

impl LlmOutput for Chunk {
    fn usage(&self) -> Option<TokenUsage> {
        self.usage
    }

    fn response_model(&self) -> Option<&str> {
        Some(RESPONSE_MODEL)
    }

    fn output_text(&self) -> Option<&str> {
        Some(&self.text)
    }

    fn finish_reason(&self) -> Option<&str> {
        self.finish_reason
    }
}

/// The simulated model client.
#[derive(Debug, Clone)]
pub struct SimulatedModel {
    /// Time to the first token; each later token takes a tenth of it.
    delay: Duration,
}

impl SimulatedModel {
    /// A model that answers after `delay`.
    pub fn new(delay: Duration) -> SimulatedModel {
        SimulatedModel { delay }
    }

    /// Streams the answer to `prompt`. The span (`chat sim-chat-1`, kind `CLIENT`) lasts until
    /// the stream ends, so its duration is the whole generation, and it records the summed
    /// token usage, `stream.items` and the time to the first chunk.
    #[llm_call(
        provider = "simulated",
        model = "sim-chat-1",
        temperature = 0.2,
        max_tokens = 256,
        capture(input = prompt)
    )]
    pub fn stream_chat(&self, prompt: &str) -> impl Stream<Item = Chunk> + Send + 'static {
        let words: Vec<String> = answer_to(prompt)
            .split_inclusive(' ')
            .map(str::to_owned)
            .collect();
        let input_tokens = count_tokens(prompt);
        let output_tokens = u64::try_from(words.len()).unwrap_or(u64::MAX);
        let first = self.delay;
        let next = self.delay / 10;
        stream::unfold(
            (words.into_iter().enumerate().peekable(), first, next),
            move |(mut words, first, next)| async move {
                let (index, text) = words.next()?;
                tokio::time::sleep(if index == 0 { first } else { next }).await;
                let last = words.peek().is_none();
                let chunk = Chunk {
                    text,
                    usage: last.then(|| TokenUsage::new(input_tokens, output_tokens)),
                    finish_reason: last.then_some("stop"),
                };
                Some((chunk, (words, first, next)))
            },
        )
    }
}

/// Tokens in `text`, as the simulation counts them: one per word.
pub fn count_tokens(text: &str) -> u64 {
    u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX)
}

/// The canned answer to a prompt, chosen by the tag the agents put first.
fn answer_to(prompt: &str) -> String {
    let tag = prompt.split_whitespace().next().unwrap_or_default();
    match tag {
        "[plan]" => "I will check the weather with get_weather and look for flights with \
                     search_flights."
            .to_owned(),
        "[answer]" => "Lisbon will be sunny; no flights could be found in time, so I suggest \
                       the train."
            .to_owned(),
        "[research]" => {
            let topic = prompt.split_whitespace().nth(1).unwrap_or("the trip");
            format!("Three facts about {topic} worth knowing before you go.")
        }
        "[critique]" => "Tighten the plan and keep it short.".to_owned(),
        _ => "I do not know.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_deterministic() {
        assert_eq!(count_tokens(&answer_to("[plan] x")), 13);
        assert_eq!(count_tokens(&answer_to("[critique] x")), 7);
        assert_eq!(answer_to("[research] food"), answer_to("[research] food"));
    }
}
