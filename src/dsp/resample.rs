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
    let out_len = ((x.len() as u64 * to as u64).div_ceil(from as u64)) as usize;
    if to as u64 / gcd(from as u64, to as u64) > out_len as u64 {
        // A ratio with more phases than outputs (16 kHz -> 17,231 Hz for one clip): a
        // table would cost more kernel evaluations than it saves.
        return Ok(direct(x, from, to, out_len));
    }
    let taps = Taps::new(from, to);
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len as u64 {
        let pos = n * taps.down;
        let (whole, phase) = ((pos / taps.up) as i64, (pos % taps.up) as usize);
        let first = whole - taps.reach;
        // Inputs outside the signal are silence.
        let (lo, hi) = (first.max(0), (first + taps.width as i64).min(x.len() as i64));
        let t = &taps.taps[phase * taps.width..(phase + 1) * taps.width];
        let acc: f32 = if lo < hi { x[lo as usize..hi as usize].iter().zip(&t[(lo - first) as usize..]).map(|(a, b)| a * b).sum() } else { 0.0 };
        out.push(acc);
    }
    Ok(out)
}

/// [`resample`] evaluating the kernel at every tap of every output.
fn direct(x: &[f32], from: u32, to: u32, out_len: usize) -> Vec<f32> {
    let (from_u, to_u) = (from as u64, to as u64);
    let (scale, half) = bandwidth(from, to);
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
    out
}

/// (kernel bandwidth in cycles per input sample ×2, kernel half-width in input samples)
/// for a cut-off at 95% of the lower Nyquist frequency.
fn bandwidth(from: u32, to: u32) -> (f64, f64) {
    let cutoff = 0.95 * 0.5 * from.min(to) as f64; // Hz
    let scale = 2.0 * cutoff / from as f64;
    (scale, ZERO_CROSSINGS / scale)
}

/// The kernel tabulated once per phase of the reduced ratio down/up (input samples per
/// output): the sine and cosines of the kernel, not the multiply-adds, were three quarters
/// of the trigger word's training time when every output evaluated them afresh.
struct Taps {
    up: u64,
    down: u64,
    /// taps[phase·width + j] weighs input `whole - reach + j` for an output at
    /// `whole + phase/up`.
    taps: Vec<f32>,
    width: usize,
    reach: i64,
}

impl Taps {
    /// `from`, `to` must be valid rates (checked by the callers).
    fn new(from: u32, to: u32) -> Self {
        let g = gcd(from as u64, to as u64);
        let (down, up) = (from as u64 / g, to as u64 / g);
        let (scale, half) = bandwidth(from, to);
        let reach = half.ceil() as i64;
        let width = 2 * reach as usize + 1;
        // Inputs k with |p - k| <= half, as the direct sum takes.
        let mut taps = vec![0f32; up as usize * width];
        for phase in 0..up as usize {
            let frac = phase as f64 / up as f64;
            for j in 0..width {
                let d = frac - (j as i64 - reach) as f64;
                if d.abs() <= half {
                    taps[phase * width + j] = kernel(d, scale, half) as f32;
                }
            }
        }
        Self { up, down, taps, width, reach }
    }
}

/// [`resample`] for a live stream: push input chunks of any size, get the output samples as
/// soon as the kernel has the input it needs (a latency of `ZERO_CROSSINGS / scale` input
/// samples, 1.4 ms at 44.1 kHz -> 16 kHz). The kernel is tabulated once per phase of the
/// rational ratio, and the history is a fixed buffer, so `push` never allocates.
///
/// Output n sits at input position n·from/to as in [`resample`], with input before the first
/// sample taken as silence, so the stream's output equals `resample` of everything pushed
/// (up to f32 rounding) except for the last few samples that still wait for input.
pub struct StreamResampler {
    taps: Taps,
    /// Input history; `history[0]` is absolute input index `base`.
    history: Vec<f32>,
    len: usize,
    base: i64,
    /// Next output index.
    n: u64,
}

