//! Fully connected layer.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::linalg::{gemm_acc, matmul};
use super::param::{Module, Param, ParamMut};
use super::scalar::randn;
use super::Scalar;

/// y = x W + b. x: [N, D] -> y: [N, O]; W: [D, O], b: [O].
#[derive(Clone, Debug)]
pub struct Dense<F: Scalar> {
    pub w: Param<F, ndarray::Ix2>,
    pub b: Param<F, ndarray::Ix1>,
}

/// What backward needs: the input.
pub struct DenseCache<F> {
    x: Array2<F>,
}

impl<F: Scalar> Dense<F> {
    /// Glorot-scaled normal weights, zero bias.
    pub fn new(input: usize, output: usize, rng: &mut impl rand::Rng) -> Self {
        let std = (2.0 / (input + output) as f64).sqrt();
        Self::from_weights(randn((input, output), std, rng), Array1::zeros(output))
    }

    pub fn from_weights(w: Array2<F>, b: Array1<F>) -> Self {
        assert_eq!(w.ncols(), b.len(), "bias length must equal the output width");
        Self { w: Param::new(w), b: Param::new(b) }
    }

    pub fn input_size(&self) -> usize {
        self.w.value.nrows()
    }

    pub fn output_size(&self) -> usize {
        self.w.value.ncols()
    }

    /// Inference: y = x W + b, no cache.
    pub fn apply(&self, x: ArrayView2<F>) -> Array2<F> {
        let mut y = matmul(&x, &self.w.value.view());
        y += &self.b.value;
        y
    }

    pub fn forward(&self, x: ArrayView2<F>) -> (Array2<F>, DenseCache<F>) {
        (self.apply(x), DenseCache { x: x.to_owned() })
    }

    /// dy: [N, O] -> dx: [N, D].
    pub fn backward(&mut self, cache: &DenseCache<F>, dy: ArrayView2<F>) -> Array2<F> {
        self.backward_from(cache.x.view(), dy)
    }

    /// [`Dense::backward`] for a caller that keeps the input `x: [N, D]` itself, so a
    /// forward through [`Dense::apply`] need not copy it into a cache.
    pub fn backward_from(&mut self, x: ArrayView2<F>, dy: ArrayView2<F>) -> Array2<F> {
        // y = x W + b:  dW += xᵀ dy,  db += Σ_rows dy,  dx = dy Wᵀ
        gemm_acc(F::one(), &x.t(), &dy, &mut self.w.grad.view_mut());
        self.b.grad += &dy.sum_axis(Axis(0));
        matmul(&dy, &self.w.value.t())
    }
}

impl<F: Scalar> Module<F> for Dense<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.w.visit(prefix, "w", f);
        self.b.visit(prefix, "b", f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_input, check_params};
    use crate::nn::scalar::seeded_rng;
    use ndarray::array;

    /// x = [1, 2], W = [[1, 0, -1], [2, 1, 0]], b = [0.5, 0, 0]
    /// y = [1·1 + 2·2 + 0.5, 1·0 + 2·1, 1·(-1) + 2·0] = [5.5, 2, -1].
    /// With dy = [1, 1, 1]: dx = dy Wᵀ = [1+0-1, 2+1+0] = [0, 3], dW = xᵀ dy = [[1,1,1],[2,2,2]].
    #[test]
    fn golden_forward_backward() {
        let mut d = Dense::from_weights(array![[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]], array![0.5, 0.0, 0.0]);
        let x = array![[1.0f64, 2.0]];
        let (y, cache) = d.forward(x.view());
        assert_eq!(y, array![[5.5, 2.0, -1.0]]);
        let dx = d.backward(&cache, array![[1.0, 1.0, 1.0]].view());
        assert_eq!(dx, array![[0.0, 3.0]]);
        assert_eq!(d.w.grad, array![[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]);
        assert_eq!(d.b.grad, array![1.0, 1.0, 1.0]);
    }

    #[test]
    fn gradcheck_random_shapes() {
        let mut rng = seeded_rng(7);
        for (n, i, o) in [(1, 1, 1), (3, 4, 5), (6, 2, 7)] {
            let mut d: Dense<f64> = Dense::new(i, o, &mut rng);
            let x: Array2<f64> = randn((n, i), 1.0, &mut rng);
            let r: Array2<f64> = randn((n, o), 1.0, &mut rng);
            let report = check_params(&mut d, |d| {
                d.zero_grad();
                let (y, c) = d.forward(x.view());
                d.backward(&c, r.view());
                (y * &r).sum()
            });
            assert!(report.max_rel_error < 1e-7, "{report:?}");
            let (_, c) = d.forward(x.view());
            let dx = d.backward(&c, r.view());
            let err = check_input(&x, &dx, |x| (d.apply(x.view()) * &r).sum());
            assert!(err < 1e-7, "input gradient error {err}");
        }
    }
}
