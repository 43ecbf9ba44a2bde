//! Async code: an instrumented future's span is current across `.await`, sibling futures on one
//! task keep their own parents, context follows spawned tasks, and nothing leaks between tasks
//! of a multi-threaded runtime.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::trace::SpanId;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use tokio::task::yield_now;
use tokio::time::sleep;
use zdk_trace_runtime::{FutureExt, Span};
use zdk_trace_tests::harness::{all, assert_child_of, assert_root, attr, one, Harness};

fn duration(span: &SpanData) -> Duration {
    span.end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
}

#[tokio::test]
async fn span_is_current_across_await_points() {
    let h = Harness::install(|b| b);
    async {
        let _first = Span::start("before await");
        yield_now().await;
        let _second = Span::start("after yield_now");
        sleep(Duration::from_millis(5)).await;
        let _third = Span::start("after sleep");
        sleep(Duration::from_millis(1))
            .instrument(Span::start("instrumented sleep"))
            .await;
        let _fourth = Span::start("after instrumented sleep");
    }
    .instrument(Span::start("handler"))
    .await;
    // Nothing is current once the instrumented future has finished.
    drop(Span::start("after handler"));

    let spans = h.spans();
    assert_eq!(spans.len(), 7);
    let handler = one(&spans, "handler");
    assert_root(handler);
    for name in [
        "before await",
        "after yield_now",
        "after sleep",
        "instrumented sleep",
        "after instrumented sleep",
    ] {
        assert_child_of(one(&spans, name), handler);
    }
    assert_root(one(&spans, "after handler"));
    assert_eq!(attr(handler, "cancelled"), None);
}

/// Two instrumented futures polled in turn by `join!` on one task: each poll enters only its
/// own span, so children never end up under the sibling.
#[tokio::test]
async fn join_siblings_on_one_task_keep_their_own_children() {
    let h = Harness::install(|b| b);
    let branch = |name: &'static str| {
        async move {
            yield_now().await;
            let _first = Span::start(format!("{name}.1"));
            yield_now().await;
            let _second = Span::start(format!("{name}.2"));
            sleep(Duration::from_millis(2))
                .instrument(Span::start(format!("{name}.sleep")))
                .await;
            let _third = Span::start(format!("{name}.3"));
        }
        .instrument(Span::start(name))
    };
    async {
        tokio::join!(branch("a"), branch("b"));
        let _after = Span::start("after join");
    }
    .instrument(Span::start("request"))
    .await;

    let spans = h.spans();
    assert_eq!(spans.len(), 1 + 2 * 5 + 1);
    let request = one(&spans, "request");
    assert_root(request);
    assert_child_of(one(&spans, "after join"), request);
    for name in ["a", "b"] {
        let parent = one(&spans, name);
        assert_child_of(parent, request);
        for child in [".1", ".2", ".sleep", ".3"] {
            assert_child_of(one(&spans, &format!("{name}{child}")), parent);
        }
    }
    // The branches really interleaved: each started its first child before the other its last.
    assert!(one(&spans, "a.1").start_time <= one(&spans, "b.3").start_time);
    assert!(one(&spans, "b.1").start_time <= one(&spans, "a.3").start_time);
}

/// `select!` polls both branches until one wins; the loser's children stay under the loser.
#[tokio::test]
async fn select_siblings_on_one_task_keep_their_own_children() {
    let h = Harness::install(|b| b);
    let fast = async {
        yield_now().await;
        let _c = Span::start("fast.child");
        sleep(Duration::from_millis(20)).await;
        let _c = Span::start("fast.after sleep");
        "fast"
    }
    .instrument(Span::start("fast"));
    let slow = async {
        yield_now().await;
        let _c = Span::start("slow.child");
        sleep(Duration::from_secs(30)).await;
        let _c = Span::start("slow.never");
        "slow"
    }
    .instrument(Span::start("slow"));
    let winner = async {
        tokio::select! {
            w = fast => w,
            w = slow => w,
        }
    }
    .instrument(Span::start("race"))
    .await;
    assert_eq!(winner, "fast");

    let spans = h.spans();
    let race = one(&spans, "race");
    let fast = one(&spans, "fast");
    let slow = one(&spans, "slow");
    // Both were created outside "race", before it was polled.
    assert_root(fast);
    assert_root(slow);
    assert_child_of(one(&spans, "fast.child"), fast);
    assert_child_of(one(&spans, "fast.after sleep"), fast);
    assert_child_of(one(&spans, "slow.child"), slow);
    assert!(all(&spans, "slow.never").is_empty());
    assert_eq!(spans.len(), 6);
    assert_eq!(attr(slow, "cancelled"), Some(Value::Bool(true)));
    assert_eq!(attr(fast, "cancelled"), None);
    assert_root(race);
}

