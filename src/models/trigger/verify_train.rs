//! Training the verifier on windows cut from the detector's own kind of training example.
//!
//! Each 10-s example (the same recipe, banks and seeds as [`super::train`]) becomes PCEN
//! frames, then windows at the frames where the detector would fire: after each positive's
//! end (label 1), around each negative word's end (label 0: the near-rhymes the detector
//! mistakes for the word fire there), and at one random frame away from every positive
//! (label 0). Data-parallel over threads like the detector; no batch norm, so the replicas
//! share nothing but weights.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use ndarray::{Array1, Array2, Array3, Axis};
use rand::Rng;

use super::data::{self, Bank, Example};
use super::detect::{EARLY, LATE};
use super::model::TriggerNet;
use super::train::{Augment, Event, TrainConfig, example_seed, mined_weight, mining_inputs, on_chunks, on_replicas, train_on};
use super::verify::{Verifier, VerifierConfig, window};
use crate::dsp::SpectrogramConfig;
use crate::dsp::pcen::{PcenConfig, pcen};
use crate::dsp::spectrogram::{mel_centres, spectrogram};
use crate::models::ModelError;
use crate::nn::optim::{Adam, Optimizer, clip_by_global_norm};
use crate::nn::param::{add_grads, copy_values};
use crate::nn::{Module, seeded_rng};

/// Where, relative to a positive's end, the detector fires (seconds): the shipped one
/// answers 62 ms after the end at the median and 113 ms at the 95th percentile.
pub const POSITIVE_FIRE: (f64, f64) = (-0.05, 0.25);
/// The same around a negative word's end: wider and earlier, because the detector fires
/// on "activat-" inside "activated" before the word is over.
pub const NEGATIVE_FIRE: (f64, f64) = (-0.4, 0.25);

/// The frame whose arrival completes the audio up to `t` seconds (frame f ends at
/// (f·hop + window) / rate), floored at frame 0.
pub fn frame_at(t: f64, spec: &SpectrogramConfig) -> usize {
    let f = (t * spec.sample_rate as f64 - spec.window as f64) / spec.hop as f64;
    // a step's own time lands on its last frame's end, give or take rounding
    (f + 1e-6).max(0.0).floor() as usize
}

/// PCEN frames [T, M] of a 16-kHz signal: what the verifier reads.
pub fn verifier_frames(samples: &[f32], spec: &SpectrogramConfig) -> Result<Array2<f32>, ModelError> {
    augmented_frames(samples, spec, Augment::default(), 0)
}

/// [`verifier_frames`] with the log-mel frames warped and masked (as the detector's training
/// does, drawn from `seed`) before PCEN.
fn augmented_frames(samples: &[f32], spec: &SpectrogramConfig, augment: Augment, seed: u64) -> Result<Array2<f32>, ModelError> {
    let mut sg = spectrogram(samples, spec).map_err(|e| ModelError::Invalid(e.to_string()))?;
    if augment.vtlp {
        data::vtlp(&mut sg, &mel_centres(spec), data::vtlp_alpha(seed));
    }
    if augment.spec_augment {
        data::spec_augment(&mut sg, seed);
    }
    Ok(pcen(sg.view(), &PcenConfig::default()))
}

/// One example's windows and labels (see the module doc), drawn from `seed`; `augment`
/// warps and masks the log-mel frames (as the detector's training does) before PCEN.
pub fn example_windows(ex: &Example, cfg: &VerifierConfig, seed: u64, augment: Augment) -> Result<Vec<(Array2<f32>, f32)>, ModelError> {
    let spec = SpectrogramConfig::default();
    let frames = augmented_frames(&ex.samples, &spec, augment, seed)?;
    if frames.nrows() == 0 {
        return Ok(Vec::new());
    }
    let rate = data::SAMPLE_RATE as f64;
    let mut rng = seeded_rng(seed ^ 0x5EC0);
    let mut out = Vec::new();
    let at = |t: f64, label: f32, out: &mut Vec<(Array2<f32>, f32)>| out.push((window(frames.view(), frame_at(t, &spec), cfg), label));
    let ends: Vec<f64> = ex.ends.iter().map(|&e| e as f64 / rate).collect();
    for &e in &ends {
        at(e + rng.random_range(POSITIVE_FIRE.0..POSITIVE_FIRE.1), 1.0, &mut out);
    }
    for &(_, end, _) in &ex.negatives {
        at(end as f64 / rate + rng.random_range(NEGATIVE_FIRE.0..NEGATIVE_FIRE.1), 0.0, &mut out);
    }
    let seconds = ex.samples.len() as f64 / rate;
    let t = rng.random_range(0.0..seconds);
    // a detection there would count as a hit, so it is no negative
    if ends.iter().all(|&e| t < e - EARLY || t > e + LATE) {
        at(t, 0.0, &mut out);
    }
    Ok(out)
}

