//! Microphone capture: a cpal input stream at the device's own rate and format, mixed to
//! mono into a preallocated lock-free ring buffer (rtrb) that another thread drains.
//!
//! The callback runs on the audio server's real-time thread, so [`deliver`] does nothing
//! but arithmetic, one ring-buffer write and relaxed atomic stores: no allocation, lock,
//! print or wait (tests/realtime.rs counts allocations to hold it to that). Samples that
//! do not fit because the reader fell behind are dropped and counted, never waited for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use super::AudioError;

/// What the callback reports to the rest of the program, through atomics only.
#[derive(Debug, Default)]
pub struct CaptureStats {
    /// Mono samples dropped because the ring buffer was full.
    overruns: AtomicU64,
    /// Mono samples delivered into the ring buffer.
    delivered: AtomicU64,
    /// Peak |sample| of the latest callback, as f32 bits (for a level meter).
    peak: AtomicU32,
    /// Errors the stream reported (device lost, xruns in the server).
    stream_errors: AtomicU64,
}

impl CaptureStats {
    pub fn overruns(&self) -> u64 {
        self.overruns.load(Ordering::Relaxed)
    }
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }
    /// Peak level of the latest callback, 0..=1 for a well-behaved device.
    pub fn peak(&self) -> f32 {
        f32::from_bits(self.peak.load(Ordering::Relaxed))
    }
    pub fn stream_errors(&self) -> u64 {
        self.stream_errors.load(Ordering::Relaxed)
    }
}

/// The callback's whole job: interleaved frames of `channels` samples, averaged to mono,
/// into `out`; what does not fit is counted in `stats.overruns`.
pub fn deliver<T>(data: &[T], channels: usize, out: &mut rtrb::Producer<f32>, stats: &CaptureStats)
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = channels.max(1);
    let frames = data.len() / channels;
    let scale = 1.0 / channels as f32;
    let mono = data.chunks_exact(channels).map(|f| f.iter().map(|&s| f32::from_sample_(s)).sum::<f32>() * scale);
    let peak = data.iter().fold(0f32, |m, &s| m.max(f32::from_sample_(s).abs()));
    let room = out.slots().min(frames);
    let written = match out.write_chunk_uninit(room) {
        Ok(chunk) => chunk.fill_from_iter(mono),
        Err(_) => 0,
    };
    stats.delivered.fetch_add(written as u64, Ordering::Relaxed);
    stats.overruns.fetch_add((frames - written) as u64, Ordering::Relaxed);
    stats.peak.store(peak.to_bits(), Ordering::Relaxed);
}

/// An open microphone. Capture runs while this value lives; drop it to stop. Its samples
/// arrive through the ring buffer's consumer that [`Microphone::open`] returns beside it,
/// so the consumer can move to another thread while the stream stays here.
pub struct Microphone {
    /// Kept only to keep the stream alive: cpal stops capture when it is dropped.
    _stream: cpal::Stream,
    pub sample_rate: u32,
    pub device_name: String,
    pub stats: Arc<CaptureStats>,
}

/// Names of the input devices of the default host, default first.
pub fn input_devices() -> Vec<String> {
    let host = cpal::default_host();
    let default = host.default_input_device().map(|d| d.to_string());
    let mut names: Vec<String> = host.input_devices().map(|ds| ds.map(|d| d.to_string()).collect()).unwrap_or_default();
    if let Some(d) = default {
        names.retain(|n| n != &d);
        names.insert(0, d);
    }
    names
}

impl Microphone {
    /// Opens `device` (by name; None: the default input) at its default configuration,
    /// with a ring buffer of `buffer_seconds` of audio: the microphone and the buffer's
    /// consumer (mono samples at `sample_rate`).
    pub fn open(device: Option<&str>, buffer_seconds: f32) -> Result<(Self, rtrb::Consumer<f32>), AudioError> {
        let host = cpal::default_host();
        let dev = match device {
            None => host.default_input_device().ok_or_else(|| AudioError::NoInputDevice("the system has no default input".into()))?,
            Some(name) => host
                .input_devices()
                .map_err(|e| AudioError::Device(e.to_string()))?
                .find(|d| d.to_string() == name)
                .ok_or_else(|| AudioError::UnknownDevice(name.to_string()))?,
        };
        let device_name = dev.to_string();
        // ALSA always offers a "default" device; whether it works shows only here. For the
        // default input that means there is no microphone, which the user can act on.
        let supported = dev.default_input_config().map_err(|e| match device {
            None => AudioError::NoInputDevice(format!("{device_name}: {e}")),
            Some(_) => AudioError::Device(format!("{device_name}: {e}")),
        })?;
        let sample_rate = supported.sample_rate();
        if sample_rate == 0 {
            return Err(AudioError::Device(format!("{device_name} reports a sample rate of 0 Hz")));
        }
        let channels = usize::from(supported.channels());
        let capacity = ((sample_rate as f32 * buffer_seconds.clamp(0.1, 60.0)) as usize).max(1024);
        let (producer, samples) = rtrb::RingBuffer::new(capacity);
        let stats = Arc::new(CaptureStats::default());
        let config: cpal::StreamConfig = supported.config();
        let stream = match supported.sample_format() {
            cpal::SampleFormat::F32 => build::<f32>(&dev, config, channels, producer, &stats),
            cpal::SampleFormat::I16 => build::<i16>(&dev, config, channels, producer, &stats),
            cpal::SampleFormat::I32 => build::<i32>(&dev, config, channels, producer, &stats),
            cpal::SampleFormat::U16 => build::<u16>(&dev, config, channels, producer, &stats),
            cpal::SampleFormat::U8 => build::<u8>(&dev, config, channels, producer, &stats),
            other => return Err(AudioError::Device(format!("{device_name}: unsupported sample format {other}"))),
        }
        .map_err(|e| AudioError::Device(format!("{device_name}: {e}")))?;
        stream.play().map_err(|e| AudioError::Device(format!("{device_name}: {e}")))?;
        Ok((Self { _stream: stream, sample_rate, device_name, stats }, samples))
    }
}

