//! OTLP metrics push, over gRPC and HTTP/protobuf, into receivers that decode the real
//! `ExportMetricsServiceRequest` bytes.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Metric,
};
use zdk_trace_runtime::{tool_call, Config, KeyValue, Sampler};
use zdk_trace_tests::harness::Harness;
use zdk_trace_tests::MetricsReceiver;

// Metrics are process-wide and cumulative: each test calls its own tool.
#[tool_call(name = "grpc_tool")]
fn grpc_tool() {}

#[tool_call(name = "http_tool")]
fn http_tool() {}

#[tool_call(name = "unreachable_tool")]
fn unreachable_tool() {}

/// The metric `name` of the last request that has it.
fn last_metric(requests: &[ExportMetricsServiceRequest], name: &str) -> Option<Metric> {
    requests.iter().rev().find_map(|r| {
        r.resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .find(|m| m.name == name)
            .cloned()
    })
}

fn attr(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        }
    })
}

fn push_and_check(receiver: &MetricsReceiver, protocol: &str, tool: (&str, fn())) {
    let config = Config::from_toml_str(&format!(
        "[telemetry.metrics.otlp]\nendpoint = \"{}\"\nprotocol = \"{protocol}\"\n\
         interval_seconds = 0.2\n",
        receiver.endpoint()
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::install(move |b| b.config(config).sampler(Sampler::AlwaysOff));
    let meter = h.telemetry.meter("push_test");
    let jobs = meter.u64_counter("jobs.done").with_unit("{job}").build();
    for _ in 0..7 {
        (tool.1)();
        jobs.add(2, &[KeyValue::new("queue", protocol.to_owned())]);
    }
    // At least one periodic push while running.
    let periodic = receiver.wait_for_requests(1, Duration::from_secs(10));
    assert!(!periodic.is_empty(), "no push within 10 s over {protocol}");
    h.telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    let requests = receiver.requests();
    let last = &requests[requests.len() - 1];
    let resource = last.resource_metrics[0]
        .resource
        .as_ref()
        .unwrap_or_else(|| panic!("no resource"));
    assert_eq!(
        attr(&resource.attributes, "service.name").as_deref(),
        Some("test")
    );

    let duration = last_metric(&requests, "gen_ai.execute_tool.duration")
        .unwrap_or_else(|| panic!("no tool duration in {requests:?}"));
    assert_eq!(duration.unit, "s");
    let Some(metric::Data::Histogram(hist)) = duration.data else {
        panic!("not a histogram: {duration:?}");
    };
    assert_eq!(
        hist.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let point = hist
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "gen_ai.tool.name").as_deref() == Some(tool.0))
        .unwrap_or_else(|| panic!("no {} point", tool.0));
    // Sampled out, and still every call.
    assert_eq!(point.count, 7);
    assert_eq!(point.bucket_counts.iter().sum::<u64>(), 7);
    assert_eq!(point.explicit_bounds.first(), Some(&0.01));
    assert!(point.start_time_unix_nano > 0 && point.time_unix_nano >= point.start_time_unix_nano);

    let jobs = last_metric(&requests, "jobs.done").unwrap_or_else(|| panic!("no jobs.done"));
    let Some(metric::Data::Sum(sum)) = jobs.data else {
        panic!("not a sum: {jobs:?}");
    };
    assert!(sum.is_monotonic);
    let point = sum
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "queue").as_deref() == Some(protocol))
        .unwrap_or_else(|| panic!("no point for queue {protocol}"));
    assert_eq!(point.value, Some(number_data_point::Value::AsInt(14)));
}

#[test]
fn metrics_are_pushed_over_grpc() {
    let receiver = MetricsReceiver::grpc();
    push_and_check(&receiver, "grpc", ("grpc_tool", grpc_tool));
}

#[test]
fn metrics_are_pushed_over_http() {
    let receiver = MetricsReceiver::http();
    push_and_check(&receiver, "http/protobuf", ("http_tool", http_tool));
}

#[tool_call(name = "delta_tool")]
fn delta_tool() {}

#[test]
fn delta_temporality_sends_what_changed_since_the_last_push() {
    let receiver = MetricsReceiver::http();
    let h = Harness::install(|b| {
        b.env_vars([
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", receiver.endpoint()),
            (
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                "http/protobuf".into(),
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL", "100".into()),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "delta".into(),
            ),
        ])
    });
    for _ in 0..3 {
        delta_tool();
    }
    let before = receiver.wait_for_requests(1, Duration::from_secs(10)).len();
    // A push after the three calls; then two more calls.
    receiver.wait_for_requests(before + 1, Duration::from_secs(10));
    delta_tool();
    delta_tool();
    h.telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    let counts: Vec<u64> = receiver
        .requests()
        .iter()
        .filter_map(|r| {
            let m = last_metric(std::slice::from_ref(r), "gen_ai.execute_tool.duration")?;
            let Some(metric::Data::Histogram(hist)) = m.data else {
                return None;
            };
            assert_eq!(
                hist.aggregation_temporality,
                AggregationTemporality::Delta as i32
            );
            hist.data_points
                .iter()
                .find(|p| attr(&p.attributes, "gen_ai.tool.name").as_deref() == Some("delta_tool"))
                .map(|p| p.count)
        })
        .collect();
    // Each push says what changed: the sum is every call, no push repeats one.
    assert_eq!(counts.iter().sum::<u64>(), 5, "{counts:?}");
    assert!(counts.len() >= 2, "{counts:?}");
}

#[test]
fn an_unreachable_collector_is_counted_and_the_app_goes_on() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let config = Config::from_toml_str(&format!(
        "[telemetry.metrics.otlp]\nendpoint = \"http://127.0.0.1:{port}/v1/metrics\"\n\
         protocol = \"http/protobuf\"\ninterval_seconds = 0.1\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let h = Harness::install(move |b| b.config(config));
    unreachable_tool();
    std::thread::sleep(Duration::from_millis(500));
    let _ = h.telemetry.shutdown();
    assert!(h.telemetry.stats().metrics_push_errors >= 1);
}
