//! Errors of the nn core: what a caller (a file, a user, a model) can get wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NnError {
    #[error("cannot read weights file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid safetensors weights file ({reason})")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path} holds a '{found}' model, but a '{expected}' model was asked for")]
    WrongKind { path: PathBuf, expected: String, found: String },
    #[error("{path}: tensor '{name}' is missing")]
    MissingTensor { path: PathBuf, name: String },
    #[error("{path}: tensor '{name}' has shape {found:?}, the model expects {expected:?}")]
    ShapeMismatch { path: PathBuf, name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("{path}: tensor '{name}' is {found}, seqlab stores F32")]
    WrongDtype { path: PathBuf, name: String, found: String },
    #[error("{path}: tensor '{name}' is not part of this model")]
    UnexpectedTensor { path: PathBuf, name: String },
    #[error("{path}: metadata '{key}' is missing or invalid: {reason}")]
    BadMetadata { path: PathBuf, key: String, reason: String },
    #[error("invalid argument: {0}")]
    Invalid(String),
}
