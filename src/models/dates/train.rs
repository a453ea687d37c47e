//! Training and evaluating the date translator.
//!
//! Every epoch draws fresh pairs from the generator with a seed derived from the run's seed
//! and the epoch, so a run never sees the same sample twice by design and a resumed run sees
//! exactly the batches an uninterrupted one would. Validation pairs come from a third,
//! independent seed.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;


use super::data::{self, Date, Style};
use super::model::{Nmt, NmtConfig, OUTPUT_LEN, confidence};
use crate::metrics::bleu::corpus_bleu;
use crate::models::ModelError;
use crate::nn::optim::{Adam, Optimizer, clip_by_global_norm};
use crate::nn::weights::{self, Weights};
use crate::nn::Module;

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub model: NmtConfig,
    pub epochs: usize,
    /// Fresh pairs per epoch.
    pub epoch_size: usize,
    pub val_size: usize,
    pub batch: usize,
    /// Adam's learning rate at the start; it falls linearly to a tenth by the last epoch,
    /// so the late epochs polish instead of bouncing.
    pub lr: f64,
    /// Gradients are rescaled to at most this global norm.
    pub clip: f64,
    pub style: Style,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: NmtConfig::default(),
            epochs: 12,
            epoch_size: 50_000,
            val_size: 2_000,
            batch: 100,
            lr: 5e-3,
            clip: 5.0,
            style: Style::Mixed,
            seed: 0,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Invalid(m));
        if self.epochs == 0 || self.epochs > 10_000 {
            return bad(format!("epochs must be 1..=10000, got {}", self.epochs));
        }
        if self.epoch_size == 0 || self.epoch_size > 100_000_000 {
            return bad(format!("epoch size must be 1..=100000000, got {}", self.epoch_size));
        }
        if self.val_size > 10_000_000 {
            return bad(format!("validation size must be at most 10000000, got {}", self.val_size));
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
        Ok(())
    }

    fn lr_at(&self, epoch: usize) -> f64 {
        let progress = if self.epochs > 1 { epoch as f64 / (self.epochs - 1) as f64 } else { 0.0 };
        self.lr * (1.0 - 0.9 * progress)
    }
}

/// What training reports as it goes.
#[derive(Clone, Debug)]
pub enum Event {
    Progress { epoch: usize, epochs: usize, done: usize, total: usize, loss: f64 },
    Epoch { epoch: usize, train_loss: f64, val: Option<Eval>, seconds: f64 },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub epochs: usize,
    pub examples: usize,
    pub seconds: f64,
    pub examples_per_sec: f64,
    pub val: Option<Eval>,
}

/// Scores of a model on (human, ISO) pairs.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Eval {
    pub n: usize,
    /// Share of outputs equal to the reference.
    pub exact: f64,
    /// Share of the Ty output symbols equal to the reference's.
    pub char_accuracy: f64,
    /// Corpus BLEU-4 over output characters.
    pub bleu: f64,
    /// Outputs that are not real calendar dates.
    pub invalid: usize,
    /// Inputs the model could not read at all (empty or too long), counted as wrong.
    pub rejected: usize,
    pub dates_per_sec: f64,
    /// Up to 20 (input, expected, got) mistakes.
    pub mistakes: Vec<(String, String, String)>,
}

