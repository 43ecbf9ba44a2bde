//! The hot half of metrics: instruments, their attribute sets (series) under a cardinality
//! limit, per-thread cells, and a collection that sums them.
//!
//! A leaf, so that span ends (floor 7) can add to the built-in GenAI instruments and the
//! `Meter` handed to applications can record without a lock; exporting (Prometheus, OTLP,
//! the console summary) lives on the `metrics/` floor and only reads [`collect`].
//!
//! A measurement on a thread: find the series of its attributes in the thread's small cache
//! (pointer-equal keys and values compare in a few instructions), then a relaxed load and
//! store into the thread's own cells. A new attribute set takes the instrument's lock once per
//! thread; past the instrument's limit it is folded into the `otel.metric.overflow = true`
//! series and counted.

pub(crate) mod cells;
pub(crate) mod genai;
mod series;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;
use opentelemetry::KeyValue;

use crate::lock::lock;
use cells::{Layout, Shard};
#[cfg(test)]
use series::same_attributes;
use series::{Remembered, SeriesTable};

/// The cardinality limit of an instrument unless configured: attribute sets per instrument,
/// the overflow series included (the OpenTelemetry SDK's default).
pub(crate) const DEFAULT_CARDINALITY_LIMIT: usize = 2000;

/// What an instrument measures, as the OpenTelemetry API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A monotonic sum.
    Counter,
    /// A sum that goes up and down.
    UpDownCounter,
    /// A distribution over explicit bucket boundaries.
    Histogram,
    /// The last value recorded.
    Gauge,
}

/// The number type of an instrument's sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Number {
    U64,
    I64,
    F64,
}

/// One instrument: its identity, its series, and every thread's cells.
#[derive(Debug)]
pub(crate) struct Instrument {
    pub(crate) scope: Cow<'static, str>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) unit: Cow<'static, str>,
    /// Read by the exporters (the Prometheus endpoint's `# HELP`).
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) description: Cow<'static, str>,
    pub(crate) kind: Kind,
    pub(crate) number: Number,
    pub(crate) bounds: Box<[f64]>,
    /// A duration histogram fed raw clock ticks (the built-in ones): its bounds in ticks; its
    /// sum, min and max cells hold ticks, converted to seconds at collection. No float work
    /// per call.
    ticks: Option<Box<[u64]>>,
    /// Its index in the registry, and in every thread's shard list.
    id: usize,
    layout: Layout,
    table: Mutex<SeriesTable>,
    shards: Mutex<Shards>,
    /// Measurements folded into the overflow series because the limit was reached.
    pub(crate) overflowed: AtomicU64,
    /// The latest sampled-in call of each (series, bucket) of a duration histogram, for
    /// OpenMetrics exemplars. Written by the collector thread only (one lock per recorded
    /// GenAI span, never on an application thread).
    exemplars: Mutex<HashMap<(u32, usize), Exemplar>>,
}

/// A sampled-in call that landed in a histogram bucket: what OpenMetrics shows beside it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// The value recorded (seconds).
    pub(crate) value: f64,
    /// When, in nanoseconds since the Unix epoch.
    pub(crate) unix_nanos: u64,
}

/// The shards of the threads that wrote to an instrument, and what ended threads left.
#[derive(Debug)]
struct Shards {
    live: Vec<Arc<Shard>>,
    retired: Shard,
}

/// What [`register`] needs to create (or find) an instrument.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub(crate) scope: Cow<'static, str>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) unit: Cow<'static, str>,
    pub(crate) description: Cow<'static, str>,
    pub(crate) kind: Kind,
    pub(crate) number: Number,
    pub(crate) bounds: Vec<f64>,
    /// Observed by a callback at each collection: the value observed is kept (a counter's
    /// observation is its running total).
    pub(crate) observable: bool,
    /// A histogram of durations in seconds recorded as raw clock ticks
    /// ([`Instrument::observe_ticks`]).
    pub(crate) ticks: bool,
}

static REGISTRY: Lazy<Mutex<Vec<Arc<Instrument>>>> = Lazy::new(|| Mutex::new(Vec::new()));

/// The cardinality limit of instruments created from now on.
static LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_CARDINALITY_LIMIT);

