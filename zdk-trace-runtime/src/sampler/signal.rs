//! The SIGPROF sampler: `setitimer(ITIMER_PROF)` makes the kernel interrupt whichever thread
//! is using CPU every `1/frequency` seconds of process CPU time; the handler reads that
//! thread's label slot, walks its stack (backtrace-rs's unsynchronized unwinder, as pprof-rs
//! does) and puts both in a fixed, lock-free queue that the profiler thread drains.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use super::label::{self, Label, ACTIVE};

/// Frames kept per sample (from the interrupted function outwards).
pub(crate) const MAX_DEPTH: usize = 128;
/// Samples the queue holds between drains.
pub(crate) const QUEUE_LEN: usize = 512;

/// One sample: the interrupted stack (innermost first) and the span current then.
#[derive(Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) ips: [usize; MAX_DEPTH],
    pub(crate) depth: usize,
    pub(crate) label: Option<Label>,
}

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const FULL: u8 = 2;

struct Cell {
    state: AtomicU8,
    sample: UnsafeCell<MaybeUninit<Sample>>,
}

/// The queue: a cell is claimed by a handler (EMPTY → WRITING), filled, published (FULL),
/// and taken back by the drain (FULL → EMPTY).
struct Queue([Cell; QUEUE_LEN]);

// SAFETY: a cell's `sample` is written only by the handler that moved its state from EMPTY
// to WRITING (one at a time, by the compare-exchange) and read only by the drain after it saw
// FULL (Acquire, pairing with the handler's Release); nothing else touches it.
unsafe impl Sync for Queue {}