/// Windows [N, W, M] and labels [N] from the examples of `seeds`.
pub fn make_windows(bank: &Bank, cfg: &TrainConfig, vcfg: &VerifierConfig, seeds: &[u64], augment: Augment) -> Result<(Array3<f32>, Array1<f32>), ModelError> {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for &s in seeds {
        for (w, y) in example_windows(&data::make_example(bank, &cfg.example, s), vcfg, s, augment)? {
            xs.push(w);
            ys.push(y);
        }
    }
    let mut x = Array3::zeros((xs.len(), vcfg.frames(), vcfg.n_mels));
    for (mut dst, w) in x.outer_iter_mut().zip(&xs) {
        dst.assign(w);
    }
    Ok((x, Array1::from(ys)))
}

/// Where mining reads each negative, relative to its end (s): both ends and the middle of
/// [`NEGATIVE_FIRE`], where the detector fires on words that begin like the trigger.
const MINING_FIRE: [f64; 3] = [NEGATIVE_FIRE.0, (NEGATIVE_FIRE.0 + NEGATIVE_FIRE.1) / 2.0, NEGATIVE_FIRE.1];

/// The verifier's frames of each negative as the detector's mining hears it
/// ([`mining_inputs`]: the word 0.25 s into a quiet bed), with the second its word ends;
/// made once per run.
pub fn mining_frames(bank: &Bank) -> Result<Vec<(Array2<f32>, f64)>, ModelError> {
    let rate = data::SAMPLE_RATE as f64;
    let inputs = mining_inputs(bank)?;
    Ok(inputs.iter().zip(&bank.negatives).map(|(sg, clip)| (pcen(sg.view(), &PcenConfig::default()), 0.25 + clip.len() as f64 / rate)).collect())
}

/// Hard-negative mining for the verifier (`--mine`, as for the detector): each negative's
/// [`mined_weight`] from the verifier's probabilities at [`MINING_FIRE`].
pub fn hard_negative_weights(v: &Verifier<f32>, mining: &[(Array2<f32>, f64)], threads: usize) -> Result<Vec<f32>, ModelError> {
    let spec = SpectrogramConfig::default();
    let cfg = v.config();
    on_chunks(mining, threads, |chunk| {
        let mut out = Vec::with_capacity(chunk.len());
        // 16 words (48 windows) a pass fill the network's matrices better than one word
        for group in chunk.chunks(16) {
            let mut x = Array3::zeros((group.len() * MINING_FIRE.len(), cfg.frames(), cfg.n_mels));
            for (i, (frames, end)) in group.iter().enumerate() {
                for (j, off) in MINING_FIRE.iter().enumerate() {
                    x.index_axis_mut(Axis(0), i * MINING_FIRE.len() + j).assign(&window(frames.view(), frame_at(end + off, &spec), cfg));
                }
            }
            let p = v.predict(x.view())?.to_vec();
            out.extend(p.chunks(MINING_FIRE.len()).map(|w| mined_weight(w.iter().copied())));
        }
        Ok(out)
    })
}

/// How the verifier does on held-out windows at probability 0.5.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WindowScore {
    pub loss: f64,
    /// Share of positive windows kept.
    pub recall: f64,
    /// Share of negative windows kept.
    pub false_accept_rate: f64,
    pub positives: usize,
    pub negatives: usize,
}

pub fn validate(v: &Verifier<f32>, x: &Array3<f32>, y: &Array1<f32>) -> Result<WindowScore, ModelError> {
    let mut p = Vec::with_capacity(y.len());
    for lo in (0..y.len()).step_by(64) {
        let hi = (lo + 64).min(y.len());
        p.extend(v.predict(x.slice(ndarray::s![lo..hi, .., ..]))?);
    }
    let eps = 1e-7f32;
    let loss = p.iter().zip(y).map(|(&p, &y)| -(y * (p + eps).ln() + (1.0 - y) * (1.0 - p + eps).ln()) as f64).sum::<f64>() / p.len().max(1) as f64;
    let kept = |label: f32| p.iter().zip(y).filter(|(p, y)| **y == label && **p >= 0.5).count();
    let positives = y.iter().filter(|&&y| y == 1.0).count();
    let negatives = y.len() - positives;
    Ok(WindowScore {
        loss,
        recall: kept(1.0) as f64 / positives.max(1) as f64,
        false_accept_rate: kept(0.0) as f64 / negatives.max(1) as f64,
        positives,
        negatives,
    })
}

