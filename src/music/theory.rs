//! Pitch classes, chord symbols, keys, chord and scale tones, and progressions.
//!
//! Every chord is reduced to one of five qualities (major, minor, dominant, half-diminished,
//! diminished): that is what decides which notes fit, and the jazz model learns melodies
//! relative to it. Extensions (9, 13, alterations) are accepted and kept in the symbol for
//! display but do not change the quality.

use super::MusicError;

/// Sharps for display; parsing accepts flats too.
pub const PITCH_NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];

/// What a chord is, as far as melody choice goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quality {
    Major,
    Minor,
    Dominant,
    HalfDiminished,
    Diminished,
}

impl Quality {
    pub const ALL: [Quality; 5] = [Quality::Major, Quality::Minor, Quality::Dominant, Quality::HalfDiminished, Quality::Diminished];

    pub fn index(self) -> usize {
        self as usize
    }

    /// Chord tones, semitones above the root (the seventh chord).
    pub fn chord_tones(self) -> &'static [u8] {
        match self {
            Quality::Major => &[0, 4, 7, 11],
            Quality::Minor => &[0, 3, 7, 10],
            Quality::Dominant => &[0, 4, 7, 10],
            Quality::HalfDiminished => &[0, 3, 6, 10],
            Quality::Diminished => &[0, 3, 6, 9],
        }
    }

    /// The chord's usual scale, semitones above the root: ionian, dorian, mixolydian,
    /// locrian, and the whole-half diminished scale. Chord tones are a subset.
    pub fn scale_tones(self) -> &'static [u8] {
        match self {
            Quality::Major => &[0, 2, 4, 5, 7, 9, 11],
            Quality::Minor => &[0, 2, 3, 5, 7, 9, 10],
            Quality::Dominant => &[0, 2, 4, 5, 7, 9, 10],
            Quality::HalfDiminished => &[0, 1, 3, 5, 6, 8, 10],
            Quality::Diminished => &[0, 2, 3, 5, 6, 8, 9, 11],
        }
    }

    /// A comping voicing, semitones above the root: shell plus colour tones, the root left
    /// to the bass as pianists do.
    pub fn voicing(self) -> &'static [u8] {
        match self {
            Quality::Major => &[4, 7, 11, 14],
            Quality::Minor => &[3, 7, 10, 14],
            Quality::Dominant => &[4, 9, 10, 14],
            Quality::HalfDiminished => &[3, 6, 10, 12],
            Quality::Diminished => &[3, 6, 9, 12],
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Quality::Major => "maj7",
            Quality::Minor => "m7",
            Quality::Dominant => "7",
            Quality::HalfDiminished => "m7b5",
            Quality::Diminished => "dim7",
        }
    }
}

/// A chord: root pitch class (0 = C), quality, and an optional different bass note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chord {
    pub root: u8,
    pub quality: Quality,
    pub bass: Option<u8>,
}

impl Chord {
    pub fn new(root: u8, quality: Quality) -> Self {
        Self { root: root % 12, quality, bass: None }
    }

    /// Whether a MIDI pitch is one of the chord's tones.
    pub fn is_chord_tone(&self, pitch: u8) -> bool {
        self.quality.chord_tones().contains(&rel(pitch, self.root))
    }

    /// Whether a MIDI pitch is in the chord's scale (chord tones included).
    pub fn is_scale_tone(&self, pitch: u8) -> bool {
        self.quality.scale_tones().contains(&rel(pitch, self.root))
    }

    /// The same chord `semitones` higher (negative: lower).
    pub fn transposed(&self, semitones: i32) -> Self {
        let t = |pc: u8| (pc as i32 + semitones).rem_euclid(12) as u8;
        Self { root: t(self.root), quality: self.quality, bass: self.bass.map(t) }
    }

    /// The pitch class the bass plays on the chord's downbeat.
    pub fn bass_pc(&self) -> u8 {
        self.bass.unwrap_or(self.root)
    }
}

