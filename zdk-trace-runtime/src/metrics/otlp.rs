//! OTLP metrics push: every interval (and once more at shutdown) a collection is encoded as an
//! `ExportMetricsServiceRequest` (opentelemetry-proto's messages) and sent with the same gRPC
//! or HTTP/protobuf transports as traces, cumulative or delta as configured.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use opentelemetry::{KeyValue, Value as AttrValue};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue as ProtoKeyValue,
};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric as ProtoMetric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;

use crate::config::Temporality;
use crate::export::OtlpSender;
use crate::tally::{self, HistogramValue, Kind, Metric, Number, Value};
use crate::warn::warn_once;

fn any_value(v: &AttrValue) -> AnyValue {
    let value = match v {
        AttrValue::Bool(b) => any_value::Value::BoolValue(*b),
        AttrValue::I64(n) => any_value::Value::IntValue(*n),
        AttrValue::F64(x) => any_value::Value::DoubleValue(*x),
        AttrValue::String(s) => any_value::Value::StringValue(s.as_str().to_owned()),
        other => any_value::Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(any_value::Value::StringValue(other.to_string())),
            }],
        }),
    };
    AnyValue { value: Some(value) }
}

fn attributes(kvs: &[KeyValue]) -> Vec<ProtoKeyValue> {
    kvs.iter()
        .map(|kv| ProtoKeyValue {
            key: kv.key.as_str().to_owned(),
            value: Some(any_value(&kv.value)),
            ..Default::default()
        })
        .collect()
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// What the previous push sent, per instrument and series (for delta temporality).
type Previous = HashMap<(usize, Vec<String>), Value>;

fn series_key(instrument: usize, attrs: &[KeyValue]) -> (usize, Vec<String>) {
    (
        instrument,
        attrs
            .iter()
            .map(|kv| format!("{}={}", kv.key.as_str(), kv.value))
            .collect(),
    )
}

/// `now − before`, for a delta push (`None`: nothing new).
fn delta(now: &Value, before: Option<&Value>) -> Option<Value> {
    match (now, before) {
        (v, None) => Some(v.clone()),
        (Value::Int(a), Some(Value::Int(b))) => (a != b).then(|| Value::Int(a.wrapping_sub(*b))),
        (Value::Float(a), Some(Value::Float(b))) => (a != b).then(|| Value::Float(a - b)),
        (Value::Histogram(a), Some(Value::Histogram(b))) => (a.count != b.count).then(|| {
            Value::Histogram(HistogramValue {
                count: a.count - b.count,
                sum: a.sum - b.sum,
                // Not known for the interval alone.
                min: f64::NAN,
                max: f64::NAN,
                buckets: a
                    .buckets
                    .iter()
                    .zip(&b.buckets)
                    .map(|(x, y)| x.saturating_sub(*y))
                    .collect(),
            })
        }),
        (v, Some(_)) => Some(v.clone()),
    }
}

/// Encodes one collection. `start`: when counting began (cumulative), or the previous push
/// (delta, where `previous` holds what it sent).
pub(crate) fn encode(
    metrics: &[Metric],
    resource: &[KeyValue],
    temporality: Temporality,
    start: SystemTime,
    now: SystemTime,
    previous: &mut Previous,
) -> ExportMetricsServiceRequest {
    let (start_ns, now_ns) = (nanos(start), nanos(now));
    let mut by_scope: Vec<(String, Vec<ProtoMetric>)> = Vec::new();
    for m in metrics {
        let i = &m.instrument;
        // Gauges are never deltas; up-down counters stay cumulative (as the SDK's "delta"
        // and "lowmemory" preferences say).
        let is_delta = match (temporality, i.kind) {
            (Temporality::Delta, Kind::Counter | Kind::Histogram) => true,
            (Temporality::LowMemory, Kind::Counter | Kind::Histogram) => !i.is_observable(),
            _ => false,
        };
        let temporality_code = if is_delta {
            AggregationTemporality::Delta
        } else {
            AggregationTemporality::Cumulative
        } as i32;
        let mut numbers = Vec::new();
        let mut histograms = Vec::new();
        for p in &m.points {
            // Instruments live as long as the process: the address identifies one.
            let key = series_key(Arc::as_ptr(&m.instrument) as usize, &p.attributes);
            let value = if is_delta {
                let d = delta(&p.value, previous.get(&key));
                previous.insert(key, p.value.clone());
                match d {
                    Some(d) => d,
                    None => continue,
                }
            } else {
                p.value.clone()
            };
            let attrs = attributes(&p.attributes);
            match value {
                Value::Int(bits) => numbers.push(NumberDataPoint {
                    attributes: attrs,
                    start_time_unix_nano: start_ns,
                    time_unix_nano: now_ns,
                    value: Some(match i.number {
                        Number::U64 | Number::I64 => number_data_point::Value::AsInt(bits as i64),
                        Number::F64 => number_data_point::Value::AsDouble(bits as f64),
                    }),
                    ..Default::default()
                }),
                Value::Float(x) => numbers.push(NumberDataPoint {
                    attributes: attrs,
                    start_time_unix_nano: start_ns,
                    time_unix_nano: now_ns,
                    value: Some(match i.number {
                        Number::F64 => number_data_point::Value::AsDouble(x),
                        Number::U64 | Number::I64 => number_data_point::Value::AsInt(x as i64),
                    }),
                    ..Default::default()
                }),
                Value::Histogram(h) => histograms.push(HistogramDataPoint {
                    attributes: attrs,
                    start_time_unix_nano: start_ns,
                    time_unix_nano: now_ns,
                    count: h.count,
                    sum: Some(h.sum),
                    bucket_counts: h.buckets.clone(),
                    explicit_bounds: i.bounds.to_vec(),
                    min: h.min.is_finite().then_some(h.min),
                    max: h.max.is_finite().then_some(h.max),
                    ..Default::default()
                }),
            }
        }
        let data = match i.kind {
            Kind::Histogram if !histograms.is_empty() => metric::Data::Histogram(Histogram {
                data_points: histograms,
                aggregation_temporality: temporality_code,
            }),
            Kind::Counter | Kind::UpDownCounter if !numbers.is_empty() => metric::Data::Sum(Sum {
                data_points: numbers,
                aggregation_temporality: temporality_code,
                is_monotonic: i.kind == Kind::Counter,
            }),
            Kind::Gauge if !numbers.is_empty() => metric::Data::Gauge(Gauge {
                data_points: numbers,
            }),
            _ => continue,
        };
        let metric = ProtoMetric {
            name: i.name.to_string(),
            description: i.description.to_string(),
            unit: i.unit.to_string(),
            data: Some(data),
            ..Default::default()
        };
        match by_scope.iter_mut().find(|(s, _)| **s == *i.scope) {
            Some((_, list)) => list.push(metric),
            None => by_scope.push((i.scope.to_string(), vec![metric])),
        }
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: attributes(resource),
                ..Default::default()
            }),
            scope_metrics: by_scope
                .into_iter()
                .map(|(name, metrics)| ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name,
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
    }
}

