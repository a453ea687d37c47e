//! A second look at each detection: a bidirectional GRU that hears the whole word, and a
//! little of what follows it, before the chime.
//!
//! The streaming detector must decide from the past alone, step by step, and it errs on
//! words that begin like the trigger ("captivate", "activist") or share its rhythm. The
//! verifier sees a fixed window around each candidate instead: `before` frames up to the
//! frame that fired and `after` frames past it, so it hears whether "activat-" goes on.
//!
//! window x: [B, W, M] PCEN frames (W = before + after, M mel bands)
//! -> per-band standardisation (fixed statistics measured on training windows)
//! -> Conv1D (F filters, kernel k, stride s) -> ReLU -> Dropout: [B, W', F], W' = (W - k)/s + 1
//! -> bidirectional GRU(H), time-major [W', B, 2H]
//! -> [forward state at the last step ; backward state at the first] -> Dropout: [B, 2H]
//! -> Dense(1): one logit per window, sigmoid for the probability that it holds the word.

use std::collections::HashMap;

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis, Ix1, Ix2, Ix3, s};

use crate::dsp::pcen::{Pcen, PcenConfig};
use crate::models::ModelError;
use crate::nn::activation::sigmoid;
use crate::nn::conv1d::Conv1dCache;
use crate::nn::dense::DenseCache;
use crate::nn::dropout::DropoutCache;
use crate::nn::loss::sigmoid_binary_cross_entropy;
use crate::nn::param::join;
use crate::nn::recurrent::{BiCache, SeqInput};
use crate::nn::weights::Weights;
use crate::nn::{Bidirectional, Conv1d, Dense, Dropout, Gru, Module, Param, ParamMut, Scalar, seeded_rng};

pub const KIND: &str = "trigger-verifier";

/// Hyper-parameters of the verifier.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifierConfig {
    pub n_mels: usize,
    pub filters: usize,
    pub kernel: usize,
    pub stride: usize,
    pub units: usize,
    /// Frames up to and including the one whose arrival fired the detector.
    pub before: usize,
    /// Frames after it that the verifier waits for: the latency it adds, 10 ms each.
    pub after: usize,
    /// Fraction of activations dropped at each Dropout during training.
    pub dropout: f64,
}

impl Default for VerifierConfig {
    /// 1.2 s before (the longest training "activate" is about 1 s) and 0.15 s after (the
    /// detector answers 62 ms after the word's end at the median, so the verifier still
    /// chimes well inside the 300-ms goal).
    fn default() -> Self {
        Self { n_mels: 40, filters: 128, kernel: 5, stride: 2, units: 128, before: 120, after: 16, dropout: 0.0 }
    }
}

impl VerifierConfig {
    pub fn validate(&self) -> Result<(), ModelError> {
        let out = |v: usize, lo: usize, hi: usize| !(lo..=hi).contains(&v);
        if out(self.n_mels, 1, 512)
            || out(self.filters, 1, 1024)
            || out(self.kernel, 1, 64)
            || out(self.stride, 1, 64)
            || out(self.units, 1, 1024)
            || out(self.before, 1, 1000)
            || self.after > 100
            || self.frames() < self.kernel
            || !(0.0..1.0).contains(&self.dropout)
        {
            return Err(ModelError::Invalid(format!("verifier sizes out of range: {self:?}")));
        }
        Ok(())
    }

    /// Seconds the verifier waits after a candidate, with frames `spec.hop` apart.
    pub fn hold_seconds(&self, spec: &crate::dsp::SpectrogramConfig) -> f64 {
        (self.after * spec.hop) as f64 / spec.sample_rate as f64
    }

    /// Frames in one window.
    pub fn frames(&self) -> usize {
        self.before + self.after
    }

    fn metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            ("kind".to_string(), KIND.to_string()),
            ("n_mels".into(), self.n_mels.to_string()),
            ("filters".into(), self.filters.to_string()),
            ("kernel".into(), self.kernel.to_string()),
            ("stride".into(), self.stride.to_string()),
            ("units".into(), self.units.to_string()),
            ("before".into(), self.before.to_string()),
            ("after".into(), self.after.to_string()),
            ("dropout".into(), self.dropout.to_string()),
        ])
    }
}

/// The window of `frames` [T, M] that the verifier reads for a detection fired by frame
/// `fired` (0-based): frames `fired + 1 - before ..= fired + after`, zeros where that runs
/// off either end of the recording (PCEN of steady silence is about 0).
pub fn window(frames: ArrayView2<f32>, fired: usize, cfg: &VerifierConfig) -> Array2<f32> {
    window_by(cfg, frames.ncols(), fired as u64, |i| (i < frames.nrows() as u64).then(|| frames.row(i as usize)))
}

