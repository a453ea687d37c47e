//! Character-level text generation on any corpus (the course's "write like Shakespeare"):
//! the same [`CharLm`] as Dinosaur Island, trained with truncated backpropagation through
//! time on `batch` parallel streams whose state carries from window to window.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;

use super::ModelError;
use super::charlm::{CharLm, CharLmConfig, Event, Resume, Summary, TrainConfig, load_checkpoint, save_checkpoint};
use super::vocab::Vocab;
use crate::nn::optim::{AnyOptimizer, Optimizer, OptimizerKind, clip_by_value};
use crate::nn::weights::Weights;
use crate::nn::{CellKind, Module, State, seeded_rng};

pub const TASK: &str = "text";
/// Longest text `generate` will produce in one call.
pub const MAX_LENGTH: usize = 100_000;
/// Held-out tail used for the validation loss, capped to keep reports quick.
const MAX_VAL_CHARS: usize = 20_000;

static SHIPPED: &[u8] = include_bytes!("../../assets/text.safetensors");

/// The course's demo corpus: the Shakespeare plays inside the shared Gutenberg selection.
pub fn default_data() -> PathBuf {
    super::data::shared_data_dir().join("corpus/gutenberg.txt.gz")
}

pub const DEFAULT_AUTHOR: &str = "William Shakespeare";

pub fn default_config() -> TrainConfig {
    TrainConfig {
        model: CharLmConfig { cell: CellKind::Lstm, hidden: 256, layers: 1 },
        iters: 3000,
        batch: 32,
        optimizer: OptimizerKind::Adam,
        lr: 3e-3,
        clip: 5.0,
        seed: 0,
        report_every: 250,
        seq_len: 64,
    }
}

/// The model at `path`, or the shipped one.
pub fn load_model(path: Option<&Path>) -> Result<CharLm, ModelError> {
    CharLm::from_weights(&Weights::read_or_shipped(path, "text.safetensors", SHIPPED)?, TASK)
}

/// Vocabulary of a corpus.
pub fn vocab_of(text: &str) -> Vocab {
    Vocab::from_texts([text])
}