/// Pitch class of `pitch` relative to `root`, 0..12.
pub fn rel(pitch: u8, root: u8) -> u8 {
    ((pitch as i32 - root as i32).rem_euclid(12)) as u8
}

impl std::fmt::Display for Chord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", PITCH_NAMES[self.root as usize], self.quality.suffix())?;
        if let Some(b) = self.bass {
            write!(f, "/{}", PITCH_NAMES[b as usize])?;
        }
        Ok(())
    }
}

/// Reads a note name (`C`, `F#`, `Bb`, `E♭`) at the start of `s`; returns the pitch class
/// and the rest of the string.
fn parse_note(s: &str) -> Option<(u8, &str)> {
    let mut chars = s.chars();
    let letter = chars.next()?;
    let base: i32 = match letter.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let mut rest = chars.as_str();
    let mut pc = base;
    loop {
        if let Some(r) = rest.strip_prefix('#').or_else(|| rest.strip_prefix('♯')) {
            pc += 1;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('b').or_else(|| rest.strip_prefix('♭')) {
            pc -= 1;
            rest = r;
        } else {
            break;
        }
    }
    Some((pc.rem_euclid(12) as u8, rest))
}

impl std::str::FromStr for Chord {
    type Err = MusicError;

    /// Parses a chord symbol: a root, a quality with optional extensions, and an optional
    /// `/bass`. The quality is the first match, longest spellings first, so `m7b5` is
    /// half-diminished and not minor.
    fn from_str(symbol: &str) -> Result<Self, MusicError> {
        let err = |reason: &str| MusicError::UnknownChord { symbol: symbol.to_string(), reason: reason.to_string() };
        let s = symbol.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        let (body, bass) = match s.split_once('/') {
            // "6/9" is an extension, not a slash chord.
            Some((b, tail)) if !tail.starts_with(|c: char| c.is_ascii_digit()) => {
                let (pc, rest) = parse_note(tail).ok_or_else(|| err("the note after '/' is not a note name"))?;
                if !rest.is_empty() {
                    return Err(err("the note after '/' has trailing characters"));
                }
                (b, Some(pc))
            }
            _ => (s, None),
        };
        let (root, rest) = parse_note(body).ok_or_else(|| err("it does not start with a note name A-G"))?;
        const SPELLINGS: &[(&str, Quality)] = &[
            ("m7b5", Quality::HalfDiminished),
            ("min7b5", Quality::HalfDiminished),
            ("-7b5", Quality::HalfDiminished),
            ("ø7", Quality::HalfDiminished),
            ("ø", Quality::HalfDiminished),
            ("dim7", Quality::Diminished),
            ("dim", Quality::Diminished),
            ("°7", Quality::Diminished),
            ("°", Quality::Diminished),
            ("o7", Quality::Diminished),
            ("o", Quality::Diminished),
            ("maj", Quality::Major),
            ("Maj", Quality::Major),
            ("M", Quality::Major),
            ("Δ", Quality::Major),
            ("^", Quality::Major),
            ("min", Quality::Minor),
            ("mi", Quality::Minor),
            ("m", Quality::Minor),
            ("-", Quality::Minor),
            ("7", Quality::Dominant),
            ("9", Quality::Dominant),
            ("11", Quality::Dominant),
            ("13", Quality::Dominant),
            ("sus", Quality::Dominant),
            ("6", Quality::Major),
            ("", Quality::Major),
        ];
        let (spelling, quality) =
            SPELLINGS.iter().find(|(p, _)| rest.starts_with(p)).ok_or_else(|| err("the quality after the root is not one this parser knows"))?;
        let ext = &rest[spelling.len()..];
        // Extensions: digits, alterations, sus and parentheses; anything else is a typo.
        let ok_ext = ext.chars().all(|c| c.is_ascii_digit() || "b#♭♯+()susaltadd,/".contains(c));
        if !ok_ext {
            return Err(err(&format!("{ext:?} after the quality is not an extension (like 9, b9, #11, 13, alt, sus4)")));
        }
        // A major triad or 6 chord with a minor-seventh extension ("7" after "maj" would be
        // maj7; after nothing it is dominant, which the table already caught).
        Ok(Chord { root, quality: *quality, bass })
    }
}

/// A key: tonic pitch class and mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub tonic: u8,
    pub minor: bool,
}

