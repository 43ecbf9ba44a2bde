//! Per-thread cells: each thread adds into its own shard of an instrument, with a relaxed load
//! and store (no locked instruction, no lock, no shared cache line); a collection sums the
//! shards.
//!
//! A shard's cells come in chunks that never move once allocated (chunk `k` holds `64 << k`
//! series), so the owning thread writes and a collecting thread reads the same atomics without
//! a lock, and a new series allocates a chunk at most `log2` times per thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Enough chunks for `64 * (2^CHUNKS - 1)` series, far above any cardinality limit.
const CHUNKS: usize = 16;

/// What a series' cells mean, and how many there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// A sum: one cell of `u64` (wrapping, two's complement for signed adds).
    IntSum,
    /// A sum: one cell of `f64` bits.
    FloatSum,
    /// The last value (as `f64` bits) and the global stamp of the write that set it.
    Last,
    /// A histogram over `bounds` explicit boundaries: count, sum (`f64`), min, max, then
    /// `bounds + 1` bucket counts.
    Histogram { bounds: usize },
    /// A histogram of durations in raw clock ticks: as [`Layout::Histogram`], with the sum in
    /// ticks and the min and max as ticks `+ 1` (0: none yet).
    Ticks { bounds: usize },
}

impl Layout {
    /// Cells per series.
    pub(crate) const fn width(self) -> usize {
        match self {
            Layout::IntSum | Layout::FloatSum => 1,
            Layout::Last => 2,
            Layout::Histogram { bounds } | Layout::Ticks { bounds } => 4 + bounds + 1,
        }
    }
}

/// Index of the histogram cells.
pub(crate) const COUNT: usize = 0;
pub(crate) const SUM: usize = 1;
pub(crate) const MIN: usize = 2;
pub(crate) const MAX: usize = 3;
pub(crate) const BUCKETS: usize = 4;

/// One thread's cells for one instrument.
#[derive(Debug)]
pub(crate) struct Shard {
    layout: Layout,
    /// `layout.width()`, kept so the hot path does not match on the layout.
    width: usize,
    chunks: [OnceLock<Box<[AtomicU64]>>; CHUNKS],
}

/// Chunk and offset (in series) of series `series`.
#[inline]
fn locate(series: u32) -> (usize, usize) {
    let s = series as usize;
    // Chunk k starts at series 64 * (2^k - 1).
    let k = (usize::BITS - 1 - (s / 64 + 1).leading_zeros()) as usize;
    (k, s - 64 * ((1 << k) - 1))
}

