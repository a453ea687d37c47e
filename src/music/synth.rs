//! Songs to audio: a General MIDI SoundFont through `rustysynth` when one is installed, a
//! small built-in additive synthesiser when none is, and WAV files through `hound`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustysynth::{MidiFile, MidiFileSequencer, SoundFont, Synthesizer, SynthesizerSettings};

use super::MusicError;
use super::score::Song;

/// Where Debian's packages put General MIDI SoundFonts, smallest first.
pub const SOUNDFONT_PATHS: [&str; 2] = ["/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2"];

pub const SAMPLE_RATE: u32 = 44_100;

/// Seconds rendered after the last note so releases and reverb ring out.
const TAIL_SECONDS: f64 = 1.0;

/// Stereo audio, one slice per channel.
#[derive(Clone, Debug, Default)]
pub struct Audio {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    pub sample_rate: u32,
}

impl Audio {
    pub fn seconds(&self) -> f64 {
        self.left.len() as f64 / self.sample_rate.max(1) as f64
    }

    /// Interleaved L R L R, what sound devices and WAV files want.
    pub fn interleaved(&self) -> Vec<f32> {
        self.left.iter().zip(&self.right).flat_map(|(&l, &r)| [l, r]).collect()
    }
}

/// What makes the sound.
#[derive(Clone)]
pub enum Engine {
    SoundFont { font: Arc<SoundFont>, path: PathBuf },
    /// The built-in synthesiser: sine partials with a decay, noise for drums.
    Simple,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Engine {
    pub fn describe(&self) -> String {
        match self {
            Engine::SoundFont { path, .. } => format!("SoundFont {}", path.display()),
            Engine::Simple => "built-in synthesiser (no SoundFont found)".into(),
        }
    }

    /// Loads the SoundFont at `path`, or when `None` the first of [`SOUNDFONT_PATHS`] that
    /// exists, or else the built-in synthesiser. A path given but unreadable is an error:
    /// the user asked for that sound.
    pub fn load(path: Option<&Path>) -> Result<Self, MusicError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match SOUNDFONT_PATHS.iter().map(PathBuf::from).find(|p| p.exists()) {
                Some(p) => p,
                None => return Ok(Engine::Simple),
            },
        };
        let file = std::fs::File::open(&path).map_err(|source| MusicError::Io { path: path.clone(), source })?;
        let font = SoundFont::new(&mut std::io::BufReader::new(file))
            .map_err(|e| MusicError::BadFile { path: path.clone(), reason: format!("not a SoundFont ({e:?})") })?;
        Ok(Engine::SoundFont { font: Arc::new(font), path })
    }
}

/// A MIDI message at a sample index: (sample, order, channel, command, data1, data2); order
/// puts note-offs before note-ons on the same sample.
type Event = (usize, u8, u8, u8, u8, u8);

fn events(song: &Song, sample_rate: u32) -> Vec<Event> {
    let spb = song.seconds_per_beat() * sample_rate as f64;
    let mut ev = Vec::new();
    for p in &song.parts {
        ev.push((0, 0, p.channel, 0xC0, p.program, 0));
        for n in &p.notes {
            let on = (n.start * spb).round().max(0.0) as usize;
            let off = ((n.start + n.duration) * spb).round().max(on as f64 + 1.0) as usize;
            ev.push((on, 2, p.channel, 0x90, n.pitch, n.velocity));
            ev.push((off, 1, p.channel, 0x80, n.pitch, 0));
        }
    }
    ev.sort_by_key(|e| (e.0, e.1));
    ev
}

fn check(song: &Song, sample_rate: u32) -> Result<usize, MusicError> {
    super::check_tempo(song.tempo_bpm)?;
    if !(8_000..=192_000).contains(&sample_rate) {
        return Err(MusicError::Invalid(format!("sample rate must be 8000..=192000 Hz, got {sample_rate}")));
    }
    let seconds = song.seconds() + TAIL_SECONDS;
    if seconds > 3600.0 {
        return Err(MusicError::Invalid(format!("the song is {seconds:.0} s long; rendering is limited to an hour")));
    }
    Ok((seconds * sample_rate as f64).ceil() as usize)
}

