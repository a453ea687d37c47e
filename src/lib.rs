//! seqlab: the deeplearning.ai Sequence Models course as a native desktop lab.
//!
//! Layers (arrows point to what a module may use):
//! `cli`, `gui` -> `models` -> `nn`. `nn` and `models` never touch the GUI or audio.
//! `metrics` (BLEU) is plain functions of token sequences and uses nothing else here.

// A layer's forward returns (output, state, cache) and sampling takes its knobs as plain
// arguments: naming each such tuple or bundling each argument list would hide the shapes
// the doc comments spell out, so these two lints are off for the crate.
#![allow(clippy::type_complexity, clippy::too_many_arguments)]

pub mod atomic;
pub mod audio;
pub mod cli;
pub mod dsp;
#[cfg(feature = "gui")]
pub mod gui;
pub mod metrics;
pub mod music;
pub mod models;
pub mod nn;
