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
//!
//! Gathering does not copy the request's body: the sender pins the request's buffers
//! ([`Pins`]) while the call is out, and a slice h2 writes from one of them is kept as a
//! `Bytes` of that buffer (no copy); only h2's own bytes (frame heads, HEADERS) are copied.
//! What is gathered goes out with one `writev`. The copy of every request into the gathered
//! buffer was 11 % of the exporter thread's CPU over gRPC (BENCHMARKS.md, issue 12).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::lock::lock;

/// What is copied before a write goes out regardless: more than h2 writes of its own for an
/// export (frame heads and HEADERS). A larger write is passed straight through.
const CAPACITY: usize = 256 * 1024;

/// Most buffers handed to one `writev`.
const MOST_SLICES: usize = 64;

/// The buffers of the requests in flight, shared between the sender (which pins a request's
/// buffers while its call is out) and the connection's socket (which keeps slices of them
/// instead of copying). Only a hint: a slice of a buffer not (or no longer) pinned is copied.
pub(crate) type Pins = Arc<Mutex<Vec<Bytes>>>;

/// One piece of what is gathered, in order.
#[derive(Debug)]
enum Piece {
    /// `buf[start..end]`: bytes copied.
    Copied { start: usize, end: usize },
    /// A slice of a pinned buffer.
    Pinned(Bytes),
}

/// A socket whose writes are gathered until the connection's task has written what it had to
/// (see the module docs).
#[derive(Debug)]
pub(crate) struct Gathered<S> {
    inner: S,
    /// The copied bytes (pieces point into it by index).
    buf: Vec<u8>,
    pieces: VecDeque<Piece>,
    /// How much of the first piece has been written.
    written: usize,
    pins: Pins,
    /// A flush was answered without writing and the task woken; cleared when the task polls
    /// again (it reads first).
    woken: bool,
    /// The socket could not take everything gathered: flushes wait for it.
    blocked: bool,
}

impl<S> Gathered<S> {
    pub(crate) fn new(inner: S, pins: Pins) -> Gathered<S> {
        Gathered {
            inner,
            buf: Vec::new(),
            pieces: VecDeque::new(),
            written: 0,
            pins,
            woken: false,
            blocked: false,
        }
    }

    /// Gathers `data`: as a slice of a pinned buffer that holds it, or else copied.
    fn gather(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let start = data.as_ptr() as usize;
        let pinned = lock(&self.pins)
            .iter()
            .find(|b| {
                let at = b.as_ptr() as usize;
                start >= at && start + data.len() <= at + b.len()
            })
            // Within the buffer, as checked: `slice_ref` shares it.
            .map(|b| b.slice_ref(data));
        if let Some(slice) = pinned {
            self.pieces.push_back(Piece::Pinned(slice));
            return;
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(data);
        let end = self.buf.len();
        match self.pieces.back_mut() {
            Some(Piece::Copied { end: last, .. }) if *last == start => *last = end,
            _ => self.pieces.push_back(Piece::Copied { start, end }),
        }
    }

    fn piece(&self, piece: &Piece) -> usize {
        match piece {
            Piece::Copied { start, end } => end - start,
            Piece::Pinned(b) => b.len(),
        }
    }

    /// Drops `n` written bytes from the front.
    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.pieces.front() else {
                return;
            };
            let left = self.piece(front) - self.written;
            if n < left {
                self.written += n;
                return;
            }
            n -= left;
            self.written = 0;
            self.pieces.pop_front();
        }
    }
}

