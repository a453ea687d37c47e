//! The character-level language model behind Dinosaur Island and text generation:
//! one-hot characters -> stacked RNN/LSTM/GRU -> dense -> softmax over the next character.
//!
//! The first layer reads token ids, so the one-hot product `x W_x` is a row lookup, and
//! [`NO_TOKEN`] is the course's all-zero x⟨1⟩ that starts every name.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array1, Array2, ArrayD, ArrayView2, Axis};

use super::ModelError;
use super::vocab::Vocab;
use crate::nn::loss::softmax_cross_entropy;
use crate::nn::recurrent::{NO_TOKEN, SeqInput};
use crate::nn::weights::{self, KIND_KEY, Weights};
use crate::nn::optim::{AnyOptimizer, OptimizerKind};
use crate::nn::{AnyCell, Cell, CellKind, Dense, Module, ParamMut, Stacked, State, seeded_rng};

/// The `kind` written into every char-LM weights file.
pub const KIND: &str = "seqlab.charlm";

/// Largest sizes accepted from a user or a file: far beyond anything that trains on a
/// laptop, small enough that a typo cannot ask for terabytes.
const MAX_HIDDEN: usize = 4096;
const MAX_LAYERS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CharLmConfig {
    pub cell: CellKind,
    pub hidden: usize,
    pub layers: usize,
}

#[derive(Clone, Debug)]
pub struct CharLm {
    pub vocab: Vocab,
    /// What the model was trained for ("dinos", "text"); loading checks it, because a
    /// dinosaur model is a valid char-LM but a useless text generator.
    pub task: String,
    pub rnn: Stacked<AnyCell<f32>>,
    pub out: Dense<f32>,
}

/// Summed loss of a batch and how many characters it covered.
#[derive(Clone, Copy, Debug)]
pub struct BatchLoss {
    pub loss: f32,
    pub chars: usize,
}

impl CharLm {
    pub fn new(task: &str, vocab: Vocab, cfg: CharLmConfig, seed: u64) -> Result<Self, ModelError> {
        if vocab.is_empty() {
            return Err(ModelError::Invalid("the vocabulary is empty: is the training data empty?".into()));
        }
        if !(1..=MAX_HIDDEN).contains(&cfg.hidden) {
            return Err(ModelError::Invalid(format!("hidden size must be 1..={MAX_HIDDEN}, got {}", cfg.hidden)));
        }
        if !(1..=MAX_LAYERS).contains(&cfg.layers) {
            return Err(ModelError::Invalid(format!("layers must be 1..={MAX_LAYERS}, got {}", cfg.layers)));
        }
        let mut rng = seeded_rng(seed);
        let cells = (0..cfg.layers)
            .map(|l| AnyCell::new(cfg.cell, if l == 0 { vocab.len() } else { cfg.hidden }, cfg.hidden, &mut rng))
            .collect();
        let out = Dense::new(cfg.hidden, vocab.len(), &mut rng);
        Ok(Self { task: task.to_string(), rnn: Stacked::new(cells), out, vocab })
    }

    pub fn config(&self) -> CharLmConfig {
        let first = &self.rnn.layers[0].cell;
        CharLmConfig { cell: first.kind(), hidden: first.hidden_size(), layers: self.rnn.layers.len() }
    }

    pub fn zero_states(&self, batch: usize) -> Vec<State<f32>> {
        self.rnn.zero_states(batch)
    }

    /// Forward over token ids [T, B] against targets [T, B]; with `train`, also backward
    /// (adding gradients). Returns the summed loss and the final states.
    pub fn run(
        &mut self,
        inputs: ArrayView2<usize>,
        targets: ArrayView2<usize>,
        mask: Option<ArrayView2<f32>>,
        states: &[State<f32>],
        train: bool,
    ) -> Result<(BatchLoss, Vec<State<f32>>), ModelError> {
        let (t_len, batch) = inputs.dim();
        let (h, finals, cache) = self.rnn.forward(SeqInput::Tokens(inputs), states, mask)?;
        let hidden = h.len_of(Axis(2));
        let flat = h.into_shape_with_order((t_len * batch, hidden)).map_err(|e| ModelError::Invalid(e.to_string()))?;
        // Padded steps add nothing to the loss, so only the real rows (mask ≠ 0) go through
        // the output layer: with names of mixed length that is a third fewer rows.
        let real: Option<(Vec<usize>, Array1<f32>)> = mask.map(|m| {
            let (idx, weights): (Vec<usize>, Vec<f32>) = m.iter().copied().enumerate().filter(|&(_, v)| v != 0.0).unzip();
            (idx, Array1::from(weights))
        });
        let all_targets: Vec<usize> = targets.iter().copied().collect();
        let (rows, row_targets) = match &real {
            Some((idx, _)) => (gather_rows(&flat, idx), idx.iter().map(|&i| all_targets[i]).collect()),
            None => (flat, all_targets),
        };
        let (logits, out_cache) = self.out.forward(rows.view());
        let lg = softmax_cross_entropy(logits.view(), &row_targets, real.as_ref().map(|(_, w)| w.view()))?;
        if train {
            let d_rows = self.out.backward(&out_cache, lg.dlogits.view());
            // rows = gather(flat, real):  d flat = scatter(d rows, real), zero elsewhere
            let dh = match &real {
                Some((idx, _)) => scatter_rows(&d_rows, idx, t_len * batch),
                None => d_rows,
            };
            let dh = dh.into_shape_with_order((t_len, batch, hidden)).map_err(|e| ModelError::Invalid(e.to_string()))?;
            self.rnn.backward(&cache, dh.view(), None);
        }
        Ok((BatchLoss { loss: lg.loss, chars: lg.count }, finals))
    }