/// The push thread; stopped (after a last push) by [`Pusher::stop`] or on drop.
#[derive(Debug)]
pub(crate) struct Pusher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Pusher {
    /// Starts pushing every `interval` on a thread of its own, sending on `runtime`.
    pub(crate) fn start(
        sender: OtlpSender,
        runtime: tokio::runtime::Runtime,
        interval: Duration,
        temporality: Temporality,
        resource: Vec<KeyValue>,
    ) -> std::io::Result<Pusher> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("zdk-trace-metrics-push".into())
            .spawn(move || {
                let began = SystemTime::now();
                let mut start = began;
                let mut previous = Previous::new();
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(interval),
                        Err(RecvTimeoutError::Timeout)
                    );
                    let now = SystemTime::now();
                    let request = encode(
                        &tally::collect(),
                        &resource,
                        temporality,
                        start,
                        now,
                        &mut previous,
                    );
                    if temporality != Temporality::Cumulative {
                        start = now;
                    }
                    let body = Bytes::from(request.encode_to_vec());
                    // One attempt per push (within the timeout): the next interval is the retry, and a
                    // collector that is down never holds up shutdown for long.
                    if let Err(e) = runtime.block_on(sender.attempt(std::slice::from_ref(&body))) {
                        crate::counters::add(&crate::counters::COUNTERS.metrics_push_errors, 1);
                        warn_once(
                            ("metrics push", sender.name()),
                            &format!(
                                "{} could not push metrics: {e}; check \
                                 `telemetry.metrics.otlp.endpoint`, or set \
                                 `OTEL_METRICS_EXPORTER=none` for a traces-only backend \
                                 (pushes go on at each interval)",
                                sender.name()
                            ),
                        );
                    }
                    if last {
                        return;
                    }
                }
            })?;
        Ok(Pusher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Pushes once more and stops.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        self.stop();
    }
}