/// [`window`] from any store of frames: `row(i)` is frame i, or None where there is none.
fn window_by<'a>(cfg: &VerifierConfig, bands: usize, fired: u64, row: impl Fn(u64) -> Option<ArrayView1<'a, f32>>) -> Array2<f32> {
    let mut w = Array2::zeros((cfg.frames(), bands));
    let first = fired as i64 + 1 - cfg.before as i64;
    for (i, mut dst) in w.rows_mut().into_iter().enumerate() {
        let src = first + i as i64;
        if let Some(r) = u64::try_from(src).ok().and_then(&row) {
            dst.assign(&r);
        }
    }
    w
}

/// The second look fed one log-mel frame at a time, as the live path and `detect` run it:
/// its own PCEN smoother and a ring of the latest frames, enough for a window whose
/// candidate fired up to 64 frames ago. Answering allocates one window, on the detector's
/// thread, once per candidate.
///
/// One verifier, or several trained differently whose probabilities are averaged: the
/// shipped pair err on different words and voices, so their mean turns down more of the
/// one's false accepts than it loses of the other's words (README).
#[derive(Clone, Debug)]
pub struct VerifierStream {
    /// Never empty; all read the same window and know the same word.
    members: Vec<Verifier<f32>>,
    threshold: f32,
    pcen: Pcen,
    /// [capacity, M]; frame i lives in row i % capacity.
    ring: Array2<f32>,
    frames: u64,
}

impl VerifierStream {
    /// Keeps a candidate when the members' mean probability is at least `threshold`.
    pub fn new(members: Vec<Verifier<f32>>, threshold: f32) -> Result<Self, ModelError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(ModelError::Invalid(format!("the verifier threshold is a probability in 0..=1, got {threshold}")));
        }
        let first = members.first().ok_or_else(|| ModelError::Invalid("a second look needs at least one verifier".into()))?;
        let reads = |v: &Verifier<f32>| (v.cfg.before, v.cfg.after, v.cfg.n_mels, v.info.get("word").cloned());
        if let Some(odd) = members.iter().find(|v| reads(v) != reads(first)) {
            let say = |(before, after, bands, word): (usize, usize, usize, Option<String>)| {
                format!("{before} + {after} frames of {bands} bands for {}", word.map_or_else(|| "no word".to_string(), |w| format!("\"{w}\"")))
            };
            return Err(ModelError::Invalid(format!("the verifiers do not read alike: {} against {}", say(reads(first)), say(reads(odd)))));
        }
        let m = first.cfg.n_mels;
        let ring = Array2::zeros((first.cfg.frames() + 64, m));
        Ok(Self { pcen: Pcen::new(m, PcenConfig::default()), ring, frames: 0, members, threshold })
    }

    /// The first member: its window and word are every member's.
    pub fn verifier(&self) -> &Verifier<f32> {
        &self.members[0]
    }

    pub fn members(&self) -> &[Verifier<f32>] {
        &self.members
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn reset(&mut self) {
        self.pcen.reset();
        self.ring.fill(0.0);
        self.frames = 0;
    }

    /// One log-mel frame (the spectrogram's, before any PCEN); frames of another width are
    /// ignored, as the detector's streamer ignores them.
    pub fn push_frame(&mut self, frame: &[f32]) {
        if frame.len() != self.ring.ncols() {
            return;
        }
        let slot = (self.frames % self.ring.nrows() as u64) as usize;
        let mut row = self.ring.row_mut(slot);
        if let Some(dst) = row.as_slice_mut() {
            dst.copy_from_slice(frame);
            self.pcen.process(dst);
        }
        self.frames += 1;
    }

    /// Whether the window around frame `fired` holds the word; frames not heard yet, or
    /// already gone from the ring, count as silence.
    pub fn accept(&self, fired: u64) -> bool {
        let cap = self.ring.nrows() as u64;
        let heard = |i: u64| i < self.frames && i + cap >= self.frames;
        self.judge(window_by(&self.verifier().cfg, self.ring.ncols(), fired, |i| heard(i).then(|| self.ring.row((i % cap) as usize))))
    }

    /// Whether one window [W, M] holds the word, by the members' mean probability (a window
    /// of another shape does not).
    pub fn judge(&self, w: Array2<f32>) -> bool {
        let x = w.insert_axis(Axis(0));
        let mut sum = 0.0;
        for v in &self.members {
            match v.predict(x.view()) {
                Ok(p) => sum += p[0],
                Err(_) => return false,
            }
        }
        sum / self.members.len() as f32 >= self.threshold
    }
}

