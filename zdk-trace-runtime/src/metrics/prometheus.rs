//! The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 text, from a collection:
//! names, units and suffixes translated as the OpenTelemetry "Prometheus and OpenMetrics
//! compatibility" specification says (`gen_ai.client.operation.duration` in seconds becomes
//! `gen_ai_client_operation_duration_seconds`, a counter gets `_total`, a `{token}` unit
//! annotation adds nothing), attribute keys made label names, and the resource as
//! `target_info`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use opentelemetry::{KeyValue, Value as AttrValue};

use crate::tally::{Kind, Metric, Number, Value};

/// Which text format a scrape asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it is named, else text.
    pub(crate) fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    /// The response's `Content-Type`.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A metric name or label name made of `[a-zA-Z0-9_:]`, not starting with a digit, with no
/// run of underscores (labels: no `:` either).
fn sanitize(name: &str, colons: bool) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    for c in name.chars() {
        let ok = c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':');
        let c = if ok { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// The Prometheus unit word of a UCUM unit (`s` → `seconds`), `None` for none or an
/// annotation alone (`{token}`).
fn unit_word(unit: &str) -> Option<String> {
    // Annotations in braces say what is counted, not a unit.
    let mut bare = String::new();
    let mut depth = 0;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth == 0 => bare.push(c),
            _ => {}
        }
    }
    let bare = bare.trim();
    if bare.is_empty() {
        return None;
    }
    let word = |u: &str| -> String {
        match u {
            "d" => "days".into(),
            "h" => "hours".into(),
            "min" => "minutes".into(),
            "s" => "seconds".into(),
            "ms" => "milliseconds".into(),
            "us" => "microseconds".into(),
            "ns" => "nanoseconds".into(),
            "By" => "bytes".into(),
            "KiBy" => "kibibytes".into(),
            "MiBy" => "mebibytes".into(),
            "GiBy" => "gibibytes".into(),
            "KBy" => "kilobytes".into(),
            "MBy" => "megabytes".into(),
            "GBy" => "gigabytes".into(),
            "%" => "percent".into(),
            "1" => "ratio".into(),
            other => sanitize(other, false),
        }
    };
    Some(match bare.split_once('/') {
        Some((per, over)) => format!("{}_per_{}", word(per), word(over)),
        None => word(bare),
    })
}

/// The Prometheus name of an instrument's family (without `_total`, `_bucket`...).
fn family_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut out = sanitize(name, true);
    // "1" becomes `_ratio` only for gauges; a counter of `1` is a plain count.
    let unit = match unit_word(unit) {
        Some(u) if u == "ratio" && kind != Kind::Gauge => None,
        other => other,
    };
    if let Some(unit) = unit {
        if !out.ends_with(&format!("_{unit}")) {
            out.push('_');
            out.push_str(&unit);
        }
    }
    if kind == Kind::Counter {
        if let Some(stripped) = out.strip_suffix("_total") {
            out.truncate(stripped.len());
        }
    }
    out
}

fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn attr_text(v: &AttrValue) -> String {
    match v {
        AttrValue::String(s) => s.as_str().to_owned(),
        other => other.to_string(),
    }
}