/// Whether the built-in instruments record (the `[telemetry.metrics] enabled` switch, set at
/// install; off until then, so an app without telemetry pays nothing).
static BUILT_IN: AtomicBool = AtomicBool::new(false);

/// Stamps of gauge writes: the latest write across threads wins.
static STAMP: AtomicU64 = AtomicU64::new(1);

/// Sets the cardinality limit of instruments created from now on (at least 2: one set and the
/// overflow series).
pub(crate) fn set_cardinality_limit(limit: usize) {
    LIMIT.store(limit.max(2), Ordering::Relaxed);
}

/// Turns the built-in instruments on or off.
pub(crate) fn set_built_in(on: bool) {
    BUILT_IN.store(on, Ordering::Relaxed);
}

/// Whether the built-in instruments record.
#[inline]
pub(crate) fn built_in() -> bool {
    BUILT_IN.load(Ordering::Relaxed)
}

/// The instrument `spec` names: an instrument with the same scope, name, kind, number type
/// and unit is the same instrument (as in the OpenTelemetry SDK), so asking twice is cheap and
/// both handles add to the same sums.
pub(crate) fn register(spec: Spec) -> Arc<Instrument> {
    register_limited(spec, LIMIT.load(Ordering::Relaxed))
}

/// [`register`] with its own cardinality limit (when the instrument is new).
pub(crate) fn register_limited(spec: Spec, limit: usize) -> Arc<Instrument> {
    let mut registry = lock(&REGISTRY);
    if let Some(found) = registry.iter().find(|i| {
        i.scope == spec.scope
            && i.name == spec.name
            && i.kind == spec.kind
            && i.number == spec.number
            && i.unit == spec.unit
            && (i.layout == Layout::Last) == (spec.observable || spec.kind == Kind::Gauge)
    }) {
        return Arc::clone(found);
    }
    let mut bounds = spec.bounds;
    bounds.retain(|b| b.is_finite());
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let layout = match spec.kind {
        _ if spec.observable => Layout::Last,
        Kind::Histogram if spec.ticks => Layout::Ticks {
            bounds: bounds.len(),
        },
        Kind::Histogram => Layout::Histogram {
            bounds: bounds.len(),
        },
        Kind::Gauge => Layout::Last,
        Kind::Counter | Kind::UpDownCounter => match spec.number {
            Number::F64 => Layout::FloatSum,
            Number::U64 | Number::I64 => Layout::IntSum,
        },
    };
    let instrument = Arc::new(Instrument {
        scope: spec.scope,
        name: spec.name,
        unit: spec.unit,
        description: spec.description,
        kind: spec.kind,
        number: spec.number,
        ticks: (spec.ticks && spec.kind == Kind::Histogram).then(|| {
            bounds
                .iter()
                .map(|&seconds| crate::clock::ticks_of_nanos(seconds * 1e9))
                .collect()
        }),
        bounds: bounds.into_boxed_slice(),
        id: registry.len(),
        layout,
        table: Mutex::new(SeriesTable::new(limit)),
        shards: Mutex::new(Shards {
            live: Vec::new(),
            retired: Shard::new(layout),
        }),
        overflowed: AtomicU64::new(0),
        exemplars: Mutex::new(HashMap::new()),
    });
    registry.push(Arc::clone(&instrument));
    instrument
}

/// A thread's view of the instruments: its shard of each, and a small cache from the
/// attributes it recorded with to their series.
struct ThreadTally {
    shards: Vec<Option<Arc<Shard>>>,
    caches: Vec<Vec<Remembered>>,
}

/// Attribute sets a thread remembers per instrument; more are looked up under the lock.
const CACHE: usize = 32;

thread_local! {
    static THREAD: RefCell<ThreadTally> = const {
        RefCell::new(ThreadTally {
            shards: Vec::new(),
            caches: Vec::new(),
        })
    };
}

impl ThreadTally {
    /// This thread's shard of `instrument`, registered on first use.
    #[inline]
    fn shard(&mut self, instrument: &Instrument) -> &Shard {
        let id = instrument.id;
        if self.shards.get(id).is_none_or(Option::is_none) {
            self.new_shard(instrument);
        }
        match self.shards.get(id) {
            Some(Some(shard)) => shard,
            // `new_shard` filled it.
            _ => unreachable_shard(),
        }
    }

