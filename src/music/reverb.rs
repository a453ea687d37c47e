//! Freeverb (Jezar at Dreampoint's public-domain design) at the settings rustysynth uses by
//! default: per channel, eight damped comb filters in parallel then four all-pass filters in
//! series; the right channel's delays are 23 samples longer for width.
//!
//! Why seqlab has its own: the synthesiser applies its reverb (and a chorus that General MIDI
//! sends nothing to) inside each instance, so splitting a song over two synthesisers on two
//! cores paid for the effects twice, and they were 40% of a render. Rendering dry in
//! parallel and running one reverb on the mix gives the same kind of room at a fraction of
//! the cost.

/// Comb delays in samples at 44.1 kHz (scaled to the sample rate).
const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASSES: [usize; 4] = [556, 441, 341, 225];
const STEREO_SPREAD: usize = 23;
/// Room size 0.5 -> comb feedback 0.5·0.28 + 0.7.
const FEEDBACK: f32 = 0.84;
/// Damping 0.5 -> 0.5·0.4: the share of the comb's low-pass memory kept per sample.
const DAMP: f32 = 0.2;
const ALLPASS_FEEDBACK: f32 = 0.5;
/// Freeverb's input gain.
const INPUT_GAIN: f32 = 0.015;
/// General MIDI's default reverb send (controller 91 = 40 of 127), which seqlab's songs keep.
pub const DEFAULT_SEND: f32 = 40.0 / 127.0;
/// Below this a delay line's sample counts as silence: denormal floats in decaying tails
/// would otherwise slow the loops down many times over.
const FLUSH: f32 = 1e-6;

struct Comb {
    buf: Vec<f32>,
    at: usize,
    store: f32,
}

impl Comb {
    fn tick(&mut self, x: f32) -> f32 {
        let mut out = self.buf[self.at];
        if out.abs() < FLUSH {
            out = 0.0;
        }
        self.store = out * (1.0 - DAMP) + self.store * DAMP;
        if self.store.abs() < FLUSH {
            self.store = 0.0;
        }
        self.buf[self.at] = x + self.store * FEEDBACK;
        self.at += 1;
        if self.at == self.buf.len() {
            self.at = 0;
        }
        out
    }
}

struct AllPass {
    buf: Vec<f32>,
    at: usize,
}

impl AllPass {
    fn tick(&mut self, x: f32) -> f32 {
        let mut b = self.buf[self.at];
        if b.abs() < FLUSH {
            b = 0.0;
        }
        self.buf[self.at] = x + b * ALLPASS_FEEDBACK;
        self.at += 1;
        if self.at == self.buf.len() {
            self.at = 0;
        }
        b - x
    }
}

/// One channel: the combs summed, then the all-passes in turn.
struct Tank {
    combs: Vec<Comb>,
    allpasses: Vec<AllPass>,
}

impl Tank {
    fn new(sample_rate: u32, spread: usize) -> Self {
        let scale = |n: usize| ((sample_rate as f64 / 44_100.0 * (n + spread) as f64).round() as usize).max(1);
        Self {
            combs: COMBS.iter().map(|&n| Comb { buf: vec![0.0; scale(n)], at: 0, store: 0.0 }).collect(),
            allpasses: ALLPASSES.iter().map(|&n| AllPass { buf: vec![0.0; scale(n)], at: 0 }).collect(),
        }
    }

    fn tick(&mut self, x: f32) -> f32 {
        let mut y: f32 = self.combs.iter_mut().map(|c| c.tick(x)).sum();
        for a in &mut self.allpasses {
            y = a.tick(y);
        }
        y
    }
}

/// Adds the reverb of a dry stereo mix to it, in place: the tanks hear the mono sum of both
/// channels times `send` (0..=1) and the input gain, as a synthesiser's reverb hears each
/// voice's send. The two channels' tanks share nothing but that input, so they run on two
/// threads.
pub fn add_reverb(left: &mut [f32], right: &mut [f32], sample_rate: u32, send: f32) {
    let gain = INPUT_GAIN * send.clamp(0.0, 1.0);
    let input: Vec<f32> = left.iter().zip(right.iter()).map(|(a, b)| gain * (a + b)).collect();
    let run = |out: &mut [f32], spread: usize| {
        let mut tank = Tank::new(sample_rate, spread);
        out.iter_mut().zip(&input).for_each(|(o, &x)| *o += tank.tick(x));
    };
    std::thread::scope(|scope| {
        scope.spawn(|| run(left, 0));
        run(right, STEREO_SPREAD);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An impulse rings (the first comb echo arrives after 1116 samples at 44.1 kHz, the
    /// right channel's 23 samples later), dies away (the last second holds a tiny share of the
    /// energy), and the reverb is linear: twice the input, twice the tail (up to the flush
    /// of denormal-sized samples).
    #[test]
    fn impulse_response_rings_decays_and_scales() {
        let n = 5 * 44_100;
        let run = |amp: f32| {
            let (mut l, mut r) = (vec![0f32; n], vec![0f32; n]);
            l[0] = amp;
            add_reverb(&mut l, &mut r, 44_100, 1.0);
            (l, r)
        };
        let (l, r) = run(1.0);
        assert_eq!(l[1..1116].iter().map(|v| v.abs()).fold(0f32, f32::max), 0.0, "nothing before the shortest delay");
        assert!(l[1116].abs() > 0.0 && r[1116].abs() == 0.0 && r[1116 + 23].abs() > 0.0);
        let energy = |x: &[f32]| x.iter().map(|v| v * v).sum::<f32>();
        let (total, last) = (energy(&l[1..]), energy(&l[4 * 44_100..]));
        assert!(total > 0.0 && last < 1e-3 * total, "tail energy {last} of {total}");
        let (l2, _) = run(2.0);
        let peak = l.iter().skip(1).fold(0f32, |m, v| m.max(v.abs()));
        let err = l.iter().zip(&l2).skip(1).map(|(a, b)| (2.0 * a - b).abs()).fold(0f32, f32::max);
        // Only the flush of near-silent samples to zero breaks exact linearity.
        assert!(err < 1e-3 * peak, "not linear: {err} against a peak of {peak}");
    }
}
