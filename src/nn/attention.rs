//! One step of additive attention, as in the deeplearning.ai Sequence Models NMT assignment
//! (`one_step_attention`), batched.
//!
//! For every encoder position t the previous decoder state is set beside the encoder state,
//! `x_t = [a_t, s_prev]` (the course's `concatenate([a, s_prev])`: encoder columns first),
//! scored by a small network `e_t = relu(w2 · tanh(W1 x_t + b1) + b2)`, the scores are
//! softmaxed over t into `α`, and the context is `Σ_t α_t a_t`.
//!
//! `W1 x_t` splits by rows of `W1` into `a_t W1a + s_prev W1s`. The encoder half does not
//! change while a decoder writes a whole output, so [`Attention::keys`] computes it once per
//! input and [`Attention::attend`] adds only the state half at each step: the same numbers
//! as the course's layer at a fraction of the work (for the course's sizes the encoder half
//! is most of the attention's cost). [`Attention::forward`] does both for a single step.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, s};

use super::activation::{Activation, apply_in_place, softmax_rows, softmax_rows_backward, tanh};
use super::dense::Dense;
use super::linalg::{gemm_acc, matmul};
use super::param::{Module, ParamMut, join};
use super::{NnError, Scalar};

/// a: [B, Tx, Da] (encoder states), s_prev: [B, Ds] (decoder state) -> context: [B, Da],
/// alphas: [B, Tx]. `dense1`: [Da+Ds -> E] (tanh), `dense2`: [E -> 1] (relu).
#[derive(Clone, Debug)]
pub struct Attention<F: Scalar> {
    pub dense1: Dense<F>,
    pub dense2: Dense<F>,
    /// Da: where the encoder columns of `dense1`'s input end and the state columns begin.
    da: usize,
}

/// The encoder states and their half of the scoring layer, shared by every decoder step.
pub struct Keys<F> {
    /// [B, Tx, Da].
    a: Array3<F>,
    /// a W1a + b1: [B·Tx, E].
    proj: Array2<F>,
}

/// Gradients that every decoder step adds to and [`Attention::keys_backward`] finishes.
pub struct KeysGrad<F> {
    /// Through the context's weighted sum: [B, Tx, Da].
    d_a: Array3<F>,
    /// On `proj`: [B·Tx, E].
    d_proj: Array2<F>,
}

/// What one step's backward needs.
pub struct StepCache<F> {
    s_prev: Array2<F>,
    /// Softmax output [B, Tx]; exactly 0 at masked positions.
    alphas: Array2<F>,
    /// tanh output [B·Tx, E].
    hidden: Array2<F>,
    /// relu output before masking [B·Tx, 1].
    energies: Array2<F>,
}

/// What [`Attention::backward`] needs: one step with its own keys.
pub struct AttentionCache<F> {
    keys: Keys<F>,
    step: StepCache<F>,
}

impl<F: Scalar> Attention<F> {
    /// `ds`: decoder state width, `da`: encoder state width (2·n_a for a Bi-LSTM),
    /// `e`: width of the scoring layer (10 in the course).
    pub fn new(ds: usize, da: usize, e: usize, rng: &mut impl rand::Rng) -> Self {
        Self { dense1: Dense::new(da + ds, e, rng), dense2: Dense::new(e, 1, rng), da }
    }

    /// Da: the width of the encoder states.
    pub fn encoder_size(&self) -> usize {
        self.da
    }

    /// Ds: the width of the decoder state. Saturates so that a `dense1` replaced by a
    /// too-narrow one is caught in `keys`.
    pub fn state_size(&self) -> usize {
        self.dense1.input_size().saturating_sub(self.da)
    }

    /// The encoder half of the scoring layer: a: [B, Tx, Da] -> keys for every step.
    pub fn keys(&self, a: ArrayView3<F>) -> Result<Keys<F>, NnError> {
        self.check_layers()?;
        let (batch, tx, da) = a.dim();
        if da != self.da {
            return Err(NnError::Invalid(format!("encoder states have width {da}, attention expects {}", self.da)));
        }
        if tx == 0 {
            return Err(NnError::Invalid("attention over an empty encoder sequence".into()));
        }
        let a = a.as_standard_layout().into_owned();
        let flat = a.view().into_shape_with_order((batch * tx, da)).expect("standard layout reshapes");
        // (1a) proj = a W1a + b1
        let proj = matmul(&flat, &self.dense1.w.value.slice(s![..da, ..])) + &self.dense1.b.value;
        Ok(Keys { a, proj })
    }

