//! OTLP endpoint URLs: validation, defaults, and the `/v1/traces` and `/v1/metrics` rules for
//! HTTP.

use super::settings::OtlpProtocol;
use super::values::Endpoint;

/// What an endpoint must look like, for errors.
pub(crate) const EXPECTED_URL: &str =
    "an `http://` or `https://` URL with a host (and a port from 1 to 65535, if any), without \
     spaces or control characters, at most 2048 characters, e.g. `http://localhost:4318`";

/// Longest endpoint URL: 2048 characters, what browsers, proxies and collectors all accept.
const URL_MAX_CHARS: usize = 2048;

/// Default gRPC endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` for `grpc`).
pub(crate) const GRPC_ENDPOINT_DEFAULT: &str = "http://localhost:4317";
/// Default HTTP/protobuf traces URL.
pub(crate) const HTTP_ENDPOINT_DEFAULT: &str = "http://localhost:4318/v1/traces";
/// Default HTTP/protobuf metrics URL.
pub(crate) const HTTP_METRICS_ENDPOINT_DEFAULT: &str = "http://localhost:4318/v1/metrics";

/// The path OTLP/HTTP serves traces on.
const TRACES_PATH: &str = "/v1/traces";
/// The path OTLP/HTTP serves metrics on.
const METRICS_PATH: &str = "/v1/metrics";

/// Whether `url` is an `http(s)://` URL with a host, a port from 1 to 65535 if it has one, no
/// whitespace or control character, and at most [`URL_MAX_CHARS`] characters.
pub(crate) fn is_valid_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // `user:password@host:port`: the host and port are after the last `@`.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let port = match host_port.rfind([':', ']']) {
        Some(at) if host_port[at..].starts_with(':') => Some(&host_port[at + 1..]),
        _ => None,
    };
    let port_ok = port.is_none_or(|p| {
        p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|p| p > 0)
    });
    let host = port.map_or(host_port, |p| &host_port[..host_port.len() - p.len() - 1]);
    !host.is_empty()
        && port_ok
        && url.chars().count() <= URL_MAX_CHARS
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The byte range of `url`'s explicit port (the digits after `host:`), if it has one.
fn port_span(url: &str) -> Option<std::ops::Range<usize>> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority_end = authority_start + rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &url[authority_start..authority_end];
    // `user:password@host:port`: the host and port are after the last `@`.
    let host_start = authority_start + authority.rfind('@').map_or(0, |at| at + 1);
    let host_port = &url[host_start..authority_end];
    // `[::1]:4317`: a colon inside the brackets is not the port's.
    let colon = host_port
        .rfind([':', ']'])
        .filter(|&at| host_port[at..].starts_with(':'))?;
    Some(host_start + colon + 1..authority_end)
}

/// The explicit port of `url`, if it has one.
pub(crate) fn port_of(url: &str) -> Option<u16> {
    port_span(url).and_then(|span| url[span].parse().ok())
}

/// `scheme://host:port` of `url` with `port` instead of its own (no path: a suggestion for an
/// endpoint on the wrong port). `None` when `url` has no explicit port.
pub(crate) fn base_with_port(url: &str, port: u16) -> Option<String> {
    let span = port_span(url)?;
    Some(format!("{}{port}", &url[..span.start]))
}

/// The port of OTLP over gRPC, which Jaeger and Tempo listen on.
pub(crate) const OTLP_GRPC_PORT: u16 = 4317;
/// The port of OTLP over HTTP, which Jaeger and Tempo listen on.
pub(crate) const OTLP_HTTP_PORT: u16 = 4318;

/// What Jaeger serves on `port`, when it is one of its legacy ports, which do not speak OTLP.
pub(crate) fn jaeger_legacy_port(port: u16) -> Option<&'static str> {
    match port {
        14250 => Some("Jaeger's legacy gRPC port for its own model.proto"),
        14268 => Some("Jaeger's legacy port for Thrift over HTTP"),
        _ => None,
    }
}

