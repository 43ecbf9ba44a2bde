//! CPU profiles linked to spans: the pprof output decoded with profile.proto's messages, each
//! sample labelled with the span polled at that instant; continuous profiles written to files
//! and pushed to a Pyroscope ingest endpoint on 127.0.0.1; the `span_resources` setting.
#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::Read;
use std::time::{Duration, Instant};

use pprof::protos::Message;
use zdk_trace_receivers::PyroscopeReceiver;
use zdk_trace_runtime::genai::RESOURCE_BUSY_MICROS;
use zdk_trace_runtime::{agent_span, span, Config, Sampler};
use zdk_trace_tests::harness::{attr, one, Harness};

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

/// Per sample: the function names on its stack and its labels.
fn samples(p: &pprof::protos::Profile) -> Vec<(Vec<String>, HashMap<String, String>, i64)> {
    let locations: HashMap<u64, &pprof::protos::Location> =
        p.location.iter().map(|l| (l.id, l)).collect();
    let functions: HashMap<u64, &pprof::protos::Function> =
        p.function.iter().map(|f| (f.id, f)).collect();
    p.sample
        .iter()
        .map(|s| {
            let names = s
                .location_id
                .iter()
                .filter_map(|id| locations.get(id))
                .flat_map(|l| l.line.iter())
                .filter_map(|line| functions.get(&line.function_id))
                .map(|f| string(p, f.name).to_owned())
                .collect();
            let labels = s
                .label
                .iter()
                .map(|l| (string(p, l.key).to_owned(), string(p, l.str).to_owned()))
                .collect();
            (names, labels, s.value.first().copied().unwrap_or(0))
        })
        .collect()
}

#[inline(never)]
fn burn_alpha(ms: u64) -> u64 {
    let start = Instant::now();
    let mut x = 1u64;
    // The clock is read every 10 000 rounds, so that the samples land in this function.
    while start.elapsed() < Duration::from_millis(ms) {
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    x
}

#[inline(never)]
fn burn_beta(ms: u64) -> u64 {
    let start = Instant::now();
    let mut x = 3u64;
    // The clock is read every 10 000 rounds, so that the samples land in this function.
    while start.elapsed() < Duration::from_millis(ms) {
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_mul(2862933555777941757).wrapping_add(3));
        }
    }
    x
}

#[span(name = "alpha")]
async fn alpha() {
    for _ in 0..150 {
        burn_alpha(4);
        tokio::task::yield_now().await;
    }
}

#[span(name = "beta")]
async fn beta() {
    for _ in 0..150 {
        burn_beta(4);
        tokio::task::yield_now().await;
    }
}

#[test]
fn samples_carry_the_span_polled_at_that_instant() {
    let config = Config::from_toml_str("[telemetry.profiling.cpu]\nfrequency = 250\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::install(|b| b.config(config));
    let telemetry = &h.telemetry;
    let profile = std::thread::scope(|scope| {
        let profiler = scope.spawn(|| telemetry.profile_cpu(Duration::from_millis(1500)));
        // Both spans interleaved on one thread: each yields after 4 ms of CPU.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            let a = tokio::spawn(alpha());
            let b = tokio::spawn(beta());
            let _ = a.await;
            let _ = b.await;
        });
        profiler
            .join()
            .unwrap_or_else(|_| panic!("profiler thread"))
            .unwrap_or_else(|e| panic!("profile_cpu: {e}"))
    });
    let spans = h.spans();
    let alpha_id = format!(
        "{:016x}",
        u64::from_be_bytes(one(&spans, "alpha").span_context.span_id().to_bytes())
    );
    let beta_id = format!(
        "{:016x}",
        u64::from_be_bytes(one(&spans, "beta").span_context.span_id().to_bytes())
    );

    let proto = decode(&profile.to_pprof());
    let kinds: Vec<(&str, &str)> = proto
        .sample_type
        .iter()
        .map(|t| (string(&proto, t.ty), string(&proto, t.unit)))
        .collect();
    assert_eq!(kinds, [("samples", "count"), ("cpu", "nanoseconds")]);
    assert_eq!(proto.period, 1_000_000_000 / 250);
    let all = samples(&proto);
    let mut own = HashMap::<&str, (i64, i64)>::new();
    for (names, labels, count) in &all {
        for (func, id, name) in [
            ("burn_alpha", &alpha_id, "alpha"),
            ("burn_beta", &beta_id, "beta"),
        ] {
            if names.iter().any(|n| n.contains(func)) {
                let e = own.entry(name).or_default();
                e.0 += count;
                if labels.get("span_id") == Some(id) {
                    assert_eq!(labels.get("span_name").map(String::as_str), Some(name));
                    e.1 += count;
                }
            }
        }
    }
    for name in ["alpha", "beta"] {
        let (total, labelled) = own.get(name).copied().unwrap_or_default();
        assert!(
            total >= 50,
            "{name}: only {total} samples in its burn function"
        );
        assert!(
            labelled * 10 >= total * 9,
            "{name}: {labelled} of {total} samples carry its own span id"
        );
    }
    // The known CPU-burning functions dominate the profile (their cumulative share: a debug
    // build spends their time in the iterator and arithmetic helpers they call).
    let functions = profile.top_functions(usize::MAX);
    let burn: i64 = functions
        .iter()
        .filter(|f| f.name.ends_with("burn_alpha") || f.name.ends_with("burn_beta"))
        .map(|f| f.total_value)
        .sum();
    let total = profile.total("cpu");
    assert!(
        burn * 10 >= total * 6,
        "burn functions {burn} of {total} ns: {functions:?}"
    );
    let svg = profile.flamegraph_svg().unwrap_or_else(|e| panic!("{e}"));
    assert!(svg.contains("burn_alpha"));
}

