//! Errors a file or a caller can cause in signal processing.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DspError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is empty")]
    Empty { path: PathBuf },
    #[error("{path} is not a WAV or FLAC file (it starts with {magic:?})")]
    NotAudio { path: PathBuf, magic: String },
    #[error("{path} is not a valid audio file: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{path} is truncated: {reason}")]
    Truncated { path: PathBuf, reason: String },
    #[error("{path} declares a sample rate of {rate} Hz; seqlab reads 1 Hz to 768 kHz")]
    BadRate { path: PathBuf, rate: u32 },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("invalid argument: {0}")]
    Invalid(String),
}
