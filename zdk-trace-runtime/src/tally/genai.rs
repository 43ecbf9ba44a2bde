//! The built-in instruments the GenAI macros record into, whether the call's trace is sampled
//! in or out: names, units and explicit bucket boundaries of the OpenTelemetry GenAI semantic
//! conventions, and the static [`Site`] each macro call site declares, whose attributes are
//! known when the macro expands.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use once_cell::sync::Lazy;
use opentelemetry::KeyValue;

use super::{register, Instrument, Kind, Number, Spec};

/// `gen_ai.client.operation.duration` boundaries (s): 0.01 × 2^k up to 81.92.
pub(crate) const OPERATION_BOUNDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// `gen_ai.client.token.usage` boundaries: 4^k up to 67 108 864.
pub(crate) const TOKEN_BOUNDS: [f64; 14] = [
    1.0,
    4.0,
    16.0,
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];
/// `gen_ai.invoke_agent.duration` boundaries (s): 0.1 × 2^k up to 409.6.
pub(crate) const AGENT_BOUNDS: [f64; 13] = [
    0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
];
/// `gen_ai.workflow.duration` boundaries (s): 1 s to 2 h.
pub(crate) const WORKFLOW_BOUNDS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];

/// The instrumentation scope of the built-in instruments.
pub(crate) const SCOPE: &str = "zdk-trace";

pub(crate) const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
pub(crate) const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
pub(crate) const AGENT_DURATION: &str = "gen_ai.invoke_agent.duration";
pub(crate) const TOOL_DURATION: &str = "gen_ai.execute_tool.duration";
pub(crate) const WORKFLOW_DURATION: &str = "gen_ai.workflow.duration";
pub(crate) const AGENT_ACTIVE: &str = "gen_ai.agent.active";
pub(crate) const USAGE_COST: &str = "gen_ai.usage.cost";
pub(crate) const TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
pub(crate) const TIME_PER_OUTPUT_CHUNK: &str = "gen_ai.client.operation.time_per_output_chunk";

/// Time to first chunk boundaries (s), as the conventions give for the time to first token.
pub(crate) const FIRST_CHUNK_BOUNDS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Time per output chunk boundaries (s), as the conventions give for the time per token.
pub(crate) const PER_CHUNK_BOUNDS: [f64; 13] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];

fn histogram(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    bounds: &[f64],
    ticks: bool,
) -> Arc<Instrument> {
    register(Spec {
        scope: SCOPE.into(),
        name: name.into(),
        unit: unit.into(),
        description: description.into(),
        kind: Kind::Histogram,
        number: Number::F64,
        bounds: bounds.to_vec(),
        observable: false,
        // The call duration histograms take raw clock ticks (no float work per call).
        ticks,
    })
}

/// The built-in instruments, created on first use.
pub(crate) struct BuiltIn {
    pub(crate) operation_duration: Arc<Instrument>,
    pub(crate) token_usage: Arc<Instrument>,
    pub(crate) agent_duration: Arc<Instrument>,
    pub(crate) tool_duration: Arc<Instrument>,
    pub(crate) workflow_duration: Arc<Instrument>,
    pub(crate) agent_active: Arc<Instrument>,
    pub(crate) first_chunk: Arc<Instrument>,
    pub(crate) per_chunk: Arc<Instrument>,
    pub(crate) cost: Arc<Instrument>,
}

pub(crate) static BUILT_IN: Lazy<BuiltIn> = Lazy::new(|| BuiltIn {
    operation_duration: histogram(
        OPERATION_DURATION,
        "s",
        "GenAI operation duration",
        &OPERATION_BOUNDS,
        true,
    ),
    token_usage: histogram(
        TOKEN_USAGE,
        "{token}",
        "Number of input and output tokens used",
        &TOKEN_BOUNDS,
        false,
    ),
    agent_duration: histogram(
        AGENT_DURATION,
        "s",
        "Duration of agent invocations",
        &AGENT_BOUNDS,
        true,
    ),
    tool_duration: histogram(
        TOOL_DURATION,
        "s",
        "Duration of tool executions",
        &OPERATION_BOUNDS,
        true,
    ),
    workflow_duration: histogram(
        WORKFLOW_DURATION,
        "s",
        "Duration of workflow invocations",
        &WORKFLOW_BOUNDS,
        true,
    ),
    first_chunk: histogram(
        TIME_TO_FIRST_CHUNK,
        "s",
        "Time from the start of a streamed model call to its first chunk",
        &FIRST_CHUNK_BOUNDS,
        false,
    ),
    per_chunk: histogram(
        TIME_PER_OUTPUT_CHUNK,
        "s",
        "Time between consecutive chunks of a streamed model call",
        &PER_CHUNK_BOUNDS,
        false,
    ),
    cost: register(Spec {
        scope: SCOPE.into(),
        name: USAGE_COST.into(),
        unit: "{cost}".into(),
        description: "What model calls cost, in the currency of gen_ai.usage.cost.currency \
                      (provisional)"
            .into(),
        kind: Kind::Counter,
        number: Number::F64,
        bounds: Vec::new(),
        observable: false,
        ticks: false,
    }),
    agent_active: register(Spec {
        scope: SCOPE.into(),
        name: AGENT_ACTIVE.into(),
        unit: "{agent}".into(),
        description: "Agent invocations running now".into(),
        kind: Kind::UpDownCounter,
        number: Number::I64,
        bounds: Vec::new(),
        observable: false,
        ticks: false,
    }),
});

