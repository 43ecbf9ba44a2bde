//! W3C propagation between two "services" in one process: `traceparent`, the sampled flag,
//! `tracestate`, baggage, and what happens with malformed headers.

// In a test a failed `expect` is a failed assertion, with its message.
#![allow(clippy::expect_used)]

use std::collections::HashMap;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::KeyValue;
use zdk_trace_runtime::propagation::{extract, inject, inject_context, HeaderLines};
use zdk_trace_runtime::{Sampler, Span, TraceContext};
use zdk_trace_tests::harness::{assert_child_of, assert_root, one, Harness};

type Headers = HashMap<String, String>;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn traceparent(flags: &str) -> Headers {
    HashMap::from([(
        "traceparent".to_owned(),
        format!("00-{TRACE_ID}-{PARENT_ID}-{flags}"),
    )])
}

fn remote_trace_id() -> TraceId {
    TraceId::from_hex(TRACE_ID).expect("hex trace id")
}

fn remote_parent_id() -> SpanId {
    SpanId::from_hex(PARENT_ID).expect("hex span id")
}

/// What "the other service" does with incoming headers: extract, attach, start its span and a
/// child, and return the headers it would send further downstream.
fn serve(headers: &Headers, name: &str) -> Headers {
    let cx = extract(headers);
    let _guard = cx.attach();
    let _server = Span::start(name.to_owned()).entered();
    let _child = Span::start(format!("{name} child")).entered();
    let mut downstream = Headers::new();
    inject(&mut downstream);
    downstream
}

#[test]
fn traceparent_round_trip_links_the_two_services() {
    let h = Harness::install(|b| b);
    let mut headers = Headers::new();
    {
        let _client = Span::start("client call").entered();
        inject(&mut headers);
    }
    serve(&headers, "server");

    let spans = h.spans();
    assert_eq!(spans.len(), 3);
    let client = one(&spans, "client call");
    let server = one(&spans, "server");
    let child = one(&spans, "server child");
    // Sampled, and (W3C Level 2) random: the trace was started here, with a random id.
    assert_eq!(
        headers["traceparent"],
        format!(
            "00-{}-{}-03",
            client.span_context.trace_id(),
            client.span_context.span_id()
        )
    );
    assert!(!headers.contains_key("tracestate"));
    assert!(!headers.contains_key("baggage"));
    assert_root(client);
    assert_child_of(server, client);
    assert!(server.parent_span_is_remote);
    assert_child_of(child, server);
    assert!(!child.parent_span_is_remote);
    assert!(!client.parent_span_is_remote);
}

#[test]
fn explicit_parent_from_extracted_context() {
    let h = Harness::install(|b| b);
    let cx = extract(&traceparent("01"));
    let sc = cx.span_context().expect("valid traceparent");
    assert!(sc.is_remote() && sc.is_sampled());
    {
        let _unrelated = Span::start("unrelated current span").entered();
        let _server = Span::builder("handle request").parent(&cx).start();
    }

    let spans = h.spans();
    let server = one(&spans, "handle request");
    assert_eq!(server.span_context.trace_id(), remote_trace_id());
    assert_eq!(server.parent_span_id, remote_parent_id());
    assert!(server.parent_span_is_remote);
}

#[test]
fn sampled_flag_is_followed_with_a_parent_based_sampler() {
    let h = Harness::install(|b| b.sampler(Sampler::parent_based(Sampler::AlwaysOn)));
    let downstream_of_unsampled = serve(&traceparent("00"), "unsampled server");
    let downstream_of_sampled = serve(&traceparent("01"), "sampled server");

    let spans = h.spans();
    // The unsampled request records nothing, but passes its decision on.
    assert_eq!(spans.len(), 2);
    assert_eq!(
        one(&spans, "sampled server").parent_span_id,
        remote_parent_id()
    );
    assert_child_of(
        one(&spans, "sampled server child"),
        one(&spans, "sampled server"),
    );
    let unsampled_tp = &downstream_of_unsampled["traceparent"];
    assert!(unsampled_tp.starts_with(&format!("00-{TRACE_ID}-")));
    assert!(unsampled_tp.ends_with("-00"), "{unsampled_tp}");
    assert!(!unsampled_tp.contains(PARENT_ID), "{unsampled_tp}");
    let sampled_tp = &downstream_of_sampled["traceparent"];
    assert_eq!(
        sampled_tp,
        &format!(
            "00-{TRACE_ID}-{}-01",
            one(&spans, "sampled server child").span_context.span_id()
        )
    );
    let stats = h.telemetry.stats();
    assert_eq!(stats.spans_started, 4);
    assert_eq!(stats.spans_sampled_out, 2);
}

