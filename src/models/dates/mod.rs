//! Dates: human-written dates to ISO 8601 with the course's attention model.

pub mod data;
pub mod model;
pub mod train;
pub mod translate;

use std::path::Path;

use crate::models::ModelError;
use crate::nn::weights::Weights;
use model::Nmt;

/// Weights shipped with seqlab, built into the binary so translation works anywhere.
static SHIPPED: &[u8] = include_bytes!("../../../assets/dates.safetensors");

/// The model at `path`, or the shipped one.
pub fn load_model(path: Option<&Path>) -> Result<Nmt<f32>, ModelError> {
    Nmt::from_weights(&Weights::read_or_shipped(path, "dates.safetensors", SHIPPED)?, &[])
}
