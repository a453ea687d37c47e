//! Jazz: an LSTM that improvises over chord progressions, trained on the Weimar Jazz
//! Database solos (see `data` for the representation and why).

pub mod bigram;
pub mod data;
pub mod generate;
pub mod model;
pub mod train;

use std::path::Path;

use crate::models::ModelError;
use crate::nn::weights::Weights;
use model::JazzLstm;

/// Weights shipped with seqlab, built into the binary so generation works anywhere.
static SHIPPED: &[u8] = include_bytes!("../../../assets/jazz.safetensors");

/// The model at `path`, or the shipped one.
pub fn load_model(path: Option<&Path>) -> Result<JazzLstm<f32>, ModelError> {
    JazzLstm::from_weights(&Weights::read_or_shipped(path, "jazz.safetensors", SHIPPED)?, &[])
}
