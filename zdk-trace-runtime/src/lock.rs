//! Poison-tolerant locking, for the few mutexes off the hot path.

use std::sync::Mutex;

/// Locks `m`, recovering from poisoning: every mutex here guards plain data that a panic
/// cannot leave half-updated, and the pipeline must never panic because another thread did.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