#[test]
fn sampled_flag_overrides_a_parent_based_root_sampler_that_drops_everything() {
    let h = Harness::install(|b| b.sampler(Sampler::parent_based(Sampler::AlwaysOff)));
    serve(&traceparent("01"), "remote says keep");
    serve(&traceparent("00"), "remote says drop");
    {
        let _local = Span::start("local root").entered();
    }

    let spans = h.spans();
    assert_eq!(spans.len(), 2);
    assert_eq!(
        one(&spans, "remote says keep").span_context.trace_id(),
        remote_trace_id()
    );
    one(&spans, "remote says keep child");
}

#[test]
fn tracestate_is_carried_to_exported_spans_and_downstream() {
    let h = Harness::install(|b| b);
    let mut headers = traceparent("01");
    headers.insert(
        "tracestate".to_owned(),
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".to_owned(),
    );
    let downstream = serve(&headers, "server");

    let spans = h.spans();
    for name in ["server", "server child"] {
        assert_eq!(
            one(&spans, name).span_context.trace_state().header(),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
            "{name}"
        );
        assert_eq!(
            one(&spans, name).span_context.trace_state().get("congo"),
            Some("t61rcWkgMzE")
        );
    }
    assert_eq!(
        downstream["tracestate"],
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    );
}

#[test]
fn invalid_tracestate_is_dropped_but_traceparent_kept() {
    let h = Harness::install(|b| b);
    let mut headers = traceparent("01");
    headers.insert(
        "tracestate".to_owned(),
        "not a valid=entry=at all".to_owned(),
    );
    let downstream = serve(&headers, "server");

    let spans = h.spans();
    let server = one(&spans, "server");
    assert_eq!(server.parent_span_id, remote_parent_id());
    assert_eq!(server.span_context.trace_state().header(), "");
    assert!(!downstream.contains_key("tracestate"));
    assert_eq!(h.telemetry.stats().malformed_traceparent, 0);
}

#[test]
fn baggage_is_extracted_and_reinjected() {
    let h = Harness::install(|b| b);
    let mut headers = traceparent("01");
    headers.insert(
        "baggage".to_owned(),
        "user.tier=gold,tenant=acme".to_owned(),
    );
    let cx = extract(&headers);
    let baggage = cx.baggage().expect("baggage extracted");
    assert_eq!(baggage.len(), 2);
    assert_eq!(
        baggage.get("tenant").map(|v| v.to_string()),
        Some("acme".to_owned())
    );

    // Re-injected as is from the context ...
    let mut forwarded = Headers::new();
    inject_context(&cx, &mut forwarded);
    assert_eq!(forwarded["traceparent"], headers["traceparent"]);
    assert_baggage(&forwarded, &[("user.tier", "gold"), ("tenant", "acme")]);

    // ... and from inside a span started under it, with an entry added on the way.
    let downstream = serve(&headers, "server");
    assert_baggage(&downstream, &[("user.tier", "gold"), ("tenant", "acme")]);
    let added = {
        let _guard = cx.attach();
        // `with_baggage` replaces the baggage: copy what is there and add to it.
        let with_more = opentelemetry::Context::map_current(|cx| {
            let mut entries: Vec<KeyValue> = cx
                .baggage()
                .iter()
                .map(|(k, (v, _))| KeyValue::new(k.clone(), v.clone()))
                .collect();
            entries.push(KeyValue::new("step", "2"));
            cx.with_baggage(entries)
        });
        let _otel = with_more.attach();
        let _span = Span::start("hop").entered();
        let mut out = Headers::new();
        inject(&mut out);
        out
    };
    assert_baggage(
        &added,
        &[("user.tier", "gold"), ("tenant", "acme"), ("step", "2")],
    );
    // Baggage does not outlive its guard.
    let mut after = Headers::new();
    inject(&mut after);
    assert!(after.is_empty(), "{after:?}");

    let spans = h.spans();
    assert_eq!(one(&spans, "server").parent_span_id, remote_parent_id());
    assert_eq!(one(&spans, "hop").parent_span_id, remote_parent_id());
}

