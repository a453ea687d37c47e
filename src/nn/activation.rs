//! Element-wise activations and the row softmax, each beside its derivative.
//!
//! The derivatives of sigmoid, tanh and softmax are written in terms of the *output*
//! `y`, which the forward pass already holds, so caches never need the pre-activation.

use ndarray::{Array, Array2, ArrayView, ArrayView2, Axis, Dimension, Zip};

use super::Scalar;

/// Branch-free like [`tanh`], so maps over gate blocks vectorise: clamping to ±40 changes
/// nothing visible (σ(40) is 1 in f32 and within 1e-17 of it in f64) and keeps
/// `exp(-x)` finite.
pub fn sigmoid<F: Scalar>(x: F) -> F {
    let limit = F::of(40.0);
    let x = if x > limit { limit } else if x < -limit { -limit } else { x };
    F::one() / (F::one() + (-x).exp_vec())
}

/// tanh through one `exp`: glibc's `tanhf` goes through `expm1f` and was a sixth of a
/// training step. Relative error near 0 grows to ~1e-7 (absolute stays below), which
/// f32 training cannot see; |x| > 20 saturates exactly. Clamping instead of returning
/// early keeps it branch-free, so a map over an array vectorises; NaN fails both
/// comparisons and stays NaN.
pub fn tanh<F: Scalar>(x: F) -> F {
    let limit = F::of(20.0);
    let x = if x > limit { limit } else if x < -limit { -limit } else { x };
    let e = (x + x).exp_vec();
    (e - F::one()) / (e + F::one())
}

/// `a = f(a)` element-wise. A contiguous array (either order: the map does not care) goes
/// through [`Scalar::map_in_place`]'s wide SIMD build; `mapv` would run baseline code.
pub fn apply_in_place<F: Scalar, D: Dimension>(a: &mut Array<F, D>, f: impl Fn(F) -> F) {
    match a.as_slice_memory_order_mut() {
        Some(xs) => F::map_in_place(xs, f),
        None => a.mapv_inplace(f),
    }
}

/// The non-linearities a layer can end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Tanh,
    Sigmoid,
    Relu,
}

impl Activation {
    /// y = f(x), element-wise.
    pub fn forward<F: Scalar, D: Dimension>(self, x: ArrayView<F, D>) -> Array<F, D> {
        match self {
            Activation::Identity => x.to_owned(),
            Activation::Tanh => {
                let mut y = x.to_owned();
                apply_in_place(&mut y, tanh);
                y
            }
            Activation::Sigmoid => {
                let mut y = x.to_owned();
                apply_in_place(&mut y, sigmoid);
                y
            }
            Activation::Relu => x.mapv(|v| v.max(F::zero())),
        }
    }

    /// dL/dx from the forward output `y` and dL/dy.
    pub fn backward<F: Scalar, D: Dimension>(
        self,
        y: ArrayView<F, D>,
        dy: ArrayView<F, D>,
    ) -> Array<F, D> {
        let one = F::one();
        match self {
            Activation::Identity => dy.to_owned(),
            // y = tanh(x)      => dx = dy * (1 - y²)
            Activation::Tanh => Zip::from(&y).and(&dy).map_collect(|&y, &g| g * (one - y * y)),
            // y = σ(x)         => dx = dy * y (1 - y)
            Activation::Sigmoid => Zip::from(&y).and(&dy).map_collect(|&y, &g| g * y * (one - y)),
            // y = max(x, 0)    => dx = dy where y > 0 (the kink at 0 takes the zero branch)
            Activation::Relu => {
                Zip::from(&y).and(&dy).map_collect(|&y, &g| if y > F::zero() { g } else { F::zero() })
            }
        }
    }
}

/// Softmax of each row of `x: [N, K]`, shifted by the row max for stability.
pub fn softmax_rows<F: Scalar>(x: ArrayView2<F>) -> Array2<F> {
    let mut y = x.as_standard_layout().into_owned();
    let k = y.ncols().max(1);
    let data = y.as_slice_mut().expect("standard layout");
    for row in data.chunks_exact_mut(k) {
        let m = fold_lanes(row, F::neg_infinity(), |a, b| if b > a { b } else { a });
        row.iter_mut().for_each(|v| *v -= m);
    }
    // One pass over the whole matrix: a row is too short to fill the vector lanes.
    F::map_in_place(data, F::exp_vec);
    for row in data.chunks_exact_mut(k) {
        let inv = F::one() / fold_lanes(row, F::zero(), |a, b| a + b);
        row.iter_mut().for_each(|v| *v *= inv);
    }
    y
}

