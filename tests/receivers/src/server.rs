//! [`ServerThread`]: a receiver's server on its own thread and current-thread runtime.

use std::future::Future;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// A server thread with its own current-thread runtime, stopped on drop.
#[derive(Debug)]
pub(crate) struct ServerThread {
    pub(crate) addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    /// Binds `127.0.0.1:0` now (so the port accepts connections when this returns) and serves
    /// with `serve` on a background thread.
    pub(crate) fn spawn<F, Fut>(name: &str, serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        Self::spawn_on(name, 0, serve)
    }

    /// [`spawn`](Self::spawn) serving an OTLP trace service over gRPC.
    pub(crate) fn spawn_grpc<S>(name: &str, service: S) -> Self
    where
        S: tonic::codegen::Service<
                tonic::codegen::http::Request<tonic::body::Body>,
                Response = tonic::codegen::http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + tonic::server::NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        Self::spawn(name, move |listener| async move {
            // No Nagle: without it the server's response frames can wait for the client's
            // delayed ACK (40 ms on Linux), which stalls each export that hits it; real
            // collectors (Go's net package, the default) do the same.
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await;
        })
    }

    /// [`spawn`](Self::spawn) on `127.0.0.1:port` (`0`: any free port).
    pub(crate) fn spawn_on<F, Fut>(name: &str, port: u16, serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => l,
            Err(e) => panic!("{name}: cannot bind 127.0.0.1:{port}: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("{name}: no local address: {e}"),
        };
        if let Err(e) = listener.set_nonblocking(true) {
            panic!("{name}: {e}");
        }
        let (tx, rx) = oneshot::channel::<()>();
        let thread_name = name.to_owned();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => panic!("{thread_name}: cannot build runtime: {e}"),
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => panic!("{thread_name}: {e}"),
                    };
                    // Not a graceful shutdown: an exporter may keep its connection open.
                    tokio::select! {
                        () = serve(listener) => {}
                        _ = rx => {}
                    }
                });
            });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => panic!("{name}: cannot spawn thread: {e}"),
        };
        ServerThread {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
