//! How a trained word fares, saying by saying: the word said by voices held out of training,
//! and everyday words and words that sound like it, each heard alone over a background,
//! through the detector and its second look.
//!
//! An evaluation folder gives false accepts per hour of a made-up conversation; someone
//! choosing a word needs to know which words set it off and how often ("morning" 3 times in
//! 8), which a folder only shows after minutes of synthesis and hours of audio. A check is
//! about 1,000 short clips, a few seconds of synthesis and listening on two cores.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rand::seq::SliceRandom;

use super::data::{self, Bank, EVERYDAY_WORDS, SAMPLE_RATE, Utterance};
use super::detect::{DetectorConfig, quantile, score};
use super::model::TriggerNet;
use super::run::detect_samples;
use super::train::on_chunks;
use super::verify::VerifierStream;
use crate::models::ModelError;
use crate::nn::seeded_rng;

/// Seconds of background before each saying: long enough for PCEN's smoother to settle on
/// the background, as it has in a stream, so the word is not the first thing it hears.
const LEAD: f64 = 1.5;

/// Utterances synthesised between two looks at the stop flag.
const SYNTH_CHUNK: usize = 64;

/// What a check gives when it is stopped.
fn stopped() -> ModelError {
    ModelError::Invalid("stopped before the end".into())
}

/// What a check says and where its material comes from.
#[derive(Clone, Debug)]
pub struct CheckSpec {
    pub word: String,
    /// Sayings of the word by held-out TTS voices; Speech Commands' held-out speakers join
    /// them when the word is one of its words.
    pub positives: usize,
    /// Sayings of each everyday word and of each sound-alike, by held-out voices.
    pub per_word: usize,
    pub seed: u64,
    pub speech_commands: Option<PathBuf>,
    pub backgrounds: Option<PathBuf>,
    pub cache: PathBuf,
    pub threads: usize,
}

impl CheckSpec {
    /// 100 sayings of the word and 16 of every other: the word's recall to within about 3
    /// points, and a word that sets it off one time in five shows up 19 times in 20.
    pub fn new(word: &str) -> Self {
        Self { word: word.to_string(), positives: 100, per_word: 16, seed: 1, speech_commands: None, backgrounds: None, cache: PathBuf::from(".seqlab-cache/tts"), threads: 2 }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        data::valid_word(&self.word)?;
        if !(1..=10_000).contains(&self.positives) || !(1..=1_000).contains(&self.per_word) || !(1..=256).contains(&self.threads) {
            return Err(ModelError::Invalid(format!(
                "check: 1..=10000 sayings of the word, 1..=1000 of each other word, 1..=256 threads (got {}, {}, {})",
                self.positives, self.per_word, self.threads
            )));
        }
        Ok(())
    }
}

/// One word other than the trigger and how often the detector fired on it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Heard {
    pub word: String,
    pub said: usize,
    pub fired: usize,
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WordCheck {
    pub word: String,
    /// Sayings of the word, and how many the detector answered (within the eval's hit window).
    pub positives: usize,
    pub found: usize,
    pub recall: f64,
    pub latency_ms_median: Option<f64>,
    pub latency_ms_p95: Option<f64>,
    /// Every everyday word (Speech Commands' as "<word> (human)"), most often fired on first.
    pub everyday: Vec<Heard>,
    /// Words that sound like the trigger ([`data::sound_alikes`]), most often fired on first.
    pub sound_alikes: Vec<Heard>,
}

/// (fired, said) summed over `words`.
pub fn totals(words: &[Heard]) -> (usize, usize) {
    words.iter().fold((0, 0), |(f, s), h| (f + h.fired, s + h.said))
}

/// The first `n` words fired on, as "morning 3 of 8, volume 1 of 8", and "and k more".
pub fn worst(words: &[Heard], n: usize) -> String {
    let fired: Vec<&Heard> = words.iter().filter(|h| h.fired > 0).collect();
    let mut s = fired.iter().take(n).map(|h| format!("{} {} of {}", h.word, h.fired, h.said)).collect::<Vec<_>>().join(", ");
    if fired.len() > n {
        s.push_str(&format!(", and {} more", fired.len() - n));
    }
    s
}

