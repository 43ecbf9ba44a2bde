//! `[telemetry] logging = true`: the bridge as the process's global `tracing` subscriber, and
//! `log` records routed through it, so that every record becomes an event of the span current
//! where it is emitted (with that span's trace and span ids).

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_core::LevelFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use super::layer;
use crate::warn::warn_once;

/// The level `logging = true` records at and above.
const LEVEL: LevelFilter = LevelFilter::INFO;

/// Set once this process's global subscriber is ours (a later install has nothing to do).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs the bridge globally, once per process. When the application already set a global
/// subscriber or `log` logger, says (once, on stderr) what to do instead; never fails.
pub(crate) fn install() {
    if INSTALLED.swap(true, Ordering::AcqRel) {
        return;
    }
    // Events below the level are filtered per callsite (once, cached by `tracing`), so a
    // `debug!` costs what it costs with no subscriber; spans pass (they carry the context).
    let filter = filter_fn(|metadata| !metadata.is_event() || *metadata.level() <= LEVEL);
    let subscriber = tracing_subscriber::registry().with(layer().with_filter(filter));
    let dispatch = tracing_core::Dispatch::new(subscriber);
    if tracing_core::dispatcher::set_global_default(dispatch).is_err() {
        warn_once(
            ("logging", "tracing subscriber"),
            "zdk-trace: `logging = true`: the application already set a global `tracing` \
             subscriber, so zdk-trace could not; add `zdk_trace_runtime::tracing::layer()` to \
             it (`.with(zdk_trace_runtime::tracing::layer())`) to record `tracing` events in spans",
        );
    }
    let log_level = tracing_log::log::LevelFilter::Info;
    if tracing_log::LogTracer::builder()
        .with_max_level(log_level)
        .init()
        .is_err()
    {
        warn_once(
            ("logging", "log logger"),
            "zdk-trace: `logging = true`: a `log` logger is already set, so `log` records are \
             not routed to spans; route them through `tracing` (tracing_log::LogTracer) instead \
             of that logger to record them",
        );
    }
}
