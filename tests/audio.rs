//! Real audio I/O through a sound server. The private PulseAudio daemon of
//! `scripts/pulse-null.sh` gives a machine without a sound card a real output (a null sink)
//! and a real input (its monitor): what is played there comes back through the microphone
//! path. `.ci/run` starts it and sets `SEQLAB_AUDIO_TESTS=1`; without that variable these
//! tests return at once, because a developer's machine may have a real microphone and
//! speakers in a noisy room.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use seqlab::audio::input::Microphone;

fn enabled() -> bool {
    std::env::var_os("SEQLAB_AUDIO_TESTS").is_some_and(|v| v == "1")
}

/// Power of `x` at `freq` Hz (Goertzel), per sample.
fn tone_power(x: &[f32], rate: f32, freq: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * freq / rate;
    let (mut s1, mut s2) = (0f32, 0f32);
    for &v in x {
        let s0 = v + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) / (x.len().max(1) as f32).powi(2)
}

/// A 1 kHz tone played into the null sink is captured by `Microphone` from the monitor:
/// it arrives, it is the loudest thing in the capture, and nothing overran.
#[test]
fn microphone_hears_what_the_speaker_plays() {
    if !enabled() {
        return;
    }
    let (mic, mut samples) = Microphone::open(None, 5.0).expect("the null sink's monitor opens as the default input");
    let player = Command::new("sh")
        .args(["-c", "sox -q -n -t wav - synth 1.5 sine 1000 vol 0.5 | paplay"])
        .stdout(Stdio::null())
        .spawn()
        .expect("sox and paplay are installed by scripts/setup.sh");
    let rate = mic.sample_rate as f32;
    let mut got = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        while let Ok(s) = samples.pop() {
            got.push(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = { player }.wait().expect("player ran");
    assert!(status.success(), "playing the tone failed");
    // The stretch from the first to the last loud sample: the tone, with its phase intact.
    let first = got.iter().position(|s| s.abs() > 0.05);
    let last = got.iter().rposition(|s| s.abs() > 0.05);
    let loud = match (first, last) {
        (Some(a), Some(b)) => &got[a..=b],
        _ => &[][..],
    };
    assert!(loud.len() as f32 > rate * 1.0, "heard {} loud samples of {} at {rate} Hz", loud.len(), got.len());
    let (at_tone, off_tone) = (tone_power(loud, rate, 1000.0), tone_power(loud, rate, 1500.0));
    assert!(at_tone > 100.0 * off_tone, "1 kHz power {at_tone}, 1.5 kHz power {off_tone}");
    assert_eq!(mic.stats.overruns(), 0);
}
