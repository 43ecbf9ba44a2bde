//! The pipeline: queue overflow with exact drop counts, flush and shutdown deliver everything
//! (other threads' buffers included), a failing or panicking exporter never takes the app down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use zdk_trace_runtime::{Span, Status};
use zdk_trace_tests::harness::{isolated_builder, serial, Harness, Recorder};

/// An exporter that blocks every export until the gate opens, then records the spans.
#[derive(Debug, Clone, Default)]
struct GatedExporter {
    gate: Arc<(Mutex<bool>, Condvar)>,
    exported: Arc<Mutex<Vec<SpanData>>>,
}

impl GatedExporter {
    fn open(&self) {
        let (lock, cvar) = &*self.gate;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_all();
    }
}

impl SpanExporter for GatedExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let (lock, cvar) = &*self.gate;
        let mut open = lock.lock().unwrap_or_else(|p| p.into_inner());
        while !*open {
            open = cvar.wait(open).unwrap_or_else(|p| p.into_inner());
        }
        self.exported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(batch);
        Ok(())
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn queue_overflow_drops_exactly_what_does_not_fit() {
    let _serial = serial();
    let exporter = GatedExporter::default();
    let telemetry = isolated_builder()
        .max_queue_size(100)
        .max_export_batch_size(10)
        .scheduled_delay(Duration::from_millis(10))
        .span_exporter(exporter.clone())
        .install()
        .expect("install");
    for i in 0..300 {
        let _span = Span::start(format!("span {i}"));
    }
    // The exporter is stuck on its first batch: the queue holds 100 spans, the rest are dropped.
    wait_until("300 spans accounted for", || {
        telemetry.stats().dropped_queue_full == 200
    });
    exporter.open();
    telemetry.force_flush().expect("flush");
    let stats = telemetry.stats();
    assert_eq!(stats.spans_recorded, 300);
    assert_eq!(stats.dropped_queue_full, 200);
    assert_eq!(stats.spans_exported, 100);
    assert_eq!(
        exporter
            .exported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len(),
        100
    );
    telemetry.shutdown().expect("shutdown");
}

#[test]
fn the_application_is_never_blocked_by_a_stuck_exporter() {
    let _serial = serial();
    let exporter = GatedExporter::default();
    let telemetry = isolated_builder()
        .max_queue_size(64)
        .max_export_batch_size(8)
        .span_exporter(exporter.clone())
        .install()
        .expect("install");
    // Far more spans than every buffer together can hold: if anything blocked, this would hang.
    for _ in 0..100_000 {
        let _span = Span::start("busy");
    }
    // Exactly what fits in the queue (64) is kept; the rest is dropped, in the thread's ring
    // or in the collector, and counted.
    wait_until("all spans accounted for", || {
        telemetry.stats().dropped_queue_full == 100_000 - 64
    });
    exporter.open();
    telemetry.force_flush().expect("flush");
    let s = telemetry.stats();
    assert_eq!(s.spans_started, 100_000);
    assert_eq!(s.spans_exported, 64);
    assert_eq!(s.dropped_queue_full, 100_000 - 64);
    // Once the exporter has caught up, spans are exported again: the queue being full was
    // not a state the pipeline stays in.
    for _ in 0..10 {
        let _span = Span::start("after");
    }
    telemetry.force_flush().expect("flush");
    let s = telemetry.stats();
    assert_eq!(s.spans_exported, 64 + 10);
    assert_eq!(s.dropped_queue_full, 100_000 - 64);
    telemetry.shutdown().expect("shutdown");
}

#[test]
fn while_the_queue_is_full_ok_spans_are_shed_and_error_spans_kept() {
    let _serial = serial();
    let exporter = GatedExporter::default();
    let telemetry = isolated_builder()
        .max_queue_size(16)
        .max_export_batch_size(4)
        .scheduled_delay(Duration::from_millis(5))
        .span_exporter(exporter.clone())
        .install()
        .expect("install");
    // Fill the queue (the exporter is stuck on its first batch), until ok spans are shed.
    wait_until("the queue to fill up", || {
        drop(Span::start("filler"));
        telemetry.stats().dropped_queue_full > 0
    });
    // With the queue full, ok spans are shed and error spans wait for room, ahead of them.
    for i in 0..40 {
        let mut span = Span::start("call");
        if i % 4 == 0 {
            span.set_status(Status::error("upstream timed out"));
        }
        // Still recorded: whether it ends with an error is known only at its end.
        assert!(span.is_recording());
    }
    exporter.open();
    telemetry.force_flush().expect("flush");
    let s = telemetry.stats();
    let exported = exporter.exported.lock().unwrap_or_else(|p| p.into_inner());
    let errors = exported
        .iter()
        .filter(|s| matches!(s.status, opentelemetry::trace::Status::Error { .. }))
        .count();
    assert_eq!(errors, 10, "every error span is exported: {s:?}");
    assert_eq!(s.dropped_queue_full_errors, 0);
    assert!(s.dropped_queue_full >= 30, "ok spans were shed: {s:?}");
    // Every span is accounted for: exported or dropped because the queue was full.
    assert_eq!(s.spans_started, s.spans_recorded);
    assert_eq!(s.spans_exported + s.dropped_queue_full, s.spans_recorded);
    assert_eq!(exported.len() as u64, s.spans_exported);
    drop(exported);
    telemetry.shutdown().expect("shutdown");
}