/// What a macro call site is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// `#[llm_call]`.
    Llm,
    /// `#[agent_span]`.
    Agent,
    /// `#[tool_call]`.
    Tool,
    /// `#[workflow]`.
    Workflow,
}

/// Unset series cache.
const UNSET: u32 = u32::MAX;

/// A macro call site's metric identity: what its expansion knows (operation, agent/tool/
/// workflow name, provider, literal request model), and the series it resolved once.
#[derive(Debug)]
pub struct Site {
    kind: SiteKind,
    operation: &'static str,
    /// The agent, tool or workflow name; empty for an LLM call.
    name: &'static str,
    /// Empty when not given.
    provider: &'static str,
    /// The request model when the expansion saw a literal; empty otherwise.
    model: &'static str,
    ok: AtomicU32,
    active: AtomicU32,
    first_chunk: AtomicU32,
    per_chunk: AtomicU32,
}

impl Site {
    /// A call site (`name`, `provider`, `model`: empty strings when not known at expansion).
    pub const fn new(
        kind: SiteKind,
        operation: &'static str,
        name: &'static str,
        provider: &'static str,
        model: &'static str,
    ) -> Site {
        Site {
            kind,
            operation,
            name,
            provider,
            model,
            ok: AtomicU32::new(UNSET),
            active: AtomicU32::new(UNSET),
            first_chunk: AtomicU32::new(UNSET),
            per_chunk: AtomicU32::new(UNSET),
        }
    }

    /// The agent, tool or workflow name (empty for an LLM call).
    #[cfg_attr(not(all(feature = "profiling", target_os = "linux")), allow(dead_code))]
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn kind(&self) -> SiteKind {
        self.kind
    }

