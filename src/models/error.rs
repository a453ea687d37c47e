//! Errors a user can cause through a model: bad data, unseen characters, absurd settings.

use std::path::PathBuf;

use crate::nn::NnError;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Nn(#[from] NnError),
    #[error("character {ch:?} (at position {pos} of {text:?}) is not in this model's vocabulary: {vocab}")]
    UnseenChar { ch: char, pos: usize, text: String, vocab: String },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    Data { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}
