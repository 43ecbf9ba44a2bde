//! Head samplers and tail rules, judged on what is exported.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use zdk_trace_runtime::{Sampler, Span, Status, TailSampling, TraceContext};
use zdk_trace_tests::harness::Harness;

const TRACES: usize = 20_000;

/// Each trace: a root with one child.
fn make_traces(n: usize, name: &str) {
    for _ in 0..n {
        let _root = Span::start(name.to_owned()).entered();
        let _child = Span::start("child");
    }
}

/// Groups exported spans by trace id and checks no trace is exported in part.
fn whole_traces(spans: &[opentelemetry_sdk::trace::SpanData], per_trace: usize) -> usize {
    let mut by_trace: HashMap<TraceId, usize> = HashMap::new();
    for s in spans {
        *by_trace.entry(s.span_context.trace_id()).or_default() += 1;
    }
    for (id, n) in &by_trace {
        assert_eq!(*n, per_trace, "trace {id} exported in part");
    }
    by_trace.len()
}

#[test]
fn always_on_keeps_everything_and_always_off_nothing() {
    let h = Harness::install(|b| b.sampler(Sampler::AlwaysOn));
    make_traces(100, "root");
    assert_eq!(whole_traces(&h.spans(), 2), 100);
    drop(h);

    let h = Harness::install(|b| b.sampler(Sampler::AlwaysOff));
    make_traces(100, "root");
    assert!(h.spans().is_empty());
    let stats = h.telemetry.stats();
    assert_eq!(stats.spans_started, 200);
    assert_eq!(stats.spans_sampled_out, 200);
    assert_eq!(stats.spans_recorded, 0);
}

#[test]
fn ratio_keeps_about_ten_percent_of_whole_traces() {
    let h = Harness::install(|b| {
        b.sampler(Sampler::TraceIdRatio(0.1))
            .max_queue_size(100_000)
    });
    make_traces(TRACES, "root");
    let kept = whole_traces(&h.spans(), 2);
    // Binomial(20000, 0.1): mean 2000, sd 42; ±5 sd.
    assert!((1790..=2210).contains(&kept), "kept {kept} of {TRACES}");
    let stats = h.telemetry.stats();
    assert_eq!(stats.spans_sampled_out as usize, 2 * (TRACES - kept));
    assert_eq!(stats.spans_exported as usize, 2 * kept);
}

fn remote_parent(sampled: bool) -> TraceContext {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    TraceContext::from_span_context(&SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
        SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
        flags,
        true,
        TraceState::default(),
    ))
}

#[test]
fn parent_based_follows_the_remote_decision_and_else_its_root_sampler() {
    let h = Harness::install(|b| b.sampler(Sampler::parent_based(Sampler::AlwaysOff)));
    remote_parent(true).in_scope(|| drop(Span::start("sampled by caller")));
    remote_parent(false).in_scope(|| drop(Span::start("dropped by caller")));
    drop(Span::start("local root"));
    let names: Vec<String> = h.spans().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["sampled by caller"]);
    let spans = h.spans();
    assert!(spans[0].parent_span_is_remote);
    assert_eq!(
        spans[0].parent_span_id,
        SpanId::from(0x00f0_67aa_0ba9_02b7_u64)
    );
    drop(h);

    // Without parent_based, a remote "not sampled" does not stop an always_on service.
    let h = Harness::install(|b| b.sampler(Sampler::AlwaysOn));
    remote_parent(false).in_scope(|| drop(Span::start("kept anyway")));
    assert_eq!(h.spans().len(), 1);
}

