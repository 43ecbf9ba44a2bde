//! What both OTLP transports share: why a request failed, which failures are worth retrying,
//! and the retry loop that keeps every attempt within the export timeout.

use std::future::Future;
use std::time::Duration;

/// Why one OTLP export request failed. Never holds a header value or a response body: both
/// can carry secrets (collectors echo tokens back in error messages).
#[derive(Debug, thiserror::Error)]
// Without the HTTP transport nothing answers with an HTTP status (the variant stays for the
// retry tests, which run with every feature set).
#[cfg_attr(not(feature = "otlp-http"), allow(dead_code))]
pub(crate) enum SendError {
    /// The collector answered with an HTTP error status.
    #[error("the collector answered HTTP {status}{}", retry_hint(*.retry_after))]
    Http {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The collector answered with a gRPC error status (its message is not kept).
    #[cfg(feature = "otlp-grpc")]
    #[error("the collector answered gRPC status {code:?}{}", retry_hint(*.retry_after))]
    Grpc {
        code: tonic::Code,
        retry_after: Option<Duration>,
    },
    /// No connection, or the connection broke before an answer.
    #[error(
        "cannot reach the collector ({0}); check the endpoint and that a collector listens there"
    )]
    Connect(String),
    /// No answer within the export timeout, retries included.
    #[error("no answer within {0:?}; check the collector, or raise the export timeout")]
    Timeout(Duration),
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| format!(" (retry after {d:?})"))
}

impl SendError {
    /// Whether the OTLP specification says the request may be sent again: throttling (429;
    /// `RESOURCE_EXHAUSTED` with a retry delay), unavailable (502, 503, 504, `UNAVAILABLE`),
    /// and transient gRPC codes; a refused or broken connection too.
    pub(crate) fn retryable(&self) -> bool {
        match self {
            // The OTLP/HTTP specification: 429, 502, 503 and 504 are retryable, with or
            // without `Retry-After`.
            SendError::Http { status, .. } => matches!(status, 429 | 502..=504),
            #[cfg(feature = "otlp-grpc")]
            SendError::Grpc { code, retry_after } => match code {
                tonic::Code::ResourceExhausted => retry_after.is_some(),
                tonic::Code::Unavailable
                | tonic::Code::Cancelled
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Aborted
                | tonic::Code::OutOfRange
                | tonic::Code::DataLoss => true,
                _ => false,
            },
            SendError::Connect(_) => true,
            SendError::Timeout(_) => false,
        }
    }

    /// How long the collector asked us to wait (`Retry-After`, gRPC `RetryInfo`).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::Http { retry_after, .. } => *retry_after,
            #[cfg(feature = "otlp-grpc")]
            SendError::Grpc { retry_after, .. } => *retry_after,
            SendError::Connect(_) | SendError::Timeout(_) => None,
        }
    }
}

/// First wait before a retry; doubled after each, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Runs `attempt` until it succeeds, fails for good, or `timeout` (for all attempts together)
/// runs out. Between retryable failures it waits an exponential backoff with jitter, or what
/// the collector asked for (`Retry-After`, gRPC `RetryInfo`), never past the deadline.
pub(crate) async fn with_retries<F, Fut>(timeout: Duration, mut attempt: F) -> Result<(), SendError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), SendError>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = FIRST_DELAY;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let error = match tokio::time::timeout(left, attempt()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => error,
            Err(_) => return Err(SendError::Timeout(timeout)),
        };
        if !error.retryable() {
            return Err(error);
        }
        let wait = error.retry_after().unwrap_or_else(|| delay + jitter(delay));
        if tokio::time::Instant::now() + wait >= deadline {
            return Err(error);
        }
        tokio::time::sleep(wait).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// Up to half of `delay`, so exporters that failed together do not retry together.
fn jitter(delay: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let half = delay.as_nanos() / 2;
    if half == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((u128::from(nanos) % half) as u64)
}

/// A request body gzipped (flate2's default level), for `gzip = true`.
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
pub(crate) fn gzip(parts: &[bytes::Bytes]) -> Result<bytes::Bytes, SendError> {
    use std::io::Write as _;
    let len = parts.iter().map(bytes::Bytes::len).sum::<usize>();
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(len / 4), flate2::Compression::default());
    parts
        .iter()
        .try_for_each(|part| encoder.write_all(part))
        .and_then(|()| encoder.finish())
        .map(bytes::Bytes::from)
        .map_err(|e| SendError::Connect(format!("gzip failed: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn retryable_failures_are_retried_until_success() {
        let attempts = AtomicU32::new(0);
        let result = runtime().block_on(with_retries(Duration::from_secs(5), || async {
            match attempts.fetch_add(1, Ordering::Relaxed) {
                0 => Err(SendError::Http {
                    status: 503,
                    retry_after: None,
                }),
                1 => Err(SendError::Connect("refused".into())),
                _ => Ok(()),
            }
        }));
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(attempts.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        for status in [400, 401, 403, 404, 413, 500] {
            let attempts = AtomicU32::new(0);
            let result = runtime().block_on(with_retries(Duration::from_secs(5), || async {
                attempts.fetch_add(1, Ordering::Relaxed);
                Err(SendError::Http {
                    status,
                    retry_after: None,
                })
            }));
            let message = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(&status.to_string()), "{message}");
            assert_eq!(attempts.load(Ordering::Relaxed), 1, "HTTP {status}");
        }
    }

    #[test]
    fn retries_stop_at_the_deadline() {
        let started = std::time::Instant::now();
        let attempts = AtomicU32::new(0);
        let result = runtime().block_on(with_retries(Duration::from_millis(300), || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            Err(SendError::Connect("refused".into()))
        }));
        assert!(matches!(result, Err(SendError::Connect(_))), "{result:?}");
        assert!(attempts.load(Ordering::Relaxed) >= 2);
        assert!(started.elapsed() < Duration::from_millis(600));
    }

    #[test]
    fn a_hanging_attempt_times_out() {
        let result = runtime().block_on(with_retries(Duration::from_millis(100), || async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(())
        }));
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("no answer within 100ms"), "{message}");
    }
}
