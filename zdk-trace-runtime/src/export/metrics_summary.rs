//! The console's metrics summary: per agent, model, tool and workflow, the calls, errors,
//! p50/p95 latency (estimated from the histogram buckets) and, for models, tokens in and out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use opentelemetry::KeyValue;

use crate::tally::genai::{
    AGENT_DURATION, OPERATION_DURATION, SCOPE, TOKEN_USAGE, TOOL_DURATION, WORKFLOW_DURATION,
};
use crate::tally::{HistogramValue, Metric, Value};

fn attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// The `q` quantile of a histogram, interpolated within its bucket (the bucket's upper bound
/// for the last, open one).
pub(crate) fn quantile(h: &HistogramValue, bounds: &[f64], q: f64) -> Option<f64> {
    if h.count == 0 {
        return None;
    }
    let rank = q * h.count as f64;
    let mut seen = 0u64;
    for (k, &n) in h.buckets.iter().enumerate() {
        if n == 0 {
            continue;
        }
        if (seen + n) as f64 >= rank {
            let lower = if k == 0 {
                h.min.max(0.0).min(bounds.first().copied().unwrap_or(0.0))
            } else {
                bounds[k - 1]
            };
            let upper = bounds.get(k).copied().unwrap_or(h.max);
            let within = (rank - seen as f64) / n as f64;
            return Some((lower + (upper - lower) * within).clamp(h.min, h.max));
        }
        seen += n;
    }
    Some(h.max)
}

#[derive(Default)]
struct Row {
    calls: u64,
    errors: u64,
    merged: Option<HistogramValue>,
    tokens_in: u64,
    tokens_out: u64,
}

fn merge(into: &mut Option<HistogramValue>, h: &HistogramValue) {
    match into {
        None => *into = Some(h.clone()),
        Some(m) => {
            m.count += h.count;
            m.sum += h.sum;
            m.min = m.min.min(h.min);
            m.max = m.max.max(h.max);
            for (a, b) in m.buckets.iter_mut().zip(&h.buckets) {
                *a += b;
            }
        }
    }
}

fn seconds(x: f64) -> String {
    if x < 1e-3 {
        format!("{:.0}µs", x * 1e6)
    } else if x < 1.0 {
        format!("{:.1}ms", x * 1e3)
    } else {
        format!("{x:.2}s")
    }
}

/// Whether a summary was printed at shutdown already (by the console span exporter): the
/// console metrics exporter (`OTEL_METRICS_EXPORTER=console`) then does not print it again.
pub(crate) static PRINTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The summary of the built-in GenAI instruments, or `None` when nothing was recorded.
pub(crate) fn summary(metrics: &[Metric]) -> Option<String> {
    // (section, name) → row; the bounds of each section's histogram.
    let mut rows: BTreeMap<(u8, String), Row> = BTreeMap::new();
    let mut bounds: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
    for m in metrics.iter().filter(|m| m.instrument.scope == SCOPE) {
        let (section, key) = match &*m.instrument.name {
            n if n == AGENT_DURATION => (0, "gen_ai.agent.name"),
            n if n == OPERATION_DURATION => (1, "gen_ai.request.model"),
            n if n == TOOL_DURATION => (2, "gen_ai.tool.name"),
            n if n == WORKFLOW_DURATION => (3, "gen_ai.workflow.name"),
            n if n == TOKEN_USAGE => (4, ""),
            _ => continue,
        };
        for p in &m.points {
            let Value::Histogram(h) = &p.value else {
                continue;
            };
            if section == 4 {
                let model = attr(&p.attributes, "gen_ai.request.model")
                    .or_else(|| attr(&p.attributes, "gen_ai.response.model"))
                    .or_else(|| attr(&p.attributes, "gen_ai.operation.name"))
                    .unwrap_or_else(|| "?".into());
                let row = rows.entry((1, model)).or_default();
                match attr(&p.attributes, "gen_ai.token.type").as_deref() {
                    Some("input") => row.tokens_in += h.sum as u64,
                    Some("output") => row.tokens_out += h.sum as u64,
                    _ => {}
                }
                continue;
            }
            bounds.insert(section, m.instrument.bounds.to_vec());
            let name = attr(&p.attributes, key)
                .or_else(|| attr(&p.attributes, "gen_ai.response.model"))
                .or_else(|| attr(&p.attributes, "gen_ai.operation.name"))
                .unwrap_or_else(|| "?".into());
            let row = rows.entry((section, name)).or_default();
            row.calls += h.count;
            if attr(&p.attributes, "error.type").is_some() {
                row.errors += h.count;
            }
            merge(&mut row.merged, h);
        }
    }
    if rows.is_empty() {
        return None;
    }
    let mut out = String::from("metrics (every call, sampled or not):\n");
    let titles = ["agent", "model", "tool", "workflow"];
    for ((section, name), row) in &rows {
        let title = titles.get(usize::from(*section)).copied().unwrap_or("?");
        let _ = write!(
            out,
            "  {title:<8} {name:<28} {:>6} calls {:>4} errors",
            row.calls, row.errors
        );
        if let (Some(h), Some(b)) = (&row.merged, bounds.get(section)) {
            if let (Some(p50), Some(p95)) = (quantile(h, b, 0.5), quantile(h, b, 0.95)) {
                let _ = write!(out, "  p50 {:>8}  p95 {:>8}", seconds(p50), seconds(p95));
            }
        }
        if row.tokens_in + row.tokens_out > 0 {
            let _ = write!(out, "  tokens in {} out {}", row.tokens_in, row.tokens_out);
        }
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_a_bucket_and_stay_within_min_max() {
        let bounds = [1.0, 2.0, 4.0];
        let h = HistogramValue {
            count: 4,
            sum: 7.0,
            min: 1.2,
            max: 3.0,
            buckets: vec![0, 2, 2, 0],
        };
        assert_eq!(quantile(&h, &bounds, 0.5), Some(2.0));
        let p95 = quantile(&h, &bounds, 0.95).unwrap_or(0.0);
        assert!((2.0..=3.0).contains(&p95), "{p95}");
    }
}
