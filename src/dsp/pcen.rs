//! Per-channel energy normalisation (PCEN; Wang et al. 2017, "Trainable frontend for robust
//! and far-field keyword spotting") of log-mel frames, streaming and whole-sequence.
//!
//! Each band's energy E is divided by a smoothed copy of itself, M(t) = (1-s)·M(t-1) + s·E(t),
//! raised to α, then compressed: PCEN = (E / (ε + M)^α + δ)^r - δ^r. The division is an
//! automatic gain control per band with a time constant of about 0.4 s: a steady background
//! or a loud room flattens towards a constant, and what stands out is what changed, such as
//! the onset of a word. The log of a log-mel spectrogram only shifts with level.
//!
//! The input is the log-mel frame seqlab's [`Spectrogram`](super::Spectrogram) makes,
//! ln(E + [`LOG_FLOOR`]), so PCEN is a stage after it that any consumer of frames can add.
//! M starts at the first frame's energy (the smoother's steady state for it), so the first
//! frames after a reset are not all onset.

use ndarray::{Array2, ArrayView2};

use super::spectrogram::LOG_FLOOR;

/// The paper's and librosa's settings at seqlab's 10-ms hop.
#[derive(Clone, Debug, PartialEq)]
pub struct PcenConfig {
    /// Time constant of the smoother, in frames: s = 1 - exp(-1 / frames).
    pub time_constant_frames: f32,
    pub alpha: f32,
    pub delta: f32,
    pub r: f32,
    pub eps: f32,
}

impl Default for PcenConfig {
    fn default() -> Self {
        Self { time_constant_frames: 40.0, alpha: 0.98, delta: 2.0, r: 0.5, eps: 1e-6 }
    }
}

/// Streaming PCEN over frames of a fixed number of bands; never allocates after `new`.
#[derive(Clone, Debug)]
pub struct Pcen {
    cfg: PcenConfig,
    s: f32,
    /// δ^r, subtracted so that silence after silence maps to about 0.
    offset: f32,
    m: Vec<f32>,
    started: bool,
}

impl Pcen {
    pub fn new(bands: usize, cfg: PcenConfig) -> Self {
        let s = 1.0 - (-1.0 / cfg.time_constant_frames.max(1e-3)).exp();
        let offset = cfg.delta.powf(cfg.r);
        Self { cfg, s, offset, m: vec![0.0; bands], started: false }
    }

    /// Forgets the smoother, as for a new recording.
    pub fn reset(&mut self) {
        self.m.iter_mut().for_each(|m| *m = 0.0);
        self.started = false;
    }

    /// Replaces one log-mel frame by its PCEN, in place. A frame of another length than the
    /// bands given to `new` is left as it is (callers check lengths once, up front).
    pub fn process(&mut self, frame: &mut [f32]) {
        if frame.len() != self.m.len() {
            return;
        }
        let PcenConfig { alpha, delta, r, eps, .. } = self.cfg;
        for (v, m) in frame.iter_mut().zip(&mut self.m) {
            let e = (v.exp() - LOG_FLOOR).max(0.0);
            *m = if self.started { (1.0 - self.s) * *m + self.s * e } else { e };
            *v = (e / (eps + *m).powf(alpha) + delta).powf(r) - self.offset;
        }
        self.started = true;
    }
}

/// PCEN of a whole log-mel spectrogram [T, M] -> [T, M], from a fresh smoother: the same
/// numbers as pushing its frames one by one through a new [`Pcen`].
pub fn pcen(x: ArrayView2<f32>, cfg: &PcenConfig) -> Array2<f32> {
    let mut out = x.as_standard_layout().into_owned();
    let mut p = Pcen::new(x.ncols(), cfg.clone());
    for mut row in out.rows_mut() {
        if let Some(frame) = row.as_slice_mut() {
            p.process(frame);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand with α = 1, δ = 2, r = 0.5, ε = 0, time constant 1/ln 2 frames (s = ½),
    /// on one band whose energies are 1, 3, 3 (frames ln(E + 1e-6)):
    /// - t0: M = E = 1 (the first frame sets it), E/M = 1, √(1 + 2) - √2 = 0.31784;
    /// - t1: M = ½·1 + ½·3 = 2, E/M = 1.5, √3.5 - √2 = 0.45664;
    /// - t2: M = ½·2 + ½·3 = 2.5, E/M = 1.2, √3.2 - √2 = 0.37466.
    ///
    /// After a reset the first frame sets M again.
    #[test]
    fn golden_pcen_by_hand() {
        let cfg = PcenConfig { time_constant_frames: 1.0 / std::f32::consts::LN_2, alpha: 1.0, delta: 2.0, r: 0.5, eps: 0.0 };
        let mut p = Pcen::new(1, cfg);
        let want = [0.31784f32, 0.45664, 0.37466];
        for (e, w) in [1f32, 3.0, 3.0].into_iter().zip(want) {
            let mut f = [(e + LOG_FLOOR).ln()];
            p.process(&mut f);
            assert!((f[0] - w).abs() < 1e-4, "{} against {w}", f[0]);
        }
        p.reset();
        let mut f = [(3f32 + LOG_FLOOR).ln()];
        p.process(&mut f);
        assert!((f[0] - want[0]).abs() < 1e-4);
    }

    /// The point of PCEN: a steady sound gives nearly the same output at any level, and an
    /// onset stands out above it. Steady E: M = E, so E/M^0.98 = E^0.02, 0.912 at E = 0.01
    /// and 1.096 at 100, giving √2.912 - √2 = 0.292 and √3.096 - √2 = 0.346 (a log-mel
    /// frame moves by ln 10⁴ = 9.2). A 30x step: M = E(1 + 29s) = 1.716E with s = 0.0247,
    /// so E'/M^α = 30/1.716^0.98·E^0.02 = 30/1.697·1.096 = 19.38 and √21.38 - √2 = 3.21,
    /// nine times the steady 0.346.
    /// The whole-sequence form equals streaming.
    #[test]
    fn level_does_not_matter_and_onsets_stand_out() {
        let cfg = PcenConfig::default();
        let run = |level: f32| {
            let mut x = Array2::<f32>::zeros((200, 2));
            for t in 0..200 {
                x[[t, 0]] = (level + LOG_FLOOR).ln();
                x[[t, 1]] = (level * if t >= 150 { 30.0 } else { 1.0 } + LOG_FLOOR).ln();
            }
            pcen(x.view(), &cfg)
        };
        let (quiet, loud) = (run(0.01), run(100.0));
        let near = |got: f32, want: f32| assert!((got - want).abs() < 0.01, "{got} against {want}");
        near(quiet[[149, 0]], 0.292);
        near(loud[[149, 0]], 0.346);
        near(loud[[149, 1]], 0.346);
        near(loud[[150, 1]], 3.21);
        let mut p = Pcen::new(2, cfg.clone());
        let x = run(1.0);
        let mut frame = [0f32; 2];
        for t in 0..200 {
            frame.copy_from_slice(&[(1f32 + LOG_FLOOR).ln(), (if t >= 150 { 30f32 } else { 1.0 } + LOG_FLOOR).ln()]);
            p.process(&mut frame);
            // Not bit for bit: the compiler may fold ln(30 + 1e-6) for one side at build time.
            assert!((frame[0] - x[[t, 0]]).abs() < 1e-6 && (frame[1] - x[[t, 1]]).abs() < 1e-6, "frame {t}");
        }
    }
}