/// The trainable verifier. See the module doc for shapes.
#[derive(Clone, Debug)]
pub struct Verifier<F: Scalar> {
    cfg: VerifierConfig,
    /// Per-band mean and 1/std of training windows: [M] each, frozen.
    pub feat_mean: Param<F, Ix1>,
    pub feat_scale: Param<F, Ix1>,
    pub conv: Conv1d<F>,
    pub gru: Bidirectional<Gru<F>>,
    pub out: Dense<F>,
    /// After the convolution and on the summary.
    drops: [Dropout; 2],
    /// Free-form metadata saved with the weights (word, training figures).
    pub info: HashMap<String, String>,
}

/// Everything backward needs from one training forward pass.
pub struct VerifierCache<F: Scalar> {
    conv: Conv1dCache<F>,
    conv_out: Array3<F>,
    drop0: DropoutCache<F, Ix3>,
    gru: BiCache<F, Gru<F>>,
    drop1: DropoutCache<F, Ix2>,
    dense: DenseCache<F>,
    steps: usize,
}

impl<F: Scalar> Verifier<F> {
    pub fn new(cfg: VerifierConfig, seed: u64) -> Result<Self, ModelError> {
        cfg.validate()?;
        let mut rng = seeded_rng(seed);
        Ok(Self {
            feat_mean: Param::frozen(Array1::zeros(cfg.n_mels)),
            feat_scale: Param::frozen(Array1::ones(cfg.n_mels)),
            conv: Conv1d::new(cfg.n_mels, cfg.filters, cfg.kernel, cfg.stride, &mut rng)?,
            gru: Bidirectional::new(Gru::new(cfg.filters, cfg.units, &mut rng), Gru::new(cfg.filters, cfg.units, &mut rng)),
            out: Dense::new(2 * cfg.units, 1, &mut rng),
            drops: [Dropout::new(cfg.dropout, seed.wrapping_add(101))?, Dropout::new(cfg.dropout, seed.wrapping_add(102))?],
            info: HashMap::new(),
            cfg,
        })
    }

    pub fn config(&self) -> &VerifierConfig {
        &self.cfg
    }

    /// Reseeds the dropout masks: each data-parallel worker, at each step, draws its own.
    pub fn reseed_dropout(&mut self, seed: u64) {
        crate::nn::dropout::reseed_all(&mut self.drops, seed);
    }

    /// x: [B, W, M] -> ReLU(conv(standardised x)) time-major [W', B, F] and the conv cache.
    fn front(&self, x: ArrayView3<F>) -> Result<(Array3<F>, Conv1dCache<F>), ModelError> {
        let (_, w, m) = x.dim();
        if m != self.cfg.n_mels || w != self.cfg.frames() {
            return Err(ModelError::Invalid(format!("verifier windows are {w} x {m}, the model expects {} x {}", self.cfg.frames(), self.cfg.n_mels)));
        }
        let xn = (&x - &self.feat_mean.value) * &self.feat_scale.value;
        let (a, cache) = self.conv.forward(xn.view())?;
        Ok((a.mapv(|v| v.max(F::zero())).permuted_axes([1, 0, 2]).as_standard_layout().into_owned(), cache))
    }

    /// Training forward: x: [B, W, M] -> logits [B, 1] and the cache.
    pub fn forward_train(&mut self, x: ArrayView3<F>) -> Result<(Array2<F>, VerifierCache<F>), ModelError> {
        let (conv_out, conv) = self.front(x)?; // (1)
        let steps = conv_out.dim().0;
        let (dropped, drop0) = self.drops[0].forward_train(conv_out.view()); // (2)
        let (h, gru) = self.gru.forward(SeqInput::Dense(dropped.view()), None)?; // (3)
        let summary = ends(h.view(), self.cfg.units); // (4)
        let (summary, drop1) = self.drops[1].forward_train(summary.view()); // (5)
        let (z, dense) = self.out.forward(summary.view()); // (6)
        Ok((z, VerifierCache { conv, conv_out, drop0, gru, drop1, dense, steps }))
    }