    /// Feeds one token (or [`NO_TOKEN`]) to a batch-of-one state and returns the logits
    /// for the next character. This is the streaming path used for sampling.
    pub fn step(&self, token: usize, states: &mut [State<f32>]) -> Result<Array1<f32>, ModelError> {
        let first = &self.rnn.layers[0].cell;
        let width = first.w_x().value.ncols();
        let xp = match token {
            NO_TOKEN => Array2::zeros((1, width)),
            t if t < self.vocab.len() => first.w_x().value.row(t).to_owned().insert_axis(Axis(0)),
            t => return Err(ModelError::Invalid(format!("token {t} outside a vocabulary of {}", self.vocab.len()))),
        };
        let mut below = None::<Array2<f32>>;
        for (l, (layer, state)) in self.rnn.layers.iter().zip(states.iter_mut()).enumerate() {
            let (next, _) = match &below {
                Some(h) => layer.cell.step(h.view(), state),
                None if l == 0 => layer.cell.step_projected(xp.view(), state),
                None => unreachable!("only the first layer has no layer below"),
            };
            below = Some(next.h.clone());
            *state = next;
        }
        let h = below.ok_or_else(|| ModelError::Invalid("model has no layers".into()))?;
        Ok(self.out.apply(h.view()).row(0).to_owned())
    }

    /// Samples characters after `prompt` (fed first, from `start`) until `stop` is drawn
    /// or `max_len` characters are out; `on_char` sees each one as it is drawn and may stop
    /// early by returning false. `temperature` must be positive.
    pub fn generate(
        &self,
        start: usize,
        prompt: &[usize],
        stop: Option<usize>,
        max_len: usize,
        temperature: f64,
        rng: &mut impl rand::Rng,
        mut on_char: impl FnMut(char) -> bool,
    ) -> Result<String, ModelError> {
        let mut states = self.zero_states(1);
        let mut logits = self.step(start, &mut states)?;
        for &t in prompt {
            logits = self.step(t, &mut states)?;
        }
        let mut out = String::new();
        for _ in 0..max_len {
            let next = crate::nn::sampling::sample_index(logits.view(), temperature, None, rng)?;
            if Some(next) == stop {
                break;
            }
            let ch = self.vocab.char(next).ok_or_else(|| ModelError::Invalid(format!("sampled id {next} has no character")))?;
            out.push(ch);
            if !on_char(ch) {
                break;
            }
            logits = self.step(next, &mut states)?;
        }
        Ok(out)
    }

    /// Writes the model and its vocabulary and hyper-parameters, plus `extra` metadata.
    pub fn save(&mut self, path: &Path, extra: &[(&str, String)]) -> Result<(), ModelError> {
        let cfg = self.config();
        let mut meta: HashMap<String, String> = HashMap::from([
            (KIND_KEY.into(), KIND.into()),
            ("task".into(), self.task.clone()),
            ("cell".into(), cfg.cell.to_string()),
            ("hidden".into(), cfg.hidden.to_string()),
            ("layers".into(), cfg.layers.to_string()),
            ("vocab".into(), self.vocab.to_json()),
        ]);
        meta.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        weights::save(path, self, meta)?;
        Ok(())
    }

