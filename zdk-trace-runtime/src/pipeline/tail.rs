//! Tail sampling on the collector thread: spans are held per trace until the trace's local
//! root ends, then the whole trace is kept or dropped.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use crate::clock;
use crate::record::{RawSpan, FLAG_ERROR, FLAG_LOCAL_ROOT, FLAG_SAMPLED};
use crate::sampling::TailSampling;

/// How long a decision is remembered, for spans of the trace that arrive after its root
/// (detached tasks, other threads' late rings).
const DECISION_TTL: Duration = Duration::from_secs(60);
/// How many decisions are remembered at most: half the held-span bound (16 384 with the
/// default queue, about 2 MB), within these limits. At a high trace rate, a minute of
/// decisions would be millions of entries, rehashed and paged in by the collector; at 100 000
/// traces per second, a straggler is still matched to its trace's decision for 0.16 s.
const MIN_DECISIONS: usize = 1024;
const MAX_DECISIONS: usize = 65_536;

/// How many root names get a rate-limit bucket of their own; past that, new names share one.
const MAX_RATE_BUCKETS: usize = 1024;
/// The key of that shared bucket (no span is named with an empty string by the macros).
const SHARED_BUCKET: &str = "";

/// How many of the oldest pending traces an eviction looks through for one without an error.
const EVICTION_SCAN: usize = 64;

/// Trace ids hash with one keyed multiply instead of SipHash: they are random already, and the
/// key (random per process) keeps ids chosen by a remote caller (`traceparent`) from being
/// picked to collide.
#[derive(Debug, Clone, Copy)]
struct IdHash {
    k0: u64,
    k1: u64,
}

static ID_HASH_KEYS: Lazy<(u64, u64)> = Lazy::new(|| {
    let random = std::collections::hash_map::RandomState::new();
    let mut a = random.build_hasher();
    a.write_u8(0);
    let mut b = random.build_hasher();
    b.write_u8(1);
    (a.finish(), b.finish())
});

impl Default for IdHash {
    fn default() -> Self {
        let (k0, k1) = *ID_HASH_KEYS;
        IdHash { k0, k1 }
    }
}

impl BuildHasher for IdHash {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher {
            k0: self.k0,
            k1: self.k1,
            state: 0,
        }
    }
}

/// See [`IdHash`]. Only `u128` keys are hashed with it; other writes fold in byte by byte.
#[derive(Debug)]
struct IdHasher {
    k0: u64,
    k1: u64,
    state: u64,
}

impl IdHasher {
    #[inline]
    fn mix(&mut self, lo: u64, hi: u64) {
        let product = u128::from(lo ^ self.k0 ^ self.state) * u128::from(hi ^ self.k1);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // One more folded multiply by a fixed odd constant: the keyed one alone leaves the low
        // bits (the table's bucket index) uneven for some keys and sequential ids.
        let product = u128::from(self.state) * 0x9e37_79b9_7f4a_7c15;
        (product as u64) ^ ((product >> 64) as u64)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word), 0x9e37_79b9_7f4a_7c15);
        }
    }

    #[inline]
    fn write_u128(&mut self, n: u128) {
        self.mix(n as u64, (n >> 64) as u64);
    }
}

/// A map keyed by trace id.
type IdMap<V> = HashMap<u128, V, IdHash>;

/// Why a trace was kept, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    Head,
    Error,
    Slow,
}

