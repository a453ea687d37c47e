//! Sound devices: microphone capture (cpal), the live detection path behind it, and playback
//! (rodio). Used by `gui` and `cli` only; `models`, `nn`, `dsp` and `music` never touch a
//! device, so they test without a sound card.

pub mod input;
pub mod listen;
pub mod play;

/// Why a sound device could not be used. The messages are meant for the user: each says
/// what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("no usable microphone ({0}); use a WAV or FLAC file as input instead")]
    NoInputDevice(String),
    #[error("no input device named {0:?}; `seqlab trigger devices` lists them")]
    UnknownDevice(String),
    #[error("audio device error: {0}")]
    Device(String),
}
