//! The runner: it receives a user message, finds the session, runs the workflow and records
//! the exchange in the session, as an agent framework's runner does for each request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use zdk_trace_runtime::{span, Counter, KeyValue, Telemetry};

use crate::agents::{AgentError, TripPlanner};

/// Who wrote a session event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The person talking to the agent.
    User,
    /// The agent.
    Agent,
}

impl Author {
    /// The `session.event.author` attribute.
    fn as_str(self) -> &'static str {
        match self {
            Author::User => "user",
            Author::Agent => "agent",
        }
    }
}

/// The application's own metric, next to the built-in ones: session events by author
/// (`session.events`, what the design documents call `session.events.count`).
static SESSION_EVENTS: OnceLock<Counter<u64>> = OnceLock::new();

/// Counts session events with a counter of `telemetry`'s `Meter`.
pub fn count_session_events(telemetry: &Telemetry) {
    let counter = telemetry
        .meter("agent_app")
        .u64_counter("session.events")
        .with_unit("{event}")
        .with_description("Events appended to sessions, by author")
        .build();
    let _ = SESSION_EVENTS.set(counter);
}

/// One message of a session: who wrote it, and what.
type Event = (Author, String);

/// In-memory sessions, keyed by id (a real app would use a database).
#[derive(Debug, Clone, Default)]
pub struct SessionStore {
    sessions: Arc<Mutex<HashMap<String, Vec<Event>>>>,
}

impl SessionStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<Event>>> {
        // A panic elsewhere cannot leave the map half-updated: every update is one call.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates session `id` unless it exists; returns how many events it holds.
    #[span(name = "session.get_or_create", fields(session.id = id.to_owned()))]
    pub fn get_or_create(&self, id: &str) -> usize {
        self.lock().entry(id.to_owned()).or_default().len()
    }

    /// Appends a message to session `id`; returns the new event count.
    #[span(
        name = "session.append_event",
        fields(session.id = id.to_owned(), session.event.author = author.as_str())
    )]
    pub fn append_event(&self, id: &str, author: Author, text: &str) -> usize {
        let mut sessions = self.lock();
        let events = sessions.entry(id.to_owned()).or_default();
        events.push((author, text.to_owned()));
        if let Some(counter) = SESSION_EVENTS.get() {
            counter.add(1, &[KeyValue::new("session.event.author", author.as_str())]);
        }
        events.len()
    }
}

/// Runs turns of a conversation through the trip-planning workflow.
#[derive(Debug)]
pub struct Runner {
    sessions: SessionStore,
    workflow: TripPlanner,
}

impl Runner {
    /// A runner with an empty session store.
    pub fn new(workflow: TripPlanner) -> Runner {
        Runner {
            sessions: SessionStore::default(),
            workflow,
        }
    }

    /// One turn: the root span of its trace (`SERVER`, as a request handler's would be).
    #[span(
        name = "runner.run",
        kind = server,
        fields(session.id = session_id.to_owned(), turn = i64::from(turn)),
        err
    )]
    pub async fn run(
        &self,
        session_id: &str,
        turn: u32,
        message: &str,
    ) -> Result<String, AgentError> {
        self.sessions.get_or_create(session_id);
        self.sessions
            .append_event(session_id, Author::User, message);
        let answer = self.workflow.run(session_id, message).await?;
        self.sessions
            .append_event(session_id, Author::Agent, &answer);
        Ok(answer)
    }
}
