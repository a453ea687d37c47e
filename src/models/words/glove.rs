//! GloVe (Pennington et al. 2014): co-occurrence counts within a window, each pair weighted
//! `1/d` for words `d` apart, then weighted least squares
//! `J = Σ f(X_ij) (w_i·w̃_j + b_i + b̃_j - log X_ij)^2` with `f(x) = min(1, (x/x_max)^α)`,
//! minimised by AdaGrad over the shuffled non-zero entries, Hogwild across threads.
//! The vectors returned are `W + W̃` (`[V, D]`), as GloVe's own code saves by default.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::ControlFlow;
use std::sync::atomic::Ordering;

use ndarray::Array2;

use super::WordsError;
use super::hogwild::{Lcg, Shared, dot, has_avx2_fma};
use super::checkpoint::{self, Checkpointing, Cursor, Tensor};
use super::sgns::{Segment, epochs_done};
use super::train::{self, Outcome, Progress, Reporter, TrainConfig};
use super::vocab::Corpus;

/// A multiplicative hash for packed `(i, j)` keys: the map sees tens of millions of
/// updates, and SipHash's protection against hostile keys buys nothing for word ids.
#[derive(Default)]
pub struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (v >> 32);
    }
}

pub type Cooc = HashMap<u64, f32, BuildHasherDefault<PairHasher>>;

/// Symmetric co-occurrence weights of `sentences` (word ids), one entry per unordered pair
/// `(min, max)` packed as `min << 32 | max`; words `d` apart within `window` add `1/d`.
pub fn cooccurrences<'a>(sentences: impl Iterator<Item = &'a [u32]>, window: usize) -> Cooc {
    let mut map = Cooc::default();
    for s in sentences {
        for (i, &a) in s.iter().enumerate() {
            for (d, &b) in s[i + 1..(i + 1 + window).min(s.len())].iter().enumerate() {
                let key = ((a.min(b) as u64) << 32) | a.max(b) as u64;
                *map.entry(key).or_insert(0.0) += 1.0 / (d + 1) as f32;
            }
        }
    }
    map
}

