//! Sync spans: nesting, attributes, events, links, status, kinds, names.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use zdk_trace_runtime::Span;
use zdk_trace_tests::harness::{assert_child_of, assert_root, attr, one, Harness};

#[test]
fn nested_sync_spans_have_right_parents_and_attributes() {
    let h = Harness::install(|b| b);
    {
        let mut root = Span::builder("runner.run")
            .kind(SpanKind::Server)
            .start()
            .entered();
        root.set_attribute(KeyValue::new("session.id", "s-1"));
        {
            let mut child = Span::start("session.get_or_create").entered();
            child.set_attribute(KeyValue::new("count", 3_i64));
            child.set_attribute(KeyValue::new("ratio", 0.5));
            child.set_attribute(KeyValue::new("hit", true));
            child.set_attribute(KeyValue::new(
                "tags",
                Value::Array(
                    vec!["a", "b"]
                        .into_iter()
                        .map(Into::into)
                        .collect::<Vec<opentelemetry::StringValue>>()
                        .into(),
                ),
            ));
            let _grandchild = Span::start(format!("dynamic {}", 7)).entered();
        }
        let _sibling = Span::start("session.append_event").entered();
    }
    let spans = h.spans();
    assert_eq!(spans.len(), 4);
    let root = one(&spans, "runner.run");
    let child = one(&spans, "session.get_or_create");
    let grandchild = one(&spans, "dynamic 7");
    let sibling = one(&spans, "session.append_event");
    assert_root(root);
    assert_eq!(root.span_kind, SpanKind::Server);
    assert_child_of(child, root);
    assert_child_of(grandchild, child);
    assert_child_of(sibling, root);
    assert_eq!(attr(root, "session.id"), Some(Value::from("s-1")));
    assert_eq!(attr(child, "count"), Some(Value::I64(3)));
    assert_eq!(attr(child, "ratio"), Some(Value::F64(0.5)));
    assert_eq!(attr(child, "hit"), Some(Value::Bool(true)));
    assert!(matches!(attr(child, "tags"), Some(Value::Array(_))));
    assert!(child.start_time >= root.start_time && child.end_time <= root.end_time);
    assert!(grandchild.end_time >= grandchild.start_time);
    let stats = h.telemetry.stats();
    assert_eq!(stats.spans_started, 4);
    assert_eq!(stats.spans_recorded, 4);
    assert_eq!(stats.spans_exported, 4);
    assert_eq!(stats.dropped(), 0);
}

#[test]
fn events_links_status_and_errors_are_exported() {
    let h = Harness::install(|b| b);
    let first_cx;
    {
        let first = Span::start("first");
        first_cx = first.span_context().expect("recording span has a context");
    }
    {
        let mut span = Span::builder("tool")
            .kind(SpanKind::Client)
            .link(first_cx.clone(), vec![KeyValue::new("why", "retry")])
            .start();
        span.add_event("iteration", vec![KeyValue::new("index", 1_i64)]);
        span.record_error("TimeoutError", "tool did not answer");
        let mut ok = Span::start("ok");
        ok.set_status(Status::Ok);
    }
    let spans = h.spans();
    let tool = one(&spans, "tool");
    assert_eq!(tool.span_kind, SpanKind::Client);
    assert_eq!(tool.links.len(), 1);
    assert_eq!(tool.links[0].span_context.span_id(), first_cx.span_id());
    assert_eq!(tool.events.len(), 2);
    assert_eq!(tool.events[0].name, "iteration");
    assert_eq!(tool.events[1].name, "exception");
    assert_eq!(tool.status, Status::error("tool did not answer"));
    assert_eq!(attr(tool, "error.type"), Some(Value::from("TimeoutError")));
    assert_eq!(one(&spans, "ok").status, Status::Ok);
}

#[test]
fn explicit_parent_and_root_override_the_current_span() {
    let h = Harness::install(|b| b);
    let outer_cx;
    {
        let outer = Span::start("outer").entered();
        outer_cx = outer.context();
        let _inner = Span::builder("forced root").root().start();
    }
    {
        let _other = Span::start("unrelated").entered();
        let _adopted = Span::builder("adopted").parent(&outer_cx).start();
    }
    let spans = h.spans();
    assert_root(one(&spans, "forced root"));
    assert_ne!(
        one(&spans, "forced root").span_context.trace_id(),
        one(&spans, "outer").span_context.trace_id()
    );
    assert_child_of(one(&spans, "adopted"), one(&spans, "outer"));
}

#[test]
fn threads_keep_their_parent() {
    let h = Harness::install(|b| b);
    {
        let _root = Span::start("batch").entered();
        let handles: Vec<_> = (0..4)
            .map(|i| {
                zdk_trace_runtime::spawn_thread(move || {
                    let _w = Span::start(format!("worker {i}")).entered();
                    let _leaf = Span::start(format!("leaf {i}")).entered();
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("worker thread");
        }
    }
    let spans = h.spans();
    assert_eq!(spans.len(), 9);
    let root = one(&spans, "batch");
    for i in 0..4 {
        let worker = one(&spans, &format!("worker {i}"));
        assert_child_of(worker, root);
        assert_child_of(one(&spans, &format!("leaf {i}")), worker);
    }
}

#[test]
fn nothing_is_recorded_without_a_pipeline() {
    let _serial = zdk_trace_tests::harness::serial();
    let span = Span::start("no pipeline");
    assert!(!span.is_recording());
    assert!(span.span_context().is_none());
}
