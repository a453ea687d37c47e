//! Trigger word: a streaming GRU detector of a spoken word, trained on synthetic speech.
//!
//! `data` makes training clips from TTS voices and recordings, `model` holds the network
//! and its streaming form, `detect` turns probabilities into detections and scores them,
//! `train` trains, `verify` and `verify_train` hold the second-stage verifier, `run` runs
//! files through the streaming path (detect, eval, bench), `check` hears how a trained word
//! fares saying by saying.

pub mod check;
pub mod data;
pub mod detect;
pub mod model;
pub mod run;
pub mod train;
pub mod verify;
pub mod verify_train;

use std::path::{Path, PathBuf};

use crate::models::ModelError;
use crate::nn::weights::Weights;
use model::TriggerNet;

/// The shipped "activate" model's file name under `assets/`.
pub const SHIPPED_NAME: &str = "trigger.safetensors";

/// Weights shipped with seqlab (the word "activate"), built into the binary.
static SHIPPED: &[u8] = include_bytes!("../../../assets/trigger.safetensors");

/// The model at `path`, or the shipped one.
pub fn load_model(path: Option<&Path>) -> Result<TriggerNet<f32>, ModelError> {
    TriggerNet::from_weights(&Weights::read_or_shipped(path, SHIPPED_NAME, SHIPPED)?, &["adam."])
}

/// The shipped verifiers' file names under `assets/`: the second look averages the two.
/// The first is trained on warped and masked frames with dropout, the second on plain ones;
/// alone, the first keeps more words and the second turns down more of the rest.
pub const VERIFIER_NAME: &str = "trigger-verifier.safetensors";
pub const PLAIN_VERIFIER_NAME: &str = "trigger-verifier-plain.safetensors";

static SHIPPED_VERIFIER: &[u8] = include_bytes!("../../../assets/trigger-verifier.safetensors");
static SHIPPED_PLAIN_VERIFIER: &[u8] = include_bytes!("../../../assets/trigger-verifier-plain.safetensors");

/// The verifiers at `paths`, or the shipped pair when there are none.
pub fn load_verifiers(paths: &[PathBuf]) -> Result<Vec<verify::Verifier<f32>>, ModelError> {
    let read = |w: Weights| verify::Verifier::from_weights(&w, &["adam."]);
    if paths.is_empty() {
        return [(VERIFIER_NAME, SHIPPED_VERIFIER), (PLAIN_VERIFIER_NAME, SHIPPED_PLAIN_VERIFIER)]
            .into_iter()
            .map(|(name, bytes)| read(Weights::read_or_shipped(None, name, bytes)?))
            .collect();
    }
    paths.iter().map(|p| read(Weights::read(p)?)).collect()
}

/// Whether `v` was trained for the word `net` listens for: a verifier knows one word, and
/// behind a detector for another it would turn every detection down.
pub fn verifier_fits(net: &TriggerNet<f32>, v: &verify::Verifier<f32>) -> bool {
    v.info.get("word") == net.info.get("word")
}

/// [`verifier_fits`] as an error that names both words.
pub fn check_fits(net: &TriggerNet<f32>, v: &verify::Verifier<f32>) -> Result<(), ModelError> {
    if verifier_fits(net, v) {
        return Ok(());
    }
    let name = |w: Option<&String>| w.map_or_else(|| "no word".to_string(), |w| format!("\"{w}\""));
    Err(ModelError::Invalid(format!("the verifier was trained for {} but the detector listens for {}", name(v.info.get("word")), name(net.info.get("word")))))
}

/// The second look that runs unless the user turns it off: the shipped pair when they fit
/// `net`'s word, else none (custom words have no verifier unless one is trained).
pub fn default_verifiers(net: &TriggerNet<f32>) -> Result<Option<Vec<verify::Verifier<f32>>>, ModelError> {
    let v = load_verifiers(&[])?;
    Ok(v.iter().all(|v| verifier_fits(net, v)).then_some(v))
}

