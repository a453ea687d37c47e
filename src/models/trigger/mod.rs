//! Trigger word: a streaming GRU detector of a spoken word, trained on synthetic speech.
//!
//! `data` makes training clips from TTS voices and recordings, `model` holds the network
//! and its streaming form, `detect` turns probabilities into detections and scores them,
//! `train` trains, `run` runs files through the streaming path (detect, eval, bench).

pub mod data;
pub mod detect;
pub mod model;

use std::path::Path;

use crate::models::ModelError;
use crate::nn::weights::Weights;
use model::TriggerNet;