/// Folds a short slice with eight independent accumulators. A softmax row is a
/// vocabulary wide, and one running max or sum is a chain of dependent operations that
/// cost more than the exponentials; eight chains fit one or two SIMD registers.
fn fold_lanes<F: Scalar>(xs: &[F], init: F, f: impl Fn(F, F) -> F) -> F {
    let mut acc = [init; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = f(*a, x);
        }
    }
    rest.iter().fold(acc.into_iter().fold(init, &f), |a, &x| f(a, x))
}

/// Backward of [`softmax_rows`]: dx_i = y_i (dy_i - Σ_j dy_j y_j), row by row.
pub fn softmax_rows_backward<F: Scalar>(y: ArrayView2<F>, dy: ArrayView2<F>) -> Array2<F> {
    let dot = (&y * &dy).sum_axis(Axis(1)).insert_axis(Axis(1));
    &y * &(&dy - &dot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::check_input;
    use crate::nn::scalar::{randn, seeded_rng};
    use ndarray::{Array2, array};

    /// Golden values: σ(0) = 1/2, σ(ln 3) = 3/4, tanh(ln 2) = (4-1)/(4+1) = 3/5,
    /// softmax([ln 1, ln 3]) = [1/4, 3/4].
    #[test]
    fn golden_values() {
        assert_eq!(sigmoid(0.0f64), 0.5);
        assert!((sigmoid(3f64.ln()) - 0.75).abs() < 1e-12);
        assert!(sigmoid(-1000.0f64) > 0.0 && sigmoid(-1000.0f64) < 1e-17 && sigmoid(1000.0f64) == 1.0);
        let x = array![[2f64.ln()]];
        assert!((Activation::Tanh.forward(x.view())[[0, 0]] - 0.6).abs() < 1e-12);
        let s = softmax_rows(array![[0.0f64, 3f64.ln()]].view());
        assert!((s[[0, 0]] - 0.25).abs() < 1e-12 && (s[[0, 1]] - 0.75).abs() < 1e-12);
        let r = Activation::Relu.forward(array![[-1.0f64, 2.0]].view());
        assert_eq!(r, array![[0.0, 2.0]]);
    }

    /// The f32 tanh (through `exp_vec`) against f64's, and its saturation and NaN.
    #[test]
    fn f32_tanh_matches_f64() {
        let worst = (0..=100_000)
            .map(|i| -25.0 + 50.0 * i as f64 / 100_000.0)
            .map(|x| (tanh(x as f32) as f64 - (x as f32 as f64).tanh()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 2e-7, "absolute error {worst}");
        assert_eq!((tanh(21.0f32), tanh(-21.0f32)), (1.0, -1.0));
        assert!(tanh(f32::NAN).is_nan());
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = seeded_rng(1);
        for act in [Activation::Tanh, Activation::Sigmoid, Activation::Relu, Activation::Identity] {
            // Keep relu inputs away from the kink, where the derivative does not exist.
            let x: Array2<f64> = randn((3, 5), 1.0, &mut rng).mapv(|v: f64| v + 0.1 * v.signum());
            let r: Array2<f64> = randn((3, 5), 1.0, &mut rng);
            let y = act.forward(x.view());
            let dx = act.backward(y.view(), r.view());
            let err = check_input(&x, &dx, |x| (act.forward(x.view()) * &r).sum());
            assert!(err < 1e-7, "{act:?}: relative error {err}");
        }
        let x: Array2<f64> = randn((4, 6), 2.0, &mut rng);
        let r: Array2<f64> = randn((4, 6), 1.0, &mut rng);
        let y = softmax_rows(x.view());
        let dx = softmax_rows_backward(y.view(), r.view());
        let err = check_input(&x, &dx, |x| (softmax_rows(x.view()) * &r).sum());
        assert!(err < 1e-7, "softmax: relative error {err}");
    }
}
