use super::*;

fn spec(name: &str, kind: Kind, number: Number, bounds: &[f64]) -> Spec {
    Spec {
        scope: "tally-tests".into(),
        name: name.to_owned().into(),
        unit: "1".into(),
        description: "".into(),
        kind,
        number,
        bounds: bounds.to_vec(),
        observable: false,
        ticks: false,
    }
}

fn points(instrument: &Arc<Instrument>) -> Vec<Point> {
    collect()
        .into_iter()
        .find(|m| Arc::ptr_eq(&m.instrument, instrument))
        .map(|m| m.points)
        .unwrap_or_default()
}

fn value_of(points: &[Point], attrs: &[KeyValue]) -> Option<Value> {
    points
        .iter()
        .find(|p| same_attributes(&p.attributes, attrs))
        .map(|p| p.value.clone())
}

#[test]
fn sums_from_many_threads_add_up_including_threads_that_ended() {
    let counter = register(spec("t.sum", Kind::Counter, Number::U64, &[]));
    let attrs = [KeyValue::new("tool", "search")];
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    counter.add_int(1, &attrs);
                }
            });
        }
    });
    // The four threads have ended: their shards are folded on this collection.
    assert_eq!(
        value_of(&points(&counter), &attrs),
        Some(Value::Int(40_000))
    );
    counter.add_int(2, &attrs);
    assert_eq!(
        value_of(&points(&counter), &attrs),
        Some(Value::Int(40_002))
    );
}

#[test]
fn the_same_spec_is_the_same_instrument() {
    let a = register(spec("t.same", Kind::Counter, Number::F64, &[]));
    let b = register(spec("t.same", Kind::Counter, Number::F64, &[]));
    assert!(Arc::ptr_eq(&a, &b));
    a.add_float(1.5, &[]);
    b.add_float(2.0, &[]);
    assert_eq!(value_of(&points(&a), &[]), Some(Value::Float(3.5)));
}

#[test]
fn an_up_down_counter_goes_below_zero() {
    let c = register(spec("t.updown", Kind::UpDownCounter, Number::I64, &[]));
    c.add_int(3, &[]);
    c.add_int((-5i64) as u64, &[]);
    assert_eq!(value_of(&points(&c), &[]), Some(Value::Int((-2i64) as u64)));
}

#[test]
fn a_histogram_merges_threads_bucket_by_bucket() {
    let h = register(spec("t.hist", Kind::Histogram, Number::F64, &[1.0, 10.0]));
    let attrs = [KeyValue::new("k", "v")];
    std::thread::scope(|s| {
        s.spawn(|| h.observe(0.5, &attrs));
        s.spawn(|| h.observe(5.0, &attrs));
    });
    h.observe(50.0, &attrs);
    h.observe(f64::NAN, &attrs);
    let Some(Value::Histogram(v)) = value_of(&points(&h), &attrs) else {
        panic!("no histogram point");
    };
    assert_eq!(v.count, 3);
    assert_eq!(v.sum, 55.5);
    assert_eq!((v.min, v.max), (0.5, 50.0));
    assert_eq!(v.buckets, [1, 1, 1]);
}

#[test]
fn a_gauge_keeps_the_latest_value_across_threads() {
    let g = register(spec("t.gauge", Kind::Gauge, Number::F64, &[]));
    std::thread::scope(|s| {
        s.spawn(|| g.set(1.0, &[]));
    });
    g.set(7.0, &[]);
    assert_eq!(value_of(&points(&g), &[]), Some(Value::Float(7.0)));
}

#[test]
fn attribute_sets_past_the_limit_go_to_the_overflow_series() {
    let c = register_limited(spec("t.overflow", Kind::Counter, Number::U64, &[]), 5);
    for i in 0..10i64 {
        c.add_int(1, &[KeyValue::new("model", i)]);
    }
    let points = points(&c);
    assert_eq!(points.len(), 5);
    assert_eq!(
        value_of(&points, &[KeyValue::new(series::OVERFLOW_KEY, true)]),
        Some(Value::Int(6))
    );
    assert_eq!(c.overflowed.load(Ordering::Relaxed), 6);
}

#[test]
fn a_duration_histogram_of_ticks_reads_back_in_seconds() {
    let mut s = spec("t.ticks", Kind::Histogram, Number::F64, &[0.001, 0.01]);
    s.ticks = true;
    s.unit = "s".into();
    let h = register(s);
    let series = h.series_of(&[]);
    let ms = |n: f64| crate::clock::ticks_of_nanos(n * 1e6);
    std::thread::scope(|s| {
        s.spawn(|| h.observe_ticks(series, ms(5.0)));
    });
    h.observe_ticks(series, ms(0.5));
    h.observe_ticks(series, ms(20.0));
    let Some(Value::Histogram(v)) = value_of(&points(&h), &[]) else {
        panic!("no histogram point");
    };
    assert_eq!(v.count, 3);
    assert_eq!(v.buckets, [1, 1, 1]);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert!(close(v.min, 0.0005), "min {}", v.min);
    assert!(close(v.max, 0.020), "max {}", v.max);
    assert!(close(v.sum, 0.0255), "sum {}", v.sum);
}