/// Trains a verifier for `cfg.word` on `cfg`'s schedule (epochs of `cfg.examples` examples,
/// `cfg.batch` examples per step, the same learning rate decay; with
/// `cfg.mine_hard_negatives`, the bank's negatives reweighted before every epoch but the
/// first). Returns it with the last validation.
pub fn train_verifier(
    cfg: &TrainConfig,
    vcfg: &VerifierConfig,
    mut train_bank: Bank,
    val_bank: &Bank,
    checkpoint: Option<&Path>,
    on_event: &mut dyn FnMut(Event<WindowScore>) -> ControlFlow<()>,
) -> Result<(Verifier<f32>, Option<WindowScore>), ModelError> {
    cfg.validate()?;
    let mut v = Verifier::<f32>::new(vcfg.clone(), cfg.seed)?;
    let stats_seeds: Vec<u64> = (0..24).map(|i| example_seed(cfg.seed ^ 0x57A7, 0, i)).collect();
    let (sx, _) = make_windows(&train_bank, cfg, vcfg, &stats_seeds, Augment::default())?;
    let flat = sx.view().into_shape_with_order((sx.len() / vcfg.n_mels, vcfg.n_mels)).map_err(|e| ModelError::Invalid(e.to_string()))?;
    v.feat_mean.value = flat.mean_axis(Axis(0)).ok_or_else(|| ModelError::Invalid("no training windows".into()))?;
    v.feat_scale.value = flat.std_axis(Axis(0), 0.0).mapv(|s| 1.0 / s.max(1e-3));
    v.info.insert("word".into(), cfg.word.clone());
    v.info.insert("seed".into(), cfg.seed.to_string());
    let mut opt = Adam::<f32>::new(cfg.lr);
    let mut first_epoch = 0;
    if let Some(path) = checkpoint.filter(|p| p.exists()) {
        let w = crate::nn::weights::Weights::read(path)?;
        let saved = Verifier::from_weights(&w, &["adam."])?;
        if saved.config() != v.config() || saved.info.get("word") != v.info.get("word") {
            return Err(ModelError::Invalid(format!("checkpoint {} belongs to a different verifier or word; delete it or train to another --out", path.display())));
        }
        v = saved;
        first_epoch = crate::nn::weights::restore_checkpoint(&w, &mut opt)?;
    }
    let val_seeds: Vec<u64> = (0..cfg.val_examples).map(|i| example_seed(cfg.seed ^ 0x7A1, 0, i)).collect();
    let (vx, vy) = make_windows(val_bank, cfg, vcfg, &val_seeds, Augment::default())?;
    let threads = cfg.threads.min(cfg.batch).max(1);
    let mut replicas: Vec<Verifier<f32>> = vec![v.clone(); threads];
    let steps_per_epoch = cfg.examples.div_ceil(cfg.batch);
    let mut last_val = None;
    let mining = if cfg.mine_hard_negatives { mining_frames(&train_bank)? } else { Vec::new() };
    for epoch in first_epoch..cfg.epochs {
        let epoch_start = Instant::now();
        opt.lr = cfg.lr_at(epoch);
        if cfg.mine_hard_negatives && epoch > 0 {
            // From the verifier as it stands, so a resumed run mines what the straight one did.
            train_bank.negative_weights = hard_negative_weights(&v, &mining, threads)?;
        }
        let train_bank = &train_bank;
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        for step in 0..steps_per_epoch {
            let lo = step * cfg.batch;
            let n = cfg.batch.min(cfg.examples - lo);
            let per = n.div_ceil(threads);
            for r in replicas.iter_mut() {
                copy_values(&mut v, r);
                r.zero_grad();
            }
            let results = on_replicas(&mut replicas, |t, r| {
                let a = (lo + t * per).min(lo + n);
                let b = (a + per).min(lo + n);
                let seeds: Vec<u64> = (a..b).map(|i| example_seed(cfg.seed, epoch, i)).collect();
                // drawn from (epoch, step, worker) so a resumed run drops what an unbroken one would
                r.reseed_dropout(example_seed(cfg.seed ^ 0xD809, epoch, lo + t));
                let (x, y) = make_windows(train_bank, cfg, vcfg, &seeds, cfg.augment)?;
                if y.is_empty() {
                    return Ok((0.0, 0));
                }
                Ok((r.train_batch(x.view(), y.view())?, y.len()))
            });
            v.zero_grad();
            let (mut step_loss, mut step_n, mut shards) = (0.0, 0, 0);
            for (r, res) in replicas.iter_mut().zip(results) {
                let (loss, k) = res?;
                if k > 0 {
                    add_grads(&mut v, r);
                    step_loss += loss * k as f64;
                    step_n += k;
                    shards += 1;
                }
            }
            let scale = 1.0 / shards.max(1) as f32;
            v.visit("", &mut |_, mut p| p.grad.mapv_inplace(|g| g * scale));
            clip_by_global_norm(&mut v, cfg.clip);
            opt.step(&mut v);
            loss_sum += step_loss;
            seen += step_n;
            let ev = Event::Progress { epoch, epochs: cfg.epochs, done: (lo + n).min(cfg.examples), total: cfg.examples, loss: loss_sum / seen.max(1) as f64 };
            if on_event(ev).is_break() {
                return Ok((v, last_val));
            }
        }
        let score = validate(&v, &vx, &vy)?;
        v.info.insert("val_accuracy".into(), format!("{:.4}", accuracy(&score)));
        if let Some(path) = checkpoint {
            let meta = v.metadata();
            crate::nn::weights::save_checkpoint(path, &mut v, meta, &opt, epoch + 1)?;
        }
        last_val = Some(score.clone());
        let ev = Event::Epoch { epoch, train_loss: loss_sum / seen.max(1) as f64, val: Some(score), seconds: epoch_start.elapsed().as_secs_f64() };
        if on_event(ev).is_break() {
            break;
        }
    }
    Ok((v, last_val))
}