    /// Rebuilds a model from a weights file, which must hold a char-LM trained for `task`.
    pub fn from_weights(w: &Weights, task: &str) -> Result<Self, ModelError> {
        w.expect_kind(KIND)?;
        let found = w.meta("task")?;
        if found != task {
            return Err(ModelError::Invalid(format!(
                "{} holds a '{found}' model, not a '{task}' model",
                w.path().display()
            )));
        }
        let vocab = Vocab::from_json(w.meta("vocab")?).map_err(|reason| crate::nn::NnError::BadMetadata {
            path: w.path().to_path_buf(),
            key: "vocab".into(),
            reason,
        })?;
        let cfg = CharLmConfig { cell: w.meta_parse("cell")?, hidden: w.meta_parse("hidden")?, layers: w.meta_parse("layers")? };
        let mut model = Self::new(task, vocab, cfg, 0)?;
        // Checkpoints carry training state beside the weights; a model load skips it.
        w.load_into_except(&mut model, &["carry.", "adam."])?;
        Ok(model)
    }

    pub fn load(path: &Path, task: &str) -> Result<Self, ModelError> {
        Self::from_weights(&Weights::read(path)?, task)
    }
}

/// Rows `idx` of `a: [N, H]` -> [idx.len(), H], copied as slices (a per-row `assign` costs
/// more than the copy at H = 50).
fn gather_rows(a: &Array2<f32>, idx: &[usize]) -> Array2<f32> {
    let (a, h) = (a.as_standard_layout(), a.ncols());
    let src = a.as_slice().expect("standard layout");
    let mut data = Vec::with_capacity(idx.len() * h);
    for &i in idx {
        data.extend_from_slice(&src[i * h..(i + 1) * h]);
    }
    Array2::from_shape_vec((idx.len(), h), data).expect("idx.len() rows of H")
}

/// Inverse of [`gather_rows`]: row k of `d: [idx.len(), H]` goes to row idx[k] of an
/// `[n, H]` array of zeros.
fn scatter_rows(d: &Array2<f32>, idx: &[usize], n: usize) -> Array2<f32> {
    let (d, h) = (d.as_standard_layout(), d.ncols());
    let mut out = Array2::zeros((n, h));
    let dst = out.as_slice_mut().expect("a new array is contiguous");
    for (&i, row) in idx.iter().zip(d.as_slice().expect("standard layout").chunks_exact(h.max(1))) {
        dst[i * h..(i + 1) * h].copy_from_slice(row);
    }
    out
}

impl Module<f32> for CharLm {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, f32>)) {
        self.rnn.visit(&crate::nn::param::join(prefix, "rnn"), f);
        self.out.visit(&crate::nn::param::join(prefix, "out"), f);
    }
}

/// How to train a char-LM.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub model: CharLmConfig,
    pub iters: usize,
    /// Names (or text streams) per step; for names, 1 is the course's configuration:
    /// one name per step with the state carried over.
    pub batch: usize,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// Gradients are clipped element-wise to [-clip, clip] (the course uses 5).
    pub clip: f64,
    pub seed: u64,
    /// Report (samples, validation loss, checkpoint) every this many iterations.
    pub report_every: usize,
    /// Text only: characters per truncated-backpropagation window.
    pub seq_len: usize,
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Invalid(m));
        if self.iters == 0 || self.iters > 100_000_000 {
            return bad(format!("iterations must be 1..=100000000, got {}", self.iters));
        }
        if self.batch == 0 || self.batch > 4096 {
            return bad(format!("batch must be 1..=4096, got {}", self.batch));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr < 10.0) {
            return bad(format!("learning rate must be in (0, 10), got {}", self.lr));
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return bad(format!("clip must be a positive number, got {}", self.clip));
        }
        if self.seq_len > 100_000 {
            return bad(format!("sequence length must be at most 100000, got {}", self.seq_len));
        }
        if self.report_every == 0 {
            return bad("report interval must be at least 1".into());
        }
        Ok(())
    }
}

/// What a training loop reports as it goes.
pub enum Event {
    Progress { iter: usize, total: usize, smoothed_loss: f32 },
    Report { iter: usize, smoothed_loss: f32, val_loss_per_char: Option<f32>, samples: Vec<String> },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub iters: usize,
    pub smoothed_loss: f32,
    pub val_loss_per_char: Option<f32>,
    pub seconds: f64,
    pub iters_per_sec: f64,
    pub names_per_sec: f64,
}

/// Where a checkpointed run stopped.
pub(crate) struct Resume {
    pub iter: usize,
    pub smoothed: f32,
    pub carry: Vec<State<f32>>,
}