/// The clips a check listens to, 16 kHz, trimmed.
pub struct Sayings {
    /// The word, as the engines were given it.
    pub word: String,
    /// Sayings of it.
    pub positives: Vec<Vec<f32>>,
    /// (name, clip) of every everyday saying and of every sound-alike's.
    pub everyday: Vec<(String, Vec<f32>)>,
    pub sound_alikes: Vec<(String, Vec<f32>)>,
    pub backgrounds: Vec<Vec<f32>>,
}

/// The everyday words a check says for `word`, and its sound-alikes less those.
fn word_lists(word: &str) -> (Vec<String>, Vec<String>) {
    let word = word.trim().to_lowercase();
    let everyday: Vec<String> = EVERYDAY_WORDS.iter().filter(|w| !w.split(' ').any(|t| t == word)).map(|w| w.to_string()).collect();
    let alikes = data::sound_alikes(&word).into_iter().filter(|w| !everyday.contains(w)).collect();
    (everyday, alikes)
}

/// How many everyday words and sound-alikes a check of `word` says.
pub fn list_sizes(word: &str) -> (usize, usize) {
    let (everyday, alikes) = word_lists(word);
    (everyday.len(), alikes.len())
}

/// Synthesises (and reads) what `spec` names: the word, every everyday word but those that
/// say it, and its sound-alikes less the everyday ones, all by held-out voices in turn.
/// Setting `stop` ends it early with an error.
pub fn sayings(spec: &CheckSpec, progress: &(dyn Fn(&str, usize, usize) + Sync), stop: &AtomicBool) -> Result<Sayings, ModelError> {
    spec.validate()?;
    let word = spec.word.trim().to_lowercase();
    let (everyday, alikes) = word_lists(&word);
    let mut voices = data::voices().1;
    let mut rng = seeded_rng(spec.seed ^ 0xC4EC);
    voices.shuffle(&mut rng);
    let mut k = 0;
    let mut plan = |texts: &[String], each: usize| -> Vec<Utterance> {
        let mut out = Vec::with_capacity(texts.len() * each);
        for _ in 0..each {
            for t in texts {
                out.push(Utterance::drawn(t, voices[k % voices.len()].clone(), &mut rng));
                k += 1;
            }
        }
        out
    };
    let (word_u, everyday_u, alike_u) = (plan(std::slice::from_ref(&word), spec.positives), plan(&everyday, spec.per_word), plan(&alikes, spec.per_word));
    let said = |what: &str, u: &[Utterance]| -> Result<Vec<(String, Vec<f32>)>, ModelError> {
        let mut clips = Vec::with_capacity(u.len());
        // a few dozen at a time, so that a stop is heard within a second or so
        for part in u.chunks(SYNTH_CHUNK) {
            if stop.load(Ordering::Relaxed) {
                return Err(stopped());
            }
            let before = clips.len();
            clips.extend(data::synthesise(part, &spec.cache, spec.threads, &|d, _| progress(what, before + d, u.len()))?);
        }
        Ok(u.iter().map(|u| u.text.clone()).zip(clips).filter(|(_, x)| x.len() > 800).collect())
    };
    let mut word_clips: Vec<Vec<f32>> = said("saying the word", &word_u)?.into_iter().map(|(_, x)| x).collect();
    let mut everyday_clips = said("saying everyday words", &everyday_u)?;
    let sound_alikes = said("saying sound-alikes", &alike_u)?;
    if let Some(dir) = &spec.speech_commands {
        let (own, other) = data::speech_commands_split(data::read_folder(dir)?, &word, true);
        word_clips.extend(own.into_iter().map(|(x, _)| x));
        everyday_clips.extend(other.into_iter().map(|(x, name, _)| (name, x)));
    }
    if word_clips.is_empty() {
        return Err(ModelError::Invalid(format!("no saying of \"{word}\" could be synthesised")));
    }
    Ok(Sayings { word, positives: word_clips, everyday: everyday_clips, sound_alikes, backgrounds: data::read_backgrounds(spec.backgrounds.as_deref())? })
}

