//! Anonymous usage telemetry: which features, frameworks and error types are used, never what
//! they were used on. Separate from tracing: its own allowlist, queue, exporter and opt-outs.
//!
//! Status: the event model and the allowlist shared by `#[usage_event]` (checked at compile
//! time) and the dynamic API (sanitized at run time). The pipeline behind [`submit`] is being
//! built (issue 4).

mod event;

pub use event::{UsageEvent, UsageValue, ALLOWED_KEYS, MAX_STRING_LEN};

/// Hands one event to the usage layer. Never blocks, never panics; an event the layer cannot
/// take is dropped and counted.
///
/// Placeholder until the usage pipeline lands: drops the event.
#[allow(dead_code)] // reached by `#[usage_event]` and the dynamic API once they land
pub(crate) fn submit(event: UsageEvent) {
    drop(event);
}