#[derive(Debug)]
struct Pending {
    spans: Vec<RawSpan>,
    has_error: bool,
    sampled: bool,
    first_seen: Instant,
    /// The local root's name and duration, and the collector cycle it arrived in.
    root: Option<(Cow<'static, str>, Duration, u64)>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Where the tail sampler puts the spans of the traces it keeps, as it decides them (no buffer
/// in between: a burst of thousands of decisions costs no memory of its own).
pub(crate) trait Release {
    /// Takes a span of a kept trace; `error`: the trace has an error (under overload the
    /// collector queues those ahead of the others).
    fn release(&mut self, span: RawSpan, error: bool);
}

/// The spans of kept traces, by class.
#[cfg(test)]
#[derive(Debug, Default)]
struct Released {
    pub(crate) ok: Vec<RawSpan>,
    pub(crate) errors: Vec<RawSpan>,
}

#[cfg(test)]
impl Release for Released {
    fn release(&mut self, span: RawSpan, error: bool) {
        if error {
            self.errors.push(span);
        } else {
            self.ok.push(span);
        }
    }
}

#[cfg(test)]
impl Released {
    fn is_empty(&self) -> bool {
        self.ok.is_empty() && self.errors.is_empty()
    }

    /// Every span released, errors first.
    fn spans(&self) -> impl Iterator<Item = &RawSpan> {
        self.errors.iter().chain(&self.ok)
    }
}

/// What the tail sampler did with spans, for the caller to count.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TailOutcome {
    pub(crate) dropped_spans: u64,
    pub(crate) kept_for_error: u64,
    pub(crate) kept_for_slowness: u64,
    pub(crate) evicted_spans: u64,
}

/// Holds spans per trace until the local root ends.
#[derive(Debug)]
pub(crate) struct TailSampler {
    rules: TailSampling,
    pending: IdMap<Pending>,
    /// Pending traces in the order they were first seen, for eviction (ids of traces decided
    /// since are skipped when they come up, and compacted away when they pile up).
    pending_order: VecDeque<u128>,
    pending_spans: usize,
    max_pending_spans: usize,
    /// Recent decisions, for spans that arrive after their trace was decided; at most
    /// `max_decided`, each for at most [`DECISION_TTL`].
    decided: IdMap<(Option<Kept>, Instant)>,
    /// `decided` in decision order, for expiry.
    decided_order: VecDeque<(u128, Instant)>,
    max_decided: usize,
    buckets: HashMap<Cow<'static, str>, Bucket>,
    last_purge: Instant,
    /// The collector's drain cycle (see [`TailSampler::end_cycle`]).
    cycle: u64,
    /// Traces whose local root has arrived, waiting for the next cycle to be decided.
    rooted: Vec<u128>,
}

impl TailSampler {
    pub(crate) fn new(rules: TailSampling, max_pending_spans: usize) -> TailSampler {
        TailSampler {
            rules,
            pending: IdMap::default(),
            pending_order: VecDeque::new(),
            pending_spans: 0,
            max_pending_spans: max_pending_spans.max(1),
            decided: IdMap::default(),
            decided_order: VecDeque::new(),
            max_decided: (max_pending_spans / 2).clamp(MIN_DECISIONS, MAX_DECISIONS),
            buckets: HashMap::new(),
            last_purge: Instant::now(),
            cycle: 0,
            rooted: Vec::new(),
        }
    }

    /// Spans held, waiting for their root.
    #[cfg(test)]
    fn pending_spans(&self) -> usize {
        self.pending_spans
    }

    /// Takes one span; pushes every span whose trace is kept into `out`.
    pub(crate) fn accept(
        &mut self,
        span: RawSpan,
        now: Instant,
        out: &mut impl Release,
        outcome: &mut TailOutcome,
    ) {
        if let Some(&(verdict, at)) = self.decided.get(&span.trace_id) {
            let error = span.flags & FLAG_ERROR != 0;
            if verdict.is_some() {
                out.release(span, verdict == Some(Kept::Error));
            } else if error && self.rules.keep_errors {
                // An error after the trace was dropped (evicted under load before its root,
                // or a straggler): the error is kept, and so is what follows of the trace.
                self.decided.insert(span.trace_id, (Some(Kept::Error), at));
                outcome.kept_for_error += 1;
                out.release(span, true);
            } else {
                outcome.dropped_spans += 1;
            }
            return;
        }
        let trace_id = span.trace_id;
        let is_root = span.flags & FLAG_LOCAL_ROOT != 0;
        let order = &mut self.pending_order;
        let entry = self.pending.entry(trace_id).or_insert_with(|| {
            order.push_back(trace_id);
            Pending {
                // Room for one: most traces are a span or a few, and `Vec`'s first growth
                // would reserve four records (1.3 KB) for each.
                spans: Vec::with_capacity(1),
                has_error: false,
                sampled: span.flags & FLAG_SAMPLED != 0,
                first_seen: now,
                root: None,
            }
        });
        entry.has_error |= span.flags & FLAG_ERROR != 0;
        if is_root && entry.root.is_none() {
            // Not decided yet: a span of this trace that ended before the root on the same
            // thread may still be on its way (in a thread's new ring while the root is read
            // from another, or the reverse). Everything sent before the root is visible to the
            // collector's next drain, so the trace is decided at the end of that one.
            let duration = Duration::from_nanos(clock::delta_nanos(span.start, span.end));
            entry.root = Some((span.name.clone(), duration, self.cycle));
            self.rooted.push(trace_id);
        }
        entry.spans.push(span);
        self.pending_spans += 1;
        if self.pending_spans > self.max_pending_spans {
            self.evict_oldest(now, out, outcome);
        }
    }

