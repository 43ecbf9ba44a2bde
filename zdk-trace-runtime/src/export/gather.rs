//! The gRPC connection's socket: writes gathered so that one export leaves in one system call.
//!
//! h2 writes every DATA frame (16 KiB at most, the frame size collectors advertise) with its own
//! `writev` and flushes the socket after each: seven system calls for a 512-span export, and on
//! loopback each one runs the receiving side's TCP processing and wakes its thread. That was
//! half the exporter thread's CPU over gRPC (HTTP/1.1 sends the same request in one write). A
//! buffer in front of the socket is not enough, since h2 flushes it after every frame, so
//! [`Gathered`] defers flushes: it answers them at once, wakes the connection's task (once per
//! poll), and writes everything it holds on that task's next poll (h2 reads the socket first
//! thing in every poll), at shutdown, or when the buffer is full. An export's frames are all
//! written within one poll of the connection task, so they leave together, one poll later.
//! While the socket cannot take what is gathered, a flush waits for it (backpressure, no busy
//! loop).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What is gathered before a write goes out regardless: more than a default batch's export
/// (512 spans, ~80 KiB). A larger export is written as the buffer fills.
const CAPACITY: usize = 256 * 1024;

/// A socket whose writes are gathered until the connection's task has written what it had to
/// (see the module docs).
#[derive(Debug)]
pub(crate) struct Gathered<S> {
    inner: S,
    buf: Vec<u8>,
    /// How much of `buf` has been written.
    written: usize,
    /// A flush was answered without writing and the task woken; cleared when the task polls
    /// again (it reads first).
    woken: bool,
    /// The socket could not take everything gathered: flushes wait for it.
    blocked: bool,
}

impl<S> Gathered<S> {
    pub(crate) fn new(inner: S) -> Gathered<S> {
        Gathered {
            inner,
            buf: Vec::new(),
            written: 0,
            woken: false,
            blocked: false,
        }
    }
}

impl<S: AsyncWrite + Unpin> Gathered<S> {
    /// Writes what is gathered; `Pending` (with the socket's waker registered) while the socket
    /// cannot take it all.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.buf.len() {
            let pending = &self.buf[self.written..];
            let Poll::Ready(n) = Pin::new(&mut self.inner).poll_write(cx, pending)? else {
                self.blocked = true;
                return Poll::Pending;
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.buf.clear();
        self.written = 0;
        self.blocked = false;
        Poll::Ready(Ok(()))
    }

    /// Makes room for `len` more bytes: what is gathered is written first if they would not fit.
    fn poll_room(&mut self, cx: &mut Context<'_>, len: usize) -> Poll<io::Result<()>> {
        if self.buf.len().saturating_add(len) > CAPACITY {
            ready!(self.poll_drain(cx))?;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Gathered<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_room(cx, data.len()))?;
        if data.len() >= CAPACITY {
            return Pin::new(&mut this.inner).poll_write(cx, data);
        }
        this.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let len = bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()));
        ready!(this.poll_room(cx, len))?;
        if len >= CAPACITY {
            return Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        }
        for b in bufs {
            this.buf.extend_from_slice(b);
        }
        Poll::Ready(Ok(len))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.buf.is_empty() {
            if this.blocked {
                ready!(this.poll_drain(cx))?;
            } else {
                // More frames may follow in this poll: written on the task's next poll.
                if !this.woken {
                    this.woken = true;
                    cx.waker().wake_by_ref();
                }
                return Poll::Ready(Ok(()));
            }
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Gathered<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // The task's next poll: what deferred flushes left goes out now. If the socket cannot
        // take it all, its waker is registered, and flushes wait for it meanwhile.
        this.woken = false;
        if !this.buf.is_empty() {
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
        }
        Pin::new(&mut this.inner).poll_read(cx, out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What the peer has received so far, without waiting.
    async fn received(peer: &mut tokio::io::DuplexStream) -> Vec<u8> {
        let mut got = vec![0; 1024];
        match tokio::time::timeout(std::time::Duration::from_millis(20), peer.read(&mut got)).await
        {
            Ok(Ok(n)) => got[..n].to_vec(),
            Ok(Err(e)) => panic!("peer read failed: {e}"),
            Err(_) => Vec::new(),
        }
    }

    #[tokio::test]
    async fn frames_flushed_one_by_one_leave_together_on_the_next_poll() {
        let (socket, mut peer) = tokio::io::duplex(1 << 20);
        let mut gathered = Gathered::new(socket);
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let mut cx = Context::from_waker(&waker);

        // h2's pattern within one poll: a frame, a flush, the next frame, a flush.
        for frame in [&b"HEADERS"[..], b"DATA-1", b"DATA-2"] {
            let n = Pin::new(&mut gathered).poll_write(&mut cx, frame);
            assert!(matches!(n, Poll::Ready(Ok(len)) if len == frame.len()));
            assert!(Pin::new(&mut gathered).poll_flush(&mut cx).is_ready());
        }
        assert!(received(&mut peer).await.is_empty(), "nothing written yet");
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1, "the task is woken once");

        // The task's next poll reads first: everything goes out, in order.
        let mut space = [0u8; 16];
        let mut out = ReadBuf::new(&mut space);
        assert!(Pin::new(&mut gathered)
            .poll_read(&mut cx, &mut out)
            .is_pending());
        assert_eq!(received(&mut peer).await, b"HEADERSDATA-1DATA-2");
    }

    #[tokio::test]
    async fn a_full_socket_makes_flush_wait_instead_of_spinning() {
        // The peer takes 8 bytes until it reads.
        let (socket, mut peer) = tokio::io::duplex(8);
        let mut gathered = Gathered::new(socket);
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut gathered)
            .poll_write(&mut cx, b"0123456789abcdef")
            .is_ready());
        assert!(Pin::new(&mut gathered).poll_flush(&mut cx).is_ready());
        // Next poll: the read writes what fits and registers for the rest.
        let mut space = [0u8; 4];
        let mut out = ReadBuf::new(&mut space);
        assert!(Pin::new(&mut gathered)
            .poll_read(&mut cx, &mut out)
            .is_pending());
        // Now a flush waits for the socket, without waking the task itself.
        let before = wakes.0.load(Ordering::Relaxed);
        assert!(Pin::new(&mut gathered).poll_flush(&mut cx).is_pending());
        assert_eq!(wakes.0.load(Ordering::Relaxed), before);
        let mut got = [0u8; 16];
        peer.read_exact(&mut got[..8])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        gathered.flush().await.unwrap_or_else(|e| panic!("{e}"));
        peer.read_exact(&mut got[8..])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&got, b"0123456789abcdef");
    }

    #[tokio::test]
    async fn shutdown_and_a_full_buffer_write_what_is_gathered() {
        let (socket, mut peer) = tokio::io::duplex(4 * CAPACITY);
        let mut gathered = Gathered::new(socket);
        let chunk = vec![7u8; CAPACITY / 2 + 1];
        gathered
            .write_all(&chunk)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        gathered
            .write_all(&chunk)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The second chunk did not fit: the first was written to make room.
        let mut first = vec![0u8; chunk.len()];
        peer.read_exact(&mut first)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        gathered
            .write_all(b"end")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        gathered.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rest.len(), chunk.len() + 3);
        assert!(rest.ends_with(b"end"));
    }
}
