//! The course's date-translation network (Week 3, "Neural machine translation with
//! attention"): a Bi-LSTM reads the characters of a human-written date, and a post-attention
//! LSTM writes `YYYY-MM-DD` one symbol at a time, attending over the encoder states.
//!
//! ```text
//! ids [Tx, B] --Bi-LSTM(n_a)--> a [B, Tx, 2n_a]
//! for t in 0..Ty:
//!     context_t, α_t = attention(a, s_{t-1})                       [B, 2n_a], [B, Tx]
//!     (s_t, c_t)     = LSTM(n_s)([context_t, onehot(y_{t-1})], (s_{t-1}, c_{t-1}))
//!     ŷ_t            = softmax(s_t W_y + b_y)                        [B, 11]
//! ```
//!
//! One change from the course: the decoder also reads the symbol it wrote last
//! (`onehot(y_{t-1})`, with a start symbol before the first). The course's decoder sees only
//! the context, so its outputs are independent given the input and beam search could do no
//! better than taking each step's best symbol; with the previous symbol fed back, "2019-02-"
//! can steer the day, and beam search ranks whole dates. Training feeds the true previous
//! symbol (teacher forcing).
//!
//! Inputs are trimmed and lower-cased before encoding (letter case carries no date
//! information), padded positions are masked out of both the encoder and the attention, and
//! characters outside the vocabulary become one unknown symbol that is reported back.

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array2, Array3, ArrayView2, Axis, s};

use crate::models::{ModelError, vocab::Vocab};
use crate::nn::linalg::{gemm_acc, matmul};
use crate::nn::loss::softmax_cross_entropy;
use crate::nn::param::join;
use crate::nn::attention::Keys;
use crate::nn::recurrent::{BiCache, SeqInput};
use crate::nn::weights::{self, KIND_KEY, Weights};
use crate::nn::{Attention, Bidirectional, Cell, Dense, Lstm, Module, NnError, ParamMut, Scalar, State, seeded_rng};

/// The weights file kind.
pub const KIND: &str = "seqlab.dates";
/// The decoder's output symbols, in id order.
pub const OUTPUT_SYMBOLS: [char; 11] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-'];
/// Ty: every output is `YYYY-MM-DD`.
pub const OUTPUT_LEN: usize = 10;
/// The "previous symbol" the decoder reads before it has written anything.
const START: usize = OUTPUT_SYMBOLS.len();
/// Characters a date is written with (after lower-casing); anything else is unknown.
const INPUT_CHARS: &str = " '(),-./0123456789:;abcdefghijklmnopqrstuvwxyz";

/// Hyper-parameters; the defaults are the course's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NmtConfig {
    /// Tx: the longest input, in characters after trimming.
    pub max_input: usize,
    /// Encoder LSTM width per direction.
    pub n_a: usize,
    /// Decoder LSTM width.
    pub n_s: usize,
    /// Width of the attention's scoring layer.
    pub attention: usize,
}

impl Default for NmtConfig {
    fn default() -> Self {
        Self { max_input: 30, n_a: 32, n_s: 64, attention: 10 }
    }
}

impl NmtConfig {
    fn validate(&self) -> Result<(), ModelError> {
        let sizes = [("max input", self.max_input), ("n_a", self.n_a), ("n_s", self.n_s), ("attention", self.attention)];
        for (name, v) in sizes {
            if v == 0 || v > 4096 {
                return Err(ModelError::Invalid(format!("{name} must be 1..=4096, got {v}")));
            }
        }
        Ok(())
    }
}

/// An input ready for the network: its characters (trimmed, lower-cased) and their ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub chars: Vec<char>,
    pub ids: Vec<usize>,
    /// Distinct characters that are not in the vocabulary, in order of appearance.
    pub unknown: Vec<char>,
}

/// Encoder -> attention -> decoder. Generic over the float type so the whole network can
/// be gradient-checked in f64; the app runs it in f32.
#[derive(Clone, Debug)]
pub struct Nmt<F: Scalar> {
    vocab: Vocab,
    cfg: NmtConfig,
    /// Reads one-hot characters: `w_x` has a row per vocabulary entry plus the unknown one.
    pub encoder: Bidirectional<Lstm<F>>,
    pub attention: Attention<F>,
    /// Reads `[context (2n_a), onehot(previous symbol) (12)]`.
    pub decoder: Lstm<F>,
    /// n_s -> 11 output symbols.
    pub out: Dense<F>,
}

