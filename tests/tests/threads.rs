//! Threads: the current span is per thread; `spawn_thread`, `TraceContext::attach` and
//! `TraceContext::in_scope` carry it to another thread on purpose.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use std::sync::mpsc;

use zdk_trace_runtime::{current_span_context, Span, TraceContext};
use zdk_trace_tests::harness::{assert_child_of, assert_root, one, Harness};

#[test]
fn spawn_thread_keeps_the_parent_and_nothing_else_leaks() {
    let h = Harness::install(|b| b);
    {
        let _root = Span::start("job").entered();
        let traced = zdk_trace_runtime::spawn_thread(|| {
            let _step = Span::start("traced thread").entered();
            let _leaf = Span::start("traced leaf");
        });
        // A plain std thread does not inherit the current span.
        let plain = std::thread::spawn(|| {
            assert!(current_span_context().is_none());
            let _orphan = Span::start("plain thread");
        });
        traced.join().expect("thread");
        plain.join().expect("thread");
    }

    let spans = h.spans();
    assert_eq!(spans.len(), 4);
    let job = one(&spans, "job");
    let traced = one(&spans, "traced thread");
    assert_child_of(traced, job);
    assert_child_of(one(&spans, "traced leaf"), traced);
    assert_root(one(&spans, "plain thread"));
}

#[test]
fn attached_context_parents_spans_until_its_guard_drops() {
    let h = Harness::install(|b| b);
    let (send, receive) = mpsc::channel::<TraceContext>();
    let worker = std::thread::spawn(move || {
        let cx = receive.recv().expect("context");
        {
            let _guard = cx.attach();
            assert_eq!(
                current_span_context().map(|sc| sc.span_id()),
                cx.span_context().map(|sc| sc.span_id())
            );
            let _a = Span::start("attached 1").entered();
            let _b = Span::start("attached 2");
        }
        // Detached: the thread starts its own traces again.
        assert!(current_span_context().is_none());
        let _after = Span::start("after detach");
    });
    {
        let _producer = Span::start("producer").entered();
        send.send(TraceContext::current()).expect("send");
    }
    // "producer" has ended by the time the worker runs; its context is still valid.
    worker.join().expect("thread");

    let spans = h.spans();
    assert_eq!(spans.len(), 4);
    let producer = one(&spans, "producer");
    let first = one(&spans, "attached 1");
    assert_child_of(first, producer);
    assert_child_of(one(&spans, "attached 2"), first);
    assert_root(one(&spans, "after detach"));
}

#[test]
fn in_scope_parents_spans_only_inside_the_closure() {
    let h = Harness::install(|b| b);
    let cx = {
        let parent = Span::start("parent");
        parent.context()
    };
    let handle = std::thread::spawn(move || {
        let n = cx.in_scope(|| {
            let _inside = Span::start("inside in_scope");
            7
        });
        let _outside = Span::start("outside in_scope");
        n
    });
    assert_eq!(handle.join().expect("thread"), 7);
    // On the calling thread too.
    let local_cx = {
        let _local = Span::start("local parent").entered();
        TraceContext::current()
    };
    local_cx.in_scope(|| {
        let _nested = Span::start("local child");
    });

    let spans = h.spans();
    assert_eq!(spans.len(), 5);
    assert_child_of(one(&spans, "inside in_scope"), one(&spans, "parent"));
    assert_root(one(&spans, "outside in_scope"));
    assert_child_of(one(&spans, "local child"), one(&spans, "local parent"));
}

#[test]
fn scoped_threads_attach_a_borrowed_context() {
    let h = Harness::install(|b| b);
    {
        let root = Span::start("scatter").entered();
        let cx = root.context();
        std::thread::scope(|scope| {
            for i in 0..4 {
                let cx = &cx;
                scope.spawn(move || {
                    let _guard = cx.attach();
                    let _part = Span::start(format!("part {i}")).entered();
                    let _leaf = Span::start(format!("part {i} leaf"));
                });
            }
            // A scoped thread that attaches nothing is on its own.
            scope.spawn(|| {
                let _alone = Span::start("unattached");
            });
        });
        let _gather = Span::start("gather");
    }

    let spans = h.spans();
    assert_eq!(spans.len(), 1 + 4 * 2 + 1 + 1);
    let scatter = one(&spans, "scatter");
    assert_root(scatter);
    for i in 0..4 {
        let part = one(&spans, &format!("part {i}"));
        assert_child_of(part, scatter);
        assert_child_of(one(&spans, &format!("part {i} leaf")), part);
    }
    assert_root(one(&spans, "unattached"));
    assert_child_of(one(&spans, "gather"), scatter);
}

#[test]
fn spans_ended_on_exiting_threads_are_all_exported() {
    let h = Harness::install(|b| b);
    let root_cx = {
        let root = Span::start("many threads");
        root.context()
    };
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let cx = root_cx.clone();
            std::thread::spawn(move || {
                let _guard = cx.attach();
                for j in 0..10 {
                    let _span = Span::start(format!("t{i} s{j}"));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread");
    }

    let spans = h.spans();
    assert_eq!(spans.len(), 1 + 16 * 10);
    let root = one(&spans, "many threads");
    for span in spans.iter().filter(|s| s.name != "many threads") {
        assert_child_of(span, root);
    }
    assert_eq!(h.telemetry.stats().dropped(), 0);
}