/// Trains on `text` (the last 10% held out for validation).
pub fn train(
    model: &mut CharLm,
    text: &str,
    cfg: &TrainConfig,
    checkpoint: Option<&Path>,
    on_event: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> Result<Summary, ModelError> {
    cfg.validate()?;
    if cfg.seq_len == 0 {
        return Err(ModelError::Invalid("sequence length must be at least 1".into()));
    }
    let ids = model.vocab.encode(text)?;
    let split = ids.len() - ids.len() / 10;
    let (train_ids, val_ids) = ids.split_at(split);
    let val_ids = &val_ids[..val_ids.len().min(MAX_VAL_CHARS)];
    // Each stream is one contiguous slice of the text, long enough for at least one window.
    let stream_len = train_ids.len() / cfg.batch;
    if stream_len < cfg.seq_len + 1 {
        return Err(ModelError::Invalid(format!(
            "the text has {} training characters, too few for {} streams of {} (use a smaller --batch or --seq-len)",
            train_ids.len(),
            cfg.batch,
            cfg.seq_len + 1
        )));
    }
    let mut opt = AnyOptimizer::new(cfg.optimizer, cfg.lr);
    let mut resume = Resume {
        iter: 0,
        smoothed: -(1.0 / model.vocab.len() as f32).ln() * cfg.seq_len as f32,
        carry: model.zero_states(cfg.batch),
    };
    if let Some(path) = checkpoint.filter(|p| p.exists()) {
        resume = load_checkpoint(path, model, &mut opt)?;
    }
    let windows = (stream_len - 1) / cfg.seq_len;
    let start = Instant::now();
    let first_iter = resume.iter;
    let (mut smoothed, mut states) = (resume.smoothed, resume.carry);
    let mut iter = first_iter;
    while iter < cfg.iters {
        let w = iter % windows;
        if w == 0 {
            // Back at each stream's start: the carried state belongs to its end.
            states = model.zero_states(cfg.batch);
        }
        let mut inputs = Array2::zeros((cfg.seq_len, cfg.batch));
        let mut targets = Array2::zeros((cfg.seq_len, cfg.batch));
        for b in 0..cfg.batch {
            let base = b * stream_len + w * cfg.seq_len;
            for t in 0..cfg.seq_len {
                inputs[[t, b]] = train_ids[base + t];
                targets[[t, b]] = train_ids[base + t + 1];
            }
        }
        model.zero_grad();
        let (loss, finals) = model.run(inputs.view(), targets.view(), None, &states, true)?;
        states = finals;
        let scale = 1.0 / cfg.batch as f32;
        model.visit("", &mut |_, mut p| p.grad.mapv_inplace(|g| g * scale));
        clip_by_value(model, cfg.clip);
        opt.step(model);
        smoothed = 0.99 * smoothed + 0.01 * loss.loss * scale;
        iter += 1;
        if (iter.is_multiple_of(10) || iter == cfg.iters) && on_event(Event::Progress { iter, total: cfg.iters, smoothed_loss: smoothed }).is_break() {
            break;
        }
        if iter.is_multiple_of(cfg.report_every) || iter == cfg.iters {
            let val = validation_loss(model, val_ids)?;
            let sample = generate(model, "", 200, 0.8, cfg.seed.wrapping_add(iter as u64), |_| true)?;
            if let Some(path) = checkpoint {
                save_checkpoint(path, model, &opt, iter, smoothed, &states)?;
            }
            if on_event(Event::Report { iter, smoothed_loss: smoothed, val_loss_per_char: val, samples: vec![sample] }).is_break() {
                break;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let done = (iter - first_iter) as f64;
    Ok(Summary {
        iters: iter,
        smoothed_loss: smoothed,
        val_loss_per_char: validation_loss(model, val_ids)?,
        seconds,
        iters_per_sec: done / seconds,
        names_per_sec: done * (cfg.batch * cfg.seq_len) as f64 / seconds,
    })
}

/// Mean loss per character over `ids`, read in windows with the state carried.
pub fn validation_loss(model: &mut CharLm, ids: &[usize]) -> Result<Option<f32>, ModelError> {
    if ids.len() < 2 {
        return Ok(None);
    }
    let mut states: Vec<State<f32>> = model.zero_states(1);
    let (mut loss, mut chars) = (0.0, 0);
    for chunk in ids.windows(2).collect::<Vec<_>>().chunks(256) {
        let inputs = Array2::from_shape_fn((chunk.len(), 1), |(t, _)| chunk[t][0]);
        let targets = Array2::from_shape_fn((chunk.len(), 1), |(t, _)| chunk[t][1]);
        let (l, finals) = model.run(inputs.view(), targets.view(), None, &states, false)?;
        states = finals;
        loss += l.loss;
        chars += l.chars;
    }
    Ok(Some(loss / chars.max(1) as f32))
}

/// Continues `prompt` by `length` sampled characters; `on_char` sees each as it is drawn
/// and may stop early by returning false. The model starts as at a paragraph's beginning.
pub fn generate(
    model: &CharLm,
    prompt: &str,
    length: usize,
    temperature: f64,
    seed: u64,
    on_char: impl FnMut(char) -> bool,
) -> Result<String, ModelError> {
    if length > MAX_LENGTH {
        return Err(ModelError::Invalid(format!("length must be at most {MAX_LENGTH}, got {length}")));
    }
    let prompt_ids = model.vocab.encode(prompt)?;
    let start = model.vocab.id('\n').unwrap_or(crate::nn::recurrent::NO_TOKEN);
    model.generate(start, &prompt_ids, None, length, temperature, &mut seeded_rng(seed), on_char)
}
