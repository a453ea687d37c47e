//! Training settings shared by both trainers, progress reports, and the entry point that
//! turns a corpus into [`WordVectors`].

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ndarray::Array2;

use super::vocab::Corpus;
use super::{WordVectors, WordsError, glove, sgns};

/// Which objective trains the vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Skip-gram with negative sampling (word2vec).
    Sgns,
    /// GloVe: weighted least squares on log co-occurrence counts.
    Glove,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Sgns => "sgns",
            Method::Glove => "glove",
        })
    }
}

#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub method: Method,
    pub dim: usize,
    /// Context words on each side (SGNS draws a window of 1..=window per word, as word2vec).
    pub window: usize,
    /// Negative samples per (word, context) pair (SGNS).
    pub negative: usize,
    pub epochs: usize,
    /// Subsampling threshold for frequent words (0 = off).
    pub sample: f64,
    /// Starting learning rate (SGNS decays it linearly to 1e-4 of this; GloVe's AdaGrad base rate).
    pub lr: f32,
    /// GloVe's weighting: f(x) = min(1, (x / x_max)^alpha).
    pub x_max: f32,
    pub alpha: f32,
    pub threads: usize,
    pub seed: u64,
}

impl TrainConfig {
    pub fn sgns() -> Self {
        Self { method: Method::Sgns, dim: 50, window: 5, negative: 5, epochs: 5, sample: 1e-3, lr: 0.025, x_max: 100.0, alpha: 0.75, threads: 2, seed: 1 }
    }

    pub fn glove() -> Self {
        Self { method: Method::Glove, epochs: 25, lr: 0.05, ..Self::sgns() }
    }

    pub fn validate(&self) -> Result<(), WordsError> {
        let bad = |s: String| Err(WordsError::Invalid(s));
        if !(1..=1024).contains(&self.dim) {
            return bad(format!("--dim must be 1..=1024, got {}", self.dim));
        }
        if !(1..=100).contains(&self.window) {
            return bad(format!("--window must be 1..=100, got {}", self.window));
        }
        if self.negative > 100 || (self.method == Method::Sgns && self.negative == 0) {
            return bad(format!("--negative must be 1..=100, got {}", self.negative));
        }
        if !(1..=1000).contains(&self.epochs) {
            return bad(format!("--epochs must be 1..=1000, got {}", self.epochs));
        }
        if !(1..=256).contains(&self.threads) {
            return bad(format!("--threads must be 1..=256, got {}", self.threads));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr <= 10.0) {
            return bad(format!("--lr must be in (0, 10], got {}", self.lr));
        }
        if !(self.sample.is_finite() && (0.0..=1.0).contains(&self.sample)) {
            return bad(format!("--sample must be in [0, 1], got {}", self.sample));
        }
        Ok(())
    }
}

/// A progress report, a few times a second.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Work done and to do, in the trainer's unit (corpus words for SGNS, co-occurrence
    /// entries for GloVe), over all epochs.
    pub done: u64,
    pub total: u64,
    /// Words after subsampling that were trained on so far (SGNS; gensim's "effective words").
    pub effective: u64,
    /// Mean loss per update since the last report.
    pub loss: f64,
    pub seconds: f64,
}

/// What training produced, with speed figures.
#[derive(Debug)]
pub struct Trained {
    pub vectors: WordVectors,
    pub seconds: f64,
    /// Corpus words (raw, in-vocabulary) per second over all epochs.
    pub words_per_sec: f64,
    /// Words trained after subsampling per second (what gensim logs as effective words/s).
    pub effective_words_per_sec: f64,
    pub final_loss: f64,
}

/// Counters the worker threads publish and the reporting thread reads.
#[derive(Default)]
pub(crate) struct Shared {
    pub done: AtomicU64,
    pub effective: AtomicU64,
    /// Sum of losses (f64 bits, updated by compare-and-swap) and count of updates.
    pub loss_sum: AtomicU64,
    pub loss_n: AtomicU64,
    pub stop: AtomicBool,
}

impl Shared {
    pub fn add_loss(&self, sum: f64, n: u64) {
        let _ = self.loss_sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| Some((f64::from_bits(b) + sum).to_bits()));
        self.loss_n.fetch_add(n, Ordering::Relaxed);
    }

    fn take_loss(&self) -> (f64, u64) {
        (f64::from_bits(self.loss_sum.swap(0f64.to_bits(), Ordering::Relaxed)), self.loss_n.swap(0, Ordering::Relaxed))
    }
}

/// Runs `work` (which spawns the worker threads on the scope and returns) while this thread
/// reports progress every 200 ms; a `Break` from `report` asks the workers to stop.
pub(crate) fn run_with_reports<'env>(
    shared: &'env Shared,
    total: u64,
    report: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    work: impl for<'scope> FnOnce(&'scope std::thread::Scope<'scope, 'env>) -> Vec<std::thread::ScopedJoinHandle<'scope, ()>>,
) -> (f64, f64) {
    let start = Instant::now();
    let mut last_loss = f64::NAN;
    std::thread::scope(|scope| {
        let handles = work(scope);
        loop {
            let finished = handles.iter().all(|h| h.is_finished());
            let (sum, n) = shared.take_loss();
            if n > 0 {
                last_loss = sum / n as f64;
            }
            let p = Progress {
                done: shared.done.load(Ordering::Relaxed),
                total,
                effective: shared.effective.load(Ordering::Relaxed),
                loss: last_loss,
                seconds: start.elapsed().as_secs_f64(),
            };
            if report(p).is_break() {
                shared.stop.store(true, Ordering::Relaxed);
            }
            if finished {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    (start.elapsed().as_secs_f64(), last_loss)
}

/// Trains vectors on `corpus` with `cfg`, reporting progress.
pub fn train(corpus: &Corpus, cfg: &TrainConfig, report: &mut dyn FnMut(Progress) -> ControlFlow<()>) -> Result<Trained, WordsError> {
    cfg.validate()?;
    let (matrix, seconds, effective, loss): (Array2<f32>, f64, u64, f64) = match cfg.method {
        Method::Sgns => sgns::train(corpus, cfg, report)?,
        Method::Glove => glove::train(corpus, cfg, report)?,
    };
    let mut vectors = WordVectors::new(corpus.vocab.words().to_vec(), matrix)?;
    let meta = [
        ("method", cfg.method.to_string()),
        ("dim", cfg.dim.to_string()),
        ("window", cfg.window.to_string()),
        ("epochs", cfg.epochs.to_string()),
        ("seed", cfg.seed.to_string()),
        ("corpus_words", corpus.raw_words.to_string()),
        ("trained_vocab", corpus.vocab.len().to_string()),
    ];
    vectors.meta.extend(meta.into_iter().map(|(k, v)| (k.to_string(), v)));
    let words = (corpus.ids.len() * cfg.epochs) as f64;
    Ok(Trained {
        vectors,
        seconds,
        words_per_sec: words / seconds.max(1e-9),
        effective_words_per_sec: effective as f64 / seconds.max(1e-9),
        final_loss: loss,
    })
}
