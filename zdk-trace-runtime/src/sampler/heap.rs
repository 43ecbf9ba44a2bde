//! The heap sampler: one allocation in `sampling_rate` (chosen by the counting allocator)
//! records its stack and the span current on its thread; with in-use tracking, its free is
//! matched so the profile shows what is still live.
//!
//! Called from inside the allocator (with its re-entrancy guard set: what this module
//! allocates is counted but neither sampled nor hooked).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::label::{self, Label};
use crate::resources::alloc::{self, HeapHooks};

/// Frames kept per sampled allocation.
const MAX_DEPTH: usize = 64;

/// What was sampled at one (stack, label).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Site {
    pub(crate) alloc_count: u64,
    pub(crate) alloc_bytes: u64,
    pub(crate) inuse_count: u64,
    pub(crate) inuse_bytes: u64,
}

/// Where an allocation was made: its stack (innermost first) and the span current then.
pub(crate) type SiteKey = (Vec<usize>, Option<Label>);

#[derive(Default)]
struct Store {
    sites: HashMap<SiteKey, Site>,
    /// Live sampled allocations: pointer → (site key, size).
    live: HashMap<usize, (SiteKey, u64)>,
}

static STORE: Mutex<Option<Store>> = Mutex::new(None);

/// Sampled pointers, for a free to check without the lock (open addressing; 0 empty, 1 a
/// removed entry).
const SET_LEN: usize = 1 << 16;
static LIVE_SET: [AtomicUsize; SET_LEN] = [const { AtomicUsize::new(0) }; SET_LEN];

fn slot_of(ptr: usize) -> usize {
    (ptr.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16) % SET_LEN
}

fn set_insert(ptr: usize) -> bool {
    let start = slot_of(ptr);
    for i in 0..32 {
        let slot = &LIVE_SET[(start + i) % SET_LEN];
        let cur = slot.load(Ordering::Relaxed);
        if (cur == 0 || cur == 1)
            && slot
                .compare_exchange(cur, ptr, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return true;
        }
    }
    false
}

fn set_remove(ptr: usize) -> bool {
    let start = slot_of(ptr);
    for i in 0..32 {
        let slot = &LIVE_SET[(start + i) % SET_LEN];
        let cur = slot.load(Ordering::Relaxed);
        if cur == ptr {
            return slot
                .compare_exchange(ptr, 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        }
        if cur == 0 {
            return false;
        }
    }
    false
}

/// Whether frees are matched (in-use space).
static INUSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn on_alloc(ptr: usize, size: usize) {
    let mut ips = [0usize; MAX_DEPTH];
    let mut depth = 0;
    // SAFETY: the unsynchronized walk takes no lock of backtrace-rs's (this runs inside the
    // allocator, where waiting on a lock another allocation holds would deadlock); the
    // allocator's re-entrancy guard is set, so nothing here re-enters it.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            ips[depth] = frame.ip() as usize;
            depth += 1;
            depth < MAX_DEPTH
        });
    }
    let key = (ips[..depth].to_vec(), label::read());
    let inuse = INUSE.load(Ordering::Relaxed) && set_insert(ptr);
    let mut store = STORE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let store = store.get_or_insert_with(Store::default);
    let site = store.sites.entry(key.clone()).or_default();
    site.alloc_count += 1;
    site.alloc_bytes += size as u64;
    if inuse {
        site.inuse_count += 1;
        site.inuse_bytes += size as u64;
        store.live.insert(ptr, (key, size as u64));
    }
}

fn on_free(ptr: usize) {
    if !set_remove(ptr) {
        return;
    }
    let mut store = STORE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(store) = store.as_mut() else {
        return;
    };
    if let Some((key, size)) = store.live.remove(&ptr) {
        if let Some(site) = store.sites.get_mut(&key) {
            site.inuse_count = site.inuse_count.saturating_sub(1);
            site.inuse_bytes = site.inuse_bytes.saturating_sub(size);
        }
    }
}

/// Starts sampling one allocation in `every` (0: stop), matching frees when `inuse`.
pub(crate) fn start(every: u64, inuse: bool) {
    INUSE.store(inuse, Ordering::Relaxed);
    if every > 0 {
        label::LABELLING.fetch_or(label::LABEL_HEAP, Ordering::Relaxed);
    } else {
        label::LABELLING.fetch_and(!label::LABEL_HEAP, Ordering::Relaxed);
    }
    alloc::set_heap_sampling(HeapHooks { on_alloc, on_free }, every, inuse);
}

/// What was sampled so far, by (stack, label).
pub(crate) fn snapshot() -> Vec<(SiteKey, Site)> {
    alloc::without_hooks(|| {
        let store = STORE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store
            .as_ref()
            .map(|s| s.sites.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    })
}
