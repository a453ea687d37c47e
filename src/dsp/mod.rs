//! Signal processing for audio models: spectrograms, resampling, mixing and audio files.
//!
//! Pure functions and allocation-free streaming state; nothing here touches a sound card
//! (that is `audio/`), so every part tests without one.

pub mod audio_file;
pub mod error;
pub mod mix;
pub mod pcen;
pub mod resample;
pub mod room;
pub mod spectrogram;

pub use audio_file::{Audio, read_audio, write_wav};
pub use error::DspError;
pub use resample::{StreamResampler, resample};
pub use spectrogram::{Spectrogram, SpectrogramConfig};
