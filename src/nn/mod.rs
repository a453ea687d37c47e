//! The from-scratch neural-network core: layers with hand-derived backward passes on `ndarray`.
//!
//! Conventions shared by every layer:
//! - batches are rows: a dense input is `[N, D]`, a sequence is time-major `[T, B, D]`;
//! - `forward` returns the output and a cache holding what `backward` needs;
//! - `backward` takes the cache and `dL/d(output)`, *adds* parameter gradients into each
//!   [`Param`]'s `grad` and returns `dL/d(input)`;
//! - everything is generic over [`Scalar`] (`f32` for speed, `f64` for gradient checks).

pub mod activation;
pub mod any_cell;
pub mod batchnorm;
pub mod attention;
pub mod cell;
pub mod conv1d;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod error;
pub mod gradcheck;
pub mod gru;
pub mod linalg;
pub mod loss;
pub mod lstm;
pub mod optim;
pub mod param;
pub mod recurrent;
pub mod rnn;
pub mod sampling;
pub mod scalar;
pub mod weights;

pub use any_cell::{AnyCell, CellKind};
pub use batchnorm::BatchNorm;
pub use attention::Attention;
pub use cell::{Cell, State};
pub use conv1d::Conv1d;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use error::NnError;
pub use gru::Gru;
pub use lstm::Lstm;
pub use param::{Module, Param, ParamMut};
pub use recurrent::{Bidirectional, Recurrent, Stacked};
pub use rnn::Rnn;
pub use scalar::{Scalar, seeded_rng};