    #[cold]
    fn new_shard(&mut self, instrument: &Instrument) {
        let id = instrument.id;
        if self.shards.len() <= id {
            self.shards.resize(id + 1, None);
        }
        let shard = Arc::new(Shard::new(instrument.layout));
        lock(&instrument.shards).live.push(Arc::clone(&shard));
        self.shards[id] = Some(shard);
    }

    /// The series of `attributes` for `instrument`.
    #[inline(always)]
    fn series(&mut self, instrument: &Instrument, attributes: &[KeyValue]) -> u32 {
        let id = instrument.id;
        if let Some(cache) = self.caches.get(id) {
            for remembered in cache {
                if remembered.matches(attributes) {
                    return remembered.series;
                }
            }
        }
        self.series_slow(instrument, attributes)
    }

    #[cold]
    fn series_slow(&mut self, instrument: &Instrument, attributes: &[KeyValue]) -> u32 {
        let series = lock(&instrument.table).series_of(attributes, &instrument.overflowed);
        let id = instrument.id;
        if self.caches.len() <= id {
            self.caches.resize_with(id + 1, Vec::new);
        }
        let cache = &mut self.caches[id];
        let entry = Remembered::new(attributes, series);
        if cache.len() < CACHE {
            cache.push(entry);
        } else {
            // Full: the oldest half makes room (a thread cycling through more sets than the
            // cache holds pays the lock, not a growing cache).
            cache.drain(..CACHE / 2);
            cache.push(entry);
        }
        series
    }
}

#[cold]
fn unreachable_shard() -> ! {
    // `new_shard` always fills the entry it was called for.
    unreachable!("a shard was registered for this instrument")
}

/// Runs `f` with this thread's cells of `instrument` for `attributes`; nothing while the
/// thread is being torn down.
#[inline]
fn with_cells(
    instrument: &Instrument,
    attributes: &[KeyValue],
    f: impl FnOnce(&[std::sync::atomic::AtomicU64]),
) {
    let _ = THREAD.try_with(|thread| {
        let Ok(mut thread) = thread.try_borrow_mut() else {
            return;
        };
        let series = thread.series(instrument, attributes);
        if let Some(cells) = thread.shard(instrument).cells_mut(series) {
            f(cells);
        }
    });
}

/// Runs `f` with this thread's cells of `instrument`'s series `series` (already resolved).
#[inline]
pub(crate) fn with_series(
    instrument: &Instrument,
    series: u32,
    f: impl FnOnce(&[std::sync::atomic::AtomicU64]),
) {
    let _ = THREAD.try_with(|thread| {
        let Ok(mut thread) = thread.try_borrow_mut() else {
            return;
        };
        if let Some(cells) = thread.shard(instrument).cells_mut(series) {
            f(cells);
        }
    });
}

