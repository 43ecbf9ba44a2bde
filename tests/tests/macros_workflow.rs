//! `#[workflow]` around sub-agents, parallel branches spawned on other tasks included; and
//! `fields(...)` values are computed only for a span that records.

use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::Value;
use zdk_trace_runtime::{agent_span, span, workflow, Sampler};
use zdk_trace_tests::harness::{all, assert_child_of, attr, one, Harness};

#[agent_span(name = "researcher", id = branch)]
async fn research(branch: u32) -> u32 {
    tokio::task::yield_now().await;
    branch * 10
}

#[workflow(kind = "parallel", name = "fanout")]
async fn fanout() -> u32 {
    let mut handles = Vec::new();
    for branch in 0..3 {
        // `spawn` keeps the current span (the workflow) as the parent on the new task.
        handles.push(zdk_trace_runtime::spawn(research(branch)));
    }
    let mut total = 0;
    for handle in handles {
        total += handle.await.unwrap_or_default();
    }
    total
}

#[workflow(kind = "sequential", name = "pipeline")]
async fn pipeline() -> u32 {
    research(1).await + research(2).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_agents_nest_under_workflows_across_tasks() {
    let h = Harness::install(|b| b);
    assert_eq!(fanout().await, 30);
    assert_eq!(pipeline().await, 30);
    let spans = h.spans();
    let fan = one(&spans, "invoke_workflow fanout");
    assert_eq!(attr(fan, "workflow.type"), Some(Value::from("parallel")));
    let seq = one(&spans, "invoke_workflow pipeline");
    assert_eq!(attr(seq, "workflow.type"), Some(Value::from("sequential")));
    let agents = all(&spans, "invoke_agent researcher");
    assert_eq!(agents.len(), 5);
    let under = |parent: &opentelemetry_sdk::trace::SpanData| {
        agents
            .iter()
            .filter(|a| a.parent_span_id == parent.span_context.span_id())
            .count()
    };
    assert_eq!(under(fan), 3);
    assert_eq!(under(seq), 2);
    for agent in agents {
        if agent.parent_span_id == fan.span_context.span_id() {
            assert_child_of(agent, fan);
        }
    }
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn expensive() -> i64 {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    1
}

#[span(name = "lazy", fields(cost = expensive()))]
fn lazy() {}

#[test]
fn field_values_are_computed_only_when_the_span_records() {
    {
        let h = Harness::install(|b| b.sampler(Sampler::AlwaysOff));
        lazy();
        assert!(h.spans().is_empty());
        assert_eq!(EVALUATED.load(Ordering::SeqCst), 0);
    }
    let h = Harness::install(|b| b);
    lazy();
    assert_eq!(EVALUATED.load(Ordering::SeqCst), 1);
    assert_eq!(attr(one(&h.spans(), "lazy"), "cost"), Some(Value::I64(1)));
}
