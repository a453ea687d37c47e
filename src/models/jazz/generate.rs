//! Improvising over a progression: the LSTM picks each next event given the chord quality
//! and bar position at its onset; the event's chord-relative pitch class lands on the
//! progression's actual chord root, in the direction the model chose. The rhythm section
//! comes from `music::accompany`.

use rand::Rng;

use super::data::{self, BOS, Event, START_PITCH, STEPS_PER_BAR, STEPS_PER_BEAT, Token};
use super::model::JazzLstm;
use crate::models::ModelError;
use crate::music::accompany;
use crate::music::score::{Note, Part, Song};
use crate::music::theory::Progression;
use crate::nn::sampling::sample_index;
use crate::nn::seeded_rng;

/// The longest piece generated at once.
pub const MAX_SECONDS: f64 = 3600.0;

/// The melody's General MIDI program (tenor sax) and channel.
pub const MELODY: (u8, u8) = (0, 66);

#[derive(Clone, Debug)]
pub struct GenConfig {
    pub progression: Progression,
    pub tempo_bpm: f64,
    pub seconds: f64,
    pub temperature: f64,
    pub top_k: Option<usize>,
    pub seed: u64,
    /// Notes (in beats, from beat 0) played first and fed to the model before it improvises.
    pub primer: Vec<Note>,
    /// Piano, bass and drums under the melody.
    pub accompaniment: bool,
}

impl GenConfig {
    pub fn new(progression: Progression) -> Self {
        Self { progression, tempo_bpm: 160.0, seconds: 60.0, temperature: 1.0, top_k: None, seed: 0, primer: Vec::new(), accompaniment: true }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        crate::music::check_tempo(self.tempo_bpm).map_err(|e| ModelError::Invalid(e.to_string()))?;
        if !(self.seconds.is_finite() && self.seconds > 0.0 && self.seconds <= MAX_SECONDS) {
            return Err(ModelError::Invalid(format!("seconds must be more than 0 and at most {MAX_SECONDS}, got {}", self.seconds)));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0 && self.temperature <= 100.0) {
            return Err(ModelError::Invalid(format!("temperature must be in (0, 100], got {}", self.temperature)));
        }
        if self.top_k == Some(0) {
            return Err(ModelError::Invalid("top-k must be at least 1".into()));
        }
        if self.progression.spans.is_empty() {
            return Err(ModelError::Invalid("the progression has no chords".into()));
        }
        if self.progression.beats_per_bar as usize * STEPS_PER_BEAT != STEPS_PER_BAR {
            return Err(ModelError::Invalid("only 4/4 progressions can be improvised over".into()));
        }
        Ok(())
    }

    /// Length in beats.
    pub fn beats(&self) -> f64 {
        self.seconds * self.tempo_bpm / 60.0
    }
}

/// A generated piece and what it was made of.
#[derive(Clone, Debug)]
pub struct Generated {
    pub song: Song,
    /// The melody's events with their context, primer included.
    pub events: Vec<Event>,
    /// Share of on-beat melody notes that are chord or scale tones, and their count.
    pub harmony_fit: (f64, usize),
}

/// Generates `cfg.seconds` of melody (and, if asked, accompaniment) over the progression.
pub fn generate(model: &JazzLstm<f32>, cfg: &GenConfig) -> Result<Generated, ModelError> {
    cfg.validate()?;
    let total_steps = (cfg.beats() * STEPS_PER_BEAT as f64).round().max(1.0) as usize;
    let mut rng = seeded_rng(cfg.seed);
    let mut state = model.zero_state();
    let mut prev_token = BOS;
    let mut prev_pitch = START_PITCH;
    let mut cursor = 0usize;
    let mut notes = Vec::new();
    let mut events = Vec::new();
    let chord_at = |step: usize| cfg.progression.chord_at(step as f64 / STEPS_PER_BEAT as f64);

    // The primer: its events (read over the progression) go through the model as given.
    if !cfg.primer.is_empty() {
        let line = data::to_line(&cfg.primer);
        for (&(_, _, pitch), ev) in line.iter().zip(data::line_over(&line, &cfg.progression)) {
            let (_, next) = model.step(&state, prev_token, ev.quality, ev.pos)?;
            state = next;
            let token = Token::from_id(ev.token);
            let len = token.map_or(1, Token::steps).min(total_steps - cursor);
            if let Some(p) = pitch {
                notes.push(Note { pitch: p, start: cursor as f64 / STEPS_PER_BEAT as f64, duration: len as f64 / STEPS_PER_BEAT as f64, velocity: 96 });
                prev_pitch = p;
            }
            cursor += len;
            prev_token = ev.token;
            events.push(ev);
            if cursor >= total_steps {
                break;
            }
        }
    }
    while cursor < total_steps {
        let chord = chord_at(cursor);
        let pos = cursor % STEPS_PER_BAR;
        let (logits, next) = model.step(&state, prev_token, chord.quality, pos)?;
        let token = sample_index(logits.view(), cfg.temperature, cfg.top_k, &mut rng)?;
        state = next;
        events.push(Event { token, quality: chord.quality, pos });
        cursor = emit(Token::from_id(token), cursor, total_steps, chord.root, &mut prev_pitch, &mut notes);
        prev_token = token;
    }
    let beats = total_steps as f64 / STEPS_PER_BEAT as f64;
    let mut parts = vec![Part { name: "melody".into(), channel: MELODY.0, program: MELODY.1, notes }];
    if cfg.accompaniment {
        parts.push(accompany::comping(&cfg.progression, beats));
        parts.push(accompany::walking_bass(&cfg.progression, beats));
        parts.push(accompany::drums(cfg.progression.beats_per_bar, beats));
    }
    let harmony_fit = data::harmony_fit(&events);
    // A little velocity variety so the line breathes: accents on the beat.
    for n in &mut parts[0].notes {
        let on_beat = ((n.start * STEPS_PER_BEAT as f64).round() as usize).is_multiple_of(STEPS_PER_BEAT);
        n.velocity = if on_beat { 100 } else { 84 } + rng.random_range(0..8);
    }
    let song = Song { tempo_bpm: cfg.tempo_bpm, beats_per_bar: cfg.progression.beats_per_bar, parts, progression: Some(cfg.progression.clone()) };
    Ok(Generated { song, events, harmony_fit })
}

