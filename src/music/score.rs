//! A song in beats: parts of notes, a tempo and a time signature. Beats rather than seconds
//! or ticks, because harmony, the beat grid and the model all think in beats; MIDI ticks and
//! audio samples are derived at the edges.

use super::theory::Progression;

/// One note. `start` and `duration` in beats (quarter notes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Note {
    pub pitch: u8,
    pub start: f64,
    pub duration: f64,
    pub velocity: u8,
}

/// Notes for one instrument on one MIDI channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub name: String,
    /// MIDI channel 0..16 (9 is General MIDI percussion).
    pub channel: u8,
    /// General MIDI program 0..128.
    pub program: u8,
    pub notes: Vec<Note>,
}

/// A whole piece.
#[derive(Clone, Debug, PartialEq)]
pub struct Song {
    pub tempo_bpm: f64,
    pub beats_per_bar: u8,
    pub parts: Vec<Part>,
    /// The chords, for display (piano roll) and for harmony measures; empty when unknown.
    pub progression: Option<Progression>,
}

impl Song {
    /// End of the last note, in beats.
    pub fn beats(&self) -> f64 {
        self.parts.iter().flat_map(|p| &p.notes).map(|n| n.start + n.duration).fold(0.0, f64::max)
    }

    pub fn seconds(&self) -> f64 {
        self.beats() * 60.0 / self.tempo_bpm
    }

    pub fn seconds_per_beat(&self) -> f64 {
        60.0 / self.tempo_bpm
    }

    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }
}

/// Snaps a time in beats to a grid of `per_beat` steps per beat (4: sixteenths).
pub fn quantise(beats: f64, per_beat: u32) -> i64 {
    (beats * per_beat as f64).round() as i64
}

/// Quantises notes in place to `per_beat` steps per beat: starts snap to the nearest step,
/// durations to at least one step, and a note that would overlap the next (monophonic
/// lines) is shortened to end where it starts.
pub fn quantise_line(notes: &mut Vec<Note>, per_beat: u32) {
    let step = 1.0 / per_beat as f64;
    for n in notes.iter_mut() {
        n.start = quantise(n.start, per_beat) as f64 * step;
        n.duration = (quantise(n.duration, per_beat).max(1)) as f64 * step;
    }
    notes.sort_by(|a, b| a.start.total_cmp(&b.start));
    // Two notes on one step: a line keeps the first.
    notes.dedup_by(|b, a| (b.start - a.start).abs() < step / 2.0);
    for i in 1..notes.len() {
        let gap = notes[i].start - notes[i - 1].start;
        if notes[i - 1].duration > gap {
            notes[i - 1].duration = gap;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(pitch: u8, start: f64, duration: f64) -> Note {
        Note { pitch, start, duration, velocity: 90 }
    }

    /// On a sixteenth grid (0.25 beat): 0.13 -> 0.25 (0.13·4 = 0.52 rounds to 1 step),
    /// a 0.05-beat note becomes one step, and 0.9 beats (3.6 steps) rounds to 4 steps but
    /// is cut to the 0.5-beat gap before the next note at 0.75 (0.74·4 = 2.96 -> 3 steps).
    #[test]
    fn quantises_to_the_grid() {
        let mut notes = vec![n(60, 0.13, 0.9), n(62, 0.74, 0.05), n(64, 0.76, 1.0)];
        quantise_line(&mut notes, 4);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!((notes[0].start, notes[0].duration), (0.25, 0.5));
        assert_eq!((notes[1].start, notes[1].duration, notes[1].pitch), (0.75, 0.25, 62));
    }
}
