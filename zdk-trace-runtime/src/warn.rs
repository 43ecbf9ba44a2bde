//! Warnings on stderr, each printed once per process: what the pipeline and propagation say
//! when something goes wrong that the application cannot be told about otherwise (an export
//! failed, an incoming header was malformed). Later occurrences are only counted in `stats()`.

use std::sync::Mutex;

/// What a warning is about (its kind, and the exporter or component): each is printed once.
pub(crate) type WarnKey = (&'static str, &'static str);

/// Prints a pipeline warning to stderr once per process per `key`.
pub(crate) fn warn_once(key: WarnKey, message: &str) {
    static WARNED: Mutex<Vec<WarnKey>> = Mutex::new(Vec::new());
    let first = {
        let mut warned = WARNED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = !warned.contains(&key);
        if first {
            warned.push(key);
        }
        first
    };
    if first {
        eprintln!("zdk-trace: {message} (further warnings like this are counted in stats())");
    }
}
