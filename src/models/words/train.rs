//! Training settings shared by both trainers, progress reports, and the entry point that
//! turns a corpus into [`WordVectors`].

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ndarray::Array2;

use super::checkpoint::Checkpointing;
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
        if !(self.x_max.is_finite() && self.x_max > 0.0 && self.alpha.is_finite() && (0.0..=10.0).contains(&self.alpha)) {
            return bad(format!("--x-max must be a positive number and alpha in [0, 10], got {} and {}", self.x_max, self.alpha));
        }
        if !(self.sample.is_finite() && (0.0..=1.0).contains(&self.sample)) {
            return bad(format!("--sample must be in [0, 1], got {}", self.sample));
        }
        Ok(())
    }
}

/// A progress report, a few times a second, and once after every checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Work done and to do, in the trainer's unit (corpus words for SGNS, co-occurrence
    /// entries for GloVe), over all epochs (a resumed run starts where its checkpoint was).
    pub done: u64,
    pub total: u64,
    /// Words after subsampling trained on in this run so far (SGNS; gensim's "effective words").
    pub effective: u64,
    /// Mean loss per update since the last report.
    pub loss: f64,
    /// Seconds of training in this run.
    pub seconds: f64,
    /// `Some(epochs every thread has finished)` when this report follows a checkpoint just
    /// written; a `Break` then stops training with that checkpoint as the place to resume.
    pub checkpoint: Option<usize>,
}

/// What training produced, with speed figures.
#[derive(Debug)]
pub struct Trained {
    pub vectors: WordVectors,
    /// Seconds of training in this run (not counting earlier runs a checkpoint continues).
    pub seconds: f64,
    /// Corpus words (raw, in-vocabulary) per second in this run.
    pub words_per_sec: f64,
    /// Words trained after subsampling per second (what gensim logs as effective words/s).
    pub effective_words_per_sec: f64,
    pub final_loss: f64,
    /// Epochs every thread has finished; `complete` is false when a report's `Break`
    /// stopped training early (the checkpoint, if any, then holds the place to resume).
    pub epochs_done: usize,
    pub complete: bool,
    /// Epochs the checkpoint this run resumed from had finished, if it resumed.
    pub resumed_from: Option<usize>,
}

/// What a trainer hands back to [`train_resumable`].
pub(crate) struct Outcome {
    pub matrix: Array2<f32>,
    pub seconds: f64,
    /// Trainer units (words or entries) done in this run, and in one epoch.
    pub work: u64,
    pub work_per_epoch: u64,
    pub effective: u64,
    pub loss: f64,
    pub epochs_done: usize,
    pub complete: bool,
    pub resumed_from: Option<usize>,
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

/// The reporting side of a run that may be cut into segments between checkpoints: one
/// clock and one last loss over all of them.
pub(crate) struct Reporter<'r> {
    start: Instant,
    last_loss: f64,
    total: u64,
    report: &'r mut dyn FnMut(Progress) -> ControlFlow<()>,
}

impl<'r> Reporter<'r> {
    pub fn new(total: u64, report: &'r mut dyn FnMut(Progress) -> ControlFlow<()>) -> Self {
        Self { start: Instant::now(), last_loss: f64::NAN, total, report }
    }