    /// The duration instrument of this kind of site.
    pub(crate) fn duration(&self) -> &'static Instrument {
        let b = &*BUILT_IN;
        match self.kind {
            SiteKind::Llm => &b.operation_duration,
            SiteKind::Agent => &b.agent_duration,
            SiteKind::Tool => &b.tool_duration,
            SiteKind::Workflow => &b.workflow_duration,
        }
    }

    /// The site's attributes, with the agent call it runs in (a model or tool call's, not
    /// an agent's own) and the response model and error type of one call.
    fn attributes(
        &self,
        agent: Option<&Site>,
        response_model: Option<&str>,
        error_type: Option<&str>,
    ) -> Vec<KeyValue> {
        let mut attrs = Vec::with_capacity(7);
        attrs.push(KeyValue::new("gen_ai.operation.name", self.operation));
        let name_key = match self.kind {
            SiteKind::Llm => None,
            SiteKind::Agent => Some("gen_ai.agent.name"),
            SiteKind::Tool => Some("gen_ai.tool.name"),
            SiteKind::Workflow => Some("gen_ai.workflow.name"),
        };
        if let Some(key) = name_key {
            attrs.push(KeyValue::new(key, self.name));
        }
        if let Some(agent) = agent.filter(|_| self.kind != SiteKind::Agent) {
            attrs.push(KeyValue::new("gen_ai.agent.name", agent.name));
        }
        if !self.provider.is_empty() {
            attrs.push(KeyValue::new("gen_ai.provider.name", self.provider));
        }
        if !self.model.is_empty() {
            attrs.push(KeyValue::new("gen_ai.request.model", self.model));
        }
        if let Some(model) = response_model {
            attrs.push(KeyValue::new("gen_ai.response.model", model.to_owned()));
        }
        if let Some(error_type) = error_type {
            attrs.push(KeyValue::new("error.type", error_type.to_owned()));
        }
        attrs
    }

    /// The duration series of a call that succeeded with no response model reported, in
    /// `agent`'s call.
    #[inline]
    pub(crate) fn ok_series(&self, agent: Option<&'static Site>) -> u32 {
        if agent.is_some() && self.kind != SiteKind::Agent {
            return self.memo(Memo::Duration, agent, "");
        }
        let series = self.ok.load(Ordering::Relaxed);
        if series != UNSET {
            return series;
        }
        self.resolve_ok()
    }

    #[cold]
    fn resolve_ok(&self) -> u32 {
        let series = self
            .duration()
            .series_of(&self.attributes(None, None, None));
        self.ok.store(series, Ordering::Relaxed);
        series
    }

    /// A series of this site in `agent`'s call, from this thread's memo of the last 32.
    fn memo(&self, what: Memo, agent: Option<&'static Site>, response_model: &str) -> u32 {
        let instrument = match what {
            Memo::Duration => self.duration(),
            Memo::FirstChunk => &BUILT_IN.first_chunk,
            Memo::PerChunk => &BUILT_IN.per_chunk,
        };
        let resolve = || {
            let model = (!response_model.is_empty()).then_some(response_model);
            instrument.series_of(&self.attributes(agent, model, None))
        };
        MEMO.with(|memo| {
            let Ok(mut memo) = memo.try_borrow_mut() else {
                return resolve();
            };
            let me = self as *const Site as usize;
            let agent_key = agent.map_or(0, |a| a as *const Site as usize);
            if let Some(entry) = memo.iter().find(|e| {
                e.site == me
                    && e.agent == agent_key
                    && e.what == what
                    && &*e.model == response_model
            }) {
                return entry.series;
            }
            let series = resolve();
            if memo.len() >= 32 {
                memo.remove(0);
            }
            memo.push(MemoEntry {
                site: me,
                agent: agent_key,
                what,
                model: response_model.into(),
                series,
            });
            series
        })
    }

    /// The duration series of a call that reported `response_model` (and no error).
    pub(crate) fn model_series(&self, agent: Option<&'static Site>, response_model: &str) -> u32 {
        self.memo(Memo::Duration, agent, response_model)
    }

    /// The duration series of a call that failed with `error_type`.
    pub(crate) fn error_series(&self, agent: Option<&'static Site>, error_type: &str) -> u32 {
        self.duration()
            .series_of(&self.attributes(agent, None, Some(error_type)))
    }

    /// Records one call's token usage (`gen_ai.token.type` = `input`/`output`).
    pub(crate) fn tokens(
        &self,
        agent: Option<&'static Site>,
        response_model: Option<&str>,
        input: Option<u64>,
        output: Option<u64>,
    ) {
        let usage = &BUILT_IN.token_usage;
        for (kind, n) in [("input", input), ("output", output)] {
            let Some(n) = n else { continue };
            let mut attrs = self.attributes(agent, response_model, None);
            attrs.push(KeyValue::new("gen_ai.token.type", kind));
            usage.observe(n as f64, &attrs);
        }
    }

    /// Adds a call's cost to the cost counter (`source`: `provider` or `local`).
    pub(crate) fn cost(
        &self,
        agent: Option<&'static Site>,
        amount: f64,
        currency: &str,
        source: &'static str,
        response_model: Option<&str>,
    ) {
        let mut attrs = self.attributes(agent, response_model, None);
        attrs.push(KeyValue::new(
            "gen_ai.usage.cost.currency",
            currency.to_owned(),
        ));
        attrs.push(KeyValue::new("zdk.gen_ai.usage.cost.source", source));
        BUILT_IN.cost.add_float(amount, &attrs);
    }

    /// The request model the expansion saw as a literal, if any.
    pub(crate) fn request_model(&self) -> Option<&'static str> {
        (!self.model.is_empty()).then_some(self.model)
    }

    /// A chunk of a streamed model call: the time to the first, or since the previous one.
    pub(crate) fn chunk(&self, agent: Option<&'static Site>, first: bool, seconds: f64) {
        let (instrument, cache, what) = if first {
            (&BUILT_IN.first_chunk, &self.first_chunk, Memo::FirstChunk)
        } else {
            (&BUILT_IN.per_chunk, &self.per_chunk, Memo::PerChunk)
        };
        let series = if agent.is_some() {
            self.memo(what, agent, "")
        } else {
            let mut series = cache.load(Ordering::Relaxed);
            if series == UNSET {
                series = instrument.series_of(&self.attributes(None, None, None));
                cache.store(series, Ordering::Relaxed);
            }
            series
        };
        instrument.observe_series(series, seconds);
    }

    /// Adds `delta` to the running agents of this (agent) site.
    #[inline]
    pub(crate) fn active(&self, delta: i64) {
        let mut series = self.active.load(Ordering::Relaxed);
        if series == UNSET {
            series = BUILT_IN
                .agent_active
                .series_of(&[KeyValue::new("gen_ai.agent.name", self.name)]);
            self.active.store(series, Ordering::Relaxed);
        }
        BUILT_IN.agent_active.add_int_series(series, delta as u64);
    }
}

/// Which instrument a memo entry is a series of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Memo {
    Duration,
    FirstChunk,
    PerChunk,
}

/// A series resolved for a call site in an agent's call, with a response model.
struct MemoEntry {
    site: usize,
    agent: usize,
    what: Memo,
    model: Box<str>,
    series: u32,
}

thread_local! {
    /// Per thread: (site, agent, instrument, response model) → series, the last 32.
    static MEMO: RefCell<Vec<MemoEntry>> = const { RefCell::new(Vec::new()) };
}

/// Call sites are `static`s: one is equal only to itself.
impl PartialEq for Site {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Site {}