/// Counts co-occurrences with one map per thread, then merges them; returns the entries
/// `(i, j, X_ij)`, shuffled with `seed` so each thread's share is a fair sample.
fn entries(corpus: &Corpus, cfg: &TrainConfig) -> Vec<(u32, u32, f32)> {
    let parts = super::sgns::split_sentences(&corpus.ends, cfg.threads);
    let maps: Vec<Cooc> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|&(first, last)| {
                scope.spawn(move || {
                    let sentences = (first..last).map(|s| {
                        let begin = if s == 0 { 0 } else { corpus.ends[s - 1] };
                        &corpus.ids[begin..corpus.ends[s]]
                    });
                    cooccurrences(sentences, cfg.window)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut maps = maps.into_iter();
    let mut all = maps.next().unwrap_or_default();
    for m in maps {
        for (k, v) in m {
            *all.entry(k).or_insert(0.0) += v;
        }
    }
    let mut out: Vec<(u32, u32, f32)> = all.into_iter().map(|(k, x)| ((k >> 32) as u32, k as u32, x)).collect();
    // Hash-map order is not reproducible across runs; sort first so the shuffle is.
    out.sort_unstable_by_key(|e| (e.0, e.1));
    let mut rng = Lcg::new(cfg.seed ^ 0x6c0e);
    for i in (1..out.len()).rev() {
        let j = rng.below(i as u32 + 1) as usize;
        out.swap(i, j);
    }
    out
}

/// GloVe's buffers, `[V, D]` then `[V]`, in checkpoint order: W, W̃, their AdaGrad sums, then
/// the biases b, b̃ and theirs.
const MATRICES: [&str; 4] = ["w", "wc", "gw", "gwc"];
const VECTORS: [&str; 4] = ["b", "bc", "gb", "gbc"];

pub(crate) fn train(
    corpus: &Corpus,
    cfg: &TrainConfig,
    checkpoint: Option<&Checkpointing>,
    report: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Outcome, WordsError> {
    let (v, d) = (corpus.vocab.len(), cfg.dim);
    let fingerprint = checkpoint.map(|_| checkpoint::corpus_fingerprint(corpus)).unwrap_or(0);
    let saved = checkpoint.map(|c| c.path.as_path()).filter(|p| p.exists());
    // Settings and corpus are checked before the minute of counting co-occurrences.
    let mut restored = match saved {
        Some(path) => {
            let (m, s) = ([v, d], [v]);
            let wanted: Vec<(&str, &[usize])> =
                MATRICES.iter().map(|n| (*n, &m[..])).chain(VECTORS.iter().map(|n| (*n, &s[..]))).collect();
            Some(checkpoint::load(path, cfg, fingerprint, &wanted, &[])?)
        }
        None => None,
    };
    let cooc = entries(corpus, cfg);
    if cooc.is_empty() {
        return Err(WordsError::Corpus("no two words ever share a window: the corpus is too small for GloVe".into()));
    }
    let per = cooc.len().div_ceil(cfg.threads);
    let shares: Vec<&[(u32, u32, f32)]> = cooc.chunks(per).collect();
    let parts: Vec<(usize, usize)> = shares.iter().map(|s| (0, s.len())).collect();
    let mut resumed_from = None;
    let (mut bufs, mut cursors) = match (&mut restored, saved) {
        (Some(r), Some(path)) => {
            checkpoint::check_cursors(path, cfg, &r.cursors, &parts)?;
            resumed_from = Some(r.epochs_done);
            (MATRICES.iter().chain(&VECTORS).map(|n| r.take(n)).collect::<Vec<_>>(), r.cursors.clone())
        }
        _ => {
            let mut init = Lcg::new(cfg.seed);
            let mut uniform = |n: usize| -> Vec<f32> { (0..n).map(|_| (init.next_f32() - 0.5) / d as f32).collect() };
            let (w, wc, b, bc) = (uniform(v * d), uniform(v * d), uniform(v), uniform(v));
            // AdaGrad sums start at 1, as in glove.c, so the first steps are not huge.
            let bufs = vec![w, wc, vec![1f32; v * d], vec![1f32; v * d], b, bc, vec![1f32; v], vec![1f32; v]];
            (bufs, parts.iter().map(|_| Cursor::start(0, 0, cfg.lr)).collect())
        }
    };
    let shared = train::Shared::default();
    let done_before: u64 = cursors.iter().map(|c| c.done).sum();
    shared.done.store(done_before, Ordering::Relaxed);
    let (budget, pause) = match checkpoint {
        Some(c) => ((c.every / cfg.threads as u64).max(1), true),
        None => (u64::MAX, false),
    };
    // Each unordered entry is trained in both directions (i, j) and (j, i), as the full
    // symmetric matrix would be.
    let mut reporter = Reporter::new(cooc.len() as u64 * cfg.epochs as u64, report);
    while cursors.iter().any(|c| c.epoch < cfg.epochs) {
        let [w, wc, gw, gwc, b, bc, gb, gbc] = &mut bufs[..] else {
            return Err(WordsError::Invalid("GloVe needs eight buffers".into()));
        };
        let p = Params {
            w: Shared::new(w),
            wc: Shared::new(wc),
            b: Shared::new(b),
            bc: Shared::new(bc),
            gw: Shared::new(gw),
            gwc: Shared::new(gwc),
            gb: Shared::new(gb),
            gbc: Shared::new(gbc),
        };
        cursors = reporter.run(&shared, |scope| {
            shares
                .iter()
                .zip(&cursors)
                .map(|(&part, &cursor)| {
                    let (p, shared) = (&p, &shared);
                    scope.spawn(move || {
                        let mut cursor = cursor;
                        let seg = Segment { first: 0, last: part.len(), budget, pause };
                        if has_avx2_fma() {
                            // SAFETY: the CPU has AVX2 and FMA (checked just above).
                            unsafe { run_avx2(part, p, cfg, shared, seg, &mut cursor) }
                        } else {
                            run(part, p, cfg, shared, seg, &mut cursor)
                        }
                        cursor
                    })
                })
                .collect()
        })?;
        let stopped = shared.stop.load(Ordering::Relaxed);
        if let Some(c) = checkpoint {
            let shape = |n: &str| if MATRICES.contains(&n) { vec![v, d] } else { vec![v] };
            let tensors: Vec<Tensor> =
                MATRICES.iter().chain(&VECTORS).zip(&bufs).map(|(n, data)| Tensor { name: n, shape: shape(n), data }).collect();
            checkpoint::save(&c.path, cfg, fingerprint, &cursors, &tensors)?;
            reporter.checkpointed(&shared, epochs_done(&cursors));
        }
        if stopped || shared.stop.load(Ordering::Relaxed) {
            break;
        }
    }
    let sum: Vec<f32> = bufs[0].iter().zip(&bufs[1]).map(|(a, b)| a + b).collect();
    let m = Array2::from_shape_vec((v, d), sum).map_err(|e| WordsError::Invalid(e.to_string()))?;
    if m.iter().any(|x| !x.is_finite()) {
        return Err(WordsError::Invalid("training diverged (non-finite vectors): lower --lr".into()));
    }
    let done: u64 = cursors.iter().map(|c| c.done).sum();
    Ok(Outcome {
        matrix: m,
        seconds: reporter.seconds(),
        work: done - done_before,
        work_per_epoch: cooc.len() as u64,
        effective: 0,
        loss: reporter.loss(),
        epochs_done: epochs_done(&cursors),
        complete: cursors.iter().all(|c| c.epoch >= cfg.epochs),
        resumed_from,
    })
}

struct Params<'a> {
    w: Shared<'a>,
    wc: Shared<'a>,
    b: Shared<'a>,
    bc: Shared<'a>,
    gw: Shared<'a>,
    gwc: Shared<'a>,
    gb: Shared<'a>,
    gbc: Shared<'a>,
}

/// [`run`] compiled for AVX2 + FMA.
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2,fma"))]
unsafe fn run_avx2(part: &[(u32, u32, f32)], p: &Params, cfg: &TrainConfig, shared: &train::Shared, seg: Segment, cur: &mut Cursor) {
    run(part, p, cfg, shared, seg, cur)
}

/// Trains on this thread's entries from `cursor` on until every epoch is done or the
/// segment ends, leaving `cursor` where it stopped.
#[inline(always)]
fn run(part: &[(u32, u32, f32)], p: &Params, cfg: &TrainConfig, shared: &train::Shared, seg: Segment, cur: &mut Cursor) {
    const REPORT: u64 = 100_000;
    let d = cfg.dim;
    let (mut loss, mut n, mut pending, mut in_segment) = (0f64, 0u64, 0u64, 0u64);
    'epochs: while cur.epoch < cfg.epochs {
        while cur.next < part.len() {
            if in_segment >= seg.budget {
                break 'epochs;
            }
            let (i, j, x) = part[cur.next];
            loss += step(p, i as usize, j as usize, x, cfg, d) as f64;
            n += 1;
            if i != j {
                loss += step(p, j as usize, i as usize, x, cfg, d) as f64;
                n += 1;
            }
            cur.next += 1;
            cur.done += 1;
            in_segment += 1;
            pending += 1;
            if pending == REPORT {
                shared.done.fetch_add(std::mem::take(&mut pending), Ordering::Relaxed);
                shared.add_loss(std::mem::take(&mut loss), std::mem::take(&mut n));
                if shared.stop.load(Ordering::Relaxed) {
                    break 'epochs;
                }
            }
        }
        cur.epoch += 1;
        cur.next = 0;
        if seg.pause {
            break;
        }
    }
    shared.done.fetch_add(pending, Ordering::Relaxed);
    shared.add_loss(loss, n);
}

/// One AdaGrad step on entry `(i, j)` with weight `x` (glove.c's update); returns
/// `f(x) diff^2 / 2`, this entry's share of the cost before the step.
#[inline(always)]
fn step(p: &Params, i: usize, j: usize, x: f32, cfg: &TrainConfig, d: usize) -> f32 {
    let (wi, wj) = (p.w.row(i, d), p.wc.row(j, d));
    let diff = dot(wi, wj) + *p.b.at(i) + *p.bc.at(j) - x.ln();
    let weight = if x < cfg.x_max { (x / cfg.x_max).powf(cfg.alpha) } else { 1.0 };
    let fdiff = weight * diff;
    let g = fdiff * cfg.lr;
    let (gi, gj) = (p.gw.row(i, d), p.gwc.row(j, d));
    for k in 0..d {
        let (t1, t2) = (g * wj[k], g * wi[k]);
        wi[k] -= t1 / gi[k].sqrt();
        wj[k] -= t2 / gj[k].sqrt();
        gi[k] += t1 * t1;
        gj[k] += t2 * t2;
    }
    *p.b.at(i) -= g / p.gb.at(i).sqrt();
    *p.bc.at(j) -= g / p.gbc.at(j).sqrt();
    *p.gb.at(i) += g * g;
    *p.gbc.at(j) += g * g;
    0.5 * fdiff * diff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::words::ops::cosine;
    use crate::models::words::train::train as train_vectors;

    /// "a b c" with window 2: (a,b) 1 apart -> 1, (a,c) 2 apart -> 1/2, (b,c) -> 1.
    /// "b a" adds (a,b) 1 more: X_ab = 2.
    #[test]
    fn cooccurrence_weights_fall_with_distance() {
        let s: [&[u32]; 2] = [&[0, 1, 2], &[1, 0]];
        let m = cooccurrences(s.into_iter(), 2);
        let get = |a: u64, b: u64| m.get(&((a << 32) | b)).copied();
        assert_eq!(get(0, 1), Some(2.0));
        assert_eq!(get(0, 2), Some(0.5));
        assert_eq!(get(1, 2), Some(1.0));
        assert_eq!(m.len(), 3);
        let m1 = cooccurrences(s.into_iter(), 1);
        assert_eq!(m1.get(&2), None, "a and c are two apart");
    }

    #[test]
    fn glove_lowers_the_cost_and_groups_topics() {
        let mut lines = Vec::new();
        let mut r = Lcg::new(9);
        let topics = [["cat", "dog", "pet", "fur", "paw"], ["car", "road", "wheel", "engine", "drive"]];
        for i in 0..300 {
            let t = &topics[i % 2];
            lines.push((0..10).map(|_| t[r.below(5) as usize]).collect::<Vec<_>>().join(" "));
        }
        let corpus = Corpus::from_lines(lines.iter().map(String::as_str), 1, None).unwrap();
        let cfg = TrainConfig { dim: 8, threads: 1, x_max: 10.0, ..TrainConfig::glove() };
        let one = train_vectors(&corpus, &TrainConfig { epochs: 1, ..cfg.clone() }, &mut |_| ControlFlow::Continue(())).unwrap();
        let many = train_vectors(&corpus, &TrainConfig { epochs: 50, ..cfg }, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(many.final_loss < one.final_loss * 0.5, "{} vs {}", many.final_loss, one.final_loss);
        let v = &many.vectors;
        let cos = |a: &str, b: &str| cosine(v.get(a).unwrap(), v.get(b).unwrap());
        assert!(cos("cat", "dog") > cos("cat", "car"), "{} {}", cos("cat", "dog"), cos("cat", "car"));
    }
}
