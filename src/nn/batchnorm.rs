//! Batch normalisation over the channel (last) axis, and its folding into the layer before
//! it for inference.

use ndarray::{Array1, Array2, ArrayView2, Axis, Ix1, Zip};

use super::conv1d::Conv1d;
use super::dense::Dense;
use super::param::{Module, Param, ParamMut};
use super::{NnError, Scalar};

/// y = γ (x - μ) / √(σ² + ε) + β per channel. x: [N, C] -> y: [N, C]; γ, β: [C].
///
/// A sequence `[B, T, C]` is normalised by flattening it to `[B·T, C]` first, so that
/// statistics are shared across time as well as batch.
///
/// Training uses the batch's mean and (biased) variance and updates the running estimates
/// the PyTorch way: `running = (1 - momentum)·running + momentum·batch`, with the
/// *unbiased* variance for `running_var`. Inference uses the running estimates.
/// `running_mean` and `running_var` are frozen params (`trainable = false`) so that
/// optimizers and gradient checks skip them while weight files still save them.
#[derive(Clone, Debug)]
pub struct BatchNorm<F: Scalar> {
    pub gamma: Param<F, Ix1>,
    pub beta: Param<F, Ix1>,
    pub running_mean: Param<F, Ix1>,
    pub running_var: Param<F, Ix1>,
    /// Weight of the newest batch in the running estimates (PyTorch's default 0.1).
    pub momentum: f64,
    /// Added to the variance so a constant channel does not divide by zero.
    pub eps: f64,
}

/// What backward needs: the normalised input and the per-channel 1/√(σ² + ε).
pub struct BatchNormCache<F> {
    x_hat: Array2<F>,
    inv_std: Array1<F>,
}

impl<F: Scalar> BatchNorm<F> {
    /// γ = 1, β = 0 (the identity on a standardised input); running mean 0, variance 1.
    pub fn new(channels: usize) -> Self {
        Self {
            gamma: Param::new(Array1::ones(channels)),
            beta: Param::new(Array1::zeros(channels)),
            running_mean: Param::frozen(Array1::zeros(channels)),
            running_var: Param::frozen(Array1::ones(channels)),
            momentum: 0.1,
            eps: 1e-5,
        }
    }

    pub fn channels(&self) -> usize {
        self.gamma.value.len()
    }

    fn check_channels(&self, what: &str, found: usize) -> Result<(), NnError> {
        if found != self.channels() {
            return Err(NnError::Invalid(format!(
                "batch norm over {} channels got {what} with {found}",
                self.channels()
            )));
        }
        Ok(())
    }

    /// Training: x: [N, C] -> y: [N, C], normalised by this batch's statistics; also moves
    /// the running estimates towards them. N must be at least 2 (the unbiased variance of
    /// one row is undefined).
    pub fn forward_train(&mut self, x: ArrayView2<F>) -> Result<(Array2<F>, BatchNormCache<F>), NnError> {
        self.check_channels("an input", x.ncols())?;
        let n = x.nrows();
        if n < 2 {
            return Err(NnError::Invalid(format!("batch norm training needs at least 2 rows, got {n}")));
        }
        let nf = F::of(n as f64);
        let eps = F::of(self.eps);
        let mean = x.sum_axis(Axis(0)) / nf; // (1)
        let centered = &x - &mean; // (2)
        let var = (&centered * &centered).sum_axis(Axis(0)) / nf; // (3) biased: what x̂ is divided by
        let inv_std = var.mapv(|v| F::one() / (v + eps).sqrt()); // (4)
        let x_hat = &centered * &inv_std; // (5)
        let y = &x_hat * &self.gamma.value + &self.beta.value; // (6)

        // Not part of the graph: the running estimates only feed inference.
        let m = F::of(self.momentum);
        let keep = F::one() - m;
        let unbias = nf / (nf - F::one());
        Zip::from(&mut self.running_mean.value).and(&mean).for_each(|r, &b| *r = keep * *r + m * b);
        Zip::from(&mut self.running_var.value).and(&var).for_each(|r, &b| *r = keep * *r + m * b * unbias);
        Ok((y, BatchNormCache { x_hat, inv_std }))
    }

    /// Inference: x: [N, C] -> y: [N, C] with the running statistics (any N, even 1).
    pub fn forward_infer(&self, x: ArrayView2<F>) -> Result<Array2<F>, NnError> {
        self.check_channels("an input", x.ncols())?;
        let scale = self.inference_scale();
        Ok((&x - &self.running_mean.value) * &scale + &self.beta.value)
    }