/// Records `seconds` from `device` (None: the default input): mono samples and their rate.
/// Blocks for that long, so callers run it off the UI thread.
pub fn record(device: Option<&str>, seconds: f32) -> Result<(Vec<f32>, u32), AudioError> {
    let (mic, mut samples) = Microphone::open(device, seconds + 1.0)?;
    let n = (mic.sample_rate as f32 * seconds.clamp(0.1, 60.0)) as usize;
    let x = collect(&mut samples, n, Duration::from_secs_f32(seconds + 2.0))?;
    Ok((x, mic.sample_rate))
}

/// The next `n` samples from the ring buffer, read as they arrive; an error if they have
/// not all come within `timeout` (a stalled or vanished device), never a hang.
pub fn collect(samples: &mut rtrb::Consumer<f32>, n: usize, timeout: Duration) -> Result<Vec<f32>, AudioError> {
    let start = Instant::now();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let ready = samples.slots().min(n - out.len());
        if ready > 0 {
            if let Ok(chunk) = samples.read_chunk(ready) {
                out.extend(chunk);
            }
        } else if start.elapsed() > timeout {
            return Err(AudioError::Device(format!("the microphone delivered {} of {n} samples in {:.1} s", out.len(), timeout.as_secs_f32())));
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(out)
}

fn build<T>(
    dev: &cpal::Device,
    config: cpal::StreamConfig,
    channels: usize,
    mut producer: rtrb::Producer<f32>,
    stats: &Arc<CaptureStats>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let on_data = Arc::clone(stats);
    let on_error = Arc::clone(stats);
    dev.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| deliver(data, channels, &mut producer, &on_data),
        move |_err| {
            on_error.stream_errors.fetch_add(1, Ordering::Relaxed);
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stereo frames (0.5, -0.5) and (1.0, 0.0) average to 0.0 and 0.5; the peak is 1.0.
    /// With room for one sample only, the second is counted as an overrun.
    #[test]
    fn deliver_mixes_to_mono_and_counts_overruns() {
        let (mut p, mut c) = rtrb::RingBuffer::new(4);
        let stats = CaptureStats::default();
        deliver(&[0.5f32, -0.5, 1.0, 0.0], 2, &mut p, &stats);
        assert_eq!((c.pop(), c.pop()), (Ok(0.0), Ok(0.5)));
        assert_eq!(stats.peak(), 1.0);
        let (mut p, mut c) = rtrb::RingBuffer::new(1);
        deliver(&[0.25f32, 0.25, 0.75, 0.75], 2, &mut p, &stats);
        assert_eq!(c.pop(), Ok(0.25));
        assert!(c.pop().is_err());
        assert_eq!((stats.delivered(), stats.overruns()), (3, 1));
    }

    /// Samples written from another thread in pieces come back whole and in order; a
    /// device that stops short is an error after the timeout, not a hang.
    #[test]
    fn collect_waits_for_samples_and_gives_up_on_a_stall() {
        let (mut p, mut c) = rtrb::RingBuffer::new(64);
        let writer = std::thread::spawn(move || {
            for i in 0..1000 {
                while p.push(i as f32).is_err() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            p
        });
        let x = collect(&mut c, 1000, Duration::from_secs(30)).unwrap();
        assert!(x.iter().enumerate().all(|(i, &v)| v == i as f32));
        let mut p = writer.join().unwrap();
        p.push(1.0).unwrap();
        let err = collect(&mut c, 10, Duration::from_millis(50)).unwrap_err().to_string();
        assert!(err.contains("delivered 1 of 10"), "{err}");
    }

    /// i16 full scale maps to ±1: -32768 -> -1.0.
    #[test]
    fn integer_formats_are_scaled() {
        let (mut p, mut c) = rtrb::RingBuffer::new(2);
        let stats = CaptureStats::default();
        deliver(&[i16::MIN, 0], 1, &mut p, &stats);
        assert_eq!((c.pop(), c.pop()), (Ok(-1.0), Ok(0.0)));
    }
}
