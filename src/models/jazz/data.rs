//! The jazz model's representation: monophonic lines on a sixteenth-note grid, each event a
//! pitch *relative to the chord sounding at its onset* (or a rest) with a direction and a
//! duration class, read together with its context (the chord's quality and the onset's
//! place in the bar).
//!
//! Why chord-relative: the WJazzD transcriptions carry no chords, and a user picks the
//! progression at generation time. Learning "the third of a dominant chord on beat one,
//! then a step down" transfers to any chord in any key, which absolute pitches cannot; the
//! course's grammar (chord / scale / approach tone classes) makes the same bet more
//! coarsely. Pitch classes plus an up/down flag keep the exact note (the nearest octave in
//! that direction, intervals under an octave), so nothing is lost for melodies that move
//! by less than an octave, which is nearly all of them.
//!
//! Chords of the corpus are estimated bar by bar from the notes (duration-weighted pitch
//! classes matched against the five qualities' templates), so they are the harmony the
//! soloist *implied*, not the written changes.

use crate::music::score::{Note, quantise_line};
use crate::music::theory::{Chord, Progression, Quality, rel};
use crate::music::wjazzd::Solo;

pub const STEPS_PER_BEAT: usize = 4;
pub const STEPS_PER_BAR: usize = 16;
/// Duration classes in sixteenths: up to a whole note.
pub const DURS: [usize; 8] = [1, 2, 3, 4, 6, 8, 12, 16];
const ND: usize = DURS.len();
/// Output vocabulary: 12 relative pitch classes × 2 directions × 8 durations, then 8 rests.
pub const VOCAB: usize = 12 * 2 * ND + ND;
/// The input-only token before the first event.
pub const BOS: usize = VOCAB;
/// Context features: chord quality (5) then onset position in the bar (16).
pub const CONTEXT: usize = 5 + STEPS_PER_BAR;
/// Width of the one-hot input: previous token (VOCAB + BOS) plus context.
pub const INPUT: usize = VOCAB + 1 + CONTEXT;
/// Rests longer than this (in steps) are cut: two bars of silence say nothing more.
const MAX_REST: usize = 32;
/// A gap shorter than this after a note is legato, not a rest.
const LEGATO_GAP: usize = 2;
/// The pitch a line is taken to start from, for the first note's direction.
pub const START_PITCH: u8 = 67;
/// Generated melodies stay in this range (a tenor saxophone's, roughly).
pub const RANGE: (u8, u8) = (50, 86);

/// One decoded token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// `rel`: pitch class above the chord root; `up`: reached from the previous note by an
    /// interval 0..=11 up (false: 1..=11 down); `dur`: index into [`DURS`].
    Note { rel: u8, up: bool, dur: usize },
    Rest { dur: usize },
}

impl Token {
    pub fn id(self) -> usize {
        match self {
            Token::Note { rel, up, dur } => (rel as usize * 2 + up as usize) * ND + dur,
            Token::Rest { dur } => 12 * 2 * ND + dur,
        }
    }

    pub fn from_id(id: usize) -> Option<Self> {
        if id < 12 * 2 * ND {
            let (rd, dur) = (id / ND, id % ND);
            Some(Token::Note { rel: (rd / 2) as u8, up: rd % 2 == 1, dur })
        } else if id < VOCAB {
            Some(Token::Rest { dur: id - 12 * 2 * ND })
        } else {
            None
        }
    }

    pub fn steps(self) -> usize {
        match self {
            Token::Note { dur, .. } | Token::Rest { dur } => DURS[dur],
        }
    }
}

/// A token with the context it was played in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub token: usize,
    pub quality: Quality,
    /// Onset position in the bar, 0..16 sixteenths.
    pub pos: usize,
}

/// The one-hot rows an input step sets: previous token, quality, position.
pub fn input_rows(prev: usize, quality: Quality, pos: usize) -> [usize; 3] {
    [prev, VOCAB + 1 + quality.index(), VOCAB + 1 + 5 + pos % STEPS_PER_BAR]
}