/// One decoder step's caches.
struct StepCache<F: Scalar> {
    attention: crate::nn::attention::StepCache<F>,
    /// The decoder input is [context, onehot(prev)]; these are its two halves.
    context: Array2<F>,
    prev: Vec<usize>,
    cell: <Lstm<F> as Cell<F>>::Cache,
}

/// What decoding a batch produced.
#[derive(Clone, Debug)]
pub struct Decoded<F> {
    /// Chosen symbol ids: [B, Ty].
    pub symbols: Array2<usize>,
    /// Probability of each chosen symbol: [B, Ty].
    pub probs: Array2<F>,
    /// Attention weights: [B, Ty, Tx] (Tx of the batch's longest input; padding gets 0).
    pub alphas: Array3<F>,
}

impl<F: Scalar> Nmt<F> {
    pub fn new(cfg: NmtConfig, seed: u64) -> Result<Self, ModelError> {
        cfg.validate()?;
        let vocab = Vocab::from_chars(INPUT_CHARS.chars().collect());
        let mut rng = seeded_rng(seed);
        let d_in = vocab.len() + 1;
        let da = 2 * cfg.n_a;
        Ok(Self {
            encoder: Bidirectional::new(Lstm::new(d_in, cfg.n_a, &mut rng), Lstm::new(d_in, cfg.n_a, &mut rng)),
            attention: Attention::new(cfg.n_s, da, cfg.attention, &mut rng),
            decoder: Lstm::new(da + START + 1, cfg.n_s, &mut rng),
            out: Dense::new(cfg.n_s, OUTPUT_SYMBOLS.len(), &mut rng),
            vocab,
            cfg,
        })
    }

    pub fn config(&self) -> NmtConfig {
        self.cfg
    }

    /// Trims and lower-cases `text` and maps it to ids. Empty (or all-space) input and
    /// input longer than Tx characters are errors: a date that long would be cut, and a cut
    /// date is a wrong date, so the caller is told instead.
    pub fn encode(&self, text: &str) -> Result<Encoded, ModelError> {
        let chars: Vec<char> = text.trim().to_lowercase().chars().collect();
        if chars.is_empty() {
            return Err(ModelError::Invalid("the input is empty: type a date, e.g. \"the 3rd of march 2021\"".into()));
        }
        if chars.len() > self.cfg.max_input {
            return Err(ModelError::Invalid(format!(
                "the input has {} characters; this model reads at most {} (after trimming spaces)",
                chars.len(),
                self.cfg.max_input
            )));
        }
        let unk = self.vocab.len();
        let mut unknown = Vec::new();
        let ids = chars
            .iter()
            .map(|&c| {
                self.vocab.id(c).unwrap_or_else(|| {
                    if !unknown.contains(&c) {
                        unknown.push(c);
                    }
                    unk
                })
            })
            .collect();
        Ok(Encoded { chars, ids, unknown })
    }

    /// The ids of an ISO date string, or an error if it is not 10 output symbols.
    pub fn encode_target(iso: &str) -> Result<[usize; OUTPUT_LEN], ModelError> {
        let mut out = [0; OUTPUT_LEN];
        let chars: Vec<char> = iso.chars().collect();
        if chars.len() != OUTPUT_LEN {
            return Err(ModelError::Invalid(format!("target {iso:?} is not YYYY-MM-DD")));
        }
        for (o, c) in out.iter_mut().zip(chars) {
            *o = OUTPUT_SYMBOLS
                .iter()
                .position(|&s| s == c)
                .ok_or_else(|| ModelError::Invalid(format!("target {iso:?} holds {c:?}, not a digit or '-'")))?;
        }
        Ok(out)
    }

