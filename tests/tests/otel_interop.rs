//! Interop with `opentelemetry_sdk` tracers in the same process: their spans nest under ours
//! and ours under theirs, in one trace, across both exporters.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracer, SdkTracerProvider, SpanData};
use zdk_trace_runtime::{FutureExt, Span, TraceContext};
use zdk_trace_tests::harness::{assert_child_of, assert_root, one, Harness};

/// Another library's tracer, exporting to its own in-memory exporter as each span ends.
struct Theirs {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    exporter: InMemorySpanExporter,
}

impl Theirs {
    fn new() -> Theirs {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("their-library");
        Theirs {
            provider,
            tracer,
            exporter,
        }
    }

    fn spans(&self) -> Vec<SpanData> {
        if let Err(e) = self.provider.force_flush() {
            panic!("flush failed: {e}");
        }
        self.exporter.get_finished_spans().unwrap_or_default()
    }
}

#[test]
fn their_spans_nest_under_ours_via_to_otel() {
    let h = Harness::install(|b| b.inherit_otel_context(true));
    let theirs = Theirs::new();
    {
        let _agent = Span::start("agent").entered();
        let cx = TraceContext::current().to_otel();
        assert!(cx.has_active_span());
        let mut call = theirs.tracer.start_with_context("their http call", &cx);
        call.set_attribute(KeyValue::new("http.method", "GET"));
        call.end();
    }

    let ours = h.spans();
    let their = theirs.spans();
    assert_eq!(ours.len(), 1);
    assert_eq!(their.len(), 1);
    let agent = one(&ours, "agent");
    let call = one(&their, "their http call");
    assert_root(agent);
    assert_child_of(call, agent);
    assert!(call.span_context.is_sampled());
}

#[test]
fn our_spans_nest_under_theirs_when_their_context_is_attached() {
    let h = Harness::install(|b| b.inherit_otel_context(true));
    let theirs = Theirs::new();
    {
        let their_root = theirs.tracer.start("their server span");
        let cx = Context::current_with_span(their_root);
        {
            let _attached = cx.clone().attach();
            let _ours = Span::start("our handler").entered();
            let _leaf = Span::start("our leaf");
        }
        // Detached: ours start new traces again.
        let _later = Span::start("after detach");
        cx.span().end();
    }

    let ours = h.spans();
    let their = theirs.spans();
    let root = one(&their, "their server span");
    let handler = one(&ours, "our handler");
    assert_root(root);
    assert_child_of(handler, root);
    assert!(!handler.parent_span_is_remote);
    assert_child_of(one(&ours, "our leaf"), handler);
    assert_root(one(&ours, "after detach"));
}

/// Ours → theirs → ours, as when an instrumented library calls back into our code: the
/// innermost context wins, whichever tracer it belongs to.
#[test]
fn ours_theirs_ours_sandwich_keeps_the_innermost_parent() {
    let h = Harness::install(|b| b.inherit_otel_context(true));
    let theirs = Theirs::new();
    {
        let _outer = Span::start("our outer").entered();
        let their_cx = {
            let parent = TraceContext::current().to_otel();
            let span = theirs.tracer.start_with_context("their middle", &parent);
            parent.with_span(span)
        };
        {
            let _attached = their_cx.clone().attach();
            let _inner = Span::start("our inner").entered();
            let their_leaf = theirs
                .tracer
                .start_with_context("their leaf", &TraceContext::current().to_otel());
            drop(their_leaf);
        }
        their_cx.span().end();
        let _sibling = Span::start("our sibling");
    }

    let ours = h.spans();
    let their = theirs.spans();
    let outer = one(&ours, "our outer");
    let middle = one(&their, "their middle");
    let inner = one(&ours, "our inner");
    assert_root(outer);
    assert_child_of(middle, outer);
    assert_child_of(inner, middle);
    assert_child_of(one(&their, "their leaf"), inner);
    assert_child_of(one(&ours, "our sibling"), outer);
}

#[test]
fn from_otel_takes_their_span_as_parent_and_their_baggage() {
    let h = Harness::install(|b| b.inherit_otel_context(true));
    let theirs = Theirs::new();
    let their_span = theirs.tracer.start("their job");
    let otel_cx = Context::new()
        .with_span(their_span)
        .with_baggage([KeyValue::new("tenant", "acme")]);
    let cx = TraceContext::from_otel(&otel_cx);
    let their_sc = otel_cx.span().span_context().clone();
    assert_eq!(
        cx.span_context().map(|sc| sc.span_id()),
        Some(their_sc.span_id())
    );
    assert_eq!(
        cx.baggage()
            .and_then(|b| b.get("tenant"))
            .map(|v| v.to_string()),
        Some("acme".to_owned())
    );
    // Moved to another thread (their Context is not attached there).
    std::thread::spawn(move || {
        let _guard = cx.attach();
        let _ours = Span::start("our worker").entered();
        // The baggage is attached too.
        let tenant = Context::map_current(|c| c.baggage().get("tenant").map(|v| v.to_string()));
        assert_eq!(tenant.as_deref(), Some("acme"));
    })
    .join()
    .expect("thread");
    // And as an explicit parent, while something else is current.
    {
        let _unrelated = Span::start("unrelated").entered();
        let _adopted = Span::builder("our adopted")
            .parent(&TraceContext::from_otel(&otel_cx))
            .start();
    }
    otel_cx.span().end();
    // A context without a span gives a new trace.
    let empty = TraceContext::from_otel(&Context::new());
    assert!(empty.span_context().is_none());
    assert!(empty.baggage().is_none());

    let ours = h.spans();
    let their = theirs.spans();
    let job = one(&their, "their job");
    assert_child_of(one(&ours, "our worker"), job);
    assert_child_of(one(&ours, "our adopted"), job);
}

