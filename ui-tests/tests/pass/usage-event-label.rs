// An enum label through `UsageLabel`, on every shape, stays `Send` and keeps its signature.
#![deny(warnings)]
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use zdk_trace_runtime::usage::UsageLabel;
use zdk_trace_runtime::usage_event;

#[derive(Clone, Copy)]
enum AgentType {
    React,
    Planner,
}

impl UsageLabel for AgentType {
    fn label(&self) -> &'static str {
        match self {
            AgentType::React => "react",
            AgentType::Planner => "planner",
        }
    }
}

struct Agent {
    kind: AgentType,
    name: String,
}

impl Agent {
    #[usage_event(name = "agent.run", fields(agent.type = self.kind))]
    fn run(&self) -> &str {
        &self.name
    }

    #[usage_event(name = "agent.run", fields(agent.type = self.kind))]
    async fn run_async(&mut self) -> Result<usize, std::io::Error> {
        Ok(self.name.len())
    }

    #[usage_event(name = "agent.run", fields(agent.type = self.kind))]
    fn run_boxed(&self) -> Pin<Box<dyn Future<Output = usize> + Send + '_>> {
        Box::pin(async move { self.name.len() })
    }
}

fn is_send<T: Send>(_: &T) {}

#[usage_event(name = "agent.never")]
async fn never() -> ! {
    loop {
        std::future::pending::<()>().await;
    }
}

fn main() {
    let mut agent = Agent { kind: AgentType::Planner, name: "a".into() };
    assert_eq!(agent.run(), "a");
    is_send(&agent.run_async());
    let _ = agent.run_boxed();
    let _ = AgentType::React;
}
