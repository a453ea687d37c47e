//! A rhythm section under a melody: piano comping, a walking bass and a ride-cymbal
//! pattern, each its own part (and MIDI channel), generated from the progression alone.
//!
//! Rule-based on purpose: the course's model improvises the melody; the accompaniment only
//! has to state the harmony clearly so a listener (and the harmony-fit measure) hears what
//! the melody is playing over.

use super::score::{Note, Part};
use super::theory::{Chord, Progression};

/// General MIDI programs and channels of the three parts.
pub const PIANO: (u8, u8) = (1, 0); // channel 1, Acoustic Grand Piano
pub const BASS: (u8, u8) = (2, 32); // channel 2, Acoustic Bass
pub const DRUMS: (u8, u8) = (9, 0); // channel 10 (index 9): percussion
const RIDE: u8 = 51;
const PEDAL_HAT: u8 = 44;

/// Places the voicing's intervals above the chord root in the octave whose centre is
/// nearest middle C's neighbourhood (MIDI 60), so successive chords move by small steps.
pub fn voicing(chord: &Chord) -> Vec<u8> {
    let iv = chord.quality.voicing();
    let centre = iv.iter().map(|&i| i as f64).sum::<f64>() / iv.len() as f64;
    let mut best = (f64::MAX, 48u8);
    for base in (36u8..=60).filter(|b| b % 12 == chord.root) {
        let d = (base as f64 + centre - 60.0).abs();
        if d < best.0 {
            best = (d, base);
        }
    }
    iv.iter().map(|&i| best.1 + i).collect()
}

/// Piano: a chord on each span's downbeat held a dotted quarter, plus the "and" of two in
/// spans of a bar or longer (the Charleston rhythm).
pub fn comping(progression: &Progression, total_beats: f64) -> Part {
    let mut notes = Vec::new();
    for (start, span) in progression.timeline(total_beats) {
        let v = voicing(&span.chord);
        let mut hits = vec![(0.0, span.beats.min(1.5))];
        if span.beats >= 4.0 {
            hits.push((1.5, 1.0));
        }
        for (off, dur) in hits {
            for &p in &v {
                notes.push(Note { pitch: p, start: start + off, duration: dur, velocity: 62 });
            }
        }
    }
    Part { name: "comping".into(), channel: PIANO.0, program: PIANO.1, notes }
}

/// The lowest pitch of `pc` at or above E1 (MIDI 28), the bass's range starting at E1..D#2.
fn bass_pitch(pc: u8) -> u8 {
    28 + (pc + 12 - 4) % 12
}

/// Walking bass: a quarter note per beat. The downbeat of each chord is its bass note, the
/// middle beats walk its chord tones, and the last beat before a change is a chromatic
/// approach (a semitone above or below the next root).
pub fn walking_bass(progression: &Progression, total_beats: f64) -> Part {
    let timeline = progression.timeline(total_beats);
    let mut notes = Vec::new();
    for (i, (start, span)) in timeline.iter().enumerate() {
        let beats = span.beats.round().max(1.0) as usize;
        let root = bass_pitch(span.chord.bass_pc());
        let tones = span.chord.quality.chord_tones();
        let next_root = timeline.get(i + 1).map(|(_, s)| bass_pitch(s.chord.bass_pc()));
        for b in 0..beats {
            let t = start + b as f64;
            if t >= total_beats - 1e-9 {
                break;
            }
            let pitch = if b == 0 {
                root
            } else if b == beats - 1 && beats >= 2 {
                match next_root {
                    // Approach from below when the next root is higher, from above otherwise.
                    Some(n) if n > root => n - 1,
                    Some(n) => n + 1,
                    None => root + tones[2 % tones.len()],
                }
            } else {
                root + tones[((b - 1) % (tones.len() - 1)) + 1]
            };
            notes.push(Note { pitch, start: t, duration: 0.95, velocity: 90 });
        }
    }
    Part { name: "bass".into(), channel: BASS.0, program: BASS.1, notes }
}

/// Swing ride: beats 1-4 plus the swung upbeat (2/3 of a beat late) after 2 and 4, and the
/// hi-hat pedal on 2 and 4.
pub fn drums(beats_per_bar: u8, total_beats: f64) -> Part {
    let mut notes = Vec::new();
    let mut beat = 0.0;
    while beat < total_beats - 1e-9 {
        let in_bar = (beat as usize) % beats_per_bar.max(1) as usize;
        notes.push(Note { pitch: RIDE, start: beat, duration: 0.3, velocity: 70 });
        if in_bar % 2 == 1 {
            notes.push(Note { pitch: PEDAL_HAT, start: beat, duration: 0.2, velocity: 60 });
            if beat + 2.0 / 3.0 < total_beats {
                notes.push(Note { pitch: RIDE, start: beat + 2.0 / 3.0, duration: 0.2, velocity: 55 });
            }
        }
        beat += 1.0;
    }
    Part { name: "drums".into(), channel: DRUMS.0, program: DRUMS.1, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cmaj7 voicing E G B D: root C at 48 gives centre 48 + (4+7+11+14)/4 = 57, at 60 gives
    /// 69; 57 is nearer 60, so E3 G3 B3 D4 = 52 55 59 62.
    #[test]
    fn voicing_near_middle_c() {
        assert_eq!(voicing(&"Cmaj7".parse().unwrap()), vec![52, 55, 59, 62]);
    }

    /// Dm7 | G7 : D (38) then walking tones F (41), A (45); G sits at G1 (31, the bass's
    /// E1..D#2 octave), lower than D, so beat 4 approaches from above on Ab (32).
    #[test]
    fn walking_bass_lands_on_roots_and_approaches() {
        let p = Progression::parse("Dm7 G7").unwrap();
        let bass = walking_bass(&p, 8.0);
        let pitches: Vec<u8> = bass.notes.iter().map(|n| n.pitch).collect();
        assert_eq!(&pitches[..5], &[38, 41, 45, 32, 31]);
        assert_eq!(bass.notes.len(), 8);
        let piano = comping(&p, 8.0);
        assert_eq!(piano.notes.len(), 2 * 2 * 4);
        assert_ne!(piano.channel, bass.channel);
        assert_eq!(drums(4, 8.0).notes.iter().filter(|n| n.pitch == RIDE).count(), 8 + 4);
    }
}
