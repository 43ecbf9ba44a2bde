//! What continuous CPU profiling at 99 Hz costs the agent_app workload, and how many of the
//! samples the process's CPU time should give are captured.
//!
//! `cargo bench -p zdk-trace-examples --bench profile_overhead` runs the `agent_app` binary
//! (`--turns 100 --delay-ms 0`: 25 spans per turn, no simulated model latency, but its tools
//! still wait ~90 ms a turn, as a real agent waits on the network; the trace trees printed to
//! a null device) alternately without profiling and with `[telemetry.profiling.cpu]
//! continuous = true, frequency = 99` writing its windows to files, and compares each run's
//! CPU time (user + system, from the kernel's accounting of the waited-for child) and wall
//! time. The profiles written are decoded and their samples counted against the CPU time of
//! the run that wrote them (99 per CPU-second expected).
//!
//! The first export of a process symbolizes its addresses, which loads the debug information
//! of the binary and of the system libraries it finds (a one-off that dominates a run this
//! short); the steady state is the CPU each run used after its first window was exported (its
//! threads' time on CPU then, from `/proc`, subtracted from the total).
//!
//! `AGENT_APP_TURNS`, `ROUNDS`, `WINDOW_SECS` and `STEADY_FROM_SECS` change the run's length,
//! the number of pairs, the profile window and when the steady state begins.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zdk_trace_runtime::profiling::Profile;

