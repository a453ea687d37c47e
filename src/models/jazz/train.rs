//! Training the jazz LSTM on the WJazzD solos, with the bigram baseline and the harmony
//! measures beside it.
//!
//! Each training solo is cut into windows of `window` events; each window starts from a
//! zero state but reads the real event before it, so no event is lost at a cut. Windows
//! are shuffled per epoch with a seed derived from the run's seed and the epoch, so a
//! resumed run sees the batches an uninterrupted one would. Validation runs every held-out
//! solo whole, and reports negative log-likelihood per event in nats.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use rand::seq::SliceRandom;

use super::bigram::Bigram;
use super::data::{self, BOS, Event};
use super::model::{JazzConfig, JazzLstm, Step};
use crate::models::ModelError;
use crate::music::wjazzd::Solo;
use crate::nn::optim::{Adam, Optimizer, clip_by_global_norm};
use crate::nn::weights::{self, Weights};
use crate::nn::{Module, seeded_rng};

#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub model: JazzConfig,
    pub epochs: usize,
    /// Events per training window (truncated back-propagation length).
    pub window: usize,
    pub batch: usize,
    /// Adam's learning rate at the start; it falls linearly to a tenth by the last epoch.
    pub lr: f64,
    pub clip: f64,
    /// Every `val_every`-th solo (by name) is held out whole for validation.
    pub val_every: usize,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { model: JazzConfig::default(), epochs: 30, window: 64, batch: 32, lr: 4e-3, clip: 5.0, val_every: 10, seed: 0 }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Invalid(m));
        if self.epochs == 0 || self.epochs > 10_000 {
            return bad(format!("epochs must be 1..=10000, got {}", self.epochs));
        }
        if self.window < 2 || self.window > 100_000 {
            return bad(format!("window must be 2..=100000 events, got {}", self.window));
        }
        if self.batch == 0 || self.batch > 100_000 {
            return bad(format!("batch must be 1..=100000, got {}", self.batch));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr < 10.0) {
            return bad(format!("learning rate must be in (0, 10), got {}", self.lr));
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return bad(format!("clip must be a positive number, got {}", self.clip));
        }
        if self.val_every < 2 {
            return bad(format!("val_every must be at least 2, got {}", self.val_every));
        }
        Ok(())
    }

    fn lr_at(&self, epoch: usize) -> f64 {
        let progress = if self.epochs > 1 { epoch as f64 / (self.epochs - 1) as f64 } else { 0.0 };
        self.lr * (1.0 - 0.9 * progress)
    }
}

/// The corpus as events, split into whole solos for training and validation.
#[derive(Clone, Debug)]
pub struct Corpus {
    pub train: Vec<Vec<Event>>,
    pub val: Vec<Vec<Event>>,
}

impl Corpus {
    pub fn from_solos(solos: &[Solo], val_every: usize) -> Result<Self, ModelError> {
        let (train, val) = data::split(solos, val_every);
        let to = |v: Vec<&Solo>| v.into_iter().map(data::solo_events).filter(|e| !e.is_empty()).collect::<Vec<_>>();
        let c = Self { train: to(train), val: to(val) };
        if c.train.is_empty() {
            return Err(ModelError::Invalid("no training solos: the corpus is empty".into()));
        }
        Ok(c)
    }

    pub fn train_events(&self) -> usize {
        self.train.iter().map(Vec::len).sum()
    }

    /// Harmony fit over every solo (train and validation) against its estimated chords.
    pub fn harmony_fit(&self) -> (f64, usize) {
        let all: Vec<Event> = self.train.iter().chain(&self.val).flatten().copied().collect();
        data::harmony_fit(&all)
    }
}

/// (previous token, event) pairs of a sequence: BOS before the first.
pub fn steps(events: &[Event]) -> Vec<Step> {
    let mut prev = BOS;
    events
        .iter()
        .map(|&e| {
            let s = (prev, e);
            prev = e.token;
            s
        })
        .collect()
}

#[derive(Clone, Debug)]
pub enum TrainEvent {
    Progress { epoch: usize, epochs: usize, done: usize, total: usize, loss: f64 },
    Epoch { epoch: usize, train_nll: f64, val_nll: Option<f64>, seconds: f64 },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub epochs: usize,
    pub events_per_sec: f64,
    pub seconds: f64,
    pub val_nll: Option<f64>,
}

/// Validation NLL per event of the model over whole sequences.
pub fn val_nll(model: &JazzLstm<f32>, seqs: &[Vec<Event>]) -> Result<Option<f64>, ModelError> {
    if seqs.is_empty() {
        return Ok(None);
    }
    let (mut nll, mut n) = (0.0, 0);
    let all: Vec<Vec<Step>> = seqs.iter().map(|s| steps(s)).collect();
    // Batches of similar lengths keep padding small.
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(all[i].len()));
    for chunk in order.chunks(16) {
        let batch: Vec<&[Step]> = chunk.iter().map(|&i| all[i].as_slice()).collect();
        let (l, c) = model.nll(&batch)?;
        nll += l;
        n += c;
    }
    Ok(Some(nll / n.max(1) as f64))
}

/// The bigram baseline's validation NLL per event, fitted on the same training events.
pub fn bigram_val_nll(corpus: &Corpus) -> Option<f64> {
    if corpus.val.is_empty() {
        return None;
    }
    let train: Vec<&[Event]> = corpus.train.iter().map(Vec::as_slice).collect();
    let val: Vec<&[Event]> = corpus.val.iter().map(Vec::as_slice).collect();
    let (nll, n) = Bigram::fit(&train, 10.0).nll(&val);
    Some(nll / n.max(1) as f64)
}

