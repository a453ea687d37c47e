//! Training data made from a seed: TTS words, real-voice negatives, backgrounds, and the
//! course's 10-s example recipe.
//!
//! - Voices: every espeak-ng English language crossed with its voice variants, plus the
//!   flite voices. Whole voices are held out: variants whose index is a multiple of
//!   [`HOLD_OUT_EVERY`] (in every language) and flite's `slt` never reach training, so
//!   validation and `make-eval` measure unseen voices. Training can add voices seqlab
//!   writes itself as espeak-ng variant files ([`made_variant`]).
//! - Words are synthesised through `espeak-ng`/`flite` (std::process) into a cache folder,
//!   two at a time, trimmed of leading and trailing silence, at 16 kHz.
//! - An example is a 10-s background (a recording or synthetic white/pink/brown noise, at
//!   a random level) with 0-4 positives and 0-4 negatives inserted at random,
//!   non-overlapping places, each tempo/pitch-shifted (resampled by 0.88-1.12) and at a
//!   random gain. Its label is 1 at the output steps whose receptive field ends within
//!   [`LABEL_SECONDS`] after a positive ends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use crate::dsp::mix::{db_to_gain, limit_peak, mix_into, rms};
use crate::dsp::{read_audio, resample, room};
use crate::models::ModelError;
use crate::nn::seeded_rng;

use super::model::TriggerConfig;
use crate::dsp::SpectrogramConfig;

pub const SAMPLE_RATE: u32 = 16_000;

/// The course labels 50 output steps of 7.3 ms (0.36 s) after each positive; our steps
/// are 40 ms, so we keep the duration, not the count, rounded up to half a second.
pub const LABEL_SECONDS: f64 = 0.5;

/// Every this-many-th espeak variant (by index) is a validation voice.
pub const HOLD_OUT_EVERY: usize = 5;

const ESPEAK_LANGS: [&str; 8] = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"];
const ESPEAK_VARIANTS: [&str; 101] = [
    "adam", "Alex", "Alicia", "Andrea", "Andy", "Annie", "antonio", "aunty", "belinda", "benjamin", "boris", "caleb",
    "david", "Demonic", "Denis", "Diogo", "ed", "edward", "edward2", "Gene", "Gene2", "gustave", "announcer", "Henrique",
    "Hugo", "iven", "iven2", "iven3", "iven4", "Jacky", "john", "kaukovalta", "Lee", "linda", "marcelo", "Marco",
    "Mario", "max", "Michael", "michel", "miguel", "Mike", "Mr", "Nguyen", "pablo", "paul", "pedro", "quincy",
    "RicishayMax", "RicishayMax2", "RicishayMax3", "rob", "robert", "robosoft", "robosoft2", "robosoft3", "robosoft4",
    "robosoft5", "robosoft6", "robosoft7", "robosoft8", "steph", "steph2", "steph3", "Storm", "Tweaky", "UniRobot",
    "zac", "anika", "anikaRobot", "AnxiousAndy", "f2", "f3", "f4", "f5", "whisperf", "grandpa", "klatt", "klatt2",
    "klatt3", "klatt4", "klatt5", "klatt6", "m2", "m3", "m4", "m5", "m6", "m7", "norbert", "sandro", "shelby",
    "travis", "victor", "whisper", "m8", "f1", "croak", "m1", "grandma", "none",
];
const FLITE_TRAIN: [&str; 5] = ["kal", "kal16", "awb", "awb_time", "rms"];
const FLITE_HELD_OUT: [&str; 1] = ["slt"];

/// Words that are not the trigger: everyday words plus many that share its sounds
/// ("act", "-ivate", "-tivity", "cap-", "-vate").
pub const NEGATIVE_WORDS: &[&str] = &[
    "activity", "captivate", "active", "cultivate", "activation", "actively", "activist", "action", "actor", "actual",
    "motivate", "motivated", "elevate", "renovate", "innovate", "aggravate", "excavate", "salivate", "deactivate",
    "reactivate", "inactive", "attractive", "detective", "perspective", "objective", "collective", "captive",
    "native", "relative", "negative", "positive", "creative", "deactivated", "activities", "captivity", "activated",
    "activating", "accurate", "adequate", "advocate", "affiliate", "alleviate", "abbreviate", "acclimate", "articulate",
    "tiv", "vate", "ack", "act", "fact", "tact", "pact", "cat", "gate", "late", "eight", "date", "wait", "weight",
    "great", "state", "create", "rotate", "relate", "debate", "estate", "private", "climate", "ultimate", "vacate",
    "cavity", "gravity", "festivity", "sensitivity", "negativity", "productivity", "activity tracker", "act of fate",
    "a big gate", "have it", "active date", "hello", "computer", "music", "weather", "tomorrow",
    "seven", "eleven", "twelve", "alexa", "okay", "google", "hey", "lights", "turn on", "turn off", "play", "stop",
    "pause", "volume", "banana", "elephant", "yesterday", "important", "television", "kitchen", "window", "coffee",
    "water", "morning", "evening", "thank you", "please", "sorry", "maybe", "really", "actually", "absolutely",
    "available", "valuable", "vacation", "navigate", "evaluate", "graduate", "calculate", "decorate", "celebrate",
    "demonstrate", "separate", "operate", "generate", "dedicate", "educate", "indicate", "locate", "delegate",
    "the cat sat", "captain", "cabinet", "cactus", "tractor", "factory", "practice", "distract", "contract",
];

/// The words of [`NEGATIVE_WORDS`] that share no sound with "activate" ("act", "-tiv-",
/// "-ate", "cap-", "va-"): what a room hears all day, as against the near-rhymes the list is
/// full of. `make-eval --negatives everyday` builds folders from these alone.
pub const EVERYDAY_WORDS: &[&str] = &[
    "hello", "computer", "music", "weather", "tomorrow", "seven", "eleven", "twelve", "alexa", "okay", "google", "hey",
    "lights", "turn on", "turn off", "play", "stop", "pause", "volume", "banana", "elephant", "yesterday", "important",
    "television", "kitchen", "window", "coffee", "water", "morning", "evening", "thank you", "please", "sorry", "maybe",
    "really", "absolutely",
];

/// The word whose near-rhymes [`NEGATIVE_WORDS`] holds, written by hand. Any other word can
/// have its own from [`confusables`].
pub const LIST_WORD: &str = "activate";

/// Near-rhymes of `word` made from its letters, for words other than [`LIST_WORD`]
/// ([`NegativeWords::Own`]): a detector trained without them fires on nearly all of them
/// (the README has the figures). The text engines say the made-up ones by their spelling
/// rules, which is all a near-rhyme needs. For the last word of a phrase: the word with
/// "-s", "-ing" in place of its last vowel and what follows it, the word cut short by one
/// and two letters, each interior consonant cluster reduced by a letter (two at most), and
/// the first vowel changed (twice); for its first word, three other onsets; and each word
/// of a phrase alone. Never the word itself.
pub fn confusables(word: &str) -> Vec<String> {
    let tokens: Vec<String> = word.split_whitespace().map(|t| t.to_lowercase().chars().filter(|c| c.is_alphabetic()).collect::<String>()).filter(|t| !t.is_empty()).collect();
    let (Some((last, head)), Some((first, tail))) = (tokens.split_last(), tokens.split_first()) else { return Vec::new() };
    let vowel = |c: char| "aeiouy".contains(c);
    let with_last = |l: &str| head.iter().map(String::as_str).chain([l]).collect::<Vec<_>>().join(" ");
    let with_first = |f: &str| [f].into_iter().chain(tail.iter().map(String::as_str)).collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = last.chars().collect();
    let mut out: Vec<String> = Vec::new();
    if tokens.len() > 1 {
        out.extend(tokens.iter().cloned());
    }
    if chars.len() >= 3 {
        // "-ing" takes the place of the last vowel and what follows it: computer -> computing
        let stem_end = chars.iter().rposition(|&c| vowel(c)).map_or(chars.len(), |v| chars[..v].iter().rposition(|&c| !vowel(c)).map_or(0, |c| c + 1));
        out.push(with_last(&format!("{last}s")));
        out.push(with_last(&format!("{}ing", chars[..stem_end].iter().collect::<String>())));
    }
    if chars.len() >= 5 {
        for cut in [1, 2] {
            out.push(with_last(&chars[..chars.len() - cut].iter().collect::<String>()));
        }
    }
    let clusters = (1..chars.len().saturating_sub(1)).filter(|&i| !vowel(chars[i - 1]) && !vowel(chars[i])).take(2);
    for i in clusters {
        out.push(with_last(&chars.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, c)| c).collect::<String>()));
    }
    if let Some(v) = chars.iter().position(|&c| vowel(c)) {
        for other in ['a', 'i', 'o', 'u'].into_iter().filter(|&o| o != chars[v]).take(2) {
            out.push(with_last(&chars.iter().enumerate().map(|(j, &c)| if j == v { other } else { c }).collect::<String>()));
        }
    }
    let onset: String = first.chars().take_while(|&c| !vowel(c)).collect();
    let rest: String = first.chars().skip(onset.chars().count()).collect();
    for c in ["b", "d", "p", "t", "m"].into_iter().filter(|&c| c != onset).take(3) {
        out.push(with_first(&format!("{c}{rest}")));
    }
    let said = tokens.join(" ");
    let mut seen = std::collections::HashSet::new();
    out.retain(|w| *w != said && seen.insert(w.clone()));
    out
}

/// Words that sound like `word`, to hear what a detector mistakes for it: for [`LIST_WORD`]
/// the near-rhymes its list was written with ([`NEGATIVE_WORDS`] less [`EVERYDAY_WORDS`]),
/// for any other word its [`confusables`].
pub fn sound_alikes(word: &str) -> Vec<String> {
    if spoken(word) == LIST_WORD {
        NEGATIVE_WORDS.iter().filter(|w| !EVERYDAY_WORDS.contains(w)).map(|w| w.to_string()).collect()
    } else {
        confusables(word)
    }
}