#[tokio::test]
async fn their_spans_inside_an_instrumented_future_nest_under_it() {
    let h = Harness::install(|b| b.inherit_otel_context(true));
    let theirs = Theirs::new();
    async {
        tokio::task::yield_now().await;
        let parent = TraceContext::current().to_otel();
        theirs
            .tracer
            .start_with_context("their db query", &parent)
            .end();
    }
    .instrument(Span::start("our request"))
    .await;

    let ours = h.spans();
    let their = theirs.spans();
    assert_child_of(one(&their, "their db query"), one(&ours, "our request"));
}

/// With tail sampling, a trace is judged when its local root ends. Our first span under their
/// span is that local root, even though its parent is in the same process.
#[test]
fn our_span_under_theirs_is_a_local_root_for_tail_sampling() {
    use opentelemetry_sdk::trace::Sampler as SdkSampler;
    use zdk_trace_runtime::{Status, TailSampling};

    let h = Harness::install(|b| {
        b.inherit_otel_context(true)
            .tail_sampling(TailSampling::default().keep_errors(true))
    });
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(SdkSampler::AlwaysOff)
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("their-library");
    let their = tracer.start("their unsampled request");
    assert!(!their.span_context().is_sampled());
    let cx = Context::current_with_span(their);
    {
        let _attached = cx.clone().attach();
        let mut ours = Span::start("our failing step").entered();
        let _leaf = Span::start("our leaf");
        ours.set_status(Status::error("boom"));
    }

    let ours = h.spans();
    assert_eq!(
        ours.len(),
        2,
        "{:?}",
        ours.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let step = one(&ours, "our failing step");
    assert_eq!(step.parent_span_id, cx.span().span_context().span_id());
    assert_child_of(one(&ours, "our leaf"), step);
    assert_eq!(h.telemetry.stats().traces_kept_for_error, 1);
}

/// Ours → theirs → ours under tail sampling: the inner span of ours is not a second local root,
/// so the trace is judged when the outer one ends, with everything that happened in it.
#[test]
fn sandwiched_span_is_not_a_local_root_for_tail_sampling() {
    use zdk_trace_runtime::{Sampler, Status, TailSampling};

    let h = Harness::install(|b| {
        b.inherit_otel_context(true)
            .sampler(Sampler::AlwaysOff)
            .tail_sampling(TailSampling::default().keep_errors(true))
    });
    let theirs = Theirs::new();
    let middle_id;
    {
        let mut outer = Span::start("our outer").entered();
        let their_cx = {
            let parent = TraceContext::current().to_otel();
            let span = theirs.tracer.start_with_context("their middle", &parent);
            parent.with_span(span)
        };
        middle_id = their_cx.span().span_context().span_id();
        {
            let _attached = their_cx.clone().attach();
            let _inner = Span::start("our inner").entered();
        }
        their_cx.span().end();
        // The error comes after "our inner" has ended.
        outer.set_status(Status::error("late failure"));
    }

    let ours = h.spans();
    assert_eq!(
        ours.len(),
        2,
        "{:?}",
        ours.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let outer = one(&ours, "our outer");
    let inner = one(&ours, "our inner");
    assert_root(outer);
    assert_eq!(inner.parent_span_id, middle_id);
    assert_eq!(inner.span_context.trace_id(), outer.span_context.trace_id());
    // Their sampler followed our (unsampled) head decision.
    assert!(theirs.spans().is_empty());
    assert_eq!(h.telemetry.stats().traces_kept_for_error, 1);
}

#[test]
fn without_inherit_otel_context_their_context_is_ignored_unless_converted() {
    let h = Harness::install(|b| b);
    let theirs = Theirs::new();
    let their_span = theirs.tracer.start("theirs");
    let cx = opentelemetry::Context::current_with_span(their_span);
    {
        let _attached = cx.clone().attach();
        drop(Span::start("implicit"));
        // Explicit conversion works whatever the setting.
        let _ours = TraceContext::from_otel(&cx).attach();
        drop(Span::start("explicit"));
    }
    let spans = h.spans();
    assert_root(one(&spans, "implicit"));
    let their_id = cx.span().span_context().span_id();
    assert_eq!(one(&spans, "explicit").parent_span_id, their_id);
}
