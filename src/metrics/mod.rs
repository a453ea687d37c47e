//! Scores for model outputs, independent of any model: plain functions of token sequences.

pub mod bleu;

pub use bleu::{bleu, corpus_bleu};
