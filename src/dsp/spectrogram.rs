//! Log-mel spectrogram, streaming and whole-signal.
//!
//! Defaults (what the trigger-word model is trained on): 16 kHz mono, a 25 ms Hann window
//! (400 samples) every 10 ms (hop 160), zero-padded to a 512-point FFT (257 bins, 31.25 Hz
//! apart), power spectrum -> 40 triangular mel filters from 20 Hz to 8 kHz (HTK mel scale)
//! -> natural log of (energy + 1e-6). One frame per hop: a 10-s clip gives 998 frames.
//!
//! The FFT is planned once per [`Spectrogram`] and run with `process_with_scratch` into
//! buffers allocated at construction, so pushing samples never allocates: the same code
//! serves training-data preparation and a real-time audio thread.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use super::DspError;

/// Shape of the spectrogram. Frame `i` covers samples `i·hop .. i·hop + window`.
#[derive(Clone, Debug, PartialEq)]
pub struct SpectrogramConfig {
    pub sample_rate: u32,
    /// Window length in samples (Hann).
    pub window: usize,
    pub hop: usize,
    /// FFT length, at least `window` (the window is zero-padded).
    pub n_fft: usize,
    /// Number of mel bands; 0 gives the raw log power spectrum (n_fft/2 + 1 bins).
    pub n_mels: usize,
    pub f_min: f32,
    pub f_max: f32,
}

impl Default for SpectrogramConfig {
    fn default() -> Self {
        Self { sample_rate: 16_000, window: 400, hop: 160, n_fft: 512, n_mels: 40, f_min: 20.0, f_max: 8_000.0 }
    }
}

/// Added to every energy before the log, so silence gives a finite floor (ln 1e-6 ≈ -13.8).
pub const LOG_FLOOR: f32 = 1e-6;

impl SpectrogramConfig {
    pub fn validate(&self) -> Result<(), DspError> {
        let bad = |m: String| Err(DspError::Invalid(m));
        if self.sample_rate == 0 {
            return bad("spectrogram sample rate must be positive".into());
        }
        if self.window == 0 || self.hop == 0 || self.n_fft < self.window || self.n_fft > 1 << 16 {
            return bad(format!(
                "spectrogram needs 0 < window <= n_fft <= 65536 and hop > 0, got window {}, hop {}, n_fft {}",
                self.window, self.hop, self.n_fft
            ));
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        if self.n_mels > 0 && !(self.f_min >= 0.0 && self.f_min < self.f_max && self.f_max <= nyquist) {
            return bad(format!("mel range must satisfy 0 <= f_min < f_max <= {nyquist} Hz, got {} .. {}", self.f_min, self.f_max));
        }
        if self.n_mels > self.bins() {
            return bad(format!("{} mel bands from only {} FFT bins", self.n_mels, self.bins()));
        }
        Ok(())
    }

    /// FFT bins 0..=n_fft/2.
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Numbers per frame: mel bands, or FFT bins when `n_mels` is 0.
    pub fn features(&self) -> usize {
        if self.n_mels == 0 { self.bins() } else { self.n_mels }
    }

    /// Frames in a signal of `samples` samples.
    pub fn frames_for(&self, samples: usize) -> usize {
        if samples < self.window { 0 } else { (samples - self.window) / self.hop + 1 }
    }

    /// Seconds between frames.
    pub fn hop_seconds(&self) -> f64 {
        self.hop as f64 / self.sample_rate as f64
    }
}

fn hz_to_mel(f: f32) -> f32 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz(m: f32) -> f32 {
    700.0 * (10f32.powf(m / 2595.0) - 1.0)
}

/// The n_mels + 2 filter edges in Hz, equally spaced in mel from f_min to f_max; filter m
/// rises from edge m to its centre, edge m + 1, and falls to edge m + 2.
fn mel_edges(cfg: &SpectrogramConfig) -> Vec<f32> {
    let (lo, hi) = (hz_to_mel(cfg.f_min), hz_to_mel(cfg.f_max));
    (0..cfg.n_mels + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f32 / (cfg.n_mels + 1) as f32)).collect()
}

/// Centre frequency in Hz of each mel band, ascending ([n_mels]).
pub fn mel_centres(cfg: &SpectrogramConfig) -> Vec<f32> {
    let edges = mel_edges(cfg);
    edges[1..edges.len().saturating_sub(1)].to_vec()
}