/// The verifier a new word gets beside its detector: the shipped verifier's recipe (warped
/// and masked frames, dropout 0.3) on a fifth of the detector's schedule (12 of 60 epochs,
/// a seventh of its time: held out, 30 epochs were no better), hearing 80 ms past the
/// detector's firing instead of 160. The shipped pair needs the longer wait to hear
/// "activat-" go on into "activist"; a new word is trained against no such words of its
/// own, and on two of them the shorter wait kept as many words at as many false accepts,
/// 80 ms sooner (README). `seqlab trigger train --word W --verifier --vtlp --spec-augment
/// --dropout 0.3 --epochs 12 --hear-after 8` is the same from the terminal.
pub fn new_word_recipe(cfg: &TrainConfig) -> (TrainConfig, VerifierConfig) {
    let epochs = (cfg.epochs / 5).max(1);
    let verifier = VerifierConfig { dropout: 0.3, after: 8, ..VerifierConfig::default() };
    (TrainConfig { augment: Augment { vtlp: true, spec_augment: true }, epochs, ..cfg.clone() }, verifier)
}

/// The share of [`train_word`]'s work that is the detector's (its examples against the
/// verifier's), so one progress bar can hold both trainings.
pub fn detector_share(cfg: &TrainConfig) -> f32 {
    let detector = (cfg.epochs * cfg.examples) as f32;
    let verifier = new_word_recipe(cfg).0;
    detector / (detector + (verifier.epochs * verifier.examples) as f32).max(1.0)
}

/// A new word's detector on `cfg`, then its verifier ([`new_word_recipe`]) on the same banks;
/// no verifier when the detector's training was stopped, or when the verifier's was.
pub fn train_word(
    cfg: &TrainConfig,
    train_bank: Bank,
    val_bank: &Bank,
    on_detector: &mut dyn FnMut(Event) -> ControlFlow<()>,
    on_verifier: &mut dyn FnMut(Event<WindowScore>) -> ControlFlow<()>,
) -> Result<(TriggerNet<f32>, Option<Verifier<f32>>), ModelError> {
    let mut stopped = false;
    let (net, _) = train_on(cfg, train_bank.clone(), val_bank, None, &mut |e| {
        let flow = on_detector(e);
        stopped |= flow.is_break();
        flow
    })?;
    if stopped {
        return Ok((net, None));
    }
    let (vtrain, vcfg) = new_word_recipe(cfg);
    let (v, _) = train_verifier(&vtrain, &vcfg, train_bank, val_bank, None, &mut |e| {
        let flow = on_verifier(e);
        stopped |= flow.is_break();
        flow
    })?;
    Ok((net, (!stopped).then_some(v)))
}