/// Runs every saying alone ([`data::alone`]: [`LEAD`] s of background first) through the
/// detector with its second look, on `threads` threads; the result does not depend on them.
/// Setting `stop` ends it early with an error.
pub fn listen(
    net: &TriggerNet<f32>,
    det: &DetectorConfig,
    verifier: Option<&VerifierStream>,
    s: &Sayings,
    (seed, threads): (u64, usize),
    progress: &(dyn Fn(&str, usize, usize) + Sync),
    stop: &AtomicBool,
) -> Result<WordCheck, ModelError> {
    let bank = Bank { backgrounds: s.backgrounds.clone(), ..Bank::default() };
    // (which list: 0 word, 1 everyday, 2 sound-alike; index in it)
    let items: Vec<(usize, usize)> = (0..s.positives.len()).map(|i| (0, i)).chain((0..s.everyday.len()).map(|i| (1, i))).chain((0..s.sound_alikes.len()).map(|i| (2, i))).collect();
    let done = AtomicUsize::new(0);
    let rate = SAMPLE_RATE as f64;
    // When the detector answered, in seconds after the saying's end: for the word its hit
    // (None when missed), for any other word its first detection (None when silent).
    let outcomes = on_chunks(&items, threads, |chunk| {
        chunk
            .iter()
            .map(|&(list, i)| {
                if stop.load(Ordering::Relaxed) {
                    return Err(stopped());
                }
                let clip = match list {
                    0 => &s.positives[i],
                    1 => &s.everyday[i].1,
                    _ => &s.sound_alikes[i].1,
                };
                let piece_seed = seed.wrapping_mul(1_000_033).wrapping_add((list * 1_000_000 + i) as u64);
                let (x, end) = data::alone(&bank, clip, LEAD, piece_seed);
                let d = detect_samples(net, det, verifier, &x, SAMPLE_RATE)?.detections;
                progress("listening", done.fetch_add(1, Ordering::Relaxed) + 1, items.len());
                let end = end as f64 / rate;
                Ok(if list == 0 { score(&d, &[end]).latencies.first().copied() } else { d.first().map(|t| t - end) })
            })
            .collect()
    })?;
    let latencies: Vec<f64> = outcomes[..s.positives.len()].iter().flatten().map(|l| l * 1000.0).collect();
    let (e0, e1) = (s.positives.len(), s.positives.len() + s.everyday.len());
    Ok(WordCheck {
        word: s.word.clone(),
        positives: s.positives.len(),
        found: latencies.len(),
        recall: latencies.len() as f64 / s.positives.len().max(1) as f64,
        latency_ms_median: quantile(&latencies, 0.5),
        latency_ms_p95: quantile(&latencies, 0.95),
        everyday: tally(&s.everyday, &outcomes[e0..e1]),
        sound_alikes: tally(&s.sound_alikes, &outcomes[e1..]),
    })
}

/// How often each name in `names` fired (`fired[i]` is Some where saying i did), most often
/// fired on first, then by name.
fn tally(names: &[(String, Vec<f32>)], fired: &[Option<f64>]) -> Vec<Heard> {
    let mut by: std::collections::BTreeMap<&str, Heard> = Default::default();
    for ((name, _), f) in names.iter().zip(fired) {
        let h = by.entry(name).or_insert_with(|| Heard { word: name.clone(), said: 0, fired: 0 });
        h.said += 1;
        h.fired += usize::from(f.is_some());
    }
    let mut v: Vec<Heard> = by.into_values().collect();
    // fired_a / said_a > fired_b / said_b, without dividing
    v.sort_by(|a, b| (b.fired * a.said).cmp(&(a.fired * b.said)).then_with(|| a.word.cmp(&b.word)));
    v
}