    /// dlogits: [B, 1] -> adds every parameter's gradient.
    pub fn backward(&mut self, cache: &VerifierCache<F>, dlogits: ArrayView2<F>) -> Result<(), ModelError> {
        let units = self.cfg.units;
        // inverts (6) z = out(summary)
        let dsummary = self.out.backward(&cache.dense, dlogits);
        // inverts (5), the summary's dropout
        let dsummary = self.drops[1].backward(&cache.drop1, dsummary.view())?;
        // inverts (4) summary = [h_fwd[T'-1] ; h_bwd[0]]: every other step's output gets nothing
        let batch = dsummary.nrows();
        let mut dh = Array3::zeros((cache.steps, batch, 2 * units));
        dh.slice_mut(s![cache.steps - 1, .., ..units]).assign(&dsummary.slice(s![.., ..units]));
        dh.slice_mut(s![0, .., units..]).assign(&dsummary.slice(s![.., units..]));
        // inverts (3) h = gru(dropped)
        let ddropped = self.gru.backward(&cache.gru, dh.view()).ok_or_else(|| ModelError::Invalid("GRU gave no input gradient".into()))?;
        // inverts (2), the convolution's dropout
        let dconv_out = self.drops[0].backward(&cache.drop0, ddropped.view())?;
        // inverts (1) conv_out = relu(conv(x̂)) and the time-major transpose
        let da = ndarray::Zip::from(&dconv_out).and(&cache.conv_out).map_collect(|&g, &y| if y > F::zero() { g } else { F::zero() });
        let da = da.permuted_axes([1, 0, 2]).as_standard_layout().into_owned();
        self.conv.backward(&cache.conv, da.view())?;
        Ok(())
    }

    /// One batch: forward, mean BCE, backward. x: [B, W, M], y: [B] in {0, 1}. Returns the
    /// mean loss.
    pub fn train_batch(&mut self, x: ArrayView3<F>, y: ndarray::ArrayView1<F>) -> Result<f64, ModelError> {
        let (z, cache) = self.forward_train(x)?;
        let y2 = y.insert_axis(Axis(1));
        let lg = sigmoid_binary_cross_entropy(z.view(), y2)?;
        let n = lg.count.max(1) as f64;
        self.backward(&cache, (lg.dlogits * F::of(1.0 / n)).view())?;
        Ok(lg.loss.as_f64() / n)
    }

    /// Probabilities that each window [B, W, M] holds the word: [B].
    pub fn predict(&self, x: ArrayView3<F>) -> Result<Array1<F>, ModelError> {
        let (conv_out, _) = self.front(x)?;
        let (h, _) = self.gru.forward(SeqInput::Dense(conv_out.view()), None)?;
        Ok(self.out.apply(ends(h.view(), self.cfg.units).view()).column(0).mapv(sigmoid))
    }

    pub fn metadata(&self) -> HashMap<String, String> {
        let mut m = self.info.clone();
        m.extend(self.cfg.metadata());
        m
    }

    pub fn from_weights(w: &Weights, extra_prefixes: &[&str]) -> Result<Self, ModelError> {
        w.expect_kind(KIND)?;
        let cfg = VerifierConfig {
            n_mels: w.meta_parse("n_mels")?,
            filters: w.meta_parse("filters")?,
            kernel: w.meta_parse("kernel")?,
            stride: w.meta_parse("stride")?,
            units: w.meta_parse("units")?,
            before: w.meta_parse("before")?,
            after: w.meta_parse("after")?,
            // verifiers saved before dropout was a setting trained without it
            dropout: if w.meta("dropout").is_ok() { w.meta_parse("dropout")? } else { 0.0 },
        };
        let mut v = Self::new(cfg, 0)?;
        w.load_into_except(&mut v, extra_prefixes)?;
        v.info.extend(w.meta_subset(&["word", "val_accuracy", "seed"]));
        Ok(v)
    }
}

/// [W', B, 2H] -> [B, 2H]: the forward direction's last output and the backward one's
/// first, each a summary of the whole window read from its side.
fn ends<F: Scalar>(h: ArrayView3<F>, units: usize) -> Array2<F> {
    let last = h.dim().0 - 1;
    ndarray::concatenate![Axis(1), h.slice(s![last, .., ..units]), h.slice(s![0, .., units..])]
}