impl Shard {
    pub(crate) fn new(layout: Layout) -> Shard {
        Shard {
            layout,
            width: layout.width(),
            chunks: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// The cells of `series`, allocated on first use (owner thread only).
    #[inline]
    pub(crate) fn cells_mut(&self, series: u32) -> Option<&[AtomicU64]> {
        let width = self.width;
        // Most instruments have fewer than 64 series: the first chunk, no search.
        if series < 64 {
            if let Some(chunk) = self.chunks[0].get() {
                let at = series as usize * width;
                return chunk.get(at..at + width);
            }
        }
        let (k, offset) = locate(series);
        let chunk = self.chunks.get(k)?.get_or_init(|| self.new_chunk(k));
        chunk.get(offset * width..(offset + 1) * width)
    }

    /// The cells of `series` if this shard has written them (any thread).
    pub(crate) fn cells(&self, series: u32) -> Option<&[AtomicU64]> {
        let (k, offset) = locate(series);
        let width = self.width;
        let chunk = self.chunks.get(k)?.get()?;
        chunk.get(offset * width..(offset + 1) * width)
    }

    #[cold]
    fn new_chunk(&self, k: usize) -> Box<[AtomicU64]> {
        let width = self.width;
        let series = 64usize << k;
        let cells: Box<[AtomicU64]> = (0..series * width).map(|_| AtomicU64::new(0)).collect();
        if let Layout::Histogram { .. } = self.layout {
            for s in 0..series {
                cells[s * width + MIN].store(f64::INFINITY.to_bits(), Ordering::Relaxed);
                cells[s * width + MAX].store(f64::NEG_INFINITY.to_bits(), Ordering::Relaxed);
            }
        }
        cells
    }

    /// Every series this shard may have written: `0..n` where `n` covers its chunks.
    pub(crate) fn capacity(&self) -> u32 {
        let chunks = self.chunks.iter().take_while(|c| c.get().is_some()).count();
        (64 * ((1usize << chunks) - 1)).min(u32::MAX as usize) as u32
    }
}

/// Adds to a cell only the calling thread writes.
#[inline]
pub(crate) fn add_int(cell: &AtomicU64, n: u64) {
    cell.store(
        cell.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// Adds to an `f64` cell only the calling thread writes.
#[inline]
pub(crate) fn add_float(cell: &AtomicU64, x: f64) {
    let sum = f64::from_bits(cell.load(Ordering::Relaxed)) + x;
    cell.store(sum.to_bits(), Ordering::Relaxed);
}

/// Reads an `f64` cell.
#[inline]
pub(crate) fn float(cell: &AtomicU64) -> f64 {
    f64::from_bits(cell.load(Ordering::Relaxed))
}

/// Records `x` into a histogram series' cells (owner thread), bucket `bucket` already chosen.
#[inline]
pub(crate) fn observe(cells: &[AtomicU64], bucket: usize, x: f64) {
    if let Some(b) = cells.get(BUCKETS + bucket) {
        add_int(b, 1);
    }
    if let [count, sum, min, max, ..] = cells {
        add_int(count, 1);
        add_float(sum, x);
        if x < float(min) {
            min.store(x.to_bits(), Ordering::Relaxed);
        }
        if x > float(max) {
            max.store(x.to_bits(), Ordering::Relaxed);
        }
    }
}

/// The bucket of `x` among `bounds` (ascending upper bounds, inclusive as Prometheus's `le`):
/// `bounds.len()` for above the last.
#[inline]
pub(crate) fn bucket_of(bounds: &[f64], x: f64) -> usize {
    // Few bounds (at most ~20 for the built-in instruments): a branch-free count is faster
    // than a binary search.
    bounds.iter().filter(|&&b| x > b).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_series_once() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
        let shard = Shard::new(Layout::IntSum);
        for s in 0..3000 {
            let cells = shard.cells_mut(s).unwrap_or_else(|| panic!("series {s}"));
            add_int(&cells[0], u64::from(s));
        }
        for s in 0..3000 {
            let cells = shard.cells(s).unwrap_or_else(|| panic!("series {s}"));
            assert_eq!(cells[0].load(Ordering::Relaxed), u64::from(s));
        }
        assert!(shard.capacity() >= 3000);
    }

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        let bounds = [0.01, 0.02, 0.04];
        assert_eq!(bucket_of(&bounds, 0.0), 0);
        assert_eq!(bucket_of(&bounds, 0.01), 0);
        assert_eq!(bucket_of(&bounds, 0.010_001), 1);
        assert_eq!(bucket_of(&bounds, 0.04), 2);
        assert_eq!(bucket_of(&bounds, 5.0), 3);
    }

    #[test]
    fn a_histogram_series_keeps_count_sum_min_max_and_buckets() {
        let shard = Shard::new(Layout::Histogram { bounds: 2 });
        let bounds = [1.0, 2.0];
        let cells = shard.cells_mut(5).unwrap_or_else(|| panic!("cells"));
        for x in [0.5, 1.5, 3.0, 1.0] {
            observe(cells, bucket_of(&bounds, x), x);
        }
        let read = |i: usize| cells[i].load(Ordering::Relaxed);
        assert_eq!(read(COUNT), 4);
        assert_eq!(float(&cells[SUM]), 6.0);
        assert_eq!(float(&cells[MIN]), 0.5);
        assert_eq!(float(&cells[MAX]), 3.0);
        assert_eq!(
            [read(BUCKETS), read(BUCKETS + 1), read(BUCKETS + 2)],
            [2, 1, 1]
        );
    }
}
