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

/// The tests share one sink: each holds this while it plays and listens, so one test's
/// sound is never another's input.
static SINK: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
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

/// End to end through the sound server: `seqlab trigger listen` hears, through the null
/// sink's monitor, a synthesised "activate" that seqlab plays into the sink, fires, and plays
/// its chime. Checked loosely, as the null sink's timing is uneven: at least one detection
/// in the seven seconds, and the chime opened the speaker without an error.
#[test]
fn saying_activate_into_the_sink_fires_the_detector_and_the_chime() {
    if !enabled() {
        return;
    }
    let _sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("activate.wav");
    let status = Command::new("espeak-ng").arg("-w").arg(&wav).arg("activate").status().expect("espeak-ng is installed by scripts/setup.sh");
    assert!(status.success());
    let speech = seqlab::dsp::read_audio(&wav).expect("espeak-ng writes a WAV");
    let listener = Command::new(env!("CARGO_BIN_EXE_seqlab"))
        .args(["trigger", "listen", "--seconds", "7", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("seqlab runs");
    std::thread::sleep(Duration::from_secs(2));
    let playing = seqlab::audio::play::Playback::start(speech.samples, 1, speech.rate).expect("the null sink plays");
    let start = Instant::now();
    while !playing.is_finished() && start.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = listener.wait_with_output().expect("listen ends after --seconds");
    assert!(out.status.success(), "listen failed: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON summary line");
    let detections = summary["detections"].as_array().map_or(0, Vec::len);
    assert!(detections >= 1, "no detection: {stdout}");
    assert!(summary["speaker_error"].is_null(), "the chime could not play: {stdout}");
}

/// No sound system at all (ALSA pointed at a configuration that does not exist): listening
/// ends with one clear error that names the file alternative, not a panic or a hang. Runs
/// everywhere: it needs no sound server.
#[test]
fn no_microphone_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_seqlab"))
        .args(["trigger", "listen", "--seconds", "1"])
        .env("ALSA_CONFIG_PATH", "/nonexistent")
        .output()
        .expect("seqlab runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("error: no usable microphone"), "{stderr}");
    assert!(last.contains("trigger detect FILE"), "{stderr}");
}
