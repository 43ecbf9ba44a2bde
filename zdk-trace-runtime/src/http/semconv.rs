//! What the client and the server share: the HTTP semantic-convention names, the method
//! attributes, and the header carriers of W3C propagation over an `http::HeaderMap`.
// With one feature of the two, the other side's names and carrier are unused.
#![cfg_attr(not(all(feature = "reqwest", feature = "tower")), allow(dead_code))]

use std::borrow::Cow;

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::Method;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::KeyValue;

pub(crate) const HTTP_REQUEST_METHOD: &str = "http.request.method";
pub(crate) const HTTP_REQUEST_METHOD_ORIGINAL: &str = "http.request.method_original";
pub(crate) const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
pub(crate) const HTTP_ROUTE: &str = "http.route";
pub(crate) const URL_FULL: &str = "url.full";
pub(crate) const URL_PATH: &str = "url.path";
pub(crate) const URL_SCHEME: &str = "url.scheme";
pub(crate) const SERVER_ADDRESS: &str = "server.address";
pub(crate) const SERVER_PORT: &str = "server.port";
pub(crate) const NETWORK_PROTOCOL_VERSION: &str = "network.protocol.version";
pub(crate) const ERROR_TYPE: &str = "error.type";
/// `error.type` when no better class is known.
pub(crate) const OTHER: &str = "_OTHER";

/// The method as the conventions name it: one of RFC 9110's and PATCH as is, anything else
/// `_OTHER` (the set of methods is open, and a span name or attribute must stay
/// low-cardinality).
pub(crate) fn known_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => return None,
    })
}

/// The span name's method part: the method, or `HTTP` for an unknown one.
pub(crate) fn method_name(method: &Method) -> &'static str {
    known_method(method).unwrap_or("HTTP")
}

/// `http.request.method`, and `http.request.method_original` for an unknown method.
pub(crate) fn method_attributes(method: &Method, attributes: &mut Vec<KeyValue>) {
    match known_method(method) {
        Some(known) => attributes.push(KeyValue::new(HTTP_REQUEST_METHOD, known)),
        None => {
            attributes.push(KeyValue::new(HTTP_REQUEST_METHOD, OTHER));
            attributes.push(KeyValue::new(
                HTTP_REQUEST_METHOD_ORIGINAL,
                method.as_str().to_owned(),
            ));
        }
    }
}

/// A status code as `error.type` (`"404"`): the common codes without an allocation.
pub(crate) fn status_error_type(code: u16) -> Cow<'static, str> {
    Cow::Borrowed(match code {
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        422 => "422",
        429 => "429",
        500 => "500",
        501 => "501",
        502 => "502",
        503 => "503",
        504 => "504",
        _ => return Cow::Owned(code.to_string()),
    })
}

/// Writes propagation headers into an `http::HeaderMap`, replacing any already there (a
/// request carries one `traceparent`). A value that is not a valid header value is left out;
/// the W3C and baggage propagators only write valid ones.
pub(crate) struct HeaderInjector<'a>(pub(crate) &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Reads propagation headers from an `http::HeaderMap`, every line of a header (the
/// `Extractor` of many HTTP libraries sees only a header's first line, and a `tracestate` may
/// come on several). A value that is not visible ASCII is left out.
pub(crate) struct HeaderExtractor<'a>(pub(crate) &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_are_other_with_the_original() {
        let mut attributes = Vec::new();
        let method = Method::from_bytes(b"PURGE").unwrap_or_else(|e| panic!("{e}"));
        method_attributes(&method, &mut attributes);
        assert_eq!(method_name(&method), "HTTP");
        assert_eq!(
            attributes,
            [
                KeyValue::new(HTTP_REQUEST_METHOD, OTHER),
                KeyValue::new(HTTP_REQUEST_METHOD_ORIGINAL, "PURGE"),
            ]
        );
        let mut attributes = Vec::new();
        method_attributes(&Method::PATCH, &mut attributes);
        assert_eq!(attributes, [KeyValue::new(HTTP_REQUEST_METHOD, "PATCH")]);
    }

    #[test]
    fn status_codes_as_error_types() {
        assert_eq!(status_error_type(404), "404");
        assert_eq!(status_error_type(418), "418");
        assert_eq!(status_error_type(599), "599");
    }

    #[test]
    fn the_extractor_reads_every_line() {
        let mut headers = HeaderMap::new();
        headers.append("tracestate", HeaderValue::from_static("a=1"));
        headers.append("tracestate", HeaderValue::from_static("b=2"));
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get_all("tracestate"), Some(vec!["a=1", "b=2"]));
        assert_eq!(extractor.get("tracestate"), Some("a=1"));
        assert_eq!(extractor.get_all("traceparent"), None);
    }
}
