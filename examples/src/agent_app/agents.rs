//! The agents: an LLM agent in three roles (planner, researcher, critic) and the workflow
//! agents that run them in sequence, in parallel on several tasks, and in a loop.

use std::fmt;

use futures_util::StreamExt;
use zdk_trace_runtime::{agent_span, usage_event, workflow, ErrorType};

use crate::model::SimulatedModel;
use crate::tools;

/// How many rounds the `refine` loop runs.
pub const REFINE_ROUNDS: u32 = 3;
/// The topics of the parallel `research` workflow, one task each.
pub const RESEARCH_TOPICS: [&str; 3] = ["weather", "food", "transport"];

/// Why a turn failed.
#[derive(Debug)]
pub enum AgentError {
    /// A parallel branch panicked or was cancelled.
    Branch(String),
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentError::Branch(why) => write!(f, "a parallel branch failed: {why}"),
        }
    }
}

impl std::error::Error for AgentError {}

impl ErrorType for AgentError {
    fn error_type(&self) -> &'static str {
        match self {
            AgentError::Branch(_) => "branch_failed",
        }
    }
}

/// An LLM agent: it prompts the model, streams the answer and, as planner, calls tools.
#[derive(Debug, Clone)]
pub struct LlmAgent {
    /// `gen_ai.agent.id`.
    id: String,
    model: SimulatedModel,
}

impl LlmAgent {
    /// An agent with id `id` using `model`.
    pub fn new(id: impl Into<String>, model: SimulatedModel) -> LlmAgent {
        LlmAgent {
            id: id.into(),
            model,
        }
    }

    /// Plans the trip: asks the model, runs the two tools it asks for (one fails, and the
    /// planner carries on without it, as agents do), and asks the model for the answer.
    #[agent_span(name = "planner", id = self.id, conversation = conversation)]
    #[usage_event(name = "agent.run", fields(agent.type = "llm", agent.framework = "zdk"))]
    pub async fn plan(&self, conversation: &str, request: &str) -> String {
        let plan = self.complete(&format!("[plan] {request}")).await;
        let weather = match tools::get_weather("call_1", "Lisbon").await {
            Ok(forecast) => forecast,
            Err(e) => format!("no forecast ({e})"),
        };
        let flights = match tools::search_flights("call_2", "BER", "LIS").await {
            Ok(flights) => flights.join(", "),
            Err(e) => format!("no flights ({e})"),
        };
        self.complete(&format!(
            "[answer] {request} plan: {plan} weather: {weather} flights: {flights}"
        ))
        .await
    }

    /// Researches one topic: one model call.
    #[agent_span(name = "researcher", id = self.id, conversation = conversation)]
    #[usage_event(name = "agent.run", fields(agent.type = "llm", agent.framework = "zdk"))]
    pub async fn research(&self, conversation: &str, topic: &str) -> String {
        self.complete(&format!("[research] {topic}")).await
    }

    /// Critiques a draft: one model call.
    #[agent_span(name = "critic", id = self.id, conversation = conversation)]
    #[usage_event(name = "agent.run", fields(agent.type = "llm", agent.framework = "zdk"))]
    pub async fn critique(&self, conversation: &str, draft: &str) -> String {
        let note = self.complete(&format!("[critique] {draft}")).await;
        format!("{draft} ({note})")
    }

    /// Streams the model's answer and joins the chunks, as a chat UI would show them.
    async fn complete(&self, prompt: &str) -> String {
        let mut stream = std::pin::pin!(self.model.stream_chat(prompt));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&chunk.text);
        }
        text
    }
}

/// The workflow agents, each wrapping LLM agents.
#[derive(Debug, Clone)]
pub struct TripPlanner {
    planner: LlmAgent,
    researchers: Vec<LlmAgent>,
    critic: LlmAgent,
}

impl TripPlanner {
    /// The agents of the app, all on `model`.
    pub fn new(model: &SimulatedModel) -> TripPlanner {
        TripPlanner {
            planner: LlmAgent::new("planner-1", model.clone()),
            researchers: (1..=RESEARCH_TOPICS.len())
                .map(|n| LlmAgent::new(format!("researcher-{n}"), model.clone()))
                .collect(),
            critic: LlmAgent::new("critic-1", model.clone()),
        }
    }

    /// The whole turn: plan, then research in parallel, then refine in a loop.
    #[workflow(kind = "sequential", name = "trip_planner", err)]
    pub async fn run(&self, conversation: &str, request: &str) -> Result<String, AgentError> {
        let plan = self.planner.plan(conversation, request).await;
        let notes = self.research(conversation).await?;
        let draft = format!("{plan} Notes: {}", notes.join(" "));
        Ok(self.refine(conversation, draft).await)
    }

    /// One researcher per topic, each on its own tokio task: `zdk_trace_runtime::spawn`
    /// keeps this workflow's span as the parent of the spans the tasks record.
    #[workflow(kind = "parallel", name = "research", err)]
    pub async fn research(&self, conversation: &str) -> Result<Vec<String>, AgentError> {
        let branches: Vec<_> = self
            .researchers
            .iter()
            .zip(RESEARCH_TOPICS)
            .map(|(agent, topic)| {
                let agent = agent.clone();
                let conversation = conversation.to_owned();
                zdk_trace_runtime::spawn(async move { agent.research(&conversation, topic).await })
            })
            .collect();
        let mut notes = Vec::with_capacity(branches.len());
        for branch in branches {
            notes.push(
                branch
                    .await
                    .map_err(|e| AgentError::Branch(e.to_string()))?,
            );
        }
        Ok(notes)
    }

    /// The critic improves the draft [`REFINE_ROUNDS`] times; each round is a
    /// `workflow.iteration` event on the span.
    #[workflow(kind = "loop", name = "refine")]
    pub async fn refine(&self, conversation: &str, mut draft: String) -> String {
        for _round in 0..REFINE_ROUNDS {
            draft = self.critic.critique(conversation, &draft).await;
        }
        draft
    }
}
