//! The Prometheus scrape endpoint: an HTTP/1.1 server (hyper) on its own thread and
//! single-threaded tokio runtime, answering `GET <path>` with a fresh collection in the format
//! the scraper's `Accept` asks for.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry::KeyValue;
use tokio::sync::oneshot;

use super::prometheus::{encode, Format};
use super::MetricsError;
use crate::tally;

/// A running endpoint; stopped when dropped or by [`Endpoint::stop`].
#[derive(Debug)]
pub(crate) struct Endpoint {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What each scrape needs.
struct Scrape {
    path: String,
    resource: Vec<KeyValue>,
}

impl Endpoint {
    /// Binds `addr` now (so a port in use is an error at install, naming the port) and serves
    /// `path` from a background thread.
    pub(crate) fn start(
        addr: SocketAddr,
        path: String,
        resource: Vec<KeyValue>,
    ) -> Result<Endpoint, MetricsError> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MetricsError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(MetricsError::Runtime)?;
        let (stop, stopped) = oneshot::channel();
        let scrape = Arc::new(Scrape { path, resource });
        let thread = std::thread::Builder::new()
            .name("zdk-trace-metrics".into())
            .spawn(move || runtime.block_on(serve(listener, scrape, stopped)))
            .map_err(MetricsError::Runtime)?;
        Ok(Endpoint {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on (the port chosen when 0 was asked for).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the thread.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(
    listener: std::net::TcpListener,
    scrape: Arc<Scrape>,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors and the like: try again rather than stop serving.
            continue;
        };
        let scrape = Arc::clone(&scrape);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let scrape = Arc::clone(&scrape);
                async move { Ok::<_, Infallible>(answer(&scrape, &req)) }
            });
            // A scraper that hangs up mid-request is not our error.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(scrape: &Scrape, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        if let Ok(v) = content_type.parse() {
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_TYPE, v);
        }
        response
    };
    if req.uri().path() != scrape.path {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!("zdk-trace serves metrics at {}\n", scrape.path),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "use GET\n".into(),
        );
    }
    let accept = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let format = Format::from_accept(accept);
    let body = encode(&tally::collect(), &scrape.resource, format);
    reply(StatusCode::OK, format.content_type(), body)
}