    /// Time-major ids [T, B] (T = the longest input) and the 0/1 mask in both layouts
    /// ([T, B] for the encoder, [B, T] for the attention).
    fn batch_ids(inputs: &[&[usize]]) -> Result<(Array2<usize>, Array2<F>, Array2<F>), ModelError> {
        let t_len = inputs.iter().map(|x| x.len()).max().unwrap_or(0);
        if inputs.is_empty() || inputs.iter().any(|x| x.is_empty()) {
            return Err(ModelError::Invalid("every input needs at least one character".into()));
        }
        let mut ids = Array2::from_elem((t_len, inputs.len()), crate::nn::recurrent::NO_TOKEN);
        let mut mask = Array2::zeros((t_len, inputs.len()));
        for (b, x) in inputs.iter().enumerate() {
            for (t, &id) in x.iter().enumerate() {
                ids[[t, b]] = id;
                mask[[t, b]] = F::one();
            }
        }
        let mask_bt = mask.t().to_owned();
        Ok((ids, mask, mask_bt))
    }

    /// ids [T, B] -> encoder states a: [B, T, 2n_a].
    fn encode_states(&self, ids: &Array2<usize>, mask: &Array2<F>) -> Result<(Array3<F>, BiCache<F, Lstm<F>>), ModelError> {
        if ids.len_of(Axis(0)) > self.cfg.max_input {
            return Err(ModelError::Invalid(format!("inputs are limited to {} characters", self.cfg.max_input)));
        }
        Ok(self.encoder.forward_batch_major(SeqInput::Tokens(ids.view()), Some(mask.view()))?)
    }

    /// One decoder step: attention over the encoder's keys, then the LSTM on
    /// [context, onehot(prev)].
    fn decode_step(
        &self,
        keys: &Keys<F>,
        mask_bt: ArrayView2<F>,
        state: &State<F>,
        prev: &[usize],
    ) -> Result<(State<F>, Array2<F>, StepCache<F>), ModelError> {
        let (context, alphas, attention) = self.attention.attend(keys, state.h.view(), Some(mask_bt))?; // (1)
        // (2) xp = [context, onehot(prev)] W_x = context W_x[..Da] + W_x[Da + prev]: the
        // one-hot half is a row lookup rather than 11 more rows in the product.
        let w_x = &self.decoder.w_x.value;
        let da = context.ncols();
        let mut xp = matmul(&context.view(), &w_x.slice(s![..da, ..]));
        for (mut row, &p) in xp.rows_mut().into_iter().zip(prev) {
            row += &w_x.row(da + p);
        }
        let (next, cell) = self.decoder.step_projected(xp.view(), state); // (3)
        Ok((next, alphas, StepCache { attention, context, prev: prev.to_vec(), cell }))
    }