/// `{k="v",...}` of `attributes` (keys sanitized; two keys that sanitize alike are joined with
/// `;`, as the specification says), plus `extra` labels.
fn labels(attributes: &[KeyValue], extra: &[(&str, &str)]) -> String {
    let mut merged: BTreeMap<String, String> = BTreeMap::new();
    for kv in attributes {
        let key = sanitize(kv.key.as_str(), false);
        let value = attr_text(&kv.value);
        merged
            .entry(key)
            .and_modify(|v| {
                v.push(';');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let mut out = String::new();
    for (k, v) in extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain(merged)
    {
        out.push(if out.is_empty() { '{' } else { ',' });
        out.push_str(&k);
        out.push_str("=\"");
        escape_label_value(&mut out, &v);
        out.push('"');
    }
    if !out.is_empty() {
        out.push('}');
    }
    out
}

/// A sample value as Prometheus writes numbers.
fn number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x == f64::INFINITY {
        "+Inf".into()
    } else if x == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{x}")
    }
}

fn int_value(number_type: Number, kind: Kind, bits: u64) -> String {
    match (number_type, kind) {
        (Number::I64, _) | (_, Kind::UpDownCounter) => (bits as i64).to_string(),
        _ => bits.to_string(),
    }
}

/// The whole scrape: `target_info` with the resource, then every metric.
pub(crate) fn encode(metrics: &[Metric], resource: &[KeyValue], format: Format) -> String {
    let mut out = String::new();
    if !resource.is_empty() {
        let _ = match format {
            Format::Text => writeln!(
                out,
                "# HELP target_info Target metadata\n# TYPE target_info gauge"
            ),
            Format::OpenMetrics => {
                writeln!(out, "# TYPE target info\n# HELP target Target metadata")
            }
        };
        let _ = writeln!(out, "target_info{} 1", labels(resource, &[]));
    }
    // Families by name: instruments of several scopes with one name share a family.
    let mut families: BTreeMap<String, Vec<&Metric>> = BTreeMap::new();
    for m in metrics {
        let i = &m.instrument;
        families
            .entry(family_name(&i.name, &i.unit, i.kind))
            .or_default()
            .push(m);
    }
    for (family, members) in families {
        let Some(first) = members.first() else {
            continue;
        };
        let i = &first.instrument;
        let type_name = match (i.kind, format) {
            (Kind::Counter, _) => "counter",
            (Kind::Histogram, _) => "histogram",
            (Kind::UpDownCounter | Kind::Gauge, _) => "gauge",
        };
        if !i.description.is_empty() {
            out.push_str("# HELP ");
            out.push_str(&family);
            out.push(' ');
            escape_help(&mut out, &i.description);
            out.push('\n');
        }
        let _ = writeln!(out, "# TYPE {family} {type_name}");
        if format == Format::OpenMetrics {
            if let Some(unit) = unit_word(&i.unit).filter(|u| family.ends_with(&format!("_{u}"))) {
                let _ = writeln!(out, "# UNIT {family} {unit}");
            }
        }
        for m in members {
            let i = &m.instrument;
            let scope = [("otel_scope_name", &*i.scope)];
            for p in &m.points {
                match &p.value {
                    Value::Int(_) | Value::Float(_) => {
                        let text = match &p.value {
                            Value::Int(bits) => int_value(i.number, i.kind, *bits),
                            Value::Float(x) => number(*x),
                            Value::Histogram(_) => continue,
                        };
                        let suffix = if i.kind == Kind::Counter {
                            "_total"
                        } else {
                            ""
                        };
                        let l = labels(&p.attributes, &scope);
                        let _ = writeln!(out, "{family}{suffix}{l} {text}");
                    }
                    Value::Histogram(h) => {
                        let mut cumulative = 0u64;
                        for (k, n) in h.buckets.iter().enumerate() {
                            cumulative += n;
                            let le = i
                                .bounds
                                .get(k)
                                .map_or_else(|| "+Inf".to_owned(), |b| number(*b));
                            let mut extra: Vec<(&str, &str)> = scope.to_vec();
                            extra.push(("le", &le));
                            let _ = write!(
                                out,
                                "{family}_bucket{} {cumulative}",
                                labels(&p.attributes, &extra)
                            );
                            // OpenMetrics only: the latest sampled-in call of this bucket.
                            if format == Format::OpenMetrics {
                                if let Some((_, e)) = p.exemplars.iter().find(|(b, _)| *b == k) {
                                    let _ = write!(
                                        out,
                                        " # {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} {} {}.{:09}",
                                        e.trace_id,
                                        e.span_id,
                                        number(e.value),
                                        e.unix_nanos / 1_000_000_000,
                                        e.unix_nanos % 1_000_000_000
                                    );
                                }
                            }
                            out.push('\n');
                        }
                        let l = labels(&p.attributes, &scope);
                        let _ = writeln!(out, "{family}_sum{l} {}", number(h.sum));
                        let _ = writeln!(out, "{family}_count{l} {}", h.count);
                    }
                }
            }
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_compatibility_specification() {
        assert_eq!(
            family_name("gen_ai.client.operation.duration", "s", Kind::Histogram),
            "gen_ai_client_operation_duration_seconds"
        );
        assert_eq!(
            family_name("gen_ai.client.token.usage", "{token}", Kind::Histogram),
            "gen_ai_client_token_usage"
        );
        assert_eq!(family_name("requests", "1", Kind::Counter), "requests");
        assert_eq!(family_name("requests.total", "", Kind::Counter), "requests");
        assert_eq!(
            family_name("cpu.utilization", "1", Kind::Gauge),
            "cpu_utilization_ratio"
        );
        assert_eq!(
            family_name("memory.usage", "By", Kind::Gauge),
            "memory_usage_bytes"
        );
        assert_eq!(
            family_name("speed", "m/s", Kind::Gauge),
            "speed_m_per_seconds"
        );
        assert_eq!(family_name("9lives..x", "", Kind::Gauge), "_9lives_x");
    }

    #[test]
    fn label_values_are_escaped_and_keys_sanitized() {
        let l = labels(
            &[KeyValue::new("gen_ai.request.model", "a\"b\\c\nd")],
            &[("otel_scope_name", "s")],
        );
        assert_eq!(
            l,
            r#"{otel_scope_name="s",gen_ai_request_model="a\"b\\c\nd"}"#
        );
    }
}
