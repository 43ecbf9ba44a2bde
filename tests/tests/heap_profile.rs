//! Heap profiles (`[telemetry.profiling.memory] track_allocations`, `heap_profiling`): sampled
//! allocations with their stacks and spans, decoded with profile.proto's messages; and
//! `memory_stats()` from the counting allocator.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::Read;

use pprof::protos::Message;
use zdk_trace_runtime::{span, Config, CountingAllocator};
use zdk_trace_tests::harness::Harness;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::system();

fn decode(gz: &[u8]) -> pprof::protos::Profile {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("gunzip: {e}"));
    pprof::protos::Profile::decode(raw.as_slice()).unwrap_or_else(|e| panic!("decode: {e}"))
}

fn string(p: &pprof::protos::Profile, i: i64) -> &str {
    p.string_table
        .get(usize::try_from(i).unwrap_or(0))
        .map_or("", String::as_str)
}

/// The values of every sample type, summed per `span_name` label.
fn by_span(p: &pprof::protos::Profile) -> HashMap<String, HashMap<String, i64>> {
    let types: Vec<String> = p
        .sample_type
        .iter()
        .map(|t| string(p, t.ty).to_owned())
        .collect();
    let mut out: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for s in &p.sample {
        let span = s
            .label
            .iter()
            .find(|l| string(p, l.key) == "span_name")
            .map_or_else(String::new, |l| string(p, l.str).to_owned());
        let entry = out.entry(span).or_default();
        for (ty, v) in types.iter().zip(&s.value) {
            *entry.entry(ty.clone()).or_default() += v;
        }
    }
    out
}

#[span(name = "hoarder")]
fn hoard() -> Vec<Vec<u8>> {
    (0..100).map(|i| vec![i as u8; 10_240]).collect()
}

#[span(name = "churner")]
fn churn() -> usize {
    let mut n = 0;
    for i in 0..100 {
        let v = vec![i as u8; 10_240];
        n += std::hint::black_box(v).len();
    }
    n
}

#[test]
fn sampled_allocations_carry_their_span_and_inuse_space_what_is_still_live() {
    let config = Config::from_toml_str(
        "[telemetry.profiling]\nenabled = true\n[telemetry.profiling.memory]\nenabled = true\n\
         track_allocations = true\nheap_profiling = true\nsampling_rate = 4\n\
         [telemetry.metrics.prometheus]\nenabled = true\nport = 0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::install(|b| b.config(config));
    let kept = hoard();
    churn();
    let profile = h
        .telemetry
        .heap_profile()
        .unwrap_or_else(|e| panic!("heap_profile: {e}"));
    let proto = decode(&profile.to_pprof());
    let types: Vec<(&str, &str)> = proto
        .sample_type
        .iter()
        .map(|t| (string(&proto, t.ty), string(&proto, t.unit)))
        .collect();
    assert_eq!(
        types,
        [
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes")
        ]
    );
    let spans = by_span(&proto);
    let get = |span: &str, ty: &str| {
        spans
            .get(span)
            .and_then(|m| m.get(ty))
            .copied()
            .unwrap_or(0)
    };
    // 100 allocations of 10 KiB each, one in 4 sampled and scaled back up by 4.
    let hoarded = get("hoarder", "inuse_space");
    assert!(
        (800_000..1_300_000).contains(&hoarded),
        "hoarder in use: {hoarded} bytes: {spans:?}"
    );
    let churned = get("churner", "alloc_space");
    assert!(
        (800_000..1_300_000).contains(&churned),
        "churner allocated: {churned}: {spans:?}"
    );
    assert!(
        get("churner", "inuse_space") < 50_000,
        "churner freed everything: {spans:?}"
    );
    // The stacks name the function that allocated.
    let names: Vec<&str> = proto
        .function
        .iter()
        .map(|f| string(&proto, f.name))
        .collect();
    assert!(names.iter().any(|n| n.contains("hoard")), "{names:?}");
    drop(kept);

    let stats = h.telemetry.memory_stats();
    assert!(stats.allocated_bytes.unwrap_or(0) >= 2_000_000, "{stats:?}");
    assert!(stats.allocations.unwrap_or(0) >= 200, "{stats:?}");
    assert!(stats.peak_bytes >= stats.current_bytes, "{stats:?}");
    assert!(stats.rss_bytes.unwrap_or(0) > 0, "{stats:?}");

    // The same figures as metrics gauges, on the Prometheus endpoint.
    let addr = h
        .telemetry
        .prometheus_addr()
        .unwrap_or_else(|| panic!("the endpoint is not running"));
    let body = zdk_trace_tests::scrape::scrape(addr, "/metrics", None).body;
    let line = body
        .lines()
        .find(|l| l.starts_with("zdk_memory_heap_usage_bytes"))
        .unwrap_or_else(|| panic!("no heap gauge in:\n{body}"));
    let value: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(value > 0.0, "{line}");
    assert!(body.contains("zdk_memory_heap_peak_bytes"), "{body}");
    assert!(body.contains("zdk_memory_allocations_total"), "{body}");
}