/// Largest duration class not longer than `steps` (steps ≥ 1).
fn dur_class(steps: usize) -> usize {
    DURS.iter().rposition(|&d| d <= steps).unwrap_or(0)
}

/// The pitch a note token lands on from `prev`: the pitch class `root + rel` in the given
/// direction, folded back into [`RANGE`] by an octave if it would leave it.
pub fn place(rel_pc: u8, up: bool, root: u8, prev: u8) -> u8 {
    let pc = (root + rel_pc) % 12;
    let d = (pc as i32 - prev as i32).rem_euclid(12);
    let mut p = if up { prev as i32 + d } else { prev as i32 - if d == 0 { 12 } else { 12 - d } };
    while p > RANGE.1 as i32 {
        p -= 12;
    }
    while p < RANGE.0 as i32 {
        p += 12;
    }
    p as u8
}

/// A monophonic line on the step grid: (onset step, length in steps, pitch or rest).
pub type Line = Vec<(usize, usize, Option<u8>)>;

/// Notes (in beats) to a gap-filled line: legato gaps absorbed, rests split into duration
/// classes, over-long rests cut to [`MAX_REST`], notes longer than a whole note cut.
pub fn to_line(notes: &[Note]) -> Line {
    let mut notes = notes.to_vec();
    quantise_line(&mut notes, STEPS_PER_BEAT as u32);
    let mut line = Vec::new();
    let mut cursor = 0usize;
    let origin = notes.first().map_or(0.0, |n| n.start);
    let step_of = |b: f64| ((b - origin) * STEPS_PER_BEAT as f64).round().max(0.0) as usize;
    let mut shift = 0usize; // steps of cut silence so far
    for (i, n) in notes.iter().enumerate() {
        let start = step_of(n.start).saturating_sub(shift);
        if start > cursor {
            let mut gap = start - cursor;
            if gap > MAX_REST {
                shift += gap - MAX_REST;
                gap = MAX_REST;
            }
            while gap > 0 {
                let d = DURS[dur_class(gap)];
                line.push((cursor, d, None));
                cursor += d;
                gap -= d;
            }
        }
        let mut len = (n.duration * STEPS_PER_BEAT as f64).round().max(1.0) as usize;
        if let Some(next) = notes.get(i + 1) {
            let ioi = step_of(next.start).saturating_sub(shift).saturating_sub(cursor);
            if ioi >= len && ioi - len < LEGATO_GAP {
                len = ioi;
            }
            len = len.min(ioi.max(1));
        }
        let d = DURS[dur_class(len)];
        line.push((cursor, d, Some(n.pitch)));
        cursor += d;
    }
    line
}

/// The chord each bar of `line` implies: duration-weighted pitch classes scored against
/// every root and quality (chord tones +1, other scale tones +0.2, outside -0.6 per unit of
/// weight, plus half the root's own weight); a bar without notes keeps the previous chord.
pub fn estimate_chords(line: &Line) -> Vec<Chord> {
    let bars = line.last().map_or(0, |&(s, d, _)| (s + d).div_ceil(STEPS_PER_BAR));
    let mut weights = vec![[0.0f64; 12]; bars];
    for &(s, d, p) in line {
        if let Some(p) = p {
            weights[s / STEPS_PER_BAR][(p % 12) as usize] += d as f64;
        }
    }
    let mut out = Vec::with_capacity(bars);
    let mut last = Chord::new(0, Quality::Dominant);
    for w in weights {
        if w.iter().sum::<f64>() > 0.0 {
            let mut best = (f64::MIN, last);
            for root in 0..12u8 {
                for q in Quality::ALL {
                    let mut score = 0.5 * w[root as usize];
                    for (pc, &wt) in w.iter().enumerate() {
                        let r = rel(pc as u8, root);
                        score += wt * if q.chord_tones().contains(&r) {
                            1.0
                        } else if q.scale_tones().contains(&r) {
                            0.2
                        } else {
                            -0.6
                        };
                    }
                    if score > best.0 + 1e-9 {
                        best = (score, Chord::new(root, q));
                    }
                }
            }
            last = best.1;
        }
        out.push(last);
    }
    out
}

