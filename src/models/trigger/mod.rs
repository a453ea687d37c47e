//! Trigger word: a streaming GRU detector of a spoken word, trained on synthetic speech.
//!
//! `data` makes training clips from TTS voices and recordings, `model` holds the network
//! and its streaming form, `detect` turns probabilities into detections and scores them,
//! `train` trains, `run` runs files through the streaming path (detect, eval, bench).

pub mod data;
pub mod detect;
pub mod model;
pub mod run;
pub mod train;

use std::path::Path;

use crate::models::ModelError;
use crate::nn::weights::Weights;
use model::TriggerNet;

/// The shipped "activate" model's file name under `assets/`.
pub const SHIPPED_NAME: &str = "trigger.safetensors";

/// The model at `path`, or the shipped one.
pub fn load_model(path: Option<&Path>) -> Result<TriggerNet<f32>, ModelError> {
    let w = match path {
        Some(p) => Weights::read(p)?,
        None => return Err(ModelError::Invalid("no trigger model is shipped in this build; pass --model PATH".into())),
    };
    TriggerNet::from_weights(&w, &["adam."])
}
