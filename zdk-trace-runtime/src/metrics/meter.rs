//! `opentelemetry::metrics::Meter` on zdk-trace's own aggregation: the instruments users know
//! (counters, up-down counters, histograms, gauges, and their observable forms), recording
//! into per-thread cells without a lock, exported next to the built-in GenAI instruments.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::metrics::{
    AsyncInstrument, AsyncInstrumentBuilder, Counter, Gauge, Histogram, HistogramBuilder,
    InstrumentBuilder, InstrumentProvider, Meter, ObservableCounter, ObservableGauge,
    ObservableUpDownCounter, SyncInstrument, UpDownCounter,
};
use opentelemetry::KeyValue;

use crate::tally::{self, Instrument, Kind, Number, Spec};

/// Boundaries of a histogram created without any: the OpenTelemetry SDK's defaults (fit for
/// milliseconds; give seconds-scale boundaries with `with_boundaries`).
const DEFAULT_BOUNDS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// The `Meter` of instrumentation scope `scope`.
pub(crate) fn meter(scope: Cow<'static, str>) -> Meter {
    Meter::new(Arc::new(Provider { scope }))
}

/// Creates instruments of one scope.
struct Provider {
    scope: Cow<'static, str>,
}

/// A synchronous instrument: the tally instrument it writes into.
struct Sync(Arc<Instrument>);

impl SyncInstrument<u64> for Sync {
    #[inline]
    fn measure(&self, measurement: u64, attributes: &[KeyValue]) {
        match self.0.kind {
            Kind::Histogram => self.0.observe(measurement as f64, attributes),
            Kind::Gauge => self.0.set(measurement as f64, attributes),
            Kind::Counter | Kind::UpDownCounter => self.0.add_int(measurement, attributes),
        }
    }
}

impl SyncInstrument<i64> for Sync {
    #[inline]
    fn measure(&self, measurement: i64, attributes: &[KeyValue]) {
        match self.0.kind {
            Kind::Gauge => self.0.set(measurement as f64, attributes),
            Kind::Histogram => self.0.observe(measurement as f64, attributes),
            // Two's complement: the sum read back as `i64` is exact.
            Kind::Counter | Kind::UpDownCounter => self.0.add_int(measurement as u64, attributes),
        }
    }
}

impl SyncInstrument<f64> for Sync {
    #[inline]
    fn measure(&self, measurement: f64, attributes: &[KeyValue]) {
        match self.0.kind {
            Kind::Histogram => self.0.observe(measurement, attributes),
            Kind::Gauge => self.0.set(measurement, attributes),
            Kind::Counter => {
                // A counter only goes up (the API's contract; the SDK drops these too).
                if measurement >= 0.0 {
                    self.0.add_float(measurement, attributes)
                }
            }
            Kind::UpDownCounter => self.0.add_float(measurement, attributes),
        }
    }
}

/// What an observable instrument's callback writes into.
struct Observer(Arc<Instrument>);

impl<T: Into<Observed>> AsyncInstrument<T> for Observer {
    fn observe(&self, measurement: T, attributes: &[KeyValue]) {
        self.0.set(measurement.into().0, attributes);
    }
}

/// A number an observation can be.
struct Observed(f64);

impl From<u64> for Observed {
    fn from(n: u64) -> Self {
        Observed(n as f64)
    }
}

impl From<i64> for Observed {
    fn from(n: i64) -> Self {
        Observed(n as f64)
    }
}

impl From<f64> for Observed {
    fn from(x: f64) -> Self {
        Observed(x)
    }
}

/// What an instrument builder gave: name, description, unit.
struct Named {
    name: Cow<'static, str>,
    description: Option<Cow<'static, str>>,
    unit: Option<Cow<'static, str>>,
}

impl Provider {
    fn instrument(
        &self,
        named: Named,
        kind: Kind,
        number: Number,
        bounds: Vec<f64>,
        observable: bool,
    ) -> Arc<Instrument> {
        tally::register(Spec {
            scope: self.scope.clone(),
            name: named.name,
            unit: named.unit.unwrap_or_default(),
            description: named.description.unwrap_or_default(),
            kind,
            number,
            bounds,
            observable,
            ticks: false,
        })
    }

    fn sync<T>(&self, b: InstrumentBuilder<'_, T>, kind: Kind, number: Number) -> Arc<Sync> {
        let named = Named {
            name: b.name,
            description: b.description,
            unit: b.unit,
        };
        Arc::new(Sync(self.instrument(
            named,
            kind,
            number,
            Vec::new(),
            false,
        )))
    }

