//! What a broken collector costs the application: the per-span cost on the application thread
//! (median, p99 and p99.9 of bursts of 256 spans) with a healthy OTLP receiver and with each
//! fault of the fault-injection suite (`tests/tests/faults.rs`, `outage.rs`), in the same run, and what
//! `stats()` counted. A fault must not block the application: its percentiles stay those of
//! the healthy case within noise.
//!
//! Each case runs in a fresh child process (a stalled receiver leaves an export hanging), for
//! 5 s (`--test`: 0.5 s) at about 250 000 spans a second (bursts of 256, 1 ms apart).
//!
//! Then **errors first**: with a real gRPC collector that takes a tenth of what is offered
//! (three-span traces, one in ten with an error, `keep_errors`), the share of error traces that
//! arrive whole (asserted ≥ 99 %) and of ok traces.
//!
//! `cargo bench -p zdk-trace-runtime --bench faults`; a word argument runs only the cases whose
//! name contains it.

use std::process::Command;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use zdk_trace_receivers::{CountingReceiver, FlappingProxy, HttpReceiver};
use zdk_trace_runtime::{Config, Protocol, Sampler, Span, Status, TailSampling, Telemetry};

mod common;

use common::{filter, smoke_mode, zdk_otlp, zdk_sync};

const BURST: usize = 256;

/// An exporter that panics on every batch.
#[derive(Debug)]
struct Panicking;

impl SpanExporter for Panicking {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        panic!("exporter bug");
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    drop(listener);
    port
}

/// Keeps a case's receiver alive for the run.
enum Receiver {
    Counting(CountingReceiver),
    Http(HttpReceiver),
    Flapping(HttpReceiver, FlappingProxy),
    None,
}