/// Trains `model`; with `checkpoint`, saves weights and Adam's state after every epoch and
/// resumes from the file when it exists.
pub fn train(
    model: &mut JazzLstm<f32>,
    corpus: &Corpus,
    cfg: &TrainConfig,
    checkpoint: Option<&Path>,
    on_event: &mut dyn FnMut(TrainEvent) -> ControlFlow<()>,
) -> Result<Summary, ModelError> {
    cfg.validate()?;
    let mut opt = Adam::<f32>::new(cfg.lr);
    let mut first_epoch = 0;
    if let Some(path) = checkpoint.filter(|p| p.exists()) {
        first_epoch = load_checkpoint(path, model, &mut opt)?;
    }
    let all_steps: Vec<Vec<Step>> = corpus.train.iter().map(|s| steps(s)).collect();
    let windows: Vec<&[Step]> = all_steps.iter().flat_map(|s| s.chunks(cfg.window)).collect();
    let start = Instant::now();
    let mut events = 0usize;
    let mut last_val = None;
    for epoch in first_epoch..cfg.epochs {
        let epoch_start = Instant::now();
        opt.lr = cfg.lr_at(epoch);
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.shuffle(&mut seeded_rng(cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (epoch as u64 + 1)));
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        let total = order.len();
        for (k, chunk) in order.chunks(cfg.batch).enumerate() {
            let batch: Vec<&[Step]> = chunk.iter().map(|&i| windows[i]).collect();
            model.zero_grad();
            let (loss, count) = model.train_batch(&batch)?;
            // Mean per event, so the learning rate means the same at any batch or window.
            let scale = 1.0 / count.max(1) as f32;
            model.visit("", &mut |_, mut p| p.grad.mapv_inplace(|g| g * scale));
            clip_by_global_norm(model, cfg.clip);
            opt.step(model);
            loss_sum += loss;
            seen += count;
            events += count;
            let p = TrainEvent::Progress { epoch, epochs: cfg.epochs, done: ((k + 1) * cfg.batch).min(total), total, loss: loss_sum / seen.max(1) as f64 };
            if on_event(p).is_break() {
                return Ok(summary(epoch, events, start, last_val));
            }
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        let val = val_nll(model, &corpus.val)?;
        if let Some(path) = checkpoint {
            save_checkpoint(path, model, &opt, epoch + 1)?;
        }
        last_val = val;
        if on_event(TrainEvent::Epoch { epoch, train_nll: loss_sum / seen.max(1) as f64, val_nll: val, seconds }).is_break() {
            return Ok(summary(epoch + 1, events, start, last_val));
        }
    }
    Ok(summary(cfg.epochs, events, start, last_val))
}

fn summary(epochs: usize, events: usize, start: Instant, val_nll: Option<f64>) -> Summary {
    let seconds = start.elapsed().as_secs_f64();
    Summary { epochs, events_per_sec: events as f64 / seconds.max(1e-9), seconds, val_nll }
}

fn save_checkpoint(path: &Path, model: &mut JazzLstm<f32>, opt: &Adam<f32>, epochs_done: usize) -> Result<(), ModelError> {
    let meta = model.metadata();
    weights::save_checkpoint(path, model, meta, opt, epochs_done)?;
    Ok(())
}

fn load_checkpoint(path: &Path, model: &mut JazzLstm<f32>, opt: &mut Adam<f32>) -> Result<usize, ModelError> {
    let w = Weights::read(path)?;
    let saved = JazzLstm::from_weights(&w, &["adam."])?;
    if saved.config() != model.config() {
        return Err(ModelError::Invalid(format!(
            "checkpoint {} belongs to a different model ({:?}); delete it or train to another --out",
            path.display(),
            saved.config()
        )));
    }
    *model = saved;
    Ok(weights::restore_checkpoint(&w, opt)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::theory::Quality;

    /// A corpus built here: a repeating figure the LSTM can learn in a few epochs.
    fn corpus() -> Corpus {
        let figure = [5usize, 37, 69, 196];
        let seq: Vec<Event> = (0..120).map(|i| Event { token: figure[i % 4], quality: Quality::Dominant, pos: (i * 2) % 16 }).collect();
        Corpus { train: vec![seq.clone(), seq.clone()], val: vec![seq] }
    }

    /// Training lowers the validation NLL below the uniform ln 200 ≈ 5.3, and a run stopped
    /// after 12 epochs then resumed from its checkpoint ends where an unbroken run ends.
    #[test]
    fn learns_and_resumes_exactly() {
        let c = corpus();
        let cfg = TrainConfig { model: JazzConfig { hidden: 8 }, epochs: 30, window: 16, batch: 4, lr: 3e-2, ..Default::default() };
        let mut a = JazzLstm::new(cfg.model, 0).unwrap();
        let sa = train(&mut a, &c, &cfg, None, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(sa.val_nll.unwrap() < 200f64.ln() - 1.0, "{sa:?}");

        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.safetensors");
        let mut b = JazzLstm::new(cfg.model, 0).unwrap();
        let mut epochs = 0;
        train(&mut b, &c, &cfg, Some(&ck), &mut |e| {
            if let TrainEvent::Epoch { .. } = e {
                epochs += 1;
                if epochs == 12 {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        let mut b = JazzLstm::new(cfg.model, 0).unwrap();
        let sb = train(&mut b, &c, &cfg, Some(&ck), &mut |_| ControlFlow::Continue(())).unwrap();
        assert!((sa.val_nll.unwrap() - sb.val_nll.unwrap()).abs() < 1e-4, "{sa:?} {sb:?}");
        assert!(bigram_val_nll(&c).unwrap() < 200f64.ln());
    }
}
