//! What an OTLP exporter does with a request the collector did not take: the retry buffer
//! (bounded in bytes and age, oldest dropped first) and the circuit breaker in front of it.
//!
//! One [`Retrier`] per OTLP exporter, driven by the exporter thread with the time passed in
//! (so the state machine is tested with a made-up clock):
//!
//! - **closed**: requests are sent as they come; a retryable failure puts the request in the
//!   buffer, to be sent again after an exponential backoff with jitter (or what the collector
//!   asked for: `Retry-After`, gRPC `RetryInfo`), oldest first, before any newer request;
//! - **open**, after `failures_to_open` failures in a row: nothing is sent; new requests go
//!   straight into the buffer; one probe (the oldest request) per `probe_interval`;
//! - **half-open**: the probe is on its way; success closes the circuit and the buffer drains
//!   in order, failure opens it again.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::{
    RETRY_BUFFER_BYTES_DEFAULT as BUFFER_BYTES_DEFAULT,
    RETRY_FAILURES_TO_OPEN_DEFAULT as FAILURES_TO_OPEN_DEFAULT,
    RETRY_MAX_AGE_DEFAULT as MAX_AGE_DEFAULT,
    RETRY_PROBE_INTERVAL_DEFAULT as PROBE_INTERVAL_DEFAULT,
};

/// The retry buffer's and the circuit breaker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetrySettings {
    /// Most bytes of requests kept for a retry (0: none are).
    pub(crate) buffer_bytes: usize,
    /// Oldest a kept request may be.
    pub(crate) max_age: Duration,
    /// Failures in a row that open the circuit.
    pub(crate) failures_to_open: u32,
    /// Time between two probes while the circuit is open.
    pub(crate) probe_interval: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            buffer_bytes: BUFFER_BYTES_DEFAULT,
            max_age: MAX_AGE_DEFAULT,
            failures_to_open: FAILURES_TO_OPEN_DEFAULT,
            probe_interval: PROBE_INTERVAL_DEFAULT,
        }
    }
}

/// First backoff after a failure while the circuit is closed; doubled each time, at most the
/// probe interval.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait a collector's `Retry-After` can impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The circuit breaker's state, as [`Stats::circuit`](crate::Stats::circuit) shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Requests are sent (the usual state).
    #[default]
    Closed,
    /// The collector failed repeatedly: requests are kept, one probe per interval.
    Open,
    /// A probe is on its way.
    HalfOpen,
}

impl CircuitState {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            CircuitState::Closed => 0,
            CircuitState::Open => 1,
            CircuitState::HalfOpen => 2,
        }
    }

    pub(crate) fn from_u8(n: u8) -> CircuitState {
        match n {
            1 => CircuitState::Open,
            2 => CircuitState::HalfOpen,
            _ => CircuitState::Closed,
        }
    }
}

/// A request waiting to be sent again, and what to do when its fate is known.
#[derive(Debug)]
pub(crate) struct Waiting<T> {
    pub(crate) request: Bytes,
    pub(crate) tag: T,
    since: Instant,
}

/// What happened to requests, for the caller to count and resolve.
#[derive(Debug)]
pub(crate) enum Fate<T> {
    /// Dropped from the buffer: too old, or no room.
    Evicted(T),
}

/// One OTLP exporter's retry buffer and circuit breaker.
#[derive(Debug)]
pub(crate) struct Retrier<T> {
    settings: RetrySettings,
    buffer: VecDeque<Waiting<T>>,
    bytes: usize,
    state: CircuitState,
    failures: u32,
    /// When the buffer's oldest request may be tried again (or the next probe).
    next_attempt: Option<Instant>,
    backoff: Duration,
    /// Transitions, for `stats()`.
    pub(crate) opened: u64,
    pub(crate) closed: u64,
}

impl<T> Retrier<T> {
    pub(crate) fn new(settings: RetrySettings) -> Retrier<T> {
        Retrier {
            settings,
            buffer: VecDeque::new(),
            bytes: 0,
            state: CircuitState::Closed,
            failures: 0,
            next_attempt: None,
            backoff: FIRST_BACKOFF,
            opened: 0,
            closed: 0,
        }
    }

    pub(crate) fn state(&self) -> CircuitState {
        self.state
    }

    /// Bytes and requests kept for a retry.
    pub(crate) fn buffered(&self) -> (usize, usize) {
        (self.bytes, self.buffer.len())
    }