impl Key {
    /// The key's scale, as pitch classes (major, or natural minor).
    pub fn scale(&self) -> Vec<u8> {
        let steps: &[u8] = if self.minor { &[0, 2, 3, 5, 7, 8, 10] } else { &[0, 2, 4, 5, 7, 9, 11] };
        steps.iter().map(|s| (s + self.tonic) % 12).collect()
    }
}

impl std::str::FromStr for Key {
    type Err = MusicError;
    fn from_str(s: &str) -> Result<Self, MusicError> {
        let t = s.trim();
        let (tonic, rest) = parse_note(t).ok_or_else(|| MusicError::UnknownKey(s.into()))?;
        let minor = match rest {
            "" | "maj" | "major" | " major" => false,
            "m" | "min" | "minor" | " minor" => true,
            _ => return Err(MusicError::UnknownKey(s.into())),
        };
        Ok(Key { tonic, minor })
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", PITCH_NAMES[self.tonic as usize], if self.minor { "m" } else { "" })
    }
}

/// A chord held for some beats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub chord: Chord,
    pub beats: f64,
}

/// Chords in order with their lengths; repeats from the top when a piece is longer.
#[derive(Clone, Debug, PartialEq)]
pub struct Progression {
    pub spans: Vec<Span>,
    /// Beats per bar (the time signature's numerator; the denominator is always 4).
    pub beats_per_bar: u8,
}

/// The built-in progressions, written in C (C minor for the minor ones) and transposed.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("blues", "C7 | F7 | C7 | Gm7 C7 | F7 | F#dim7 | C7 | A7 | Dm7 | G7 | C7 A7 | Dm7 G7"),
    ("minor-blues", "Cm7 | Fm7 | Cm7 | Cm7 | Fm7 | Fm7 | Cm7 | Cm7 | Ab7 | G7 | Cm7 | Dm7b5 G7"),
    ("ii-v-i", "Dm7 | G7 | Cmaj7 | Cmaj7 | Dm7 | G7 | Cmaj7 | A7"),
    ("minor-ii-v-i", "Dm7b5 | G7 | Cm7 | Cm7"),
    (
        "rhythm",
        "Cmaj7 A7 | Dm7 G7 | Cmaj7 A7 | Dm7 G7 | Gm7 C7 | Fmaj7 F#dim7 | Cmaj7 A7 | Dm7 G7 | \
         Cmaj7 A7 | Dm7 G7 | Cmaj7 A7 | Dm7 G7 | Gm7 C7 | Fmaj7 F#dim7 | Cmaj7 G7 | Cmaj7 | \
         E7 | E7 | A7 | A7 | D7 | D7 | G7 | G7 | \
         Cmaj7 A7 | Dm7 G7 | Cmaj7 A7 | Dm7 G7 | Gm7 C7 | Fmaj7 F#dim7 | Cmaj7 G7 | Cmaj7",
    ),
];

impl Progression {
    /// Parses chord symbols. With `|` bar lines, each bar's chords share it equally;
    /// without, every chord gets a bar. `Dm7 G7 Cmaj7` is three bars.
    pub fn parse(text: &str) -> Result<Self, MusicError> {
        let beats_per_bar = 4u8;
        let bars: Vec<Vec<&str>> = if text.contains('|') {
            text.split('|').map(|b| b.split_whitespace().collect::<Vec<_>>()).filter(|b| !b.is_empty()).collect()
        } else {
            text.split_whitespace().map(|c| vec![c]).collect()
        };
        if bars.is_empty() {
            return Err(MusicError::Invalid("the progression has no chords".into()));
        }
        if bars.len() > 4096 {
            return Err(MusicError::Invalid(format!("the progression has {} bars; at most 4096", bars.len())));
        }
        let mut spans = Vec::new();
        for bar in bars {
            let beats = beats_per_bar as f64 / bar.len() as f64;
            for sym in bar {
                spans.push(Span { chord: sym.parse()?, beats });
            }
        }
        Ok(Self { spans, beats_per_bar })
    }