    /// Forgets decisions older than [`DECISION_TTL`] or beyond `max_decided`, oldest first.
    fn expire_decisions(&mut self, now: Instant) {
        while let Some(&(id, at)) = self.decided_order.front() {
            let expired = self.decided_order.len() > self.max_decided
                || now.saturating_duration_since(at) >= DECISION_TTL;
            if !expired {
                break;
            }
            self.decided_order.pop_front();
            // Unless the trace was decided again since (a straggler started it anew).
            if self.decided.get(&id).is_some_and(|&(_, t)| t == at) {
                self.decided.remove(&id);
            }
        }
    }

    /// Drops ids of decided traces from the front of `pending_order`, and compacts it when
    /// such ids pile up behind a long-pending trace.
    fn tidy_pending_order(&mut self) {
        while let Some(id) = self.pending_order.front() {
            if self.pending.contains_key(id) {
                break;
            }
            self.pending_order.pop_front();
        }
        if self.pending_order.len() > 2 * self.pending.len() + 1024 {
            let pending = &self.pending;
            self.pending_order.retain(|id| pending.contains_key(id));
        }
    }

    /// Ends one collector drain cycle: decides the traces whose local root arrived in an
    /// earlier cycle (so every span that ended before the root has been seen), pushing the
    /// kept spans into `out`.
    pub(crate) fn end_cycle(
        &mut self,
        now: Instant,
        out: &mut impl Release,
        outcome: &mut TailOutcome,
    ) {
        let cycle = self.cycle;
        let mut rooted = std::mem::take(&mut self.rooted);
        rooted.retain(|id| {
            let ready = match self.pending.get(id) {
                Some(p) => p.root.as_ref().is_some_and(|(_, _, at)| *at < cycle),
                // Decided already (evicted).
                None => return false,
            };
            if ready {
                if let Some(pending) = self.pending.remove(id) {
                    self.pending_spans -= pending.spans.len();
                    let verdict = self.judge(&pending, now);
                    self.emit(*id, pending, verdict, now, out, outcome);
                }
            }
            !ready
        });
        rooted.append(&mut self.rooted);
        self.rooted = rooted;
        self.cycle += 1;
        self.tidy_pending_order();
        if now.duration_since(self.last_purge) > Duration::from_millis(100)
            || self.decided_order.len() > self.max_decided
        {
            self.expire_decisions(now);
            self.last_purge = now;
            // After a burst, give back what the maps no longer need.
            if self.pending.capacity() > 4 * self.pending.len().max(1024) {
                self.pending.shrink_to(2 * self.pending.len());
            }
            if self.decided.capacity() > 4 * self.decided.len().max(1024) {
                self.decided.shrink_to(2 * self.decided.len());
            }
        }
    }

    /// Decides a trace, by its local root's name and duration when it has ended.
    fn judge(&mut self, pending: &Pending, now: Instant) -> Option<Kept> {
        let root = pending
            .root
            .as_ref()
            .map(|(name, duration, _)| (name.clone(), *duration));
        if self.rules.keep_errors && pending.has_error {
            return Some(Kept::Error);
        }
        let elapsed = match root {
            Some((_, duration)) => duration,
            None => now.duration_since(pending.first_seen),
        };
        if self.rules.slow_threshold.is_some_and(|t| elapsed >= t) {
            return Some(Kept::Slow);
        }
        if !pending.sampled {
            return None;
        }
        match (self.rules.max_traces_per_second, root) {
            (Some(rate), Some((name, _))) => {
                self.take_token(&name, rate, now).then_some(Kept::Head)
            }
            _ => Some(Kept::Head),
        }
    }