    /// Whether a new request may be sent now (rather than queued behind older ones, or kept
    /// while the circuit is open).
    pub(crate) fn sends_now(&self) -> bool {
        self.state == CircuitState::Closed && self.buffer.is_empty()
    }

    /// Keeps a request for a retry; returns what no longer fits (oldest first).
    pub(crate) fn keep(&mut self, request: Bytes, tag: T, now: Instant) -> Vec<Fate<T>> {
        let mut fates = Vec::new();
        if request.len() > self.settings.buffer_bytes {
            fates.push(Fate::Evicted(tag));
            return fates;
        }
        while self.bytes + request.len() > self.settings.buffer_bytes {
            match self.buffer.pop_front() {
                Some(old) => {
                    self.bytes -= old.request.len();
                    fates.push(Fate::Evicted(old.tag));
                }
                None => break,
            }
        }
        self.bytes += request.len();
        self.buffer.push_back(Waiting {
            request,
            tag,
            since: now,
        });
        if self.next_attempt.is_none() {
            self.next_attempt = Some(now + self.wait());
        }
        fates
    }

    /// Drops requests older than the maximum age.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Fate<T>> {
        let mut fates = Vec::new();
        while let Some(front) = self.buffer.front() {
            if now.saturating_duration_since(front.since) < self.settings.max_age {
                break;
            }
            if let Some(old) = self.buffer.pop_front() {
                self.bytes -= old.request.len();
                fates.push(Fate::Evicted(old.tag));
            }
        }
        fates
    }

    /// When [`due`](Self::due) will next give a request, if anything is kept.
    pub(crate) fn next_attempt(&self) -> Option<Instant> {
        if self.buffer.is_empty() {
            None
        } else {
            self.next_attempt
        }
    }

    /// The oldest kept request, if it may be tried now (a probe, if the circuit is open).
    pub(crate) fn due(&mut self, now: Instant) -> Option<Bytes> {
        let front = self.buffer.front()?;
        if self.next_attempt.is_some_and(|t| now < t) {
            return None;
        }
        if self.state == CircuitState::Open {
            self.state = CircuitState::HalfOpen;
        }
        Some(front.request.clone())
    }

    /// The oldest kept request, whatever the backoff and the circuit say (flush, shutdown).
    pub(crate) fn oldest(&self) -> Option<Bytes> {
        self.buffer.front().map(|w| w.request.clone())
    }

    /// The oldest kept request was sent: it leaves the buffer.
    pub(crate) fn sent_oldest(&mut self, now: Instant) -> Option<T> {
        self.succeeded(now);
        let done = self.buffer.pop_front()?;
        self.bytes -= done.request.len();
        Some(done.tag)
    }

    /// The oldest kept request failed for good (the collector refused it): it leaves the buffer.
    pub(crate) fn refused_oldest(&mut self) -> Option<T> {
        let done = self.buffer.pop_front()?;
        self.bytes -= done.request.len();
        Some(done.tag)
    }

    /// Takes every kept request (shutdown).
    pub(crate) fn take_all(&mut self) -> Vec<Waiting<T>> {
        self.bytes = 0;
        self.buffer.drain(..).collect()
    }

    /// A request was delivered.
    pub(crate) fn succeeded(&mut self, now: Instant) {
        self.failures = 0;
        self.backoff = FIRST_BACKOFF;
        if self.state != CircuitState::Closed {
            self.state = CircuitState::Closed;
            self.closed += 1;
        }
        self.next_attempt = Some(now);
    }

    /// A request failed in a way worth retrying; `retry_after`: what the collector asked for.
    pub(crate) fn failed(&mut self, now: Instant, retry_after: Option<Duration>) {
        self.failures = self.failures.saturating_add(1);
        let asked = retry_after.map(|d| d.min(MAX_RETRY_AFTER));
        match self.state {
            CircuitState::HalfOpen => {
                self.state = CircuitState::Open;
                self.next_attempt =
                    Some(now + asked.unwrap_or(self.probe_wait()).max(self.probe_wait()));
            }
            CircuitState::Open => {
                self.next_attempt = Some(now + self.probe_wait());
            }
            CircuitState::Closed if self.failures >= self.settings.failures_to_open => {
                self.state = CircuitState::Open;
                self.opened += 1;
                self.next_attempt =
                    Some(now + asked.unwrap_or(self.probe_wait()).max(self.probe_wait()));
            }
            CircuitState::Closed => {
                let wait = asked.unwrap_or_else(|| self.wait());
                self.backoff =
                    (self.backoff * 2).min(self.settings.probe_interval.max(FIRST_BACKOFF));
                self.next_attempt = Some(now + wait);
            }
        }
    }

    /// The backoff, with up to half again of jitter (so exporters that failed together do not
    /// retry together).
    fn wait(&self) -> Duration {
        self.backoff + jitter(self.backoff)
    }

    /// The probe interval, with up to a fifth of jitter.
    fn probe_wait(&self) -> Duration {
        self.settings.probe_interval + jitter(self.settings.probe_interval / 5 * 2)
    }
}