    /// One decoder step over precomputed keys. `mask`: [B, Tx], 0 marks a padded encoder
    /// position (any other value a real one); padded positions get α = 0 exactly. Every row
    /// needs at least one real position.
    pub fn attend(
        &self,
        keys: &Keys<F>,
        s_prev: ArrayView2<F>,
        mask: Option<ArrayView2<F>>,
    ) -> Result<(Array2<F>, Array2<F>, StepCache<F>), NnError> {
        let (batch, tx, da) = keys.a.dim();
        self.check_step(keys, s_prev, mask)?;
        let e = self.dense1.output_size();
        // (1b) z1 = proj + repeat(s_prev W1s)
        let state_part = matmul(&s_prev, &self.dense1.w.value.slice(s![da.., ..]));
        let mut hidden = keys.proj.clone();
        let sp = state_part.as_slice().expect("a product is standard-layout");
        let z1 = hidden.as_slice_mut().expect("keys hold a standard-layout projection");
        if e > 0 {
            for (rows, s) in z1.chunks_exact_mut(tx * e).zip(sp.chunks_exact(e)) {
                for row in rows.chunks_exact_mut(e) {
                    row.iter_mut().zip(s).for_each(|(z, &s)| *z += s);
                }
            }
        }
        apply_in_place(&mut hidden, tanh); // (2)
        // (3) z2 = hidden w2 + b2 and (4) relu, as one dot product per row: with one output
        // column a matrix product would mostly pack and unpack.
        let w2 = self.dense2.w.value.column(0);
        let b2 = self.dense2.b.value[0];
        let energies: Array2<F> = Array2::from_shape_fn((batch * tx, 1), |(r, _)| {
            let z2 = hidden.row(r).dot(&w2) + b2;
            z2.max(F::zero())
        });
        let mut scores = energies.clone().into_shape_with_order((batch, tx)).expect("[B·Tx, 1] reshapes to [B, Tx]");
        if let Some(m) = mask {
            // exp(-inf - max) is exactly 0, and `check_step` guaranteed a finite max in every row.
            ndarray::Zip::from(&mut scores).and(m).for_each(|e, &m| {
                if m == F::zero() {
                    *e = F::neg_infinity();
                }
            }); // (5)
        }
        let alphas = softmax_rows(scores.view()); // (6)
        // (7) context = Σ_t α_t a_t, accumulated row by row rather than through a
        // [B, Tx, Da] product that would be allocated and summed at every step.
        let mut context = Array2::zeros((batch, da));
        let a = keys.a.as_slice().expect("keys hold a standard-layout copy");
        let al = alphas.as_slice().expect("softmax output is standard-layout");
        let ctx = context.as_slice_mut().expect("a new array is standard-layout");
        if da > 0 {
            for ((c, a_b), al_b) in ctx.chunks_exact_mut(da).zip(a.chunks_exact(tx * da)).zip(al.chunks_exact(tx)) {
                for (a_t, &w) in a_b.chunks_exact(da).zip(al_b) {
                    c.iter_mut().zip(a_t).for_each(|(c, &a)| *c += w * a);
                }
            }
        }
        let cache = StepCache { s_prev: s_prev.to_owned(), alphas: alphas.clone(), hidden, energies };
        Ok((context, alphas, cache))
    }

    /// Zeroed gradients for the steps over `keys` to add to.
    pub fn keys_grad(&self, keys: &Keys<F>) -> KeysGrad<F> {
        KeysGrad { d_a: Array3::zeros(keys.a.raw_dim()), d_proj: Array2::zeros(keys.proj.raw_dim()) }
    }