impl Instrument {
    /// Whether its values come from a callback (an observable counter, up-down counter or
    /// gauge).
    #[cfg_attr(
        not(any(feature = "otlp-grpc", feature = "otlp-http")),
        allow(dead_code)
    )]
    pub(crate) fn is_observable(&self) -> bool {
        self.layout == Layout::Last && self.kind != Kind::Gauge
    }

    /// The series of `attributes`, resolved under the lock (for call sites that cache it).
    pub(crate) fn series_of(&self, attributes: &[KeyValue]) -> u32 {
        lock(&self.table).series_of(attributes, &self.overflowed)
    }

    /// Adds `n` to an integer sum (a `u64` counter, or an `i64` up-down counter as two's
    /// complement).
    #[inline]
    pub(crate) fn add_int(&self, n: u64, attributes: &[KeyValue]) {
        with_cells(self, attributes, |cells| {
            if let Some(cell) = cells.first() {
                cells::add_int(cell, n);
            }
        });
    }

    /// Adds `x` to a float sum.
    #[inline]
    pub(crate) fn add_float(&self, x: f64, attributes: &[KeyValue]) {
        if !x.is_finite() {
            return;
        }
        with_cells(self, attributes, |cells| {
            if let Some(cell) = cells.first() {
                cells::add_float(cell, x);
            }
        });
    }

    /// Records `x` into a histogram.
    #[inline]
    pub(crate) fn observe(&self, x: f64, attributes: &[KeyValue]) {
        if !x.is_finite() {
            return;
        }
        let bucket = cells::bucket_of(&self.bounds, x);
        with_cells(self, attributes, |cells| cells::observe(cells, bucket, x));
    }

    /// Records `x` into a histogram series already resolved.
    #[inline]
    pub(crate) fn observe_series(&self, series: u32, x: f64) {
        if !x.is_finite() {
            return;
        }
        let bucket = cells::bucket_of(&self.bounds, x);
        with_series(self, series, |cells| cells::observe(cells, bucket, x));
    }

    /// Records a duration of `ticks` raw clock ticks into a series already resolved (a
    /// histogram registered with `ticks`).
    #[inline]
    pub(crate) fn observe_ticks(&self, series: u32, ticks: u64) {
        let Some(bounds) = &self.ticks else {
            return;
        };
        // Calls of one site keep to a few buckets: an early exit the branch predictor learns
        // beats a branch-free count of all 14 bounds.
        let bucket = bounds
            .iter()
            .position(|&b| ticks <= b)
            .unwrap_or(bounds.len());
        with_series(self, series, |cells| {
            if let [count, sum, min, max, buckets @ ..] = cells {
                if let Some(b) = buckets.get(bucket) {
                    cells::add_int(b, 1);
                }
                cells::add_int(count, 1);
                cells::add_int(sum, ticks);
                // Ticks are stored `+1`, so that 0 means "none yet" for the minimum.
                let stored = ticks.saturating_add(1);
                let m = min.load(Ordering::Relaxed);
                if m == 0 || stored < m {
                    min.store(stored, Ordering::Relaxed);
                }
                if stored > max.load(Ordering::Relaxed) {
                    max.store(stored, Ordering::Relaxed);
                }
            }
        });
    }

    /// Keeps the sampled-in call of trace `trace_id`, span `span_id`, that took `ticks` and
    /// ended at raw time `end`, as the exemplar of its bucket (a duration histogram's).
    pub(crate) fn offer_exemplar(
        &self,
        series: u32,
        ticks: u64,
        trace_id: u128,
        span_id: u64,
        end: u64,
    ) {
        let Some(bounds) = &self.ticks else {
            return;
        };
        let bucket = bounds
            .iter()
            .position(|&b| ticks <= b)
            .unwrap_or(bounds.len());
        let exemplar = Exemplar {
            trace_id,
            span_id,
            value: crate::clock::nanos_of_ticks(ticks) as f64 * 1e-9,
            unix_nanos: crate::clock::to_unix_nanos(end),
        };
        lock(&self.exemplars).insert((series, bucket), exemplar);
    }

    /// The exemplars of `series`, by bucket.
    pub(crate) fn exemplars_of(&self, series: u32) -> Vec<(usize, Exemplar)> {
        let mut found: Vec<(usize, Exemplar)> = lock(&self.exemplars)
            .iter()
            .filter(|((s, _), _)| *s == series)
            .map(|((_, bucket), e)| (*bucket, *e))
            .collect();
        found.sort_by_key(|(bucket, _)| *bucket);
        found
    }

    /// Adds `n` to an integer sum's series already resolved.
    #[inline]
    pub(crate) fn add_int_series(&self, series: u32, n: u64) {
        with_series(self, series, |cells| {
            if let Some(cell) = cells.first() {
                cells::add_int(cell, n);
            }
        });
    }

    /// Sets a gauge's value (`x` as `f64`; the latest write across threads wins).
    #[inline]
    pub(crate) fn set(&self, x: f64, attributes: &[KeyValue]) {
        if x.is_nan() {
            return;
        }
        let stamp = STAMP.fetch_add(1, Ordering::Relaxed);
        with_cells(self, attributes, |cells| {
            if let [value, at] = cells {
                value.store(x.to_bits(), Ordering::Relaxed);
                at.store(stamp, Ordering::Relaxed);
            }
        });
    }
}

/// The value of one series at a collection.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// An integer sum (`u64` bits; an `i64` instrument's as two's complement).
    Int(u64),
    Float(f64),
    Histogram(HistogramValue),
}

/// A histogram series at a collection.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HistogramValue {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    /// Per bucket (not cumulative), `bounds.len() + 1` of them.
    pub(crate) buckets: Vec<u64>,
}