/// Every thread's nice value, by name (`/proc/self/task/*/stat`, field 19).
#[cfg(target_os = "linux")]
fn nice_by_thread() -> Vec<(String, i32)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        panic!("cannot read /proc/self/task");
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ...`: fields after the closing parenthesis, from field 3.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
        let nice = rest.split_whitespace().nth(16).and_then(|f| f.parse().ok());
        if let Some(nice) = nice {
            out.push((comm, nice));
        }
    }
    out
}

#[cfg(target_os = "linux")]
#[test]
fn the_pipeline_threads_yield_the_cpu_to_the_application() {
    let _serial = serial();
    let telemetry = isolated_builder()
        .span_exporter(Recorder::default())
        .install()
        .expect("install");
    // Thread names as the kernel keeps them: the first 15 bytes.
    let roles = ["zdk-trace-colle", "zdk-trace-expor"];
    let own_nice = |threads: &[(String, i32)]| {
        threads
            .iter()
            .find(|(comm, _)| comm.starts_with("pipeline-"))
            .or_else(|| {
                threads
                    .iter()
                    .find(|(comm, _)| !comm.starts_with("zdk-trace"))
            })
            .map(|(_, nice)| *nice)
            .expect("this thread")
    };
    // A pipeline thread is named when it is spawned and lowers its priority as its first
    // step: wait (up to a second, on a loaded machine) until every one has done so.
    let settled = |threads: &[(String, i32)]| {
        let want = (own_nice(threads) + 5).min(19);
        roles.iter().all(|role| {
            let found: Vec<_> = threads.iter().filter(|(comm, _)| comm == role).collect();
            !found.is_empty() && found.iter().all(|(_, nice)| *nice == want)
        })
    };
    let mut threads = nice_by_thread();
    for _ in 0..200 {
        if settled(&threads) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        threads = nice_by_thread();
    }
    let own = own_nice(&threads);
    for role in roles {
        let found: Vec<_> = threads.iter().filter(|(comm, _)| comm == role).collect();
        assert!(!found.is_empty(), "no {role} thread in {threads:?}");
        for (_, nice) in found {
            assert_eq!(*nice, (own + 5).min(19), "{role} in {threads:?}");
        }
    }
    telemetry.shutdown().expect("shutdown");
}

#[test]
fn shutdown_delivers_spans_from_every_thread() {
    let _serial = serial();
    let exporter = Recorder::default();
    let telemetry = isolated_builder()
        // Long enough that nothing is exported before shutdown unless shutdown does it.
        .scheduled_delay(Duration::from_secs(3600))
        .span_exporter(exporter.clone())
        .install()
        .expect("install");
    // Threads that exited...
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..250 {
                    let _s = Span::start(format!("exited {t}/{i}"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    // ...and threads still alive, idle, with spans recorded.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let alive = std::thread::spawn(move || {
        for i in 0..100 {
            let _s = Span::start(format!("alive {i}"));
        }
        let _ = ready_tx.send(());
        let _ = done_rx.recv();
    });
    ready_rx.recv().expect("alive thread ready");
    for i in 0..10 {
        let _s = Span::start(format!("main {i}"));
    }
    telemetry.shutdown().expect("shutdown");
    let spans = exporter.spans();
    assert_eq!(spans.len(), 1000 + 100 + 10);
    let stats = telemetry.stats();
    assert_eq!(stats.spans_exported, 1110);
    assert_eq!(stats.dropped(), 0);
    let _ = done_tx.send(());
    alive.join().expect("alive thread");
    // After shutdown nothing is recorded, and a second shutdown says so.
    assert!(!Span::start("late").is_recording());
    assert!(telemetry.shutdown().is_err());
}

#[test]
fn dropping_the_handle_flushes() {
    let _serial = serial();
    let exporter = Recorder::default();
    {
        let _telemetry = isolated_builder()
            .scheduled_delay(Duration::from_secs(3600))
            .span_exporter(exporter.clone())
            .install()
            .expect("install");
        let _s = Span::start("before drop");
    }
    assert_eq!(exporter.spans().len(), 1);
}

#[test]
fn installing_again_replaces_the_pipeline_after_flushing_it() {
    let _serial = serial();
    let first = Recorder::default();
    let second = Recorder::default();
    let install = |e: &Recorder| {
        isolated_builder()
            .scheduled_delay(Duration::from_secs(3600))
            .span_exporter(e.clone())
            .install()
            .expect("install")
    };
    let t1 = install(&first);
    drop(Span::start("one"));
    let t2 = install(&second);
    drop(Span::start("two"));
    t2.shutdown().expect("shutdown");
    let names = |e: &Recorder| e.names();
    assert_eq!(names(&first), ["one"]);
    assert_eq!(names(&second), ["two"]);
    assert!(
        t1.shutdown().is_err(),
        "the replaced pipeline is already shut down"
    );
}

/// Panics on its first export, fails its second, then works.
#[derive(Debug, Clone, Default)]
struct FlakyExporter {
    calls: Arc<AtomicUsize>,
    exported: Arc<Mutex<Vec<String>>>,
}

impl SpanExporter for FlakyExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self.calls.fetch_add(1, Ordering::SeqCst) {
            0 => panic!("exporter bug"),
            1 => Err(OTelSdkError::InternalFailure("collector said no".into())),
            _ => {
                let mut out = self.exported.lock().unwrap_or_else(|p| p.into_inner());
                out.extend(batch.into_iter().map(|s| s.name.to_string()));
                Ok(())
            }
        }
    }
}

#[test]
fn a_panicking_or_failing_exporter_is_counted_and_the_pipeline_goes_on() {
    let exporter = FlakyExporter::default();
    let h = Harness::install(|b| b.span_exporter(exporter.clone()));
    for name in ["panics", "fails", "works"] {
        drop(Span::start(name));
        h.telemetry.force_flush().expect("flush");
    }
    let stats = h.telemetry.stats();
    assert_eq!(stats.export_panics, 1);
    assert_eq!(stats.export_errors, 2);
    assert_eq!(stats.dropped_export_failed, 2);
    assert_eq!(
        *exporter.exported.lock().unwrap_or_else(|p| p.into_inner()),
        ["works"]
    );
    // The in-memory exporter installed next to it got all three.
    assert_eq!(h.spans().len(), 3);
}

#[test]
fn a_thread_reuses_its_span_slots_once_its_pool_has_grown() {
    let _serial = serial();
    let exporter = Recorder::default();
    let telemetry = isolated_builder()
        .span_exporter(exporter.clone())
        .install()
        .expect("install");
    // A fresh thread: its pool starts empty. Each round records a burst (sampled spans with
    // a child each, and head-dropped-like short spans) and lets the collector give the slots
    // back before the next one.
    let allocated_per_round = std::thread::spawn(move || {
        let mut per_round = Vec::new();
        for _ in 0..20 {
            let before = telemetry.stats().span_slots_allocated;
            for i in 0..200 {
                let mut parent = Span::start("round").entered();
                parent.set_attribute(opentelemetry::KeyValue::new("i", i as i64));
                let _child = Span::start("step").entered();
            }
            telemetry.force_flush().expect("flush");
            per_round.push(telemetry.stats().span_slots_allocated - before);
        }
        telemetry.shutdown().expect("shutdown");
        per_round
    })
    .join()
    .expect("the recording thread");
    assert_eq!(exporter.spans().len(), 20 * 200 * 2);
    // The first round grows the pool; later rounds find every slot given back (a few may
    // still be in flight when a round starts, so allow a small tail, not a steady growth).
    assert!(allocated_per_round[0] > 0, "{allocated_per_round:?}");
    let later: u64 = allocated_per_round[10..].iter().sum();
    assert_eq!(
        later, 0,
        "slots still allocated per round: {allocated_per_round:?}"
    );
}

/// Panics on every export.
#[derive(Debug, Clone, Default)]
struct AlwaysPanics;

impl SpanExporter for AlwaysPanics {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        panic!("exporter bug {}", 42)
    }
}

/// Run by [`exporter_panics_are_reported_once_and_the_application_hook_is_kept`] in a child
/// process (it does nothing in a normal run): ten exporter panics, then one panic of the
/// application's own, on a thread of its own.
#[test]
fn child_process_with_a_panicking_exporter() {
    if std::env::var_os("ZDK_PANIC_CHILD").is_none() {
        return;
    }
    let telemetry = isolated_builder()
        .span_exporter(AlwaysPanics)
        .install()
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..10 {
        drop(Span::start("doomed"));
        let _ = telemetry.force_flush();
    }
    assert_eq!(telemetry.stats().export_panics, 10);
    let app = std::thread::spawn(|| panic!("the application's own bug"));
    assert!(app.join().is_err());
    telemetry.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn exporter_panics_are_reported_once_and_the_application_hook_is_kept() {
    let Ok(exe) = std::env::current_exe() else {
        panic!("no test executable path");
    };
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "child_process_with_a_panicking_exporter",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ZDK_PANIC_CHILD", "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the child: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stderr}");
    // The pipeline's warning, once, with the panic's message and what to read next.
    assert_eq!(
        stderr.matches("panicked (exporter bug 42)").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("stats().export_panics"), "{stderr}");
    // The process's hook printed one panic, the application's own: nothing (no message, no
    // backtrace) for the exporter's ten. Its hook was kept for its own threads.
    assert_eq!(stderr.matches("panicked at").count(), 1, "{stderr}");
    assert!(stderr.contains("the application's own bug"), "{stderr}");
    assert_eq!(stderr.matches("stack backtrace").count(), 1, "{stderr}");
}

/// "Wait as long as it takes" is a timeout too, not a panic.
#[test]
fn flush_and_shutdown_accept_any_timeout() {
    let _serial = serial();
    let telemetry = isolated_builder()
        .span_exporter(opentelemetry_sdk::trace::InMemorySpanExporter::default())
        .install()
        .expect("install");
    drop(Span::start("one"));
    telemetry
        .force_flush_with_timeout(Duration::MAX)
        .unwrap_or_else(|e| panic!("flush: {e}"));
    telemetry
        .shutdown_with_timeout(Duration::MAX)
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    assert_eq!(telemetry.stats().spans_exported, 1);
}

/// The exporter thread is held by a `SpanExporter` while six batches queue up behind the first;
/// they go to the OTLP collector in one request, which answers 503: each batch is kept as a
/// request of its own, sent again on its own, and every span arrives once.
#[test]
fn a_request_of_several_batches_that_fails_is_retried_batch_by_batch() {
    use zdk_trace_runtime::{Config, Protocol};
    use zdk_trace_tests::HttpReceiver;

    let _serial = serial();
    let receiver = HttpReceiver::start();
    let gate = GatedExporter::default();
    let telemetry = isolated_builder()
        .config(
            Config::default()
                .with_otlp_endpoint(receiver.endpoint())
                .with_otlp_protocol(Protocol::HttpProtobuf)
                .with_otlp_exporter(),
        )
        .span_exporter(gate.clone())
        .max_export_batch_size(10)
        .scheduled_delay(Duration::from_millis(10))
        .install()
        .unwrap_or_else(|e| panic!("install: {e}"));
    let record = |n: usize| {
        for _ in 0..n {
            let _span = Span::start("execute_tool");
        }
    };
    // The first batch goes out over OTLP; then the gated exporter holds the exporter thread.
    record(10);
    wait_until("the first request", || receiver.requests().len() == 1);
    receiver.respond_with_status_times(503, 1);
    record(60);
    // Time for the collector to cut the six batches (it drains every few milliseconds).
    std::thread::sleep(Duration::from_millis(500));
    gate.open();
    telemetry
        .force_flush()
        .unwrap_or_else(|e| panic!("flush: {e}"));

    let requests = receiver.requests();
    let shape = |r: &zdk_trace_tests::ReceivedRequest| {
        let body = r
            .body
            .as_ref()
            .unwrap_or_else(|| panic!("a request did not decode: {:?}", r.error));
        let spans: Vec<usize> = body
            .resource_spans
            .iter()
            .map(|rs| rs.scope_spans.iter().map(|ss| ss.spans.len()).sum())
            .collect();
        (r.accepted, spans)
    };
    let shapes: Vec<_> = requests.iter().map(shape).collect();
    assert_eq!(
        shapes,
        [
            (true, vec![10]),
            (false, vec![10; 6]),
            (true, vec![10]),
            (true, vec![10]),
            (true, vec![10]),
            (true, vec![10]),
            (true, vec![10]),
            (true, vec![10]),
        ],
        "the six waiting batches in one request (answered 503), then each on its own"
    );
    for r in &requests {
        let body = r.body.as_ref().unwrap_or_else(|| panic!("undecoded"));
        assert!(
            body.resource_spans.iter().all(|rs| rs.resource.is_some()),
            "every batch in a request carries its resource"
        );
    }
    let ids: std::collections::HashSet<Vec<u8>> = receiver
        .spans()
        .iter()
        .map(|s| s.span.span_id.clone())
        .collect();
    assert_eq!(ids.len(), 70, "every span arrived, once");
    assert_eq!(receiver.spans().len(), 70);
    let stats = telemetry.stats();
    assert_eq!(stats.spans_exported, 70, "{stats:?}");
    assert_eq!(stats.export_retries, 6, "{stats:?}");
    assert_eq!(stats.dropped(), 0, "{stats:?}");
    assert_eq!(gate.exported.lock().map(|v| v.len()).unwrap_or(0), 70);
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
}
