//! Word vectors: train them (skip-gram with negative sampling, GloVe), load anyone's
//! (GloVe / word2vec text), and use them (similarity, neighbours, analogies, debiasing,
//! evaluation on analogy and similarity benchmarks).

pub mod checkpoint;
pub mod corpus;
pub mod debias;
pub mod eval;
pub mod glove;
pub mod hogwild;
pub mod ops;
pub mod sgns;
pub mod tokenize;
pub mod train;
pub mod vectors;
pub mod vocab;

use std::path::{Path, PathBuf};

use crate::nn::NnError;
use crate::nn::weights::Weights;
pub use vectors::WordVectors;

/// The shipped 50-d vectors (the most frequent words of `seqlab words train` with defaults),
/// built into the binary so every word command works with no data.
static SHIPPED: &[u8] = include_bytes!("../../../assets/words.safetensors");

/// The vectors at `path` (safetensors, GloVe or word2vec text), or the shipped ones.
pub fn load_vectors(path: Option<&Path>) -> Result<WordVectors, WordsError> {
    match path {
        Some(p) => WordVectors::read(p),
        None => WordVectors::from_weights(&Weights::read_or_shipped(None, "words.safetensors", SHIPPED)?),
    }
}

/// Errors a user can cause in the words lab: bad corpora, bad vector files, unknown words.
#[derive(Debug, thiserror::Error)]
pub enum WordsError {
    #[error(transparent)]
    Nn(#[from] NnError),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}{}: {reason}", path.display(), if *line > 0 { format!(" line {line}") } else { String::new() })]
    File { path: PathBuf, line: usize, reason: String },
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint { path: PathBuf, reason: String },
    #[error("corpus: {0}")]
    Corpus(String),
    #[error("{0:?} is not in the vocabulary")]
    Unknown(String),
    #[error("{0}")]
    Invalid(String),
}
