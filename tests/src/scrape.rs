//! Scraping a Prometheus endpoint as Prometheus does (an HTTP GET, optionally asking for
//! OpenMetrics) and reading its samples back.

use std::collections::BTreeMap;
use std::net::SocketAddr;

/// One scrape: the response's content type and body.
#[derive(Debug)]
pub struct Scrape {
    /// `Content-Type` of the response.
    pub content_type: String,
    /// The exposition text.
    pub body: String,
}

/// GETs `http://{addr}{path}`, with `Accept: accept` when given; panics on anything but 200.
pub fn scrape(addr: SocketAddr, path: &str, accept: Option<&str>) -> Scrape {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.get(format!("http://{addr}{path}"));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        let response = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {addr}{path}: {e}"));
        assert_eq!(response.status().as_u16(), 200, "GET {addr}{path}");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("body of {addr}{path}: {e}"));
        Scrape { content_type, body }
    })
}

/// A sample: metric name and labels.
pub type Labels = BTreeMap<String, String>;

/// The samples of an exposition text, as (name, labels, value).
pub fn samples(text: &str) -> Vec<(String, Labels, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some(parts) => parts,
            None => panic!("not a sample line: {line}"),
        };
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|e| panic!("value of `{line}`: {e}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), Labels::new()),
            Some((name, rest)) => (name.to_owned(), parse_labels(rest.trim_end_matches('}'))),
        };
        out.push((name, labels, value));
    }
    out
}

fn parse_labels(text: &str) -> Labels {
    let mut labels = Labels::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once("=\"") else {
            panic!("bad labels: {text}");
        };
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.to_owned(), value);
        rest = after[end..].trim_start_matches(',');
    }
    labels
}

/// The value of the one sample named `name` whose labels include all of `with`; panics
/// when there is none or several.
pub fn value(text: &str, name: &str, with: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = samples(text)
        .into_iter()
        .filter(|(n, labels, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .collect();
    match found[..] {
        [v] => v,
        _ => panic!(
            "{} samples `{name}` with {with:?}, expected one, in:\n{text}",
            found.len()
        ),
    }
}
