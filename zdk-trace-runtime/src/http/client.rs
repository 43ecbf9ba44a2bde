//! [`ClientTracing`]: a CLIENT span per outgoing reqwest request, its context sent on.

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::KeyValue;
use reqwest::{Request, Response, Url};
use reqwest_middleware::{Middleware, Next};

use super::semconv::{
    method_attributes, method_name, status_error_type, HeaderInjector, ERROR_TYPE,
    HTTP_RESPONSE_STATUS_CODE, SERVER_ADDRESS, SERVER_PORT, URL_FULL,
};
use super::traced::HttpSpanFuture;
use crate::context::propagation::inject_context;
use crate::context::TraceContext;
use crate::span::Span;

/// A [reqwest-middleware](https://docs.rs/reqwest-middleware) middleware that traces every
/// request: a CLIENT span named `{METHOD}` (a child of the current span) with the HTTP
/// semantic-convention attributes, and the span's `traceparent`, the trace's `tracestate` and
/// OpenTelemetry's current baggage written into the request headers, so the server's span is
/// this span's child. See [the module docs](crate::http) for the attributes and errors.
///
/// A status of 400 or above makes the span an error (`error.type` = the code, as the
/// conventions say for clients); a request that gets no response (refused, timed out) records
/// the error class in `error.type` and the error chain in an `exception` event, without the
/// URL. Neither makes the middleware fail: the result is handed back as it came.
///
/// Add it last (`.with(ClientTracing::new())` after retry middlewares) to get one span per
/// attempt, first to get one span per logical request.
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::http::ClientTracing;
/// use zdk_trace_runtime::{FutureExt, Span};
///
/// # async fn run() -> Result<(), reqwest_middleware::Error> {
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(ClientTracing::new())
///     .build();
///
/// // A `POST` CLIENT span, child of `execute_tool get_weather`; the server continues it.
/// let response = client
///     .post("http://127.0.0.1:7070/tools/get_weather")
///     .body("Lisbon")
///     .send()
///     .instrument(Span::start("execute_tool get_weather"))
///     .await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientTracing {}

impl ClientTracing {
    /// The middleware.
    pub fn new() -> Self {
        ClientTracing {}
    }
}

#[async_trait::async_trait]
impl Middleware for ClientTracing {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut ::http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let mut span = Span::builder(method_name(request.method()))
            .kind(SpanKind::Client)
            .start();
        if span.is_recording() {
            span.set_attributes(request_attributes(&request));
        }
        // The context sent on is this span's (so the server's span is its child), with
        // OpenTelemetry's current baggage; with no pipeline installed, the current context.
        let mut context = span.context();
        if context.frame.is_none() {
            context = TraceContext::current();
        }
        let current = opentelemetry::Context::current();
        if !current.baggage().is_empty() {
            context.baggage = Some(current);
        }
        inject_context(&context, &mut HeaderInjector(request.headers_mut()));
        HttpSpanFuture::new(next.run(request, extensions), span, None, record_result).await
    }
}

/// The attributes known before the request is sent.
fn request_attributes(request: &Request) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(5);
    method_attributes(request.method(), &mut attributes);
    let url = request.url();
    attributes.push(KeyValue::new(URL_FULL, redacted(url)));
    if let Some(host) = url.host_str() {
        // Without the brackets of an IPv6 address, as the conventions want.
        let address = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        attributes.push(KeyValue::new(
            SERVER_ADDRESS,
            address.unwrap_or(host).to_owned(),
        ));
    }
    if let Some(port) = url.port_or_known_default() {
        attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
    }
    attributes
}

/// `url.full`: the URL without user name, password, query string and fragment.
fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    // Neither fails on a URL with a host, the only kind reqwest sends; if one did, that part
    // would stay, so the path below drops the whole URL instead.
    let credentials_dropped = url.set_username("").is_ok() && url.set_password(None).is_ok();
    url.set_query(None);
    url.set_fragment(None);
    if credentials_dropped {
        url.into()
    } else {
        format!("{}://", url.scheme())
    }
}

/// The response or the error, recorded on the span before it ends.
fn record_result(span: &mut Span, result: &reqwest_middleware::Result<Response>) {
    if !span.is_recording() {
        return;
    }
    match result {
        Ok(response) => {
            let code = response.status().as_u16();
            span.set_attribute(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(code)));
            if code >= 400 {
                // No description: the status code says it (the conventions ask for none).
                span.set_attribute(KeyValue::new(ERROR_TYPE, status_error_type(code)));
                span.set_status(Status::error(""));
            }
        }
        Err(reqwest_middleware::Error::Reqwest(error)) => {
            span.record_error(error_class(error), &chain(error));
        }
        Err(error @ reqwest_middleware::Error::Middleware(_)) => {
            span.record_error("middleware", &error.to_string());
        }
    }
}

/// A low-cardinality class of a request that got no response.
fn error_class(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_redirect() {
        "redirect"
    } else if error.is_body() {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_builder() {
        "builder"
    } else if error.is_request() {
        "request"
    } else {
        super::semconv::OTHER
    }
}

/// The error's causes, without its own message: reqwest's names the URL, query string and
/// credentials included, which `url.full` leaves out on purpose.
fn chain(error: &reqwest::Error) -> String {
    let mut message = format!("{} error", error_class(error));
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_full_drops_credentials_query_and_fragment() {
        for (given, expected) in [
            (
                "http://user:pass@127.0.0.1:8080/x?token=1#frag",
                "http://127.0.0.1:8080/x",
            ),
            ("https://example.com/a/b?q=1", "https://example.com/a/b"),
            ("http://[::1]:9000/", "http://[::1]:9000/"),
        ] {
            let url = Url::parse(given).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(redacted(&url), expected);
        }
    }

    #[test]
    fn server_address_has_no_brackets() {
        let url = Url::parse("http://[::1]:9000/").unwrap_or_else(|e| panic!("{e}"));
        let request = Request::new(reqwest::Method::GET, url);
        let attributes = request_attributes(&request);
        assert!(attributes.contains(&KeyValue::new(SERVER_ADDRESS, "::1")));
        assert!(attributes.contains(&KeyValue::new(SERVER_PORT, 9000_i64)));
    }
}