    /// Backward of [`Attention::attend`]: d_context: [B, Da] -> ds_prev: [B, Ds], adding the
    /// gradient on the keys into `grad` and the state half's into `dense1`.
    ///
    /// # Panics
    /// If `d_context` is not [B, Da] of the forward pass that made `cache`.
    pub fn attend_backward(&mut self, keys: &Keys<F>, cache: &StepCache<F>, d_context: ArrayView2<F>, grad: &mut KeysGrad<F>) -> Array2<F> {
        let (batch, tx, da) = keys.a.dim();
        assert_eq!(d_context.dim(), (batch, da), "d_context must be [B, Da] of the forward pass");
        let e = self.dense1.output_size();
        let dc = d_context.insert_axis(Axis(1));
        // (7) context = Σ_t α_t a_t:  dα_t = a_t · dc,  da_t += α_t dc
        let d_alphas = (&keys.a * &dc).sum_axis(Axis(2));
        grad.d_a.zip_mut_with(&(&cache.alphas.view().insert_axis(Axis(2)) * &dc), |g, &d| *g += d);
        // (6) softmax; (5) needs nothing: a masked position has α = 0, so its dscore is 0
        let d_scores = softmax_rows_backward(cache.alphas.view(), d_alphas.view());
        let d_energies = d_scores.into_shape_with_order((batch * tx, 1)).expect("[B, Tx] reshapes to [B·Tx, 1]");
        let dz2 = Activation::Relu.backward(cache.energies.view(), d_energies.view()); // (4)
        let d_hidden = self.dense2.backward_from(cache.hidden.view(), dz2.view()); // (3)
        let dz1 = Activation::Tanh.backward(cache.hidden.view(), d_hidden.view()); // (2)
        // (1b) z1 = proj + repeat(s_prev W1s): dproj += dz1; the repeat sums over Tx
        grad.d_proj += &dz1;
        let dz1_s = dz1.into_shape_with_order((batch, tx, e)).expect("[B·Tx, E] reshapes to [B, Tx, E]").sum_axis(Axis(1));
        gemm_acc(F::one(), &cache.s_prev.t(), &dz1_s.view(), &mut self.dense1.w.grad.slice_mut(s![da.., ..]));
        matmul(&dz1_s.view(), &self.dense1.w.value.slice(s![da.., ..]).t())
    }

    /// Finishes the keys' backward once every step has added to `grad`: -> da: [B, Tx, Da].
    pub fn keys_backward(&mut self, keys: &Keys<F>, grad: KeysGrad<F>) -> Array3<F> {
        let (batch, tx, da) = keys.a.dim();
        let flat = keys.a.view().into_shape_with_order((batch * tx, da)).expect("keys hold a standard-layout copy");
        // (1a) proj = a W1a + b1:  dW1a += aᵀ dproj,  db1 += Σ dproj,  da += dproj W1aᵀ
        gemm_acc(F::one(), &flat.t(), &grad.d_proj.view(), &mut self.dense1.w.grad.slice_mut(s![..da, ..]));
        self.dense1.b.grad += &grad.d_proj.sum_axis(Axis(0));
        let from_proj = matmul(&grad.d_proj.view(), &self.dense1.w.value.slice(s![..da, ..]).t());
        grad.d_a + &from_proj.into_shape_with_order((batch, tx, da)).expect("[B·Tx, Da] reshapes to [B, Tx, Da]")
    }

    /// One step with its own keys: [`Attention::keys`] then [`Attention::attend`].
    pub fn forward(
        &self,
        a: ArrayView3<F>,
        s_prev: ArrayView2<F>,
        mask: Option<ArrayView2<F>>,
    ) -> Result<(Array2<F>, Array2<F>, AttentionCache<F>), NnError> {
        let keys = self.keys(a)?;
        let (context, alphas, step) = self.attend(&keys, s_prev, mask)?;
        Ok((context, alphas, AttentionCache { keys, step }))
    }

    /// d_context: [B, Da] -> (da: [B, Tx, Da], ds_prev: [B, Ds]).
    ///
    /// # Panics
    /// If `d_context` is not [B, Da] of the forward pass that made `cache`.
    pub fn backward(&mut self, cache: &AttentionCache<F>, d_context: ArrayView2<F>) -> (Array3<F>, Array2<F>) {
        let mut grad = self.keys_grad(&cache.keys);
        let ds_prev = self.attend_backward(&cache.keys, &cache.step, d_context, &mut grad);
        (self.keys_backward(&cache.keys, grad), ds_prev)
    }

    fn check_layers(&self) -> Result<(), NnError> {
        let (e, ds) = (self.dense1.output_size(), self.state_size());
        if self.dense1.input_size() != self.da + ds || ds == 0 || self.dense2.input_size() != e || self.dense2.output_size() != 1 {
            return Err(NnError::Invalid(format!(
                "attention layers are [{} -> {e}] and [{} -> {}], expected [Da+Ds -> E] with Da = {} and [E -> 1]",
                self.dense1.input_size(),
                self.dense2.input_size(),
                self.dense2.output_size(),
                self.da
            )));
        }
        Ok(())
    }

