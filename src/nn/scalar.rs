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
}

impl Scalar for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
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
