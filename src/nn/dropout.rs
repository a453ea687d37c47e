//! Inverted dropout.

use ndarray::{Array, ArrayView, Dimension};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{NnError, Scalar, seeded_rng};

/// Zeroes each element with probability `p` in training and scales the survivors by
/// 1/(1 - p), so the expected output equals the input and inference is the identity
/// (no rescaling to remember at serving time). Any shape: x: [...] -> y: [...].
///
/// Holds its own seeded generator: a run with the same seed drops the same elements.
#[derive(Clone, Debug)]
pub struct Dropout {
    p: f64,
    rng: ChaCha8Rng,
}

/// Reseeds a model's dropouts from one seed, each from its own stream (seed·31 + its
/// index), so data-parallel workers given different seeds draw different masks.
pub fn reseed_all(drops: &mut [Dropout], seed: u64) {
    for (i, d) in drops.iter_mut().enumerate() {
        d.reseed(seed.wrapping_mul(31).wrapping_add(i as u64));
    }
}

/// The mask drawn in training: 0 where dropped, 1/(1 - p) where kept, same shape as x.
pub struct DropoutCache<F, D: Dimension> {
    mask: Array<F, D>,
}

impl Dropout {
    /// `p` is the probability of dropping an element, in [0, 1): p = 1 would drop
    /// everything and scale by 1/0.
    pub fn new(p: f64, seed: u64) -> Result<Self, NnError> {
        if !(0.0..1.0).contains(&p) {
            return Err(NnError::Invalid(format!("dropout rate must be in [0, 1), got {p}")));
        }
        Ok(Self { p, rng: seeded_rng(seed) })
    }

    pub fn rate(&self) -> f64 {
        self.p
    }

    /// Restarts the mask generator from `seed`; the rate stays.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = seeded_rng(seed);
    }

    /// Training: y = x ⊙ mask, drawing a fresh mask.
    pub fn forward_train<F: Scalar, D: Dimension>(&mut self, x: ArrayView<F, D>) -> (Array<F, D>, DropoutCache<F, D>) {
        let scale = F::of(1.0 / (1.0 - self.p));
        let p = self.p;
        let rng = &mut self.rng;
        // (1) keep with probability 1 - p; the kept value is pre-scaled so (2) is one product
        let mask = Array::from_shape_simple_fn(x.raw_dim(), || if rng.random::<f64>() < p { F::zero() } else { scale });
        let y = &x * &mask; // (2)
        (y, DropoutCache { mask })
    }

    /// Inference: the identity (training already scaled the kept elements up).
    pub fn forward_infer<F: Scalar, D: Dimension>(&self, x: ArrayView<F, D>) -> Array<F, D> {
        x.to_owned()
    }

    /// dy -> dx = dy ⊙ mask, i.e. dy/(1 - p) where kept and 0 where dropped.
    pub fn backward<F: Scalar, D: Dimension>(
        &self,
        cache: &DropoutCache<F, D>,
        dy: ArrayView<F, D>,
    ) -> Result<Array<F, D>, NnError> {
        if dy.shape() != cache.mask.shape() {
            return Err(NnError::Invalid(format!(
                "dropout backward got dy of shape {:?} for an output of shape {:?}",
                dy.shape(),
                cache.mask.shape()
            )));
        }
        // (2) y = x ⊙ mask: dx = dy ⊙ mask; (1) draws the mask, nothing to differentiate
        Ok(&dy * &cache.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::check_input;
    use crate::nn::scalar::randn;
    use ndarray::{Array1, Array2, Array3, array};

    #[test]
    fn rates_outside_zero_to_one_are_errors() {
        for p in [-0.1, 1.0, 1.5, f64::NAN] {
            assert!(matches!(Dropout::new(p, 0), Err(NnError::Invalid(_))), "{p}");
        }
        assert_eq!(Dropout::new(0.0, 0).unwrap().rate(), 0.0);
    }

    #[test]
    fn same_seed_same_mask() {
        let x: Array2<f64> = Array2::ones((8, 16));
        let (_, a) = Dropout::new(0.5, 42).unwrap().forward_train(x.view());
        let (_, b) = Dropout::new(0.5, 42).unwrap().forward_train(x.view());
        let (_, c) = Dropout::new(0.5, 43).unwrap().forward_train(x.view());
        assert_eq!(a.mask, b.mask);
        assert_ne!(a.mask, c.mask);
    }

    /// Each output is x/(1-p) with probability 1-p and 0 otherwise, so E[y] = x: over
    /// 200 000 elements of mean 1 the output mean is 1 to within a few standard errors
    /// (std of y is √(p/(1-p)) ≈ 0.65 for p = 0.3, standard error ≈ 0.0015), and about
    /// 70% of the elements survive.
    #[test]
    fn output_mean_matches_input_mean() {
        let mut d = Dropout::new(0.3, 7).unwrap();
        let x: Array1<f64> = randn(200_000, 0.5, &mut seeded_rng(1)) + 1.0;
        let (y, cache) = d.forward_train(x.view());
        let (mx, my) = (x.mean().unwrap(), y.mean().unwrap());
        assert!((mx - my).abs() < 0.01, "input mean {mx}, output mean {my}");
        let kept = cache.mask.iter().filter(|&&m| m != 0.0).count() as f64 / 200_000.0;
        assert!((kept - 0.7).abs() < 0.01, "kept fraction {kept}");
        assert_eq!(d.forward_infer(x.view()), x);
    }

    /// p = ½ scales kept elements by 1/(1 - ½) = 2. On x = [1, 2, 3, 4, 5, 6] with
    /// dy = [10, 20, 30, 40, 50, 60], a kept element i gives y_i = 2 x_i and dx_i = 2 dy_i
    /// (e.g. a kept x = 3 gives 6 and passes back 60), a dropped one gives 0 both ways.
    #[test]
    fn golden_backward_is_mask_times_dy_over_keep_rate() {
        let mut d = Dropout::new(0.5, 3).unwrap();
        let x = array![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let dy = array![10.0f64, 20.0, 30.0, 40.0, 50.0, 60.0];
        let (y, cache) = d.forward_train(x.view());
        let dx = d.backward(&cache, dy.view()).unwrap();
        let kept: Vec<bool> = y.iter().map(|&v| v != 0.0).collect();
        assert!(kept.contains(&true) && kept.contains(&false), "seed 3 should keep some and drop some");
        for i in 0..6 {
            let (want_y, want_dx) = if kept[i] { (2.0 * x[i], 2.0 * dy[i]) } else { (0.0, 0.0) };
            assert_eq!((y[i], dx[i]), (want_y, want_dx), "element {i}");
        }
        assert!(d.backward(&cache, array![1.0f64].view()).is_err());
    }

    /// Rebuilding the layer from the same seed redraws the same mask, so the loss is a
    /// fixed linear function of x that central differences can probe.
    #[test]
    fn gradcheck_with_a_fixed_mask() {
        let mut rng = seeded_rng(2);
        for (p, shape) in [(0.2, (1, 4, 3)), (0.5, (3, 5, 2)), (0.0, (2, 2, 2))] {
            let x: Array3<f64> = randn(shape, 1.0, &mut rng);
            let r: Array3<f64> = randn(shape, 1.0, &mut rng);
            let mut d = Dropout::new(p, 17).unwrap();
            let (_, cache) = d.forward_train(x.view());
            let dx = d.backward(&cache, r.view()).unwrap();
            let err = check_input(&x, &dx, |x| (Dropout::new(p, 17).unwrap().forward_train(x.view()).0 * &r).sum());
            assert!(err < 1e-6, "p = {p}: input gradient error {err}");
        }
    }
}