/// Triangular mel filters, [n_mels][bins] stored sparsely as (first bin, weights).
fn mel_filters(cfg: &SpectrogramConfig) -> Vec<(usize, Vec<f32>)> {
    let edges = mel_edges(cfg);
    let bin_hz = cfg.sample_rate as f32 / cfg.n_fft as f32;
    (0..cfg.n_mels)
        .map(|m| {
            let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
            let weights: Vec<(usize, f32)> = (0..cfg.bins())
                .filter_map(|k| {
                    let f = k as f32 * bin_hz;
                    let w = if f <= left || f >= right {
                        0.0
                    } else if f <= centre {
                        (f - left) / (centre - left)
                    } else {
                        (right - f) / (right - centre)
                    };
                    (w > 0.0).then_some((k, w))
                })
                .collect();
            // A band narrower than a bin would read nothing: give it its nearest bin.
            if weights.is_empty() {
                let k = ((centre / bin_hz).round() as usize).min(cfg.bins() - 1);
                return (k, vec![1.0]);
            }
            let first = weights[0].0;
            let mut dense = vec![0.0; weights[weights.len() - 1].0 - first + 1];
            for (k, w) in weights {
                dense[k - first] = w;
            }
            (first, dense)
        })
        .collect()
}

/// Streaming log-mel spectrogram: push samples in chunks of any size, get one frame per hop.
pub struct Spectrogram {
    cfg: SpectrogramConfig,
    fft: Arc<dyn Fft<f32>>,
    hann: Vec<f32>,
    filters: Vec<(usize, Vec<f32>)>,
    /// The last `window` samples, circular; `pos` is where the next sample goes.
    ring: Vec<f32>,
    pos: usize,
    /// Samples seen so far, saturating (only compared with `window`).
    seen: usize,
    /// Samples since the last frame was emitted.
    since_frame: usize,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
    power: Vec<f32>,
    out: Vec<f32>,
}