/// Appends a token's note (if any) at `cursor` and returns the new cursor; the last note is
/// cut at the end of the piece.
fn emit(token: Option<Token>, cursor: usize, total: usize, root: u8, prev_pitch: &mut u8, notes: &mut Vec<Note>) -> usize {
    let Some(token) = token else { return cursor + 1 };
    let len = token.steps().min(total.saturating_sub(cursor)).max(1);
    if let Token::Note { rel, up, .. } = token {
        let pitch = data::place(rel, up, root, *prev_pitch);
        *prev_pitch = pitch;
        notes.push(Note { pitch, start: cursor as f64 / STEPS_PER_BEAT as f64, duration: len as f64 / STEPS_PER_BEAT as f64, velocity: 96 });
    }
    cursor + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::jazz::model::JazzConfig;

    fn cfg() -> GenConfig {
        GenConfig { seconds: 6.0, tempo_bpm: 120.0, ..GenConfig::new(Progression::parse("Dm7 G7 Cmaj7").unwrap()) }
    }

    /// 6 s at 120 bpm is 12 beats: the melody fills exactly that, the bass plays 12 quarter
    /// notes, the same seed repeats itself and another seed differs.
    #[test]
    fn fills_the_length_and_seeds_matter() {
        let m = JazzLstm::new(JazzConfig { hidden: 8 }, 0).unwrap();
        let a = generate(&m, &cfg()).unwrap();
        let melody = &a.song.parts[0].notes;
        let end = melody.iter().map(|n| n.start + n.duration).fold(0.0, f64::max);
        assert!(end <= 12.0 + 1e-9 && !melody.is_empty());
        assert_eq!(a.song.part("bass").unwrap().notes.len(), 12);
        let b = generate(&m, &cfg()).unwrap();
        assert_eq!(a.song, b.song);
        let c = generate(&m, &GenConfig { seed: 7, ..cfg() }).unwrap();
        assert_ne!(a.song.parts[0], c.song.parts[0]);
        assert!(melody.iter().all(|n| (data::RANGE.0..=data::RANGE.1).contains(&n.pitch)));
    }

    #[test]
    fn primer_is_played_first() {
        let m = JazzLstm::new(JazzConfig { hidden: 8 }, 0).unwrap();
        let primer = vec![Note { pitch: 62, start: 0.0, duration: 1.0, velocity: 90 }, Note { pitch: 65, start: 1.0, duration: 1.0, velocity: 90 }];
        let g = generate(&m, &GenConfig { primer, ..cfg() }).unwrap();
        let p: Vec<u8> = g.song.parts[0].notes.iter().take(2).map(|n| n.pitch).collect();
        assert_eq!(p, vec![62, 65]);
    }

    #[test]
    fn bad_settings_are_errors() {
        let m = JazzLstm::new(JazzConfig { hidden: 4 }, 0).unwrap();
        for bad in [
            GenConfig { seconds: 0.0, ..cfg() },
            GenConfig { seconds: f64::NAN, ..cfg() },
            GenConfig { tempo_bpm: 0.0, ..cfg() },
            GenConfig { tempo_bpm: 10_000.0, ..cfg() },
            GenConfig { temperature: 0.0, ..cfg() },
            GenConfig { top_k: Some(0), ..cfg() },
        ] {
            assert!(generate(&m, &bad).is_err(), "{bad:?}");
        }
    }
}