#[tokio::test]
async fn nested_instrumented_futures_form_a_chain() {
    let h = Harness::install(|b| b);
    async {
        async {
            async {
                yield_now().await;
                let _leaf = Span::start("leaf");
            }
            .instrument(Span::start("inner"))
            .await;
            // `inner` has finished: this one belongs to `middle` again.
            let _after_inner = Span::start("middle.after inner");
        }
        .instrument(Span::start("middle"))
        .await;
        sleep(Duration::from_millis(1)).await;
        let _after_middle = Span::start("outer.after middle");
    }
    .instrument(Span::start("outer"))
    .await;

    let spans = h.spans();
    assert_eq!(spans.len(), 6);
    let outer = one(&spans, "outer");
    let middle = one(&spans, "middle");
    let inner = one(&spans, "inner");
    assert_root(outer);
    assert_child_of(middle, outer);
    assert_child_of(inner, middle);
    assert_child_of(one(&spans, "leaf"), inner);
    assert_child_of(one(&spans, "middle.after inner"), middle);
    assert_child_of(one(&spans, "outer.after middle"), outer);
    assert!(inner.end_time <= middle.end_time && middle.end_time <= outer.end_time);
}

#[tokio::test]
async fn in_current_span_carries_the_parent_into_a_spawned_task() {
    let h = Harness::install(|b| b);
    let task = {
        let _parent = Span::start("parent").entered();
        async {
            yield_now().await;
            let _child = Span::start("in task");
        }
        .in_current_span()
    };
    // "parent" has ended and is no longer current; the task still knows it.
    tokio::spawn(task).await.expect("task");
    // A task spawned without the context starts its own trace.
    let plain = {
        let _parent = Span::start("other parent").entered();
        tokio::spawn(async {
            let _orphan = Span::start("plain tokio::spawn");
        })
    };
    plain.await.expect("task");

    let spans = h.spans();
    assert_eq!(spans.len(), 4);
    assert_child_of(one(&spans, "in task"), one(&spans, "parent"));
    assert_root(one(&spans, "plain tokio::spawn"));
}