#[span(name = "alpha_step")]
async fn alpha_step() {
    for _ in 0..100 {
        burn_alpha(4);
        tokio::task::yield_now().await;
    }
}

#[span(name = "beta_step")]
async fn beta_step() {
    for _ in 0..100 {
        burn_beta(4);
        tokio::task::yield_now().await;
    }
}

#[agent_span(name = "writer", conversation = conversation)]
async fn writer(conversation: &str) {
    alpha_step().await;
}

#[agent_span(name = "reviewer", conversation = conversation)]
async fn reviewer(conversation: &str) {
    beta_step().await;
}

#[test]
fn samples_carry_the_agent_invocation_and_its_conversation() {
    let h = Harness::install(|b| b.cpu_profile_frequency(250));
    let telemetry = &h.telemetry;
    let profile = std::thread::scope(|scope| {
        let profiler = scope.spawn(|| telemetry.profile_cpu(Duration::from_millis(1200)));
        // Two agents interleaved on one thread, each running a CPU-bound step below it.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            let a = tokio::spawn(writer("conv-a"));
            let b = tokio::spawn(reviewer("conv-b"));
            let _ = a.await;
            let _ = b.await;
        });
        profiler
            .join()
            .unwrap_or_else(|_| panic!("profiler thread"))
            .unwrap_or_else(|e| panic!("profile_cpu: {e}"))
    });
    let spans = h.spans();
    let id_of = |name: &str| {
        format!(
            "{:016x}",
            u64::from_be_bytes(one(&spans, name).span_context.span_id().to_bytes())
        )
    };
    let cases = [
        (
            "burn_alpha",
            "alpha_step",
            "writer",
            id_of("invoke_agent writer"),
            "conv-a",
        ),
        (
            "burn_beta",
            "beta_step",
            "reviewer",
            id_of("invoke_agent reviewer"),
            "conv-b",
        ),
    ];
    let proto = decode(&profile.to_pprof());
    let mut counted = HashMap::<&str, (i64, i64)>::new();
    for (names, labels, count) in samples(&proto) {
        for (func, step, agent, invocation, conversation) in &cases {
            if !names.iter().any(|n| n.contains(func)) {
                continue;
            }
            let e = counted.entry(agent).or_default();
            e.0 += count;
            let get = |k: &str| labels.get(k).map(String::as_str);
            if get("span_name") == Some(step) {
                assert_eq!(get("gen_ai.agent.name"), Some(*agent), "{labels:?}");
                assert_eq!(
                    get("gen_ai.agent.invocation_id"),
                    Some(invocation.as_str()),
                    "{labels:?}"
                );
                assert_eq!(
                    get("gen_ai.conversation.id"),
                    Some(*conversation),
                    "{labels:?}"
                );
                e.1 += count;
            }
        }
    }
    for (_, _, agent, _, _) in &cases {
        let (total, labelled) = counted.get(agent).copied().unwrap_or_default();
        assert!(
            total >= 30,
            "{agent}: only {total} samples in its burn function"
        );
        assert!(
            labelled * 10 >= total * 9,
            "{agent}: {labelled} of {total} samples carry its invocation and conversation"
        );
    }
}

#[span(name = "sampled_out_busy")]
fn sampled_out_busy() -> u64 {
    burn_beta(40)
}

