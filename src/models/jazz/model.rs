//! The next-event model: one LSTM layer over one-hot inputs, a dense layer to the event
//! vocabulary.
//!
//! ```text
//! x_t = [onehot(event_{t-1}) (201), onehot(quality_t) (5), onehot(position_t) (16)]  [B, 222]
//! (h_t, c_t) = LSTM(H)(x_t, (h_{t-1}, c_{t-1}))                                          [B, H]
//! p(event_t) = softmax(h_t W + b)                                                         [B, 200]
//! ```
//! The context of step t (the chord quality and the bar position at event t's onset) is
//! known before event t is chosen, since the onset is where event t-1 ended: the model
//! learns what to play *given* the harmony, and generation supplies the user's harmony.

use std::collections::HashMap;

use ndarray::{Array1, Array2, Array3, Axis, s};

use super::data::{CONTEXT, Event, INPUT, VOCAB, input_rows};
use crate::models::ModelError;
use crate::music::theory::Quality;
use crate::nn::loss::softmax_cross_entropy;
use crate::nn::recurrent::SeqInput;
use crate::nn::weights::{KIND_KEY, Weights};
use crate::nn::{Cell, Dense, Lstm, Module, ParamMut, Recurrent, Scalar, State, seeded_rng};

pub const KIND: &str = "seqlab.jazz";

/// Hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JazzConfig {
    /// LSTM width H.
    pub hidden: usize,
}

impl Default for JazzConfig {
    fn default() -> Self {
        Self { hidden: 96 }
    }
}

/// One training step's input: the previous token and the event to predict with its context.
pub type Step = (usize, Event);

#[derive(Clone, Debug)]
pub struct JazzLstm<F: Scalar> {
    cfg: JazzConfig,
    /// x: [T, B, 222] -> h: [T, B, H].
    pub rnn: Recurrent<Lstm<F>>,
    /// [N, H] -> [N, 200].
    pub out: Dense<F>,
}

impl<F: Scalar> Module<F> for JazzLstm<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.rnn.visit(&crate::nn::param::join(prefix, "lstm"), f);
        self.out.visit(&crate::nn::param::join(prefix, "out"), f);
    }
}

impl<F: Scalar> JazzLstm<F> {
    pub fn new(cfg: JazzConfig, seed: u64) -> Result<Self, ModelError> {
        if cfg.hidden == 0 || cfg.hidden > 2048 {
            return Err(ModelError::Invalid(format!("hidden size must be 1..=2048, got {}", cfg.hidden)));
        }
        let mut rng = seeded_rng(seed);
        Ok(Self { cfg, rnn: Recurrent::new(Lstm::new(INPUT, cfg.hidden, &mut rng)), out: Dense::new(cfg.hidden, VOCAB, &mut rng) })
    }

    pub fn config(&self) -> JazzConfig {
        self.cfg
    }

    pub fn metadata(&self) -> HashMap<String, String> {
        let mut m = HashMap::new();
        m.insert(KIND_KEY.into(), KIND.into());
        m.insert("hidden".into(), self.cfg.hidden.to_string());
        m.insert("vocab".into(), VOCAB.to_string());
        m.insert("context".into(), CONTEXT.to_string());
        m
    }

    /// Builds the model a weights file describes and loads it; names under `extra` prefixes
    /// (optimizer state in checkpoints) are skipped.
    pub fn from_weights(w: &Weights, extra: &[&str]) -> Result<Self, ModelError> {
        w.expect_kind(KIND)?;
        let vocab: usize = w.meta_parse("vocab")?;
        if vocab != VOCAB {
            return Err(ModelError::Invalid(format!("{}: vocabulary of {vocab} events, this build uses {VOCAB}", w.path().display())));
        }
        let mut m = Self::new(JazzConfig { hidden: w.meta_parse("hidden")? }, 0)?;
        w.load_into_except(&mut m, extra)?;
        Ok(m)
    }

    /// Teacher-forced forward and backward over windows of steps (padded to the longest):
    /// adds the gradients of the summed cross-entropy, returns (summed loss, events).
    pub fn train_batch(&mut self, windows: &[&[Step]]) -> Result<(f64, usize), ModelError> {
        let (x, mask, targets) = batch(windows)?;
        let (t_len, b) = (x.len_of(Axis(0)), x.len_of(Axis(1)));
        let s0 = self.rnn.cell.zero_state(b);
        let (h, _, cache) = self.rnn.forward(SeqInput::Dense(x.view()), &s0, Some(mask.view()))?;
        let hs = h.into_shape_with_order((t_len * b, self.cfg.hidden)).map_err(|e| ModelError::Invalid(e.to_string()))?;
        let (logits, out_cache) = self.out.forward(hs.view());
        let flat_mask = mask.into_shape_with_order(t_len * b).map_err(|e| ModelError::Invalid(e.to_string()))?;
        let lg = softmax_cross_entropy(logits.view(), &targets, Some(flat_mask.view()))?;
        let dh = self.out.backward(&out_cache, lg.dlogits.view());
        let dh = dh.into_shape_with_order((t_len, b, self.cfg.hidden)).map_err(|e| ModelError::Invalid(e.to_string()))?;
        self.rnn.backward(&cache, dh.view(), None);
        Ok((lg.loss.as_f64(), lg.count))
    }

