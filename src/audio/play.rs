//! Playing rendered audio through the default output device with rodio.
//!
//! Self-contained on purpose: it takes interleaved samples, so it knows nothing of songs
//! or synthesisers, and a machine without a sound device gets a clear [`PlayError`] instead
//! of a panic (callers write their files first, then try to play).

use std::num::NonZero;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rodio::buffer::SamplesBuffer;
use rodio::{DeviceSinkBuilder, MixerDeviceSink, Player};

#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error("no audio output device could be opened ({0}); the files were still written")]
    NoDevice(String),
    #[error("{0}")]
    Invalid(String),
}

/// Audio playing on the default device; dropping it stops the sound.
pub struct Playback {
    // Held for its lifetime: the device stream stops when it is dropped.
    _sink: MixerDeviceSink,
    player: Player,
    total: Duration,
    errors: Arc<AtomicU64>,
}

impl Playback {
    /// Starts playing interleaved `samples` (`channels` per frame) at `sample_rate`.
    pub fn start(samples: Vec<f32>, channels: u16, sample_rate: u32) -> Result<Self, PlayError> {
        let ch = NonZero::new(channels).ok_or_else(|| PlayError::Invalid("audio with 0 channels".into()))?;
        let sr = NonZero::new(sample_rate).ok_or_else(|| PlayError::Invalid("audio with a sample rate of 0".into()))?;
        if samples.is_empty() {
            return Err(PlayError::Invalid("there is no audio to play".into()));
        }
        let frames = samples.len() / channels as usize;
        let total = Duration::from_secs_f64(frames as f64 / sample_rate as f64);
        // Stream errors are counted, not printed: rodio's default handler writes to stderr
        // from the audio thread (the null sink's ALSA plugin reports an I/O error on close).
        let errors = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&errors);
        let mut sink = DeviceSinkBuilder::from_default_device()
            .and_then(|b| {
                b.with_error_callback(move |_| {
                    counter.fetch_add(1, Ordering::Relaxed);
                })
                .open_stream()
            })
            .map_err(|e| PlayError::NoDevice(e.to_string()))?;
        sink.log_on_drop(false);
        let player = Player::connect_new(sink.mixer());
        player.append(SamplesBuffer::new(ch, sr, samples));
        Ok(Self { _sink: sink, player, total, errors })
    }

    /// How far playback has got.
    pub fn position(&self) -> Duration {
        self.player.get_pos().min(self.total)
    }

    pub fn duration(&self) -> Duration {
        self.total
    }

    /// Errors the output stream has reported so far.
    pub fn stream_errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub fn is_finished(&self) -> bool {
        self.player.empty()
    }

    pub fn stop(&self) {
        self.player.stop();
    }

    /// Blocks until the sound has finished.
    pub fn wait(&self) {
        self.player.sleep_until_end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bad buffers are refused before any device is touched, so this runs anywhere.
    #[test]
    fn bad_buffers_are_errors() {
        assert!(matches!(Playback::start(vec![0.0; 4], 0, 44_100), Err(PlayError::Invalid(_))));
        assert!(matches!(Playback::start(vec![0.0; 4], 2, 0), Err(PlayError::Invalid(_))));
        assert!(matches!(Playback::start(vec![], 2, 44_100), Err(PlayError::Invalid(_))));
    }
}