/// Renders the song with `engine`.
pub fn render(song: &Song, engine: &Engine, sample_rate: u32) -> Result<Audio, MusicError> {
    let len = check(song, sample_rate)?;
    match engine {
        Engine::SoundFont { font, .. } => render_soundfont(song, font, sample_rate, len),
        Engine::Simple => Ok(render_simple(song, sample_rate, len)),
    }
}

/// Every part's notes are dealt alternately to two synthesisers on two threads, rendered
/// dry, summed, and one reverb runs on the mix ([`super::reverb`], the synthesiser's own
/// design at General MIDI's default send). Each note is a voice of its own, so the dry sum is
/// the mix one synthesiser would make, at nearly twice the speed on two cores (dealing whole
/// parts was lopsided: the ride cymbal's long decays cost more than the rest of the band);
/// with the effects inside each synthesiser they were paid for twice and were 40% of the
/// work. Two differences from one synthesiser with its effects: a drum in a choke group (the
/// hi-hats) is not cut short by a hit dealt to the other half, and per-instrument reverb
/// sends that a SoundFont may add are not applied.
fn render_soundfont(song: &Song, font: &Arc<SoundFont>, sample_rate: u32, len: usize) -> Result<Audio, MusicError> {
    let deal = |half: usize| Song {
        parts: song
            .parts
            .iter()
            .map(|p| super::score::Part {
                name: p.name.clone(),
                channel: p.channel,
                program: p.program,
                notes: p.notes.iter().skip(half).step_by(2).copied().collect(),
            })
            .collect(),
        tempo_bpm: song.tempo_bpm,
        beats_per_bar: song.beats_per_bar,
        progression: None,
    };
    let halves: Vec<Result<(Vec<f32>, Vec<f32>), MusicError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|half| {
                let sub = deal(half);
                scope.spawn(move || render_parts(&sub, font, sample_rate, len))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(MusicError::Invalid("a render thread panicked".into())))).collect()
    });
    let mut left = vec![0.0f32; len];
    let mut right = vec![0.0f32; len];
    for half in halves {
        let (l, r) = half?;
        left.iter_mut().zip(&l).for_each(|(a, b)| *a += b);
        right.iter_mut().zip(&r).for_each(|(a, b)| *a += b);
    }
    super::reverb::add_reverb(&mut left, &mut right, sample_rate, super::reverb::DEFAULT_SEND);
    Ok(Audio { left, right, sample_rate })
}

/// One synthesiser playing `song` dry (its reverb and chorus off: see [`render_soundfont`]).
fn render_parts(song: &Song, font: &Arc<SoundFont>, sample_rate: u32, len: usize) -> Result<(Vec<f32>, Vec<f32>), MusicError> {
    let mut settings = SynthesizerSettings::new(sample_rate as i32);
    settings.enable_reverb_and_chorus = false;
    let mut synth = Synthesizer::new(font, &settings).map_err(|e| MusicError::Invalid(format!("synthesiser: {e:?}")))?;
    let mut left = vec![0.0f32; len];
    let mut right = vec![0.0f32; len];
    let mut pos = 0;
    for (at, _, ch, cmd, d1, d2) in events(song, sample_rate) {
        let at = at.min(len);
        if at > pos {
            synth.render(&mut left[pos..at], &mut right[pos..at]);
            pos = at;
        }
        synth.process_midi_message(ch as i32, cmd as i32, d1 as i32, d2 as i32);
    }
    if pos < len {
        synth.render(&mut left[pos..], &mut right[pos..]);
    }
    Ok((left, right))
}