    /// dy: [N, C] -> dx: [N, C]; adds into `gamma.grad` and `beta.grad`. Differentiates
    /// through the batch statistics too: every row's output depends on every row's input.
    pub fn backward(&mut self, cache: &BatchNormCache<F>, dy: ArrayView2<F>) -> Result<Array2<F>, NnError> {
        self.check_channels("a cache", cache.inv_std.len())?;
        if dy.dim() != cache.x_hat.dim() {
            return Err(NnError::Invalid(format!(
                "batch norm backward got dy of shape {:?} for an output of shape {:?}",
                dy.shape(),
                cache.x_hat.shape()
            )));
        }
        let nf = F::of(dy.nrows() as f64);
        // (6) y = γ x̂ + β:  dγ += Σ_rows dy x̂,  dβ += Σ_rows dy,  dx̂ = dy γ
        self.gamma.grad += &(&dy * &cache.x_hat).sum_axis(Axis(0));
        self.beta.grad += &dy.sum_axis(Axis(0));
        let dx_hat = &dy * &self.gamma.value;
        // (5) x̂ = (x - μ)/s with s = √(σ² + ε), differentiated along all three paths into x:
        //   directly through (x - μ) by (2):      dx̂ / s
        //   through σ² by (3)-(4):                dσ² = -Σ dx̂ x̂ / (2 s²), dx += dσ² · 2(x - μ)/N
        //                                         = -x̂ Σ(dx̂ x̂) / (N s)
        //   through μ by (1)-(2):                 -Σ dx̂ / (N s); μ's path through σ² vanishes
        //                                         because Σ (x - μ) = 0
        // together: dx = (N dx̂ - Σ dx̂ - x̂ Σ(dx̂ x̂)) / (N s).
        let sum_dx_hat = dx_hat.sum_axis(Axis(0));
        let sum_dx_hat_x_hat = (&dx_hat * &cache.x_hat).sum_axis(Axis(0));
        let dx = (dx_hat * nf - &sum_dx_hat - &(&cache.x_hat * &sum_dx_hat_x_hat)) * &(&cache.inv_std / nf);
        Ok(dx)
    }

    /// γ / √(running_var + ε): with the running statistics fixed, inference is the affine
    /// map `(x - running_mean)·scale + β`, which is what lets it fold into the layer before.
    fn inference_scale(&self) -> Array1<F> {
        let eps = F::of(self.eps);
        Zip::from(&self.gamma.value).and(&self.running_var.value).map_collect(|&g, &v| g / (v + eps).sqrt())
    }

    /// `(W', b')` with `x W' + b' = BN_infer(x W + b)`: W' = W·scale per output column,
    /// b' = (b - running_mean)·scale + β.
    fn fold(&self, w: &Array2<F>, b: &Array1<F>) -> Result<(Array2<F>, Array1<F>), NnError> {
        self.check_channels("a preceding layer", w.ncols())?;
        let scale = self.inference_scale();
        Ok((w * &scale, (b - &self.running_mean.value) * &scale + &self.beta.value))
    }

    /// `(W', b')` with `x W' + b' = BN_infer(x) W + b`: this batch norm folded into the
    /// linear map *after* it (a recurrent cell's input projection, a classifier).
    /// BN_infer(x) = x·scale + c with c = β - running_mean·scale, so W' = diag(scale)·W
    /// (row i scaled by scale_i) and b' = b + c W. w: [C, K], b: [K].
    pub fn fold_before(&self, w: &Array2<F>, b: &Array1<F>) -> Result<(Array2<F>, Array1<F>), NnError> {
        self.check_channels("a following layer", w.nrows())?;
        if b.len() != w.ncols() {
            return Err(NnError::Invalid(format!("bias of length {} for {} outputs", b.len(), w.ncols())));
        }
        let scale = self.inference_scale();
        let c = &self.beta.value - &(&self.running_mean.value * &scale);
        let w_new = w * &scale.view().insert_axis(Axis(1));
        Ok((w_new, b + &c.dot(w)))
    }

    /// The dense layer `dense` followed by this batch norm in inference, as one dense layer
    /// (one product instead of two passes at serving time).
    pub fn fold_into_dense(&self, dense: &Dense<F>) -> Result<Dense<F>, NnError> {
        let (w, b) = self.fold(&dense.w.value, &dense.b.value)?;
        Ok(Dense::from_weights(w, b))
    }

    /// The convolution `conv` followed by this batch norm in inference, as one convolution
    /// (BN acts per output channel, which is per column of the im2col weights).
    pub fn fold_into_conv(&self, conv: &Conv1d<F>) -> Result<Conv1d<F>, NnError> {
        let (w, b) = self.fold(&conv.w.value, &conv.b.value)?;
        Conv1d::from_weights(w, b, conv.kernel(), conv.stride())
    }
}

