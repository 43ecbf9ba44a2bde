//! The bridged spans entered on this thread, innermost last: `tracing` id and our span id.
//! `exit` finds its span here in the common, nested case instead of looking it up in the
//! registry (two lookups per enter/exit pair become one).

use std::cell::RefCell;

thread_local! {
    static ENTERED: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
}

/// The bridged span `id` (our `span_id`) was entered on this thread.
pub(super) fn push(id: u64, span_id: u64) {
    let _ = ENTERED.try_with(|entered| {
        if let Ok(mut entered) = entered.try_borrow_mut() {
            entered.push((id, span_id));
        }
    });
}

/// The span `id` exits this thread: its span id if it is the innermost entered here (then
/// forgotten), `None` otherwise (exits out of order are left to the registry lookup, and
/// the stale entry is dropped).
pub(super) fn pop(id: u64) -> Option<u64> {
    ENTERED
        .try_with(|entered| {
            let mut entered = entered.try_borrow_mut().ok()?;
            match entered.last() {
                Some(&(top, span_id)) if top == id => {
                    entered.pop();
                    Some(span_id)
                }
                _ => {
                    if let Some(pos) = entered.iter().rposition(|&(i, _)| i == id) {
                        entered.remove(pos);
                    }
                    None
                }
            }
        })
        .ok()
        .flatten()
}
