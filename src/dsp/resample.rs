//! Band-limited resampling between any two rates (windowed sinc).
//!
//! Output sample n sits at input position p = n·from/to, computed exactly in integers so
//! hours of audio never drift. Its value is Σ_k x[k]·h(p - k) over the taps within
//! `ZERO_CROSSINGS` zero crossings of the low-pass kernel
//! h(d) = (2f_c/from)·sinc(2f_c·d/from)·blackman(d), with the cut-off f_c at 95% of the
//! lower Nyquist frequency, so downsampling does not alias and upsampling does not image.

use super::DspError;

/// Half-width of the kernel in zero crossings of the sinc: 16 gives a stop band of about
/// -70 dB with the Blackman window, far below what a spectrogram's log floor resolves.
const ZERO_CROSSINGS: f64 = 16.0;

/// Highest rate accepted anywhere in seqlab (768 kHz is the most any audio interface offers).
pub const MAX_RATE: u32 = 768_000;

/// `x` at `from` Hz -> the same signal at `to` Hz (length ⌈len·to/from⌉).
pub fn resample(x: &[f32], from: u32, to: u32) -> Result<Vec<f32>, DspError> {
    for r in [from, to] {
        if r == 0 || r > MAX_RATE {
            return Err(DspError::Invalid(format!("sample rate {r} Hz is outside 1 Hz ..= {MAX_RATE} Hz")));
        }
    }
    if from == to || x.is_empty() {
        return Ok(x.to_vec());
    }
    let (from_u, to_u) = (from as u64, to as u64);
    let out_len = ((x.len() as u64 * to_u).div_ceil(from_u)) as usize;
    let cutoff = 0.95 * 0.5 * from.min(to) as f64; // Hz
    let scale = 2.0 * cutoff / from as f64; // kernel bandwidth in cycles per input sample ×2
    let half = ZERO_CROSSINGS / scale; // kernel half-width in input samples
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len as u64 {
        let whole = (n * from_u / to_u) as i64;
        let frac = (n * from_u % to_u) as f64 / to_u as f64;
        let p = whole as f64 + frac;
        let lo = (p - half).ceil().max(0.0) as i64;
        let hi = ((p + half).floor() as i64).min(x.len() as i64 - 1);
        let mut acc = 0f64;
        for k in lo..=hi {
            let d = p - k as f64;
            acc += x[k as usize] as f64 * kernel(d, scale, half);
        }
        out.push(acc as f32);
    }
    Ok(out)
}

fn kernel(d: f64, scale: f64, half: f64) -> f64 {
    let t = d * scale;
    let sinc = if t.abs() < 1e-12 { 1.0 } else { (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t) };
    // Blackman window over [-half, half].
    let u = (d / half + 1.0) * 0.5;
    let w = 0.42 - 0.5 * (std::f64::consts::TAU * u).cos() + 0.08 * (2.0 * std::f64::consts::TAU * u).cos();
    scale * sinc * w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, n: usize) -> Vec<f32> {
        (0..n).map(|i| (std::f64::consts::TAU * freq * i as f64 / rate as f64).sin() as f32).collect()
    }

    /// Resampling a 440 Hz tone from 44.1 kHz (and 8 kHz, 48 kHz) to 16 kHz gives the same
    /// tone sampled at 16 kHz, away from the edges where the kernel runs out of input.
    #[test]
    fn tone_survives_any_rate() {
        for from in [44_100u32, 8_000, 48_000, 22_050] {
            let x = tone(440.0, from, from as usize / 4);
            let y = resample(&x, from, 16_000).unwrap();
            assert_eq!(y.len(), (x.len() as u64 * 16_000).div_ceil(from as u64) as usize);
            let want = tone(440.0, 16_000, y.len());
            let err = y[200..y.len() - 200].iter().zip(&want[200..]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(err < 2e-3, "{from} Hz: max error {err}");
        }
    }

    /// Going to 16 kHz, a 9 kHz tone is above the new Nyquist frequency (8 kHz) and would
    /// fold to 7 kHz; the low-pass (cut-off 7.6 kHz) must remove it instead.
    #[test]
    fn downsampling_removes_what_would_alias() {
        let y = resample(&tone(9_000.0, 44_100, 22_050), 44_100, 16_000).unwrap();
        let energy = crate::dsp::mix::rms(&y[200..y.len() - 200]);
        assert!(energy < 0.01, "aliased energy {energy}");
    }

    #[test]
    fn identity_and_bad_rates() {
        assert_eq!(resample(&[1.0, 2.0], 16_000, 16_000).unwrap(), vec![1.0, 2.0]);
        assert!(resample(&[1.0], 0, 16_000).is_err());
        assert!(resample(&[1.0], 16_000, 5_000_000).is_err());
        assert!(resample(&[], 44_100, 16_000).unwrap().is_empty());
    }
}