/// Where the panel and `seqlab trigger new-word` keep the words they train.
pub const WORDS_DIR: &str = ".seqlab-cache/words";

/// Where a word trained in the panel is kept under `dir`: its detector and its verifier, named
/// by the word's letters and digits, lower-cased ("Hey, Seqlab!" -> `hey--seqlab-`).
pub fn word_paths(dir: &Path, word: &str) -> (PathBuf, PathBuf) {
    slug_paths(dir, &word_slug(word))
}

/// The detector's and the verifier's files of the word saved as `slug`.
fn slug_paths(dir: &Path, slug: &str) -> (PathBuf, PathBuf) {
    (dir.join(format!("{slug}.safetensors")), dir.join(format!("{slug}-verifier.safetensors")))
}

/// `word`'s letters and digits, lower-cased, anything else a dash: a name for its files.
pub fn word_slug(word: &str) -> String {
    word.trim().to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).collect()
}

/// Saves a trained word's detector and, if there is one, its verifier at [`word_paths`]
/// (each written atomically), so `--model` and `--verifier` can use them, and removes an
/// older verifier of the word when there is none; returns the paths written.
pub fn save_word(dir: &Path, net: &mut TriggerNet<f32>, verifier: Option<&mut verify::Verifier<f32>>) -> Result<Vec<PathBuf>, ModelError> {
    let word = net.info.get("word").cloned().unwrap_or_default();
    let (net_path, verifier_path) = word_paths(dir, &word);
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Io { path: dir.to_path_buf(), source })?;
    let meta = net.metadata();
    crate::nn::weights::save(&net_path, net, meta)?;
    let mut written = vec![net_path];
    if let Some(v) = verifier {
        let meta = v.metadata();
        crate::nn::weights::save(&verifier_path, v, meta)?;
        written.push(verifier_path);
    } else {
        // one saved with an earlier detector for the word would not belong to this one
        match std::fs::remove_file(&verifier_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(ModelError::Io { path: verifier_path, source: e }),
            _ => {}
        }
    }
    Ok(written)
}

/// A word saved by [`save_word`]: its slug, its detector's file and its verifier's, if one was
/// saved with it.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedWord {
    pub slug: String,
    pub model: PathBuf,
    pub verifier: Option<PathBuf>,
}

/// The words saved under `dir`, by slug; none when `dir` does not exist. A file named
/// `S-verifier.safetensors` is the verifier of `S.safetensors` when that exists, and a detector
/// of its own otherwise (a word that ends in "verifier"); [`load_word`] checks which it is.
pub fn saved_words(dir: &Path) -> Vec<SavedWord> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut slugs: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".safetensors")).map(str::to_string))
        .collect();
    slugs.sort();
    let is_verifier = |s: &String| s.strip_suffix("-verifier").is_some_and(|base| slugs.binary_search_by(|x| x.as_str().cmp(base)).is_ok());
    slugs
        .iter()
        .filter(|s| !is_verifier(s))
        .map(|s| {
            let (model, verifier) = slug_paths(dir, s);
            SavedWord { slug: s.clone(), model, verifier: verifier.exists().then_some(verifier) }
        })
        .collect()
}

/// Deletes a saved word's files, its verifier's too.
pub fn forget_word(word: &SavedWord) -> Result<(), ModelError> {
    for path in std::iter::once(&word.model).chain(&word.verifier) {
        std::fs::remove_file(path).map_err(|source| ModelError::Io { path: path.clone(), source })?;
    }
    Ok(())
}