    /// A built-in progression by name (case-insensitive, `ii-V-I` = `ii-v-i`) in `key`; a
    /// major key picks the major version, a minor key the minor one where there is one.
    pub fn built_in(name: &str, key: Key) -> Result<Self, MusicError> {
        let mut n = name.trim().to_lowercase().replace(['_', ' '], "-");
        if n == "ii-v" || n == "251" || n == "2-5-1" {
            n = "ii-v-i".into();
        }
        if n == "rhythm-changes" {
            n = "rhythm".into();
        }
        if key.minor && (n == "blues" || n == "ii-v-i") {
            n = format!("minor-{n}");
        }
        let text = BUILT_IN.iter().find(|(k, _)| *k == n).map(|(_, t)| *t).ok_or_else(|| MusicError::UnknownProgression(name.into()))?;
        Ok(Self::parse(text)?.transposed(key.tonic as i32))
    }

    /// A built-in name in `key`, or else chord symbols as typed (absolute, the key unused).
    pub fn from_arg(text: &str, key: Key) -> Result<Self, MusicError> {
        match Self::built_in(text, key) {
            Ok(p) => Ok(p),
            Err(MusicError::UnknownProgression(_)) if text.split_whitespace().count() > 1 || text.parse::<Chord>().is_ok() => {
                Self::parse(text)
            }
            Err(e) => Err(e),
        }
    }

    pub fn transposed(&self, semitones: i32) -> Self {
        Self {
            spans: self.spans.iter().map(|s| Span { chord: s.chord.transposed(semitones), beats: s.beats }).collect(),
            beats_per_bar: self.beats_per_bar,
        }
    }

    /// Length of one pass, in beats.
    pub fn beats(&self) -> f64 {
        self.spans.iter().map(|s| s.beats).sum()
    }

