//! What a room and a microphone do to speech, for augmenting training audio: a synthetic
//! room impulse response applied by FFT convolution, and second-order filters (band limits
//! and a peak or dip) standing in for a microphone's or a phone line's response.
//!
//! The impulse response is the textbook statistical one: a direct path, then from a few
//! milliseconds on a diffuse tail of noise whose energy falls by 60 dB over the reverberation
//! time RT60. It has no early reflections of a particular room, which is what augmentation
//! wants: a family of rooms, not one.

use rand::Rng;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex32;

/// The tail starts this long after the direct path (the shortest wall-bounce delay of a
/// small room, about a metre of extra path).
const TAIL_START_S: f32 = 0.003;

/// A room impulse response at `rate`: 1 at sample 0, then a tail of uniform noise under an
/// envelope exp(-6.91·t/rt60) (-60 dB at rt60), cut off at `rt60` (at most 1 s), scaled so
/// that direct energy / tail energy is `drr_db`.
pub fn room_impulse(rate: u32, rt60: f32, drr_db: f32, rng: &mut impl Rng) -> Vec<f32> {
    let rt60 = rt60.clamp(0.01, 1.0);
    let start = (TAIL_START_S * rate as f32) as usize;
    let len = (rt60 * rate as f32) as usize;
    let mut h = vec![0f32; len.max(start + 1)];
    h[0] = 1.0;
    let decay = -6.91 / (rt60 * rate as f32);
    for (i, v) in h.iter_mut().enumerate().skip(start) {
        *v = (rng.random::<f32>() * 2.0 - 1.0) * (decay * i as f32).exp();
    }
    let tail: f32 = h[start..].iter().map(|v| v * v).sum();
    if tail > 0.0 {
        let scale = (10f32.powf(-drr_db / 10.0) / tail).sqrt();
        h[start..].iter_mut().for_each(|v| *v *= scale);
    }
    h
}

static PLANNER: std::sync::LazyLock<std::sync::Mutex<FftPlanner<f32>>> = std::sync::LazyLock::new(|| std::sync::Mutex::new(FftPlanner::new()));

/// `x` convolved with `h`, cut to `x.len()` samples: y[n] = Σ_k h[k]·x[n-k].
///
/// One complex FFT carries both real signals (x in the real part, h in the imaginary), and
/// their spectra are pulled apart by conjugate symmetry: X[k] = (Z[k] + Z*[N-k])/2 and
/// H[k] = (Z[k] - Z*[N-k])/2i. Two FFTs instead of three, which matters when every
/// training example is convolved.
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    if x.is_empty() || h.is_empty() {
        return vec![0.0; x.len()];
    }
    let n = (x.len() + h.len() - 1).next_power_of_two();
    // Planning computes n twiddle factors, which cost as much as the transforms themselves,
    // so one planner keeps every plan for the whole process (training threads come and go
    // with each batch, so a planner per thread would plan again each time).
    let (forward, inverse) = {
        let mut p = PLANNER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (p.plan_fft_forward(n), p.plan_fft_inverse(n))
    };
    let mut z = vec![Complex32::new(0.0, 0.0); n];
    z.iter_mut().zip(x).for_each(|(c, &v)| c.re = v);
    z.iter_mut().zip(h).for_each(|(c, &v)| c.im = v);
    forward.process(&mut z);
    // Y[k] = X[k]·H[k] needs Z[k] and Z[N-k], so each pair is rewritten together, in place.
    let product = |a: Complex32, b: Complex32| {
        let (xk, hk) = ((a + b.conj()) * 0.5, (a - b.conj()) * Complex32::new(0.0, -0.5)); // (a - b*)/2i = -i(a - b*)/2
        xk * hk
    };
    for k in 0..=n / 2 {
        let j = (n - k) % n;
        let (zk, zj) = (z[k], z[j]);
        z[k] = product(zk, zj);
        z[j] = product(zj, zk);
    }
    inverse.process(&mut z);
    z[..x.len()].iter().map(|c| c.re / n as f32).collect()
}

/// A second-order IIR filter (the RBJ Audio EQ Cookbook's), run in transposed direct form II.
#[derive(Clone, Debug, PartialEq)]
pub struct Biquad {
    b: [f32; 3],
    /// a1, a2 of the denominator, a0 already divided out.
    a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    /// From unnormalised cookbook coefficients b0..b2, a0..a2.
    fn new(b: [f64; 3], a: [f64; 3]) -> Self {
        let n = |v: f64| (v / a[0]) as f32;
        Self { b: [n(b[0]), n(b[1]), n(b[2])], a: [n(a[1]), n(a[2])], z: [0.0; 2] }
    }