/// rustysynth on its own: its MIDI file reader and sequencer play SMF bytes. The peer the
/// benchmark compares [`render`] with.
pub fn render_midi_with_rustysynth(midi: &[u8], font: &Arc<SoundFont>, sample_rate: u32) -> Result<Audio, MusicError> {
    let file = MidiFile::new(&mut std::io::Cursor::new(midi)).map_err(|e| MusicError::Invalid(format!("rustysynth cannot read the MIDI: {e:?}")))?;
    let len = ((file.get_length() + TAIL_SECONDS) * sample_rate as f64).ceil() as usize;
    let settings = SynthesizerSettings::new(sample_rate as i32);
    let synth = Synthesizer::new(font, &settings).map_err(|e| MusicError::Invalid(format!("synthesiser: {e:?}")))?;
    let mut seq = MidiFileSequencer::new(synth);
    seq.play(&Arc::new(file), false);
    let mut left = vec![0.0f32; len];
    let mut right = vec![0.0f32; len];
    seq.render(&mut left, &mut right);
    Ok(Audio { left, right, sample_rate })
}

/// The built-in synthesiser. Pitched notes: three sine partials (1, 2, 3 × f0 at 1, 1/2,
/// 1/4) through a 5 ms attack and an exponential decay (faster for the bass and piano than
/// the melody), cut with a 30 ms release. Channel 10: decaying noise. Each channel gets a
/// fixed pan so the parts stay apart.
fn render_simple(song: &Song, sample_rate: u32, len: usize) -> Audio {
    const TABLE: usize = 4096;
    let table: Vec<f32> = (0..TABLE).map(|i| (i as f64 / TABLE as f64 * std::f64::consts::TAU).sin() as f32).collect();
    let sr = sample_rate as f64;
    let spb = song.seconds_per_beat();
    let mut left = vec![0.0f32; len];
    let mut right = vec![0.0f32; len];
    let mut noise = 0x2545_F491u32;
    for part in &song.parts {
        let pan = match part.channel {
            0 => 0.5,
            1 => 0.3,
            2 => 0.5,
            9 => 0.7,
            c => (c as f32 % 5.0) / 5.0 + 0.1,
        };
        let (gl, gr) = ((1.0 - pan).sqrt(), pan.sqrt());
        let decay_s = match part.channel {
            0 => 1.5,
            9 => 0.08,
            _ => 0.5,
        };
        for n in &part.notes {
            let start = (n.start * spb * sr) as usize;
            let dur = (n.duration * spb * sr) as usize;
            let release = (0.03 * sr) as usize;
            let end = (start + dur + release).min(len);
            let amp = 0.12 * n.velocity as f32 / 127.0;
            let f0 = 440.0 * 2f64.powf((n.pitch as f64 - 69.0) / 12.0);
            let step = (f0 / sr * TABLE as f64) as f32;
            let attack = 0.005 * sr as f32;
            let k = (-1.0 / (decay_s * sr)).exp() as f32;
            let mut env = 1.0f32;
            let mut phase = 0.0f32;
            for (i, idx) in (start..end).enumerate() {
                let i = i as f32;
                let mut e = env * (i / attack).min(1.0);
                if i as usize > dur {
                    e *= 1.0 - (i - dur as f32) / release as f32;
                }
                let v = if part.channel == 9 {
                    noise ^= noise << 13;
                    noise ^= noise >> 17;
                    noise ^= noise << 5;
                    (noise as f32 / u32::MAX as f32 * 2.0 - 1.0) * 0.5
                } else {
                    let at = |mult: f32| table[((phase * mult) as usize) % TABLE];
                    at(1.0) + 0.5 * at(2.0) + 0.25 * at(3.0)
                };
                let s = v * e * amp;
                left[idx] += s * gl;
                right[idx] += s * gr;
                phase = (phase + step) % TABLE as f32;
                env *= k;
            }
        }
    }
    // Soft clip so a dense chord never wraps around.
    for x in left.iter_mut().chain(right.iter_mut()) {
        *x = x.tanh();
    }
    Audio { left, right, sample_rate }
}