static QUEUE: Queue = Queue(
    [const {
        Cell {
            state: AtomicU8::new(EMPTY),
            sample: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }; QUEUE_LEN],
);
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Samples lost because the queue was full.
pub(crate) static LOST: AtomicU64 = AtomicU64::new(0);
/// Samples taken (handler runs that recorded a stack).
pub(crate) static TAKEN: AtomicU64 = AtomicU64::new(0);

/// The handler, installed only while a profile is being taken.
extern "C" fn on_sigprof(
    _signal: libc::c_int,
    _info: *mut libc::siginfo_t,
    _uc: *mut libc::c_void,
) {
    // SAFETY: reading and restoring the calling thread's errno (async-signal-safe).
    let errno = unsafe { *libc::__errno_location() };
    if ACTIVE.load(Ordering::Relaxed) {
        take_sample();
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

#[inline(never)]
fn take_sample() {
    let label = label::read();
    let start = NEXT.fetch_add(1, Ordering::Relaxed);
    for i in 0..QUEUE_LEN {
        let cell = &QUEUE.0[(start + i) % QUEUE_LEN];
        if cell
            .state
            .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        // SAFETY: this handler owns the cell until it stores FULL (see `Queue`).
        let sample = unsafe { (*cell.sample.get()).as_mut_ptr() };
        // SAFETY: `sample` points to the cell's storage, exclusively ours; the fields are
        // written in place (no 1 KiB sample built on the signal stack and copied).
        unsafe {
            (*sample).label = label;
            let ips = &mut (*sample).ips;
            let mut depth = 0;
            // SAFETY: the unsynchronized unwinder is what pprof-rs calls from its handler;
            // it takes no lock of backtrace-rs's (see docs/profiling.md for its limits).
            backtrace::trace_unsynchronized(|frame| {
                ips[depth] = frame.ip() as usize;
                depth += 1;
                depth < MAX_DEPTH
            });
            (*sample).depth = depth;
        }
        cell.state.store(FULL, Ordering::Release);
        TAKEN.fetch_add(1, Ordering::Relaxed);
        return;
    }
    LOST.fetch_add(1, Ordering::Relaxed);
}

/// Takes every sample in the queue.
pub(crate) fn drain(mut each: impl FnMut(&Sample)) {
    for cell in &QUEUE.0 {
        if cell.state.load(Ordering::Acquire) == FULL {
            // SAFETY: FULL: the handler finished writing it and no one writes it until we
            // store EMPTY (see `Queue`).
            let sample = unsafe { (*cell.sample.get()).assume_init_ref() };
            each(sample);
            cell.state.store(EMPTY, Ordering::Release);
        }
    }
}

/// Whether the handler and timer are installed.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Why the sampler could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// Another SIGPROF handler is installed (pprof-rs, another profiler).
    #[error(
        "another SIGPROF handler is installed (another CPU profiler, such as pprof-rs's \
         ProfilerGuard, is running in this process); one profiler per process: stop it, or \
         turn off [telemetry.profiling.cpu]"
    )]
    Taken,
    /// A system call failed.
    #[error("{call} failed")]
    Sys {
        call: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// Installs the handler and starts the timer at `frequency_hz`.
pub(crate) fn start(frequency_hz: u32) -> Result<(), StartError> {
    if RUNNING.swap(true, Ordering::AcqRel) {
        return Ok(());
    }
    // Samples left from an earlier profile (taken after its last drain) are not this one's.
    drain(|_| {});
    // SAFETY: sigaction/setitimer with valid, zeroed-then-filled structs; the handler only
    // does async-signal-safe work (atomics, thread-locals without lazy init, the unwinder).
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPROF, std::ptr::null(), &mut old) != 0 {
            RUNNING.store(false, Ordering::Release);
            return Err(sys("sigaction"));
        }
        let ours = on_sigprof as *const () as usize;
        if old.sa_sigaction != libc::SIG_DFL
            && old.sa_sigaction != libc::SIG_IGN
            && old.sa_sigaction != ours
        {
            RUNNING.store(false, Ordering::Release);
            return Err(StartError::Taken);
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ours;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()) != 0 {
            RUNNING.store(false, Ordering::Release);
            return Err(sys("sigaction"));
        }
        ACTIVE.store(true, Ordering::Release);
        label::LABELLING.fetch_or(label::LABEL_CPU, Ordering::Relaxed);
        let period = 1_000_000 / i64::from(frequency_hz.clamp(1, 1000));
        let interval = libc::timeval {
            tv_sec: 0,
            tv_usec: period as libc::suseconds_t,
        };
        let timer = libc::itimerval {
            it_interval: interval,
            it_value: interval,
        };
        if libc::setitimer(libc::ITIMER_PROF, &timer, std::ptr::null_mut()) != 0 {
            ACTIVE.store(false, Ordering::Release);
            label::LABELLING.fetch_and(!label::LABEL_CPU, Ordering::Relaxed);
            libc::signal(libc::SIGPROF, libc::SIG_IGN);
            RUNNING.store(false, Ordering::Release);
            return Err(sys("setitimer"));
        }
    }
    Ok(())
}

/// Stops the timer. The handler stays installed but idle (ignoring a SIGPROF still in
/// flight), so no signal can kill the process after this.
pub(crate) fn stop() {
    if !RUNNING.swap(false, Ordering::AcqRel) {
        return;
    }
    ACTIVE.store(false, Ordering::Release);
    label::LABELLING.fetch_and(!label::LABEL_CPU, Ordering::Relaxed);
    label::LAST_STOP.store(crate::clock::now_raw(), Ordering::Relaxed);
    // SAFETY: a zeroed itimerval disarms the timer.
    unsafe {
        let off: libc::itimerval = std::mem::zeroed();
        libc::setitimer(libc::ITIMER_PROF, &off, std::ptr::null_mut());
    }
}

/// Blocks SIGPROF on the calling thread (the profiler's own threads are not sampled).
pub(crate) fn block_on_this_thread() {
    // SAFETY: a valid signal set, changed only for the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPROF);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn sys(call: &'static str) -> StartError {
    StartError::Sys {
        call,
        source: std::io::Error::last_os_error(),
    }
}