pub(crate) fn save_checkpoint(
    path: &Path,
    model: &mut CharLm,
    opt: &AnyOptimizer<f32>,
    iter: usize,
    smoothed: f32,
    carry: &[State<f32>],
) -> Result<(), ModelError> {
    let mut extra: Vec<(String, ArrayD<f32>)> =
        carry.iter().enumerate().map(|(l, s)| (format!("carry.h.{l}"), s.h.clone().into_dyn())).collect();
    extra.extend(carry.iter().enumerate().filter_map(|(l, s)| s.c.as_ref().map(|c| (format!("carry.c.{l}"), c.clone().into_dyn()))));
    let mut adam_steps = 0;
    if let AnyOptimizer::Adam(a) = opt {
        let (t, tensors) = a.state();
        adam_steps = t;
        extra.extend(tensors);
    }
    let cfg = model.config();
    let meta = [
        ("kind", KIND.to_string()),
        ("task", model.task.clone()),
        ("cell", cfg.cell.to_string()),
        ("hidden", cfg.hidden.to_string()),
        ("layers", cfg.layers.to_string()),
        ("vocab", model.vocab.to_json()),
        ("iter", iter.to_string()),
        ("smoothed_loss", smoothed.to_string()),
        ("adam_steps", adam_steps.to_string()),
    ];
    let meta = meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    weights::save_with(path, model, extra, meta)?;
    Ok(())
}

pub(crate) fn load_checkpoint(path: &Path, model: &mut CharLm, opt: &mut AnyOptimizer<f32>) -> Result<Resume, ModelError> {
    let w = Weights::read(path)?;
    let saved = CharLm::from_weights(&w, &model.task)?;
    if saved.config() != model.config() || saved.vocab != model.vocab {
        return Err(ModelError::Invalid(format!(
            "checkpoint {} belongs to a different model ({:?}); delete it or train to another --out",
            path.display(),
            saved.config()
        )));
    }
    *model = saved;
    let state = |name: String| -> Result<ndarray::Array2<f32>, ModelError> {
        w.extra::<f32>(&name)
            .and_then(|a| a.into_dimensionality::<ndarray::Ix2>().ok())
            .ok_or_else(|| ModelError::Invalid(format!("checkpoint {} lacks a valid '{name}'", path.display())))
    };
    let mut carry = Vec::new();
    for (l, layer) in model.rnn.layers.iter().enumerate() {
        let c = if crate::nn::Cell::has_cell(&layer.cell) { Some(state(format!("carry.c.{l}"))?) } else { None };
        carry.push(State { h: state(format!("carry.h.{l}"))?, c });
    }
    if let AnyOptimizer::Adam(a) = opt {
        a.restore(w.meta_parse("adam_steps")?, |name| w.extra(name));
    }
    Ok(Resume { iter: w.meta_parse("iter")?, smoothed: w.meta_parse("smoothed_loss")?, carry })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn tiny(cell: CellKind) -> CharLm {
        let vocab = Vocab::from_texts(["\nab"]);
        CharLm::new("test", vocab, CharLmConfig { cell, hidden: 4, layers: 2 }, 1).unwrap()
    }

    /// The streaming `step` and the training `run` compute the same distribution.
    #[test]
    fn step_matches_sequence_forward() {
        for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
            let mut m = tiny(cell);
            let inputs = array![[NO_TOKEN], [1], [2]];
            let targets = array![[1], [2], [0]];
            let (loss, _) = m.run(inputs.view(), targets.view(), None, &m.zero_states(1), false).unwrap();
            let mut states = m.zero_states(1);
            let mut total = 0.0;
            for (t, &tok) in inputs.column(0).iter().enumerate() {
                let logits = m.step(tok, &mut states).unwrap();
                let p = crate::nn::activation::softmax_rows(logits.insert_axis(Axis(0)).view());
                total -= p[[0, targets[[t, 0]]]].ln();
            }
            assert!((total - loss.loss).abs() < 1e-4, "{cell}: {total} vs {}", loss.loss);
        }
    }

    #[test]
    fn save_load_round_trip_and_wrong_task() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        let mut m = tiny(CharLmConfig { cell: CellKind::Gru, hidden: 4, layers: 2 }.cell);
        m.save(&p, &[("note", "x".into())]).unwrap();
        let l = CharLm::load(&p, "test").unwrap();
        assert_eq!(l.config(), m.config());
        assert_eq!(l.vocab, m.vocab);
        assert_eq!(l.out.w.value, m.out.w.value);
        let e = CharLm::load(&p, "dinos").unwrap_err().to_string();
        assert!(e.contains("'test' model"), "{e}");
    }

    #[test]
    fn absurd_sizes_are_errors() {
        let v = Vocab::from_texts(["ab"]);
        for (hidden, layers) in [(0, 1), (MAX_HIDDEN + 1, 1), (8, 0), (8, 99)] {
            assert!(CharLm::new("t", v.clone(), CharLmConfig { cell: CellKind::Rnn, hidden, layers }, 0).is_err());
        }
    }
}