impl<F: Scalar> Module<F> for BatchNorm<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.gamma.visit(prefix, "gamma", f);
        self.beta.visit(prefix, "beta", f);
        self.running_mean.visit(prefix, "running_mean", f);
        self.running_var.visit(prefix, "running_var", f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_input, check_params};
    use crate::nn::optim::{Optimizer, Sgd};
    use crate::nn::scalar::{randn, seeded_rng};
    use ndarray::{Array3, array};

    fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
        a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < tol)
    }

    /// One channel, ε = 0, γ = 2, β = 1, x = [1, 1, 1, 1, 6]:
    /// μ = 10/5 = 2, x - μ = [-1, -1, -1, -1, 4], σ² = (1+1+1+1+16)/5 = 4, s = 2,
    /// x̂ = [-½, -½, -½, -½, 2], y = 2x̂ + 1 = [0, 0, 0, 0, 5].
    /// Running (momentum 0.1, from 0 and 1): mean = 0.1·2 = 0.2,
    /// var = 0.9·1 + 0.1·(20/4) = 1.4 (unbiased: divided by N - 1 = 4).
    /// Backward with dy = [1, 0, 0, 0, 0]: dγ = Σ dy x̂ = -½, dβ = 1, dx̂ = γ dy = [2, 0, 0, 0, 0],
    /// Σ dx̂ = 2, Σ dx̂ x̂ = -1, dx = (5 dx̂ - 2 - x̂·(-1)) / (5·2)
    /// = ([10, 0, 0, 0, 0] - 2 + [-½, -½, -½, -½, 2]) / 10 = [0.75, -0.25, -0.25, -0.25, 0].
    #[test]
    fn golden_train_forward_backward() {
        let mut bn = BatchNorm::new(1);
        bn.eps = 0.0;
        bn.gamma.value[0] = 2.0;
        bn.beta.value[0] = 1.0;
        let x = array![[1.0f64], [1.0], [1.0], [1.0], [6.0]];
        let (y, cache) = bn.forward_train(x.view()).unwrap();
        assert!(close(&y, &array![[0.0], [0.0], [0.0], [0.0], [5.0]], 1e-12), "{y}");
        assert!((bn.running_mean.value[0] - 0.2).abs() < 1e-12);
        assert!((bn.running_var.value[0] - 1.4).abs() < 1e-12);
        let dx = bn.backward(&cache, array![[1.0], [0.0], [0.0], [0.0], [0.0]].view()).unwrap();
        assert!(close(&dx, &array![[0.75], [-0.25], [-0.25], [-0.25], [0.0]], 1e-12), "{dx}");
        assert!((bn.gamma.grad[0] + 0.5).abs() < 1e-12);
        assert_eq!(bn.beta.grad[0], 1.0);
    }

    /// Inference with running mean 1, variance 4, ε = 0, γ = 2, β = 1 on x = 5:
    /// (5 - 1)/√4 · 2 + 1 = 5, whatever the batch.
    #[test]
    fn golden_inference_uses_running_statistics() {
        let mut bn = BatchNorm::new(1);
        bn.eps = 0.0;
        bn.gamma.value[0] = 2.0;
        bn.beta.value[0] = 1.0;
        bn.running_mean.value[0] = 1.0;
        bn.running_var.value[0] = 4.0;
        assert_eq!(bn.forward_infer(array![[5.0f64]].view()).unwrap(), array![[5.0]]);
    }

    #[test]
    fn running_statistics_are_saved_but_not_trained() {
        let mut bn: BatchNorm<f64> = BatchNorm::new(3);
        let mut seen = Vec::new();
        bn.visit("bn", &mut |name, p| seen.push((name.to_string(), p.trainable)));
        let expected = [("bn.gamma", true), ("bn.beta", true), ("bn.running_mean", false), ("bn.running_var", false)];
        assert_eq!(seen, expected.map(|(n, t)| (n.to_string(), t)));

        let x: Array2<f64> = randn((6, 3), 1.0, &mut seeded_rng(4));
        let (_, cache) = bn.forward_train(x.view()).unwrap();
        bn.backward(&cache, Array2::ones((6, 3)).view()).unwrap();
        let (mean, var) = (bn.running_mean.value.clone(), bn.running_var.value.clone());
        Sgd { lr: 0.1 }.step(&mut bn);
        assert_eq!((bn.running_mean.value, bn.running_var.value), (mean, var));
    }

    #[test]
    fn caller_mistakes_are_errors() {
        let mut bn: BatchNorm<f64> = BatchNorm::new(2);
        assert!(bn.forward_train(Array2::zeros((4, 3)).view()).is_err());
        assert!(bn.forward_train(Array2::zeros((1, 2)).view()).is_err());
        assert!(bn.forward_infer(Array2::zeros((4, 3)).view()).is_err());
        let (_, cache) = bn.forward_train(Array2::zeros((4, 2)).view()).unwrap();
        assert!(bn.backward(&cache, Array2::zeros((3, 2)).view()).is_err());
        let dense: Dense<f64> = Dense::new(4, 3, &mut seeded_rng(0));
        assert!(bn.fold_into_dense(&dense).is_err());
    }

    #[test]
    fn gradcheck_random_shapes() {
        let mut rng = seeded_rng(5);
        for (n, c) in [(2, 1), (5, 3), (9, 4)] {
            let mut bn: BatchNorm<f64> = BatchNorm::new(c);
            bn.gamma.value = randn(c, 1.0, &mut rng);
            bn.beta.value = randn(c, 1.0, &mut rng);
            let x: Array2<f64> = randn((n, c), 2.0, &mut rng);
            let r: Array2<f64> = randn((n, c), 1.0, &mut rng);
            let report = check_params(&mut bn, |bn| {
                bn.zero_grad();
                let (y, cache) = bn.forward_train(x.view()).unwrap();
                bn.backward(&cache, r.view()).unwrap();
                (y * &r).sum()
            });
            assert!(report.max_rel_error < 1e-6, "{report:?}");
            let (_, cache) = bn.forward_train(x.view()).unwrap();
            let dx = bn.backward(&cache, r.view()).unwrap();
            let err = check_input(&x, &dx, |x| (bn.forward_train(x.view()).unwrap().0 * &r).sum());
            assert!(err < 1e-6, "input gradient error {err}");
        }
    }

    /// Folding into the layer after: BN_infer(x) W + b equals x W' + b'.
    #[test]
    fn folding_before_a_linear_map_matches() {
        let mut rng = seeded_rng(10);
        let mut bn: BatchNorm<f64> = BatchNorm::new(3);
        bn.gamma.value = randn(3, 1.0, &mut rng);
        bn.beta.value = randn(3, 1.0, &mut rng);
        bn.running_mean.value = randn(3, 1.0, &mut rng);
        bn.running_var.value = randn::<f64, _, _>(3, 1.0, &mut rng).mapv(|v| v * v + 0.1);
        let w: Array2<f64> = randn((3, 5), 1.0, &mut rng);
        let b: Array1<f64> = randn(5, 1.0, &mut rng);
        let x: Array2<f64> = randn((4, 3), 1.0, &mut rng);
        let want = bn.forward_infer(x.view()).unwrap().dot(&w) + &b;
        let (w2, b2) = bn.fold_before(&w, &b).unwrap();
        assert!(close(&(x.dot(&w2) + &b2), &want, 1e-12));
        assert!(bn.fold_before(&Array2::zeros((2, 5)), &b).is_err());
    }

    /// Trains the running statistics on a few batches, then checks that the folded layer
    /// computes exactly what the layer followed by inference-mode batch norm computes.
    #[test]
    fn folding_matches_layer_then_batchnorm() {
        let mut rng = seeded_rng(9);
        let mut bn: BatchNorm<f64> = BatchNorm::new(3);
        bn.gamma.value = randn(3, 1.0, &mut rng);
        bn.beta.value = randn(3, 1.0, &mut rng);

        let mut dense: Dense<f64> = Dense::new(4, 3, &mut rng);
        dense.b.value = randn(3, 1.0, &mut rng);
        for _ in 0..3 {
            let x: Array2<f64> = randn((8, 4), 1.0, &mut rng);
            bn.forward_train(dense.apply(x.view()).view()).unwrap();
        }
        let x: Array2<f64> = randn((5, 4), 1.0, &mut rng);
        let expected = bn.forward_infer(dense.apply(x.view()).view()).unwrap();
        let folded = bn.fold_into_dense(&dense).unwrap();
        assert!(close(&folded.apply(x.view()), &expected, 1e-12));

        let mut conv: Conv1d<f64> = Conv1d::new(2, 3, 3, 2, &mut rng).unwrap();
        conv.b.value = randn(3, 1.0, &mut rng);
        let x: Array3<f64> = randn((2, 9, 2), 1.0, &mut rng);
        let y = conv.apply(x.view()).unwrap();
        let (b, t, c) = y.dim();
        let flat = y.into_shape_with_order((b * t, c)).unwrap();
        let expected = bn.forward_infer(flat.view()).unwrap();
        let folded = bn.fold_into_conv(&conv).unwrap();
        assert_eq!((folded.kernel(), folded.stride()), (3, 2));
        let got = folded.apply(x.view()).unwrap().into_shape_with_order((b * t, c)).unwrap();
        assert!(close(&got, &expected, 1e-12));
    }
}