/// Letter edits within which a sound-alike is said as a [`BankSpec::minimal_pairs`] negative.
const PAIR_EDITS: usize = 3;

/// The [`sound_alikes`] of `word` at most [`PAIR_EDITS`] letter edits from it: for
/// "activate" the 22 that share most of its letters (captivate, activist, reactivate,
/// acclimate...), where its false accepts cluster, and not gate, cat or elevate. None at all
/// for a word whose sound-alikes are all further off; its pairs are then left out.
pub fn close_sound_alikes(word: &str) -> Vec<String> {
    let word = spoken(word);
    sound_alikes(&word).into_iter().filter(|w| edit_distance(w, &word) <= PAIR_EDITS).collect()
}

/// Levenshtein distance: the fewest letters inserted, deleted or replaced to turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // row i holds the distances from a's first i letters to each prefix of b
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut next = Vec::with_capacity(b.len() + 1);
        next.push(i + 1);
        for (j, &cb) in b.iter().enumerate() {
            next.push((row[j] + usize::from(ca != cb)).min(row[j + 1] + 1).min(next[j] + 1));
        }
        row = next;
    }
    row[b.len()]
}

/// Which TTS words a bank's negatives say (`make-eval --negatives`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum NegativeWords {
    /// The training list: everyday words and many near-rhymes (captivate, activist, excavate...)
    #[default]
    All,
    /// Everyday words only, none sharing a sound with "activate": the false accepts a room
    /// that talks normally would hear
    Everyday,
    /// The training list, and for a word other than "activate" a third of the negatives its
    /// own near-rhymes, made from its letters (computers, comuter, bomputer... for "computer")
    Own,
}

/// One synthetic voice.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Voice {
    /// espeak-ng language and variant ("en-us", "f3"); variant "none" is the plain voice.
    Espeak { lang: String, variant: String },
    /// An espeak-ng variant seqlab writes itself from `seed` ([`made_variant`]): training
    /// only, so held-out figures still measure the engines' own voices.
    EspeakMade { lang: String, seed: u64 },
    Flite { name: String },
}

impl Voice {
    pub fn label(&self) -> String {
        match self {
            Voice::Espeak { lang, variant } => format!("espeak:{lang}+{variant}"),
            Voice::EspeakMade { lang, seed } => format!("espeak:{lang}+{}", made_name(*seed)),
            Voice::Flite { name } => format!("flite:{name}"),
        }
    }
}

/// The variant file name of made voice `seed`; the version tag ("s2") changes whenever
/// [`made_variant`] does, so cached clips of an older recipe are never reused ("s1" had no
/// rhythm lines). Short,
/// because espeak-ng 1.51 overflows a buffer on voice names much past 30 characters.
fn made_name(seed: u64) -> String {
    format!("s2-{:08x}", seed as u32)
}

/// `n` made voices for training, each a random English language and variant seed.
pub fn made_voices(n: usize, seed: u64) -> Vec<Voice> {
    let mut rng = seeded_rng(seed ^ 0x40CE);
    (0..n).map(|_| Voice::EspeakMade { lang: ESPEAK_LANGS[rng.random_range(0..ESPEAK_LANGS.len())].into(), seed: rng.random::<u32>().into() }).collect()
}

/// An espeak-ng voice variant drawn from `seed`: a vocal tract 0.82-1.22 times the
/// default's length scaling every formant together, each formant then moved by up to 7% on
/// its own, with random heights and widths; a pitch base and range for the drawn gender;
/// some roughness, flutter and breath; and, in half of them, a rhythm of their own: each of
/// the eight stress levels' syllables lengthened by -30..300 ms (`stressAdd`), and in 3 of
/// 10 its loudness redrawn (`stressAmp`). The rhythm is there because the held-out voice
/// the detector missed most, Marco, is missed for its `stressAdd` alone: without that one
/// line its words in noise are found 24 times in 24 instead of 11, and still 23 when said
/// slowly enough to last longer than Marco's (README). The engine's 101 stock variants are a
/// few dozen hand-tuned tracts with a handful of rhythms; these are as many as training
/// asks for.
pub fn made_variant(seed: u64) -> String {
    let mut rng = seeded_rng(seed ^ 0x7A7C);
    let female = rng.random_bool(0.5);
    let tract: f64 = if female { rng.random_range(1.0..1.22) } else { rng.random_range(0.82..1.05) };
    let base: u32 = if female { rng.random_range(130..=210) } else { rng.random_range(60..=125) };
    let range = base + rng.random_range(20..=90);
    let mut s = format!("language variant\nname {}\ngender {}\n\npitch {base} {range}\n", made_name(seed), if female { "female" } else { "male" });
    for k in 0..9 {
        let freq = (100.0 * tract * rng.random_range(0.93..1.07)).round() as u32;
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("formant {k} {freq} {} {}\n", rng.random_range(70..=130), rng.random_range(80..=160)));
    }
    let _ = std::fmt::Write::write_fmt(&mut s, format_args!("roughness {}\nflutter {}\n", rng.random_range(0..=4), rng.random_range(0..=20)));
    // Optional lines of eight values each (one per breath or stress level): (key, share of
    // voices that have it, value range). Their order is the order the seed is drawn in.
    for (key, share, values) in [("breath", 0.3, 0..=3), ("stressAdd", 0.5, -30..=300), ("stressAmp", 0.3, 14..=40)] {
        if rng.random_bool(share) {
            let v: Vec<String> = (0..8).map(|_| rng.random_range(values.clone()).to_string()).collect();
            let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{key} {}\n", v.join(" ")));
        }
    }
    s
}

/// The folders `espeak-ng --path` reads for made voices, one per voice under the returned
/// root (`<root>/<variant name>`): an `espeak-ng-data` whose entries link to the installed
/// data (`system`) and whose `voices/!v` holds that one made variant. One folder per voice
/// because espeak-ng lists at most 349 voices and ignores the rest. Built once, reused.
pub fn made_voice_data(cache: &Path, system: &Path, seeds: &[u64]) -> Result<PathBuf, ModelError> {
    let root = cache.join("espeak-made");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelError::Io { path, source }
    };
    let link_all = |from: &Path, to: &Path, skip: &str| -> Result<(), ModelError> {
        for e in std::fs::read_dir(from).map_err(io(from))? {
            let e = e.map_err(io(from))?;
            let target = to.join(e.file_name());
            if e.file_name() != skip && std::fs::symlink_metadata(&target).is_err() {
                link(&e.path(), &target).map_err(io(&target))?;
            }
        }
        Ok(())
    };
    for &seed in seeds {
        let data = root.join(made_name(seed)).join("espeak-ng-data");
        let variants = data.join("voices").join("!v");
        let path = variants.join(made_name(seed));
        if path.exists() {
            continue;
        }
        std::fs::create_dir_all(&variants).map_err(io(&variants))?;
        link_all(system, &data, "voices")?;
        link_all(&system.join("voices"), &data.join("voices"), "!v")?;
        crate::atomic::write_atomic(&path, made_variant(seed).as_bytes()).map_err(io(&path))?;
    }
    Ok(root)
}

#[cfg(unix)]
fn link(from: &Path, to: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(from, to)
}

#[cfg(not(unix))]
fn link(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() { Err(std::io::Error::other("made voices need symbolic links")) } else { std::fs::copy(from, to).map(|_| ()) }
}