/// A sync fn sampled out at its head keeps its frame off the stack when it can; while a
/// profile is taken it must not, so that the samples inside it carry its name. The thread
/// has started a span before (its state is set up), as a busy service's threads have.
#[test]
fn samples_in_a_sampled_out_sync_fn_carry_its_name() {
    let config = Config::from_toml_str("[telemetry.profiling.cpu]\nfrequency = 250\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::install(|b| b.config(config).sampler(Sampler::AlwaysOff));
    let telemetry = &h.telemetry;
    sampled_out_busy();
    let profile = std::thread::scope(|scope| {
        let profiler = scope.spawn(|| telemetry.profile_cpu(Duration::from_millis(1200)));
        while !profiler.is_finished() {
            sampled_out_busy();
        }
        profiler
            .join()
            .unwrap_or_else(|_| panic!("profiler thread"))
            .unwrap_or_else(|e| panic!("profile_cpu: {e}"))
    });
    assert!(h.spans().is_empty(), "sampled out: nothing exported");

    let proto = decode(&profile.to_pprof());
    let (mut total, mut labelled) = (0, 0);
    for (names, labels, count) in samples(&proto) {
        if names.iter().any(|n| n.contains("burn_beta")) {
            total += count;
            if labels.get("span_name").map(String::as_str) == Some("sampled_out_busy") {
                labelled += count;
            }
        }
    }
    assert!(total > 0, "no sample in burn_beta");
    // Only a call that started before the timer did can be unlabelled.
    assert!(
        labelled * 10 >= total * 8,
        "{labelled} of {total} samples in the sampled-out fn carry its name"
    );
}

#[span(name = "busy_loop")]
fn busy_loop() -> u64 {
    burn_alpha(1200)
}

#[test]
fn continuous_profiles_are_written_to_files_and_pushed_to_pyroscope() {
    let dir = std::env::temp_dir().join(format!("zdk-profiles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let toml = format!(
        "[telemetry.profiling]\nenabled = true\n[telemetry.profiling.cpu]\nenabled = true\n\
         continuous = true\nduration_seconds = 1\n[telemetry.profiling.exporter]\ntype = \"file\"\n\
         file_output_dir = \"{}\"\n",
        dir.display()
    );
    let config = Config::from_toml_str(&toml).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::install(|b| b.config(config));
    busy_loop();
    h.telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    let pb: Vec<_> = files
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".pb.gz"))
        .collect();
    assert!(!pb.is_empty(), "{files:?}");
    let mut labelled = 0;
    for path in &pb {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(name.starts_with("cpu-test-"), "{name}");
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
        let proto = decode(&bytes);
        labelled += samples(&proto)
            .iter()
            .filter(|(_, l, _)| l.get("span_name").map(String::as_str) == Some("busy_loop"))
            .count();
    }
    assert!(labelled > 0, "no sample labelled busy_loop in {pb:?}");
    assert!(
        files
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "svg")),
        "{files:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // Pyroscope: each window pushed to /ingest as pprof.
    let receiver = PyroscopeReceiver::start();
    let toml = format!(
        "[telemetry.profiling]\nenabled = true\n[telemetry.profiling.cpu]\nenabled = true\n\
         continuous = true\nduration_seconds = 1\n[telemetry.profiling.exporter]\n\
         type = \"pyroscope\"\npyroscope_endpoint = \"{}\"\napplication_name = \"agent-app\"\n",
        receiver.endpoint()
    );
    drop(h);
    let config = Config::from_toml_str(&toml).unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::install(|b| b.config(config));
    busy_loop();
    let pushes = receiver.wait_for_pushes(1, Duration::from_secs(10));
    h.telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let push = pushes.first().unwrap_or_else(|| panic!("no push"));
    assert_eq!(push.application, "agent-app");
    assert_eq!(push.sample_rate, 99);
    assert_eq!(push.spy_name, "zdk-trace");
    assert!(push.until > push.from);
    assert!(!push.profile.sample.is_empty());
    assert!(h.telemetry.stats().profiles_exported >= 1);
}

#[span(name = "measured_by_setting")]
fn measured_by_setting() {}

#[test]
fn span_resources_measures_every_macro_span() {
    let config =
        Config::from_toml_str("[telemetry.profiling]\nenabled = true\nspan_resources = true\n")
            .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::install(|b| b.config(config));
    measured_by_setting();
    let spans = h.spans();
    assert!(attr(one(&spans, "measured_by_setting"), RESOURCE_BUSY_MICROS).is_some());
    drop(h);
    // And off by default.
    let h = Harness::install(|b| b);
    measured_by_setting();
    let spans = h.spans();
    assert!(attr(one(&spans, "measured_by_setting"), RESOURCE_BUSY_MICROS).is_none());
}
