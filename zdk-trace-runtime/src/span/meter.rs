//! The built-in metrics of a GenAI macro call: started with the span, whether it records or
//! not (metrics are not biased by sampling), and recorded when it ends, with the span's own
//! start and end times (a recording span's duration and its histogram value are one number).

use crate::clock;
use crate::record::{AgentCall, FLAG_RECORDING};
use crate::tally::genai::{Site, SiteKind};
use crate::tally::{self};

use super::{Inner, Span};

/// A call's metrics while it runs.
#[derive(Debug)]
pub(super) struct Metered {
    site: &'static Site,
    /// Raw start time.
    t0: u64,
    /// The duration series when the call reported a response model or failed; `UNSET` for
    /// the site's plain series.
    series: u32,
}

/// The site's plain series (no response model, no error), resolved when recorded.
pub(crate) const UNSET: u32 = u32::MAX;

impl Span {
    /// Starts the built-in metrics of `site` for this call (nothing when metrics are off, or
    /// when they were started already).
    #[inline]
    pub(crate) fn meter(&mut self, site: &'static Site) {
        // Also without metrics: the calls below an agent, and their profile samples, know it.
        if site.kind() == SiteKind::Agent && self.meter.is_none() {
            self.become_agent(site);
        }
        if !tally::built_in() || self.meter.is_some() {
            return;
        }
        // A recording span of a call that is not an agent's: its record carries the site
        // and the collector records its duration from the record's own times. Nothing more
        // happens on this thread, at start or at end. (An agent's span also keeps the
        // running-agents count, which must go down when it ends.)
        let t0 = match &mut self.inner {
            Inner::Slot(raw) if raw.flags & FLAG_RECORDING != 0 => {
                if site.kind() != SiteKind::Agent {
                    if raw.meter.is_none() {
                        raw.meter = Some((site, UNSET));
                    }
                    return;
                }
                raw.start
            }
            _ => clock::now_raw(),
        };
        if site.kind() == SiteKind::Agent {
            site.active(1);
        }
        self.meter = Some(Metered {
            site,
            t0,
            series: UNSET,
        });
    }

    /// This span is the call of agent `site`: the calls below it (their frames inherit it)
    /// are counted under its name. When it is already current (a sync function's span,
    /// started entered), its frame on the thread's stack says so too.
    #[cold]
    fn become_agent(&mut self, site: &'static Site) {
        let span_id = match &self.inner {
            Inner::Off => return,
            Inner::Slot(raw) => raw.span_id,
            Inner::Ids { span_id, .. } => *span_id,
        };
        let call = Some(AgentCall {
            site,
            invocation: span_id,
        });
        match &mut self.inner {
            Inner::Off => return,
            Inner::Slot(raw) => raw.agent = call,
            Inner::Ids { agent, .. } => *agent = call,
        }
        crate::transport::with_local(|local| {
            let stack = local.stack();
            if let Some(top) = stack.last_mut() {
                if top.frame.span_id == span_id {
                    top.frame.agent = call;
                }
            }
            crate::context::relabel(stack);
        });
    }

    /// The innermost agent call this span runs in (itself, for an agent's span).
    fn agent(&self) -> Option<&'static Site> {
        match &self.inner {
            Inner::Off => None,
            Inner::Slot(raw) => AgentCall::site(raw.agent),
            Inner::Ids { agent, .. } => AgentCall::site(*agent),
        }
    }

    /// Records the call's duration (and the end of a running agent); the end time, 0 when
    /// there were no metrics.
    #[inline]
    pub(super) fn close_meter(&mut self) -> u64 {
        match self.meter.take() {
            None => 0,
            Some(m) => close(m, &mut self.inner),
        }
    }

    /// The call reported `response_model` (an `#[llm_call]`'s output).
    pub(crate) fn meter_response_model(&mut self, response_model: &str) {
        let agent = self.agent();
        if let Some((site, series)) = self.metered_series() {
            *series = site.model_series(agent, response_model);
        }
    }

    /// The call failed with `error_type`.
    pub(crate) fn meter_error(&mut self, error_type: &str) {
        let agent = self.agent();
        if let Some((site, series)) = self.metered_series() {
            *series = site.error_series(agent, error_type);
        }
    }

    /// The call site and the duration series to update, on the span or in its record.
    fn metered_series(&mut self) -> Option<(&'static Site, &mut u32)> {
        if let Some(m) = &mut self.meter {
            return Some((m.site, &mut m.series));
        }
        match &mut self.inner {
            Inner::Slot(raw) => raw.meter.as_mut().map(|(site, series)| (*site, series)),
            _ => None,
        }
    }

    /// The call's token usage (recorded at once, under the response model if known).
    pub(crate) fn meter_tokens(
        &mut self,
        response_model: Option<&str>,
        input: Option<u64>,
        output: Option<u64>,
    ) {
        if let Some(site) = self.site() {
            site.tokens(self.agent(), response_model, input, output);
        }
    }

    /// A model stream's chunk: the first (`seconds` since the call started) or a later one
    /// (`seconds` since the previous chunk).
    pub(crate) fn meter_chunk(&mut self, first: bool, seconds: f64) {
        if let Some(site) = self.site() {
            site.chunk(self.agent(), first, seconds);
        }
    }

    /// A model call's cost, into the cost counter.
    pub(crate) fn meter_cost(
        &mut self,
        amount: f64,
        currency: &str,
        source: &'static str,
        response_model: Option<&str>,
    ) {
        if let Some(site) = self.site() {
            site.cost(self.agent(), amount, currency, source, response_model);
        }
    }

    /// The request model of this call, when its call site gave it as a literal.
    pub(crate) fn metered_request_model(&self) -> Option<&'static str> {
        self.site().and_then(Site::request_model)
    }

    /// The `gen_ai.request.model` this span records (a model given as an expression).
    pub(crate) fn request_model_attr(&self) -> Option<&str> {
        let Inner::Slot(raw) = &self.inner else {
            return None;
        };
        raw.attributes
            .iter()
            .find(|kv| kv.key.as_str() == crate::genai::REQUEST_MODEL)
            .and_then(|kv| match &kv.value {
                opentelemetry::Value::String(s) => Some(s.as_str()),
                _ => None,
            })
    }

    /// The call site of this span's built-in metrics, if it has any.
    fn site(&self) -> Option<&'static Site> {
        if let Some(m) = &self.meter {
            return Some(m.site);
        }
        match &self.inner {
            Inner::Slot(raw) => raw.meter.map(|(site, _)| site),
            _ => None,
        }
    }

    /// Whether this span carries built-in metrics.
    #[inline]
    pub(crate) fn is_metered(&self) -> bool {
        self.site().is_some()
    }
}

/// Ends a call's metrics: a recording span hands them to its record (recorded off this
/// thread, from the record's start and end), a span that records nothing records its duration
/// here. Returns the end time.
#[inline]
fn close(m: Metered, inner: &mut Inner) -> u64 {
    let now = clock::now_raw();
    let series = if m.series == UNSET {
        let agent = match inner {
            Inner::Off => None,
            Inner::Slot(raw) => AgentCall::site(raw.agent),
            Inner::Ids { agent, .. } => AgentCall::site(*agent),
        };
        m.site.ok_series(agent)
    } else {
        m.series
    };
    match inner {
        Inner::Slot(raw) if raw.flags & FLAG_RECORDING != 0 => raw.meter = Some((m.site, series)),
        _ => m
            .site
            .duration()
            .observe_ticks(series, now.saturating_sub(m.t0)),
    }
    if m.site.kind() == SiteKind::Agent {
        m.site.active(-1);
    }
    now
}