    fn check_step(&self, keys: &Keys<F>, s_prev: ArrayView2<F>, mask: Option<ArrayView2<F>>) -> Result<(), NnError> {
        self.check_layers()?;
        let (batch, tx, _) = keys.a.dim();
        let ds = self.state_size();
        if keys.proj.ncols() != self.dense1.output_size() {
            return Err(NnError::Invalid("these keys were made by another attention layer".into()));
        }
        if s_prev.dim() != (batch, ds) {
            return Err(NnError::Invalid(format!("decoder state is {:?}, expected [{batch}, {ds}]", s_prev.dim())));
        }
        if let Some(m) = mask {
            if m.dim() != (batch, tx) {
                return Err(NnError::Invalid(format!("mask is {:?}, encoder states are [{batch}, {tx}, ..]", m.dim())));
            }
            if let Some(b) = m.rows().into_iter().position(|r| r.iter().all(|&v| v == F::zero())) {
                return Err(NnError::Invalid(format!("mask row {b} has no real encoder position to attend to")));
            }
        }
        Ok(())
    }
}

impl<F: Scalar> Module<F> for Attention<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.dense1.visit(&join(prefix, "dense1"), f);
        self.dense2.visit(&join(prefix, "dense2"), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_input, check_params};
    use crate::nn::scalar::{randn, seeded_rng};
    use ndarray::array;

    /// Da = 2, Ds = 1, E = 1, Tx = 2, x_t = [a_t0, a_t1, s]:
    /// W1 = [ln 2, 0, ln 2]ᵀ, b1 = -ln 2, s = 1 give z1_t = ln 2 · a_t0.
    /// Row 0: a_1 = [0, 4], a_2 = [1, 8]: z1 = [0, ln 2], tanh -> [0, 3/5]
    /// (tanh(ln 2) = (4-1)/(4+1)). W2 = 5/3 · ln 3, b2 = 0: energies [0, ln 3] (relu keeps
    /// both), alphas = [1, 3] / (1 + 3) = [1/4, 3/4],
    /// context = 1/4 [0, 4] + 3/4 [1, 8] = [3/4, 1 + 6] = [0.75, 7].
    /// Row 1 holds the same states in swapped order: alphas [3/4, 1/4], the same context.
    #[test]
    fn golden_forward() {
        let (l2, l3) = (2f64.ln(), 3f64.ln());
        let mut att: Attention<f64> = Attention::new(1, 2, 1, &mut seeded_rng(0));
        att.dense1 = Dense::from_weights(array![[l2], [0.0], [l2]], array![-l2]);
        att.dense2 = Dense::from_weights(array![[5.0 / 3.0 * l3]], array![0.0]);
        let a = array![[[0.0, 4.0], [1.0, 8.0]], [[1.0, 8.0], [0.0, 4.0]]];
        let s_prev = array![[1.0], [1.0]];
        let (context, alphas, _) = att.forward(a.view(), s_prev.view(), None).unwrap();
        let close = |x: &Array2<f64>, y: Array2<f64>| (x - &y).iter().all(|d| d.abs() < 1e-12);
        assert!(close(&alphas, array![[0.25, 0.75], [0.75, 0.25]]), "{alphas}");
        assert!(close(&context, array![[0.75, 7.0], [0.75, 7.0]]), "{context}");
    }

    #[test]
    fn alphas_are_a_distribution_per_row() {
        let mut rng = seeded_rng(3);
        let att: Attention<f64> = Attention::new(3, 4, 10, &mut rng);
        let a: Array3<f64> = randn((5, 7, 4), 1.0, &mut rng);
        let s_prev: Array2<f64> = randn((5, 3), 1.0, &mut rng);
        let (context, alphas, _) = att.forward(a.view(), s_prev.view(), None).unwrap();
        assert_eq!(context.dim(), (5, 4));
        assert_eq!(alphas.dim(), (5, 7));
        assert!(alphas.iter().all(|&p| p >= 0.0));
        for row in alphas.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12, "{row}");
        }
    }

    #[test]
    fn masked_positions_get_no_attention() {
        let mut rng = seeded_rng(4);
        let mut att: Attention<f64> = Attention::new(2, 3, 5, &mut rng);
        let mut a: Array3<f64> = randn((2, 4, 3), 1.0, &mut rng);
        let s_prev: Array2<f64> = randn((2, 2), 1.0, &mut rng);
        let mask = array![[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]];
        let (context, alphas, cache) = att.forward(a.view(), s_prev.view(), Some(mask.view())).unwrap();
        for (&p, &m) in alphas.iter().zip(&mask) {
            assert!(if m == 0.0 { p == 0.0 } else { p > 0.0 }, "alpha {p} at mask {m}");
        }
        for row in alphas.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        // Padding content must not leak into the context or receive gradient.
        let (da, _) = att.backward(&cache, Array2::ones((2, 3)).view());
        a.slice_mut(s![0, 2.., ..]).fill(1e3);
        a.slice_mut(s![1, 3, ..]).fill(-1e3);
        let (context2, _, _) = att.forward(a.view(), s_prev.view(), Some(mask.view())).unwrap();
        assert_eq!(context, context2);
        assert!(da.slice(s![0, 2.., ..]).iter().chain(da.slice(s![1, 3, ..])).all(|&g| g == 0.0), "{da}");

        let full = array![[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]];
        assert!(matches!(att.forward(a.view(), s_prev.view(), Some(full.view())), Err(NnError::Invalid(_))));
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let mut rng = seeded_rng(5);
        let mut att: Attention<f64> = Attention::new(2, 3, 5, &mut rng);
        let a: Array3<f64> = Array3::zeros((2, 4, 3));
        let s: Array2<f64> = Array2::zeros((2, 2));
        let invalid = |r: Result<_, NnError>| matches!(r, Err(NnError::Invalid(_)));
        assert!(att.forward(a.view(), s.view(), None).is_ok());
        assert!(invalid(att.forward(a.view(), Array2::zeros((3, 2)).view(), None)));
        assert!(invalid(att.forward(a.view(), Array2::zeros((2, 3)).view(), None)));
        assert!(invalid(att.forward(Array3::zeros((2, 4, 2)).view(), s.view(), None)));
        assert!(invalid(att.forward(Array3::zeros((2, 0, 3)).view(), s.view(), None)));
        assert!(invalid(att.forward(a.view(), s.view(), Some(Array2::ones((2, 3)).view()))));
        assert!(invalid(att.forward(a.view(), s.view(), Some(Array2::ones((1, 4)).view()))));
        att.dense2 = Dense::new(5, 2, &mut rng);
        assert!(invalid(att.forward(a.view(), s.view(), None)));
    }

    #[test]
    fn visits_both_dense_layers() {
        let mut att: Attention<f32> = Attention::new(2, 3, 5, &mut seeded_rng(6));
        let mut names = Vec::new();
        att.visit("att", &mut |n, _| names.push(n.to_string()));
        assert_eq!(names, ["att.dense1.w", "att.dense1.b", "att.dense2.w", "att.dense2.b"]);
        assert_eq!(att.num_params(), 5 * 5 + 5 + 5 + 1);
    }

    /// Two decoder steps read the same `a`, so the input check on `a` also covers the
    /// caller summing `da` over steps.
    fn gradcheck(seed: u64, (b, tx, ds, da, e): (usize, usize, usize, usize, usize), mask: Option<Array2<f64>>) {
        let mut rng = seeded_rng(seed);
        let mut att: Attention<f64> = Attention::new(ds, da, e, &mut rng);
        // Lift the relu so that most energies sit on its positive branch; otherwise the
        // check would mostly see a constant 0.
        att.dense2.b.value.fill(0.3);
        let a: Array3<f64> = randn((b, tx, da), 1.0, &mut rng);
        let s1: Array2<f64> = randn((b, ds), 1.0, &mut rng);
        let s2: Array2<f64> = randn((b, ds), 1.0, &mut rng);
        let r1: Array2<f64> = randn((b, da), 1.0, &mut rng);
        let r2: Array2<f64> = randn((b, da), 1.0, &mut rng);
        let m = mask.as_ref().map(|m| m.view());

        let (mut positive, mut negative) = (0, 0);
        for s in [&s1, &s2] {
            let (_, _, cache) = att.forward(a.view(), s.view(), m).unwrap();
            let z2 = att.dense2.apply(cache.step.hidden.view());
            assert!(z2.iter().all(|z| z.abs() > 1e-4), "a relu pre-activation is too close to its kink: {z2}");
            positive += z2.iter().filter(|&&z| z > 0.0).count();
            negative += z2.iter().filter(|&&z| z < 0.0).count();
        }
        assert!(positive > 0 && negative > 0, "relu branches seen: {positive} positive, {negative} negative");

        let loss = |att: &Attention<f64>, a: &Array3<f64>, s1: &Array2<f64>| {
            let (c1, _, _) = att.forward(a.view(), s1.view(), m).unwrap();
            let (c2, _, _) = att.forward(a.view(), s2.view(), m).unwrap();
            (c1 * &r1).sum() + (c2 * &r2).sum()
        };
        let backward = |att: &mut Attention<f64>| {
            let (_, _, k1) = att.forward(a.view(), s1.view(), m).unwrap();
            let (_, _, k2) = att.forward(a.view(), s2.view(), m).unwrap();
            let (da1, ds1) = att.backward(&k1, r1.view());
            let (da2, _) = att.backward(&k2, r2.view());
            (da1 + da2, ds1)
        };

        let report = check_params(&mut att, |att| {
            att.zero_grad();
            backward(att);
            loss(att, &a, &s1)
        });
        assert!(report.max_rel_error < 1e-6, "{report:?}");
        assert_eq!(report.checked, (da + ds) * e + e + e + 1);

        att.zero_grad();
        let (d_a, d_s1) = backward(&mut att);
        let err = check_input(&a, &d_a, |a| loss(&att, a, &s1));
        assert!(err < 1e-6, "da: relative error {err}");
        let err = check_input(&s1, &d_s1, |s1| loss(&att, &a, s1));
        assert!(err < 1e-6, "ds_prev: relative error {err}");
    }

    /// Keys computed once and shared by two steps give the same gradients as two
    /// single steps that each compute their own.
    #[test]
    fn shared_keys_equal_separate_steps() {
        let mut rng = seeded_rng(13);
        let mut att: Attention<f64> = Attention::new(3, 4, 5, &mut rng);
        let a: Array3<f64> = randn((2, 3, 4), 1.0, &mut rng);
        let (s1, s2): (Array2<f64>, Array2<f64>) = (randn((2, 3), 1.0, &mut rng), randn((2, 3), 1.0, &mut rng));
        let (r1, r2): (Array2<f64>, Array2<f64>) = (randn((2, 4), 1.0, &mut rng), randn((2, 4), 1.0, &mut rng));
        let grads = |att: &mut Attention<f64>| {
            let mut all = Vec::new();
            att.visit("", &mut |_, p| all.extend(p.grad.iter().copied()));
            all
        };
        let (_, _, c1) = att.forward(a.view(), s1.view(), None).unwrap();
        let (_, _, c2) = att.forward(a.view(), s2.view(), None).unwrap();
        let (da1, ds1) = att.backward(&c1, r1.view());
        let (da2, ds2) = att.backward(&c2, r2.view());
        let separate = grads(&mut att);
        att.zero_grad();
        let keys = att.keys(a.view()).unwrap();
        let (_, _, k1) = att.attend(&keys, s1.view(), None).unwrap();
        let (_, _, k2) = att.attend(&keys, s2.view(), None).unwrap();
        let mut g = att.keys_grad(&keys);
        let shared_ds2 = att.attend_backward(&keys, &k2, r2.view(), &mut g);
        let shared_ds1 = att.attend_backward(&keys, &k1, r1.view(), &mut g);
        let shared_da = att.keys_backward(&keys, g);
        let close = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(a, b)| (a - b).abs() < 1e-12);
        assert!(close(&grads(&mut att), &separate));
        assert!(close((da1 + da2).as_slice().unwrap(), shared_da.as_slice().unwrap()));
        assert!(close(ds1.as_slice().unwrap(), shared_ds1.as_slice().unwrap()));
        assert!(close(ds2.as_slice().unwrap(), shared_ds2.as_slice().unwrap()));
    }

    #[test]
    fn gradcheck_small() {
        gradcheck(11, (2, 3, 2, 4, 5), None);
    }

    #[test]
    fn gradcheck_course_width_masked() {
        let mask = array![[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0]];
        gradcheck(12, (3, 4, 3, 6, 10), Some(mask.clone()));
        gradcheck(12, (3, 4, 3, 6, 10), None);
    }
}