/// 16-bit stereo WAV bytes.
pub fn wav_bytes(audio: &Audio) -> Result<Vec<u8>, MusicError> {
    let spec = hound::WavSpec { channels: 2, sample_rate: audio.sample_rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let err = |e: hound::Error| MusicError::Invalid(format!("cannot encode WAV: {e}"));
    let mut w = hound::WavWriter::new(&mut cursor, spec).map_err(err)?;
    for s in audio.interleaved() {
        w.write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32) as i16).map_err(err)?;
    }
    w.finalize().map_err(err)?;
    Ok(cursor.into_inner())
}

/// Writes a WAV file atomically.
pub fn write_wav(path: &Path, audio: &Audio) -> Result<(), MusicError> {
    let bytes = wav_bytes(audio)?;
    crate::atomic::write_atomic(path, &bytes).map_err(|source| MusicError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::score::{Note, Part};

    fn song() -> Song {
        Song {
            tempo_bpm: 120.0,
            beats_per_bar: 4,
            parts: vec![Part { name: "m".into(), channel: 0, program: 0, notes: vec![Note { pitch: 69, start: 0.0, duration: 1.0, velocity: 100 }] }],
            progression: None,
        }
    }

    /// One beat at 120 bpm is 0.5 s; plus the 1 s tail: 1.5 s = 66150 samples at 44.1 kHz.
    /// The note sounds in its first half second and the tail is silent.
    #[test]
    fn simple_synth_renders_the_note_and_wav_round_trips() {
        let a = render(&song(), &Engine::Simple, SAMPLE_RATE).unwrap();
        assert_eq!(a.left.len(), 66_150);
        let energy = |s: &[f32]| s.iter().map(|x| x * x).sum::<f32>();
        assert!(energy(&a.left[..20_000]) > 1.0);
        assert_eq!(energy(&a.left[30_000..]), 0.0);
        let bytes = wav_bytes(&a).unwrap();
        let r = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(r.spec().channels, 2);
        assert_eq!(r.len() as usize, 2 * 66_150);
    }

    /// Two synthesisers dealt every other note, summed, sound like one playing them all
    /// (both dry, the same reverb after): melody, bass and ride cymbal, overlapping notes,
    /// compared sample by sample. Needs the SoundFont that
    /// scripts/setup.sh installs.
    #[test]
    fn split_render_equals_one_synthesiser() {
        let Engine::SoundFont { font, .. } = Engine::load(None).unwrap() else {
            panic!("no SoundFont installed: run scripts/setup.sh");
        };
        let mut s = song();
        let notes = |pitch: u8, n: usize| (0..n).map(|i| Note { pitch: pitch + (i % 3) as u8, start: i as f64 * 0.5, duration: 0.75, velocity: 90 }).collect();
        s.parts[0].notes = notes(69, 5);
        s.parts.push(Part { name: "b".into(), channel: 1, program: 32, notes: notes(40, 4) });
        s.parts.push(Part { name: "d".into(), channel: 9, program: 0, notes: notes(51, 6) });
        let len = check(&s, SAMPLE_RATE).unwrap();
        let split = render(&s, &Engine::SoundFont { font: Arc::clone(&font), path: Default::default() }, SAMPLE_RATE).unwrap();
        let (mut l, mut r) = render_parts(&s, &font, SAMPLE_RATE, len).unwrap();
        crate::music::reverb::add_reverb(&mut l, &mut r, SAMPLE_RATE, crate::music::reverb::DEFAULT_SEND);
        let diff = split.left.iter().zip(&l).chain(split.right.iter().zip(&r)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let peak = l.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(peak > 0.01, "the notes sound (peak {peak})");
        assert!(diff < 1e-4 * peak.max(1.0), "split render differs by {diff}");
    }

    #[test]
    fn bad_settings_and_soundfonts_are_errors() {
        assert!(render(&Song { tempo_bpm: 10_000.0, ..song() }, &Engine::Simple, SAMPLE_RATE).is_err());
        assert!(render(&song(), &Engine::Simple, 0).is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.sf2");
        std::fs::write(&p, b"RIFF nonsense").unwrap();
        assert!(Engine::load(Some(&p)).unwrap_err().to_string().contains("not a SoundFont"));
        assert!(Engine::load(Some(&dir.path().join("missing.sf2"))).is_err());
    }
}