/// Trains `model`, saving a checkpoint (weights and Adam's state) after every epoch when
/// `checkpoint` is given and resuming from it when it exists.
pub fn train(
    model: &mut Nmt<f32>,
    cfg: &TrainConfig,
    checkpoint: Option<&Path>,
    on_event: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> Result<Summary, ModelError> {
    cfg.validate()?;
    let mut opt = Adam::<f32>::new(cfg.lr);
    let mut first_epoch = 0;
    if let Some(path) = checkpoint.filter(|p| p.exists()) {
        first_epoch = load_checkpoint(path, model, &mut opt)?;
    }
    let val = data::pairs(cfg.val_size, cfg.style, cfg.seed ^ 0x05EE_D0FD_A7E5);
    let start = Instant::now();
    let mut examples = 0;
    let mut last_val = None;
    for epoch in first_epoch..cfg.epochs {
        let epoch_start = Instant::now();
        opt.lr = cfg.lr_at(epoch);
        let pairs = data::pairs(cfg.epoch_size, cfg.style, epoch_seed(cfg.seed, epoch));
        let encoded = encode_pairs(model, &pairs)?;
        let (mut loss_sum, mut seen) = (0.0, 0);
        for chunk in encoded.chunks(cfg.batch) {
            let inputs: Vec<&[usize]> = chunk.iter().map(|(x, _)| x.as_slice()).collect();
            let targets: Vec<[usize; OUTPUT_LEN]> = chunk.iter().map(|(_, y)| *y).collect();
            model.zero_grad();
            let (loss, _) = model.train_batch(&inputs, &targets)?;
            // Mean over examples, so the learning rate means the same at any batch size.
            let scale = 1.0 / chunk.len() as f32;
            model.visit("", &mut |_, mut p| p.grad.mapv_inplace(|g| g * scale));
            clip_by_global_norm(model, cfg.clip);
            opt.step(model);
            loss_sum += loss as f64;
            seen += chunk.len();
            examples += chunk.len();
            let progress = Event::Progress { epoch, epochs: cfg.epochs, done: seen, total: encoded.len(), loss: loss_sum / seen as f64 };
            if on_event(progress).is_break() {
                return Ok(summary(epoch, examples, start, last_val));
            }
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        let val_eval = if val.is_empty() { None } else { Some(evaluate(model, &val, 1)?) };
        if let Some(path) = checkpoint {
            save_checkpoint(path, model, &opt, epoch + 1)?;
        }
        last_val = val_eval.clone();
        let report = Event::Epoch { epoch, train_loss: loss_sum / seen.max(1) as f64, val: val_eval, seconds };
        if on_event(report).is_break() {
            return Ok(summary(epoch + 1, examples, start, last_val));
        }
    }
    Ok(summary(cfg.epochs, examples, start, last_val))
}

fn summary(epochs: usize, examples: usize, start: Instant, val: Option<Eval>) -> Summary {
    let seconds = start.elapsed().as_secs_f64();
    Summary { epochs, examples, seconds, examples_per_sec: examples as f64 / seconds.max(1e-9), val }
}

fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (epoch as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

fn encode_pairs(model: &Nmt<f32>, pairs: &[(String, String)]) -> Result<Vec<(Vec<usize>, [usize; OUTPUT_LEN])>, ModelError> {
    pairs
        .iter()
        .map(|(human, iso)| Ok((model.encode(human)?.ids, Nmt::<f32>::encode_target(iso)?)))
        .collect()
}

/// Greedy-decodes every human side of `pairs` (in batches, over `threads` threads) and
/// compares with the ISO side.
pub fn evaluate(model: &Nmt<f32>, pairs: &[(String, String)], threads: usize) -> Result<Eval, ModelError> {
    let start = Instant::now();
    let outputs = translate_many(model, pairs.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>().as_slice(), threads)?;
    let seconds = start.elapsed().as_secs_f64();
    let mut eval = Eval {
        n: pairs.len(),
        exact: 0.0,
        char_accuracy: 0.0,
        bleu: 0.0,
        invalid: 0,
        rejected: 0,
        dates_per_sec: pairs.len() as f64 / seconds.max(1e-9),
        mistakes: Vec::new(),
    };
    let (mut exact, mut chars) = (0usize, 0usize);
    let mut bleu_pairs: Vec<(Vec<char>, Vec<char>)> = Vec::with_capacity(pairs.len());
    for ((human, iso), out) in pairs.iter().zip(&outputs) {
        let got = match out {
            Some((text, _)) => text.clone(),
            None => {
                eval.rejected += 1;
                String::new()
            }
        };
        if out.is_some() && got.parse::<Date>().is_err() {
            eval.invalid += 1;
        }
        if &got == iso {
            exact += 1;
        } else if eval.mistakes.len() < 20 {
            eval.mistakes.push((human.clone(), iso.clone(), got.clone()));
        }
        chars += got.chars().zip(iso.chars()).filter(|(a, b)| a == b).count();
        bleu_pairs.push((got.chars().collect(), iso.chars().collect()));
    }
    let n = pairs.len().max(1) as f64;
    eval.exact = exact as f64 / n;
    eval.char_accuracy = chars as f64 / (n * OUTPUT_LEN as f64);
    let refs: Vec<[&[char]; 1]> = bleu_pairs.iter().map(|(_, r)| [r.as_slice()]).collect();
    let corpus: Vec<(&[char], &[&[char]])> = bleu_pairs.iter().zip(&refs).map(|((c, _), r)| (c.as_slice(), r.as_slice())).collect();
    eval.bleu = corpus_bleu(&corpus, 4);
    Ok(eval)
}

/// Greedy translations of many inputs: (ISO string, confidence), or None for an input the
/// model cannot read (empty, too long). Inputs are sorted by length into batches so little
/// work goes to padding, and the batches are shared among `threads` threads.
pub fn translate_many(model: &Nmt<f32>, inputs: &[&str], threads: usize) -> Result<Vec<Option<(String, f64)>>, ModelError> {
    const BATCH: usize = 128;
    let encoded: Vec<Option<Vec<usize>>> = inputs.iter().map(|s| model.encode(s).ok().map(|e| e.ids)).collect();
    let mut order: Vec<usize> = (0..inputs.len()).filter(|&i| encoded[i].is_some()).collect();
    order.sort_by_key(|&i| encoded[i].as_ref().map_or(0, Vec::len));
    let batches: Vec<&[usize]> = order.chunks(BATCH).collect();
    let threads = threads.clamp(1, 64).min(batches.len().max(1));
    // Batches are sorted by length, so equal shares of the list would be unequal work:
    // each thread takes the next batch from a shared counter instead.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let run = || -> Result<Vec<(usize, String, f64)>, ModelError> {
        let mut out = Vec::new();
        while let Some(batch) = batches.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
            let xs: Vec<&[usize]> = batch.iter().filter_map(|&i| encoded[i].as_deref()).collect();
            let decoded = model.greedy(&xs)?;
            for (k, &i) in batch.iter().enumerate() {
                let text = Nmt::<f32>::symbols_to_string(decoded.symbols.row(k).iter().copied());
                out.push((i, text, confidence(decoded.probs.row(k))));
            }
        }
        Ok(out)
    };
    let parts: Vec<Result<Vec<(usize, String, f64)>, ModelError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(run)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(ModelError::Invalid("a translation thread panicked".into()))))
            .collect()
    });
    let mut results = vec![None; inputs.len()];
    for part in parts {
        for (i, text, conf) in part? {
            results[i] = Some((text, conf));
        }
    }
    Ok(results)
}

fn save_checkpoint(path: &Path, model: &mut Nmt<f32>, opt: &Adam<f32>, epochs_done: usize) -> Result<(), ModelError> {
    let meta = model.metadata();
    weights::save_checkpoint(path, model, meta, opt, epochs_done)?;
    Ok(())
}

/// Restores weights and Adam's state; returns how many epochs the checkpoint had done.
fn load_checkpoint(path: &Path, model: &mut Nmt<f32>, opt: &mut Adam<f32>) -> Result<usize, ModelError> {
    let w = Weights::read(path)?;
    let saved = Nmt::from_weights(&w, &["adam."])?;
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