#[test]
fn tail_rules_keep_every_error_and_every_slow_trace_on_top_of_ten_percent() {
    let h = Harness::install(|b| {
        b.sampler(Sampler::TraceIdRatio(0.1))
            .tail_sampling(
                TailSampling::default()
                    .keep_errors(true)
                    .keep_slower_than(Duration::from_millis(30)),
            )
            .max_queue_size(100_000)
    });
    let mut error_traces = Vec::new();
    let mut slow_traces = Vec::new();
    for i in 0..TRACES {
        let root = Span::start("request").entered();
        let trace_id = root.span_context().map(|c| c.trace_id());
        {
            let mut child = Span::start("child");
            if i % 100 == 0 {
                child.set_status(Status::error("boom"));
                error_traces.extend(trace_id);
            }
        }
        if i % 2000 == 1001 {
            std::thread::sleep(Duration::from_millis(35));
            slow_traces.extend(trace_id);
        }
        drop(root);
    }
    let spans = h.spans();
    let kept = whole_traces(&spans, 2);
    let exported: std::collections::HashSet<TraceId> =
        spans.iter().map(|s| s.span_context.trace_id()).collect();
    for id in error_traces.iter().chain(&slow_traces) {
        assert!(
            exported.contains(id),
            "trace {id} with an error or slow root was dropped"
        );
    }
    // 200 error traces + 10 slow (some overlap with the 10%) + ~10% of the rest.
    let extra = error_traces.len() + slow_traces.len();
    assert!((1790..=2210 + extra).contains(&kept), "kept {kept}");
    assert!(kept >= 1790 + extra * 8 / 10, "kept {kept}");
    let stats = h.telemetry.stats();
    assert!(stats.traces_kept_for_error >= 150, "{stats:?}");
    assert!(stats.traces_kept_for_slowness >= 5, "{stats:?}");
    // Every span was recorded (tail rules must see them all); those not kept were sampled out.
    assert_eq!(stats.spans_recorded as usize, 2 * TRACES);
    assert_eq!(
        stats.spans_exported + stats.spans_sampled_out,
        2 * TRACES as u64
    );
}

#[test]
fn rate_limit_caps_traces_per_root_name() {
    let h =
        Harness::install(|b| b.tail_sampling(TailSampling::default().max_traces_per_second(5.0)));
    make_traces(200, "chatty");
    make_traces(3, "quiet");
    let spans = h.spans();
    whole_traces(&spans, 2);
    let roots = |name: &str| spans.iter().filter(|s| s.name == name).count();
    // A burst of 5, plus what refills while the loop runs (well under a second).
    assert!(
        (5..=8).contains(&roots("chatty")),
        "chatty kept {}",
        roots("chatty")
    );
    assert_eq!(roots("quiet"), 3);
}

/// A sampled-out span records nothing and takes no slot, but it is still a span of its trace:
/// its ids are valid and stable, children share its trace id and its decision, `traceparent`
/// carries it downstream, and it can move to another thread and end there.
#[inline(never)]
#[zdk_trace_runtime::span(name = "sampled out fn", fields(items = 3_i64))]
fn sampled_out_fn() -> SpanContext {
    let cx = TraceContext::current()
        .span_context()
        .unwrap_or_else(|| panic!("no current span inside a sampled-out #[span] fn"));
    let mut headers = HashMap::new();
    zdk_trace_runtime::propagation::inject(&mut headers);
    // Not sampled; random (W3C Level 2): the trace was started here, with a random id.
    assert_eq!(
        headers.get("traceparent"),
        Some(&format!("00-{}-{}-02", cx.trace_id(), cx.span_id())),
        "traceparent of the current sampled-out span"
    );
    cx
}