/// One series of an instrument at a collection.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    pub(crate) attributes: Arc<[KeyValue]>,
    pub(crate) value: Value,
    /// A duration histogram's exemplars, by bucket (OpenMetrics shows them).
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) exemplars: Vec<(usize, Exemplar)>,
}

/// An instrument and its series at a collection (cumulative since the instrument was created).
#[derive(Clone, Debug)]
pub(crate) struct Metric {
    pub(crate) instrument: Arc<Instrument>,
    pub(crate) points: Vec<Point>,
}

/// A callback run at each collection, before the instruments are read.
pub(crate) type Callback = Box<dyn Fn() + Send + Sync>;

static CALLBACKS: Lazy<Mutex<Vec<Callback>>> = Lazy::new(|| Mutex::new(Vec::new()));

/// Runs `callback` at every collection from now on (observable instruments).
pub(crate) fn on_collect(callback: Callback) {
    lock(&CALLBACKS).push(callback);
}

/// Every instrument with at least one series, summed over every thread (after running the
/// observable instruments' callbacks; one that panics is skipped, not propagated).
pub(crate) fn collect() -> Vec<Metric> {
    {
        let callbacks = lock(&CALLBACKS);
        for callback in callbacks.iter() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback));
        }
    }
    let instruments: Vec<Arc<Instrument>> = lock(&REGISTRY).clone();
    instruments
        .into_iter()
        .filter_map(|instrument| {
            let points = instrument.collect_points();
            (!points.is_empty()).then_some(Metric { instrument, points })
        })
        .collect()
}

impl Instrument {
    fn collect_points(&self) -> Vec<Point> {
        let sets = lock(&self.table).sets();
        let mut shards = lock(&self.shards);
        shards.retire_ended(self.layout);
        let mut points = Vec::with_capacity(sets.len());
        for (series, attributes) in sets.into_iter().enumerate() {
            let series = series as u32;
            let all = shards
                .live
                .iter()
                .map(|s| &**s)
                .chain(std::iter::once(&shards.retired));
            if let Some(value) = merge(self.layout, all.filter_map(|s| s.cells(series))) {
                let exemplars = if self.ticks.is_some() {
                    self.exemplars_of(series)
                } else {
                    Vec::new()
                };
                points.push(Point {
                    attributes,
                    value,
                    exemplars,
                });
            }
        }
        points
    }
}

impl Shards {
    /// Folds the shards of ended threads (nothing but this list holds them) into `retired`.
    fn retire_ended(&mut self, layout: Layout) {
        let mut i = 0;
        while i < self.live.len() {
            if Arc::strong_count(&self.live[i]) == 1 {
                let ended = self.live.swap_remove(i);
                if let Layout::Ticks { .. } = layout {
                    fold_ticks(&ended, &self.retired);
                } else {
                    fold(layout, &ended, &self.retired);
                }
            } else {
                i += 1;
            }
        }
    }
}

/// Adds `from`'s cells into `into` (the collector's own shard; no other writer).
fn fold(layout: Layout, from: &Shard, into: &Shard) {
    for series in 0..from.capacity() {
        let (Some(src), Some(dst)) = (from.cells(series), into.cells_mut(series)) else {
            continue;
        };
        if let Some(value) = merge(layout, [src, dst].into_iter()) {
            write(layout, dst, &value, src);
        }
    }
}

/// [`fold`] for a histogram of ticks: every cell adds, except the `+1`-stored min and max.
fn fold_ticks(from: &Shard, into: &Shard) {
    for series in 0..from.capacity() {
        let (Some(src), Some(dst)) = (from.cells(series), into.cells_mut(series)) else {
            continue;
        };
        for (i, (s, d)) in src.iter().zip(dst).enumerate() {
            let (s, d_now) = (s.load(Ordering::Relaxed), d.load(Ordering::Relaxed));
            let v = match i {
                cells::MIN if d_now == 0 => s,
                cells::MIN if s == 0 => d_now,
                cells::MIN => s.min(d_now),
                cells::MAX => s.max(d_now),
                _ => d_now.wrapping_add(s),
            };
            d.store(v, Ordering::Relaxed);
        }
    }
}