/// Events of a line with the chord at each step given by `chord_at(step)`.
pub fn tokenize(line: &Line, chord_at: impl Fn(usize) -> Chord) -> Vec<Event> {
    let mut prev = START_PITCH;
    line.iter()
        .map(|&(s, d, p)| {
            let chord = chord_at(s);
            let dur = dur_class(d);
            let token = match p {
                None => Token::Rest { dur },
                Some(p) => {
                    let up = p >= prev;
                    prev = p;
                    Token::Note { rel: rel(p, chord.root), up, dur }
                }
            };
            Event { token: token.id(), quality: chord.quality, pos: s % STEPS_PER_BAR }
        })
        .collect()
}

/// A solo as events: seconds to beats with its average tempo, the line, then chords
/// estimated per bar.
pub fn solo_events(solo: &Solo) -> Vec<Event> {
    let bps = solo.tempo_bpm / 60.0;
    let notes: Vec<Note> =
        solo.notes.iter().map(|n| Note { pitch: n.pitch, start: n.onset * bps, duration: n.duration * bps, velocity: 90 }).collect();
    let line = to_line(&notes);
    let chords = estimate_chords(&line);
    tokenize(&line, |s| chords.get(s / STEPS_PER_BAR).copied().unwrap_or(Chord::new(0, Quality::Dominant)))
}

/// Events of a line played over a progression (a primer, or a generated melody re-read).
pub fn line_over(line: &Line, progression: &Progression) -> Vec<Event> {
    tokenize(line, |s| progression.chord_at(s as f64 / STEPS_PER_BEAT as f64))
}

/// The solo `semitones` higher: the augmentation an absolute-pitch model needs. The
/// chord-relative events of a transposed solo are the events of the original (a test checks
/// it), so this representation gets all twelve keys of every solo for free.
pub fn transpose(solo: &Solo, semitones: i32) -> Solo {
    let mut s = solo.clone();
    for n in &mut s.notes {
        n.pitch = (n.pitch as i32 + semitones).clamp(0, 127) as u8;
    }
    s
}

/// Splits solos into (train, validation): every `every`-th solo by name goes to validation,
/// whole, so no phrase of a held-out solo is ever trained on.
pub fn split(solos: &[Solo], every: usize) -> (Vec<&Solo>, Vec<&Solo>) {
    let every = every.max(2);
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (i, s) in solos.iter().enumerate() {
        if i % every == every - 1 { val.push(s) } else { train.push(s) }
    }
    (train, val)
}