const FREQUENCY_HZ: u32 = 99;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let turns: u32 = env_or("AGENT_APP_TURNS", 100);
    let rounds: usize = env_or("ROUNDS", 7);
    // Profile windows (`duration_seconds`): the first one's export (symbolizing its
    // addresses: the debug information is loaded then, once per process) is over before
    // `steady_from`, from when a run's CPU time counts as steady state.
    let window_secs: u64 = env_or("WINDOW_SECS", 2);
    let steady_from = Duration::from_secs(env_or("STEADY_FROM_SECS", window_secs + 1));
    let dir = std::env::temp_dir().join(format!("zdk-profile-overhead-{}", std::process::id()));
    let profiles = dir.join("profiles");
    if let Err(e) = std::fs::create_dir_all(&profiles) {
        eprintln!(
            "profile_overhead: cannot create {}: {e}",
            profiles.display()
        );
        std::process::exit(1);
    }
    let config = dir.join("zdk-trace.toml");
    let toml = format!(
        "[telemetry.profiling]\nenabled = true\n\n[telemetry.profiling.cpu]\nenabled = true\n\
         frequency = {FREQUENCY_HZ}\ncontinuous = true\nduration_seconds = {window_secs}\n\n\
         [telemetry.profiling.exporter]\ntype = \"file\"\nfile_output_dir = \"{}\"\n",
        profiles.display()
    );
    if let Err(e) = std::fs::write(&config, toml) {
        eprintln!("profile_overhead: cannot write {}: {e}", config.display());
        std::process::exit(1);
    }

    // One run of each to warm the page cache, not counted.
    let _ = run(turns, None, &dir, steady_from);
    let _ = run(turns, Some(&config), &dir, steady_from);
    clear(&profiles);

    let mut base = Vec::new();
    let mut profiled = Vec::new();
    let mut captured = Vec::new();
    for round in 0..rounds {
        // Alternate which goes first, so drift over the rounds cancels.
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with_profile in order {
            if with_profile {
                let r = run(turns, Some(&config), &dir, steady_from);
                let (samples, cpu_ns) = count_samples(&profiles);
                let expected = r.cpu.as_secs_f64() * f64::from(FREQUENCY_HZ);
                captured.push((samples, cpu_ns, expected));
                clear(&profiles);
                profiled.push(r);
            } else {
                base.push(run(turns, None, &dir, steady_from));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let cpu = |runs: &[Run]| median(runs.iter().map(|r| r.cpu.as_secs_f64()).collect());
    let steady = |runs: &[Run]| median(runs.iter().map(|r| r.steady.as_secs_f64()).collect());
    let (bs, ps) = (steady(&base), steady(&profiled));
    let wall = |runs: &[Run]| median(runs.iter().map(|r| r.wall.as_secs_f64()).collect());
    let (bc, pc, bw, pw) = (cpu(&base), cpu(&profiled), wall(&base), wall(&profiled));
    let pct = |a: f64, b: f64| (b / a - 1.0) * 100.0;
    println!(
        "\nprofile_overhead: agent_app --turns {turns} --delay-ms 0, {rounds} pairs, alternating \
         (medians); profile windows of {window_secs} s"
    );
    println!("   case                          CPU s     wall s");
    println!("   no profiling             {bc:>10.3} {bw:>10.3}");
    println!("   continuous at {FREQUENCY_HZ} Hz       {pc:>10.3} {pw:>10.3}");
    println!(
        "   difference               {:>+9.2}% {:>+9.2}%",
        pct(bc, pc),
        pct(bw, pw)
    );
    println!(
        "   steady state (CPU after {} s, the first window exported): no profiling {bs:.3} s, \
         profiling {ps:.3} s, {:+.2}%",
        steady_from.as_secs(),
        pct(bs, ps)
    );
    let per_run = |runs: &[Run]| {
        runs.iter()
            .map(|r| format!("{:.3}", r.cpu.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "   per run CPU s, in order: no profiling {} / profiling {}",
        per_run(&base),
        per_run(&profiled)
    );
    let shares: Vec<f64> = captured
        .iter()
        .map(|&(samples, _, expected)| samples as f64 / expected.max(1.0) * 100.0)
        .collect();
    let listed = shares
        .iter()
        .map(|s| format!("{s:.1}%"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "   samples captured vs the run's CPU time x {FREQUENCY_HZ} Hz: {:.1}% (median; per run {listed})",
        median(shares.clone())
    );
}

struct Run {
    cpu: Duration,
    /// CPU time after the steady state began.
    steady: Duration,
    wall: Duration,
}

/// One run of agent_app, with the profiling configuration at `config` if given.
fn run(turns: u32, config: Option<&Path>, dir: &Path, steady_from: Duration) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agent_app"));
    cmd.args(["--turns", &turns.to_string(), "--delay-ms", "0"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    match config {
        Some(path) => cmd.env("ZDK_TRACE_CONFIG", path),
        // A file that turns nothing on: the same file lookup as the profiled run.
        None => cmd.env("ZDK_TRACE_CONFIG", dir.join("none.toml")),
    };
    if config.is_none() {
        let _ = std::fs::write(dir.join("none.toml"), "");
    }
    let before = children_cpu();
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("profile_overhead: cannot run agent_app: {e}");
            std::process::exit(1);
        }
    };
    // The CPU the child has used when the steady state begins (its threads' time on CPU).
    let mut early = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        if early.is_none() && start.elapsed() >= steady_from {
            early = Some(task_cpu(child.id()));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = start.elapsed();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            eprintln!("profile_overhead: agent_app exited with {s}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("profile_overhead: waiting for agent_app: {e}");
            std::process::exit(1);
        }
    }
    let cpu = children_cpu().saturating_sub(before);
    Run {
        cpu,
        steady: cpu.saturating_sub(early.unwrap_or(Duration::MAX)),
        wall,
    }
}

/// The time the threads of process `pid` have spent on a CPU so far (`/proc/PID/task/*/
/// schedstat`, nanoseconds).
fn task_cpu(pid: u32) -> Duration {
    let tasks = match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(t) => t,
        Err(_) => return Duration::ZERO,
    };
    let nanos: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum();
    Duration::from_nanos(nanos)
}

/// User + system time of this process's waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: `usage` is a valid, writable rusage; the call only writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Samples and sampled CPU nanoseconds in the pprof files under `dir`.
fn count_samples(dir: &Path) -> (i64, i64) {
    let mut samples = 0;
    let mut cpu = 0;
    for path in files(dir, ".pb.gz") {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("profile_overhead: cannot read {}: {e}", path.display());
                continue;
            }
        };
        match Profile::from_pprof(&bytes) {
            Ok(p) => {
                samples += p.total("samples");
                cpu += p.total("cpu");
            }
            Err(e) => eprintln!("profile_overhead: {}: {e}", path.display()),
        }
    }
    (samples, cpu)
}

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

fn clear(dir: &Path) {
    for path in files(dir, "") {
        let _ = std::fs::remove_file(path);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