    /// Summed negative log-likelihood (nats) of whole sequences, each from a zero state, and
    /// how many events it covers. No gradients.
    pub fn nll(&self, seqs: &[&[Step]]) -> Result<(f64, usize), ModelError> {
        let (x, mask, targets) = batch(seqs)?;
        let (t_len, b) = (x.len_of(Axis(0)), x.len_of(Axis(1)));
        let s0 = self.rnn.cell.zero_state(b);
        let (h, _, _) = self.rnn.forward(SeqInput::Dense(x.view()), &s0, Some(mask.view()))?;
        let hs = h.into_shape_with_order((t_len * b, self.cfg.hidden)).map_err(|e| ModelError::Invalid(e.to_string()))?;
        let logits = self.out.apply(hs.view());
        let flat_mask = mask.into_shape_with_order(t_len * b).map_err(|e| ModelError::Invalid(e.to_string()))?;
        let lg = softmax_cross_entropy(logits.view(), &targets, Some(flat_mask.view()))?;
        Ok((lg.loss.as_f64(), lg.count))
    }

    pub fn zero_state(&self) -> State<F> {
        self.rnn.cell.zero_state(1)
    }

    /// One generation step for a single line: the one-hot input's projection is the sum of
    /// three rows of W_x, so no [1, 222] × [222, 4H] product is needed. Returns the logits
    /// over the next event [200] and the new state.
    pub fn step(&self, state: &State<F>, prev: usize, quality: Quality, pos: usize) -> Result<(Array1<F>, State<F>), ModelError> {
        let w_x = &self.rnn.cell.w_x.value;
        let rows = input_rows(prev, quality, pos);
        if rows[0] > VOCAB {
            return Err(ModelError::Invalid(format!("event id {prev} outside the vocabulary")));
        }
        let mut xp = Array2::zeros((1, w_x.ncols()));
        for r in rows {
            xp.row_mut(0).scaled_add(F::one(), &w_x.row(r));
        }
        let (next, _) = self.rnn.cell.step_projected(xp.view(), state);
        let logits = self.out.apply(next.h.view());
        Ok((logits.row(0).to_owned(), next))
    }
}

/// Inputs [T, B, 222], mask [T, B], flat targets [T·B].
type Batch<F> = (Array3<F>, Array2<F>, Vec<usize>);

/// Windows to a time-major one-hot batch [T, B, 222], its mask [T, B] and flat targets
/// (row t·B + b; 0 under padding, which the mask ignores).
fn batch<F: Scalar>(windows: &[&[Step]]) -> Result<Batch<F>, ModelError> {
    let t_len = windows.iter().map(|w| w.len()).max().unwrap_or(0);
    if windows.is_empty() || t_len == 0 {
        return Err(ModelError::Invalid("a batch needs at least one non-empty sequence".into()));
    }
    let b = windows.len();
    let mut x = Array3::zeros((t_len, b, INPUT));
    let mut mask = Array2::zeros((t_len, b));
    let mut targets = vec![0; t_len * b];
    for (j, w) in windows.iter().enumerate() {
        for (t, &(prev, ev)) in w.iter().enumerate() {
            if prev > VOCAB || ev.token >= VOCAB {
                return Err(ModelError::Invalid(format!("event ids {prev} -> {} outside the vocabulary", ev.token)));
            }
            let mut row = x.slice_mut(s![t, j, ..]);
            for r in input_rows(prev, ev.quality, ev.pos) {
                row[r] = F::one();
            }
            mask[[t, j]] = F::one();
            targets[t * b + j] = ev.token;
        }
    }
    Ok((x, mask, targets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::jazz::data::BOS;

    fn steps() -> Vec<Step> {
        let e = |token, pos| Event { token, quality: Quality::Dominant, pos };
        vec![(BOS, e(5, 0)), (5, e(17, 2)), (17, e(196, 4))]
    }

    /// The fast generation step (summed rows of W_x) gives the logits the training path
    /// (dense one-hot through Recurrent::forward) gives at the same position.
    #[test]
    fn step_matches_sequence_forward() {
        let m: JazzLstm<f64> = JazzLstm::new(JazzConfig { hidden: 8 }, 3).unwrap();
        let seq = steps();
        let (x, mask, _) = batch::<f64>(&[&seq]).unwrap();
        let (h, _, _) = m.rnn.forward(SeqInput::Dense(x.view()), &m.rnn.cell.zero_state(1), Some(mask.view())).unwrap();
        let mut state = m.zero_state();
        for (t, &(prev, ev)) in seq.iter().enumerate() {
            let (logits, next) = m.step(&state, prev, ev.quality, ev.pos).unwrap();
            let want = m.out.apply(h.slice(s![t, .., ..]));
            for (a, b) in logits.iter().zip(want.row(0)) {
                assert!((a - b).abs() < 1e-12);
            }
            state = next;
        }
    }

    /// The whole model's gradients (LSTM over padded windows, dense, masked softmax CE)
    /// against central differences, in f64 on a tiny model.
    #[test]
    fn gradients_check() {
        let mut m: JazzLstm<f64> = JazzLstm::new(JazzConfig { hidden: 3 }, 1).unwrap();
        let seq = steps();
        let short = seq[..2].to_vec();
        let report = crate::nn::gradcheck::check_params(&mut m, |m| {
            m.zero_grad();
            m.train_batch(&[&seq, &short]).unwrap().0
        });
        assert!(report.max_rel_error < 1e-5, "{report:?}");
    }
}
