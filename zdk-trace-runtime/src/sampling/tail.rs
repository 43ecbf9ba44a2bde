//! Tail sampling on the collector thread: spans are held per trace until the trace's local
//! root ends, then the whole trace is kept or dropped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::span::clock;
use crate::span::{RawSpan, FLAG_ERROR, FLAG_LOCAL_ROOT, FLAG_SAMPLED};
use crate::TailSampling;

/// How long a decision is remembered, for spans of the trace that arrive after its root
/// (detached tasks, other threads' late rings).
const DECISION_TTL: Duration = Duration::from_secs(60);

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
    pending: HashMap<u128, Pending>,
    pending_spans: usize,
    max_pending_spans: usize,
    decided: HashMap<u128, (bool, Instant)>,
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
            pending: HashMap::new(),
            pending_spans: 0,
            max_pending_spans: max_pending_spans.max(1),
            decided: HashMap::new(),
            buckets: HashMap::new(),
            last_purge: Instant::now(),
            cycle: 0,
            rooted: Vec::new(),
        }
    }

    /// Spans held, waiting for their root.
    pub(crate) fn pending_spans(&self) -> usize {
        self.pending_spans
    }

    /// Takes one span; pushes every span whose trace is kept into `out`.
    pub(crate) fn accept(
        &mut self,
        span: RawSpan,
        now: Instant,
        out: &mut Vec<RawSpan>,
        outcome: &mut TailOutcome,
    ) {
        if let Some(&(keep, _)) = self.decided.get(&span.trace_id) {
            if keep {
                out.push(span);
            } else {
                outcome.dropped_spans += 1;
            }
            return;
        }
        let trace_id = span.trace_id;
        let is_root = span.flags & FLAG_LOCAL_ROOT != 0;
        let entry = self.pending.entry(trace_id).or_insert_with(|| Pending {
            spans: Vec::new(),
            has_error: false,
            sampled: span.flags & FLAG_SAMPLED != 0,
            first_seen: now,
            root: None,
        });
        entry.has_error |= span.flags & FLAG_ERROR != 0;
        if is_root && entry.root.is_none() {
            // Not decided yet: a span of this trace that ended before the root on the same
            // thread may still be on its way (in the overflow lane while the root came through
            // the ring, or the reverse). Everything sent before the root is visible to the
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
        if now.duration_since(self.last_purge) > Duration::from_secs(1) {
            self.decided
                .retain(|_, (_, at)| now.duration_since(*at) < DECISION_TTL);
            self.last_purge = now;
        }
    }

    /// Ends one collector drain cycle: decides the traces whose local root arrived in an
    /// earlier cycle (so every span that ended before the root has been seen), pushing the
    /// kept spans into `out`.
    pub(crate) fn end_cycle(
        &mut self,
        now: Instant,
        out: &mut Vec<RawSpan>,
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
        let bucket = self.buckets.entry(name.clone()).or_insert(Bucket {
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
        out: &mut Vec<RawSpan>,
        outcome: &mut TailOutcome,
    ) {
        self.decided.insert(trace_id, (verdict.is_some(), now));
        match verdict {
            Some(kept) => {
                match kept {
                    Kept::Error if !pending.sampled => outcome.kept_for_error += 1,
                    Kept::Slow if !pending.sampled => outcome.kept_for_slowness += 1,
                    _ => {}
                }
                out.extend(pending.spans);
            }
            None => outcome.dropped_spans += pending.spans.len() as u64,
        }
    }

    /// Too many spans held: decide the oldest trace now, without its root.
    fn evict_oldest(&mut self, now: Instant, out: &mut Vec<RawSpan>, outcome: &mut TailOutcome) {
        let oldest = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.first_seen)
            .map(|(id, _)| *id);
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
        out: &mut Vec<RawSpan>,
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
        out: &mut Vec<RawSpan>,
        outcome: &mut TailOutcome,
    ) {
        let all: Vec<(u128, Pending)> = self.pending.drain().collect();
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
    use smallvec::SmallVec;

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
            attributes: SmallVec::new(),
            extras: None,
        }
    }

    /// A child that ended before its root can reach the collector after it (the root came
    /// through the thread's ring, the child through the overflow lane): its error must still
    /// decide the trace, and the child must be exported with it.
    #[test]
    fn a_child_arriving_after_its_root_in_the_same_drain_still_counts() {
        let rules = TailSampling::default().keep_errors(true);
        let mut tail = TailSampler::new(rules, 100);
        let (now, mut out, mut outcome) = (Instant::now(), Vec::new(), TailOutcome::default());
        tail.accept(span(1, FLAG_LOCAL_ROOT), now, &mut out, &mut outcome);
        tail.accept(span(2, FLAG_ERROR), now, &mut out, &mut outcome);
        tail.end_cycle(now, &mut out, &mut outcome);
        assert!(out.is_empty(), "decided in the drain that saw the root");
        tail.end_cycle(now, &mut out, &mut outcome);
        let ids: Vec<u64> = out.iter().map(|s| s.span_id).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(outcome.kept_for_error, 1);
        assert_eq!(tail.pending_spans(), 0);
    }

    /// Without an error, the unsampled trace is dropped whole, once.
    #[test]
    fn an_unsampled_trace_is_dropped_after_the_next_drain() {
        let rules = TailSampling::default().keep_errors(true);
        let mut tail = TailSampler::new(rules, 100);
        let (now, mut out, mut outcome) = (Instant::now(), Vec::new(), TailOutcome::default());
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
}
