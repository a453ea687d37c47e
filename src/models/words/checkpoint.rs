//! Checkpoints of word-vector training: everything a run needs to continue exactly where
//! it stopped, in one safetensors file written atomically through
//! [`weights::save_checkpoint_arrays`].
//!
//! Tensors (all F32): the trainer's matrices, `[V, D]` rows and `[V]` scalars (SGNS: `w_in`,
//! `w_out`; GloVe: `w`, `wc`, `b`, `bc` and their AdaGrad sums `gw`, `gwc`, `gb`, `gbc`).
//! Metadata: the kind, every setting that changes the result (`cfg.*`), a fingerprint of
//! the encoded corpus (vocabulary, counts, every word id, sentence ends), one [`Cursor`] per
//! worker thread (generator state, epoch, position, learning-rate schedule position) as
//! JSON, and `epochs_done`.
//!
//! With one thread a resumed run is bit-for-bit the uninterrupted one; with more, each
//! thread continues its own stream, and Hogwild's timing makes the result statistical anyway.
//! A checkpoint from another corpus or other settings is refused, naming what differs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use super::WordsError;
use super::train::TrainConfig;
use super::vocab::Corpus;
use crate::nn::weights::{self, KIND_KEY, Weights};

/// The `kind` of a word-vector training checkpoint.
pub const KIND: &str = "word-vectors-checkpoint";

/// Where one worker thread stands. Positions are absolute indices: sentences for SGNS,
/// entries of the thread's share of the co-occurrence list for GloVe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The thread's generator state (SGNS; GloVe draws nothing while it trains).
    pub rng: u64,
    /// The epoch under way (`epochs` once the thread is finished) and its next item.
    pub epoch: usize,
    pub next: usize,
    /// Work done over all epochs: corpus words (SGNS) or entries (GloVe).
    pub done: u64,
    /// `done` at the last learning-rate step: where the linear decay stands (SGNS).
    pub lr_done: u64,
    /// The learning rate in use, as f32 bits so it survives the text metadata exactly.
    pub lr_bits: u32,
    /// Words trained after subsampling (SGNS), over all epochs.
    pub effective: u64,
}

impl Cursor {
    /// A thread at the start of its share `first..`, with its own generator.
    pub fn start(first: usize, rng: u64, lr: f32) -> Self {
        Self { rng, epoch: 0, next: first, done: 0, lr_done: 0, lr_bits: lr.to_bits(), effective: 0 }
    }
}

/// A cheap, stable fingerprint of the encoded corpus: two corpora that would train
/// differently (other files, min count, max vocabulary, tokeniser) differ here.
pub fn corpus_fingerprint(corpus: &Corpus) -> u64 {
    // FNV-1a over 64-bit words: stable across runs and builds, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |x: u64| h = (h ^ x).wrapping_mul(0x0000_0100_0000_01b3);
    mix(corpus.vocab.len() as u64);
    for (w, &c) in corpus.vocab.words().iter().zip(corpus.vocab.counts()) {
        for chunk in w.as_bytes().chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            mix(u64::from_le_bytes(b));
        }
        mix(w.len() as u64);
        mix(c);
    }
    mix(corpus.ids.len() as u64);
    for &id in &corpus.ids {
        mix(id as u64);
    }
    mix(corpus.ends.len() as u64);
    for &e in &corpus.ends {
        mix(e as u64);
    }
    h
}

/// Every setting that changes what training computes, with the name a user knows it by.
/// (Thread count included: each thread owns a share of the corpus and a generator.)
fn settings(cfg: &TrainConfig) -> Vec<(&'static str, String)> {
    vec![
        ("--method", cfg.method.to_string()),
        ("--dim", cfg.dim.to_string()),
        ("--window", cfg.window.to_string()),
        ("--negative", cfg.negative.to_string()),
        ("--epochs", cfg.epochs.to_string()),
        ("--sample", cfg.sample.to_string()),
        ("--lr", cfg.lr.to_string()),
        ("--x-max", cfg.x_max.to_string()),
        ("alpha", cfg.alpha.to_string()),
        ("--threads", cfg.threads.to_string()),
        ("--seed", cfg.seed.to_string()),
    ]
}