/// The URL the exporter uses for `endpoint` (or the default) over `protocol`.
pub(crate) fn traces_url(endpoint: Option<&Endpoint>, protocol: OtlpProtocol) -> String {
    match endpoint {
        Some(endpoint) => signal_url(endpoint, protocol, TRACES_PATH),
        None => match protocol {
            OtlpProtocol::Grpc => GRPC_ENDPOINT_DEFAULT.to_owned(),
            OtlpProtocol::HttpProtobuf => HTTP_ENDPOINT_DEFAULT.to_owned(),
        },
    }
}

/// The URL the metrics exporter pushes to for `endpoint` (or the default) over `protocol`:
/// the rules of [`traces_url`] with `/v1/metrics`.
pub(crate) fn metrics_url(endpoint: Option<&Endpoint>, protocol: OtlpProtocol) -> String {
    match endpoint {
        Some(endpoint) => signal_url(endpoint, protocol, METRICS_PATH),
        None => match protocol {
            OtlpProtocol::Grpc => GRPC_ENDPOINT_DEFAULT.to_owned(),
            OtlpProtocol::HttpProtobuf => HTTP_METRICS_ENDPOINT_DEFAULT.to_owned(),
        },
    }
}

/// The URL for `endpoint` over `protocol`, `path` being the signal's OTLP/HTTP path: gRPC
/// takes every endpoint as given; HTTP appends `path` to a base URL (always) and to a URL from
/// code or a file that has no path, and takes the signal's own variable as given.
fn signal_url(endpoint: &Endpoint, protocol: OtlpProtocol, path: &str) -> String {
    match (endpoint, protocol) {
        (endpoint, OtlpProtocol::Grpc) => endpoint.url().to_owned(),
        (Endpoint::Signal(url), OtlpProtocol::HttpProtobuf) => url.clone(),
        (Endpoint::Base(url), OtlpProtocol::HttpProtobuf) => append_path(url, path),
        (Endpoint::Url(url), OtlpProtocol::HttpProtobuf) => {
            let (before_query, _) = split_query(url);
            if matches!(path_of(before_query), "" | "/") {
                append_path(url, path)
            } else {
                url.clone()
            }
        }
    }
}

/// `base` + `/v1/traces`, with one `/` between them and any query kept at the end.
pub(crate) fn append_traces_path(base: &str) -> String {
    append_path(base, TRACES_PATH)
}

/// `base` + `path`, with one `/` between them and any query kept at the end.
fn append_path(base: &str, path: &str) -> String {
    let (before_query, query) = split_query(base);
    format!("{}{path}{query}", before_query.trim_end_matches('/'))
}

/// Splits off `?query` or `#fragment`.
fn split_query(url: &str) -> (&str, &str) {
    match url.find(['?', '#']) {
        Some(at) => url.split_at(at),
        None => (url, ""),
    }
}