    pub fn seconds(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    pub fn loss(&self) -> f64 {
        self.last_loss
    }

    /// Sends one report; a `Break` asks the workers to stop.
    fn send(&mut self, shared: &Shared, checkpoint: Option<usize>) {
        let (sum, n) = shared.take_loss();
        if n > 0 {
            self.last_loss = sum / n as f64;
        }
        let p = Progress {
            done: shared.done.load(Ordering::Relaxed),
            total: self.total,
            effective: shared.effective.load(Ordering::Relaxed),
            loss: self.last_loss,
            seconds: self.seconds(),
            checkpoint,
        };
        if (self.report)(p).is_break() {
            shared.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Reports that a checkpoint covering `epochs_done` epochs was just written.
    pub fn checkpointed(&mut self, shared: &Shared, epochs_done: usize) {
        self.send(shared, Some(epochs_done));
    }

    /// Runs `work` (which spawns the worker threads on the scope and returns) while this
    /// thread reports progress every 200 ms; returns what each worker returned, in order.
    pub fn run<'env, T: Send + 'env>(
        &mut self,
        shared: &'env Shared,
        work: impl for<'scope> FnOnce(&'scope std::thread::Scope<'scope, 'env>) -> Vec<std::thread::ScopedJoinHandle<'scope, T>>,
    ) -> Result<Vec<T>, WordsError> {
        std::thread::scope(|scope| {
            let handles = work(scope);
            let mut last = None::<Instant>;
            // Polled often so a short segment between checkpoints does not wait out a report interval.
            while !handles.iter().all(|h| h.is_finished()) {
                if last.is_none_or(|t| t.elapsed() >= Duration::from_millis(200)) {
                    self.send(shared, None);
                    last = Some(Instant::now());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            self.send(shared, None);
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| WordsError::Invalid("a training thread panicked".into())))
                .collect()
        })
    }
}

/// Trains vectors on `corpus` with `cfg`, reporting progress; no checkpoints.
pub fn train(corpus: &Corpus, cfg: &TrainConfig, report: &mut dyn FnMut(Progress) -> ControlFlow<()>) -> Result<Trained, WordsError> {
    train_resumable(corpus, cfg, None, report)
}

/// [`train`], writing a checkpoint at the end of every epoch and every `checkpoint.every`
/// units of work, and resuming from `checkpoint.path` when it exists (it must come from
/// the same corpus and settings). The checkpoint is left in place: the caller removes it
/// once the vectors are saved.
pub fn train_resumable(
    corpus: &Corpus,
    cfg: &TrainConfig,
    checkpoint: Option<&Checkpointing>,
    report: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<Trained, WordsError> {
    cfg.validate()?;
    if checkpoint.is_some_and(|c| c.every == 0) {
        return Err(WordsError::Invalid("the checkpoint interval must be at least 1".into()));
    }
    let out = match cfg.method {
        Method::Sgns => sgns::train(corpus, cfg, checkpoint, report)?,
        Method::Glove => glove::train(corpus, cfg, checkpoint, report)?,
    };
    let mut vectors = WordVectors::new(corpus.vocab.words().to_vec(), out.matrix)?;
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
    // Corpus words this run covered: its share of the epochs, whatever the trainer's unit.
    let words = out.work as f64 * corpus.ids.len() as f64 / out.work_per_epoch.max(1) as f64;
    let seconds = out.seconds.max(1e-9);
    Ok(Trained {
        vectors,
        seconds: out.seconds,
        words_per_sec: words / seconds,
        effective_words_per_sec: out.effective as f64 / seconds,
        final_loss: out.loss,
        epochs_done: out.epochs_done,
        complete: out.complete,
        resumed_from: out.resumed_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every absurd setting is an error naming its flag, before any work starts.
    #[test]
    fn absurd_settings_are_refused() {
        let base = TrainConfig::sgns();
        let cases: [(TrainConfig, &str); 9] = [
            (TrainConfig { dim: 0, ..base.clone() }, "--dim"),
            (TrainConfig { window: 1_000, ..base.clone() }, "--window"),
            (TrainConfig { negative: 0, ..base.clone() }, "--negative"),
            (TrainConfig { epochs: 0, ..base.clone() }, "--epochs"),
            (TrainConfig { threads: 0, ..base.clone() }, "--threads"),
            (TrainConfig { lr: f32::NAN, ..base.clone() }, "--lr"),
            (TrainConfig { sample: 2.0, ..base.clone() }, "--sample"),
            (TrainConfig { x_max: 0.0, ..TrainConfig::glove() }, "--x-max"),
            (TrainConfig { x_max: f32::INFINITY, ..TrainConfig::glove() }, "--x-max"),
        ];
        for (cfg, flag) in cases {
            let e = cfg.validate().unwrap_err();
            assert!(e.to_string().contains(flag), "{flag}: {e}");
        }
        assert!(TrainConfig::glove().validate().is_ok() && base.validate().is_ok());
        let corpus = Corpus::from_lines(["a b c a b c"], 1, None).unwrap();
        let plan = Checkpointing { path: "unused.ckpt".into(), every: 0 };
        let e = train_resumable(&corpus, &base, Some(&plan), &mut |_| ControlFlow::Continue(())).unwrap_err();
        assert!(e.to_string().contains("interval"), "{e}");
    }
}