    /// Teacher-forced forward and backward over a batch: adds the gradients of the summed
    /// cross-entropy and returns (summed loss, symbols predicted right). `targets`: [B][Ty].
    pub fn train_batch(&mut self, inputs: &[&[usize]], targets: &[[usize; OUTPUT_LEN]]) -> Result<(F, usize), ModelError> {
        if inputs.len() != targets.len() {
            return Err(ModelError::Invalid(format!("{} inputs for {} targets", inputs.len(), targets.len())));
        }
        let batch = inputs.len();
        let (ids, mask, mask_bt) = Self::batch_ids(inputs)?;
        let (a, enc_cache) = self.encode_states(&ids, &mask)?;
        let keys = self.attention.keys(a.view())?; // (0)
        let mut state = self.decoder.zero_state(batch);
        let mut steps = Vec::with_capacity(OUTPUT_LEN);
        let mut hs = Array2::zeros((OUTPUT_LEN * batch, self.cfg.n_s));
        let mut prev = vec![START; batch];
        for t in 0..OUTPUT_LEN {
            let (next, _, cache) = self.decode_step(&keys, mask_bt.view(), &state, &prev)?;
            hs.slice_mut(s![t * batch..(t + 1) * batch, ..]).assign(&next.h);
            steps.push(cache);
            state = next;
            for (p, y) in prev.iter_mut().zip(targets) {
                *p = y[t];
            }
        }
        let (logits, out_cache) = self.out.forward(hs.view()); // (4) all steps at once, rows t·B + b
        let flat_targets: Vec<usize> = (0..OUTPUT_LEN).flat_map(|t| targets.iter().map(move |y| y[t])).collect();
        let lg = softmax_cross_entropy(logits.view(), &flat_targets, None)?;
        let correct = logits
            .rows()
            .into_iter()
            .zip(&flat_targets)
            .filter(|(row, t)| crate::nn::sampling::argmax(*row) == Some(**t))
            .count();
        // Backward, last step first.
        let dhs = self.out.backward(&out_cache, lg.dlogits.view()); // (4)
        let mut ds = self.decoder.zero_state(batch);
        let mut keys_grad = self.attention.keys_grad(&keys);
        let ctx = 2 * self.cfg.n_a;
        for (t, cache) in steps.iter().enumerate().rev() {
            ds.h += &dhs.slice(s![t * batch..(t + 1) * batch, ..]);
            let (dxp, d_prev) = self.decoder.backward_projected(&cache.cell, &ds); // (3)
            // (2) xp = context W_x[..Da] + W_x[Da + prev]:  dW_x[..Da] += contextᵀ dxp,
            // dW_x[Da + prev] += dxp row by row, dcontext = dxp W_x[..Da]ᵀ
            gemm_acc(F::one(), &cache.context.t(), &dxp.view(), &mut self.decoder.w_x.grad.slice_mut(s![..ctx, ..]));
            for (row, &p) in dxp.rows().into_iter().zip(&cache.prev) {
                let mut g = self.decoder.w_x.grad.row_mut(ctx + p);
                g += &row;
            }
            let d_context = matmul(&dxp.view(), &self.decoder.w_x.value.slice(s![..ctx, ..]).t());
            let ds_att = self.attention.attend_backward(&keys, &cache.attention, d_context.view(), &mut keys_grad); // (1)
            ds = d_prev;
            ds.h += &ds_att;
        }
        let da = self.attention.keys_backward(&keys, keys_grad); // (0)
        // a = permute(h): the encoder wants [T, B, 2n_a]
        let dh = da.permuted_axes([1, 0, 2]);
        self.encoder.backward(&enc_cache, dh.view());
        Ok((lg.loss, correct))
    }

    /// Greedy decoding of a batch: each step takes the most probable symbol and feeds it back.
    pub fn greedy(&self, inputs: &[&[usize]]) -> Result<Decoded<F>, ModelError> {
        self.decode(inputs, None)
    }

    /// Runs the decoder along given outputs (`forced`: [B][Ty]) and reports each symbol's
    /// probability and the attention on the way: how the model scores an answer it did not
    /// pick greedily, e.g. one found by beam search.
    pub fn score(&self, inputs: &[&[usize]], forced: &[[usize; OUTPUT_LEN]]) -> Result<Decoded<F>, ModelError> {
        if inputs.len() != forced.len() {
            return Err(ModelError::Invalid(format!("{} inputs for {} outputs", inputs.len(), forced.len())));
        }
        if let Some(&bad) = forced.iter().flatten().find(|&&id| id >= OUTPUT_SYMBOLS.len()) {
            return Err(ModelError::Invalid(format!("output symbol id {bad} outside the {} symbols", OUTPUT_SYMBOLS.len())));
        }
        self.decode(inputs, Some(forced))
    }

    fn decode(&self, inputs: &[&[usize]], forced: Option<&[[usize; OUTPUT_LEN]]>) -> Result<Decoded<F>, ModelError> {
        let batch = inputs.len();
        let (ids, mask, mask_bt) = Self::batch_ids(inputs)?;
        let (a, _) = self.encode_states(&ids, &mask)?;
        let tx = a.len_of(Axis(1));
        let keys = self.attention.keys(a.view())?;
        let mut state = self.decoder.zero_state(batch);
        let mut prev = vec![START; batch];
        let mut symbols = Array2::zeros((batch, OUTPUT_LEN));
        let mut probs = Array2::zeros((batch, OUTPUT_LEN));
        let mut all_alphas = Array3::zeros((batch, OUTPUT_LEN, tx));
        for t in 0..OUTPUT_LEN {
            let (next, alphas, _) = self.decode_step(&keys, mask_bt.view(), &state, &prev)?;
            let p = crate::nn::activation::softmax_rows(self.out.apply(next.h.view()).view());
            for (b, row) in p.rows().into_iter().enumerate() {
                let pick = match forced {
                    Some(f) => f[b][t],
                    None => (1..row.len()).fold(0, |k, i| if row[i] > row[k] { i } else { k }),
                };
                symbols[[b, t]] = pick;
                probs[[b, t]] = row[pick];
                prev[b] = pick;
            }
            all_alphas.slice_mut(s![.., t, ..]).assign(&alphas);
            state = next;
        }
        Ok(Decoded { symbols, probs, alphas: all_alphas })
    }