fn assert_baggage(headers: &Headers, expected: &[(&str, &str)]) {
    let value = headers.get("baggage").expect("baggage header");
    let mut got: Vec<&str> = value.split(',').map(str::trim).collect();
    got.sort_unstable();
    let mut want: Vec<String> = expected.iter().map(|(k, v)| format!("{k}={v}")).collect();
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn malformed_traceparent_starts_a_new_trace_and_is_counted() {
    let h = Harness::install(|b| b);
    let malformed = [
        "",
        "garbage",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\u{e9}",
        "\u{1f600}\u{1f600}-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ];
    for (i, value) in malformed.iter().enumerate() {
        let headers = HashMap::from([("traceparent".to_owned(), (*value).to_owned())]);
        let cx = extract(&headers);
        assert!(cx.span_context().is_none(), "{value:?} accepted");
        let _guard = cx.attach();
        let _span = Span::start(format!("request {i}"));
    }
    // No header at all is not malformed.
    let cx = extract(&Headers::new());
    assert!(cx.span_context().is_none());

    let spans = h.spans();
    assert_eq!(spans.len(), malformed.len());
    let mut trace_ids = std::collections::HashSet::new();
    for i in 0..malformed.len() {
        let span = one(&spans, &format!("request {i}"));
        assert_root(span);
        assert!(!span.parent_span_is_remote);
        assert_ne!(span.span_context.trace_id(), remote_trace_id());
        assert!(trace_ids.insert(span.span_context.trace_id()));
    }
    assert_eq!(
        h.telemetry.stats().malformed_traceparent,
        malformed.len() as u64
    );
}

#[test]
fn extracted_context_survives_being_sent_to_another_thread() {
    let h = Harness::install(|b| b);
    let cx: TraceContext = extract(&traceparent("01"));
    std::thread::spawn(move || {
        let _guard = cx.attach();
        let _span = Span::start("worker").entered();
    })
    .join()
    .expect("thread");

    let spans = h.spans();
    let worker = one(&spans, "worker");
    assert_eq!(worker.span_context.trace_id(), remote_trace_id());
    assert_eq!(worker.parent_span_id, remote_parent_id());
    assert!(worker.parent_span_is_remote);
}

#[test]
fn the_random_flag_is_kept_on_every_outgoing_traceparent_of_the_trace() {
    // Parent-based, so that the sampled flag follows the caller's too.
    let h = Harness::install(|b| b.sampler(Sampler::parent_based(Sampler::AlwaysOn)));
    for (incoming, outgoing) in [("02", "02"), ("03", "03"), ("01", "01"), ("00", "00")] {
        let downstream = serve(&traceparent(incoming), "server");
        let tp = &downstream["traceparent"];
        assert!(tp.starts_with(&format!("00-{TRACE_ID}-")), "{tp}");
        assert!(!tp.contains(PARENT_ID), "{tp}");
        assert!(tp.ends_with(&format!("-{outgoing}")), "{incoming} -> {tp}");
    }
    // Bits the specification does not define are not passed on.
    let downstream = serve(&traceparent("ff"), "server");
    assert!(downstream["traceparent"].ends_with("-03"), "{downstream:?}");
    drop(h);
}

#[test]
fn tracestate_on_several_lines_is_one_list_and_an_invalid_member_discards_it() {
    let h = Harness::install(|b| b);
    let tp = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let downstream_of = |lines: &[(&str, &str)]| {
        let cx = extract(&HeaderLines::new(lines.iter().copied()));
        let mut out = Headers::new();
        inject_context(&cx, &mut out);
        out
    };
    let out = downstream_of(&[
        ("traceparent", &tp),
        ("tracestate", "foo=1,bar=2"),
        ("TraceState", "rojo=1, \tcongo=2"),
        ("tracestate", ""),
        ("tracestate", "foo@@bar=3,t@vvvvvvvvvvvvvvv=4"),
    ]);
    assert_eq!(
        out["tracestate"],
        "foo=1,bar=2,rojo=1,congo=2,foo@@bar=3,t@vvvvvvvvvvvvvvv=4"
    );
    for invalid in ["foo=,bar=3", "@foo=1,bar=2", "foo=bar=baz", "FOO=1"] {
        let out = downstream_of(&[
            ("traceparent", &tp),
            ("tracestate", "ok=1"),
            ("tracestate", invalid),
        ]);
        assert_eq!(out["traceparent"], tp, "{invalid}: the traceparent is kept");
        assert!(!out.contains_key("tracestate"), "{invalid}: {out:?}");
    }
    let members: Vec<String> = (1..=33).map(|i| format!("k{i}=v")).collect();
    let out = downstream_of(&[
        ("traceparent", &tp),
        ("tracestate", &members[..32].join(",")),
    ]);
    assert_eq!(out["tracestate"].split(',').count(), 32);
    let out = downstream_of(&[("traceparent", &tp), ("tracestate", &members.join(","))]);
    assert!(!out.contains_key("tracestate"));
    drop(h);
}

#[test]
fn two_different_traceparent_lines_start_a_new_trace() {
    let h = Harness::install(|b| b);
    let one_line = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let other = format!("00-{TRACE_ID}-0000000000000001-01");
    let cx = extract(&HeaderLines::new([
        ("traceparent", one_line.as_str()),
        ("traceparent", other.as_str()),
    ]));
    assert!(cx.span_context().is_none());
    assert_eq!(h.telemetry.stats().malformed_traceparent, 1);
    // The same line twice is still that traceparent.
    let cx = extract(&HeaderLines::new([
        ("traceparent", one_line.as_str()),
        ("Traceparent", one_line.as_str()),
    ]));
    assert_eq!(
        cx.span_context().map(|sc| sc.trace_id()),
        Some(remote_trace_id())
    );
}
