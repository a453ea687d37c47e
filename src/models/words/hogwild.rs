//! Lock-free shared training buffers (Hogwild!, Recht et al. 2011) and the small numeric
//! kernels both trainers share: a sigmoid table, a fast generator, dot and axpy.
//!
//! # Safety argument
//! Word-vector training updates a few rows of two big matrices per word; with a vocabulary
//! of tens of thousands of words two threads rarely touch the same row at the same moment,
//! and when they do, a lost or mixed update is one more bit of SGD noise (that is Hogwild's
//! result, and what word2vec, fastText, GloVe and gensim all do). So the threads share the
//! matrices through [`Shared`], which hands out row slices without locks. Concretely:
//! - the buffer outlives every thread: [`Shared`] borrows it mutably for its lifetime and the
//!   threads are scoped (`std::thread::scope`), so no pointer escapes;
//! - every index is bounds-checked against the buffer before a slice is made, so no access
//!   leaves the allocation;
//! - within one thread, the slices alive at the same time are rows of different buffers
//!   (input vs output vectors) or the same row read then written in sequence, never two
//!   overlapping `&mut` of one thread;
//! - across threads the accesses race. That is formally undefined in Rust's memory model;
//!   in practice `f32` loads and stores are single aligned machine moves on every platform
//!   seqlab targets, an f32 has no invalid bit patterns, and nothing derives control flow
//!   or memory addresses from the raced values other than through the bounds checks above.
//!   Results therefore depend on thread timing: runs with `threads = 1` are bit-for-bit
//!   reproducible from the seed, runs with more threads only statistically.

use std::marker::PhantomData;

/// A mutable `f32` buffer shared by scoped training threads (see the module's safety argument).
pub struct Shared<'a> {
    ptr: *mut f32,
    len: usize,
    _buf: PhantomData<&'a mut [f32]>,
}

// SAFETY: see the module documentation: racing f32 accesses are the accepted Hogwild
// trade-off; every access is bounds-checked and the borrow outlives the scoped threads.
unsafe impl Send for Shared<'_> {}
unsafe impl Sync for Shared<'_> {}

impl<'a> Shared<'a> {
    pub fn new(buf: &'a mut [f32]) -> Self {
        Self { ptr: buf.as_mut_ptr(), len: buf.len(), _buf: PhantomData }
    }

    /// Row `i` of width `dim`. Panics (a bug, not user input) if it lies outside the buffer.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub fn row(&self, i: usize, dim: usize) -> &mut [f32] {
        let start = i * dim;
        assert!(start + dim <= self.len, "row {i} outside the shared buffer");
        // SAFETY: in bounds (checked above); aliasing across threads is the documented race.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), dim) }
    }

    /// Element `i`, for per-word scalars (GloVe biases and their AdaGrad sums).
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub fn at(&self, i: usize) -> &mut f32 {
        assert!(i < self.len, "index {i} outside the shared buffer");
        // SAFETY: as for `row`.
        unsafe { &mut *self.ptr.add(i) }
    }
}

/// The 64-bit linear congruential generator of word2vec: one multiply-add per number, which
/// matters when a word draws thirty negatives. Good enough for sampling, not for statistics.
#[derive(Clone, Debug)]
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        // splitmix64 once, so seeds 0, 1, 2... start far apart
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self(z ^ (z >> 31))
    }

    /// The whole state, for checkpoints: [`Lcg::from_state`] continues the same stream.
    pub fn state(&self) -> u64 {
        self.0
    }

    pub fn from_state(state: u64) -> Self {
        Self(state)
    }

    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// Uniform in [0, 1).
    #[inline(always)]
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform in 0..n (n > 0), by multiply-shift (no division).
    #[inline(always)]
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.next_u32() as u64 * n as u64) >> 32) as u32
    }
}

/// σ(x) and log σ(x) tabulated on [-MAX_EXP, MAX_EXP], as in word2vec: training needs a
/// million sigmoids a second, and the table's 0.006 step is below the noise of SGD.
pub struct SigmoidTable {
    sigmoid: Vec<f32>,
    log_sigmoid: Vec<f32>,
}

pub const MAX_EXP: f32 = 6.0;
const TABLE: usize = 2048;

impl Default for SigmoidTable {
    fn default() -> Self {
        let x = |i: usize| (i as f64 / TABLE as f64 * 2.0 - 1.0) * MAX_EXP as f64;
        let sigmoid = (0..=TABLE).map(|i| (1.0 / (1.0 + (-x(i)).exp())) as f32).collect();
        let log_sigmoid = (0..=TABLE).map(|i| (-(1.0 + (-x(i)).exp()).ln()) as f32).collect();
        Self { sigmoid, log_sigmoid }
    }
}

impl SigmoidTable {
    #[inline(always)]
    fn index(x: f32) -> usize {
        let t = ((x + MAX_EXP) * (TABLE as f32 / (2.0 * MAX_EXP)) + 0.5) as isize;
        t.clamp(0, TABLE as isize) as usize
    }