/// Where the installed espeak-ng keeps its data, from `espeak-ng --version`
/// ("... Data at: /usr/lib/x86_64-linux-gnu/espeak-ng-data").
pub fn espeak_data_dir() -> Result<PathBuf, ModelError> {
    let out = Command::new("espeak-ng")
        .arg("--version")
        .output()
        .map_err(|e| ModelError::Invalid(format!("cannot run espeak-ng ({e}); is it installed?")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("Data at:")
        .nth(1)
        .map(|p| PathBuf::from(p.trim()))
        .filter(|p| p.is_dir())
        .ok_or_else(|| ModelError::Invalid(format!("espeak-ng --version did not name its data folder: {}", text.trim())))
}

/// (training voices, held-out voices).
pub fn voices() -> (Vec<Voice>, Vec<Voice>) {
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for lang in ESPEAK_LANGS {
        for (i, v) in ESPEAK_VARIANTS.iter().enumerate() {
            let voice = Voice::Espeak { lang: lang.into(), variant: v.to_string() };
            if i % HOLD_OUT_EVERY == 0 { held.push(voice) } else { train.push(voice) }
        }
    }
    train.extend(FLITE_TRAIN.iter().map(|n| Voice::Flite { name: n.to_string() }));
    held.extend(FLITE_HELD_OUT.iter().map(|n| Voice::Flite { name: n.to_string() }));
    (train, held)
}

/// One utterance to synthesise: text, voice and the engine's own speed/pitch settings.
#[derive(Clone, Debug)]
pub struct Utterance {
    pub text: String,
    pub voice: Voice,
    /// Relative speaking rate, 1 = the engine's default.
    pub speed: f32,
    /// espeak pitch 0..99 (flite: mean F0 = 60 + pitch Hz).
    pub pitch: u32,
}

impl Utterance {
    /// `text` in `voice` at a random engine speed (0.8-1.25) and pitch (25-75).
    pub fn drawn(text: &str, voice: Voice, rng: &mut impl Rng) -> Self {
        Self { text: text.to_string(), voice, speed: rng.random_range(0.8..1.25), pitch: rng.random_range(25..=75) }
    }

    fn cache_name(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.text.as_str(), self.voice.label(), (self.speed * 1000.0) as u32, self.pitch).hash(&mut h);
        format!("{:016x}.wav", h.finish())
    }

    /// The engine's command line; `made` is [`made_voice_data`]'s root (made voices only).
    fn command(&self, out: &Path, made: Option<&Path>) -> Command {
        let espeak = |v: String, path: Option<&Path>| {
            let mut c = Command::new("espeak-ng");
            if let Some(p) = path {
                c.arg(format!("--path={}", p.display()));
            }
            c.args(["-v", &v, "-s", &((175.0 * self.speed) as u32).to_string(), "-p", &self.pitch.to_string(), "-w"]);
            c.arg(out).arg("--").arg(&self.text);
            c
        };
        match &self.voice {
            Voice::Espeak { lang, variant } => espeak(if variant == "none" { lang.clone() } else { format!("{lang}+{variant}") }, None),
            Voice::EspeakMade { lang, seed } => espeak(format!("{lang}+{}", made_name(*seed)), made.map(|m| m.join(made_name(*seed))).as_deref()),
            Voice::Flite { name } => {
                let mut c = Command::new("flite");
                c.args(["-voice", name, "--setf", &format!("duration_stretch={:.3}", 1.0 / self.speed)]);
                c.args(["--setf", &format!("int_f0_target_mean={}", 60 + self.pitch), "-t", &self.text, "-o"]);
                c.arg(out);
                c
            }
        }
    }
}

/// Trims leading and trailing stretches quieter than 1/30 of the clip's peak (in 10-ms
/// blocks, keeping one block of margin), so "the word ends here" is where speech ends.
pub fn trim_silence(x: &[f32]) -> &[f32] {
    const BLOCK: usize = 160;
    let peak = x.iter().fold(0f32, |m, &v| m.max(v.abs()));
    if peak == 0.0 {
        return &x[..0];
    }
    let loud = |b: &[f32]| b.iter().any(|v| v.abs() > peak / 30.0);
    let blocks: Vec<&[f32]> = x.chunks(BLOCK).collect();
    let first = blocks.iter().position(|b| loud(b)).unwrap_or(0);
    let last = blocks.iter().rposition(|b| loud(b)).unwrap_or(0);
    let start = first.saturating_sub(1) * BLOCK;
    let end = ((last + 2) * BLOCK).min(x.len());
    &x[start..end]
}

/// Synthesises every utterance (cached by content in `cache`), `threads` at a time, and
/// returns each as trimmed 16 kHz samples. `progress(done, total)` after each.
pub fn synthesise(utts: &[Utterance], cache: &Path, threads: usize, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Vec<Vec<f32>>, ModelError> {
    std::fs::create_dir_all(cache).map_err(|source| ModelError::Io { path: cache.to_path_buf(), source })?;
    let seeds: Vec<u64> = utts.iter().filter_map(|u| if let Voice::EspeakMade { seed, .. } = u.voice { Some(seed) } else { None }).collect();
    let made = if seeds.is_empty() { None } else { Some(made_voice_data(cache, &espeak_data_dir()?, &seeds)?) };
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let work = || -> Result<Vec<(usize, Vec<f32>)>, ModelError> {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(u) = utts.get(i) else { break };
            let path = cache.join(u.cache_name());
            if !path.exists() {
                let tmp = cache.join(format!(".{}.{}.tmp.wav", u.cache_name(), std::process::id()));
                let status = u.command(&tmp, made.as_deref()).output().map_err(|e| {
                    ModelError::Invalid(format!("cannot run the TTS engine for {} ({e}); is espeak-ng/flite installed?", u.voice.label()))
                })?;
                if !status.status.success() {
                    return Err(ModelError::Invalid(format!(
                        "TTS failed for {:?} in {}: {}",
                        u.text,
                        u.voice.label(),
                        String::from_utf8_lossy(&status.stderr).trim()
                    )));
                }
                std::fs::rename(&tmp, &path).map_err(|source| ModelError::Io { path: path.clone(), source })?;
            }
            let audio = read_audio(&path).map_err(|e| ModelError::Invalid(e.to_string()))?;
            let x = resample(&audio.samples, audio.rate, SAMPLE_RATE).map_err(|e| ModelError::Invalid(e.to_string()))?;
            out.push((i, trim_silence(&x).to_vec()));
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, utts.len());
        }
        Ok(out)
    };
    type Part = Result<Vec<(usize, Vec<f32>)>, ModelError>;
    let parts: Vec<Part> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads.clamp(1, 64)).map(|_| s.spawn(work)).collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(ModelError::Invalid("a TTS thread panicked".into())))).collect()
    });
    let mut all = vec![Vec::new(); utts.len()];
    for part in parts {
        for (i, x) in part? {
            all[i] = x;
        }
    }
    Ok(all)
}

/// Reads every WAV/FLAC under `dir` (one level of sub-folders), resampled to 16 kHz, sorted
/// by path; returns (path, samples).
pub fn read_folder(dir: &Path) -> Result<Vec<(PathBuf, Vec<f32>)>, ModelError> {
    let io = |source| ModelError::Io { path: dir.to_path_buf(), source };
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let p = e.map_err(io)?.path();
        if p.is_dir() {
            for e2 in std::fs::read_dir(&p).map_err(io)? {
                files.push(e2.map_err(io)?.path());
            }
        } else {
            files.push(p);
        }
    }
    files.retain(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav") || e.eq_ignore_ascii_case("flac")));
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let a = read_audio(&p).map_err(|e| ModelError::Invalid(e.to_string()))?;
            let x = resample(&a.samples, a.rate, SAMPLE_RATE).map_err(|e| ModelError::Invalid(e.to_string()))?;
            Ok((p, x))
        })
        .collect()
}

/// Clips ready to mix: positives, negatives, backgrounds, all 16 kHz.
#[derive(Clone, Debug, Default)]
pub struct Bank {
    pub positives: Vec<Vec<f32>>,
    /// Who said each positive, labelled as [`Bank::negative_voices`] are, so that an
    /// evaluation can tell whether its missed words lie with a few voices; empty (or
    /// shorter than `positives`) where nobody recorded it.
    pub positive_voices: Vec<String>,
    pub negatives: Vec<Vec<f32>>,
    /// What each negative says (the TTS text, or the Speech Commands word), so that an
    /// evaluation can tell which words the detector mistakes for the trigger.
    pub negative_names: Vec<String>,
    /// Who said each negative (a TTS voice's label, or `human:` and the Speech Commands
    /// speaker), so that an evaluation can tell whether a few voices cause its false
    /// accepts; empty where nobody recorded it.
    pub negative_voices: Vec<String>,
    /// How often each negative is drawn, relative to the others (empty: all alike).
    /// Training raises the ones the detector mistakes for the word: hard-negative mining.
    pub negative_weights: Vec<f32>,
    pub backgrounds: Vec<Vec<f32>>,
}

/// Where the bank's material comes from.
#[derive(Clone, Debug)]
pub struct BankSpec {
    pub word: String,
    /// Positives and TTS negatives to synthesise.
    pub positives: usize,
    pub negatives: usize,
    /// Held-out voices and speakers instead of the training ones.
    pub held_out: bool,
    /// Voices seqlab makes ([`made_voices`]) added to the training voices.
    pub made_voices: usize,
    pub speech_commands: Option<PathBuf>,
    pub backgrounds: Option<PathBuf>,
    pub cache: PathBuf,
    pub threads: usize,
    pub seed: u64,
    pub negative_words: NegativeWords,
    /// For each of the first this many positives, one of the word's
    /// [`close_sound_alikes`] in the same voice at the same speed and pitch, as a negative: a
    /// minimal pair, where only the word tells the two apart.
    pub minimal_pairs: usize,
}

/// The trigger word as the TTS engines are given it and as folder names are matched.
pub fn spoken(word: &str) -> String {
    word.trim().to_lowercase()
}

/// The utterances a bank synthesises: positives spread over the voices, negatives over
/// words and voices, each with a random engine speed (0.8-1.25) and pitch (25-75).
pub fn plan_utterances(spec: &BankSpec) -> (Vec<Utterance>, Vec<Utterance>) {
    let (mut train, held) = voices();
    train.extend(made_voices(spec.made_voices, spec.seed));
    let pool = if spec.held_out { held } else { train };
    let mut rng = seeded_rng(spec.seed ^ 0xB0A7);
    let word = spoken(&spec.word);
    // A phrase that says the word itself would teach the detector to stay silent on it.
    let list = match spec.negative_words {
        NegativeWords::All | NegativeWords::Own => NEGATIVE_WORDS,
        NegativeWords::Everyday => EVERYDAY_WORDS,
    };
    let negatives: Vec<&str> = list.iter().copied().filter(|w| !w.split(' ').any(|t| t == word)).collect();
    // the list's near-rhymes are "activate"'s; another word can have a third of its own
    let own = if spec.negative_words == NegativeWords::Own && word != LIST_WORD { confusables(&word) } else { Vec::new() };
    let mut order = pool.clone();
    order.shuffle(&mut rng);
    let make = |text: &str, i: usize, rng: &mut rand_chacha::ChaCha8Rng| Utterance::drawn(text, order[i % order.len()].clone(), rng);
    let pos: Vec<Utterance> = (0..spec.positives).map(|i| make(&word, i, &mut rng)).collect();
    let mut neg: Vec<Utterance> = (0..spec.negatives)
        .map(|i| {
            // the short circuit leaves "activate"'s draws, and so the shipped model, as they were
            let w = if !own.is_empty() && rng.random_bool(1.0 / 3.0) { own[rng.random_range(0..own.len())].as_str() } else { negatives[rng.random_range(0..negatives.len())] };
            make(w, i * 7 + 3, &mut rng)
        })
        .collect();
    // drawn from a stream of their own, so that the rest of the bank is what it was without them
    let close = if spec.minimal_pairs > 0 { close_sound_alikes(&word) } else { Vec::new() };
    if !close.is_empty() {
        let mut rng = seeded_rng(spec.seed ^ 0x9A1B);
        neg.extend(pos.iter().take(spec.minimal_pairs).map(|p| Utterance { text: close[rng.random_range(0..close.len())].clone(), ..p.clone() }));
    }
    (pos, neg)
}

