//! Dinosaur Island: a character-level model of dinosaur names, trained the course's way
//! (one name per SGD step, hidden state carried from name to name) or in padded batches.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use rand::seq::SliceRandom;

use super::ModelError;
use super::charlm::{CharLm, CharLmConfig, Event, TrainConfig, Resume, Summary, load_checkpoint, save_checkpoint};
use super::vocab::Vocab;
use crate::nn::optim::{AnyOptimizer, Optimizer, OptimizerKind, clip_by_value};
use crate::nn::recurrent::NO_TOKEN;
use crate::nn::weights::Weights;
use crate::nn::{CellKind, Module, seeded_rng};

pub const TASK: &str = "dinos";
/// The end-of-name character: the model emits it to stop.
pub const END: char = '\n';
/// The course caps sampled names at 50 characters.
pub const MAX_NAME: usize = 50;

/// Weights shipped with seqlab, built into the binary so `sample` works anywhere.
static SHIPPED: &[u8] = include_bytes!("../../assets/dinos.safetensors");

pub fn default_data() -> PathBuf {
    super::data::shared_data_dir().join("dinosaurs.txt")
}

/// The model at `path`, or the shipped one.
pub fn load_model(path: Option<&Path>) -> Result<CharLm, ModelError> {
    CharLm::from_weights(&Weights::read_or_shipped(path, "dinos.safetensors", SHIPPED)?, TASK)
}

/// The course's assignment: RNN, n_a = 50, SGD at 0.01, clip 5, one name per step.
pub fn course_config() -> TrainConfig {
    TrainConfig {
        model: CharLmConfig { cell: CellKind::Rnn, hidden: 50, layers: 1 },
        iters: 40_000,
        batch: 1,
        optimizer: OptimizerKind::Sgd,
        lr: 0.01,
        clip: 5.0,
        seed: 0,
        report_every: 2000,
        seq_len: 0,
    }
}

/// Names split into training and held-out validation (10%, seeded shuffle).
pub struct Split {
    pub train: Vec<String>,
    pub val: Vec<String>,
}

impl Split {
    pub fn new(mut names: Vec<String>, seed: u64) -> Self {
        names.shuffle(&mut seeded_rng(seed));
        let n_val = if names.len() >= 10 { names.len() / 10 } else { 0 };
        let train = names.split_off(n_val);
        Self { train, val: names }
    }

    /// Vocabulary of every name plus the end character.
    pub fn vocab(&self) -> Vocab {
        Vocab::from_texts(self.train.iter().chain(&self.val).map(String::as_str).chain(["\n"]))
    }
}

