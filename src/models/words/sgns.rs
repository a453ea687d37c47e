//! Skip-gram with negative sampling (Mikolov et al. 2013), word2vec's training loop:
//! each context word `c` within a random window `1..=window` of a word `w` predicts `w`
//! against `negative` words drawn from the unigram distribution raised to 3/4, with
//! frequent words subsampled and the learning rate decaying linearly to 1e-4 of its start.
//!
//! Two matrices, both `[V, D]`: input vectors (the result, initialised uniform in
//! `±0.5/D`) and output vectors (zeros). Threads update them Hogwild (see [`super::hogwild`]).

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;

use ndarray::Array2;

use super::WordsError;
use super::hogwild::{AliasTable, Lcg, Shared, SigmoidTable, axpy, dot, has_avx2_fma};
use super::checkpoint::{self, Checkpointing, Cursor, Tensor};
use super::train::{self, Outcome, Progress, Reporter, TrainConfig};
use super::vocab::Corpus;

/// Words between progress updates and learning-rate steps.
const CHUNK: u64 = 10_000;

/// Negative samples are drawn in proportion to `count^0.75`.
pub fn negative_sampler(counts: &[u64]) -> AliasTable {
    AliasTable::new(&counts.iter().map(|&c| (c as f64).powf(0.75)).collect::<Vec<_>>())
}

/// One logistic-regression step for a (context, target) pair: `l1` is the context's input
/// vector, `l2` the target's output vector, `label` 1 for the true word and 0 for a negative.
/// With `f = l1·l2` and loss `L = -log σ(f)` (label 1) or `-log σ(-f)` (label 0),
/// `dL/df = σ(f) - label`, so `g = lr (label - σ(f))` is the step along `-dL/df`:
/// `l2 += g l1` now, and `g l2` is added to `grad_l1` for `l1` (applied once per context word).
/// Returns the loss before the step.
#[inline(always)]
pub fn step_pair(l1: &[f32], l2: &mut [f32], grad_l1: &mut [f32], label: f32, lr: f32, table: &SigmoidTable) -> f32 {
    let f = dot(l1, l2);
    let g = (label - table.sigmoid(f)) * lr;
    axpy(g, l2, grad_l1);
    axpy(g, l1, l2);
    if label > 0.5 { -table.log_sigmoid(f) } else { -table.log_sigmoid(-f) }
}

