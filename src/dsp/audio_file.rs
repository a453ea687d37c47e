//! Reading WAV and FLAC files (any rate, any channel count, downmixed to mono f32) and
//! writing 16-bit WAV, atomically.
//!
//! WAV goes through `hound`, FLAC through `symphonia`. The container is recognised by its
//! magic bytes, not the file name, so a mislabelled file still gets the right reader and a
//! non-audio file a clear error.

use std::io::Cursor;
use std::path::Path;

use super::DspError;
use super::mix::downmix;
use super::resample::MAX_RATE;

/// Mono samples in [-1, 1] at `rate` Hz.
#[derive(Clone, Debug, PartialEq)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub rate: u32,
}

impl Audio {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.rate.max(1) as f64
    }
}

/// Reads a WAV or FLAC file.
pub fn read_audio(path: &Path) -> Result<Audio, DspError> {
    let bytes = std::fs::read(path).map_err(|source| DspError::Io { path: path.to_path_buf(), source })?;
    decode_audio(path, &bytes)
}

/// Decodes WAV or FLAC bytes; `path` names them in errors.
pub fn decode_audio(path: &Path, bytes: &[u8]) -> Result<Audio, DspError> {
    if bytes.is_empty() {
        return Err(DspError::Empty { path: path.to_path_buf() });
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        decode_wav(path, bytes)
    } else if bytes.starts_with(b"fLaC") {
        decode_flac(path, bytes)
    } else {
        let magic = String::from_utf8_lossy(&bytes[..bytes.len().min(4)]).into_owned();
        Err(DspError::NotAudio { path: path.to_path_buf(), magic })
    }
}

fn check_rate(path: &Path, rate: u32) -> Result<(), DspError> {
    if rate == 0 || rate > MAX_RATE {
        return Err(DspError::BadRate { path: path.to_path_buf(), rate });
    }
    Ok(())
}

fn decode_wav(path: &Path, bytes: &[u8]) -> Result<Audio, DspError> {
    let malformed = |e: hound::Error| match e {
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DspError::Truncated { path: path.to_path_buf(), reason: "the data ends before its header says it should".into() }
        }
        // hound's wording (an io::Error of kind Other) for samples cut off before the end.
        other if other.to_string().contains("enough bytes") => {
            DspError::Truncated { path: path.to_path_buf(), reason: "the data ends inside a sample".into() }
        }
        other => DspError::Malformed { path: path.to_path_buf(), reason: other.to_string() },
    };
    // hound reports a 0 Hz header only as an inconsistent byte rate; name it plainly.
    if let Some(rate) = wav_declared_rate(bytes) {
        check_rate(path, rate)?;
    }
    let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(malformed)?;
    let spec = reader.spec();
    check_rate(path, spec.sample_rate)?;
    if spec.channels == 0 {
        return Err(DspError::Malformed { path: path.to_path_buf(), reason: "zero channels".into() });
    }
    // The header's data length, checked before reading, so a cut file is named as such
    // rather than silently shortened.
    let declared = reader.len() as usize;
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>().map_err(malformed)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader.into_samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect::<Result<_, _>>().map_err(malformed)?
        }
    };
    if interleaved.len() < declared {
        return Err(DspError::Truncated {
            path: path.to_path_buf(),
            reason: format!("{} of {declared} samples present", interleaved.len()),
        });
    }
    Ok(Audio { samples: downmix(&interleaved, spec.channels as usize), rate: spec.sample_rate })
}

/// The sample rate in a WAV's `fmt ` chunk, if the chunk can be found.
fn wav_declared_rate(bytes: &[u8]) -> Option<u32> {
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        if id == b"fmt " {
            let rate = bytes.get(at + 12..at + 16)?;
            return Some(u32::from_le_bytes(rate.try_into().ok()?));
        }
        at = at.checked_add(8)?.checked_add(len + (len & 1))?;
    }
    None
}

fn decode_flac(path: &Path, bytes: &[u8]) -> Result<Audio, DspError> {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::errors::Error as SymError;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let malformed = |e: SymError| match e {
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DspError::Truncated { path: path.to_path_buf(), reason: "the stream ends inside a frame".into() }
        }
        other => DspError::Malformed { path: path.to_path_buf(), reason: other.to_string() },
    };
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("flac");
    let probed = symphonia::default::get_probe()
        .format(&hint, source, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(malformed)?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .ok_or_else(|| DspError::Malformed { path: path.to_path_buf(), reason: "no audio track".into() })?;
    let params = track.codec_params.clone();
    let rate = params.sample_rate.unwrap_or(0);
    check_rate(path, rate)?;
    let channels = params.channels.map_or(0, |c| c.count());
    if channels == 0 {
        return Err(DspError::Malformed { path: path.to_path_buf(), reason: "zero channels".into() });
    }
    let mut decoder = symphonia::default::get_codecs().make(&params, &DecoderOptions::default()).map_err(malformed)?;
    let mut interleaved = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(io)) if io.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(malformed(e)),
        };
        let decoded = decoder.decode(&packet).map_err(malformed)?;
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, *decoded.spec());
        buf.copy_interleaved_ref(decoded);
        interleaved.extend_from_slice(buf.samples());
    }
    let frames = interleaved.len() / channels;
    if let Some(total) = params.n_frames.filter(|&n| n > frames as u64) {
        return Err(DspError::Truncated { path: path.to_path_buf(), reason: format!("{frames} of {total} frames present") });
    }
    Ok(Audio { samples: downmix(&interleaved, channels), rate })
}