    /// The `width` best outputs for one input by beam search, with natural-log scores.
    /// Every output has exactly Ty symbols, so no length penalty applies.
    pub fn beam(&self, input: &[usize], width: usize) -> Result<Vec<crate::nn::sampling::Hypothesis>, ModelError> {
        let (ids, mask, mask_bt) = Self::batch_ids(&[input])?;
        let (a, _) = self.encode_states(&ids, &mask)?;
        let keys = self.attention.keys(a.view())?;
        let config = crate::nn::sampling::BeamConfig { width, length_penalty: 0.0 };
        let step = |state: &State<F>, prev: usize| -> Result<(Vec<f64>, State<F>), NnError> {
            let (next, _, _) = self.decode_step(&keys, mask_bt.view(), state, &[prev]).map_err(|e| NnError::Invalid(e.to_string()))?;
            let p = crate::nn::activation::softmax_rows(self.out.apply(next.h.view()).view());
            Ok((p.iter().map(|v| v.as_f64().ln()).collect(), next))
        };
        Ok(crate::nn::sampling::beam_search(self.decoder.zero_state(1), START, None, OUTPUT_LEN, config, step)?)
    }

    /// The output string of symbol ids.
    pub fn symbols_to_string(ids: impl IntoIterator<Item = usize>) -> String {
        ids.into_iter().map(|i| OUTPUT_SYMBOLS.get(i).copied().unwrap_or('?')).collect()
    }
}

impl Nmt<f32> {
    /// The metadata a weights file needs to rebuild this model.
    pub fn metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            (KIND_KEY.into(), KIND.into()),
            ("vocab".into(), self.vocab.to_json()),
            ("max_input".into(), self.cfg.max_input.to_string()),
            ("n_a".into(), self.cfg.n_a.to_string()),
            ("n_s".into(), self.cfg.n_s.to_string()),
            ("attention".into(), self.cfg.attention.to_string()),
        ])
    }

    /// Writes the weights with the vocabulary and hyper-parameters, plus `extra` metadata.
    pub fn save(&mut self, path: &Path, extra: &[(&str, String)]) -> Result<(), ModelError> {
        let mut meta = self.metadata();
        meta.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        weights::save(path, self, meta)?;
        Ok(())
    }

    /// Rebuilds a model from a weights file; `skip` names extra tensor prefixes (a
    /// checkpoint's optimizer state) to leave out.
    pub fn from_weights(w: &Weights, skip: &[&str]) -> Result<Self, ModelError> {
        w.expect_kind(KIND)?;
        let cfg = NmtConfig {
            max_input: w.meta_parse("max_input")?,
            n_a: w.meta_parse("n_a")?,
            n_s: w.meta_parse("n_s")?,
            attention: w.meta_parse("attention")?,
        };
        let mut model = Self::new(cfg, 0)?;
        if w.meta("vocab")? != model.vocab.to_json() {
            return Err(ModelError::Invalid(format!("{} was trained on another input alphabet", w.path().display())));
        }
        w.load_into_except(&mut model, skip)?;
        Ok(model)
    }
}

impl<F: Scalar> Module<F> for Nmt<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.encoder.visit(&join(prefix, "encoder"), f);
        self.attention.visit(&join(prefix, "attention"), f);
        self.decoder.visit(&join(prefix, "decoder"), f);
        self.out.visit(&join(prefix, "out"), f);
    }
}

