//! [`FlappingProxy`]: a TCP front for a receiver that can be taken down and brought back, the
//! way a collector that restarts or a network that drops looks from the application.
//!
//! Down means down: the listening socket is closed (new connections are refused) and every
//! connection in flight is cut. Up, it listens again on the same port and relays bytes both
//! ways to the receiver behind it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A TCP proxy on 127.0.0.1 in front of `target`, up or down on request.
#[derive(Debug)]
pub struct FlappingProxy {
    addr: SocketAddr,
    target: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    up: AtomicBool,
    /// Bumped on every state change: an accept loop of an older generation stops.
    generation: AtomicU64,
    /// Connections accepted, for tests that count the attempts while up.
    accepted: AtomicU64,
    /// Both ends of every relayed connection, to cut them when going down.
    streams: Mutex<Vec<TcpStream>>,
}

impl FlappingProxy {
    /// A proxy in front of `target`, up.
    pub fn start(target: SocketAddr) -> FlappingProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("cannot bind the flapping proxy: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let proxy = FlappingProxy {
            addr,
            target,
            shared: Arc::new(Shared::default()),
        };
        proxy.shared.up.store(true, Ordering::SeqCst);
        proxy.serve(listener);
        proxy
    }

    /// `http://127.0.0.1:PORT`, the proxy's address.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Closes the listening socket and cuts every connection: new ones are refused.
    pub fn down(&self) {
        if !self.shared.up.swap(false, Ordering::SeqCst) {
            return;
        }
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        // Wake the accept loop so it sees the new generation and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        let streams = std::mem::take(&mut *lock(&self.shared.streams));
        for stream in streams {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // The accept loop drops the listener once woken: wait until the port refuses.
        for _ in 0..200 {
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(50)).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Listens again on the same port.
    pub fn up(&self) {
        if self.shared.up.swap(true, Ordering::SeqCst) {
            return;
        }
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(listener) => break listener,
                Err(e) if tries < 200 => {
                    tries += 1;
                    let _ = e;
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let shared = Arc::clone(&self.shared);
        let target = self.target;
        let generation = shared.generation.load(Ordering::SeqCst);
        thread::spawn(move || {
            for client in listener.incoming() {
                if shared.generation.load(Ordering::SeqCst) != generation {
                    // Down (or restarted): this listener closes as the loop ends.
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                {
                    let mut streams = lock(&shared.streams);
                    if let (Ok(c3), Ok(s3)) = (client.try_clone(), server.try_clone()) {
                        streams.push(c3);
                        streams.push(s3);
                    }
                }
                relay(client, s2);
                relay(server, c2);
            }
        });
    }
}

impl Drop for FlappingProxy {
    fn drop(&mut self) {
        self.down();
    }
}

/// Copies `from` into `to` on a thread until either side closes.
fn relay(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