/// A trainer's buffer and its shape, to save.
pub struct Tensor<'a> {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub data: &'a [f32],
}

/// Writes a checkpoint atomically (temp file + rename): a kill mid-write leaves the previous one.
pub fn save(path: &Path, cfg: &TrainConfig, fingerprint: u64, cursors: &[Cursor], tensors: &[Tensor]) -> Result<(), WordsError> {
    let mut meta: HashMap<String, String> = settings(cfg).into_iter().map(|(k, v)| (format!("cfg.{k}"), v)).collect();
    meta.insert(KIND_KEY.into(), KIND.into());
    meta.insert("corpus_fingerprint".into(), format!("{fingerprint:016x}"));
    let json = serde_json::to_string(cursors).map_err(|e| WordsError::Invalid(format!("cannot encode the training position: {e}")))?;
    meta.insert("cursors".into(), json);
    let arrays = tensors
        .iter()
        .map(|t| {
            ArrayD::from_shape_vec(t.shape.clone(), t.data.to_vec())
                .map(|a| (t.name.to_string(), a))
                .map_err(|e| WordsError::Invalid(format!("{}: {e}", t.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let epochs_done = cursors.iter().map(|c| c.epoch).min().unwrap_or(0);
    weights::save_checkpoint_arrays(path, &arrays, meta, epochs_done)?;
    Ok(())
}

/// A checkpoint read back and checked against this run's corpus and settings.
#[derive(Debug)]
pub struct Restored {
    pub cursors: Vec<Cursor>,
    pub epochs_done: usize,
    tensors: HashMap<String, Vec<f32>>,
}

impl Restored {
    /// The buffer saved as `name`, which must exist (checked by [`load`]).
    pub fn take(&mut self, name: &str) -> Vec<f32> {
        self.tensors.remove(name).unwrap_or_default()
    }
}

/// Reads the checkpoint at `path` for a run of `cfg` on a corpus with `fingerprint`;
/// `wanted` lists the tensors with their shapes and `parts` each thread's share
/// (`first..last`), which the cursors must lie in (none: checked later by the caller). Anything else is a clear error.
pub fn load(
    path: &Path,
    cfg: &TrainConfig,
    fingerprint: u64,
    wanted: &[(&str, &[usize])],
    parts: &[(usize, usize)],
) -> Result<Restored, WordsError> {
    let bad = |reason: String| WordsError::Checkpoint { path: path.to_path_buf(), reason };
    let w = Weights::read(path)?;
    w.expect_kind(KIND)?;
    for (key, value) in settings(cfg) {
        let saved = w.meta(&format!("cfg.{key}"))?;
        if saved != value {
            return Err(bad(format!(
                "it was written with {key} {saved}, this run has {key} {value}; resume with the same settings or delete it to start over"
            )));
        }
    }
    let saved_fp = w.meta("corpus_fingerprint")?;
    if saved_fp != format!("{fingerprint:016x}") {
        return Err(bad(
            "it was written for a different corpus or vocabulary (other files, --min-count or --max-vocab); delete it to start over".into(),
        ));
    }
    let cursors: Vec<Cursor> =
        serde_json::from_str(w.meta("cursors")?).map_err(|e| bad(format!("unreadable training position: {e}")))?;
    if !parts.is_empty() {
        check_cursors(path, cfg, &cursors, parts)?;
    }
    let epochs_done = weights::checkpoint_epochs(&w)?;
    let mut tensors = HashMap::new();
    for &(name, shape) in wanted {
        let t = w.extra::<f32>(name).ok_or_else(|| bad(format!("tensor {name} is missing")))?;
        if t.shape() != shape {
            return Err(bad(format!("tensor {name} has shape {:?}, this run needs {shape:?}", t.shape())));
        }
        if t.iter().any(|x| !x.is_finite()) {
            return Err(bad(format!("tensor {name} holds non-finite numbers")));
        }
        tensors.insert(name.to_string(), t.iter().copied().collect());
    }
    Ok(Restored { cursors, epochs_done, tensors })
}

/// Checks that every cursor lies in its thread's share `first..last` (a trainer that knows
/// the shares only later, GloVe after counting co-occurrences, calls this itself).
pub fn check_cursors(path: &Path, cfg: &TrainConfig, cursors: &[Cursor], parts: &[(usize, usize)]) -> Result<(), WordsError> {
    let bad = |reason: String| WordsError::Checkpoint { path: path.to_path_buf(), reason };
    if cursors.len() != parts.len() {
        return Err(bad(format!("it holds {} thread positions, this run has {} threads", cursors.len(), parts.len())));
    }
    for (t, (c, &(first, last))) in cursors.iter().zip(parts).enumerate() {
        let finished = c.epoch == cfg.epochs && c.next == first;
        if !(finished || (c.epoch < cfg.epochs && (first..last.max(first + 1)).contains(&c.next))) {
            return Err(bad(format!("thread {t} position (epoch {}, item {}) lies outside its share {first}..{last}", c.epoch, c.next)));
        }
        let lr = f32::from_bits(c.lr_bits);
        if !(lr.is_finite() && lr > 0.0) || c.lr_done > c.done {
            return Err(bad(format!("thread {t} has an impossible learning-rate position")));
        }
    }
    Ok(())
}

/// Where training keeps its checkpoint and how often it writes one.
#[derive(Clone, Debug)]
pub struct Checkpointing {
    pub path: PathBuf,
    /// Work between checkpoints over all threads (corpus words for SGNS, co-occurrence
    /// entries for GloVe); the end of every epoch is a checkpoint too.
    pub every: u64,
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use super::*;
    use crate::models::words::hogwild::Lcg;
    use crate::models::words::train::{Trained, train, train_resumable};

    /// Two topics of five words, `lines` lines of 12 words drawn with `seed`: about 4 800
    /// words, small enough for tests, big enough for several checkpoints per epoch.
    fn corpus(lines: usize, seed: u64) -> Corpus {
        let mut r = Lcg::new(seed);
        let topics = [["cat", "dog", "pet", "fur", "paw"], ["car", "road", "wheel", "engine", "drive"]];
        let text: Vec<String> =
            (0..lines).map(|i| (0..12).map(|_| topics[i % 2][r.below(5) as usize]).collect::<Vec<_>>().join(" ")).collect();
        Corpus::from_lines(text.iter().map(String::as_str), 1, None).unwrap()
    }

    fn sgns() -> TrainConfig {
        TrainConfig { dim: 8, epochs: 4, threads: 1, sample: 1e-2, ..TrainConfig::sgns() }
    }

    fn glove() -> TrainConfig {
        TrainConfig { dim: 8, epochs: 4, threads: 1, x_max: 10.0, ..TrainConfig::glove() }
    }

    /// Trains with checkpoints at `path` every `every` units, stopping (as a kill would,
    /// but at a known place) at the `stop_at`-th checkpoint report when given.
    fn run(c: &Corpus, cfg: &TrainConfig, path: &Path, every: u64, stop_at: Option<usize>) -> Result<Trained, WordsError> {
        let plan = Checkpointing { path: path.to_path_buf(), every };
        let mut seen = 0;
        train_resumable(c, cfg, Some(&plan), &mut |p| {
            if p.checkpoint.is_some() {
                seen += 1;
                if Some(seen) == stop_at {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })
    }

    /// With one thread, stopping anywhere (an epoch's end, mid-epoch, twice) and resuming
    /// gives exactly the vectors of the uninterrupted run: same floats, bit for bit.
    fn stop_and_resume_is_exact(cfg: &TrainConfig, every: u64) {
        let c = corpus(400, 5);
        let straight = train(&c, cfg, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(straight.complete);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.ckpt");
        // Checkpointing alone changes nothing.
        let checked = run(&c, cfg, &path, every, None).unwrap();
        assert_eq!(checked.vectors.matrix(), straight.vectors.matrix());
        std::fs::remove_file(&path).unwrap();
        // Stopped at the 2nd checkpoint, then the 5th of the resumed run, then to the end.
        let first = run(&c, cfg, &path, every, Some(2)).unwrap();
        assert!(!first.complete && first.resumed_from.is_none());
        assert_ne!(first.vectors.matrix(), straight.vectors.matrix());
        let second = run(&c, cfg, &path, every, Some(5)).unwrap();
        assert!(!second.complete);
        assert_eq!(second.resumed_from, Some(first.epochs_done));
        let last = run(&c, cfg, &path, every, None).unwrap();
        assert!(last.complete && last.epochs_done == cfg.epochs);
        assert_eq!(last.vectors.matrix(), straight.vectors.matrix());
        // Resumed at the end of an epoch with another interval: still the same run.
        std::fs::remove_file(&path).unwrap();
        let mut epochs = 0;
        let plan = Checkpointing { path: path.clone(), every: u64::MAX };
        let one = train_resumable(&c, cfg, Some(&plan), &mut |p| {
            epochs = p.checkpoint.unwrap_or(epochs);
            if epochs == 1 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .unwrap();
        assert_eq!(one.epochs_done, 1);
        let rest = run(&c, cfg, &path, every, None).unwrap();
        assert_eq!(rest.resumed_from, Some(1));
        assert_eq!(rest.vectors.matrix(), straight.vectors.matrix());
    }

    #[test]
    fn sgns_resumes_bit_for_bit() {
        // ~4 800 words an epoch: a checkpoint every 700 words falls mid-epoch.
        stop_and_resume_is_exact(&sgns(), 700);
    }

    #[test]
    fn glove_resumes_bit_for_bit() {
        // 10 words, so at most 55 co-occurrence entries: a checkpoint every 7 falls mid-epoch.
        stop_and_resume_is_exact(&glove(), 7);
    }

    /// Two threads cannot be compared bit for bit (Hogwild), but a stopped run resumes and
    /// finishes with finite vectors.
    #[test]
    fn two_threads_resume() {
        let c = corpus(400, 5);
        let dir = tempfile::tempdir().unwrap();
        for cfg in [sgns(), glove()] {
            let cfg = TrainConfig { threads: 2, ..cfg };
            let path = dir.path().join(format!("{}.ckpt", cfg.method));
            let first = run(&c, &cfg, &path, 500, Some(3)).unwrap();
            assert!(!first.complete);
            let rest = run(&c, &cfg, &path, 500, None).unwrap();
            assert!(rest.complete && rest.resumed_from.is_some());
            assert!(rest.vectors.matrix().iter().all(|x| x.is_finite()));
        }
    }

    fn stopped_checkpoint(c: &Corpus, cfg: &TrainConfig, path: &Path) {
        let first = run(c, cfg, path, 1_000, Some(1)).unwrap();
        assert!(!first.complete);
    }

    #[test]
    fn another_config_or_corpus_is_refused_by_name() {
        let c = corpus(400, 5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.ckpt");
        stopped_checkpoint(&c, &sgns(), &path);
        let cases: [(TrainConfig, &str); 6] = [
            (TrainConfig { dim: 9, ..sgns() }, "--dim 8, this run has --dim 9"),
            (TrainConfig { epochs: 5, ..sgns() }, "--epochs 4"),
            (TrainConfig { seed: 2, ..sgns() }, "--seed"),
            (TrainConfig { threads: 2, ..sgns() }, "--threads"),
            (TrainConfig { lr: 0.05, ..sgns() }, "--lr"),
            (TrainConfig { dim: 8, epochs: 4, threads: 1, sample: 1e-2, ..TrainConfig::glove() }, "--method sgns"),
        ];
        for (cfg, want) in cases {
            let e = run(&c, &cfg, &path, 1_000, None).unwrap_err();
            assert!(matches!(e, WordsError::Checkpoint { .. }), "{e}");
            assert!(e.to_string().contains(want) && e.to_string().contains("v.ckpt"), "{e}");
        }
        // Another corpus: more lines, or the same number drawn differently, or another vocabulary.
        for other in [corpus(401, 5), corpus(400, 6)] {
            let e = run(&other, &sgns(), &path, 1_000, None).unwrap_err();
            assert!(e.to_string().contains("different corpus"), "{e}");
        }
        // The refused checkpoint is untouched: the right run still resumes from it.
        assert_eq!(run(&c, &sgns(), &path, 1_000, None).unwrap().resumed_from, Some(0));
    }

    #[test]
    fn corrupt_or_foreign_files_are_clear_errors() {
        let c = corpus(400, 5);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.ckpt");
        stopped_checkpoint(&c, &glove(), &path);
        let good = std::fs::read(&path).unwrap();
        for cut in [0, 5, good.len() / 2, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            let e = run(&c, &glove(), &path, 1_000, None).unwrap_err();
            assert!(e.to_string().contains("v.ckpt"), "cut at {cut}: {e}");
        }
        std::fs::write(&path, b"not a checkpoint at all, just words").unwrap();
        assert!(run(&c, &glove(), &path, 1_000, None).is_err());
        // A word-vectors file is not a checkpoint.
        let vectors = train(&c, &sgns(), &mut |_| ControlFlow::Continue(())).unwrap().vectors;
        let path = dir.path().join("v.safetensors");
        vectors.write(&path).unwrap();
        let e = run(&c, &sgns(), &path, 1_000, None).unwrap_err();
        assert!(e.to_string().contains(KIND), "{e}");
    }

    /// Checkpoints written by hand with impossible contents: a position outside the thread's
    /// share, a missing tensor, a misshapen one, a NaN.
    #[test]
    fn impossible_contents_are_refused() {
        let c = corpus(400, 5);
        let cfg = sgns();
        let fp = corpus_fingerprint(&c);
        let (v, d) = (c.vocab.len(), cfg.dim);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.ckpt");
        let zeros = vec![0f32; v * d];
        let mut nan = zeros.clone();
        nan[3] = f32::NAN;
        let t = |name, data| Tensor { name, shape: vec![v, d], data };
        let ok = Cursor::start(0, 1, cfg.lr);
        let cases: Vec<(Vec<Cursor>, Vec<Tensor>, &str)> = vec![
            (vec![Cursor { next: 1_000_000, ..ok }], vec![t("w_in", &zeros), t("w_out", &zeros)], "outside its share"),
            (vec![Cursor { epoch: 99, ..ok }], vec![t("w_in", &zeros), t("w_out", &zeros)], "outside its share"),
            (vec![Cursor { lr_bits: f32::NAN.to_bits(), ..ok }], vec![t("w_in", &zeros), t("w_out", &zeros)], "learning-rate"),
            (vec![ok, ok], vec![t("w_in", &zeros), t("w_out", &zeros)], "2 thread positions"),
            (vec![ok], vec![t("w_in", &zeros)], "w_out is missing"),
            (vec![ok], vec![t("w_in", &zeros), Tensor { name: "w_out", shape: vec![d, v], data: &zeros }], "shape"),
            (vec![ok], vec![t("w_in", &zeros), t("w_out", &nan)], "non-finite"),
        ];
        for (cursors, tensors, want) in cases {
            save(&path, &cfg, fp, &cursors, &tensors).unwrap();
            let e = run(&c, &cfg, &path, 1_000, None).unwrap_err();
            assert!(e.to_string().contains(want), "want {want:?}: {e}");
        }
        // And the well-formed version of the same file is accepted.
        save(&path, &cfg, fp, &[ok], &[t("w_in", &zeros), t("w_out", &zeros)]).unwrap();
        assert!(run(&c, &cfg, &path, 1_000, None).is_ok());
    }

    /// The fingerprint sees every part of the encoded corpus.
    #[test]
    fn fingerprint_changes_with_the_corpus() {
        let lines = ["a b c d", "b c a b"];
        let fp = |lines: &[&str], min| corpus_fingerprint(&Corpus::from_lines(lines.iter().copied(), min, None).unwrap());
        let base = fp(&lines, 1);
        assert_eq!(base, fp(&lines, 1));
        assert_ne!(base, fp(&["a b c d", "b c b a"], 1), "word order");
        assert_ne!(base, fp(&["a b c d b", "c a b"], 1), "sentence ends");
        // Counts a 2, b 3, c 2, d 1: min count 2 drops d.
        assert_ne!(base, fp(&lines, 2), "min count");
    }
}