/// Greatest common divisor, for reducing the rate ratio.
fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl StreamResampler {
    /// Largest chunk one internal step takes; `push` splits longer input.
    const CHUNK: usize = 4096;

    pub fn new(from: u32, to: u32) -> Result<Self, DspError> {
        for r in [from, to] {
            if r == 0 || r > MAX_RATE {
                return Err(DspError::Invalid(format!("sample rate {r} Hz is outside 1 Hz ..= {MAX_RATE} Hz")));
            }
        }
        let taps = Taps::new(from, to);
        let (reach, width) = (taps.reach, taps.width);
        // The history starts with `reach` zeros: silence before the first sample, as
        // `resample` assumes.
        let history = vec![0f32; Self::CHUNK + 2 * width];
        Ok(Self { taps, history, len: reach as usize, base: -reach, n: 0 })
    }

    /// Feeds input; calls `emit` with every output sample that is now complete.
    pub fn push(&mut self, input: &[f32], mut emit: impl FnMut(f32)) {
        if self.taps.up == self.taps.down {
            // Equal rates: passed through untouched, as `resample` does.
            input.iter().for_each(|&x| emit(x));
            return;
        }
        for chunk in input.chunks(Self::CHUNK) {
            self.history[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
            let end = self.base + self.len as i64; // one past the newest input
            loop {
                let pos = self.n * self.taps.down;
                let (whole, phase) = ((pos / self.taps.up) as i64, (pos % self.taps.up) as usize);
                if whole + self.taps.reach >= end {
                    break;
                }
                let start = (whole - self.taps.reach - self.base) as usize;
                let x = &self.history[start..start + self.taps.width];
                let t = &self.taps.taps[phase * self.taps.width..(phase + 1) * self.taps.width];
                emit(x.iter().zip(t).map(|(a, b)| a * b).sum());
                self.n += 1;
            }
            // Keep only what the next output can still reach.
            let next_whole = ((self.n * self.taps.down) / self.taps.up) as i64;
            let keep_from = (next_whole - self.taps.reach - self.base).clamp(0, self.len as i64) as usize;
            self.history.copy_within(keep_from..self.len, 0);
            self.len -= keep_from;
            self.base += keep_from as i64;
        }
    }
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

    /// Pushed in uneven chunks, the stream gives what the whole-signal resampler gives for
    /// every output whose kernel the pushed input covers.
    #[test]
    fn streaming_equals_whole_signal() {
        for (from, to) in [(44_100u32, 16_000u32), (48_000, 16_000), (8_000, 16_000), (16_000, 16_000)] {
            let x: Vec<f32> = (0..from as usize / 3).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.5).collect();
            let whole = resample(&x, from, to).unwrap();
            let mut stream = StreamResampler::new(from, to).unwrap();
            let mut got = Vec::new();
            let mut rest = &x[..];
            for size in [1usize, 7, 480, 5000, 33].iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (head, tail) = rest.split_at((*size).min(rest.len()));
                stream.push(head, |y| got.push(y));
                rest = tail;
            }
            let waiting = whole.len() - got.len();
            assert!(waiting < 60, "{from} -> {to}: {waiting} outputs still waiting");
            let err = got.iter().zip(&whole).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(err < 1e-5, "{from} -> {to}: max difference {err}");
        }
        assert!(StreamResampler::new(0, 16_000).is_err());
    }

    /// The tabulated kernel gives what evaluating it at every tap gives, to f32 rounding,
    /// edges included (inputs outside the signal count as silence in both).
    #[test]
    fn table_equals_direct_evaluation() {
        let x: Vec<f32> = (0..3000).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.5).collect();
        for (from, to) in [(44_100u32, 16_000u32), (16_000, 17_200), (16_000, 14_100), (8_000, 16_000)] {
            let table = resample(&x, from, to).unwrap();
            let direct = direct(&x, from, to, table.len());
            let err = table.iter().zip(&direct).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(err < 1e-5, "{from} -> {to}: max difference {err}");
        }
        // 16 kHz -> 17,231 Hz has 17,231 phases, more than the 3,231 outputs: evaluated directly.
        assert_eq!(resample(&x, 16_000, 17_231).unwrap(), direct(&x, 16_000, 17_231, 3231));
    }

    #[test]
    fn identity_and_bad_rates() {
        assert_eq!(resample(&[1.0, 2.0], 16_000, 16_000).unwrap(), vec![1.0, 2.0]);
        assert!(resample(&[1.0], 0, 16_000).is_err());
        assert!(resample(&[1.0], 16_000, 5_000_000).is_err());
        assert!(resample(&[], 44_100, 16_000).unwrap().is_empty());
    }
}