pub(crate) fn train(
    corpus: &Corpus,
    cfg: &TrainConfig,
    checkpoint: Option<&Checkpointing>,
    report: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Outcome, WordsError> {
    let (v, d) = (corpus.vocab.len(), cfg.dim);
    let parts = split_sentences(&corpus.ends, cfg.threads);
    let fingerprint = checkpoint.map(|_| checkpoint::corpus_fingerprint(corpus)).unwrap_or(0);
    let (mut w_in, mut w_out, mut cursors, resumed_from) = match checkpoint.filter(|c| c.path.exists()) {
        Some(c) => {
            let mut r = checkpoint::load(&c.path, cfg, fingerprint, &[("w_in", &[v, d]), ("w_out", &[v, d])], &parts)?;
            (r.take("w_in"), r.take("w_out"), r.cursors.clone(), Some(r.epochs_done))
        }
        None => {
            let mut init = Lcg::new(cfg.seed);
            let w_in: Vec<f32> = (0..v * d).map(|_| (init.next_f32() - 0.5) / d as f32).collect();
            let cursors = (0..cfg.threads)
                .map(|t| Cursor::start(parts[t].0, Lcg::new(cfg.seed.wrapping_add(1 + t as u64)).state(), cfg.lr))
                .collect::<Vec<_>>();
            (w_in, vec![0f32; v * d], cursors, None)
        }
    };
    let neg_table = negative_sampler(corpus.vocab.counts());
    let keep = corpus.vocab.keep_probabilities(cfg.sample);
    let sig = SigmoidTable::default();
    let shared = train::Shared::default();
    let done_before: u64 = cursors.iter().map(|c| c.done).sum();
    shared.done.store(done_before, Ordering::Relaxed);
    // Each thread pauses after its share of the interval, and at its epoch's end.
    let (budget, pause) = match checkpoint {
        Some(c) => ((c.every / cfg.threads as u64).max(1), true),
        None => (u64::MAX, false),
    };
    let mut reporter = Reporter::new(corpus.ids.len() as u64 * cfg.epochs as u64, report);
    while cursors.iter().any(|c| c.epoch < cfg.epochs) {
        let (s_in, s_out) = (Shared::new(&mut w_in), Shared::new(&mut w_out));
        cursors = reporter.run(&shared, |scope| {
            parts
                .iter()
                .zip(&cursors)
                .map(|(&(first, last), &cursor)| {
                    let job = Job { corpus, cfg, w_in: &s_in, w_out: &s_out, neg: &neg_table, keep: &keep, sig: &sig, shared: &shared };
                    scope.spawn(move || {
                        let mut cursor = cursor;
                        let seg = Segment { first, last, budget, pause };
                        if has_avx2_fma() {
                            // SAFETY: the CPU has AVX2 and FMA (checked just above).
                            unsafe { job.run_avx2(seg, &mut cursor) }
                        } else {
                            job.run(seg, &mut cursor)
                        }
                        cursor
                    })
                })
                .collect()
        })?;
        let stopped = shared.stop.load(Ordering::Relaxed);
        if let Some(c) = checkpoint {
            let tensors = [
                Tensor { name: "w_in", shape: vec![v, d], data: &w_in },
                Tensor { name: "w_out", shape: vec![v, d], data: &w_out },
            ];
            checkpoint::save(&c.path, cfg, fingerprint, &cursors, &tensors)?;
            reporter.checkpointed(&shared, epochs_done(&cursors));
        }
        if stopped || shared.stop.load(Ordering::Relaxed) {
            break;
        }
    }
    let m = Array2::from_shape_vec((v, d), w_in).map_err(|e| WordsError::Invalid(e.to_string()))?;
    if m.iter().any(|x| !x.is_finite()) {
        return Err(WordsError::Invalid("training diverged (non-finite vectors): lower --lr".into()));
    }
    let done: u64 = cursors.iter().map(|c| c.done).sum();
    Ok(Outcome {
        matrix: m,
        seconds: reporter.seconds(),
        work: done - done_before,
        work_per_epoch: corpus.ids.len() as u64,
        effective: shared.effective.load(Ordering::Relaxed),
        loss: reporter.loss(),
        epochs_done: epochs_done(&cursors),
        complete: cursors.iter().all(|c| c.epoch >= cfg.epochs),
        resumed_from,
    })
}

/// Epochs every thread has finished.
pub(crate) fn epochs_done(cursors: &[Cursor]) -> usize {
    cursors.iter().map(|c| c.epoch).min().unwrap_or(0)
}

/// One thread's share (`first..last`) and how far it may go before pausing for a
/// checkpoint: `budget` units, and the end of its epoch when `pause`.
#[derive(Clone, Copy)]
pub(crate) struct Segment {
    pub first: usize,
    pub last: usize,
    pub budget: u64,
    pub pause: bool,
}

/// Splits sentences `[0, ends.len())` into `threads` runs of about equal word counts.
pub(crate) fn split_sentences(ends: &[usize], threads: usize) -> Vec<(usize, usize)> {
    let total = ends.last().copied().unwrap_or(0);
    let mut parts = Vec::with_capacity(threads);
    let mut first = 0;
    for t in 1..=threads {
        let goal = total * t / threads;
        let last = if t == threads { ends.len() } else { ends.partition_point(|&e| e <= goal).max(first) };
        parts.push((first, last));
        first = last;
    }
    parts
}

struct Job<'a> {
    corpus: &'a Corpus,
    cfg: &'a TrainConfig,
    w_in: &'a Shared<'a>,
    w_out: &'a Shared<'a>,
    neg: &'a AliasTable,
    keep: &'a [f32],
    sig: &'a SigmoidTable,
    shared: &'a train::Shared,
}