/// The path of a URL without query: everything from the first `/` after `scheme://host`.
fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |at| &url[at + 3..]);
    after_scheme.find('/').map_or("", |at| &after_scheme[at..])
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn validates_urls() {
        assert!(is_valid_url("http://localhost:4317"));
        assert!(is_valid_url("https://api.example.com/otlp"));
        assert!(!is_valid_url("localhost:4317"));
        assert!(!is_valid_url("http://"));
        assert!(!is_valid_url("http:///path"));
        assert!(!is_valid_url("http://a b"));
        assert!(!is_valid_url("ftp://host"));
        assert!(is_valid_url("http://[::1]:4318/v1/traces"));
        assert!(is_valid_url("http://[::1]"));
        assert!(is_valid_url("http://user:pw@host:1/x"));
        assert!(is_valid_url("http://host:65535"));
    }

    #[test]
    fn repro_13_bad_ports_control_characters_and_length() {
        for bad in [
            "http://host:0",
            "http://host:65536",
            "http://host:99999999999999999999",
            "http://host:",
            "http://host:12a",
            "http://:4318",
            "http://host\u{0}:4318",
            "http://host/\u{7f}",
            "http://host/\u{85}",
        ] {
            assert!(!is_valid_url(bad), "{bad:?} accepted");
        }
        let long = format!("http://host/{}", "a".repeat(URL_MAX_CHARS));
        assert!(!is_valid_url(&long));
        let longest = format!(
            "http://host/{}",
            "a".repeat(URL_MAX_CHARS - "http://host/".len())
        );
        assert!(is_valid_url(&longest));
    }

    #[test]
    fn http_url_rules() {
        let http = OtlpProtocol::HttpProtobuf;
        let url = |u: &str| traces_url(Some(&Endpoint::Url(u.to_owned())), http);
        assert_eq!(url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(url("http://c:4318/custom"), "http://c:4318/custom");
        assert_eq!(url("http://c:4318?x=1"), "http://c:4318/v1/traces?x=1");

        let base = |u: &str| traces_url(Some(&Endpoint::Base(u.to_owned())), http);
        assert_eq!(base("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(base("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(base("http://c/otlp/"), "http://c/otlp/v1/traces");

        let traces = traces_url(Some(&Endpoint::Signal("http://c/x".to_owned())), http);
        assert_eq!(traces, "http://c/x");
        assert_eq!(traces_url(None, http), HTTP_ENDPOINT_DEFAULT);
    }

    #[test]
    fn metrics_urls_follow_the_traces_rules_with_their_path() {
        let http = OtlpProtocol::HttpProtobuf;
        let url = |e: Endpoint| metrics_url(Some(&e), http);
        assert_eq!(
            url(Endpoint::Url("http://c:4318".to_owned())),
            "http://c:4318/v1/metrics"
        );
        assert_eq!(
            url(Endpoint::Url("http://c:4318/custom".to_owned())),
            "http://c:4318/custom"
        );
        assert_eq!(
            url(Endpoint::Base("http://c/otlp/?x=1".to_owned())),
            "http://c/otlp/v1/metrics?x=1"
        );
        assert_eq!(url(Endpoint::Signal("http://c/m".to_owned())), "http://c/m");
        assert_eq!(metrics_url(None, http), HTTP_METRICS_ENDPOINT_DEFAULT);
        let grpc = OtlpProtocol::Grpc;
        let base = Endpoint::Base("http://c:4317".to_owned());
        assert_eq!(metrics_url(Some(&base), grpc), "http://c:4317");
        assert_eq!(metrics_url(None, grpc), GRPC_ENDPOINT_DEFAULT);
    }

    #[test]
    fn grpc_uses_endpoints_as_given() {
        let grpc = OtlpProtocol::Grpc;
        let base = Endpoint::Base("http://c:4317".to_owned());
        assert_eq!(traces_url(Some(&base), grpc), "http://c:4317");
        assert_eq!(traces_url(None, grpc), GRPC_ENDPOINT_DEFAULT);
    }
    #[test]
    fn ports_and_suggested_bases() {
        assert_eq!(port_of("http://localhost:14250"), Some(14250));
        assert_eq!(
            port_of("http://user:pw@jaeger:4318/v1/traces?x=1"),
            Some(4318)
        );
        assert_eq!(port_of("http://[::1]:4317"), Some(4317));
        assert_eq!(port_of("http://[::1]"), None);
        assert_eq!(port_of("https://jaeger.example.com/v1/traces"), None);
        assert_eq!(
            base_with_port("http://jaeger:14250/api", OTLP_GRPC_PORT).as_deref(),
            Some("http://jaeger:4317")
        );
        assert_eq!(
            base_with_port("http://[::1]:14250", OTLP_HTTP_PORT).as_deref(),
            Some("http://[::1]:4318")
        );
        assert_eq!(base_with_port("http://jaeger", OTLP_GRPC_PORT), None);
        assert!(jaeger_legacy_port(14250).is_some_and(|what| what.contains("model.proto")));
        assert!(jaeger_legacy_port(14268).is_some());
        assert_eq!(jaeger_legacy_port(4317), None);
    }
}