fn accuracy(s: &WindowScore) -> f64 {
    let right = s.recall * s.positives as f64 + (1.0 - s.false_accept_rate) * s.negatives as f64;
    right / (s.positives + s.negatives).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::trigger::data::ExampleSpec;

    /// Frame f ends at (160 f + 400) / 16000 s, so t = 1 s is frame (16000 - 400) / 160 =
    /// 97.5, floored to 97 (frame 98 ends at 1.005 s); t = 0.0425 s is frame 1 exactly (its
    /// end), and anything before the first frame's end is frame 0.
    #[test]
    fn golden_frame_at() {
        let spec = SpectrogramConfig::default();
        assert_eq!(frame_at(1.0, &spec), 97);
        assert_eq!(frame_at(0.0425, &spec), 1);
        assert_eq!(frame_at(0.01, &spec), 0);
    }

    /// A 3-s example with a positive ending at 1 s and a negative ending at 2 s gives one
    /// window labelled 1, one labelled 0 and at most one random one (0), each W x M. Warping
    /// and masking change the frames, not the windows' places or labels.
    #[test]
    fn example_windows_label_words() {
        let samples = (0..48_000).map(|i| (i as f32 * 0.05).sin() * 0.1 + (i as f32 * 0.31).sin() * 0.05).collect();
        let ex = Example { samples, ends: vec![16_000], positives: vec![(8_000, 16_000, 0)], negatives: vec![(24_000, 32_000, 0)] };
        let cfg = VerifierConfig { n_mels: 40, before: 30, after: 4, ..VerifierConfig::default() };
        let w = example_windows(&ex, &cfg, 3, Augment::default()).unwrap();
        assert!((2..=3).contains(&w.len()));
        assert_eq!((w[0].1, w[1].1), (1.0, 0.0));
        assert!(w[2..].iter().all(|(_, y)| *y == 0.0));
        assert!(w.iter().all(|(x, _)| x.dim() == (34, 40)));
        let warped = example_windows(&ex, &cfg, 3, Augment { vtlp: true, spec_augment: true }).unwrap();
        assert_eq!(warped.iter().map(|(_, y)| *y).collect::<Vec<_>>(), w.iter().map(|(_, y)| *y).collect::<Vec<_>>());
        assert!(warped.iter().zip(&w).all(|((a, _), (b, _))| (a - b).mapv(f32::abs).sum() > 1e-3));
    }

    /// Mining weighs each negative once, from 1 to 5, whatever the thread count; a verifier
    /// that keeps every window (output bias +1e4) gives every word the top weight, 5.
    #[test]
    fn mined_weights_are_bounded_and_thread_independent() {
        let hum: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.07).sin() * 0.5).collect();
        let low: Vec<f32> = (0..9000).map(|i| (i as f32 * 0.02).sin() * 0.3).collect();
        let bank = Bank { negatives: vec![hum, low], ..Bank::default() };
        let v = Verifier::<f32>::new(VerifierConfig { filters: 4, units: 3, before: 40, after: 4, ..VerifierConfig::default() }, 3).unwrap();
        let mining = mining_frames(&bank).unwrap();
        let w = hard_negative_weights(&v, &mining, 3).unwrap();
        assert_eq!(w.len(), 2);
        assert!(w.iter().all(|&x| (1.0..=5.0).contains(&x)), "{w:?}");
        assert_eq!(w, hard_negative_weights(&v, &mining, 1).unwrap());
        let mut keen = v.clone();
        keen.out.b.value.fill(1e4);
        assert_eq!(hard_negative_weights(&keen, &mining, 2).unwrap(), vec![5.0, 5.0]);
    }

    /// A bank whose one positive is a rising chirp and whose one negative is a steady hum.
    fn chirp_and_hum() -> Bank {
        let chirp: Vec<f32> = (0..6000).map(|i| (i as f32 * (0.05 + i as f32 * 2e-5)).sin() * 0.5).collect();
        let hum: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.07).sin() * 0.5).collect();
        Bank { positives: vec![chirp], negatives: vec![hum], negative_names: vec!["hum".into()], ..Bank::default() }
    }

    /// A new word gets its detector and then a verifier for the same word on the shipped
    /// verifier's recipe (dropout 0.3, warped and masked frames); stopping either training
    /// leaves the word without one, and stopping the detector's never starts the verifier's.
    #[test]
    fn a_new_word_gets_a_detector_then_its_verifier() {
        let bank = chirp_and_hum();
        let cfg = TrainConfig {
            word: "hey seqlab".into(),
            model: crate::models::trigger::model::TriggerConfig { filters: 4, units: 3, ..crate::models::trigger::model::TriggerConfig::small() },
            epochs: 1,
            examples: 2,
            batch: 2,
            val_examples: 1,
            example: ExampleSpec { seconds: 2.0, ..Default::default() },
            ..TrainConfig::default()
        };
        let (vtrain, vcfg) = new_word_recipe(&cfg);
        assert_eq!((vtrain.augment, vcfg.dropout, vtrain.epochs, vtrain.word.as_str()), (Augment { vtlp: true, spec_augment: true }, 0.3, 1, "hey seqlab"));
        // it answers 80 ms after the detector fires: 8 frames of 160 samples at 16 kHz
        assert!((vcfg.hold_seconds(&crate::dsp::SpectrogramConfig::default()) - 0.08).abs() < 1e-9);
        // 12 of the default 60 epochs; the bar gives the detector 48,000 of 57,600 examples
        let default_word = TrainConfig { word: "hey seqlab".into(), ..TrainConfig::default() };
        assert_eq!(new_word_recipe(&default_word).0.epochs, 12);
        assert!((detector_share(&default_word) - 48_000.0 / 57_600.0).abs() < 1e-6);

        let mut go = |_: Event| ControlFlow::Continue(());
        let (net, v) = train_word(&cfg, bank.clone(), &bank, &mut go, &mut |_| ControlFlow::Continue(())).unwrap();
        let v = v.expect("a verifier");
        assert!(crate::models::trigger::verifier_fits(&net, &v));
        assert_eq!(v.config(), &vcfg);

        let mut verifier_heard = false;
        let (_, v) = train_word(&cfg, bank.clone(), &bank, &mut |_| ControlFlow::Break(()), &mut |_| {
            verifier_heard = true;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert!(v.is_none() && !verifier_heard);
        let (_, v) = train_word(&cfg, bank.clone(), &bank, &mut go, &mut |_| ControlFlow::Break(())).unwrap();
        assert!(v.is_none());
    }

    /// Positives a rising chirp, negatives a steady hum: a few steps of training on a tiny
    /// verifier with dropout and mining give finite figures, and stopping after epoch 1 then
    /// resuming from the checkpoint ends with the weights of a run that never stopped (the
    /// same masks and mined weights included).
    #[test]
    fn trains_and_resumes_as_uninterrupted() {
        let bank = chirp_and_hum();
        let cfg = TrainConfig {
            epochs: 2,
            examples: 4,
            batch: 2,
            val_examples: 2,
            mine_hard_negatives: true,
            example: ExampleSpec { seconds: 2.0, ..Default::default() },
            ..TrainConfig::default()
        };
        let vcfg = VerifierConfig { filters: 4, units: 3, before: 40, after: 4, dropout: 0.3, ..VerifierConfig::default() };
        let (mut straight, val) = train_verifier(&cfg, &vcfg, bank.clone(), &bank, None, &mut |_| ControlFlow::Continue(())).unwrap();
        assert!(val.is_some_and(|v| v.loss.is_finite()));
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("v.ckpt.safetensors");
        let first = &mut |e: Event<WindowScore>| if matches!(e, Event::Epoch { .. }) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
        train_verifier(&cfg, &vcfg, bank.clone(), &bank, Some(&ck), first).unwrap();
        let (mut resumed, _) = train_verifier(&cfg, &vcfg, bank.clone(), &bank, Some(&ck), &mut |_| ControlFlow::Continue(())).unwrap();
        let params = |v: &mut Verifier<f32>| {
            let mut out = Vec::new();
            v.visit("", &mut |_, p| out.extend(p.value.iter().copied()));
            out
        };
        let diff = params(&mut straight).iter().zip(params(&mut resumed)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(diff < 1e-6, "max weight difference {diff}");
    }
}