/// Synthesises and reads everything a [`BankSpec`] names. Real-voice negatives: the first
/// 8 speakers (files sorted by name) of every Speech Commands word for training, the rest
/// held out. Backgrounds: every recording in the folder (both halves: a background is not a
/// voice), cut into 10-s pieces at random at mixing time.
pub fn build_bank(spec: &BankSpec, progress: &(dyn Fn(&str, usize, usize) + Sync)) -> Result<Bank, ModelError> {
    valid_word(&spec.word)?;
    let (pos_u, neg_u) = plan_utterances(spec);
    let mut positives = synthesise(&pos_u, &spec.cache, spec.threads, &|d, t| progress("positives", d, t))?;
    let mut positive_voices: Vec<String> = pos_u.iter().map(|u| u.voice.label()).collect();
    let mut negatives = synthesise(&neg_u, &spec.cache, spec.threads, &|d, t| progress("negatives", d, t))?;
    let mut negative_names: Vec<String> = neg_u.iter().map(|u| u.text.clone()).collect();
    let mut negative_voices: Vec<String> = neg_u.iter().map(|u| u.voice.label()).collect();
    if let Some(dir) = &spec.speech_commands {
        let (said, other) = speech_commands_split(read_folder(dir)?, &spec.word, spec.held_out);
        for (x, speaker) in said {
            positives.push(x);
            positive_voices.push(format!("human:{speaker}"));
        }
        for (x, name, speaker) in other {
            negatives.push(x);
            negative_names.push(name);
            negative_voices.push(format!("human:{speaker}"));
        }
    }
    let backgrounds = read_backgrounds(spec.backgrounds.as_deref())?;
    let (positives, positive_voices): (Vec<Vec<f32>>, Vec<String>) = positives.into_iter().zip(positive_voices).filter(|(x, _)| x.len() > 1600).unzip();
    let (negatives, (negative_names, negative_voices)): (Vec<_>, (Vec<_>, Vec<_>)) =
        negatives.into_iter().zip(negative_names.into_iter().zip(negative_voices)).filter(|(x, _)| x.len() > 800).unzip();
    if positives.is_empty() {
        return Err(ModelError::Invalid("no positive clip could be synthesised".into()));
    }
    Ok(Bank { positives, positive_voices, negatives, negative_names, negative_voices, negative_weights: Vec::new(), backgrounds })
}

/// A trigger word the engines can be given: 1 to 100 characters besides spaces around it.
pub(super) fn valid_word(word: &str) -> Result<(), ModelError> {
    if word.trim().is_empty() || word.len() > 100 {
        return Err(ModelError::Invalid("the trigger word must be 1 to 100 characters".into()));
    }
    Ok(())
}

/// The recordings in `dir` (none without one) longer than a second, to cut backgrounds from.
pub(super) fn read_backgrounds(dir: Option<&Path>) -> Result<Vec<Vec<f32>>, ModelError> {
    let Some(dir) = dir else { return Ok(Vec::new()) };
    Ok(read_folder(dir)?.into_iter().map(|(_, x)| x).filter(|x| x.len() > SAMPLE_RATE as usize).collect())
}

/// Speech Commands clips (path, samples), grouped by their word folder, split by speaker:
/// the first 8 of each word (files sorted by name) for training, the rest held out, trimmed
/// of silence. The trigger word's own folder (a user may train "marvin" or "stop") gives
/// real voices saying it, so its clips are positives; every other word's are negatives,
/// named "<word> (human)". Returns (positives with their speakers, negatives with their
/// names and speakers), a speaker being a file's name up to its first `_`, as the data set
/// names its speakers.
pub(super) fn speech_commands_split(clips: Vec<(PathBuf, Vec<f32>)>, word: &str, held_out: bool) -> (Vec<(Vec<f32>, String)>, Vec<(Vec<f32>, String, String)>) {
    let word = spoken(word);
    let mut by_word: std::collections::BTreeMap<PathBuf, Vec<(String, Vec<f32>)>> = Default::default();
    for (p, x) in clips {
        let speaker = p.file_stem().map_or_else(String::new, |s| s.to_string_lossy().split('_').next().unwrap_or_default().to_string());
        by_word.entry(p.parent().map(Path::to_path_buf).unwrap_or_default()).or_default().push((speaker, x));
    }
    let (mut said, mut other) = (Vec::new(), Vec::new());
    for (folder, xs) in by_word {
        let name = folder.file_name().map_or_else(|| "?".to_string(), |w| w.to_string_lossy().to_lowercase());
        for (speaker, x) in xs.into_iter().enumerate().filter(|(i, _)| (*i >= 8) == held_out).map(|(_, (s, x))| (s, trim_silence(&x).to_vec())) {
            if name == word {
                said.push((x, speaker));
            } else {
                other.push((x, format!("{name} (human)"), speaker));
            }
        }
    }
    (said, other)
}

/// The least share of positives the user's own recordings make up once added (they are
/// repeated to reach it; every draw is perturbed anew, so repeats are not copies).
pub const OWN_VOICE_SHARE: f64 = 0.25;

/// The user's recordings (16 kHz) trimmed of silence, less those with under 0.1 s of sound.
pub fn usable_takes(takes: &[Vec<f32>]) -> Vec<&[f32]> {
    takes.iter().map(|t| trim_silence(t)).filter(|t| t.len() >= SAMPLE_RATE as usize / 10).collect()
}

/// Adds the user's [`usable_takes`] of the word to `bank`'s positives, each repeated so that
/// together they are at least [`OWN_VOICE_SHARE`] of them: a few takes among hundreds of
/// TTS clips would otherwise be drawn too rarely to matter. Returns how many were added.
pub fn add_own_voice(bank: &mut Bank, takes: &[Vec<f32>]) -> usize {
    let takes = usable_takes(takes);
    if takes.is_empty() {
        return 0;
    }
    let stock = bank.positives.len() as f64;
    let repeats = (stock * OWN_VOICE_SHARE / ((1.0 - OWN_VOICE_SHARE) * takes.len() as f64)).ceil().max(1.0) as usize;
    for _ in 0..repeats {
        bank.positives.extend(takes.iter().map(|t| t.to_vec()));
    }
    repeats * takes.len()
}

/// How examples are composed.
#[derive(Clone, Debug)]
pub struct ExampleSpec {
    pub seconds: f64,
    pub max_positives: usize,
    pub max_negatives: usize,
    /// Seconds after a positive ends before its label starts: the detector must wait that
    /// long, so it hears whether the word goes on ("activat-ing") before it fires.
    pub label_delay: f64,
    pub acoustics: Acoustics,
    /// Share of examples whose background is drawn from the top 14 dB of its range (-36..-22
    /// dBFS instead of -60..-22), so their words sit at the low end of the examples' SNRs:
    /// held out, most missed words are quiet ones.
    pub loud_backgrounds: f64,
}

impl Default for ExampleSpec {
    fn default() -> Self {
        Self { seconds: 10.0, max_positives: 4, max_negatives: 4, label_delay: 0.0, acoustics: Acoustics::DRY, loud_backgrounds: 0.0 }
    }
}

/// How often an example is heard in a room and through a coloured microphone or line
/// ([`crate::dsp::room`]): each a probability per example. The course's mixes are dry and
/// flat; TTS is too, so without these the detector never hears an echo or a phone line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Acoustics {
    /// All the example's words share one room: RT60 0.15-0.9 s, direct-to-reverberant ratio
    /// -3..12 dB. The background is a recording with its own room, so it stays as it is.
    pub reverb: f64,
    /// The whole mix goes through [`room::random_channel`]: band limits and a peak or dip.
    pub eq: f64,
}

impl Acoustics {
    pub const DRY: Acoustics = Acoustics { reverb: 0.0, eq: 0.0 };

    pub fn validate(&self) -> Result<(), ModelError> {
        if (0.0..=1.0).contains(&self.reverb) && (0.0..=1.0).contains(&self.eq) {
            Ok(())
        } else {
            Err(ModelError::Invalid(format!("reverb and EQ are probabilities in 0..=1, got {} and {}", self.reverb, self.eq)))
        }
    }
}

/// A negative's index, drawn by `negative_weights` (uniformly when there are none).
fn pick_negative(bank: &Bank, rng: &mut impl Rng) -> usize {
    let w = &bank.negative_weights;
    let total: f32 = w.iter().sum();
    if w.len() != bank.negatives.len() || !(total.is_finite() && total > 0.0) {
        return rng.random_range(0..bank.negatives.len());
    }
    let mut r = rng.random::<f32>() * total;
    for (k, &wk) in w.iter().enumerate() {
        if r < wk {
            return k;
        }
        r -= wk;
    }
    // f32 rounding can leave r just above the last weight.
    w.iter().rposition(|&wk| wk > 0.0).unwrap_or(0)
}

/// One mixed clip: samples at 16 kHz and the sample index where each positive ends.
#[derive(Clone, Debug)]
pub struct Example {
    pub samples: Vec<f32>,
    pub ends: Vec<usize>,
    /// (start, end, index into `Bank::positives`) of every positive placed, in time order:
    /// the ends are `ends`.
    pub positives: Vec<(usize, usize, usize)>,
    /// (start, end, index into `Bank::negatives`) of every negative placed, in time order.
    pub negatives: Vec<(usize, usize, usize)>,
}