    /// The chords laid end to end (repeating) over `total` beats: (start beat, span).
    pub fn timeline(&self, total: f64) -> Vec<(f64, Span)> {
        let mut out = Vec::new();
        let mut t = 0.0;
        if self.beats() <= 0.0 {
            return out;
        }
        'outer: loop {
            for s in &self.spans {
                if t >= total - 1e-9 {
                    break 'outer;
                }
                let beats = s.beats.min(total - t);
                out.push((t, Span { chord: s.chord, beats }));
                t += s.beats;
            }
        }
        out
    }

    /// The chord sounding at `beat` (the progression repeating).
    pub fn chord_at(&self, beat: f64) -> Chord {
        let len = self.beats();
        let mut b = if len > 0.0 { beat.rem_euclid(len) } else { 0.0 };
        for s in &self.spans {
            if b < s.beats - 1e-9 {
                return s.chord;
            }
            b -= s.beats;
        }
        self.spans.last().map_or(Chord::new(0, Quality::Major), |s| s.chord)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Chord {
        s.parse().unwrap()
    }

    #[test]
    fn parses_common_symbols() {
        assert_eq!(c("Dm7"), Chord::new(2, Quality::Minor));
        assert_eq!(c("G7"), Chord::new(7, Quality::Dominant));
        assert_eq!(c("Cmaj7"), Chord::new(0, Quality::Major));
        assert_eq!(c("Bbmaj7"), Chord::new(10, Quality::Major));
        assert_eq!(c("F#m7b5"), Chord::new(6, Quality::HalfDiminished));
        assert_eq!(c("Bø7"), Chord::new(11, Quality::HalfDiminished));
        assert_eq!(c("Ebdim7"), Chord::new(3, Quality::Diminished));
        assert_eq!(c("G7b9"), Chord::new(7, Quality::Dominant));
        assert_eq!(c("C6/9"), Chord::new(0, Quality::Major));
        assert_eq!(c("C-7"), Chord::new(0, Quality::Minor));
        assert_eq!(c("C"), Chord::new(0, Quality::Major));
        assert_eq!(c("C7/E"), Chord { root: 0, quality: Quality::Dominant, bass: Some(4) });
        assert_eq!(c("Cb"), Chord::new(11, Quality::Major));
    }

    #[test]
    fn unknown_symbols_are_named_in_the_error() {
        for bad in ["H7", "Cxyz", "", "C7/Q", "Dm7zz", "7"] {
            let e = bad.parse::<Chord>().unwrap_err().to_string();
            assert!(e.contains(&format!("{:?}", bad.trim())), "{bad}: {e}");
        }
        let e = Progression::parse("Dm7 G7 Cmaj7 Xq").unwrap_err().to_string();
        assert!(e.contains("\"Xq\""), "{e}");
    }

    /// G7 over F: G is the root (rel 0), B its third (rel 4); F (rel 10) is the seventh.
    /// C (rel 5) is in mixolydian but not a chord tone; C# (rel 6) is in neither.
    #[test]
    fn chord_and_scale_tones() {
        let g7 = c("G7");
        assert!(g7.is_chord_tone(67) && g7.is_chord_tone(71) && g7.is_chord_tone(65));
        assert!(!g7.is_chord_tone(72) && g7.is_scale_tone(72));
        assert!(!g7.is_scale_tone(73));
    }

    #[test]
    fn progressions_and_keys() {
        let p = Progression::parse("Dm7 G7 Cmaj7").unwrap();
        assert_eq!(p.spans.len(), 3);
        assert_eq!(p.beats(), 12.0);
        let p = Progression::parse("Dm7 G7 | Cmaj7").unwrap();
        assert_eq!(p.spans[0].beats, 2.0);
        assert_eq!(p.beats(), 8.0);
        let blues = Progression::built_in("blues", "F".parse().unwrap()).unwrap();
        assert_eq!(blues.beats(), 48.0);
        assert_eq!(blues.spans[0].chord, c("F7"));
        assert_eq!(blues.spans[1].chord, c("Bb7"));
        let rhythm = Progression::built_in("Rhythm", "Bb".parse().unwrap()).unwrap();
        assert_eq!(rhythm.beats(), 32.0 * 4.0);
        assert_eq!(rhythm.spans[0].chord, c("Bbmaj7"));
        let minor = Progression::built_in("ii-V-I", "Cm".parse().unwrap()).unwrap();
        assert_eq!(minor.spans[0].chord.quality, Quality::HalfDiminished);
        assert!("H".parse::<Key>().is_err());
        assert_eq!("Ebm".parse::<Key>().unwrap(), Key { tonic: 3, minor: true });
        assert_eq!("C".parse::<Key>().unwrap().scale(), vec![0, 2, 4, 5, 7, 9, 11]);
        assert!(matches!(Progression::from_arg("bluez", Key { tonic: 0, minor: false }), Err(MusicError::UnknownProgression(_))));
        assert_eq!(Progression::from_arg("Dm7 G7", Key { tonic: 5, minor: false }).unwrap().spans[0].chord, c("Dm7"));
    }

    /// ii-V-I in C is 12 beats; beat 13 wraps to beat 1 (Dm7), beat 5.5 is in G7.
    #[test]
    fn timeline_repeats() {
        let p = Progression::parse("Dm7 G7 Cmaj7").unwrap();
        assert_eq!(p.chord_at(5.5), c("G7"));
        assert_eq!(p.chord_at(13.0), c("Dm7"));
        let t = p.timeline(14.0);
        assert_eq!(t.len(), 4);
        assert_eq!(t[3].0, 12.0);
        assert_eq!(t[3].1.beats, 2.0);
    }
}