/// Share of on-the-beat notes (onset on a quarter-note beat) that are chord or scale tones
/// of the chord sounding then, and how many such notes there were.
pub fn harmony_fit(events: &[Event]) -> (f64, usize) {
    let (mut fit, mut n) = (0usize, 0usize);
    for e in events {
        if e.pos % STEPS_PER_BEAT != 0 {
            continue;
        }
        if let Some(Token::Note { rel, .. }) = Token::from_id(e.token) {
            n += 1;
            if e.quality.scale_tones().contains(&rel) {
                fit += 1;
            }
        }
    }
    (if n > 0 { fit as f64 / n as f64 } else { 0.0 }, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::wjazzd::TimedNote;

    #[test]
    fn token_ids_round_trip() {
        for id in 0..VOCAB {
            assert_eq!(Token::from_id(id).unwrap().id(), id);
        }
        assert_eq!(Token::from_id(VOCAB), None);
    }

    /// Over G7 (root 7) from E4 (64): rel 4 up is B (pc 11), 7 semitones up: 71;
    /// rel 0 down is G, 9 down: 55; rel 9 (E) up from 64 is 64 itself (interval 0).
    #[test]
    fn place_follows_direction() {
        assert_eq!(place(4, true, 7, 64), 71);
        assert_eq!(place(0, false, 7, 64), 55);
        assert_eq!(place(9, true, 7, 64), 64);
        assert_eq!(place(0, true, 0, 85), 84, "96 is folded back under the top of the range");
    }

    fn solo() -> Solo {
        // 120 bpm: 0.5 s per beat. C E G (eighths), a short B, then 1.75 beats on a D eighth.
        let n = |pitch, onset, duration| TimedNote { pitch, onset, duration };
        Solo {
            name: "t".into(),
            performer: String::new(),
            title: String::new(),
            tempo_bpm: 120.0,
            notes: vec![n(60, 1.0, 0.24), n(64, 1.25, 0.2), n(67, 1.5, 0.25), n(71, 1.75, 0.1), n(62, 2.75, 0.25)],
        }
    }

    /// Eighths are 2 steps; B (0.1 s = 0.2 beats, 1 step) at step 6 leaves a 7-step gap
    /// before D at step 14 (2.75 s - 1 s = 3.5 beats): rests of 6 + 1, then D, 2 steps.
    /// Weights C2 E2 G2 B1 D2: Cmaj7 scores 0.5·2 + (2+2+2+1) + 0.2·2 = 8.4, ahead of
    /// Em7 (1 + 7 - 0.6·2 = 6.8), G7 (1 + 5 + 0.8 = 6.8) and Dm7 (1 + 4 + 0.2·5 = 6.0).
    #[test]
    fn solo_to_events() {
        let bps = 2.0;
        let notes: Vec<Note> = solo().notes.iter().map(|n| Note { pitch: n.pitch, start: n.onset * bps, duration: n.duration * bps, velocity: 90 }).collect();
        let line = to_line(&notes);
        assert_eq!(line, vec![(0, 2, Some(60)), (2, 2, Some(64)), (4, 2, Some(67)), (6, 1, Some(71)), (7, 6, None), (13, 1, None), (14, 2, Some(62))]);
        assert_eq!(estimate_chords(&line), vec![Chord::new(0, Quality::Major)]);
        let ev = solo_events(&solo());
        assert_eq!(ev.len(), 7);
        assert_eq!(Token::from_id(ev[1].token), Some(Token::Note { rel: 4, up: true, dur: 1 }));
        assert_eq!(Token::from_id(ev[6].token), Some(Token::Note { rel: 2, up: false, dur: 1 }));
        // On-beat notes: C (step 0), G (step 4); both chord tones.
        assert_eq!(harmony_fit(&ev), (1.0, 2));
    }

    #[test]
    fn transposition_leaves_events_unchanged() {
        let s = solo();
        for k in [-5, 1, 6] {
            assert_eq!(solo_events(&transpose(&s, k)).iter().map(|e| (e.token % (2 * ND), e.quality, e.pos)).collect::<Vec<_>>(),
                solo_events(&s).iter().map(|e| (e.token % (2 * ND), e.quality, e.pos)).collect::<Vec<_>>());
            // Relative pitch classes are identical, not just the durations.
            assert_eq!(solo_events(&transpose(&s, k)).iter().skip(1).map(|e| e.token).collect::<Vec<_>>(),
                solo_events(&s).iter().skip(1).map(|e| e.token).collect::<Vec<_>>());
        }
    }

    #[test]
    fn split_holds_out_whole_solos() {
        let solos: Vec<Solo> = (0..10).map(|i| Solo { name: format!("{i}"), ..solo() }).collect();
        let (t, v) = split(&solos, 5);
        assert_eq!((t.len(), v.len()), (8, 2));
        assert!(v.iter().all(|s| !t.iter().any(|x| x.name == s.name)));
    }
}