/// White, pink (Voss-McCartney-like, 1/f) or brown (integrated white) noise at RMS 1.
pub fn synthetic_noise(n: usize, kind: usize, rng: &mut impl Rng) -> Vec<f32> {
    let mut x: Vec<f32> = Vec::with_capacity(n);
    match kind % 3 {
        0 => x.extend((0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0)),
        1 => {
            // Paul Kellet's economy pink filter over white noise.
            let (mut b0, mut b1, mut b2) = (0f32, 0f32, 0f32);
            for _ in 0..n {
                let w = rng.random::<f32>() * 2.0 - 1.0;
                b0 = 0.99765 * b0 + w * 0.0990460;
                b1 = 0.96300 * b1 + w * 0.2965164;
                b2 = 0.57000 * b2 + w * 1.0526913;
                x.push(b0 + b1 + b2 + w * 0.1848);
            }
        }
        _ => {
            let mut acc = 0f32;
            for _ in 0..n {
                acc = 0.995 * acc + (rng.random::<f32>() * 2.0 - 1.0) * 0.1;
                x.push(acc);
            }
        }
    }
    let r = rms(&x).max(1e-9);
    x.iter_mut().for_each(|v| *v /= r);
    x
}

/// Start positions for clips of `lens` in `total` samples, none overlapping (the course's
/// `is_overlapping` retry, bounded): a clip that finds no room in 50 tries is skipped
/// (None).
pub fn place(lens: &[usize], total: usize, rng: &mut impl Rng) -> Vec<Option<usize>> {
    let mut taken: Vec<(usize, usize)> = Vec::new();
    lens.iter()
        .map(|&len| {
            if len >= total {
                return None;
            }
            for _ in 0..50 {
                let s = rng.random_range(0..total - len);
                let e = s + len;
                if taken.iter().all(|&(a, b)| e <= a || s >= b) {
                    taken.push((s, e));
                    return Some(s);
                }
            }
            None
        })
        .collect()
}

/// A tempo/pitch-perturbed, gain-set copy of `clip`: resampled by a factor in 0.88-1.12
/// (faster-and-higher or slower-and-lower, a crude vocal-tract-length change).
fn perturb(clip: &[f32], rng: &mut impl Rng) -> Vec<f32> {
    let factor: f64 = rng.random_range(0.88..1.12);
    // Rates on a 100-Hz grid keep the ratio's phases few (at most 180), so the resampler's
    // kernel table is small and built once per clip.
    let to = ((SAMPLE_RATE as f64 * factor / 100.0).round() * 100.0) as u32;
    let mut y = resample(clip, SAMPLE_RATE, to).unwrap_or_else(|_| clip.to_vec());
    let r = rms(&y).max(1e-6);
    let gain = db_to_gain(rng.random_range(-28.0..-10.0)) / r;
    y.iter_mut().for_each(|v| *v *= gain);
    y
}

/// `n` samples of what an example's words are heard over: a stretch of a background
/// recording (7 times in 10 when there are any) or synthetic noise, at -60..-22 dBFS
/// (`loud_backgrounds` of the time -36..-22).
fn bed(bank: &Bank, n: usize, loud_backgrounds: f64, rng: &mut impl Rng) -> Vec<f32> {
    let mut x = if !bank.backgrounds.is_empty() && rng.random_bool(0.7) {
        let bg = &bank.backgrounds[rng.random_range(0..bank.backgrounds.len())];
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let start = rng.random_range(0..bg.len());
            out.extend_from_slice(&bg[start..bg.len().min(start + n - out.len())]);
        }
        let r = rms(&out).max(1e-9);
        out.iter_mut().for_each(|v| *v /= r);
        out
    } else {
        synthetic_noise(n, rng.random_range(0..3), rng)
    };
    // Drawn only when asked for, so examples without it stay what they were.
    let loud = loud_backgrounds > 0.0 && rng.random_bool(loud_backgrounds.min(1.0));
    let level = db_to_gain(rng.random_range(if loud { -36.0..-22.0 } else { -60.0..-22.0 }));
    x.iter_mut().for_each(|v| *v *= level);
    x
}

/// One clip heard alone, as an example would hear it: perturbed like every example's words
/// and placed `lead` s into a [`bed`] that goes on 1 s past it. Returns the samples and the
/// sample where the clip ends.
pub fn alone(bank: &Bank, clip: &[f32], lead: f64, seed: u64) -> (Vec<f32>, usize) {
    let mut rng = seeded_rng(seed);
    let word = perturb(clip, &mut rng);
    let start = (lead.max(0.0) * SAMPLE_RATE as f64) as usize;
    let mut x = bed(bank, start + word.len() + SAMPLE_RATE as usize, 0.0, &mut rng);
    mix_into(&mut x, &word, start, 1.0);
    limit_peak(&mut x, 0.99);
    (x, start + word.len())
}

/// One example from `seed` (so examples are reproducible and independent of threading).
pub fn make_example(bank: &Bank, spec: &ExampleSpec, seed: u64) -> Example {
    let mut rng = seeded_rng(seed);
    let n = (spec.seconds * SAMPLE_RATE as f64) as usize;
    let mut x = bed(bank, n, spec.loud_backgrounds, &mut rng);
    // Drawn only when asked for, so dry examples stay what they were before rooms existed.
    let in_room = spec.acoustics.reverb > 0.0 && rng.random_bool(spec.acoustics.reverb.min(1.0));
    let mut speech = if in_room { vec![0f32; n] } else { Vec::new() };
    let n_pos = rng.random_range(0..=spec.max_positives);
    let n_neg = if bank.negatives.is_empty() { 0 } else { rng.random_range(0..=spec.max_negatives) };
    // Whether each clip is a positive, and its bank index.
    let mut clips: Vec<(bool, usize, Vec<f32>)> = Vec::new();
    for _ in 0..n_pos {
        if let Some(c) = bank.positives.choose(&mut rng) {
            // found by address so that the draw stays `choose`'s, and every example with it
            let k = bank.positives.iter().position(|p| std::ptr::eq(p, c)).unwrap_or_default();
            clips.push((true, k, perturb(c, &mut rng)));
        }
    }
    for _ in 0..n_neg {
        if !bank.negatives.is_empty() {
            let k = pick_negative(bank, &mut rng);
            clips.push((false, k, perturb(&bank.negatives[k], &mut rng)));
        }
    }
    let lens: Vec<usize> = clips.iter().map(|(_, _, c)| c.len()).collect();
    let starts = place(&lens, n, &mut rng);
    let (mut positives, mut negatives) = (Vec::new(), Vec::new());
    for ((positive, k, clip), start) in clips.iter().zip(starts) {
        if let Some(s) = start {
            mix_into(if in_room { &mut speech } else { &mut x }, clip, s, 1.0);
            if *positive { &mut positives } else { &mut negatives }.push((s, s + clip.len(), *k));
        }
    }
    if in_room {
        let h = room::room_impulse(SAMPLE_RATE, rng.random_range(0.15..0.9), rng.random_range(-3.0..12.0), &mut rng);
        x.iter_mut().zip(room::convolve(&speech, &h)).for_each(|(v, s)| *v += s);
    }
    if spec.acoustics.eq > 0.0 && rng.random_bool(spec.acoustics.eq.min(1.0)) {
        for mut f in room::random_channel(SAMPLE_RATE, &mut rng) {
            f.process(&mut x);
        }
    }
    positives.sort_unstable();
    negatives.sort_unstable();
    limit_peak(&mut x, 0.99);
    Example { samples: x, ends: positives.iter().map(|&(_, e, _)| e).collect(), positives, negatives }
}

/// SpecAugment's masks for a spectrogram [frames, bands], drawn from `seed`: two bands of
/// 0-5 adjacent mel bands and two stretches of 0-15 frames (up to 150 ms) are set to the
/// example's mean, so the detector cannot lean on any one band or instant of a voice it has
/// heard. The mean, not zero, because zero in log-mel is a loud, flat sound.
pub fn spec_augment(x: &mut ndarray::Array2<f32>, seed: u64) {
    let (frames, bands) = x.dim();
    if frames == 0 || bands == 0 {
        return;
    }
    let fill = x.mean().unwrap_or(0.0);
    let mut rng = seeded_rng(seed ^ 0x5BEC);
    for _ in 0..2 {
        let w = rng.random_range(0..=5usize.min(bands));
        let lo = rng.random_range(0..=bands - w);
        x.slice_mut(ndarray::s![.., lo..lo + w]).fill(fill);
    }
    for _ in 0..2 {
        let w = rng.random_range(0..=15usize.min(frames));
        let lo = rng.random_range(0..=frames - w);
        x.slice_mut(ndarray::s![lo..lo + w, ..]).fill(fill);
    }
}

/// Vocal-tract-length perturbation of a log-mel spectrogram [frames, bands] whose band
/// centres are `centres` (Hz, ascending): band b takes the value the unwarped spectrogram has
/// at `centres[b] / alpha`, interpolated linearly between the two nearest bands and held at
/// the ends. alpha > 1 moves every formant up, as a shorter vocal tract would, without
/// touching pitch or timing; resampling the clip (which training also does) moves all three
/// together, so the two combined give voices that neither gives alone.
pub fn vtlp(x: &mut ndarray::Array2<f32>, centres: &[f32], alpha: f32) {
    let bands = x.ncols();
    if bands < 2 || centres.len() != bands || !(alpha.is_finite() && alpha > 0.0) {
        return;
    }
    // (lower band, weight of the upper one) for each output band
    let taps: Vec<(usize, f32)> = centres
        .iter()
        .map(|&c| {
            let f = c / alpha;
            let hi = centres.partition_point(|&g| g < f).clamp(1, bands - 1);
            let w = ((f - centres[hi - 1]) / (centres[hi] - centres[hi - 1])).clamp(0.0, 1.0);
            (hi - 1, w)
        })
        .collect();
    let mut warped = vec![0.0f32; bands];
    for mut row in x.rows_mut() {
        for (out, &(lo, w)) in warped.iter_mut().zip(&taps) {
            *out = row[lo] * (1.0 - w) + row[lo + 1] * w;
        }
        row.iter_mut().zip(&warped).for_each(|(r, &v)| *r = v);
    }
}

