//! OTLP endpoint URLs: validation, defaults, and the `/v1/traces` rules for HTTP.

use super::settings::OtlpProtocol;
use super::values::Endpoint;

/// What an endpoint must look like, for errors.
pub(crate) const EXPECTED_URL: &str =
    "an `http://` or `https://` URL with a host, e.g. `http://localhost:4318`";

/// Default gRPC endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` for `grpc`).
pub(crate) const GRPC_ENDPOINT_DEFAULT: &str = "http://localhost:4317";
/// Default HTTP/protobuf traces URL.
pub(crate) const HTTP_ENDPOINT_DEFAULT: &str = "http://localhost:4318/v1/traces";

/// The path OTLP/HTTP serves traces on.
const TRACES_PATH: &str = "/v1/traces";

/// Whether `url` is an `http(s)://` URL with a host and no whitespace.
pub(crate) fn is_valid_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty() && !url.chars().any(char::is_whitespace)
}

/// The URL the exporter uses for `endpoint` (or the default) over `protocol`.
pub(crate) fn traces_url(endpoint: Option<&Endpoint>, protocol: OtlpProtocol) -> String {
    match (endpoint, protocol) {
        (None, OtlpProtocol::Grpc) => GRPC_ENDPOINT_DEFAULT.to_owned(),
        (None, OtlpProtocol::HttpProtobuf) => HTTP_ENDPOINT_DEFAULT.to_owned(),
        (Some(endpoint), OtlpProtocol::Grpc) => endpoint.url().to_owned(),
        (Some(Endpoint::Traces(url)), OtlpProtocol::HttpProtobuf) => url.clone(),
        (Some(Endpoint::Base(url)), OtlpProtocol::HttpProtobuf) => append_traces_path(url),
        (Some(Endpoint::Url(url)), OtlpProtocol::HttpProtobuf) => {
            let (before_query, _) = split_query(url);
            if matches!(path_of(before_query), "" | "/") {
                append_traces_path(url)
            } else {
                url.clone()
            }
        }
    }
}

/// `base` + `/v1/traces`, with one `/` between them and any query kept at the end.
pub(crate) fn append_traces_path(base: &str) -> String {
    let (before_query, query) = split_query(base);
    format!("{}{TRACES_PATH}{query}", before_query.trim_end_matches('/'))
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

        let traces = traces_url(Some(&Endpoint::Traces("http://c/x".to_owned())), http);
        assert_eq!(traces, "http://c/x");
        assert_eq!(traces_url(None, http), HTTP_ENDPOINT_DEFAULT);
    }

    #[test]
    fn grpc_uses_endpoints_as_given() {
        let grpc = OtlpProtocol::Grpc;
        let base = Endpoint::Base("http://c:4317".to_owned());
        assert_eq!(traces_url(Some(&base), grpc), "http://c:4317");
        assert_eq!(traces_url(None, grpc), GRPC_ENDPOINT_DEFAULT);
    }
}