    // The `Cow` (not `&str`) is cloned into the map: free for the usual `&'static str` names.
    #[allow(clippy::ptr_arg)]
    fn take_token(&mut self, name: &Cow<'static, str>, rate: f64, now: Instant) -> bool {
        let burst = rate.max(1.0);
        if self.buckets.len() >= MAX_RATE_BUCKETS && !self.buckets.contains_key(name) {
            // Root names made at run time (an id in the name): buckets untouched for as long
            // as a full one takes to refill are full again, so forgetting them changes nothing.
            let refill = Duration::from_secs_f64((burst / rate).min(3600.0));
            self.buckets
                .retain(|_, b| now.saturating_duration_since(b.last) < refill);
        }
        // Past the bound, the remaining new names share one bucket.
        let key = if self.buckets.len() >= MAX_RATE_BUCKETS && !self.buckets.contains_key(name) {
            Cow::Borrowed(SHARED_BUCKET)
        } else {
            name.clone()
        };
        let bucket = self.buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn emit(
        &mut self,
        trace_id: u128,
        pending: Pending,
        verdict: Option<Kept>,
        now: Instant,
        out: &mut impl Release,
        outcome: &mut TailOutcome,
    ) {
        self.decided.insert(trace_id, (verdict, now));
        self.decided_order.push_back((trace_id, now));
        match verdict {
            Some(kept) => {
                match kept {
                    Kept::Error if !pending.sampled => outcome.kept_for_error += 1,
                    Kept::Slow if !pending.sampled => outcome.kept_for_slowness += 1,
                    _ => {}
                }
                for span in pending.spans {
                    out.release(span, pending.has_error);
                }
            }
            None => outcome.dropped_spans += pending.spans.len() as u64,
        }
    }

    /// Too many spans held: decide a trace now, without its root: the oldest without an error
    /// (among the [`EVICTION_SCAN`] oldest), else the oldest. Under overload, traces that may
    /// end up kept for an error are held longest.
    fn evict_oldest(&mut self, now: Instant, out: &mut impl Release, outcome: &mut TailOutcome) {
        // Ids of traces decided since they were queued are skipped (and dropped at the front).
        while let Some(id) = self.pending_order.front() {
            if self.pending.contains_key(id) {
                break;
            }
            self.pending_order.pop_front();
        }
        let pending = &self.pending;
        let without_error = self
            .pending_order
            .iter()
            .take(EVICTION_SCAN)
            .position(|id| pending.get(id).is_some_and(|p| !p.has_error));
        let oldest = match without_error {
            Some(i) => self.pending_order.remove(i),
            None => self.pending_order.pop_front(),
        };
        if let Some(id) = oldest {
            if let Some(pending) = self.pending.remove(&id) {
                self.pending_spans -= pending.spans.len();
                outcome.evicted_spans += pending.spans.len() as u64;
                let verdict = self.judge(&pending, now);
                self.emit(id, pending, verdict, now, out, outcome);
            }
        }
    }

    /// On `force_flush`: traces the head sampler kept are certain to be kept (unless a rate
    /// limit still has to judge them by their root), so they are released now.
    pub(crate) fn flush(
        &mut self,
        now: Instant,
        out: &mut impl Release,
        outcome: &mut TailOutcome,
    ) {
        if self.rules.max_traces_per_second.is_some() {
            return;
        }
        let ids: Vec<u128> = self
            .pending
            .iter()
            .filter(|(_, p)| p.sampled)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(pending) = self.pending.remove(&id) {
                self.pending_spans -= pending.spans.len();
                self.emit(id, pending, Some(Kept::Head), now, out, outcome);
            }
        }
    }

