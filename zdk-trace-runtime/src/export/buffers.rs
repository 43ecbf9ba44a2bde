//! Request buffers that come back: an encoded OTLP request is handed to the exporter thread as
//! [`Bytes`] whose owner, when the last copy is dropped (sent, or given up by the retry
//! buffer), sends the `Vec` back to the collector for a later batch.
//!
//! Why: a batch's request is a few hundred kilobytes. Allocated new for each batch and freed on
//! the exporter thread, it came back to the allocator, which gave the pages back to the kernel
//! (glibc trims the top of a heap, and maps large blocks on their own), and the collector paid
//! a page fault for every 4 KiB it wrote into the next one: 16 % of its CPU at 1 M spans/s
//! (BENCHMARKS.md, issue 12). A kept buffer's pages stay mapped.

use bytes::Bytes;
use crossbeam_channel::{bounded, Receiver, Sender};

/// How many spare buffers wait for the collector at most; more are freed. The exporter sends
/// up to 8 batches in one request (`MOST_BATCHES_PER_REQUEST`), and their buffers come back
/// together while the collector fills the next ones: fewer than 8 and some would be freed and
/// allocated again at every turn.
const KEPT: usize = 12;

/// The largest buffer kept: a batch of 512 typical spans takes about 300 KB; a batch of huge
/// spans is not held on to. At most `KEPT` × this (12 MiB) waits, and only after a burst.
const MOST_KEPT_BYTES: usize = 1 << 20;

/// Where the collector takes a buffer for its next batch, and where sent requests' buffers
/// return.
#[derive(Debug, Clone)]
pub(crate) struct RequestBuffers {
    home: Sender<Vec<u8>>,
    spare: Receiver<Vec<u8>>,
}

impl Default for RequestBuffers {
    fn default() -> RequestBuffers {
        let (home, spare) = bounded(KEPT);
        RequestBuffers { home, spare }
    }
}

impl RequestBuffers {
    /// An empty buffer with room for at least `capacity` bytes: a spare one if there is one.
    pub(crate) fn take(&self, capacity: usize) -> Vec<u8> {
        match self.spare.try_recv() {
            Ok(mut buf) => {
                buf.clear();
                buf.reserve(capacity);
                buf
            }
            Err(_) => Vec::with_capacity(capacity),
        }
    }

    /// `buf[start..]` as `Bytes`; `buf` comes back to [`take`](Self::take) once the last copy
    /// is dropped (unless [`KEPT`] already wait, or it is over [`MOST_KEPT_BYTES`]).
    pub(crate) fn share(&self, buf: Vec<u8>, start: usize) -> Bytes {
        if start > buf.len() {
            return Bytes::new();
        }
        Bytes::from_owner(Returning {
            buf,
            start,
            home: self.home.clone(),
        })
    }
}

/// A request's bytes that return to the collector when dropped.
struct Returning {
    buf: Vec<u8>,
    start: usize,
    home: Sender<Vec<u8>>,
}

impl AsRef<[u8]> for Returning {
    fn as_ref(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if buf.capacity() <= MOST_KEPT_BYTES {
            // Full (or the pipeline is gone): freed here.
            let _ = self.home.try_send(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_when_its_last_copy_is_dropped() {
        let buffers = RequestBuffers::default();
        let mut buf = buffers.take(1000);
        buf.extend_from_slice(b"headrequest");
        let ptr = buf.as_ptr();
        let bytes = buffers.share(buf, 4);
        assert_eq!(&bytes[..], b"request");
        let copy = bytes.clone();
        drop(bytes);
        // A copy is still out (a retry buffer keeps one): not back yet.
        let other = buffers.take(10);
        assert_ne!(other.as_ptr(), ptr);
        drop(copy);
        let again = buffers.take(100);
        assert_eq!(again.as_ptr(), ptr, "the same allocation");
        assert!(again.is_empty());
        assert!(again.capacity() >= 1000);
    }

    #[test]
    fn at_most_a_few_small_enough_buffers_are_kept() {
        let buffers = RequestBuffers::default();
        let out: Vec<Bytes> = (0..KEPT + 3)
            .map(|_| buffers.share(vec![1; 10], 0))
            .collect();
        drop(out);
        assert_eq!(buffers.spare.len(), KEPT);
        for _ in 0..KEPT {
            let _ = buffers.take(0);
        }
        drop(buffers.share(Vec::with_capacity(MOST_KEPT_BYTES + 1), 0));
        assert_eq!(buffers.spare.len(), 0, "a huge buffer is freed");
        assert_eq!(
            &buffers.share(vec![1, 2], 3)[..],
            b"",
            "a start past the end"
        );
    }

    #[test]
    fn a_buffer_outliving_its_pipeline_is_freed() {
        let buffers = RequestBuffers::default();
        let bytes = buffers.share(vec![7; 64], 0);
        drop(buffers);
        assert_eq!(bytes.len(), 64);
        drop(bytes);
    }
}