    /// (cos w0, alpha) for a centre or corner `f0` Hz at `rate` and quality `q`.
    fn angle(rate: u32, f0: f32, q: f32) -> (f64, f64) {
        let w0 = 2.0 * std::f64::consts::PI * (f0 as f64 / rate as f64).clamp(1e-5, 0.49);
        (w0.cos(), w0.sin() / (2.0 * (q as f64).max(0.05)))
    }

    /// Passes below `f0`, falls 12 dB an octave above it.
    pub fn lowpass(rate: u32, f0: f32, q: f32) -> Self {
        let (c, al) = Self::angle(rate, f0, q);
        Self::new([(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0], [1.0 + al, -2.0 * c, 1.0 - al])
    }

    /// Passes above `f0`, falls 12 dB an octave below it.
    pub fn highpass(rate: u32, f0: f32, q: f32) -> Self {
        let (c, al) = Self::angle(rate, f0, q);
        Self::new([(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0], [1.0 + al, -2.0 * c, 1.0 - al])
    }

    /// Gains `gain_db` at `f0` (a peak, or a dip when negative), 0 dB far from it.
    pub fn peaking(rate: u32, f0: f32, q: f32, gain_db: f32) -> Self {
        let (c, al) = Self::angle(rate, f0, q);
        let amp = 10f64.powf(gain_db as f64 / 40.0);
        Self::new([1.0 + al * amp, -2.0 * c, 1.0 - al * amp], [1.0 + al / amp, -2.0 * c, 1.0 - al / amp])
    }

    /// Filters `x` in place, carrying the state on from the previous call.
    pub fn process(&mut self, x: &mut [f32]) {
        let ([b0, b1, b2], [a1, a2]) = (self.b, self.a);
        let [mut z1, mut z2] = self.z;
        for v in x.iter_mut() {
            let y = b0 * *v + z1;
            z1 = b1 * *v - a1 * y + z2;
            z2 = b2 * *v - a2 * y;
            *v = y;
        }
        self.z = [z1, z2];
    }
}

/// A random microphone or line: a high-pass corner at 60-400 Hz, a low-pass corner at
/// 3-7.5 kHz (a phone line is 300-3,400 Hz) and a peak or dip of up to ±9 dB at 150 Hz-6 kHz,
/// each frequency log-uniform.
pub fn random_channel(rate: u32, rng: &mut impl Rng) -> [Biquad; 3] {
    fn log_uniform(lo: f32, hi: f32, rng: &mut impl Rng) -> f32 {
        lo * (hi / lo).powf(rng.random::<f32>())
    }
    let hp = Biquad::highpass(rate, log_uniform(60.0, 400.0, rng), std::f32::consts::FRAC_1_SQRT_2);
    let lp = Biquad::lowpass(rate, log_uniform(3_000.0, 7_500.0, rng).min(0.47 * rate as f32), std::f32::consts::FRAC_1_SQRT_2);
    let f = log_uniform(150.0, 6_000.0, rng).min(0.45 * rate as f32);
    let peak = Biquad::peaking(rate, f, rng.random_range(0.7..2.5), rng.random_range(-9.0..9.0));
    [hp, lp, peak]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::seeded_rng;

    /// [1, 2, 3] * [1, 1] = [1, 3, 5, 3], cut to three samples: [1, 3, 5]; and a long random
    /// pair matches the direct sum to f32 rounding.
    #[test]
    fn convolution_matches_the_direct_sum() {
        let y = convolve(&[1.0, 2.0, 3.0], &[1.0, 1.0]);
        for (a, b) in y.iter().zip([1.0, 3.0, 5.0]) {
            assert!((a - b).abs() < 1e-5, "{y:?}");
        }
        let mut rng = seeded_rng(4);
        let x: Vec<f32> = (0..700).map(|_| rng.random::<f32>() - 0.5).collect();
        let h: Vec<f32> = (0..90).map(|_| rng.random::<f32>() - 0.5).collect();
        let y = convolve(&x, &h);
        assert_eq!(y.len(), x.len());
        for n in 0..x.len() {
            let direct: f32 = (0..h.len().min(n + 1)).map(|k| h[k] * x[n - k]).sum();
            assert!((y[n] - direct).abs() < 1e-4, "sample {n}: {} against {direct}", y[n]);
        }
        assert_eq!(convolve(&[], &[1.0]), Vec::<f32>::new());
        assert_eq!(convolve(&[1.0, 2.0], &[]), vec![0.0, 0.0]);
    }

    /// The impulse response starts with the direct path, holds the asked-for direct-to-tail
    /// energy ratio (6 dB: 10^-0.6 = 0.251 of the direct energy in the tail), and decays: its
    /// energy envelope falls by about 60 dB per RT60, so the last tenth of a 0.5-s response
    /// (0.45-0.5 s) sits near -54..-60 dB of its first milliseconds.
    #[test]
    fn impulse_response_has_its_ratio_and_decay() {
        let h = room_impulse(16_000, 0.5, 6.0, &mut seeded_rng(1));
        assert_eq!(h.len(), 8_000);
        assert_eq!(h[0], 1.0);
        assert!(h[1..48].iter().all(|&v| v == 0.0), "nothing before the first reflection");
        let tail: f32 = h[48..].iter().map(|v| v * v).sum();
        assert!((tail - 10f32.powf(-0.6)).abs() < 1e-4, "tail energy {tail}");
        let mean_sq = |a: usize, b: usize| h[a..b].iter().map(|v| v * v).sum::<f32>() / (b - a) as f32;
        let fall_db = 10.0 * (mean_sq(48, 448) / mean_sq(7_200, 8_000)).log10();
        assert!((48.0..66.0).contains(&fall_db), "fell {fall_db} dB");
    }

    /// Steady-state gain of a filter at `f` Hz: the RMS of its output over the RMS of a sine,
    /// after a second to settle.
    fn gain_db(mut f: Biquad, freq: f32) -> f32 {
        let rate = 16_000;
        let mut x: Vec<f32> = (0..2 * rate).map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin()).collect();
        f.process(&mut x);
        let tail = &x[rate..];
        20.0 * (crate::dsp::mix::rms(tail) / std::f32::consts::FRAC_1_SQRT_2).log10()
    }

    /// Second-order Butterworth (q = 1/√2) through the bilinear transform: with
    /// r = tan(πf/fs) / tan(πf0/fs), a low-pass gains -10·log10(1 + r⁴) dB and a high-pass
    /// -10·log10(1 + r⁻⁴). At f0 = 1 kHz, fs = 16 kHz: -3.01 dB at the corner; at 4 kHz
    /// r = 1/0.19891 = 5.027, so the low-pass gives -28.06 dB; at 250 Hz r = 0.04913/0.19891
    /// = 0.2470, so the high-pass gives -24.29 dB and the low-pass -0.016 dB. The peaking
    /// filter gains exactly its gain at its centre and nothing far from it.
    #[test]
    fn filters_have_their_textbook_responses() {
        let q = std::f32::consts::FRAC_1_SQRT_2;
        let near = |got: f32, want: f32| assert!((got - want).abs() < 0.1, "{got} dB, want {want} dB");
        let lp = Biquad::lowpass(16_000, 1_000.0, q);
        near(gain_db(lp.clone(), 1_000.0), -3.01);
        near(gain_db(lp.clone(), 250.0), -0.016);
        near(gain_db(lp, 4_000.0), -28.06);
        let hp = Biquad::highpass(16_000, 1_000.0, q);
        near(gain_db(hp.clone(), 1_000.0), -3.01);
        near(gain_db(hp.clone(), 4_000.0), -0.0);
        near(gain_db(hp, 250.0), -24.29);
        assert!((gain_db(Biquad::peaking(16_000, 2_000.0, 1.0, 9.0), 2_000.0) - 9.0).abs() < 0.1);
        assert!((gain_db(Biquad::peaking(16_000, 2_000.0, 1.0, -6.0), 2_000.0) + 6.0).abs() < 0.1);
        assert!(gain_db(Biquad::peaking(16_000, 2_000.0, 2.0, 9.0), 100.0).abs() < 0.2);
    }

    /// Filtering in two calls equals filtering in one: the state carries over.
    #[test]
    fn filter_state_carries_across_calls() {
        let x: Vec<f32> = (0..300).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let mut whole = x.clone();
        Biquad::peaking(16_000, 500.0, 1.0, 5.0).process(&mut whole);
        let mut f = Biquad::peaking(16_000, 500.0, 1.0, 5.0);
        let (mut a, mut b) = (x[..123].to_vec(), x[123..].to_vec());
        f.process(&mut a);
        f.process(&mut b);
        a.extend(b);
        assert_eq!(a, whole);
    }
}