fn install(case: &str) -> (Telemetry, Receiver) {
    match case {
        "healthy" => {
            let r = CountingReceiver::http();
            (
                zdk_otlp(&r.endpoint(), Protocol::HttpProtobuf, None, None),
                Receiver::Counting(r),
            )
        }
        "refused" => (
            zdk_otlp(
                &format!("http://127.0.0.1:{}", closed_port()),
                Protocol::HttpProtobuf,
                None,
                None,
            ),
            Receiver::None,
        ),
        "stalled" => {
            let r = CountingReceiver::grpc_stalled(Duration::from_secs(3600));
            (
                zdk_otlp(&r.endpoint(), Protocol::Grpc, None, None),
                Receiver::Counting(r),
            )
        }
        "flapping" => {
            let r = HttpReceiver::start();
            let proxy = FlappingProxy::start(r.addr());
            (
                zdk_otlp(&proxy.endpoint(), Protocol::HttpProtobuf, None, None),
                Receiver::Flapping(r, proxy),
            )
        }
        "http-503" | "http-429" => {
            let r = HttpReceiver::start();
            r.respond_with_retry_after(if case == "http-503" { 503 } else { 429 }, 1);
            (
                zdk_otlp(&r.endpoint(), Protocol::HttpProtobuf, None, None),
                Receiver::Http(r),
            )
        }
        "panicking-exporter" => (
            Telemetry::builder()
                .ignore_env()
                .sampler(Sampler::AlwaysOn)
                .span_exporter(Panicking)
                .install()
                .unwrap_or_else(|e| panic!("install: {e}")),
            Receiver::None,
        ),
        other => panic!("unknown case {other}"),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn run_case(case: &str, run_for: Duration) {
    let (telemetry, receiver) = install(case);
    // Warm up: the thread's ring and slot pool.
    for _ in 0..4 * BURST {
        std::hint::black_box(zdk_sync());
    }
    let mut per_span = Vec::new();
    let start = Instant::now();
    let mut up = true;
    while start.elapsed() < run_for {
        // The flapping collector: down every other second.
        if let Receiver::Flapping(_, proxy) = &receiver {
            let want_up = (start.elapsed().as_millis() / 1000) % 2 == 0;
            if want_up != up {
                up = want_up;
                if up {
                    proxy.up();
                } else {
                    proxy.down();
                }
            }
        }
        let t = Instant::now();
        for _ in 0..BURST {
            std::hint::black_box(zdk_sync());
        }
        per_span.push(t.elapsed().as_nanos() as f64 / BURST as f64);
        std::thread::sleep(Duration::from_millis(1));
    }
    let created = (per_span.len() * BURST + 4 * BURST) as u64;
    if let Receiver::Flapping(_, proxy) = &receiver {
        proxy.up();
    }
    per_span.sort_by(f64::total_cmp);
    // A bounded shutdown: what cannot be exported by then is counted as dropped.
    let shutdown = telemetry.shutdown_with_timeout(Duration::from_secs(2));
    let stats = telemetry.stats();
    let arrived = match &receiver {
        Receiver::Counting(r) => r.spans().to_string(),
        Receiver::Http(r) | Receiver::Flapping(r, _) => r.spans().len().to_string(),
        Receiver::None => "—".to_owned(),
    };
    assert_eq!(
        stats.spans_recorded, created,
        "{case}: every span created is recorded"
    );
    if shutdown.is_ok() {
        assert_eq!(
            stats.spans_recorded,
            stats.spans_exported + stats.dropped(),
            "{case}: a span is unaccounted for: {stats:?}"
        );
    }
    println!(
        "| {case} | {:.1} | {:.1} | {:.1} | {created} | {arrived} | {} | {} | {} | {} | {} | {} | {} | {} |",
        percentile(&per_span, 0.5),
        percentile(&per_span, 0.99),
        percentile(&per_span, 0.999),
        stats.spans_exported,
        stats.dropped_queue_full,
        stats.dropped_export_failed,
        stats.dropped_shutdown,
        stats.dropped_retry_buffer,
        stats.export_errors,
        stats.export_timeouts + stats.export_panics,
        if shutdown.is_ok() { "ok" } else { "timed out" },
    );
    // A stalled export may still hang: exit without waiting for it.
    std::mem::forget(telemetry);
    std::mem::forget(receiver);
}

/// Errors first: a real gRPC collector that takes 20 ms per 256 spans (12 800 spans/s, however
/// the exporter groups them into requests), offered ten times that in three-span traces, one in ten
/// with an error on its last child, with `keep_errors`; prints the share of error traces that
/// arrived whole and of ok traces that arrived.
fn errors_first(run_for: Duration) {
    const BATCH: usize = 256;
    const DELAY: Duration = Duration::from_millis(20);
    let receiver = CountingReceiver::grpc_paced(DELAY / BATCH as u32);
    receiver.track_traces();
    let telemetry = Telemetry::builder()
        .ignore_env()
        .config(
            Config::default()
                .with_otlp_endpoint(receiver.endpoint())
                .with_otlp_protocol(Protocol::Grpc)
                .with_otlp_exporter(),
        )
        .sampler(Sampler::AlwaysOn)
        .tail_sampling(TailSampling::default().keep_errors(true))
        .max_export_batch_size(BATCH)
        .scheduled_delay(Duration::from_millis(5))
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    let capacity = BATCH as f64 / DELAY.as_secs_f64();
    let traces_per_ms = 10.0 * capacity / 1000.0 / 3.0;
    let (mut errors, mut oks) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let mut offered = 0.0f64;
    while start.elapsed() < run_for {
        offered += traces_per_ms;
        while ((errors.len() + oks.len()) as f64) < offered {
            let error = (errors.len() + oks.len()) % 10 == 9;
            let root = Span::start("invoke_agent");
            let id = root
                .context()
                .span_context()
                .map(|sc| sc.trace_id().to_bytes())
                .unwrap_or_default();
            {
                let _in = root.enter();
                drop(Span::start("chat"));
                let mut tool = Span::start("execute_tool");
                if error {
                    tool.set_status(Status::error("tool timed out"));
                }
            }
            drop(root);
            if error {
                errors.push(id);
            } else {
                oks.push(id);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = telemetry.shutdown_with_timeout(Duration::from_secs(30));
    let stats = telemetry.stats();
    let traces = receiver.traces();
    let whole = errors
        .iter()
        .filter(|id| {
            traces
                .get(*id)
                .is_some_and(|t| t.spans == 3 && t.errors == 1)
        })
        .count();
    let ok_arrived = oks.iter().filter(|id| traces.contains_key(*id)).count();
    println!(
        "| {} | {:.0} spans/s (10 × {capacity:.0}) | {whole} / {} ({:.2} %) | {ok_arrived} / {} ({:.1} %) | {} ({} errors) |",
        run_for.as_secs_f64(),
        10.0 * capacity,
        errors.len(),
        100.0 * whole as f64 / errors.len().max(1) as f64,
        oks.len(),
        100.0 * ok_arrived as f64 / oks.len().max(1) as f64,
        stats.dropped_queue_full,
        stats.dropped_queue_full_errors,
    );
    assert!(
        whole as f64 >= 0.99 * errors.len() as f64,
        "error traces were not kept first"
    );
}

fn main() {
    let smoke = smoke_mode();
    let run_for = if smoke {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(5)
    };
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        match args.get(i + 1).map_or("", String::as_str) {
            "errors-first" => errors_first(run_for),
            case => run_case(case, run_for),
        }
        std::process::exit(0);
    }
    let filter = filter().filter(|f| f != "--case");
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    println!(
        "faults: per-span cost on the application thread, bursts of {BURST} spans 1 ms apart for {:.1} s, each case in its own process (ns per span)",
        run_for.as_secs_f64()
    );
    println!();
    println!("| case | median | p99 | p99.9 | spans created | arrived | exported | dropped: queue full | export failed | shutdown | retry buffer | export errors | timeouts + panics | shutdown |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for case in [
        "healthy",
        "flapping",
        "refused",
        "stalled",
        "http-503",
        "http-429",
        "panicking-exporter",
    ] {
        if filter.as_deref().is_some_and(|f| !case.contains(f)) {
            continue;
        }
        let mut cmd = Command::new(&exe);
        cmd.args(["--case", case]);
        if smoke {
            cmd.arg("--test");
        }
        let status = cmd.status().unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(status.success(), "case {case} failed: {status}");
    }
    if filter.as_deref().is_none_or(|f| "errors-first".contains(f)) {
        println!();
        println!("errors first: 3-span traces, 10 % with an error, keep_errors, offered at 10 × what a real gRPC collector (20 ms per 256-span request) takes");
        println!();
        println!("| seconds | offered | error traces arrived whole | ok traces arrived | dropped: queue full |");
        println!("| ---: | ---: | ---: | ---: | ---: |");
        let mut cmd = Command::new(&exe);
        cmd.args(["--case", "errors-first"]);
        if smoke {
            cmd.arg("--test");
        }
        let status = cmd.status().unwrap_or_else(|e| panic!("errors-first: {e}"));
        assert!(status.success(), "case errors-first failed: {status}");
    }
}