#[test]
fn a_sampled_out_span_keeps_its_ids_for_children_and_propagation() {
    let h = Harness::install(|b| b.sampler(Sampler::AlwaysOff));
    let root = Span::start("root");
    assert!(!root.is_recording());
    let root_cx = root
        .span_context()
        .unwrap_or_else(|| panic!("a sampled-out span has a context"));
    assert!(root_cx.is_valid());
    assert!(!root_cx.is_sampled());
    assert_eq!(root.span_context(), Some(root_cx.clone()), "ids are stable");

    let root = root.entered();
    let child = Span::start("child");
    let child_cx = child
        .span_context()
        .unwrap_or_else(|| panic!("a sampled-out child has a context"));
    assert_eq!(child_cx.trace_id(), root_cx.trace_id());
    assert_ne!(child_cx.span_id(), root_cx.span_id());
    assert!(!child_cx.is_sampled());

    // Through the macro: the function's span is current inside it, under `root`.
    let in_fn = sampled_out_fn();
    assert_eq!(in_fn.trace_id(), root_cx.trace_id());
    assert_ne!(in_fn.span_id(), root_cx.span_id());
    assert_eq!(
        TraceContext::current().span_context(),
        Some(root_cx.clone()),
        "the fn's frame is popped when it returns"
    );

    // Moved to another thread and ended there.
    std::thread::spawn(move || {
        assert_eq!(
            child.span_context().map(|c| c.trace_id()),
            Some(root_cx.trace_id())
        );
        drop(child);
    })
    .join()
    .unwrap_or_else(|e| panic!("the thread panicked: {e:?}"));
    drop(root);
    assert!(TraceContext::current().span_context().is_none());

    assert!(h.spans().is_empty());
    let stats = h.telemetry.stats();
    assert_eq!(stats.spans_started, 3);
    assert_eq!(stats.spans_sampled_out, 3);
    assert_eq!(stats.spans_recorded, 0);
}

/// A `#[span]` fn: its own context and its child's, each read inside.
#[inline(never)]
#[zdk_trace_runtime::span(name = "half fn")]
fn half_fn() -> (SpanContext, SpanContext) {
    let own = TraceContext::current()
        .span_context()
        .unwrap_or_else(|| panic!("no current span inside a #[span] fn"));
    (own, half_leaf())
}

#[inline(never)]
#[zdk_trace_runtime::span(name = "half leaf")]
fn half_leaf() -> SpanContext {
    TraceContext::current()
        .span_context()
        .unwrap_or_else(|| panic!("no current span inside a #[span] fn"))
}