#[tokio::test]
async fn spawn_keeps_the_parent_across_tasks() {
    let h = Harness::install(|b| b);
    async {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                zdk_trace_runtime::spawn(async move {
                    sleep(Duration::from_millis(1)).await;
                    async move {
                        // A task spawned from a task keeps the chain going.
                        zdk_trace_runtime::spawn(async move {
                            yield_now().await;
                            let _sub = Span::start(format!("sub {i}"));
                        })
                        .await
                        .expect("sub task");
                    }
                    .instrument(Span::start(format!("worker {i}")))
                    .await;
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task");
        }
    }
    .instrument(Span::start("fan out"))
    .await;

    let spans = h.spans();
    assert_eq!(spans.len(), 7);
    let root = one(&spans, "fan out");
    for i in 0..3 {
        let worker = one(&spans, &format!("worker {i}"));
        assert_child_of(worker, root);
        assert_child_of(one(&spans, &format!("sub {i}")), worker);
    }
}

/// While an instrumented task waits, other tasks polled on the same thread must not see its
/// span as current.
#[tokio::test]
async fn a_pending_future_leaves_nothing_current() {
    let h = Harness::install(|b| b);
    let waiting = tokio::spawn(
        async {
            sleep(Duration::from_millis(20)).await;
        }
        .instrument(Span::start("waiting")),
    );
    // Let "waiting" be polled once and park on its sleep.
    yield_now().await;
    let bystander = tokio::spawn(async {
        let _span = Span::start("bystander");
    });
    bystander.await.expect("task");
    waiting.await.expect("task");
    drop(Span::start("test body"));

    let spans = h.spans();
    assert_eq!(spans.len(), 3);
    assert_root(one(&spans, "bystander"));
    assert_root(one(&spans, "test body"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_migrating_between_workers_keep_their_trees() {
    const TASKS: usize = 200;
    let h = Harness::install(|b| b);
    let handles: Vec<_> = (0..TASKS)
        .map(|i| {
            tokio::spawn(
                async move {
                    yield_now().await;
                    let _first = Span::start(format!("first {i}"));
                    sleep(Duration::from_millis((i % 5) as u64)).await;
                    async move {
                        yield_now().await;
                        let _leaf = Span::start(format!("leaf {i}"));
                        sleep(Duration::from_millis(1)).await;
                    }
                    .instrument(Span::start(format!("step {i}")))
                    .await;
                    yield_now().await;
                    let _last = Span::start(format!("last {i}"));
                }
                .instrument(Span::builder(format!("task {i}")).root().start()),
            )
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }

    let spans = h.spans();
    assert_eq!(spans.len(), TASKS * 5);
    let by_name: HashMap<String, &SpanData> =
        spans.iter().map(|s| (s.name.to_string(), s)).collect();
    assert_eq!(by_name.len(), TASKS * 5, "span names are not unique");
    let mut trace_ids = std::collections::HashSet::new();
    for i in 0..TASKS {
        let task = by_name[&format!("task {i}")];
        assert_eq!(task.parent_span_id, SpanId::INVALID);
        assert!(trace_ids.insert(task.span_context.trace_id()));
        let step = by_name[&format!("step {i}")];
        assert_child_of(by_name[&format!("first {i}")], task);
        assert_child_of(step, task);
        assert_child_of(by_name[&format!("leaf {i}")], step);
        assert_child_of(by_name[&format!("last {i}")], task);
    }
    let stats = h.telemetry.stats();
    assert_eq!(stats.spans_started, (TASKS * 5) as u64);
    assert_eq!(stats.spans_exported, (TASKS * 5) as u64);
    assert_eq!(stats.dropped(), 0);
}

#[tokio::test]
async fn a_future_ready_on_first_poll_is_traced() {
    let h = Harness::install(|b| b);
    let value = async {
        let _inside = Span::start("inside");
        42
    }
    .instrument(Span::start("immediate"))
    .await;
    assert_eq!(value, 42);
    let ready = std::future::ready("done")
        .instrument(Span::start("std ready"))
        .await;
    assert_eq!(ready, "done");

    let spans = h.spans();
    assert_eq!(spans.len(), 3);
    let immediate = one(&spans, "immediate");
    assert_child_of(one(&spans, "inside"), immediate);
    assert_eq!(attr(immediate, "cancelled"), None);
    assert_eq!(attr(one(&spans, "std ready"), "cancelled"), None);
}

#[tokio::test]
async fn span_duration_covers_the_awaited_sleep() {
    let h = Harness::install(|b| b);
    sleep(Duration::from_millis(60))
        .instrument(Span::start("sleep 60ms"))
        .await;
    async {
        sleep(Duration::from_millis(30)).await;
    }
    .instrument(Span::start("block with sleep 30ms"))
    .await;

    let spans = h.spans();
    let long = duration(one(&spans, "sleep 60ms"));
    let short = duration(one(&spans, "block with sleep 30ms"));
    // Tokio's timer and the span clock (the calibrated TSC) are two clocks: under valgrind,
    // which emulates the TSC, they were seen 0.8 % apart (59.5 ms for a 60-ms sleep).
    assert!(long >= Duration::from_millis(58), "{long:?}");
    assert!(long < Duration::from_secs(5), "{long:?}");
    assert!(short >= Duration::from_millis(29), "{short:?}");
    assert!(short < Duration::from_secs(5), "{short:?}");
}

/// A span entered for each poll of its future or stream makes its frame current only inside
/// the poll: a poll that reads nothing pushes nothing (the frame is deferred), one that
/// captures the context or starts a span sees the instrumented span, a nested instrumented
/// future is its child, and between polls nothing is current: a span started there is a new
/// trace. Polled by hand, so the test sees the thread between polls.
#[test]
fn an_instrumented_future_is_current_inside_its_polls_and_never_between_them() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use zdk_trace_runtime::TraceContext;

    /// Pending once, then ready: one more poll of the future around it.
    fn pause() -> impl Future<Output = ()> {
        let mut pending = true;
        std::future::poll_fn(move |cx| {
            if std::mem::take(&mut pending) {
                cx.waker().wake_by_ref();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
    }

    let h = Harness::install(|b| b);
    let work = async {
        // A poll that reads nothing.
        pause().await;
        let captured = TraceContext::current().span_context();
        pause().await;
        let nested = async {
            pause().await;
            TraceContext::current().span_context()
        }
        .instrument(Span::start("nested"))
        .await;
        pause().await;
        drop(Span::start("child"));
        (captured, nested)
    }
    .instrument(Span::start("polled"));
    let mut work = std::pin::pin!(work);
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 0;
    let (captured, nested) = loop {
        polls += 1;
        match work.as_mut().poll(&mut cx) {
            Poll::Ready(out) => break out,
            Poll::Pending => {
                assert!(
                    TraceContext::current().span_context().is_none(),
                    "nothing is current between polls (after poll {polls})"
                );
                drop(Span::start(format!("between {polls}")));
            }
        }
    };
    assert_eq!(polls, 5);
    assert!(TraceContext::current().span_context().is_none());

    let spans = h.spans();
    assert_eq!(spans.len(), 3 + 4, "polled, nested, child and 4 between");
    let polled = one(&spans, "polled");
    assert_root(polled);
    assert_child_of(one(&spans, "nested"), polled);
    assert_child_of(one(&spans, "child"), polled);
    for between in 1..=4 {
        assert_root(one(&spans, &format!("between {between}")));
    }
    assert_eq!(
        captured.map(|c| c.span_id()),
        Some(polled.span_context.span_id()),
        "the context captured inside a poll is the instrumented span's"
    );
    assert_eq!(
        nested.map(|c| c.span_id()),
        Some(one(&spans, "nested").span_context.span_id()),
        "inside the nested future, the nested span is current"
    );
}