impl Spectrogram {
    pub fn new(cfg: SpectrogramConfig) -> Result<Self, DspError> {
        cfg.validate()?;
        let fft = FftPlanner::<f32>::new().plan_fft_forward(cfg.n_fft);
        let scratch = vec![Complex32::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        // Periodic Hann: w[n] = ½ - ½cos(2πn/N), the usual choice for overlapping STFTs.
        let hann = (0..cfg.window).map(|n| 0.5 - 0.5 * (std::f32::consts::TAU * n as f32 / cfg.window as f32).cos()).collect();
        let filters = if cfg.n_mels > 0 { mel_filters(&cfg) } else { Vec::new() };
        Ok(Self {
            fft,
            hann,
            filters,
            ring: vec![0.0; cfg.window],
            pos: 0,
            seen: 0,
            since_frame: 0,
            buf: vec![Complex32::new(0.0, 0.0); cfg.n_fft],
            scratch,
            power: vec![0.0; cfg.bins()],
            out: vec![0.0; cfg.features()],
            cfg,
        })
    }

    pub fn config(&self) -> &SpectrogramConfig {
        &self.cfg
    }

    /// Forgets all samples, as if just constructed.
    pub fn reset(&mut self) {
        self.ring.iter_mut().for_each(|v| *v = 0.0);
        (self.pos, self.seen, self.since_frame) = (0, 0, 0);
    }

    /// Feeds samples; calls `emit` with each completed frame (`features()` numbers).
    /// Never allocates.
    pub fn push(&mut self, samples: &[f32], mut emit: impl FnMut(&[f32])) {
        let w = self.cfg.window;
        for &s in samples {
            self.ring[self.pos] = s;
            self.pos = (self.pos + 1) % w;
            if self.seen < w {
                self.seen += 1;
                if self.seen < w {
                    continue;
                }
                // The first full window is frame 0.
                self.since_frame = self.cfg.hop;
            } else {
                self.since_frame += 1;
            }
            if self.since_frame >= self.cfg.hop {
                self.since_frame = 0;
                self.compute();
                emit(&self.out);
            }
        }
    }

    fn compute(&mut self) {
        let w = self.cfg.window;
        // `pos` is the oldest sample once the ring is full.
        for i in 0..w {
            self.buf[i] = Complex32::new(self.ring[(self.pos + i) % w] * self.hann[i], 0.0);
        }
        self.buf[w..].iter_mut().for_each(|c| *c = Complex32::new(0.0, 0.0));
        self.fft.process_with_scratch(&mut self.buf, &mut self.scratch);
        for (p, c) in self.power.iter_mut().zip(&self.buf) {
            *p = c.norm_sqr();
        }
        if self.filters.is_empty() {
            for (o, &p) in self.out.iter_mut().zip(&self.power) {
                *o = (p + LOG_FLOOR).ln();
            }
        } else {
            for (o, (first, weights)) in self.out.iter_mut().zip(&self.filters) {
                let e: f32 = weights.iter().zip(&self.power[*first..]).map(|(w, p)| w * p).sum();
                *o = (e + LOG_FLOOR).ln();
            }
        }
    }
}

/// The whole signal's spectrogram, frames as rows: [frames_for(len), features] row-major.
pub fn spectrogram(samples: &[f32], cfg: &SpectrogramConfig) -> Result<ndarray::Array2<f32>, DspError> {
    let mut spec = Spectrogram::new(cfg.clone())?;
    let mut data = Vec::with_capacity(cfg.frames_for(samples.len()) * cfg.features());
    spec.push(samples, |f| data.extend_from_slice(f));
    let rows = data.len() / cfg.features();
    ndarray::Array2::from_shape_vec((rows, cfg.features()), data).map_err(|e| DspError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(n: usize) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.37).sin() * 0.5 + ((i * 7919) % 101) as f32 / 200.0 - 0.25).collect()
    }

    /// The raw log power spectrum (n_mels = 0) of each frame equals ln(|DFT|² + 1e-6) of the
    /// Hann-windowed, zero-padded frame computed by the O(N²) definition
    /// X_k = Σ_n x_n e^{-2πikn/N}, in f64.
    #[test]
    fn power_spectrum_matches_naive_dft() {
        let cfg = SpectrogramConfig { sample_rate: 8000, window: 48, hop: 20, n_fft: 64, n_mels: 0, ..Default::default() };
        let x = signal(150);
        let spec = spectrogram(&x, &cfg).unwrap();
        assert_eq!(spec.nrows(), (150 - 48) / 20 + 1);
        for f in 0..spec.nrows() {
            for k in 0..cfg.bins() {
                let (mut re, mut im) = (0f64, 0f64);
                for n in 0..cfg.window {
                    let w = 0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / cfg.window as f64).cos();
                    let v = x[f * cfg.hop + n] as f64 * w;
                    let a = -std::f64::consts::TAU * (k * n) as f64 / cfg.n_fft as f64;
                    re += v * a.cos();
                    im += v * a.sin();
                }
                let want = (re * re + im * im + LOG_FLOOR as f64).ln();
                assert!((spec[[f, k]] as f64 - want).abs() < 1e-3, "frame {f} bin {k}: {} vs {want}", spec[[f, k]]);
            }
        }
    }

    /// A 1 kHz sine lands in the mel band whose centre is nearest 1 kHz.
    #[test]
    fn tone_peaks_in_its_mel_band() {
        let cfg = SpectrogramConfig::default();
        let x: Vec<f32> = (0..4000).map(|i| (std::f32::consts::TAU * 1000.0 * i as f32 / 16000.0).sin()).collect();
        let spec = spectrogram(&x, &cfg).unwrap();
        let row = spec.row(5);
        let peak = (0..cfg.n_mels).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        let (lo, hi) = (hz_to_mel(cfg.f_min), hz_to_mel(cfg.f_max));
        let centre = |m: usize| mel_to_hz(lo + (hi - lo) * (m + 1) as f32 / (cfg.n_mels + 1) as f32);
        let nearest = (0..cfg.n_mels).min_by(|&a, &b| (centre(a) - 1000.0).abs().total_cmp(&(centre(b) - 1000.0).abs())).unwrap();
        assert_eq!(peak, nearest);
    }

    /// Pushing in uneven chunks gives exactly the frames of one whole push.
    #[test]
    fn streaming_in_chunks_equals_whole() {
        let cfg = SpectrogramConfig::default();
        let x = signal(5000);
        let whole = spectrogram(&x, &cfg).unwrap();
        let mut spec = Spectrogram::new(cfg.clone()).unwrap();
        let mut frames = Vec::new();
        let mut start = 0;
        for (i, len) in [1usize, 399, 7, 160, 1000, 3433].iter().enumerate() {
            spec.push(&x[start..start + len], |f| frames.push(f.to_vec()));
            start += len;
            assert!(i < 6);
        }
        assert_eq!(start, x.len());
        assert_eq!(frames.len(), cfg.frames_for(5000));
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.as_slice(), whole.row(i).as_slice().unwrap());
        }
        spec.reset();
        let mut again = 0;
        spec.push(&x[..400], |_| again += 1);
        assert_eq!(again, 1);
    }

    #[test]
    fn bad_configs_are_errors() {
        let base = SpectrogramConfig::default();
        for cfg in [
            SpectrogramConfig { sample_rate: 0, ..base.clone() },
            SpectrogramConfig { hop: 0, ..base.clone() },
            SpectrogramConfig { n_fft: 256, ..base.clone() },
            SpectrogramConfig { f_max: 9000.0, ..base.clone() },
            SpectrogramConfig { n_mels: 300, ..base.clone() },
        ] {
            assert!(Spectrogram::new(cfg.clone()).is_err(), "{cfg:?}");
        }
        assert_eq!(spectrogram(&[0.0; 10], &base).unwrap().nrows(), 0);
    }
}