    #[inline(always)]
    pub fn sigmoid(&self, x: f32) -> f32 {
        self.sigmoid[Self::index(x)]
    }

    /// log σ(x); beyond the table it is x itself (left) or 0 (right), to within 0.25%.
    #[inline(always)]
    pub fn log_sigmoid(&self, x: f32) -> f32 {
        if x < -MAX_EXP { x } else { self.log_sigmoid[Self::index(x)] }
    }
}

/// `a · b` with eight partial sums, so the compiler can keep them in one vector register
/// (a single running sum would force strict left-to-right order and no SIMD).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

/// `y += alpha * x`.
#[inline(always)]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// Whether the CPU can run the AVX2 + FMA build of a training loop (dot and axpy inlined
/// into it become 8-wide fused multiply-adds instead of 4-wide SSE).
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Walker's alias table: draws ids with given weights in O(1) from two arrays of `V`
/// entries (under a megabyte for the whole vocabulary, so it stays in cache, unlike
/// word2vec's 10^8-slot table whose every draw is a cache miss).
pub struct AliasTable {
    /// Per slot: acceptance threshold (high 32 bits, as a fraction of 2^32) and alias id (low 32).
    slots: Vec<u64>,
}

impl AliasTable {
    /// `weights` must be non-negative with a positive sum (checked by the caller's vocabulary).
    pub fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Left-overs are 1 up to rounding: always accept them.
        for i in small.into_iter().chain(large) {
            scaled[i] = 1.0;
        }
        let slots = scaled
            .iter()
            .zip(&alias)
            .map(|(&p, &a)| {
                let threshold = if p >= 1.0 { u32::MAX as u64 } else { (p * 4_294_967_296.0) as u64 };
                (threshold << 32) | a as u64
            })
            .collect();
        Self { slots }
    }

    #[inline(always)]
    pub fn sample(&self, rng: &mut Lcg) -> u32 {
        let i = rng.below(self.slots.len() as u32) as usize;
        let slot = self.slots[i];
        if (rng.next_u32() as u64) < (slot >> 32) || slot >> 32 == u32::MAX as u64 { i as u32 } else { slot as u32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_table_is_close() {
        let t = SigmoidTable::default();
        for x in [-7.0f32, -3.3, 0.0, 0.1, 2.5, 5.99, 9.0] {
            let exact = 1.0 / (1.0 + (-x).exp());
            assert!((t.sigmoid(x) - exact).abs() < 3e-3, "{x}");
            assert!((t.log_sigmoid(x) - exact.ln()).abs() < 2e-2, "{x}");
        }
    }

    /// 1·2 + 2·2 + ... over 11 elements of (i+1) and 2: 2 · (1 + ... + 11) = 132.
    #[test]
    fn dot_and_axpy() {
        let a: Vec<f32> = (1..=11).map(|i| i as f32).collect();
        let b = vec![2.0f32; 11];
        assert_eq!(dot(&a, &b), 132.0);
        let mut y = vec![1.0f32; 11];
        axpy(0.5, &a, &mut y);
        assert_eq!(y[10], 6.5);
    }

    #[test]
    fn lcg_is_uniform_enough_and_seeded() {
        let mut r = Lcg::new(3);
        let mut hist = [0u32; 10];
        for _ in 0..100_000 {
            hist[r.below(10) as usize] += 1;
            let f = r.next_f32();
            assert!((0.0..1.0).contains(&f));
        }
        assert!(hist.iter().all(|&h| (9_000..11_000).contains(&h)), "{hist:?}");
        assert_eq!(Lcg::new(7).next_u32(), Lcg::new(7).next_u32());
        assert_ne!(Lcg::new(7).next_u32(), Lcg::new(8).next_u32());
        let mut a = Lcg::new(9);
        a.next_u32();
        let mut b = Lcg::from_state(a.state());
        assert_eq!((a.next_u32(), a.next_f32()), (b.next_u32(), b.next_f32()), "a saved state continues the stream");
    }

    /// Weights 1, 2, 5 (shares 1/8, 2/8, 5/8): 80 000 draws land within 1% of 10 000, 20 000, 50 000.
    #[test]
    fn alias_table_draws_in_proportion() {
        let t = AliasTable::new(&[1.0, 2.0, 5.0]);
        let mut r = Lcg::new(1);
        let mut hist = [0u32; 3];
        for _ in 0..80_000 {
            hist[t.sample(&mut r) as usize] += 1;
        }
        for (h, want) in hist.iter().zip([10_000.0, 20_000.0, 50_000.0]) {
            assert!((*h as f64 - want).abs() < 0.01 * 80_000.0, "{hist:?}");
        }
        let one = AliasTable::new(&[3.0]);
        assert_eq!(one.sample(&mut r), 0);
    }

    #[test]
    fn shared_rows_are_disjoint_slices() {
        let mut buf = vec![0f32; 6];
        let s = Shared::new(&mut buf);
        s.row(1, 3)[0] = 5.0;
        *s.at(0) = 1.0;
        assert_eq!(buf, [1.0, 0.0, 0.0, 5.0, 0.0, 0.0]);
    }
}
