//! The macros' `profile` option and the `span_resources` setting: a macro span measures what
//! it uses ([`Span::measure_resources`]).

use super::SyncGuard;
use crate::hot::hot;
use crate::span::Span;

/// No `profile` option: measured only when `[telemetry.profiling] span_resources` is on.
pub const PROFILE_SETTING: u8 = 0;
/// `profile = "busy"`: busy time and allocations, no CPU clock.
pub const PROFILE_BUSY: u8 = 1;
/// `profile`: busy time, thread CPU time and allocations.
pub const PROFILE_FULL: u8 = 2;

/// Measures `span` as `profile` (one of the `PROFILE_*` constants) asks.
#[inline]
pub fn resources(span: &mut Span, profile: u8) {
    let cpu = match profile {
        PROFILE_SETTING => {
            if !hot().span_resources() {
                return;
            }
            true
        }
        PROFILE_BUSY => false,
        _ => true,
    };
    span.measure_resources(cpu);
}

/// [`resources`] for a sync call's span, already entered: the measurement starts now.
#[inline]
pub fn resources_entered(guard: &mut SyncGuard<'_>, profile: u8) {
    if profile == PROFILE_SETTING && !hot().span_resources() {
        return;
    }
    resources(guard, profile);
    guard.resume_usage();
}