    fn observable<I, M>(&self, b: AsyncInstrumentBuilder<'_, I, M>, kind: Kind, number: Number)
    where
        M: 'static,
        Observer: AsyncInstrument<M>,
    {
        let named = Named {
            name: b.name,
            description: b.description,
            unit: b.unit,
        };
        let observer = Observer(self.instrument(named, kind, number, Vec::new(), true));
        let callbacks = b.callbacks;
        tally::on_collect(Box::new(move || {
            for callback in &callbacks {
                callback(&observer);
            }
        }));
    }
}

impl InstrumentProvider for Provider {
    fn u64_counter(&self, b: InstrumentBuilder<'_, Counter<u64>>) -> Counter<u64> {
        Counter::new(self.sync(b, Kind::Counter, Number::U64))
    }

    fn f64_counter(&self, b: InstrumentBuilder<'_, Counter<f64>>) -> Counter<f64> {
        Counter::new(self.sync(b, Kind::Counter, Number::F64))
    }

    fn u64_observable_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableCounter<u64>, u64>,
    ) -> ObservableCounter<u64> {
        self.observable(b, Kind::Counter, Number::U64);
        ObservableCounter::new()
    }

    fn f64_observable_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableCounter<f64>, f64>,
    ) -> ObservableCounter<f64> {
        self.observable(b, Kind::Counter, Number::F64);
        ObservableCounter::new()
    }

    fn i64_up_down_counter(
        &self,
        b: InstrumentBuilder<'_, UpDownCounter<i64>>,
    ) -> UpDownCounter<i64> {
        UpDownCounter::new(self.sync(b, Kind::UpDownCounter, Number::I64))
    }

    fn f64_up_down_counter(
        &self,
        b: InstrumentBuilder<'_, UpDownCounter<f64>>,
    ) -> UpDownCounter<f64> {
        UpDownCounter::new(self.sync(b, Kind::UpDownCounter, Number::F64))
    }

    fn i64_observable_up_down_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableUpDownCounter<i64>, i64>,
    ) -> ObservableUpDownCounter<i64> {
        self.observable(b, Kind::UpDownCounter, Number::I64);
        ObservableUpDownCounter::new()
    }

    fn f64_observable_up_down_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableUpDownCounter<f64>, f64>,
    ) -> ObservableUpDownCounter<f64> {
        self.observable(b, Kind::UpDownCounter, Number::F64);
        ObservableUpDownCounter::new()
    }

    fn u64_gauge(&self, b: InstrumentBuilder<'_, Gauge<u64>>) -> Gauge<u64> {
        Gauge::new(self.sync(b, Kind::Gauge, Number::U64))
    }

    fn f64_gauge(&self, b: InstrumentBuilder<'_, Gauge<f64>>) -> Gauge<f64> {
        Gauge::new(self.sync(b, Kind::Gauge, Number::F64))
    }

    fn i64_gauge(&self, b: InstrumentBuilder<'_, Gauge<i64>>) -> Gauge<i64> {
        Gauge::new(self.sync(b, Kind::Gauge, Number::I64))
    }

    fn u64_observable_gauge(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableGauge<u64>, u64>,
    ) -> ObservableGauge<u64> {
        self.observable(b, Kind::Gauge, Number::U64);
        ObservableGauge::new()
    }

    fn i64_observable_gauge(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableGauge<i64>, i64>,
    ) -> ObservableGauge<i64> {
        self.observable(b, Kind::Gauge, Number::I64);
        ObservableGauge::new()
    }

    fn f64_observable_gauge(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableGauge<f64>, f64>,
    ) -> ObservableGauge<f64> {
        self.observable(b, Kind::Gauge, Number::F64);
        ObservableGauge::new()
    }

    fn f64_histogram(&self, b: HistogramBuilder<'_, Histogram<f64>>) -> Histogram<f64> {
        Histogram::new(self.histogram(b, Number::F64))
    }

    fn u64_histogram(&self, b: HistogramBuilder<'_, Histogram<u64>>) -> Histogram<u64> {
        Histogram::new(self.histogram(b, Number::U64))
    }
}

impl Provider {
    fn histogram<T>(&self, b: HistogramBuilder<'_, T>, number: Number) -> Arc<Sync> {
        let bounds = b.boundaries.unwrap_or_else(|| DEFAULT_BOUNDS.to_vec());
        let named = Named {
            name: b.name,
            description: b.description,
            unit: b.unit,
        };
        Arc::new(Sync(self.instrument(
            named,
            Kind::Histogram,
            number,
            bounds,
            false,
        )))
    }
}
