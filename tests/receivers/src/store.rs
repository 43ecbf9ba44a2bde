//! The state a recording receiver shares between its server thread and the test: the requests
//! seen so far and the reply to give next; the accessors both receivers expose over it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::request::{ReceivedRequest, ReceivedSpan};
use crate::GrpcCode;

/// How a receiver answers the next requests.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    Ok,
    Grpc(GrpcCode, String),
    /// A status, and a `Retry-After` in seconds.
    Http(u16, Option<u64>),
}

/// State shared between a receiver's server thread and the test.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) requests: Mutex<Vec<ReceivedRequest>>,
    pub(crate) changed: Condvar,
    /// The reply, and for how many more requests (`None`: until changed).
    pub(crate) reply: Mutex<(Reply, Option<usize>)>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Store {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Store {
            requests: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            reply: Mutex::new((Reply::Ok, None)),
        })
    }

    pub(crate) fn next_reply(&self) -> Reply {
        let mut reply = lock(&self.reply);
        let current = reply.0.clone();
        if let Some(left) = &mut reply.1 {
            *left = left.saturating_sub(1);
            if *left == 0 {
                *reply = (Reply::Ok, None);
            }
        }
        current
    }

    pub(crate) fn set_reply(&self, reply: Reply, times: Option<usize>) {
        *lock(&self.reply) = match times {
            Some(0) => (Reply::Ok, None),
            _ => (reply, times),
        };
    }

    pub(crate) fn record(&self, request: ReceivedRequest) {
        lock(&self.requests).push(request);
        self.changed.notify_all();
    }

    pub(crate) fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.requests).clone()
    }

    pub(crate) fn spans(&self) -> Vec<ReceivedSpan> {
        lock(&self.requests)
            .iter()
            .filter(|r| r.accepted)
            .flat_map(ReceivedRequest::spans)
            .collect()
    }

    /// Waits until `done` holds for the recorded requests, or `timeout` passes.
    pub(crate) fn wait(&self, timeout: Duration, done: impl Fn(&[ReceivedRequest]) -> bool) {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.requests);
        while !done(&requests) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            requests = match self.changed.wait_timeout(requests, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    pub(crate) fn count_spans(requests: &[ReceivedRequest]) -> usize {
        requests
            .iter()
            .filter(|r| r.accepted)
            .filter_map(|r| r.body.as_ref())
            .flat_map(|b| &b.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum()
    }
}

/// Accessors shared by both receivers.
macro_rules! receiver_accessors {
    () => {
        /// Every request received so far, including rejected ones.
        pub fn requests(&self) -> Vec<ReceivedRequest> {
            self.store.requests()
        }

        /// The spans of every *accepted* request, flattened in arrival order.
        pub fn spans(&self) -> Vec<ReceivedSpan> {
            self.store.spans()
        }

        /// Waits until at least `n` spans were accepted or `timeout` passed, then returns
        /// [`spans`](Self::spans) (which may hold fewer than `n`: assert on its length).
        pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<ReceivedSpan> {
            self.store
                .wait(timeout, |requests| Store::count_spans(requests) >= n);
            self.spans()
        }

        /// Waits until at least `n` requests (accepted or not) arrived or `timeout` passed,
        /// then returns [`requests`](Self::requests).
        pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<ReceivedRequest> {
            self.store.wait(timeout, |requests| requests.len() >= n);
            self.requests()
        }

        /// Forgets every recorded request.
        pub fn clear(&self) {
            lock(&self.store.requests).clear();
        }

        /// Answers success again (the default).
        pub fn respond_ok(&self) {
            self.store.set_reply(Reply::Ok, None);
        }

        /// The address the receiver listens on.
        pub fn addr(&self) -> SocketAddr {
            self.server.addr
        }
    };
}

pub(crate) use receiver_accessors;