/// Trains `model` on `split`. With `checkpoint`, saves there every report and resumes
/// from it when it exists and matches. `on_event` may stop training early.
pub fn train(
    model: &mut CharLm,
    split: &Split,
    cfg: &TrainConfig,
    checkpoint: Option<&Path>,
    on_event: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> Result<Summary, ModelError> {
    cfg.validate()?;
    let train = encode_all(model, &split.train)?;
    let val = encode_all(model, &split.val)?;
    if train.is_empty() {
        return Err(ModelError::Invalid("no training names".into()));
    }
    let end = end_id(model)?;
    let mut opt = AnyOptimizer::new(cfg.optimizer, cfg.lr);
    let vocab_size = model.vocab.len() as f32;
    let mut resume = Resume { iter: 0, smoothed: -(1.0 / vocab_size).ln() * 7.0, carry: model.zero_states(1) };
    if let Some(path) = checkpoint.filter(|p| p.exists()) {
        resume = load_checkpoint(path, model, &mut opt)?;
    }
    let start = Instant::now();
    let first_iter = resume.iter;
    let mut smoothed = resume.smoothed;
    let mut carry = resume.carry;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut names_done = 0usize;
    let mut iter = first_iter;
    while iter < cfg.iters {
        model.zero_grad();
        let loss_per_name = if cfg.batch == 1 {
            // The course: name j is train[j mod n], state carried from the previous name.
            let (inputs, targets) = name_batch(&[&train[iter % train.len()]], end);
            let (loss, finals) = model.run(inputs.0.view(), targets.view(), None, &carry, true)?;
            carry = finals;
            names_done += 1;
            loss.loss
        } else {
            // Each epoch reshuffles with a seed derived from the epoch, so a resumed run
            // sees the same batches as an uninterrupted one.
            let per_epoch = train.len().div_ceil(cfg.batch);
            let (epoch, k) = (iter / per_epoch, iter % per_epoch);
            if k == 0 || iter == first_iter {
                order = (0..train.len()).collect();
                order.shuffle(&mut seeded_rng(cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9)));
            }
            let names: Vec<&Vec<usize>> = order.iter().skip(k * cfg.batch).take(cfg.batch).map(|&i| &train[i]).collect();
            let ((inputs, mask), targets) = name_batch(&names, end);
            let states = model.zero_states(names.len());
            let (loss, _) = model.run(inputs.view(), targets.view(), Some(mask.view()), &states, true)?;
            // Average over names so the learning rate means the same at any batch size.
            let scale = 1.0 / names.len() as f32;
            model.visit("", &mut |_, mut p| p.grad.mapv_inplace(|g| g * scale));
            names_done += names.len();
            loss.loss * scale
        };
        clip_by_value(model, cfg.clip);
        opt.step(model);
        smoothed = 0.999 * smoothed + 0.001 * loss_per_name;
        iter += 1;
        if (iter.is_multiple_of(100) || iter == cfg.iters)
            && on_event(Event::Progress { iter, total: cfg.iters, smoothed_loss: smoothed }).is_break() {
                break;
            }
        if iter.is_multiple_of(cfg.report_every) || iter == cfg.iters {
            let val_loss = validation_loss(model, &val)?;
            let samples = sample_names(model, 5, 1.0, cfg.seed.wrapping_add(iter as u64))?;
            if let Some(path) = checkpoint {
                save_checkpoint(path, model, &opt, iter, smoothed, &carry)?;
            }
            let report = Event::Report { iter, smoothed_loss: smoothed, val_loss_per_char: val_loss, samples };
            if on_event(report).is_break() {
                break;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let done = iter - first_iter;
    Ok(Summary {
        iters: iter,
        smoothed_loss: smoothed,
        val_loss_per_char: validation_loss(model, &val)?,
        seconds,
        iters_per_sec: done as f64 / seconds.max(1e-9),
        names_per_sec: names_done as f64 / seconds.max(1e-9),
    })
}

fn end_id(model: &CharLm) -> Result<usize, ModelError> {
    model.vocab.id(END).ok_or_else(|| ModelError::Invalid("model has no end-of-name character".into()))
}

fn encode_all(model: &CharLm, names: &[String]) -> Result<Vec<Vec<usize>>, ModelError> {
    names.iter().map(|n| model.vocab.encode(n)).collect()
}

/// Time-major batch of names: inputs [T, B] start with NO_TOKEN (the course's zero
/// x⟨1⟩) then the characters; targets are the characters then END; mask marks real steps.
/// Columns run longest name first, so every mask row is a prefix of ones and the
/// recurrent layer skips the padding instead of computing and discarding it.
fn name_batch(names: &[&Vec<usize>], end: usize) -> ((Array2<usize>, Array2<f32>), Array2<usize>) {
    let mut names = names.to_vec();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let t_len = names.iter().map(|n| n.len() + 1).max().unwrap_or(1);
    let mut inputs = Array2::from_elem((t_len, names.len()), NO_TOKEN);
    let mut targets = Array2::zeros((t_len, names.len()));
    let mut mask = Array2::zeros((t_len, names.len()));
    for (b, name) in names.iter().enumerate() {
        for t in 0..=name.len() {
            if t > 0 {
                inputs[[t, b]] = name[t - 1];
            }
            targets[[t, b]] = if t < name.len() { name[t] } else { end };
            mask[[t, b]] = 1.0;
        }
    }
    ((inputs, mask), targets)
}

/// Mean loss per character (END included) over held-out names; None without any.
pub fn validation_loss(model: &mut CharLm, val: &[Vec<usize>]) -> Result<Option<f32>, ModelError> {
    if val.is_empty() {
        return Ok(None);
    }
    let (mut loss, mut chars) = (0.0, 0);
    for chunk in val.chunks(256) {
        let refs: Vec<&Vec<usize>> = chunk.iter().collect();
        let ((inputs, mask), targets) = name_batch(&refs, end_id(model)?);
        let (l, _) = model.run(inputs.view(), targets.view(), Some(mask.view()), &model.zero_states(refs.len()), false)?;
        loss += l.loss;
        chars += l.chars;
    }
    Ok(Some(loss / chars.max(1) as f32))
}

/// `n` names sampled at `temperature` (1 = the model's own distribution).
pub fn sample_names(model: &CharLm, n: usize, temperature: f64, seed: u64) -> Result<Vec<String>, ModelError> {
    let end = end_id(model)?;
    let mut rng = seeded_rng(seed);
    (0..n).map(|_| model.generate(NO_TOKEN, &[], Some(end), MAX_NAME, temperature, &mut rng, |_| true)).collect()
}

/// Share of `samples` that are not in `known` (case-insensitive).
pub fn novelty(samples: &[String], known: &HashSet<String>) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.iter().filter(|s| !known.contains(&s.to_lowercase())).count() as f64 / samples.len() as f64
}

