//! seqlab: the deeplearning.ai Sequence Models course as a native desktop lab.
//!
//! Layers (arrows point to what a module may use):
//! `cli`, `gui` -> `models` -> `nn`. `nn` and `models` never touch the GUI or audio.
//! `metrics` (BLEU) is plain functions of token sequences and uses nothing else here.

pub mod atomic;
pub mod audio;
pub mod cli;
#[cfg(feature = "gui")]
pub mod gui;
pub mod metrics;
pub mod music;
pub mod models;
pub mod nn;