impl<S: AsyncWrite + Unpin> Gathered<S> {
    /// Writes what is gathered; `Pending` (with the socket's waker registered) while the socket
    /// cannot take it all.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pieces.is_empty() {
            let mut slices = [io::IoSlice::new(&[]); MOST_SLICES];
            let mut count = 0;
            for (i, piece) in self.pieces.iter().take(MOST_SLICES).enumerate() {
                let bytes = match piece {
                    Piece::Copied { start, end } => &self.buf[*start..*end],
                    Piece::Pinned(b) => &b[..],
                };
                let skip = if i == 0 { self.written } else { 0 };
                slices[i] = io::IoSlice::new(&bytes[skip..]);
                count = i + 1;
            }
            let Poll::Ready(n) =
                Pin::new(&mut self.inner).poll_write_vectored(cx, &slices[..count])?
            else {
                self.blocked = true;
                return Poll::Pending;
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.advance(n);
        }
        self.buf.clear();
        self.written = 0;
        self.blocked = false;
        Poll::Ready(Ok(()))
    }

    /// Makes room for `len` more copied bytes: what is gathered is written first if they would
    /// not fit.
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
        if data.len() >= CAPACITY && this.pieces.is_empty() {
            return Pin::new(&mut this.inner).poll_write(cx, data);
        }
        this.gather(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let len = bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()));
        // Room for all of it, were none of it pinned.
        ready!(this.poll_room(cx, len.min(CAPACITY)))?;
        for b in bufs {
            this.gather(b);
        }
        Poll::Ready(Ok(len))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.pieces.is_empty() {
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
        if !this.pieces.is_empty() {
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
        let mut gathered = Gathered::new(socket, Pins::default());
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
        let mut gathered = Gathered::new(socket, Pins::default());
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
        let mut gathered = Gathered::new(socket, Pins::default());
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

    /// A frame head, then a slice of a pinned buffer, as h2 writes a DATA frame.
    fn write_frame(
        gathered: &mut Gathered<tokio::io::DuplexStream>,
        cx: &mut Context<'_>,
        head: &[u8],
        data: &[u8],
    ) {
        let slices = [io::IoSlice::new(head), io::IoSlice::new(data)];
        let n = Pin::new(&mut *gathered).poll_write_vectored(cx, &slices);
        assert!(matches!(n, Poll::Ready(Ok(len)) if len == head.len() + data.len()));
        assert!(Pin::new(&mut *gathered).poll_flush(cx).is_ready());
    }

    #[tokio::test]
    async fn slices_of_pinned_buffers_are_sent_without_a_copy_in_order() {
        let (socket, mut peer) = tokio::io::duplex(1 << 20);
        let pins = Pins::default();
        let mut gathered = Gathered::new(socket, Arc::clone(&pins));
        let waker = Waker::from(Arc::new(Wakes::default()));
        let mut cx = Context::from_waker(&waker);
        let body = Bytes::from((0..=255u8).cycle().take(40_000).collect::<Vec<u8>>());
        let unpinned = Bytes::from_static(b"not pinned");
        lock(&pins).push(body.clone());

        assert!(Pin::new(&mut gathered)
            .poll_write(&mut cx, b"HEADERS")
            .is_ready());
        write_frame(&mut gathered, &mut cx, b"[h1]", &body[..16_384]);
        write_frame(&mut gathered, &mut cx, b"[h2]", &body[16_384..32_768]);
        write_frame(&mut gathered, &mut cx, b"[h3]", &body[32_768..]);
        write_frame(&mut gathered, &mut cx, b"[h4]", &unpinned);
        assert_eq!(
            gathered.buf.len(),
            "HEADERS".len() + 4 * 4 + unpinned.len(),
            "only the heads and the unpinned buffer were copied"
        );

        let mut space = [0u8; 16];
        let mut out = ReadBuf::new(&mut space);
        assert!(Pin::new(&mut gathered)
            .poll_read(&mut cx, &mut out)
            .is_pending());
        let mut expected = b"HEADERS[h1]".to_vec();
        expected.extend_from_slice(&body[..16_384]);
        expected.extend_from_slice(b"[h2]");
        expected.extend_from_slice(&body[16_384..32_768]);
        expected.extend_from_slice(b"[h3]");
        expected.extend_from_slice(&body[32_768..]);
        expected.extend_from_slice(b"[h4]not pinned");
        let mut got = vec![0u8; expected.len()];
        peer.read_exact(&mut got)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            got == expected,
            "the bytes on the wire differ from what was written"
        );
        assert!(gathered.pieces.is_empty() && gathered.buf.is_empty());
    }

    #[tokio::test]
    async fn a_socket_taking_a_few_bytes_at_a_time_gets_every_piece_whole() {
        // The peer takes 7 bytes until it reads: every write is partial, across pieces.
        let (socket, mut peer) = tokio::io::duplex(7);
        let pins = Pins::default();
        let mut gathered = Gathered::new(socket, Arc::clone(&pins));
        let body = Bytes::from((0..100u8).collect::<Vec<u8>>());
        lock(&pins).push(body.clone());
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            peer.read_to_end(&mut got)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            got
        });
        // Gathered whole (it never takes part of a vectored write).
        for (head, part) in [(&b"head"[..], &body[..50]), (b"mid", &body[50..])] {
            let n = gathered
                .write_vectored(&[io::IoSlice::new(head), io::IoSlice::new(part)])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(n, head.len() + part.len());
        }
        gathered.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
        let got = reader.await.unwrap_or_else(|e| panic!("{e}"));
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&body[..50]);
        expected.extend_from_slice(b"mid");
        expected.extend_from_slice(&body[50..]);
        assert_eq!(got, expected);
    }
}