/// [`merge`] for a histogram of ticks, in seconds.
fn merge_ticks<'a>(shards: impl Iterator<Item = &'a [AtomicU64]>) -> Option<Value> {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut buckets: Vec<u64> = Vec::new();
    let (mut sum, mut min, mut max) = (0u64, 0u64, 0u64);
    for cells in shards {
        let b = &cells[cells::BUCKETS..];
        if buckets.len() < b.len() {
            buckets.resize(b.len(), 0);
        }
        for (total, cell) in buckets.iter_mut().zip(b) {
            *total += load(cell);
        }
        sum = sum.wrapping_add(load(&cells[cells::SUM]));
        let m = load(&cells[cells::MIN]);
        if m != 0 && (min == 0 || m < min) {
            min = m;
        }
        max = max.max(load(&cells[cells::MAX]));
    }
    let count: u64 = buckets.iter().sum();
    if count == 0 {
        return None;
    }
    let seconds = |ticks: u64| crate::clock::nanos_of_ticks(ticks) as f64 * 1e-9;
    Some(Value::Histogram(HistogramValue {
        count,
        sum: seconds(sum),
        min: seconds(min.saturating_sub(1)),
        max: seconds(max.saturating_sub(1)),
        buckets,
    }))
}

/// Writes a merged value back into a shard's cells (used when folding).
fn write(layout: Layout, dst: &[AtomicU64], value: &Value, src: &[AtomicU64]) {
    match (layout, value) {
        (Layout::IntSum, Value::Int(n)) => dst[0].store(*n, Ordering::Relaxed),
        (Layout::FloatSum, Value::Float(x)) => dst[0].store(x.to_bits(), Ordering::Relaxed),
        (Layout::Last, Value::Float(_))
            if src[1].load(Ordering::Relaxed) > dst[1].load(Ordering::Relaxed) =>
        {
            dst[0].store(src[0].load(Ordering::Relaxed), Ordering::Relaxed);
            dst[1].store(src[1].load(Ordering::Relaxed), Ordering::Relaxed);
        }
        (Layout::Histogram { .. }, Value::Histogram(h)) => {
            dst[cells::COUNT].store(h.count, Ordering::Relaxed);
            dst[cells::SUM].store(h.sum.to_bits(), Ordering::Relaxed);
            dst[cells::MIN].store(h.min.to_bits(), Ordering::Relaxed);
            dst[cells::MAX].store(h.max.to_bits(), Ordering::Relaxed);
            for (cell, n) in dst[cells::BUCKETS..].iter().zip(&h.buckets) {
                cell.store(*n, Ordering::Relaxed);
            }
        }
        _ => {}
    }
}

/// The value of one series over several shards' cells; `None` if none has written it.
fn merge<'a>(layout: Layout, shards: impl Iterator<Item = &'a [AtomicU64]>) -> Option<Value> {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    match layout {
        Layout::Ticks { .. } => merge_ticks(shards),
        Layout::IntSum => {
            let mut any = false;
            let mut sum = 0u64;
            for cells in shards {
                any = true;
                sum = sum.wrapping_add(load(&cells[0]));
            }
            any.then_some(Value::Int(sum))
        }
        Layout::FloatSum => {
            let mut any = false;
            let mut sum = 0.0;
            for cells in shards {
                any = true;
                sum += cells::float(&cells[0]);
            }
            any.then_some(Value::Float(sum))
        }
        Layout::Last => {
            let mut best: Option<(u64, f64)> = None;
            for cells in shards {
                let stamp = load(&cells[1]);
                if stamp != 0 && best.is_none_or(|(s, _)| stamp > s) {
                    best = Some((stamp, cells::float(&cells[0])));
                }
            }
            best.map(|(_, x)| Value::Float(x))
        }
        Layout::Histogram { bounds } => {
            let mut h = HistogramValue {
                count: 0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                buckets: vec![0; bounds + 1],
            };
            for cells in shards {
                // The count is the buckets' sum, so that the two agree even while a thread
                // writes.
                for (total, cell) in h.buckets.iter_mut().zip(&cells[cells::BUCKETS..]) {
                    *total += load(cell);
                }
                h.sum += cells::float(&cells[cells::SUM]);
                h.min = h.min.min(cells::float(&cells[cells::MIN]));
                h.max = h.max.max(cells::float(&cells[cells::MAX]));
            }
            h.count = h.buckets.iter().sum();
            (h.count > 0).then_some(Value::Histogram(h))
        }
    }
}

#[cfg(test)]
mod tests;