impl Job<'_> {
    /// [`run`](Self::run) compiled for AVX2 + FMA.
    #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2,fma"))]
    unsafe fn run_avx2(&self, seg: Segment, cursor: &mut Cursor) {
        self.run(seg, cursor)
    }

    /// Trains on sentences `seg.first..seg.last` from `cursor` on, for every epoch left or
    /// until the segment ends, and leaves `cursor` where it stopped. Allocates two buffers, once.
    #[inline(always)]
    fn run(&self, seg: Segment, cur: &mut Cursor) {
        let (cfg, d) = (self.cfg, self.cfg.dim);
        let Segment { first, last, budget, pause } = seg;
        let mut rng = Lcg::from_state(cur.rng);
        let start_word = if first == 0 { 0 } else { self.corpus.ends[first - 1] };
        let my_words = self.corpus.ends.get(last.wrapping_sub(1)).map_or(0, |&e| e - start_word) as u64;
        let my_total = (my_words * cfg.epochs as u64).max(1);
        let mut sentence: Vec<u32> = Vec::with_capacity(super::vocab::MAX_SENTENCE);
        let mut grad = vec![0f32; d];
        let (mut pending, mut effective, mut in_segment) = (0u64, 0u64, 0u64);
        let (mut loss_sum, mut loss_n) = (0f64, 0u64);
        let mut lr = f32::from_bits(cur.lr_bits);
        let window = cfg.window as u32;
        'epochs: while cur.epoch < cfg.epochs {
            while cur.next < last {
                if in_segment >= budget || self.shared.stop.load(Ordering::Relaxed) {
                    break 'epochs;
                }
                let s = cur.next;
                let begin = if s == 0 { 0 } else { self.corpus.ends[s - 1] };
                let words = &self.corpus.ids[begin..self.corpus.ends[s]];
                sentence.clear();
                sentence.extend(words.iter().copied().filter(|&w| rng.next_f32() < self.keep[w as usize]));
                let n = sentence.len();
                for pos in 0..n {
                    let word = sentence[pos];
                    let reach = (window - rng.below(window)) as usize;
                    let (lo, hi) = (pos.saturating_sub(reach), (pos + reach + 1).min(n));
                    for (c, &ctx) in sentence[lo..hi].iter().enumerate() {
                        if lo + c == pos {
                            continue;
                        }
                        let l1 = self.w_in.row(ctx as usize, d);
                        grad.fill(0.0);
                        let l2 = self.w_out.row(word as usize, d);
                        let mut loss = step_pair(l1, l2, &mut grad, 1.0, lr, self.sig);
                        for _ in 0..cfg.negative {
                            let target = self.neg.sample(&mut rng);
                            if target == word {
                                continue;
                            }
                            let l2 = self.w_out.row(target as usize, d);
                            loss += step_pair(l1, l2, &mut grad, 0.0, lr, self.sig);
                        }
                        axpy(1.0, &grad, l1);
                        loss_sum += loss as f64;
                        loss_n += 1;
                    }
                }
                let len = words.len() as u64;
                effective += n as u64;
                cur.effective += n as u64;
                pending += len;
                in_segment += len;
                cur.done += len;
                cur.next += 1;
                // The schedule steps every CHUNK words of this thread's own progress.
                if cur.done - cur.lr_done >= CHUNK {
                    cur.lr_done = cur.done;
                    lr = cfg.lr * (1.0 - cur.lr_done as f32 / my_total as f32).max(1e-4);
                }
                if pending >= CHUNK {
                    self.publish(&mut pending, &mut effective, &mut loss_sum, &mut loss_n);
                }
            }
            cur.epoch += 1;
            cur.next = first;
            if pause {
                break;
            }
        }
        self.publish(&mut pending, &mut effective, &mut loss_sum, &mut loss_n);
        cur.rng = rng.state();
        cur.lr_bits = lr.to_bits();
    }

    fn publish(&self, pending: &mut u64, effective: &mut u64, loss_sum: &mut f64, loss_n: &mut u64) {
        self.shared.done.fetch_add(std::mem::take(pending), Ordering::Relaxed);
        self.shared.effective.fetch_add(std::mem::take(effective), Ordering::Relaxed);
        self.shared.add_loss(std::mem::take(loss_sum), std::mem::take(loss_n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::words::ops;
    use crate::models::words::train::train as train_vectors;

    /// Checks `step_pair` against central differences of the exact loss: the step on `l2`
    /// must be `-lr dL/dl2` and the accumulated `grad_l1` must be `-lr dL/dl1`, to within the
    /// sigmoid table's resolution (σ' <= 1/4 times a 0.003 step).
    #[test]
    fn one_update_follows_the_numerical_gradient() {
        let sig = SigmoidTable::default();
        let exact = |a: &[f32], b: &[f32], label: f32| -> f64 {
            let f: f64 = a.iter().zip(b).map(|(x, y)| (*x as f64) * (*y as f64)).sum();
            let s = 1.0 / (1.0 + (-f).exp());
            if label > 0.5 { -s.ln() } else { -(1.0 - s).ln() }
        };
        for label in [1.0f32, 0.0] {
            let l1 = [0.3f32, -0.2, 0.5];
            let l2_0 = [0.1f32, 0.4, -0.3];
            let lr = 0.1;
            let mut l2 = l2_0;
            let mut grad = [0f32; 3];
            let loss = step_pair(&l1, &mut l2, &mut grad, label, lr, &sig);
            assert!((loss as f64 - exact(&l1, &l2_0, label)).abs() < 5e-3);
            let h = 1e-3f32;
            for k in 0..3 {
                let (mut p, mut m) = (l2_0, l2_0);
                p[k] += h;
                m[k] -= h;
                let d_l2 = (exact(&l1, &p, label) - exact(&l1, &m, label)) / (2.0 * h as f64);
                assert!(((l2[k] - l2_0[k]) as f64 + lr as f64 * d_l2).abs() < 1e-3, "l2[{k}] label {label}");
                let (mut p, mut m) = (l1, l1);
                p[k] += h;
                m[k] -= h;
                let d_l1 = (exact(&p, &l2_0, label) - exact(&m, &l2_0, label)) / (2.0 * h as f64);
                assert!((grad[k] as f64 + lr as f64 * d_l1).abs() < 1e-3, "l1[{k}] label {label}");
            }
        }
    }

    #[test]
    fn sentences_split_evenly() {
        assert_eq!(split_sentences(&[5, 10, 15, 20], 2), [(0, 2), (2, 4)]);
        assert_eq!(split_sentences(&[20], 2), [(0, 0), (0, 1)]);
    }

    /// A tiny corpus with two clean topics: the loss must fall and words of one topic must end
    /// up closer to each other than to the other topic's words.
    fn topic_corpus() -> Corpus {
        let mut lines = Vec::new();
        let mut r = Lcg::new(5);
        let topics = [["cat", "dog", "pet", "fur", "paw"], ["car", "road", "wheel", "engine", "drive"]];
        for i in 0..400 {
            let t = &topics[i % 2];
            let line: Vec<&str> = (0..12).map(|_| t[r.below(5) as usize]).collect();
            lines.push(line.join(" "));
        }
        Corpus::from_lines(lines.iter().map(String::as_str), 1, None).unwrap()
    }

    #[test]
    fn training_lowers_the_loss_and_groups_topics() {
        let corpus = topic_corpus();
        let cfg = TrainConfig { dim: 10, epochs: 10, sample: 0.0, threads: 1, ..TrainConfig::sgns() };
        let mut losses = Vec::new();
        let t = train_vectors(&corpus, &cfg, &mut |p| {
            if p.loss.is_finite() {
                losses.push(p.loss)
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        assert!(t.final_loss < 2.0, "final loss {}", t.final_loss);
        let v = &t.vectors;
        let cos = |a: &str, b: &str| ops::cosine(v.get(a).unwrap(), v.get(b).unwrap());
        assert!(cos("cat", "dog") > cos("cat", "car") + 0.3, "{} {}", cos("cat", "dog"), cos("cat", "car"));
        assert!(cos("road", "wheel") > cos("road", "paw") + 0.3);
        // The first epoch's loss (~ -ln σ(0) * 6 = 4.16 per context at the start) is far above the end.
        let cfg1 = TrainConfig { epochs: 1, ..cfg.clone() };
        let first = train_vectors(&corpus, &cfg1, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(t.final_loss < first.final_loss, "{} !< {}", t.final_loss, first.final_loss);
    }

    #[test]
    fn one_thread_is_reproducible_from_the_seed() {
        let corpus = topic_corpus();
        let cfg = TrainConfig { dim: 8, epochs: 2, threads: 1, ..TrainConfig::sgns() };
        let run = |seed| train_vectors(&corpus, &TrainConfig { seed, ..cfg.clone() }, &mut |_| ControlFlow::Continue(())).unwrap().vectors;
        assert_eq!(run(3).matrix(), run(3).matrix());
        assert_ne!(run(3).matrix(), run(4).matrix());
        // Two threads run (results are timing-dependent, so only sanity is checked).
        let two = train_vectors(&corpus, &TrainConfig { threads: 2, ..cfg }, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(two.vectors.matrix().iter().all(|x| x.is_finite()));
    }
}