/// Up to half of `delay`, from the clock's nanoseconds.
fn jitter(delay: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let half = delay.as_nanos() / 2;
    if half == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((u128::from(nanos) % half) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RetrySettings {
        RetrySettings {
            buffer_bytes: 100,
            max_age: Duration::from_secs(60),
            failures_to_open: 3,
            probe_interval: Duration::from_secs(1),
        }
    }

    fn req(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    #[test]
    fn the_buffer_drops_the_oldest_when_full_and_what_cannot_fit() {
        let mut r: Retrier<u32> = Retrier::new(settings());
        let t = Instant::now();
        assert!(r.keep(req(40), 1, t).is_empty());
        assert!(r.keep(req(40), 2, t).is_empty());
        let fates = r.keep(req(40), 3, t);
        assert!(matches!(fates.as_slice(), [Fate::Evicted(1)]));
        assert_eq!(r.buffered(), (80, 2));
        let fates = r.keep(req(101), 4, t);
        assert!(matches!(fates.as_slice(), [Fate::Evicted(4)]));
        assert_eq!(r.buffered(), (80, 2));
    }

    #[test]
    fn requests_older_than_the_age_limit_are_dropped() {
        let mut r: Retrier<u32> = Retrier::new(settings());
        let t = Instant::now();
        r.keep(req(10), 1, t);
        r.keep(req(10), 2, t + Duration::from_secs(30));
        let fates = r.expire(t + Duration::from_secs(61));
        assert!(matches!(fates.as_slice(), [Fate::Evicted(1)]));
        assert_eq!(r.buffered(), (10, 1));
    }

    #[test]
    fn failures_back_off_then_open_the_circuit_and_a_probe_closes_it() {
        let mut r: Retrier<u32> = Retrier::new(settings());
        let t = Instant::now();
        assert!(r.sends_now());
        r.keep(req(10), 1, t);
        assert!(!r.sends_now(), "newer requests queue behind the kept one");
        assert!(r.due(t).is_none(), "not before the backoff");
        let t1 = t + Duration::from_millis(200);
        assert!(r.due(t1).is_some());
        r.failed(t1, None);
        r.failed(t1, None);
        assert_eq!(r.state(), CircuitState::Closed);
        r.failed(t1, None);
        assert_eq!(r.state(), CircuitState::Open);
        assert_eq!(r.opened, 1);
        // One probe per interval while open.
        assert!(r.due(t1 + Duration::from_millis(500)).is_none());
        let t2 = t1 + Duration::from_millis(1500);
        assert!(r.due(t2).is_some());
        assert_eq!(r.state(), CircuitState::HalfOpen);
        r.failed(t2, None);
        assert_eq!(r.state(), CircuitState::Open);
        let t3 = t2 + Duration::from_millis(1500);
        assert!(r.due(t3).is_some());
        assert_eq!(r.sent_oldest(t3), Some(1));
        assert_eq!(r.state(), CircuitState::Closed);
        assert_eq!(r.closed, 1);
        assert!(r.sends_now());
    }

    #[test]
    fn retry_after_is_honoured() {
        let mut r: Retrier<u32> = Retrier::new(settings());
        let t = Instant::now();
        r.keep(req(10), 1, t);
        let t1 = t + Duration::from_millis(200);
        assert!(r.due(t1).is_some());
        r.failed(t1, Some(Duration::from_secs(7)));
        assert!(r.due(t1 + Duration::from_secs(6)).is_none());
        assert!(r.due(t1 + Duration::from_secs(7)).is_some());
    }
}