/// Per-symbol probabilities multiplied: how sure the model is of a whole output.
pub fn confidence<F: Scalar>(probs: ndarray::ArrayView1<F>) -> f64 {
    probs.iter().map(|p| p.as_f64()).product()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::check_params;

    fn tiny() -> Nmt<f64> {
        Nmt::new(NmtConfig { max_input: 8, n_a: 3, n_s: 4, attention: 2 }, 7).unwrap()
    }

    fn examples(m: &Nmt<f64>) -> (Vec<Vec<usize>>, Vec<[usize; OUTPUT_LEN]>) {
        let inputs = ["3.4.21", "may 5 99"].iter().map(|s| m.encode(s).unwrap().ids).collect();
        let targets = ["2021-04-03", "1999-05-05"].iter().map(|s| Nmt::<f64>::encode_target(s).unwrap()).collect();
        (inputs, targets)
    }

    /// The whole network — encoder, attention at every step, decoder with fed-back symbols
    /// and the output layer — against central differences, on a padded batch.
    #[test]
    fn whole_network_gradcheck() {
        let mut m = tiny();
        // Lift the attention's relu off its kink, where central differences straddle two
        // slopes and disagree with any exact gradient.
        m.attention.dense2.b.value.fill(0.3);
        let (inputs, targets) = examples(&m);
        let refs: Vec<&[usize]> = inputs.iter().map(|v| v.as_slice()).collect();
        let report = check_params(&mut m, |m| {
            m.zero_grad();
            m.train_batch(&refs, &targets).unwrap().0
        });
        // The loss sums 20 cross-entropies (about 48 nats), so central differences carry
        // ~1e-9 of rounding, which is 1e-6 relative at the 1e-3 floor: hence 1e-5 here
        // (a wrong backward line gives errors of order 1).
        assert!(report.max_rel_error < 1e-5, "{report:?}");
        assert!(report.checked > 500);
    }

    /// Padding must not change anything: a short input decodes the same alone and beside
    /// a longer one, attention on padding is exactly 0, and beam width 1 equals greedy.
    #[test]
    fn padding_is_invisible_and_beam_one_is_greedy() {
        let m = tiny();
        let (inputs, _) = examples(&m);
        let alone = m.greedy(&[&inputs[0]]).unwrap();
        let both = m.greedy(&[&inputs[0], &inputs[1]]).unwrap();
        assert_eq!(alone.symbols.row(0), both.symbols.row(0));
        for (x, y) in alone.probs.iter().zip(both.probs.row(0)) {
            assert!((x - y).abs() < 1e-12);
        }
        let tx = inputs[0].len();
        assert!(both.alphas.slice(s![0, .., tx..]).iter().all(|&a| a == 0.0));
        for row in both.alphas.slice(s![0, .., ..]).rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        let beam = m.beam(&inputs[0], 1).unwrap();
        assert_eq!(beam[0].tokens, alone.symbols.row(0).to_vec());
        let expected: f64 = alone.probs.row(0).iter().map(|p| p.ln()).sum();
        assert!((beam[0].log_prob - expected).abs() < 1e-9);
    }

    #[test]
    fn input_rules() {
        let m = tiny();
        let e = m.encode("  MAY 5 ").unwrap();
        assert_eq!(e.chars, vec!['m', 'a', 'y', ' ', '5']);
        assert!(e.unknown.is_empty());
        let e = m.encode("5 mai€€").unwrap();
        assert_eq!(e.unknown, vec!['€']);
        assert_eq!(e.ids[5], m.vocab.len());
        assert!(m.encode("   ").unwrap_err().to_string().contains("empty"));
        assert!(m.encode("123456789").unwrap_err().to_string().contains("at most 8"));
        let ids = m.encode("may 5").unwrap().ids;
        assert!(m.score(&[&ids], &[[OUTPUT_SYMBOLS.len(); OUTPUT_LEN]]).is_err());
        assert!(m.score(&[&ids], &[]).is_err());
        assert!(Nmt::<f64>::encode_target("2021-3-4").is_err());
        assert!(Nmt::<f64>::encode_target("2021/03/04").is_err());
        assert_eq!(Nmt::<f64>::symbols_to_string(Nmt::<f64>::encode_target("2021-03-04").unwrap()), "2021-03-04");
    }
}