    /// On shutdown: every trace still waiting is decided now.
    pub(crate) fn drain(
        &mut self,
        now: Instant,
        out: &mut impl Release,
        outcome: &mut TailOutcome,
    ) {
        let all: Vec<(u128, Pending)> = self.pending.drain().collect();
        self.pending_order.clear();
        self.pending_spans = 0;
        for (id, pending) in all {
            let verdict = self.judge(&pending, now);
            self.emit(id, pending, verdict, now, out, outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::SpanKind;

    fn span(span_id: u64, flags: u8) -> RawSpan {
        RawSpan {
            trace_id: 7,
            span_id,
            parent_id: 0,
            start: 0,
            end: 0,
            name: Cow::Borrowed("request"),
            kind: SpanKind::Internal,
            flags,
            dropped: 0,
            plain: 0,
            attributes: crate::record::Attributes::new(),
            extras: None,
            meter: None,
            agent: None,
            random: false,
        }
    }

    /// A child that ended before its root can reach the collector after it (the root came
    /// through one of the thread's rings, the child through another): its error must still
    /// decide the trace, and the child must be exported with it.
    #[test]
    fn a_child_arriving_after_its_root_in_the_same_drain_still_counts() {
        let rules = TailSampling::default().keep_errors(true);
        let mut tail = TailSampler::new(rules, 100);
        let (now, mut out, mut outcome) =
            (Instant::now(), Released::default(), TailOutcome::default());
        tail.accept(span(1, FLAG_LOCAL_ROOT), now, &mut out, &mut outcome);
        tail.accept(span(2, FLAG_ERROR), now, &mut out, &mut outcome);
        tail.end_cycle(now, &mut out, &mut outcome);
        assert!(out.is_empty(), "decided in the drain that saw the root");
        tail.end_cycle(now, &mut out, &mut outcome);
        let ids: Vec<u64> = out.spans().map(|s| s.span_id).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(
            out.errors.len(),
            2,
            "a trace kept for its error is an error class"
        );
        assert_eq!(outcome.kept_for_error, 1);
        assert_eq!(tail.pending_spans(), 0);
    }

    /// Without an error, the unsampled trace is dropped whole, once.
    #[test]
    fn an_unsampled_trace_is_dropped_after_the_next_drain() {
        let rules = TailSampling::default().keep_errors(true);
        let mut tail = TailSampler::new(rules, 100);
        let (now, mut out, mut outcome) =
            (Instant::now(), Released::default(), TailOutcome::default());
        tail.accept(span(2, 0), now, &mut out, &mut outcome);
        tail.accept(span(1, FLAG_LOCAL_ROOT), now, &mut out, &mut outcome);
        tail.end_cycle(now, &mut out, &mut outcome);
        tail.end_cycle(now, &mut out, &mut outcome);
        assert!(out.is_empty());
        assert_eq!(outcome.dropped_spans, 2);
        // A straggler after the decision follows it.
        tail.accept(span(3, 0), now, &mut out, &mut outcome);
        assert_eq!(outcome.dropped_spans, 3);
    }

    fn traced(trace_id: u128, span_id: u64, flags: u8) -> RawSpan {
        RawSpan {
            trace_id,
            ..span(span_id, flags)
        }
    }

    /// At a high trace rate, remembered decisions stay bounded by count, not only by age.
    #[test]
    fn remembered_decisions_are_bounded_by_count() {
        let mut tail = TailSampler::new(TailSampling::default().keep_errors(true), 10);
        tail.max_decided = 100;
        let (now, mut out, mut outcome) =
            (Instant::now(), Released::default(), TailOutcome::default());
        for id in 1..=10_000u128 {
            tail.accept(traced(id, 1, FLAG_LOCAL_ROOT), now, &mut out, &mut outcome);
            tail.end_cycle(now, &mut out, &mut outcome);
        }
        tail.end_cycle(now, &mut out, &mut outcome);
        assert_eq!(outcome.dropped_spans, 10_000);
        assert!(
            tail.decided.len() <= tail.max_decided,
            "{}",
            tail.decided.len()
        );
        assert!(tail.decided_order.len() <= tail.max_decided + 1);
        assert!(tail.pending.is_empty() && tail.pending_order.is_empty());
        // The most recent decision is still there: a straggler follows it.
        tail.accept(traced(10_000, 2, 0), now, &mut out, &mut outcome);
        assert_eq!(outcome.dropped_spans, 10_001);
        assert!(tail.pending.is_empty());
    }

    /// Over the span budget, the trace seen first is decided first, whatever the map order.
    #[test]
    fn eviction_takes_the_oldest_pending_trace() {
        let mut tail = TailSampler::new(TailSampling::default().keep_errors(true), 3);
        let (now, mut out, mut outcome) =
            (Instant::now(), Released::default(), TailOutcome::default());
        // Trace 5 is decided (root, two cycles); 6, 7, 8 wait for roots that never come.
        tail.accept(traced(5, 1, FLAG_LOCAL_ROOT), now, &mut out, &mut outcome);
        tail.end_cycle(now, &mut out, &mut outcome);
        tail.end_cycle(now, &mut out, &mut outcome);
        for id in [6u128, 7, 8] {
            tail.accept(traced(id, 1, FLAG_SAMPLED), now, &mut out, &mut outcome);
        }
        assert!(out.is_empty());
        // A fourth pending span exceeds the budget of 3: trace 6 goes (kept: sampled).
        tail.accept(traced(9, 1, FLAG_SAMPLED), now, &mut out, &mut outcome);
        let evicted: Vec<u128> = out.spans().map(|s| s.trace_id).collect();
        assert_eq!(evicted, [6]);
        assert_eq!(outcome.evicted_spans, 1);
        assert_eq!(tail.pending_spans(), 3);
    }

    /// Under overload a trace with an error is held longest: the oldest trace without one is
    /// evicted first; only when every trace in view has an error does the oldest go.
    #[test]
    fn eviction_spares_traces_with_an_error() {
        let mut tail = TailSampler::new(TailSampling::default().keep_errors(true), 3);
        let (now, mut out, mut outcome) =
            (Instant::now(), Released::default(), TailOutcome::default());
        tail.accept(traced(6, 1, FLAG_ERROR), now, &mut out, &mut outcome);
        tail.accept(traced(7, 1, 0), now, &mut out, &mut outcome);
        tail.accept(traced(8, 1, FLAG_ERROR), now, &mut out, &mut outcome);
        tail.accept(traced(9, 1, FLAG_ERROR), now, &mut out, &mut outcome);
        // Trace 7 (no error, unsampled) was evicted and dropped; 6, 8, 9 still wait.
        assert!(out.is_empty());
        assert_eq!(outcome.dropped_spans, 1);
        assert!(tail.pending.contains_key(&6) && !tail.pending.contains_key(&7));
        tail.accept(traced(10, 1, FLAG_ERROR), now, &mut out, &mut outcome);
        let evicted: Vec<u128> = out.errors.iter().map(|s| s.trace_id).collect();
        assert_eq!(
            evicted,
            [6],
            "all have errors: the oldest goes, kept for its error"
        );
        assert!(out.ok.is_empty());
    }

    /// An error arriving after its trace was dropped (evicted before its root) is kept, and
    /// so are the trace's later spans.
    #[test]
    fn an_error_after_its_trace_was_dropped_is_kept() {
        let mut tail = TailSampler::new(TailSampling::default().keep_errors(true), 1);
        let (now, mut out, mut outcome) =
            (Instant::now(), Released::default(), TailOutcome::default());
        tail.accept(traced(6, 1, 0), now, &mut out, &mut outcome);
        tail.accept(traced(7, 1, 0), now, &mut out, &mut outcome);
        assert_eq!(
            outcome.dropped_spans, 1,
            "trace 6 evicted, unsampled: dropped"
        );
        tail.accept(traced(6, 2, FLAG_ERROR), now, &mut out, &mut outcome);
        tail.accept(traced(6, 3, FLAG_LOCAL_ROOT), now, &mut out, &mut outcome);
        let kept: Vec<u64> = out.spans().map(|s| s.span_id).collect();
        assert_eq!(kept, [2, 3]);
        assert_eq!(outcome.kept_for_error, 1);
    }

    /// Root names made at run time cannot grow the rate limiter's memory without bound.
    #[test]
    fn rate_buckets_are_bounded_by_count() {
        let rules = TailSampling::default().max_traces_per_second(1.0);
        let mut tail = TailSampler::new(rules, 100);
        let now = Instant::now();
        for i in 0..10 * MAX_RATE_BUCKETS {
            let name: Cow<'static, str> = Cow::Owned(format!("request {i}"));
            tail.take_token(&name, 1.0, now);
        }
        assert!(
            tail.buckets.len() <= MAX_RATE_BUCKETS + 1,
            "{}",
            tail.buckets.len()
        );
    }

    #[test]
    fn trace_ids_spread_over_the_hash_space() {
        let hash = IdHash::default();
        let mut buckets = [0u32; 64];
        for id in 0..64_000u128 {
            // Sequential ids, the worst case for a weak hash.
            buckets[(hash.hash_one(id << 64 | id) % 64) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&n| (600..1400).contains(&n)),
            "{buckets:?}"
        );
    }
}
