//! `seqlab trigger listen` and `seqlab trigger devices`: the trigger word live from the
//! microphone, in a terminal.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam_channel::RecvTimeoutError;

use crate::audio::input::{Microphone, input_devices};
use crate::audio::listen::{LiveEvent, Listener, TriggerDetector};
use crate::audio::play::Playback;
use crate::dsp::SpectrogramConfig;
use super::trigger::{DetectorArgs, VerifierArgs};
use crate::models::trigger::{self, run::chime};

/// Prints the input devices, the default first.
pub fn devices() -> anyhow::Result<()> {
    let names = input_devices();
    if names.is_empty() {
        println!("no input devices: `seqlab trigger detect FILE` runs the detector on a WAV or FLAC file instead");
    }
    for (i, name) in names.iter().enumerate() {
        println!("{name}{}", if i == 0 { "  (default)" } else { "" });
    }
    Ok(())
}

/// Listens until `seconds` have passed (or forever), printing each detection and playing
/// the chime. With `json`, one JSON object per detection and a summary as the last line.
pub fn listen(device: Option<&str>, model: Option<&Path>, detector: &DetectorArgs, verify: &VerifierArgs, seconds: Option<f64>, json: bool) -> anyhow::Result<()> {
    if let Some(s) = seconds {
        anyhow::ensure!(s.is_finite() && s > 0.0, "--seconds must be a positive number, got {s}");
    }
    // The microphone first: without one, nothing else matters, and the error says what to do.
    let (mic, samples) = Microphone::open(device, 4.0).map_err(|e| anyhow::anyhow!("{e} (`seqlab trigger detect FILE`)"))?;
    let net = trigger::load_model(model).context("loading the trigger-word model")?;
    let word = net.info.get("word").cloned().unwrap_or_else(|| "the trigger word".into());
    let (verifier, det) = verify.with_settings(detector, &net)?;
    let sensitivity = Arc::new(AtomicU32::new(det.sensitivity.to_bits()));
    let look = verifier.as_ref().map_or_else(|| format!("detector alone, sensitivity {}", det.sensitivity), |v| format!("sensitivity {} with a second look ({} verifier{})", det.sensitivity, v.members().len(), if v.members().len() == 1 { "" } else { "s" }));
    let detector = TriggerDetector::new(&net, det, verifier, sensitivity)?;
    let listener = Listener::start(samples, mic.sample_rate, SpectrogramConfig::default(), detector)?;
    if !json {
        eprintln!("listening on {} ({} Hz), {look}; say \"{word}\"{}", mic.device_name, mic.sample_rate, seconds.map_or(" (Ctrl-C to stop)".into(), |s| format!(" ({s} s)")));
    }
    let chime_samples = chime(44_100);
    let mut playing: Option<Playback> = None;
    let mut speaker_error: Option<String> = None;
    let mut detections = Vec::new();
    let start = Instant::now();
    loop {
        let left = seconds.map(|s| Duration::from_secs_f64(s).saturating_sub(start.elapsed()));
        if left == Some(Duration::ZERO) {
            break;
        }
        match listener.events.recv_timeout(left.unwrap_or(Duration::from_secs(1)).min(Duration::from_millis(200))) {
            Ok(LiveEvent::Detection { t }) => {
                detections.push(t);
                match Playback::start(chime_samples.clone(), 1, 44_100) {
                    Ok(p) => playing = Some(p),
                    Err(e) => speaker_error = Some(e.to_string()),
                }
                if json {
                    println!("{}", serde_json::json!({ "detection_s": t }));
                } else {
                    println!("{t:8.2} s  {word}");
                }
            }
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => anyhow::bail!("the audio stream ended (device unplugged?)"),
        }
    }
    // Let the last chime finish before its device closes.
    if let Some(p) = &playing {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !p.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let summary = serde_json::json!({
        "detections": detections,
        "seconds": start.elapsed().as_secs_f64(),
        "device": mic.device_name,
        "sample_rate": mic.sample_rate,
        "overruns": mic.stats.overruns(),
        "columns_dropped": listener.stats.columns_dropped.load(Ordering::Relaxed),
        "speaker_error": speaker_error,
    });
    if json {
        println!("{summary}");
    } else {
        if let Some(e) = speaker_error {
            eprintln!("no chime: {e}");
        }
        eprintln!("{} detection(s) in {:.1} s; {} samples lost to overruns", detections.len(), start.elapsed().as_secs_f64(), mic.stats.overruns());
    }
    Ok(())
}
