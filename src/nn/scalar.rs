//! The float type the layers are generic over, and the seeded random source every layer uses.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use ndarray::{Array, Dimension, LinalgScalar, ScalarOperand, ShapeBuilder};
use num_traits::{Float, FromPrimitive};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `f32` or `f64`. Training runs in `f32`; gradient checks run in `f64`, where central
/// differences are accurate to ~1e-9 instead of ~1e-3.
pub trait Scalar:
    LinalgScalar
    + Float
    + FromPrimitive
    + ScalarOperand
    + Debug
    + Display
    + Default
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// Converts a constant written as `f64` (learning rates, epsilons, initial scales).
    fn of(x: f64) -> Self;
    fn as_f64(self) -> f64;
    /// e^x as straight-line arithmetic the compiler can vectorise over an array, where
    /// libm's `expf` is a call per element (a tenth of a training step).
    fn exp_vec(self) -> Self;

    /// `x = f(x)` over a slice. The f32 version also has AVX-512F and AVX2 builds, picked at
    /// run time: element-wise maps such as tanh were a tenth of a training step, and
    /// baseline x86-64 code fills a half or a quarter of the lanes those have.
    fn map_in_place(xs: &mut [Self], f: impl Fn(Self) -> Self) {
        xs.iter_mut().for_each(|x| *x = f(*x));
    }
}

impl Scalar for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    /// Cephes' `expf`: x = n ln 2 + r with |r| ≤ ln2/2, e^r by a degree-7 polynomial,
    /// 2^n put straight into the exponent bits. Within 2 ulp of libm; inputs are clamped
    /// to where the result is a normal float. NaN stays NaN (`clamp` passes it
    /// through), so a diverging run still shows.
    fn exp_vec(self) -> Self {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        // ln 2 split in two so n·LN2_HI is exact and r keeps its low bits.
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        // Adding 1.5·2²³ rounds to an integer in the low mantissa bits without a `round`
        // instruction, which baseline x86-64 lacks.
        const ROUND: f32 = 12_582_912.0;
        let x = self.clamp(-87.0, 88.0);
        let t = x * LOG2E + ROUND;
        let n = t - ROUND;
        let r = x - n * LN2_HI - n * LN2_LO;
        let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 0.166_666_65) * r + 0.5;
        let e_r = p * r * r + r + 1.0;
        let n_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
        e_r * f32::from_bits(n_bits.wrapping_add(127).wrapping_shl(23))
    }

    fn map_in_place(xs: &mut [f32], f: impl Fn(f32) -> f32) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU was just checked for AVX-512F, the one feature `map_avx512` assumes.
            unsafe { map_avx512(xs, f) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU was just checked for AVX2, the one feature `map_avx2` assumes.
            unsafe { map_avx2(xs, f) };
            return;
        }
        xs.iter_mut().for_each(|x| *x = f(*x));
    }
}

/// The same loop compiled for AVX-512F. Without fast-math the compiler neither fuses nor
/// reorders the arithmetic, so it gives bit-identical results to the baseline build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn map_avx512(xs: &mut [f32], f: impl Fn(f32) -> f32) {
    xs.iter_mut().for_each(|x| *x = f(*x));
}

/// The same loop compiled for AVX2, for CPUs without AVX-512; bit-identical likewise.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_avx2(xs: &mut [f32], f: impl Fn(f32) -> f32) {
    xs.iter_mut().for_each(|x| *x = f(*x));
}

impl Scalar for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    /// Gradient checks need full f64 accuracy more than speed.
    fn exp_vec(self) -> Self {
        self.exp()
    }
}

/// The one random generator seqlab uses: ChaCha8 is portable across platforms and rand
/// versions, so a seed reproduces the same weights and samples everywhere.
pub fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// An array of independent `N(0, std²)` draws.
pub fn randn<F: Scalar, D: Dimension, Sh: ShapeBuilder<Dim = D>>(
    shape: Sh,
    std: f64,
    rng: &mut impl rand::Rng,
) -> Array<F, D> {
    Array::from_shape_simple_fn(shape, || {
        let z: f64 = StandardNormal.sample(rng);
        F::of(z * std)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f32 polynomial against f64's exp over the whole normal range, and at its ends.
    #[test]
    fn exp_vec_matches_libm() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f64 / 200_000.0;
            let got = (x as f32).exp_vec() as f64;
            let want = (x as f32 as f64).exp();
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(0f32.exp_vec(), 1.0);
        assert!(1000f32.exp_vec().is_finite() && (-1000f32).exp_vec() > 0.0);
        assert!(f32::NAN.exp_vec().is_nan());
    }

    /// Whichever build the CPU picks, the map gives exactly what the plain loop gives.
    #[test]
    fn map_in_place_is_bit_identical_to_the_loop() {
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.07).collect();
        let mut mapped = xs.clone();
        f32::map_in_place(&mut mapped, crate::nn::activation::tanh);
        for (x, y) in xs.iter().zip(&mapped) {
            assert_eq!(crate::nn::activation::tanh(*x).to_bits(), y.to_bits(), "tanh({x})");
        }
    }
}