/// A saved word's detector and its verifier (none when it was saved without one), or the
/// shipped detector and pair for `None`; a verifier that does not know the detector's word is
/// an error, not a second look that would turn every detection down.
pub fn load_word(word: Option<&SavedWord>) -> Result<(TriggerNet<f32>, Vec<verify::Verifier<f32>>), ModelError> {
    let Some(w) = word else { return Ok((load_model(None)?, load_verifiers(&[])?)) };
    let net = load_model(Some(&w.model))?;
    let verifiers = match &w.verifier {
        Some(p) => load_verifiers(std::slice::from_ref(p))?,
        None => Vec::new(),
    };
    for v in &verifiers {
        check_fits(&net, v).map_err(|e| ModelError::Invalid(format!("{}: {e}", w.verifier.as_deref().unwrap_or(&w.model).display())))?;
    }
    Ok((net, verifiers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::audio_file::decode_audio;
    use detect::DetectorConfig;

    /// A word trained in the panel, saved under its slug, reads back as the same detector and
    /// a verifier that fits it; saved again without a verifier, only the detector is left.
    #[test]
    fn a_saved_word_reads_back_with_its_verifier() {
        let dir = tempfile::tempdir().unwrap();
        let mut net = TriggerNet::<f32>::new(model::TriggerConfig::small(), 1).unwrap();
        net.info.insert("word".into(), "Hey, Seqlab!".into());
        let mut v = verify::Verifier::<f32>::new(verify::VerifierConfig::default(), 1).unwrap();
        v.info.insert("word".into(), "Hey, Seqlab!".into());
        let written = save_word(dir.path(), &mut net, Some(&mut v)).unwrap();
        assert_eq!(written, vec![dir.path().join("hey--seqlab-.safetensors"), dir.path().join("hey--seqlab--verifier.safetensors")]);
        let back = load_model(Some(&written[0])).unwrap();
        let vs = load_verifiers(&written[1..]).unwrap();
        assert!(verifier_fits(&back, &vs[0]));
        let x = ndarray::Array3::<f32>::from_shape_fn((1, 30, 40), |(_, t, m)| ((t * 7 + m) % 11) as f32 * 0.1);
        assert_eq!(back.predict(x.view()).unwrap(), net.predict(x.view()).unwrap());

        assert_eq!(save_word(dir.path(), &mut net, None).unwrap(), written[..1]);
        assert!(written[0].exists() && !written[1].exists());
    }

    /// What the panel offers after a restart: each saved detector once, with its verifier when
    /// one was saved beside it (a word ending in "verifier" is still a word), other files
    /// ignored; each loads back, and a verifier for another word or a corrupt file is a clear
    /// error.
    #[test]
    fn saved_words_are_listed_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        assert!(saved_words(&dir.path().join("none")).is_empty());
        let named = |word: &str| {
            let mut net = TriggerNet::<f32>::new(model::TriggerConfig::small(), 1).unwrap();
            net.info.insert("word".into(), word.into());
            let mut v = verify::Verifier::<f32>::new(verify::VerifierConfig::default(), 1).unwrap();
            v.info.insert("word".into(), word.into());
            (net, v)
        };
        let (mut hey, mut hey_v) = named("hey seqlab");
        save_word(dir.path(), &mut hey, Some(&mut hey_v)).unwrap();
        let (mut odd, _) = named("the verifier");
        save_word(dir.path(), &mut odd, None).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a word").unwrap();
        let words = saved_words(dir.path());
        let slugs: Vec<&str> = words.iter().map(|w| w.slug.as_str()).collect();
        assert_eq!(slugs, ["hey-seqlab", "the-verifier"]);
        assert_eq!(words[0].verifier, Some(dir.path().join("hey-seqlab-verifier.safetensors")));
        assert_eq!(words[1].verifier, None);

        let (net, vs) = load_word(Some(&words[0])).unwrap();
        assert_eq!(net.info.get("word").map(String::as_str), Some("hey seqlab"));
        assert_eq!(vs.len(), 1);
        assert!(load_word(Some(&words[1])).unwrap().1.is_empty());
        let (shipped, pair) = load_word(None).unwrap();
        assert_eq!((shipped.info.get("word").map(String::as_str), pair.len()), (Some("activate"), 2));

        let (_, mut stranger) = named("activate");
        let meta = stranger.metadata();
        crate::nn::weights::save(&dir.path().join("hey-seqlab-verifier.safetensors"), &mut stranger, meta).unwrap();
        let err = load_word(Some(&words[0])).unwrap_err().to_string();
        assert!(err.contains("\"activate\"") && err.contains("\"hey seqlab\""), "{err}");
        std::fs::write(&words[1].model, b"not safetensors").unwrap();
        assert!(load_word(Some(&words[1])).unwrap_err().to_string().contains("the-verifier.safetensors"));

        forget_word(&words[0]).unwrap();
        assert_eq!(saved_words(dir.path()), words[1..]);
        assert!(forget_word(&words[0]).unwrap_err().to_string().contains("hey-seqlab.safetensors"));
    }

    /// The shipped model on espeak-ng's plain `en-us` voice, which is held out of training
    /// (variant index 100, a multiple of 5). The clip is 0.5 s of quiet pink noise,
    /// "activate" (0.61 s, so it ends at 1.11 s), then 1.2 s more; the detection must fall
    /// in the hit window 1.11 - 0.3 ..= 1.11 + 1.0 s. The other clip says "hello, what is
    /// the weather tomorrow" in the same voice and must not fire.
    #[test]
    fn shipped_model_fires_on_activate_and_not_on_other_words() {
        let net = load_model(None).unwrap();
        let det = DetectorConfig::default();
        let a = decode_audio(Path::new("activate_en-us.wav"), include_bytes!("testdata/activate_en-us.wav")).unwrap();
        let r = run::detect_samples(&net, &det, None, &a.samples, a.rate).unwrap();
        assert_eq!(r.detections.len(), 1, "{:?} (max p {})", r.detections, r.max_probability());
        assert!((0.81..=2.11).contains(&r.detections[0]), "{:?}", r.detections);
        let o = decode_audio(Path::new("other_words_en-us.wav"), include_bytes!("testdata/other_words_en-us.wav")).unwrap();
        let r = run::detect_samples(&net, &det, None, &o.samples, o.rate).unwrap();
        assert!(r.detections.is_empty(), "{:?} (max p {})", r.detections, r.max_probability());
    }

    /// The same "activate" cut 10 ms after the word ends (at 1.12 s). Fed alone, the stream
    /// ends before the detector can answer (62 ms after a word's end at the median), so the
    /// word would be lost; heard out with [`run::TAIL_SECONDS`] of silence, as a file is, it
    /// is found once, after the file's end and inside its hit window (1.11 + 1.0 s), with the
    /// detector alone and with the second look.
    #[test]
    fn a_word_at_the_very_end_of_a_file_is_heard_out() {
        let net = load_model(None).unwrap();
        let det = DetectorConfig::default();
        let a = decode_audio(Path::new("activate_en-us.wav"), include_bytes!("testdata/activate_en-us.wav")).unwrap();
        let cut = &a.samples[..(1.12 * f64::from(a.rate)) as usize];
        let mut pipe = run::Pipeline::new(&net, det.clone(), None).unwrap();
        let mut fired = 0;
        pipe.push(&crate::dsp::resample(cut, a.rate, data::SAMPLE_RATE).unwrap(), |_, _, f| fired += usize::from(f));
        assert_eq!(fired, 0);
        let stream = verify::VerifierStream::new(load_verifiers(&[]).unwrap(), 0.5).unwrap();
        for verifier in [None, Some(&stream)] {
            let r = run::detect_samples(&net, &det, verifier, cut, a.rate).unwrap();
            assert_eq!(r.detections.len(), 1, "{:?}", r.detections);
            assert!((1.12..=2.11).contains(&r.detections[0]), "{:?}", r.detections);
            assert!((r.seconds - 1.12).abs() < 1e-3, "the tail is not counted as audio: {}", r.seconds);
        }
    }

    /// The shipped pair of verifiers keeps the shipped detector's "activate" from the
    /// held-out voice, announced one hold (16 frames of 10 ms) after the candidate, and
    /// streamed frame by frame it answers as it does on the whole recording's frames. The
    /// pair's verdict is its mean probability: a member sure of "no" (output bias -1e4, p = 0)
    /// beside one sure of "yes" (+1e4, p = 1) averages 0.5, kept at threshold 0.5 and not at
    /// 0.6.
    #[test]
    fn shipped_verifier_keeps_activate_and_streams_as_whole() {
        use crate::dsp::SpectrogramConfig;
        let net = load_model(None).unwrap();
        let stream = verify::VerifierStream::new(load_verifiers(&[]).unwrap(), 0.5).unwrap();
        let det = DetectorConfig::default();
        let a = decode_audio(Path::new("activate_en-us.wav"), include_bytes!("testdata/activate_en-us.wav")).unwrap();
        let plain = run::detect_samples(&net, &det, None, &a.samples, a.rate).unwrap();
        let checked = run::detect_samples(&net, &det, Some(&stream), &a.samples, a.rate).unwrap();
        assert_eq!(checked.detections.len(), 1, "{:?}", checked.detections);
        assert!((checked.detections[0] - plain.detections[0] - 0.16).abs() < 1e-9, "{:?} {:?}", checked.detections, plain.detections);
        // the same rule on the whole recording's frames
        let spec = SpectrogramConfig::default();
        let x = crate::dsp::resample(&a.samples, a.rate, data::SAMPLE_RATE).unwrap();
        let frames = verify_train::verifier_frames(&run::heard_out(x), &spec).unwrap();
        let hold = stream.verifier().config().hold_seconds(&spec);
        let whole = detect::checked_detections(&checked.trace, &det, hold, |c| {
            Ok(stream.judge(verify::window(frames.view(), verify_train::frame_at(c, &spec), stream.verifier().config())))
        })
        .unwrap();
        assert_eq!(whole, checked.detections);
        // a verifier that keeps nothing silences the detector
        let mut deaf = load_verifiers(&[]).unwrap().remove(0);
        deaf.out.b.value.fill(-1e4);
        let never = verify::VerifierStream::new(vec![deaf.clone()], 0.5).unwrap();
        assert!(run::detect_samples(&net, &det, Some(&never), &a.samples, a.rate).unwrap().detections.is_empty());
        let mut keen = deaf.clone();
        keen.out.b.value.fill(1e4);
        let halves = |threshold| verify::VerifierStream::new(vec![deaf.clone(), keen.clone()], threshold).unwrap();
        assert_eq!(run::detect_samples(&net, &det, Some(&halves(0.5)), &a.samples, a.rate).unwrap().detections, checked.detections);
        assert!(run::detect_samples(&net, &det, Some(&halves(0.6)), &a.samples, a.rate).unwrap().detections.is_empty());
        assert!(verify::VerifierStream::new(load_verifiers(&[]).unwrap(), 1.5).is_err());
        assert!(verify::VerifierStream::new(Vec::new(), 0.5).is_err());
        // members must read alike
        let mut stranger = keen.clone();
        stranger.info.insert("word".into(), "hey seqlab".into());
        let err = verify::VerifierStream::new(vec![keen, stranger], 0.5).err().unwrap();
        assert!(err.to_string().contains("\"activate\" against") && err.to_string().contains("\"hey seqlab\""), "{err}");
        // a verifier for another word is refused
        let mut other = net.clone();
        other.info.insert("word".into(), "hey seqlab".into());
        let err = run::detect_samples(&other, &det, Some(&stream), &a.samples, a.rate).err().unwrap();
        assert!(err.to_string().contains("hey seqlab"), "{err}");
        // and the default second look is there for "activate" only
        assert_eq!(default_verifiers(&net).unwrap().map(|v| v.len()), Some(2));
        assert!(default_verifiers(&other).unwrap().is_none());
    }
}