/// The warp factor [`vtlp`] uses for the example of `seed`: uniform in 0.88..1.12, about the
/// spread of adult vocal-tract lengths around their mean.
pub fn vtlp_alpha(seed: u64) -> f32 {
    seeded_rng(seed ^ 0x7E1F).random_range(0.88..1.12)
}

/// Seconds at which output step `j` has seen all its input: the end of the last sample of
/// its last frame.
pub fn step_time(j: usize, spec: &SpectrogramConfig, net: &TriggerConfig) -> f64 {
    let last_frame = j * net.stride + net.kernel - 1;
    (last_frame * spec.hop + spec.window) as f64 / spec.sample_rate as f64
}

/// Labels [steps]: 1 at every step whose time falls in (end + delay, end + delay +
/// LABEL_SECONDS] for some positive `ends` (in samples), else 0.
pub fn labels(ends: &[usize], steps: usize, spec: &SpectrogramConfig, net: &TriggerConfig, delay: f64) -> Vec<f32> {
    let mut y = vec![0.0; steps];
    for &e in ends {
        let te = e as f64 / spec.sample_rate as f64 + delay;
        for (j, v) in y.iter_mut().enumerate() {
            let t = step_time(j, spec, net);
            if t > te && t <= te + LABEL_SECONDS {
                *v = 1.0;
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank() -> Bank {
        Bank { positives: vec![vec![0.5; 8000]], negatives: vec![vec![-0.5; 4000]], negative_names: vec!["minus".into()], ..Bank::default() }
    }

    /// Default spectrogram (window 400, hop 160 at 16 kHz) and stride 4, kernel 15: step j
    /// ends at ((4j + 14)·160 + 400)/16000 = 0.165 + 0.04j s. A positive ending at sample
    /// 16000 (1 s) labels steps with 1 < 0.165 + 0.04j <= 1.5, i.e. j = 21..=33
    /// (0.165 + 0.84 = 1.005 is the first; 0.165 + 1.32 = 1.485 the last; j = 34 is 1.525).
    #[test]
    fn golden_label_insertion() {
        let spec = SpectrogramConfig::default();
        let net = TriggerConfig::small();
        assert!((step_time(0, &spec, &net) - 0.165).abs() < 1e-12);
        let y = labels(&[16_000], 60, &spec, &net, 0.0);
        let ones: Vec<usize> = (0..60).filter(|&j| y[j] == 1.0).collect();
        assert_eq!(ones, (21..=33).collect::<Vec<_>>());
        // a delay of 0.2 s: 1.2 < 0.165 + 0.04j <= 1.7, j = 26..=38
        let y = labels(&[16_000], 60, &spec, &net, 0.2);
        let ones: Vec<usize> = (0..60).filter(|&j| y[j] == 1.0).collect();
        assert_eq!(ones, (26..=38).collect::<Vec<_>>());
    }

    /// Each example names the bank clip behind every positive it placed, as it does for its
    /// negatives: positives of three lengths (0.3, 0.5 and 0.7 s, resampled by at most 12%
    /// at mixing) each come back as the index whose length fits the placed span, the spans end
    /// where the labels say, and every one of the three is drawn somewhere in 40 examples.
    #[test]
    fn examples_name_the_positives_they_placed() {
        let lens = [4800usize, 8000, 11_200];
        let b = Bank { positives: lens.iter().map(|&n| vec![0.5; n]).collect(), ..bank() };
        let mut drawn = [false; 3];
        for seed in 0..40 {
            let e = make_example(&b, &ExampleSpec::default(), seed);
            assert_eq!(e.ends, e.positives.iter().map(|&(_, end, _)| end).collect::<Vec<_>>());
            for &(start, end, k) in &e.positives {
                let span = (end - start) as f64;
                assert!((span / lens[k] as f64 - 1.0).abs() <= 0.13, "clip {k} of {} placed over {span}", lens[k]);
                drawn[k] = true;
            }
        }
        assert_eq!(drawn, [true; 3]);
    }

    /// Every placed clip lies inside the clip and no two overlap; a clip longer than the
    /// example is skipped, never placed.
    #[test]
    fn placement_never_overlaps() {
        let mut rng = seeded_rng(1);
        for _ in 0..200 {
            let lens = [3000, 5000, 100, 7000, 2000, 20_000];
            let starts = place(&lens, 16_000, &mut rng);
            assert_eq!(starts[5], None);
            let spans: Vec<(usize, usize)> = starts.iter().zip(lens).filter_map(|(s, l)| s.map(|s| (s, s + l))).collect();
            for (i, a) in spans.iter().enumerate() {
                assert!(a.1 <= 16_000);
                for b in &spans[i + 1..] {
                    assert!(a.1 <= b.0 || b.1 <= a.0, "{a:?} overlaps {b:?}");
                }
            }
        }
    }

    /// An example is reproducible from its seed, has the asked length, and each labelled
    /// end is where a loud (positive) stretch stops.
    #[test]
    fn examples_are_reproducible_and_ends_are_real() {
        let spec = ExampleSpec { seconds: 2.0, ..Default::default() };
        let a = make_example(&bank(), &spec, 7);
        let b = make_example(&bank(), &spec, 7);
        assert_eq!(a.samples, b.samples);
        assert_eq!(a.ends, b.ends);
        assert_eq!(a.samples.len(), 32_000);
        let found = (0..50).map(|s| make_example(&bank(), &spec, s)).find(|e| !e.ends.is_empty()).unwrap();
        for &e in &found.ends {
            let before = rms(&found.samples[e - 200..e]);
            let after = rms(&found.samples[e..(e + 200).min(found.samples.len())]);
            assert!(before > 10.0 * after.max(1e-6) || e == found.samples.len(), "before {before}, after {after}");
        }
        // The bank's only negative is 4000 samples of -0.5; resampling by 0.88-1.12 gives
        // 3520-4480 samples, scaled to -28..-10 dB (magnitude >= 0.04) over noise of at
        // most -22 dB rms, whose mean over ~4000 samples is within 0.08/63 of 0: the span's
        // mean is below -0.03. A positive (at least 7040 samples) ends before it starts or
        // at least 7040 samples after it ends.
        let with_neg = (0..50).map(|s| make_example(&bank(), &spec, s)).find(|e| !e.negatives.is_empty() && !e.ends.is_empty()).unwrap();
        for &(s, e, k) in &with_neg.negatives {
            assert_eq!(k, 0);
            assert!((3500..=4600).contains(&(e - s)) && e <= 32_000, "span {s}..{e}");
            let mean = with_neg.samples[s..e].iter().sum::<f32>() / (e - s) as f32;
            assert!(mean < -0.03, "span {s}..{e} holds no negative clip: mean {mean}");
            assert!(with_neg.ends.iter().all(|&pe| pe <= s || pe >= e + 7040), "{:?} vs {:?}", with_neg.ends, (s, e));
        }
    }

    /// In a room a word rings on after it ends: over the same 40 seeds, the level of the 12 ms
    /// after each positive (a 1-kHz tone) against the 12 ms before it is over twice what it
    /// is dry, where only the background follows (the tail holds at least 10^-1.2 of the
    /// direct energy and decays by at most 5 dB in 12 ms). Rooms and lines stay reproducible
    /// from the seed, and probabilities outside 0..=1 are refused.
    #[test]
    fn rooms_ring_and_stay_reproducible() {
        let tone: Vec<f32> = (0..8000).map(|i| 0.5 * (i as f32 * 2.0 * std::f32::consts::PI / 16.0).sin()).collect();
        let bank = Bank { positives: vec![tone], ..bank() };
        let ring = |acoustics: Acoustics| {
            let spec = ExampleSpec { seconds: 2.0, acoustics, ..Default::default() };
            let ratios: Vec<f32> = (0..40)
                .flat_map(|s| {
                    let e = make_example(&bank, &spec, s);
                    e.ends.iter().filter(|&&t| t + 200 <= e.samples.len()).map(|&t| rms(&e.samples[t..t + 200]) / rms(&e.samples[t - 200..t]).max(1e-9)).collect::<Vec<_>>()
                })
                .collect();
            assert!(ratios.len() >= 20, "only {} words", ratios.len());
            ratios.iter().sum::<f32>() / ratios.len() as f32
        };
        let (dry, room) = (ring(Acoustics::DRY), ring(Acoustics { reverb: 1.0, eq: 0.0 }));
        assert!(room > 2.0 * dry && room > 0.1, "after/before: dry {dry}, in a room {room}");
        let spec = ExampleSpec { seconds: 2.0, acoustics: Acoustics { reverb: 1.0, eq: 1.0 }, ..Default::default() };
        let (a, b) = (make_example(&bank, &spec, 3), make_example(&bank, &spec, 3));
        assert_eq!(a.samples, b.samples);
        assert!(a.samples.iter().all(|v| v.is_finite() && v.abs() <= 0.99));
        for bad in [Acoustics { reverb: 1.5, eq: 0.0 }, Acoustics { reverb: 0.0, eq: -0.1 }, Acoustics { reverb: f64::NAN, eq: 0.0 }] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    /// Backgrounds alone (no words), normalised to RMS 1 before their level is set: with
    /// every background loud, each example's level lies in -36..-22 dBFS; by default it
    /// spans -60..-22, and over 40 seeds some fall below -36 (a uniform draw over 38 dB puts
    /// 14/38 of them there; the chance that none of 40 does is (24/38)^40, about 1e-8).
    #[test]
    fn loud_backgrounds_lie_at_the_top_of_the_range() {
        let bank = Bank { positives: vec![], negatives: vec![], negative_names: vec![], backgrounds: vec![vec![0.3, -0.1, 0.2, -0.4]; 1], ..bank() };
        let levels = |loud: f64| -> Vec<f32> {
            let spec = ExampleSpec { seconds: 1.0, loud_backgrounds: loud, ..Default::default() };
            (0..40).map(|s| 20.0 * rms(&make_example(&bank, &spec, s).samples).log10()).collect()
        };
        let loud = levels(1.0);
        assert!(loud.iter().all(|l| (-36.1..=-21.9).contains(l)), "{loud:?}");
        let usual = levels(0.0);
        assert!(usual.iter().all(|l| (-60.1..=-21.9).contains(l)) && usual.iter().any(|&l| l < -36.0), "{usual:?}");
    }

    /// With weights (0, 3, 1) the first negative is never drawn and the second about three
    /// times as often as the third (of ~400 draws, 300 against 100; the bounds allow 5 sd).
    #[test]
    fn weighted_negatives_follow_their_weights() {
        let mut b = bank();
        b.negatives = vec![vec![-0.5; 4000], vec![0.1; 3000], vec![0.2; 3000]];
        b.negative_names = vec!["a".into(), "b".into(), "c".into()];
        b.negative_weights = vec![0.0, 3.0, 1.0];
        let mut counts = [0usize; 3];
        let mut rng = seeded_rng(9);
        for _ in 0..400 {
            counts[pick_negative(&b, &mut rng)] += 1;
        }
        assert_eq!(counts[0], 0);
        assert!((255..=345).contains(&counts[1]), "{counts:?}");
        b.negative_weights = vec![];
        let mut seen = [false; 3];
        for _ in 0..100 {
            seen[pick_negative(&b, &mut rng)] = true;
        }
        assert_eq!(seen, [true; 3], "no weights: every negative is drawn");
    }

    /// "computer": -s, and -ing for its last vowel and coda "er" (computers, computing); cut
    /// by one and two letters (compute, comput); its one interior cluster "mp" reduced
    /// (comuter, said like "commuter"); the first vowel o made a and i (camputer, cimputer);
    /// onsets b, d, p for c (bomputer, domputer, pomputer). "Hey seqlab": each word alone,
    /// the endings on "seqlab" (seqlabs, and seqling: "-ing" for "ab"), its cluster "ql"
    /// reduced (seqab), and the onsets on "hey" (bey seqlab...).
    #[test]
    fn confusables_golden() {
        assert_eq!(
            confusables("Computer"),
            ["computers", "computing", "compute", "comput", "comuter", "camputer", "cimputer", "bomputer", "domputer", "pomputer"]
        );
        let hey = confusables("hey  seqlab");
        assert_eq!(&hey[..5], ["hey", "seqlab", "hey seqlabs", "hey seqling", "hey seqla"]);
        assert!(hey.contains(&"hey seqab".to_string()) && hey.contains(&"bey seqlab".to_string()), "{hey:?}");
        assert!(!hey.contains(&"hey seqlab".to_string()));
        assert!(confusables("").is_empty() && confusables(" ?! ").is_empty());
        // a short word still gets some, and none is the word
        let go = confusables("go");
        assert!(!go.is_empty() && !go.contains(&"go".to_string()), "{go:?}");
    }

    /// A bank of `positives` and 400 negatives for `word` that only plans (no cache, no data).
    fn planned(word: &str, positives: usize, seed: u64, negative_words: NegativeWords) -> BankSpec {
        BankSpec {
            word: word.into(),
            positives,
            negatives: 400,
            held_out: false,
            made_voices: 0,
            speech_commands: None,
            backgrounds: None,
            cache: PathBuf::new(),
            threads: 1,
            seed,
            negative_words,
            minimal_pairs: 0,
        }
    }

    /// With `Own`, a third of another word's negatives (400 drawn: 133 expected, 110-160
    /// allowed) are its near-rhymes; "activate" with `Own`, and any word otherwise, draw from
    /// the lists alone.
    #[test]
    fn a_custom_word_hears_its_own_near_rhymes() {
        let spec = |word: &str, negative_words| planned(word, 1, 9, negative_words);
        let own = confusables("computer");
        let neg = plan_utterances(&spec("computer", NegativeWords::Own)).1;
        let n = neg.iter().filter(|u| own.contains(&u.text)).count();
        assert!((110..=160).contains(&n), "{n}");
        let lists = [("activate", NegativeWords::Own, NEGATIVE_WORDS), ("computer", NegativeWords::All, NEGATIVE_WORDS), ("computer", NegativeWords::Everyday, EVERYDAY_WORDS)];
        for (word, negative_words, list) in lists {
            assert!(plan_utterances(&spec(word, negative_words)).1.iter().all(|u| list.contains(&u.text.as_str())), "{word}");
        }
    }

    /// Edit distances worked by hand: kitten -> sitting is k->s, e->i and a g added (3);
    /// activate -> captivate is a c added before it and its c made p (2); gate -> activate
    /// is four letters added and the g, which activate lacks, replaced (5).
    #[test]
    fn edit_distance_golden() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("captivate", "activate"), 2);
        assert_eq!(edit_distance("activate", "activate"), 0);
        assert_eq!(edit_distance("", "act"), 3);
        assert_eq!(edit_distance("gate", "activate"), 5);
    }

    /// "activate"'s close sound-alikes are its list's words within three letter edits, and
    /// a minimal pair says one of them in its positive's voice, speed and pitch, after the
    /// negatives the bank would have had without pairs, which stay as they were.
    #[test]
    fn minimal_pairs_share_their_positive_voice() {
        let close = close_sound_alikes("Activate ");
        let want = [
            "activity", "captivate", "active", "cultivate", "activation", "actively", "activist", "motivate", "motivated", "salivate", "deactivate",
            "reactivate", "deactivated", "activities", "activated", "activating", "accurate", "acclimate", "private", "climate", "ultimate", "active date",
        ];
        assert_eq!(close, want);
        let plain = planned("activate", 30, 5, NegativeWords::All);
        let (pos, neg) = plan_utterances(&BankSpec { minimal_pairs: 20, ..plain.clone() });
        let (_, without) = plan_utterances(&plain);
        assert_eq!(neg.len(), 420);
        assert!(neg[..400].iter().zip(&without).all(|(a, b)| a.text == b.text && a.voice == b.voice && a.speed == b.speed && a.pitch == b.pitch));
        for (p, n) in pos.iter().zip(&neg[400..]) {
            assert!(close.contains(&n.text), "{}", n.text);
            assert!(n.voice == p.voice && n.speed == p.speed && n.pitch == p.pitch);
        }
        // more pairs than positives: one each
        assert_eq!(plan_utterances(&BankSpec { minimal_pairs: 1000, ..plain }).1.len(), 430);
    }

    /// The negatives never say the word itself: none for "activate" (which the list holds
    /// only inside longer words) and, for a custom word that the list holds as a phrase's
    /// token ("cat" in "the cat sat"), neither the word nor the phrase.
    #[test]
    fn negatives_never_say_the_word() {
        for (word, banned) in [("activate", "activate"), ("Cat ", "cat")] {
            let spec = planned(word, 3, 5, NegativeWords::All);
            let (pos, neg) = plan_utterances(&spec);
            assert!(pos.iter().all(|u| u.text == banned));
            assert_eq!(neg.len(), 400);
            assert!(neg.iter().all(|u| !u.text.split(' ').any(|t| t == banned)), "{banned}");
            let everyday = plan_utterances(&BankSpec { negative_words: NegativeWords::Everyday, ..spec }).1;
            assert!(everyday.iter().all(|u| EVERYDAY_WORDS.contains(&u.text.as_str())));
        }
        assert!(NEGATIVE_WORDS.contains(&"the cat sat") && NEGATIVE_WORDS.contains(&"cat"));
        // The everyday words are a subset of the training list, and none has a near-rhyme's
        // telltale letters or ends a word in "-ate".
        for w in EVERYDAY_WORDS {
            assert!(NEGATIVE_WORDS.contains(w), "{w}");
            assert!(["act", "tiv", "cap", "va"].iter().all(|s| !w.contains(s)), "{w}");
            assert!(w.split(' ').all(|t| !t.ends_with("ate")), "{w}");
        }
    }

    /// Ten speakers say "marvin" and ten say "bed". Training "Marvin" takes the first 8
    /// speakers' "marvin" as positives and their "bed" as negatives; held out, the other 2 of
    /// each. Any other word gets all of them as negatives. Files are named as the data set
    /// names them, `s03_nohash_0.wav` for speaker s03's first take.
    #[test]
    fn speech_commands_of_the_word_are_positives() {
        let clips = || -> Vec<(PathBuf, Vec<f32>)> {
            ["marvin", "bed"]
                .iter()
                .flat_map(|w| (0..10).map(move |i| (PathBuf::from(format!("sc/{w}/s{i:02}_nohash_0.wav")), vec![0.5 + i as f32 * 0.01; 4000])))
                .collect()
        };
        let (said, other) = speech_commands_split(clips(), " Marvin ", false);
        assert_eq!((said.len(), other.len()), (8, 8));
        assert!(other.iter().all(|(_, n, _)| n == "bed (human)"));
        assert_eq!(other.iter().map(|(_, _, s)| s.as_str()).collect::<Vec<_>>(), ["s00", "s01", "s02", "s03", "s04", "s05", "s06", "s07"]);
        assert_eq!(said[7].0[0], 0.57, "the 8th speaker by name");
        assert_eq!(said[7].1, "s07");
        let (said, other) = speech_commands_split(clips(), "marvin", true);
        assert_eq!((said.len(), other.len()), (2, 2));
        assert_eq!((said[0].0[0], said[0].1.as_str()), (0.58, "s08"), "the held-out speakers");
        let (said, other) = speech_commands_split(clips(), "hey marvin", false);
        assert_eq!((said.len(), other.len()), (0, 16), "a phrase's word alone is not the phrase");
        assert!(other.iter().any(|(_, n, _)| n == "marvin (human)"));
    }

    #[test]
    fn trimming_and_voices() {
        let mut x = vec![0.0; 1600];
        x.extend(vec![0.5; 800]);
        x.extend(vec![0.0; 1600]);
        let t = trim_silence(&x);
        assert!(t.len() >= 800 && t.len() <= 800 + 2 * 160 + 160, "{}", t.len());
        assert!(trim_silence(&[0.0; 100]).is_empty());
        let (train, held) = voices();
        assert!(train.iter().all(|v| !held.contains(v)));
        assert!(held.len() > 100 && train.len() > 500);
        for kind in 0..3 {
            let n = synthetic_noise(4000, kind, &mut seeded_rng(2));
            assert!((rms(&n) - 1.0).abs() < 1e-3);
        }
    }

    /// A made variant is the same text for the same seed, names itself, and keeps every
    /// number in the ranges its doc promises (formants 100 · 0.82 · 0.93 = 76 to
    /// 100 · 1.22 · 1.07 = 131 percent of the default; eight stress levels each), and about
    /// half of them have a rhythm of their own.
    #[test]
    fn made_variants_are_seeded_and_bounded() {
        assert_eq!(made_variant(7), made_variant(7));
        assert_ne!(made_variant(7), made_variant(8));
        let (mut rhythms, mut loudness) = (0, 0);
        for seed in 0..200 {
            let v = made_variant(seed);
            assert!(v.starts_with("language variant\n") && v.contains(&format!("name s2-{seed:08x}\n")), "{v}");
            let nums = |key: &str| -> Vec<Vec<i32>> {
                v.lines().filter(|l| l.starts_with(key)).map(|l| l.split_whitespace().skip(1).map(|n| n.parse().unwrap()).collect()).collect()
            };
            let formants = nums("formant");
            assert_eq!(formants.len(), 9);
            for f in formants {
                assert!((76..=131).contains(&f[1]) && (70..=130).contains(&f[2]) && (80..=160).contains(&f[3]), "{f:?}");
            }
            let pitch = &nums("pitch")[0];
            assert!((60..=210).contains(&pitch[0]) && pitch[1] >= pitch[0] + 20, "{pitch:?}");
            for add in nums("stressAdd") {
                assert!(add.len() == 8 && add.iter().all(|a| (-30..=300).contains(a)), "{add:?}");
                rhythms += 1;
            }
            for amp in nums("stressAmp") {
                assert!(amp.len() == 8 && amp.iter().all(|a| (14..=40).contains(a)), "{amp:?}");
                loudness += 1;
            }
        }
        // Half of 200 with a rhythm (sd 7) and 3 in 10 with loudness (sd 6.5): 5 sd either way.
        assert!((65..=135).contains(&rhythms) && (28..=92).contains(&loudness), "{rhythms} rhythms, {loudness} loudness lines");
        let voices = made_voices(50, 1);
        assert_eq!(voices, made_voices(50, 1));
        assert!(voices.iter().all(|v| matches!(v, Voice::EspeakMade { lang, .. } if ESPEAK_LANGS.contains(&lang.as_str()))));
    }

    /// Each made voice's data folder links every installed entry except the stock variants
    /// and holds its own variant; a second call reuses it; the engine is pointed at it.
    #[test]
    fn made_voice_data_links_the_installed_data() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("system");
        std::fs::create_dir_all(system.join("voices").join("!v")).unwrap();
        std::fs::create_dir_all(system.join("voices").join("other")).unwrap();
        std::fs::write(system.join("phondata"), b"p").unwrap();
        std::fs::write(system.join("voices").join("!v").join("m3"), b"stock").unwrap();
        let cache = dir.path().join("cache");
        for _ in 0..2 {
            let root = made_voice_data(&cache, &system, &[5, 6]).unwrap();
            for seed in [5, 6] {
                let data = root.join(format!("s2-{seed:08x}")).join("espeak-ng-data");
                assert_eq!(std::fs::read(data.join("phondata")).unwrap(), b"p");
                assert!(data.join("voices").join("other").is_dir());
                let variants: Vec<_> = std::fs::read_dir(data.join("voices").join("!v")).unwrap().map(|e| e.unwrap().file_name()).collect();
                assert_eq!(variants, [format!("s2-{seed:08x}").as_str()], "its own variant only");
                assert_eq!(std::fs::read_to_string(data.join("voices").join("!v").join(format!("s2-{seed:08x}"))).unwrap(), made_variant(seed));
            }
        }
        let u = Utterance { text: "hi".into(), voice: Voice::EspeakMade { lang: "en-us".into(), seed: 5 }, speed: 1.0, pitch: 50 };
        let c = u.command(Path::new("o.wav"), Some(Path::new("/x")));
        let args: Vec<String> = c.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args[..3], ["--path=/x/s2-00000005", "-v", "en-us+s2-00000005"]);
        assert!(made_voice_data(&cache, &dir.path().join("missing"), &[1]).is_err(), "no installed data: an error");
    }

    /// 6 stock positives and 2 takes: ceil(6 · 0.25 / (0.75 · 2)) = 1 repeat, 2 of 8 = 25%.
    /// 30 stock and 1 take: ceil(30 · 0.25 / 0.75) = 10 repeats, 10 of 40 = 25%. Silence
    /// and a 50-ms click are skipped; only silence adds nothing.
    #[test]
    fn own_voice_makes_a_quarter_of_the_positives() {
        let take = |n: usize| (0..n).map(|i| (i as f32 * 0.05).sin() * 0.5).collect::<Vec<f32>>();
        let mut b = Bank { positives: vec![take(4000); 6], ..Bank::default() };
        assert_eq!(add_own_voice(&mut b, &[take(8000), take(6000), vec![0.0; 8000], take(800)]), 2);
        assert_eq!(b.positives.len(), 8);
        let mut b = Bank { positives: vec![take(4000); 30], ..Bank::default() };
        assert_eq!(add_own_voice(&mut b, &[take(8000)]), 10);
        assert_eq!(b.positives.len(), 40);
        assert_eq!(add_own_voice(&mut b, &[vec![0.0; 16000]]), 0);
        assert_eq!(b.positives.len(), 40);
    }

    /// Centres 100, 200, 400, 800 Hz and alpha = 2: band b reads centres[b] / 2, i.e. 50 Hz
    /// (below the first centre: held at band 0), 100 (band 0), 200 (band 1), 400 (band 2).
    /// alpha = 0.8 on band 1 reads 250 Hz, a quarter of the way from 200 to 400: 0.75·b1 +
    /// 0.25·b2 = 0.75·2 + 0.25·4 = 2.5. alpha = 1 changes nothing.
    #[test]
    fn vtlp_reads_the_warped_frequency() {
        let centres = [100.0, 200.0, 400.0, 800.0];
        let x = ndarray::array![[1.0f32, 2.0, 4.0, 8.0], [0.0, -1.0, -2.0, -3.0]];
        let mut a = x.clone();
        vtlp(&mut a, &centres, 2.0);
        assert_eq!(a, ndarray::array![[1.0, 1.0, 2.0, 4.0], [0.0, 0.0, -1.0, -2.0]]);
        let mut b = x.clone();
        vtlp(&mut b, &centres, 0.8);
        assert!((b[(0, 1)] - 2.5).abs() < 1e-6, "{b}");
        assert_eq!(b[(0, 3)], 8.0, "above the last centre: held");
        let mut c = x.clone();
        vtlp(&mut c, &centres, 1.0);
        assert_eq!(c, x);
        for bad in [0.0, -1.0, f32::NAN] {
            let mut d = x.clone();
            vtlp(&mut d, &centres, bad);
            assert_eq!(d, x, "alpha {bad} is ignored");
        }
        let alphas: Vec<f32> = (0..200).map(vtlp_alpha).collect();
        assert!(alphas.iter().all(|a| (0.88..1.12).contains(a)));
        assert!(alphas.iter().any(|&a| a < 0.92) && alphas.iter().any(|&a| a > 1.08));
    }

    /// Two band masks of at most 5 and two time masks of at most 15 frames: on a [200, 40]
    /// ramp with distinct values, at most 2*5*200 + 2*15*40 = 3200 cells change, each to the
    /// mean (the ramp 0..7999 has mean 3999.5); the same seed gives the same masks.
    #[test]
    fn spec_augment_masks_bounded_stretches_with_the_mean() {
        let ramp = ndarray::Array2::from_shape_fn((200, 40), |(t, b)| (t * 40 + b) as f32);
        let mut changed_any = false;
        for seed in 0..50 {
            let mut a = ramp.clone();
            spec_augment(&mut a, seed);
            let mut b = ramp.clone();
            spec_augment(&mut b, seed);
            assert_eq!(a, b);
            let changed: Vec<f32> = a.iter().zip(&ramp).filter(|(x, y)| x != y).map(|(x, _)| *x).collect();
            assert!(changed.len() <= 3200, "{} cells masked", changed.len());
            assert!(changed.iter().all(|&v| v == 3999.5));
            changed_any |= !changed.is_empty();
        }
        assert!(changed_any);
        let mut empty = ndarray::Array2::<f32>::zeros((0, 40));
        spec_augment(&mut empty, 1);
    }
}