/// 16-bit PCM mono WAV bytes of `samples` (clamped to [-1, 1]).
pub fn wav_bytes(samples: &[f32], rate: u32) -> Result<Vec<u8>, DspError> {
    if rate == 0 || rate > MAX_RATE {
        return Err(DspError::Invalid(format!("cannot write a WAV at {rate} Hz")));
    }
    let spec = hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut cursor = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    let to_err = |e: hound::Error| DspError::Invalid(format!("WAV encoding failed: {e}"));
    let mut writer = hound::WavWriter::new(&mut cursor, spec).map_err(to_err)?;
    for &s in samples {
        writer.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).map_err(to_err)?;
    }
    writer.finalize().map_err(to_err)?;
    Ok(cursor.into_inner())
}

/// Writes a 16-bit mono WAV atomically (temporary file, then rename).
pub fn write_wav(path: &Path, samples: &[f32], rate: u32) -> Result<(), DspError> {
    let bytes = wav_bytes(samples, rate)?;
    crate::atomic::write_atomic(path, &bytes).map_err(|e| DspError::Write { path: path.to_path_buf(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("test.wav")
    }

    /// 16-bit quantisation: 0.5 -> round(0.5·32767) = 16384 -> 16384/32768 = 0.5 exactly;
    /// -1 -> -32767 -> -0.999969.
    #[test]
    fn wav_round_trip() {
        let bytes = wav_bytes(&[0.0, 0.5, -1.0], 22_050).unwrap();
        let a = decode_audio(p(), &bytes).unwrap();
        assert_eq!(a.rate, 22_050);
        assert_eq!(a.samples, vec![0.0, 0.5, -32767.0 / 32768.0]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        write_wav(&path, &[0.25; 100], 8000).unwrap();
        assert_eq!(read_audio(&path).unwrap().samples.len(), 100);
    }

    /// Stereo 24-bit at 48 kHz: frames (L, R) = (2^22, 0) and (-2^22, -2^22) are
    /// (0.5, 0) and (-0.5, -0.5), whose means are 0.25 and -0.5.
    #[test]
    fn stereo_24_bit_is_downmixed() {
        let spec = hound::WavSpec { channels: 2, sample_rate: 48_000, bits_per_sample: 24, sample_format: hound::SampleFormat::Int };
        let mut cur = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for s in [1 << 22, 0, -(1 << 22), -(1 << 22)] {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let a = decode_audio(p(), &cur.into_inner()).unwrap();
        assert_eq!((a.rate, a.samples), (48_000, vec![0.25, -0.5]));
    }

    #[test]
    fn bad_files_are_clear_errors() {
        assert!(matches!(decode_audio(p(), b""), Err(DspError::Empty { .. })));
        assert!(matches!(decode_audio(p(), b"hello, world"), Err(DspError::NotAudio { .. })));
        let good = wav_bytes(&[0.1; 1000], 16_000).unwrap();
        let cut = &good[..good.len() - 500];
        let err = decode_audio(p(), cut).unwrap_err();
        assert!(matches!(err, DspError::Truncated { .. }), "{err}");
        let mut zero_rate = good.clone();
        zero_rate[24..28].copy_from_slice(&0u32.to_le_bytes());
        let err = decode_audio(p(), &zero_rate).unwrap_err();
        assert!(matches!(err, DspError::BadRate { rate: 0, .. }), "{err}");
        assert!(err.to_string().contains("0 Hz"), "{err}");
        assert!(matches!(decode_audio(p(), &good[..30]), Err(DspError::Malformed { .. } | DspError::Truncated { .. })));
        assert!(matches!(decode_audio(p(), b"fLaC\0\0\0"), Err(DspError::Malformed { .. } | DspError::Truncated { .. })));
        assert!(matches!(read_audio(Path::new("/nonexistent/x.wav")), Err(DspError::Io { .. })));
        assert!(wav_bytes(&[0.0], 0).is_err());
    }

    /// A 0.05-s FLAC made with `sox -n -r 44100 -c 2 -b 16 t.flac synth 0.05 sine 440`:
    /// 2205 stereo frames at 44.1 kHz, read as 2205 mono samples of a 440 Hz sine.
    #[test]
    fn flac_reads_and_truncation_is_detected() {
        let bytes = include_bytes!("testdata/sine440_stereo_44k.flac");
        let a = decode_audio(Path::new("t.flac"), bytes).unwrap();
        assert_eq!(a.rate, 44_100);
        assert_eq!(a.samples.len(), 2205);
        // Sample 25 is the crest, sin(2π·440·25/44100) ≈ 1, at sox's default -3 dB
        // headroom: `sox t.flac -t dat -` prints 0.70498657227 for it (23101/32768).
        assert!((a.samples[25] - 0.704_986_6).abs() < 1e-6, "{}", a.samples[25]);
        let cut = &bytes[..bytes.len() * 2 / 3];
        let err = decode_audio(Path::new("t.flac"), cut).unwrap_err();
        assert!(matches!(err, DspError::Truncated { .. } | DspError::Malformed { .. }), "{err}");
    }
}