/// [`sayings`] then [`listen`]: the whole check.
pub fn check_word(
    net: &TriggerNet<f32>,
    det: &DetectorConfig,
    verifier: Option<&VerifierStream>,
    spec: &CheckSpec,
    progress: &(dyn Fn(&str, usize, usize) + Sync),
    stop: &AtomicBool,
) -> Result<WordCheck, ModelError> {
    let s = sayings(spec, progress, stop)?;
    listen(net, det, verifier, &s, (spec.seed, spec.threads), progress, stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn clip(name: &str, bytes: &[u8]) -> Vec<f32> {
        let a = crate::dsp::audio_file::decode_audio(Path::new(name), bytes).unwrap();
        data::trim_silence(&crate::dsp::resample(&a.samples, a.rate, SAMPLE_RATE).unwrap()).to_vec()
    }

    /// The shipped detector and pair hear the test clip of "activate" said four times, each
    /// over its own background, and find it each time, 0.3 s early to 1 s late; the clip of
    /// other words (four times) and a hum (three) set nothing off: 0 of 4 and 0 of 3. Two
    /// threads give what one gives, and a stop flag already set ends it with an error.
    #[test]
    fn the_shipped_pair_finds_its_word_and_nothing_else() {
        let activate = clip("a.wav", include_bytes!("testdata/activate_en-us.wav"));
        let other = clip("o.wav", include_bytes!("testdata/other_words_en-us.wav"));
        let hum: Vec<f32> = (0..8000).map(|i| 0.05 * (i as f32 * 0.0393).sin()).collect();
        let s = Sayings {
            word: "activate".into(),
            positives: vec![activate; 4],
            everyday: vec![("other words".into(), other); 4],
            sound_alikes: vec![("hum".into(), hum); 3],
            backgrounds: Vec::new(),
        };
        let net = super::super::load_model(None).unwrap();
        let pair = VerifierStream::new(super::super::load_verifiers(&[]).unwrap(), 0.5).unwrap();
        let det = DetectorConfig::behind(2);
        let r = listen(&net, &det, Some(&pair), &s, (3, 1), &|_, _, _| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!((r.word.as_str(), r.positives, r.found, r.recall), ("activate", 4, 4, 1.0), "{r:?}");
        assert!(r.latency_ms_p95.is_some_and(|l| (-300.0..=1000.0).contains(&l)), "{r:?}");
        assert_eq!(r.everyday, [Heard { word: "other words".into(), said: 4, fired: 0 }]);
        assert_eq!(r.sound_alikes, [Heard { word: "hum".into(), said: 3, fired: 0 }]);
        assert_eq!(listen(&net, &det, Some(&pair), &s, (3, 2), &|_, _, _| {}, &AtomicBool::new(false)).unwrap(), r);
        assert!(listen(&net, &det, Some(&pair), &s, (3, 1), &|_, _, _| {}, &AtomicBool::new(true)).is_err(), "stopped");
    }

    /// Fired/said 1/8, 3/8, 0/8, 2/4 (0.5, the highest), 1/8: sorted 2/4, 3/8, then the two
    /// 1/8 by name, then 0/8. `worst` lists those fired on, the first two, "and 2 more".
    #[test]
    fn words_sort_by_how_often_they_fired() {
        let h = |w: &str, fired, said| Heard { word: w.into(), said, fired };
        let names: Vec<(String, Vec<f32>)> = [("b", 8), ("c", 8), ("d", 8), ("e", 4), ("a", 8)]
            .iter()
            .flat_map(|&(w, n)| std::iter::repeat_n((w.to_string(), Vec::new()), n))
            .collect();
        let fired = |w: &str| match w {
            "b" | "a" => 1,
            "c" => 3,
            "e" => 2,
            _ => 0,
        };
        let mut seen: std::collections::HashMap<String, usize> = Default::default();
        let outcomes: Vec<Option<f64>> = names
            .iter()
            .map(|(w, _)| {
                let k = seen.entry(w.clone()).or_default();
                *k += 1;
                (*k <= fired(w)).then_some(0.0)
            })
            .collect();
        let sorted = tally(&names, &outcomes);
        assert_eq!(sorted, [h("e", 2, 4), h("c", 3, 8), h("a", 1, 8), h("b", 1, 8), h("d", 0, 8)]);
        assert_eq!(totals(&sorted), (7, 36));
        assert_eq!(worst(&sorted, 2), "e 2 of 4, c 3 of 8, and 2 more");
        assert_eq!(worst(&sorted[4..], 2), "");
    }

    /// A stop flag already set ends the check before any synthesis: its cache stays empty.
    #[test]
    fn a_stopped_check_synthesises_nothing() {
        let cache = tempfile::tempdir().unwrap();
        let spec = CheckSpec { cache: cache.path().join("tts"), ..CheckSpec::new("marvin") };
        assert!(sayings(&spec, &|_, _, _| {}, &AtomicBool::new(true)).is_err());
        assert!(!spec.cache.exists());
    }

    #[test]
    fn bad_specs_are_refused() {
        let ok = CheckSpec::new("marvin");
        assert!(ok.validate().is_ok());
        for bad in [CheckSpec { positives: 0, ..ok.clone() }, CheckSpec { per_word: 5_000, ..ok.clone() }, CheckSpec { word: "  ".into(), ..ok.clone() }, CheckSpec { threads: 0, ..ok.clone() }] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