impl<F: Scalar> Module<F> for Verifier<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.feat_mean.visit(prefix, "feat_mean", f);
        self.feat_scale.visit(prefix, "feat_scale", f);
        self.conv.visit(&join(prefix, "conv"), f);
        self.gru.visit(&join(prefix, "gru"), f);
        self.out.visit(&join(prefix, "out"), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::check_params;
    use crate::nn::scalar::randn;

    fn tiny() -> VerifierConfig {
        VerifierConfig { n_mels: 3, filters: 4, kernel: 3, stride: 2, units: 3, before: 6, after: 3, dropout: 0.0 }
    }

    /// Backward (conv, ReLU, both GRU directions, the two end states, dense) against
    /// central differences.
    #[test]
    fn gradcheck_whole_verifier() {
        let mut v = Verifier::<f64>::new(tiny(), 4).unwrap();
        let mut rng = seeded_rng(5);
        v.feat_mean.value = randn(3, 0.5, &mut rng);
        v.conv.b.value = randn(4, 0.3, &mut rng);
        let x: Array3<f64> = randn((3, 9, 3), 1.0, &mut rng);
        let y = ndarray::array![1.0, 0.0, 1.0];
        let report = check_params(&mut v, |n| {
            n.zero_grad();
            n.train_batch(x.view(), y.view()).unwrap()
        });
        assert!(report.max_rel_error < 1e-5, "{report:?}");
        // predict is the training forward's sigmoid
        let (z, _) = v.forward_train(x.view()).unwrap();
        let p = v.predict(x.view()).unwrap();
        for (a, b) in p.iter().zip(z.column(0)) {
            assert!((a - sigmoid(*b)).abs() < 1e-12);
        }
    }

    /// The same with dropout at 0.5, its masks redrawn from one seed before every forward
    /// pass so the differences see the masks the backward pass inverts; and two seeds draw
    /// different masks, so the loss tells them apart.
    #[test]
    fn gradcheck_with_dropout() {
        let mut v = Verifier::<f64>::new(VerifierConfig { dropout: 0.5, ..tiny() }, 4).unwrap();
        let mut rng = seeded_rng(6);
        v.conv.b.value = randn(4, 0.3, &mut rng);
        let x: Array3<f64> = randn((3, 9, 3), 1.0, &mut rng);
        let y = ndarray::array![1.0, 0.0, 1.0];
        let report = check_params(&mut v, |n| {
            n.zero_grad();
            n.reseed_dropout(9);
            n.train_batch(x.view(), y.view()).unwrap()
        });
        assert!(report.max_rel_error < 1e-5, "{report:?}");
        let loss = |n: &mut Verifier<f64>, seed| {
            n.reseed_dropout(seed);
            n.train_batch(x.view(), y.view()).unwrap()
        };
        assert_ne!(loss(&mut v, 9), loss(&mut v, 10));
    }

    /// Frames 0..5 of a 1-band recording valued 1..=5; before 3 and after 2 around frame 1
    /// read frames -1..=3: a zero, then 1, 2, 3, 4. Around frame 4: frames 2..=6, so 3, 4,
    /// 5 and two zeros past the end.
    #[test]
    fn windows_pad_with_zeros_past_either_end() {
        let frames = Array2::from_shape_vec((5, 1), vec![1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let cfg = VerifierConfig { n_mels: 1, before: 3, after: 2, ..tiny() };
        assert_eq!(window(frames.view(), 1, &cfg).column(0).to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(window(frames.view(), 4, &cfg).column(0).to_vec(), vec![3.0, 4.0, 5.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_sizes_and_windows_are_errors() {
        assert!(Verifier::<f32>::new(VerifierConfig { before: 1, after: 0, ..tiny() }, 0).is_err());
        assert!(Verifier::<f32>::new(VerifierConfig { dropout: 1.0, ..tiny() }, 0).is_err());
        let v = Verifier::<f32>::new(tiny(), 0).unwrap();
        assert!(v.predict(Array3::zeros((1, 8, 3)).view()).is_err());
        assert!(v.predict(Array3::zeros((1, 9, 2)).view()).is_err());
    }

    #[test]
    fn weights_round_trip() {
        let mut v = Verifier::<f32>::new(tiny(), 2).unwrap();
        v.info.insert("word".into(), "activate".into());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.safetensors");
        let meta = v.metadata();
        crate::nn::weights::save(&path, &mut v, meta).unwrap();
        let back = Verifier::<f32>::from_weights(&Weights::read(&path).unwrap(), &[]).unwrap();
        assert_eq!(back.config(), v.config());
        assert_eq!(back.info.get("word").map(String::as_str), Some("activate"));
        let x: Array3<f32> = randn((2, 9, 3), 1.0, &mut seeded_rng(1));
        assert_eq!(back.predict(x.view()).unwrap(), v.predict(x.view()).unwrap());
    }
}
