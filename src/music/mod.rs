//! Music without neural networks: chord symbols, keys and progressions, a beat-based score,
//! Standard MIDI File I/O, the Weimar Jazz Database reader, accompaniment, and rendering to
//! audio. Nothing here knows about models, the GUI or sound devices, so it all tests headless.

pub mod accompany;
pub mod midi;
pub mod reverb;
pub mod score;
pub mod synth;
pub mod theory;
pub mod wjazzd;

use std::path::PathBuf;

pub use score::{Note, Part, Song};
pub use theory::{Chord, Key, Progression, Quality};

/// What a user, a file or a setting can get wrong in music code.
#[derive(Debug, thiserror::Error)]
pub enum MusicError {
    #[error("unknown chord symbol {symbol:?}: {reason} (examples: C, Cmaj7, Dm7, G7, Bm7b5, F#dim7, C7/E)")]
    UnknownChord { symbol: String, reason: String },
    #[error("unknown key {0:?}: write a note name with an optional 'm' for minor, e.g. C, Bb, F#m")]
    UnknownKey(String),
    #[error("unknown progression {0:?}: use blues, minor-blues, ii-v-i, rhythm, or chord symbols like \"Dm7 G7 Cmaj7\"")]
    UnknownProgression(String),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// Tempi a player can play: slower than 20 or faster than 400 beats per minute is a typo.
pub const TEMPO_RANGE: std::ops::RangeInclusive<f64> = 20.0..=400.0;

/// Checks a tempo in beats per minute.
pub fn check_tempo(bpm: f64) -> Result<f64, MusicError> {
    if !bpm.is_finite() || !TEMPO_RANGE.contains(&bpm) {
        return Err(MusicError::Invalid(format!(
            "tempo must be {}..={} beats per minute, got {bpm}",
            TEMPO_RANGE.start(),
            TEMPO_RANGE.end()
        )));
    }
    Ok(bpm)
}
