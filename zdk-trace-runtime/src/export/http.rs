//! OTLP/HTTP with protobuf bodies: one `POST` of the encoded request per batch, through the
//! async reqwest client on the exporter's runtime; gzip by flate2 when configured.

use std::time::Duration;

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT,
};

use super::wire::SendError;

/// Sends encoded `ExportTraceServiceRequest`s to one OTLP/HTTP endpoint.
#[derive(Debug)]
pub(crate) struct HttpSender {
    client: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    gzip: bool,
}

impl HttpSender {
    /// `headers` are the configured ones, already validated; later ones win.
    pub(crate) fn new(
        endpoint: &str,
        mut headers: HeaderMap,
        gzip: bool,
        timeout: Duration,
    ) -> Result<HttpSender, String> {
        let url = reqwest::Url::parse(endpoint).map_err(|e| e.to_string())?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Ok(HttpSender {
            client,
            url,
            headers,
            gzip,
        })
    }

    /// One attempt: `POST` the request and read the answer.
    pub(crate) async fn send(&self, body: Bytes) -> Result<(), SendError> {
        let body = if self.gzip {
            super::wire::gzip(&body)?
        } else {
            body
        };
        let response = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .body(body)
            .send()
            .await
            .map_err(connect_error)?;
        let status = response.status();
        if status.is_success() {
            // Read to the end so the connection goes back to the pool. A partial success
            // (some spans rejected) is still a success for the batch, as in the SDK.
            let _ = response.bytes().await;
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs.min(60)));
        Err(SendError::Http {
            status: status.as_u16(),
            retry_after,
        })
    }
}

/// What the exporter says it is (the OTLP specification asks exporters to identify
/// themselves).
const USER_AGENT_VALUE: &str = concat!("zdk-trace/", env!("CARGO_PKG_VERSION"));

/// The reqwest error without its URL (which is ours and known) and source chain flattened.
fn connect_error(error: reqwest::Error) -> SendError {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SendError::Connect(message)
}