/// On a new thread the first sync fn span sets up the thread's state (the slow path) and the
/// next ones take the quick path, sampled in (recorded there) or out (deferred): the same
/// traces either way. Whole traces exported, children under their fn, every span counted.
#[test]
fn sync_fn_spans_sampled_in_and_out_on_a_new_thread_make_whole_traces() {
    const CALLS: usize = 4_000;
    let h = Harness::install(|b| {
        b.sampler(Sampler::TraceIdRatio(0.5))
            .max_queue_size(100_000)
    });
    let contexts = std::thread::spawn(|| {
        (0..CALLS)
            .map(|_| {
                let (own, leaf) = half_fn();
                assert!(TraceContext::current().span_context().is_none());
                (own, leaf)
            })
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap_or_else(|e| panic!("the thread panicked: {e:?}"));

    let mut kept = HashMap::new();
    for (own, leaf) in &contexts {
        assert_eq!(
            leaf.trace_id(),
            own.trace_id(),
            "the leaf is in its fn's trace"
        );
        assert_ne!(leaf.span_id(), own.span_id());
        assert_eq!(
            leaf.is_sampled(),
            own.is_sampled(),
            "one decision per trace"
        );
        if own.is_sampled() {
            kept.insert(leaf.span_id(), own.span_id());
        }
    }
    // Binomial(4000, 0.5): mean 2000, sd 32; ±5 sd.
    assert!(
        (1840..=2160).contains(&kept.len()),
        "kept {} of {CALLS}",
        kept.len()
    );
    let spans = h.spans();
    assert_eq!(whole_traces(&spans, 2), kept.len());
    for span in spans.iter().filter(|s| s.name == "half leaf") {
        assert_eq!(
            kept.get(&span.span_context.span_id()),
            Some(&span.parent_span_id),
            "an exported leaf's parent is its fn"
        );
    }
    let stats = h.telemetry.stats();
    assert_eq!(stats.spans_started as usize, 2 * CALLS);
    assert_eq!(stats.spans_sampled_out as usize, 2 * (CALLS - kept.len()));
    assert_eq!(stats.spans_exported as usize, 2 * kept.len());
}

/// A sampled-out `#[span]` fn that starts a trace: the child it calls and the current context
/// read after the child returns.
#[inline(never)]
#[zdk_trace_runtime::span(name = "sampled out root fn")]
fn sampled_out_root_fn() -> (SpanContext, SpanContext) {
    let child = sampled_out_fn();
    let current = TraceContext::current()
        .span_context()
        .unwrap_or_else(|| panic!("no current span inside a sampled-out root fn"));
    (current, child)
}

#[inline(never)]
#[zdk_trace_runtime::span(name = "sampled out leaf")]
fn sampled_out_leaf() -> u64 {
    7
}

/// The frame of a sampled-out sync fn that starts a trace is pushed only when something reads
/// the thread's stack (here: a child starting, the context read, `traceparent` injected):
/// whether it was pushed or not, the fn is the parent of what it starts, propagates its own
/// ids, and leaves nothing current behind.
#[test]
fn a_sampled_out_root_fn_is_current_for_everything_it_starts_and_leaves_nothing_behind() {
    let h = Harness::install(|b| b.sampler(Sampler::AlwaysOff));
    assert!(TraceContext::current().span_context().is_none());

    // Nothing reads the stack inside: nothing is left behind.
    assert_eq!(sampled_out_leaf(), 7);
    assert!(TraceContext::current().span_context().is_none());
    let after = Span::start("after").entered();
    let after_cx = after
        .span_context()
        .unwrap_or_else(|| panic!("a sampled-out span has a context"));
    assert_eq!(
        TraceContext::current().span_context(),
        Some(after_cx.clone()),
        "a span entered after it is current, not the ended fn"
    );
    // Under a current span the fn is a child, as any span.
    assert_eq!(sampled_out_leaf(), 7);
    assert_eq!(TraceContext::current().span_context(), Some(after_cx));
    drop(after);
    assert!(TraceContext::current().span_context().is_none());

    // A child started inside: the child is in the fn's trace, and the fn is current again
    // once the child returns.
    let (outer, inner) = sampled_out_root_fn();
    assert_eq!(inner.trace_id(), outer.trace_id());
    assert_ne!(inner.span_id(), outer.span_id());
    assert!(!outer.is_sampled());
    assert!(TraceContext::current().span_context().is_none());

    // Two calls: two traces.
    let (again, _) = sampled_out_root_fn();
    assert_ne!(again.trace_id(), outer.trace_id());

    // Read only after it was deferred, and from the nested fn's `traceparent`: the same ids.
    std::thread::spawn(|| {
        let (outer, inner) = sampled_out_root_fn();
        assert_eq!(inner.trace_id(), outer.trace_id());
        assert!(TraceContext::current().span_context().is_none());
    })
    .join()
    .unwrap_or_else(|e| panic!("the thread panicked: {e:?}"));

    assert!(h.spans().is_empty());
    let stats = h.telemetry.stats();
    // after, 2 leaves, 3 root fns and their 3 children.
    assert_eq!(stats.spans_sampled_out, 9);
    assert_eq!(stats.spans_recorded, 0);
}

/// A recorded `#[span]` fn that starts a trace: the child it calls and the current context
/// read after the child returns.
#[inline(never)]
#[zdk_trace_runtime::span(name = "recorded root fn")]
fn recorded_root_fn() -> (SpanContext, SpanContext) {
    let child = half_leaf();
    let current = TraceContext::current()
        .span_context()
        .unwrap_or_else(|| panic!("no current span inside a recorded root fn"));
    (current, child)
}

#[inline(never)]
#[zdk_trace_runtime::span(name = "recorded leaf")]
fn recorded_leaf() -> u64 {
    7
}

/// A recorded sync fn's frame is deferred as a sampled-out one's is (most such fns are leaves
/// of their trace): pushed only when something reads the thread's stack, and then as the
/// sampled span it is. Either way the fn is the parent of what it starts, propagates its own
/// ids as sampled, and leaves nothing current behind.
#[test]
fn a_recorded_sync_fn_is_current_for_everything_it_starts_and_leaves_nothing_behind() {
    let h = Harness::install(|b| b.sampler(Sampler::AlwaysOn));

    // Nothing reads the stack inside: nothing is left behind.
    assert_eq!(recorded_leaf(), 7);
    assert!(TraceContext::current().span_context().is_none());

    // Under a current span the fn is a child, and the span is current again after it.
    let after = Span::start("after").entered();
    let after_cx = after
        .span_context()
        .unwrap_or_else(|| panic!("a recorded span has a context"));
    assert_eq!(recorded_leaf(), 7);
    assert_eq!(
        TraceContext::current().span_context(),
        Some(after_cx.clone())
    );
    drop(after);
    assert!(TraceContext::current().span_context().is_none());

    // A child started inside (it reads the context too): in the fn's trace, sampled, and the
    // fn is current again once the child returns.
    let (outer, inner) = recorded_root_fn();
    assert_eq!(inner.trace_id(), outer.trace_id());
    assert_ne!(inner.span_id(), outer.span_id());
    assert!(outer.is_sampled() && inner.is_sampled());
    assert!(TraceContext::current().span_context().is_none());

    let spans = h.spans();
    let parent_of = |name: &str| -> Vec<SpanId> {
        spans
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.parent_span_id)
            .collect()
    };
    assert_eq!(
        parent_of("recorded leaf"),
        vec![SpanId::INVALID, after_cx.span_id()],
        "a root, then a child of the span entered around it"
    );
    assert_eq!(parent_of("recorded root fn"), vec![SpanId::INVALID]);
    assert_eq!(parent_of("half leaf"), vec![outer.span_id()]);
    let stats = h.telemetry.stats();
    assert_eq!(stats.spans_exported, 5, "{stats:?}");
    assert_eq!(stats.spans_sampled_out, 0);
}

#[zdk_trace_runtime::span(name = "sampled out async child")]
async fn sampled_out_async_child() -> SpanContext {
    tokio::task::yield_now().await;
    TraceContext::current()
        .span_context()
        .unwrap_or_else(|| panic!("no current span inside a sampled-out async fn"))
}

/// Polled three times: a poll that reads nothing, one that starts the child, one after it.
#[zdk_trace_runtime::span(name = "sampled out async parent")]
async fn sampled_out_async_parent() -> (SpanContext, SpanContext) {
    tokio::task::yield_now().await;
    let child = sampled_out_async_child().await;
    let me = TraceContext::current()
        .span_context()
        .unwrap_or_else(|| panic!("no current span inside a sampled-out async fn"));
    (me, child)
}

/// A sampled-out future's frame is deferred for each poll (pushed only if the poll reads the
/// stack): still the parent of what it starts, current in each of its polls, gone between
/// them and after.
#[test]
fn a_sampled_out_future_is_current_in_each_poll_and_nowhere_else() {
    let h = Harness::install(|b| b.sampler(Sampler::AlwaysOff));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));

    let (parent, child) = rt.block_on(sampled_out_async_parent());
    assert_eq!(child.trace_id(), parent.trace_id());
    assert_ne!(child.span_id(), parent.span_id());
    assert!(!parent.is_sampled());
    assert!(TraceContext::current().span_context().is_none());

    // Under a current span: one trace, and the outer span current again after.
    let root = Span::start("root").entered();
    let root_cx = root
        .span_context()
        .unwrap_or_else(|| panic!("a sampled-out span has a context"));
    let (parent, child) = rt.block_on(sampled_out_async_parent());
    assert_eq!(parent.trace_id(), root_cx.trace_id());
    assert_eq!(child.trace_id(), root_cx.trace_id());
    assert_eq!(TraceContext::current().span_context(), Some(root_cx));
    drop(root);

    // Two futures polled in turn on one thread: each is current only in its own polls.
    let (a, b) =
        rt.block_on(async { tokio::join!(sampled_out_async_parent(), sampled_out_async_parent()) });
    assert_ne!(a.0.trace_id(), b.0.trace_id());
    assert_eq!(a.1.trace_id(), a.0.trace_id());
    assert_eq!(b.1.trace_id(), b.0.trace_id());
    assert!(TraceContext::current().span_context().is_none());

    assert!(h.spans().is_empty());
    assert_eq!(h.telemetry.stats().spans_recorded, 0);
}
