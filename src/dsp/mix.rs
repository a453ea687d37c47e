//! Mixing helpers for building training clips and chiming over recordings.

/// Root mean square of `x` (0 for an empty slice).
pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

/// Linear amplitude factor of a gain in decibels: 20·log10(factor) = db.
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

/// Multiplies every sample by `gain`.
pub fn apply_gain(x: &mut [f32], gain: f32) {
    x.iter_mut().for_each(|v| *v *= gain);
}

/// Adds `src·gain` into `dst` starting at sample `offset`; whatever would fall past the end
/// of `dst` is dropped, so a clip can be placed anywhere without bounds arithmetic at the
/// call site.
pub fn mix_into(dst: &mut [f32], src: &[f32], offset: usize, gain: f32) {
    if offset >= dst.len() {
        return;
    }
    dst[offset..].iter_mut().zip(src).for_each(|(d, &s)| *d += s * gain);
}

/// Scales `x` down so that its largest magnitude is at most `peak` (never scales up):
/// keeps mixes out of clipping without changing quiet clips.
pub fn limit_peak(x: &mut [f32], peak: f32) {
    let max = x.iter().fold(0f32, |m, &v| m.max(v.abs()));
    if max > peak && max > 0.0 {
        apply_gain(x, peak / max);
    }
}

/// Interleaved frames of `channels` samples -> their mean per frame (mono). A trailing
/// partial frame is dropped.
pub fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels <= 1 {
        return interleaved.to_vec();
    }
    interleaved.chunks_exact(channels).map(|f| f.iter().sum::<f32>() / channels as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rms([3, -4]) = √((9 + 16)/2) = √12.5; +20 dB is ×10, -6.0206 dB is ×½.
    #[test]
    fn golden_levels() {
        assert!((rms(&[3.0, -4.0]) - 12.5f32.sqrt()).abs() < 1e-6);
        assert_eq!(rms(&[]), 0.0);
        assert!((db_to_gain(20.0) - 10.0).abs() < 1e-5);
        assert!((db_to_gain(-6.0206) - 0.5).abs() < 1e-4);
    }

    /// [0, 0, 0, 0] + 2·[1, 2, 3] at offset 2 -> [0, 0, 2, 4]: the 3 falls off the end.
    #[test]
    fn golden_mix_drops_overhang() {
        let mut dst = vec![0.0; 4];
        mix_into(&mut dst, &[1.0, 2.0, 3.0], 2, 2.0);
        assert_eq!(dst, vec![0.0, 0.0, 2.0, 4.0]);
        mix_into(&mut dst, &[1.0], 9, 1.0);
        assert_eq!(dst, vec![0.0, 0.0, 2.0, 4.0]);
    }

    /// Stereo [1, 3, 5, 7, 9] -> frames (1, 3), (5, 7) -> [2, 6]; the lone 9 is dropped.
    /// Peak limiting [0.5, -2] to 1 halves both: [0.25, -1].
    #[test]
    fn golden_downmix_and_limit() {
        assert_eq!(downmix(&[1.0, 3.0, 5.0, 7.0, 9.0], 2), vec![2.0, 6.0]);
        let mut x = vec![0.5, -2.0];
        limit_peak(&mut x, 1.0);
        assert_eq!(x, vec![0.25, -1.0]);
        let mut quiet = vec![0.1, -0.2];
        limit_peak(&mut quiet, 1.0);
        assert_eq!(quiet, vec![0.1, -0.2]);
    }
}
