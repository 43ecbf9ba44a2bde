//! `#[workflow]` around sub-agents, parallel branches spawned on other tasks included; and
//! `fields(...)` values are computed only for a span that records.

use std::future::Future;
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

/// The iteration events of a span, as (number, timestamp) pairs, and `workflow.iterations`.
fn iterations(span: &opentelemetry_sdk::trace::SpanData) -> (Vec<i64>, Option<Value>) {
    let numbers = span
        .events
        .iter()
        .filter(|e| e.name == "workflow.iteration")
        .map(|e| {
            assert!(e.timestamp >= span.start_time && e.timestamp <= span.end_time);
            match e
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == "workflow.iteration.number")
                .map(|kv| kv.value.clone())
            {
                Some(Value::I64(n)) => n,
                other => panic!("an iteration number: {other:?}"),
            }
        })
        .collect();
    (numbers, attr(span, "workflow.iterations"))
}

#[workflow(kind = "loop", name = "refine")]
fn refine(rounds: u32) -> u32 {
    let mut score = 0;
    for round in 0..rounds {
        if round % 2 == 1 {
            // A `continue` still counts as an iteration.
            continue;
        }
        // A nested loop is part of the outer iteration.
        for _ in 0..3 {
            score += 1;
        }
    }
    score
}

#[workflow(kind = "loop", name = "until_done")]
fn until_done(limit: u32) -> u32 {
    let mut n = 0;
    let found = 'search: loop {
        n += 1;
        let mut inner = 0;
        while inner < 2 {
            inner += 1;
        }
        if n == limit {
            break 'search n * 10;
        }
    };
    let mut drain = 2;
    while drain > 0 {
        drain -= 1;
    }
    found
}

#[derive(Debug)]
struct Exhausted;

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("exhausted")
    }
}

fn step(i: u32, fail_at: u32) -> Result<u32, Exhausted> {
    if i == fail_at {
        Err(Exhausted)
    } else {
        Ok(i)
    }
}

#[workflow(kind = "loop", name = "agent_loop", err)]
async fn agent_loop(fail_at: u32) -> Result<u32, Exhausted> {
    let mut total = 0;
    for i in 1..=5 {
        tokio::task::yield_now().await;
        // An early `?` return still records the iterations done so far.
        total += step(i, fail_at)?;
    }
    Ok(total)
}

#[tokio::test]
async fn loop_iterations_are_events_and_a_total() {
    let h = Harness::install(|b| b);
    assert_eq!(refine(4), 6);
    assert_eq!(until_done(3), 30);
    assert_eq!(agent_loop(0).await.ok(), Some(15));
    assert!(agent_loop(2).await.is_err());

    let spans = h.spans();
    let refine = one(&spans, "invoke_workflow refine");
    assert_eq!(attr(refine, "workflow.type"), Some(Value::from("loop")));
    assert_eq!(iterations(refine), (vec![1, 2, 3, 4], Some(Value::I64(4))));
    // `loop` with `break value` (3 iterations) then a `while` (2); the inner `while` is not
    // counted.
    let until = one(&spans, "invoke_workflow until_done");
    assert_eq!(
        iterations(until),
        (vec![1, 2, 3, 4, 5], Some(Value::I64(5)))
    );
    let agents = all(&spans, "invoke_workflow agent_loop");
    assert_eq!(agents.len(), 2);
    assert_eq!(
        iterations(agents[0]),
        (vec![1, 2, 3, 4, 5], Some(Value::I64(5)))
    );
    assert_eq!(iterations(agents[1]), (vec![1, 2], Some(Value::I64(2))));
    assert_eq!(
        attr(agents[1], "error.type"),
        Some(Value::from("Exhausted"))
    );
    // Events are in iteration order, each timestamped when its iteration started.
    let times: Vec<_> = agents[0]
        .events
        .iter()
        .filter(|e| e.name == "workflow.iteration")
        .map(|e| e.timestamp)
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[workflow(kind = "loop", name = "long_loop")]
fn long_loop(n: u32) -> u32 {
    let mut i = 0;
    while i < n {
        i += 1;
    }
    i
}

#[workflow(kind = "loop", name = "pending_loop")]
async fn pending_loop() {
    loop {
        tokio::task::yield_now().await;
    }
}

#[workflow(kind = "loop", name = "panicking_loop")]
fn panicking_loop() {
    for i in 0..10 {
        assert!(i < 2, "gave up at {i}");
    }
}

#[tokio::test]
async fn iteration_events_are_capped_and_kept_on_cancel_and_panic() {
    let h = Harness::install(|b| b);
    assert_eq!(long_loop(200), 200);
    // Polled three times (an iteration each), then dropped.
    let mut pending = Box::pin(pending_loop());
    for _ in 0..3 {
        std::future::poll_fn(|cx| {
            assert!(pending.as_mut().poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
    }
    drop(pending);
    assert!(std::panic::catch_unwind(panicking_loop).is_err());

    let spans = h.spans();
    let long = one(&spans, "invoke_workflow long_loop");
    let (numbers, total) = iterations(long);
    assert_eq!(numbers, (1..=64).collect::<Vec<i64>>());
    assert_eq!(total, Some(Value::I64(200)));
    let pending = one(&spans, "invoke_workflow pending_loop");
    assert_eq!(attr(pending, "cancelled"), Some(Value::Bool(true)));
    assert_eq!(iterations(pending), (vec![1, 2, 3], Some(Value::I64(3))));
    let panicked = one(&spans, "invoke_workflow panicking_loop");
    assert_eq!(attr(panicked, "error.type"), Some(Value::from("panic")));
    assert_eq!(iterations(panicked), (vec![1, 2, 3], Some(Value::I64(3))));
}

#[workflow(kind = "sequential", name = "not_a_loop")]
fn not_a_loop() -> u32 {
    (0..3).map(|i| i * 2).sum::<u32>() + {
        let mut n = 0;
        for _ in 0..2 {
            n += 1;
        }
        n
    }
}

#[test]
fn only_loop_workflows_count_iterations() {
    let h = Harness::install(|b| b);
    assert_eq!(not_a_loop(), 8);
    let spans = h.spans();
    let span = one(&spans, "invoke_workflow not_a_loop");
    assert_eq!(iterations(span), (vec![], None));
}
