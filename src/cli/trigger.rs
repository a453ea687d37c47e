//! `seqlab trigger ...`: train, detect, eval, check, bench and make-eval for the trigger-word lab.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use super::progress;
use crate::dsp::write_wav;
use crate::models::trigger::check::{self, CheckSpec};
use crate::models::trigger::data::{self, Acoustics, ExampleSpec, NegativeWords};
use crate::models::trigger::detect::DetectorConfig;
use crate::models::trigger::model::{TriggerConfig, TriggerNet};
use crate::models::trigger::run::{self, MakeEvalSpec};
use crate::models::trigger::train::{self as ttrain, Augment, Event, TrainConfig};
use crate::models::trigger::verify::{VerifierConfig, VerifierStream};
use crate::models::trigger::verify_train;
use crate::models::trigger::{self, SHIPPED_NAME};

/// Where the shared data lives relative to the repository root.
const SPEECH_COMMANDS: &str = "../shared/data/speech/speech_commands_sample";
const BACKGROUNDS: &str = "../shared/data/speech/background_noise";

/// Where synthesis and mixing draw their material.
#[derive(clap::Args, Clone, Debug)]
pub struct SourceArgs {
    /// Speech Commands folder (real voices; used when it is there)
    #[arg(long, default_value = SPEECH_COMMANDS)]
    speech_commands: PathBuf,
    /// Folder of background recordings (used when it is there)
    #[arg(long, default_value = BACKGROUNDS)]
    backgrounds: PathBuf,
    /// Cache of synthesised words
    #[arg(long, default_value = ".seqlab-cache/tts")]
    cache: PathBuf,
}

impl SourceArgs {
    /// The Speech Commands folder and the backgrounds' when they exist, each missing one
    /// noted on stderr.
    fn folders(&self) -> (Option<PathBuf>, Option<PathBuf>) {
        (existing(&self.speech_commands, "Speech Commands"), existing(&self.backgrounds, "background"))
    }
}

#[derive(clap::Args, Clone, Debug)]
pub struct DetectorArgs {
    #[arg(long, help = format!(
        "0..1; the threshold on the network's probability is 1 - sensitivity [default: {} behind two or more verifiers (the shipped pair), {} behind one (a new word's), {} alone]",
        DetectorConfig::behind(2).sensitivity, DetectorConfig::behind(1).sensitivity, DetectorConfig::behind(0).sensitivity
    ))]
    sensitivity: Option<f32>,
    #[arg(long, help = format!(
        "Consecutive 40-ms output steps at or above the threshold needed to fire [default: {} behind the second look, {} alone]",
        DetectorConfig::behind(2).min_steps, DetectorConfig::behind(0).min_steps
    ))]
    min_steps: Option<usize>,
    /// Seconds after a detection during which no other fires
    #[arg(long, default_value_t = DetectorConfig::default().refractory_s)]
    refractory: f64,
}

impl DetectorArgs {
    /// The settings for a detector with `verifiers` behind it (0: alone).
    fn config(&self, verifiers: usize) -> DetectorConfig {
        let defaults = DetectorConfig::behind(verifiers);
        DetectorConfig { sensitivity: self.sensitivity.unwrap_or(defaults.sensitivity), min_steps: self.min_steps.unwrap_or(defaults.min_steps), refractory_s: self.refractory }
    }
}

/// The second stage: a bidirectional GRU that hears the whole word, and 0.16 s after it
/// (0.08 s for a new word's), before the chime. On unless turned off whenever the shipped
/// verifier knows the detector's word.
#[derive(clap::Args, Clone, Debug)]
pub struct VerifierArgs {
    /// Insist on the second look: a detector for a word the shipped verifier does not know
    /// is then an error instead of running alone
    #[arg(long, conflicts_with = "no_verify")]
    verify: bool,
    /// The detector alone, without the second look: 160 ms sooner (80 behind a new word's
    /// verifier), several times more false accepts
    #[arg(long)]
    no_verify: bool,
    /// Verifier weights instead of the shipped pair (implies --verify); repeat it to average
    /// several
    #[arg(long, conflicts_with = "no_verify")]
    verifier: Vec<PathBuf>,
    /// The verifiers' mean probability needed to keep a detection
    #[arg(long, default_value_t = 0.5)]
    verifier_threshold: f32,
}

impl VerifierArgs {
    /// The second look that `net`'s detections get, if any, and the detector settings that
    /// go with it (the sensitivity's default depends on whether there is one).
    pub(crate) fn with_settings(&self, detector: &DetectorArgs, net: &TriggerNet<f32>) -> anyhow::Result<(Option<VerifierStream>, DetectorConfig)> {
        let look = self.stream(net)?;
        let det = detector.config(look.as_ref().map_or(0, |l| l.members().len()));
        Ok((look, det))
    }

    /// The second look that `net`'s detections get, if any.
    fn stream(&self, net: &TriggerNet<f32>) -> anyhow::Result<Option<VerifierStream>> {
        let verifier = if self.no_verify {
            None
        } else if self.verify || !self.verifier.is_empty() {
            Some(trigger::load_verifiers(&self.verifier)?)
        } else {
            trigger::default_verifiers(net)?
        };
        Ok(verifier.map(|v| VerifierStream::new(v, self.verifier_threshold)).transpose()?)
    }
}

/// What the network's first layer sees.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Features {
    /// Per-channel energy normalisation of log-mel frames: an automatic gain control per band
    Pcen,
    /// The course's log spectrogram, on the mel scale
    LogMel,
}

#[derive(Subcommand)]
pub enum Action {
    /// Train a detector for a word on synthetic speech (the shipped one adds 300 made voices:
    /// --made-voices 300 --positives 900 --negatives 1800; a new word gets the same 60-epoch
    /// schedule without them, about 8 min here), or with --verifier its second look
    Train {
        #[arg(long, default_value = "activate")]
        word: String,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Fresh 10-s examples per epoch
        #[arg(long, default_value_t = TrainConfig::default().examples)]
        examples: usize,
        #[arg(long, default_value_t = TrainConfig::default().epochs)]
        epochs: usize,
        #[arg(long, default_value_t = TrainConfig::default().batch)]
        batch: usize,
        #[arg(long, default_value_t = TrainConfig::default().lr)]
        lr: f64,
        #[arg(long, default_value_t = TrainConfig::default().threads)]
        threads: usize,
        /// 96 filters and GRUs of 96 instead of the course's 196 and 128: 1.6x as fast to train
        #[arg(long)]
        small: bool,
        /// What the network sees; saved with the weights
        #[arg(long, value_enum, default_value_t = Features::Pcen)]
        features: Features,
        /// Mine hard negatives: from the second epoch, draw the negatives the network being
        /// trained (detector or verifier) scores high up to five times as often (see the README)
        #[arg(long)]
        mine: bool,
        /// SpecAugment: mask two bands of up to 5 mel bands and two stretches of up to 150 ms
        /// in every training spectrogram (measured: no gain at 30 epochs; see the README)
        #[arg(long)]
        spec_augment: bool,
        /// Vocal-tract-length perturbation: warp every training spectrogram's frequency axis
        /// by a factor drawn from 0.88-1.12, moving formants without touching pitch or timing
        #[arg(long)]
        vtlp: bool,
        /// Add this many espeak-ng voices that seqlab writes itself (random vocal tract,
        /// formants, pitch, roughness, breath, and in half of them rhythm) to the training voices
        #[arg(long, default_value_t = 0)]
        made_voices: usize,
        /// A folder of your own recordings of the word (WAV or FLAC, any rate), added to the
        /// positives so they make up at least a quarter of them
        #[arg(long)]
        own_voice: Option<PathBuf>,
        /// Seconds after each "activate" ends before its label starts, so the detector hears
        /// whether the word goes on before it fires (adds that much latency)
        #[arg(long, default_value_t = 0.0)]
        label_delay: f64,
        /// Share of examples whose background is loud (-36..-22 dBFS instead of -60..-22), so
        /// their words are at the low end of the SNRs, 0..1
        #[arg(long, default_value_t = 0.0)]
        loud_backgrounds: f64,
        /// For a word other than "activate", make a third of the negatives its own
        /// near-rhymes (computers, comuter, bomputer... for "computer"): far fewer false
        /// accepts on them, at a cost in recall that depends on the word (README)
        #[arg(long)]
        own_near_rhymes: bool,
        /// Say one of the word's closest sound-alikes (captivate, activist, reactivate... for
        /// "activate") in the voice, at the speed and pitch, of each of the first N positives,
        /// as a negative: minimal pairs, where only the word tells them apart
        #[arg(long, default_value_t = 0)]
        minimal_pairs: usize,
        /// Share of examples whose words are heard in a random room (RT60 0.15-0.9 s), 0..1
        #[arg(long, default_value_t = TrainConfig::default().example.acoustics.reverb)]
        reverb: f64,
        /// Share of examples heard through a random microphone or line (band limits, a peak or
        /// dip of up to 9 dB), 0..1
        #[arg(long, default_value_t = TrainConfig::default().example.acoustics.eq)]
        eq: f64,
        /// TTS positives and negatives to synthesise
        #[arg(long, default_value_t = TrainConfig::default().positives)]
        positives: usize,
        #[arg(long, default_value_t = TrainConfig::default().negatives)]
        negatives: usize,
        #[arg(long, default_value_t = TrainConfig::default().val_examples)]
        val_examples: usize,
        #[command(flatten)]
        sources: SourceArgs,
        /// Write a few training examples here as WAV (with their labels) and exit
        #[arg(long)]
        write_samples: Option<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop after this many epochs of the schedule (the learning rate still decays over
        /// --epochs) and save
        #[arg(long)]
        stop_after: Option<usize>,
        /// Train the second-stage verifier instead of the detector, on the same data
        /// (default --out assets/trigger-verifier.safetensors)
        #[arg(long)]
        verifier: bool,
        /// Fraction of activations dropped at each Dropout in training (default: the
        /// model's own, 0.2 for the detector and 0 for the verifier)
        #[arg(long)]
        dropout: Option<f64>,
        /// With --verifier: how many 10-ms frames past the detector's firing the verifier
        /// waits to hear, which is the latency it adds [default: 16]
        #[arg(long)]
        hear_after: Option<usize>,
    },
    /// Print detection times in a WAV/FLAC file, heard out with 1 s of room tone as a
    /// microphone would go on; optionally write it with chimes mixed in.
    Detect {
        file: PathBuf,
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        verify: VerifierArgs,
        #[arg(long)]
        chime_out: Option<PathBuf>,
        #[command(flatten)]
        detector: DetectorArgs,
        #[arg(long)]
        json: bool,
    },
    /// Score a folder with labels.tsv (file, kind, ends): recall, false accepts per hour, latency, speed; with contents.tsv beside it, what set each false accept off and who said it, and whose words were missed.
    Eval {
        dir: PathBuf,
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        verify: VerifierArgs,
        #[command(flatten)]
        detector: DetectorArgs,
        #[arg(long)]
        json: bool,
    },
    /// Run one detector for hours over a held-out stream, never resetting it: recall and false
    /// accepts per segment, and how far it strays from a fresh detector at each segment's start.
    Drift {
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        detector: DetectorArgs,
        #[arg(long, default_value = "activate")]
        word: String,
        #[arg(long, default_value_t = 3.0)]
        hours: f64,
        #[arg(long, default_value_t = 30.0)]
        segment_minutes: f64,
        /// Seconds the fresh detector runs before it is compared
        #[arg(long, default_value_t = 3.0)]
        warm_seconds: f64,
        #[arg(long, default_value_t = 2)]
        seed: u64,
        #[command(flatten)]
        sources: SourceArgs,
        #[arg(long)]
        json: bool,
    },
    /// Streaming speed on one thread, in multiples of real time.
    Bench {
        #[arg(long)]
        model: Option<PathBuf>,
        /// Seconds of audio to stream
        #[arg(long, default_value_t = 600.0)]
        seconds: f64,
        #[arg(long)]
        json: bool,
    },
    /// Listen to the microphone and chime at each detection (`devices` lists the inputs).
    Listen {
        /// Input device name (default: the system's default input)
        #[arg(long)]
        device: Option<String>,
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        verify: VerifierArgs,
        #[command(flatten)]
        detector: DetectorArgs,
        /// Stop after this many seconds (default: until Ctrl-C)
        #[arg(long)]
        seconds: Option<f64>,
        /// One JSON line per detection, then a summary line
        #[arg(long)]
        json: bool,
    },
    /// List the input devices, the default first.
    Devices,
    /// Train a word as the panel does, in one go: its verifier and its detector (about 9.5
    /// min here), saved where the panel's Detector list finds them, then a check of which
    /// words set it off
    NewWord {
        /// The word or short phrase to listen for
        word: String,
        /// Also train against the word's own near-rhymes (as train --own-near-rhymes)
        #[arg(long)]
        own_near_rhymes: bool,
        /// Also say a close sound-alike in the voice, speed and pitch of each of the first N
        /// positives, as a negative, for the detector and its verifier (as train
        /// --minimal-pairs; the panel's box gives 600): far fewer chimes on sound-alikes, a
        /// few more missed words
        #[arg(long, default_value_t = 0)]
        minimal_pairs: usize,
        /// A folder of your own recordings of the word (WAV or FLAC, any rate)
        #[arg(long)]
        own_voice: Option<PathBuf>,
        /// The detector's epochs (its verifier gets a fifth): fewer for a quick try
        #[arg(long, default_value_t = TrainConfig::default().epochs)]
        epochs: usize,
        /// Fresh 10-s examples per epoch
        #[arg(long, default_value_t = TrainConfig::default().examples)]
        examples: usize,
        /// Where trained words are kept
        #[arg(long, default_value = trigger::WORDS_DIR)]
        words: PathBuf,
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// How a detector fares saying by saying: its word said by held-out voices, and which
    /// everyday words and sound-alikes set it off, each heard alone over a background
    Check {
        #[arg(long)]
        model: Option<PathBuf>,
        #[command(flatten)]
        verify: VerifierArgs,
        #[command(flatten)]
        detector: DetectorArgs,
        /// The word to say [default: the one saved with the detector]
        #[arg(long)]
        word: Option<String>,
        /// Sayings of the word by held-out TTS voices
        #[arg(long, default_value_t = CheckSpec::new("").positives)]
        positives: usize,
        /// Sayings of each everyday word and each sound-alike
        #[arg(long, default_value_t = CheckSpec::new("").per_word)]
        per_word: usize,
        #[arg(long, default_value_t = CheckSpec::new("").seed)]
        seed: u64,
        #[command(flatten)]
        sources: SourceArgs,
        /// Print every word heard, and end with one JSON line
        #[arg(long)]
        json: bool,
    },
    /// Write an evaluation folder (WAVs, labels.tsv, and contents.tsv: every word placed, the trigger words among them, and who said it) from voices and speakers held out of training.
    MakeEval {
        dir: PathBuf,
        #[arg(long, default_value = "activate")]
        word: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 200)]
        pos_files: usize,
        #[arg(long, default_value_t = 180)]
        neg_files: usize,
        #[arg(long, default_value_t = 30.0)]
        stream_minutes: f64,
        /// Share of clips whose words are heard in a random room, as in training (0 by default:
        /// dry, as the TTS engines speak)
        #[arg(long, default_value_t = 0.0)]
        reverb: f64,
        /// Share of clips heard through a random microphone or line, as in training
        #[arg(long, default_value_t = 0.0)]
        eq: f64,
        /// Which words the synthetic negatives say
        #[arg(long, value_enum, default_value_t = NegativeWords::All)]
        negatives: NegativeWords,
        #[command(flatten)]
        sources: SourceArgs,
    },
}

/// How many missed words and false accepts `eval` lists before "and N more".
const SPOTS_SHOWN: usize = 8;

fn existing(p: &Path, what: &str) -> Option<PathBuf> {
    if p.is_dir() {
        Some(p.to_path_buf())
    } else {
        eprintln!("note: {what} folder {} not found; going on without it", p.display());
        None
    }
}

pub fn run(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Train {
            word,
            seed,
            examples,
            epochs,
            batch,
            lr,
            threads,
            small,
            features,
            mine,
            spec_augment,
            vtlp,
            made_voices,
            own_voice,
            label_delay,
            loud_backgrounds,
            own_near_rhymes,
            minimal_pairs,
            reverb,
            eq,
            positives,
            negatives,
            val_examples,
            sources,
            write_samples,
            out,
            stop_after,
            verifier,
            dropout,
            hear_after,
        } => {
            let (speech_commands, backgrounds) = sources.folders();
            let cfg = TrainConfig {
                model: {
                    let base = if small { TriggerConfig::small() } else { TriggerConfig::course() };
                    TriggerConfig { pcen: features == Features::Pcen, dropout: dropout.unwrap_or(base.dropout), ..base }
                },
                word,
                seed,
                epochs,
                examples,
                batch,
                lr,
                threads,
                val_examples,
                mine_hard_negatives: mine,
                augment: Augment { spec_augment, vtlp },
                made_voices,
                own_voice,
                positives,
                negatives,
                example: ExampleSpec { label_delay, acoustics: Acoustics { reverb, eq }, loud_backgrounds, ..ExampleSpec::default() },
                speech_commands,
                backgrounds,
                cache: sources.cache,
                negative_words: if own_near_rhymes { NegativeWords::Own } else { NegativeWords::All },
                minimal_pairs,
                ..TrainConfig::default()
            };
            cfg.validate()?;
            if let Some(dir) = write_samples {
                return samples(&cfg, &dir);
            }
            anyhow::ensure!(verifier || hear_after.is_none(), "--hear-after sets the verifier's window: it needs --verifier");
            if verifier {
                let detector_only = small || label_delay != 0.0 || features != Features::Pcen;
                anyhow::ensure!(!detector_only, "--verifier trains on windows of PCEN frames; --small, --features and --label-delay are the detector's");
                let defaults = VerifierConfig::default();
                let vcfg = VerifierConfig { dropout: dropout.unwrap_or(defaults.dropout), after: hear_after.unwrap_or(defaults.after), ..defaults };
                vcfg.validate()?;
                return train_verifier(&cfg, &vcfg, &out.unwrap_or_else(|| PathBuf::from("assets").join(trigger::VERIFIER_NAME)), stop_after);
            }
            train(&cfg, &out.unwrap_or_else(|| PathBuf::from("assets").join(SHIPPED_NAME)), stop_after)
        }
        Action::Detect { file, model, verify, chime_out, detector, json } => {
            let net = trigger::load_model(model.as_deref())?;
            let (look, det) = verify.with_settings(&detector, &net)?;
            let (r, audio) = run::detect_file(&net, &det, look.as_ref(), &file)?;
            for &t in &r.detections {
                let note = if t > r.seconds { " (after the end, in the second of room tone the file is heard out with)" } else { "" };
                println!("detected at {t:.2} s{note}");
            }
            if r.detections.is_empty() {
                println!("no detection in {:.1} s of audio (highest probability {:.3})", r.seconds, r.max_probability());
            }
            if let Some(out) = chime_out {
                let mixed = run::with_chimes(&audio.samples, audio.rate, &r.detections);
                write_wav(&out, &mixed, audio.rate).with_context(|| format!("writing {}", out.display()))?;
                println!("wrote {} with {} chime(s)", out.display(), r.detections.len());
            }
            if json {
                println!("{}", serde_json::json!({"detections": r.detections, "seconds": r.seconds, "max_probability": r.max_probability()}));
            }
            Ok(())
        }
        Action::Eval { dir, model, verify, detector, json } => {
            let net = trigger::load_model(model.as_deref())?;
            let bar = progress::bar(0);
            let (look, det) = verify.with_settings(&detector, &net)?;
            let report = run::eval_dir(&net, look.as_ref(), &det, &dir, |d, t| progress::show(&bar, d, t))?;
            bar.finish_and_clear();
            let look = report.verifier_threshold.map_or("off".to_string(), |t| format!("on ({} verifier{}, mean probability >= {t})", report.verifiers, if report.verifiers == 1 { "" } else { "s" }));
            println!("files {}  audio {:.1} min  sensitivity {}  second look {look}", report.files, report.audio_seconds / 60.0, report.sensitivity);
            println!("recall {:.3} ({} of {} words)", report.recall, report.hits, report.positives);
            println!(
                "false accepts {} in {:.2} h of neg/stream audio = {:.2} per hour",
                report.false_accepts, report.negative_hours, report.false_accepts_per_hour
            );
            println!("latency from word end: median {}, p95 {}", ms(report.latency_ms_median), ms(report.latency_ms_p95));
            println!("speed {:.0}x real time (one thread, resampling + spectrogram + network)", report.realtime_factor);
            let list = |spots: &[run::Spot]| {
                let shown: Vec<String> = spots.iter().take(SPOTS_SHOWN).map(|s| format!("{} {:.2} s", s.file, s.seconds)).collect();
                let more = spots.len().saturating_sub(SPOTS_SHOWN);
                format!("{}{}", shown.join(", "), if more > 0 { format!(" and {more} more (all in --json)") } else { String::new() })
            };
            if !report.missed.is_empty() {
                println!("missed words (file, labelled end): {}", list(&report.missed));
            }
            if !report.false_accepts_at.is_empty() {
                println!("false accepts (file, time): {}", list(&report.false_accepts_at));
            }
            let tally = |causes: &[run::Cause], said: &str| {
                let top: Vec<String> = causes
                    .iter()
                    .take(12)
                    .map(|c| match c.said {
                        Some(n) => format!("{} {} of {n} {said}", c.cause, c.count),
                        None => format!("{} {}", c.cause, c.count),
                    })
                    .collect();
                top.join(", ")
            };
            if let Some(causes) = report.false_accepts_by_cause.as_ref().filter(|c| !c.is_empty()) {
                println!("false accepts set off by: {}", tally(causes, "said"));
            }
            if let Some(voices) = report.false_accepts_by_voice.as_ref().filter(|c| !c.is_empty()) {
                println!("false accepts by who said the word: {}", tally(voices, "words said"));
            }
            if let Some(voices) = report.missed_by_voice.as_ref().filter(|c| !c.is_empty()) {
                println!("missed words by who said them: {}", tally(voices, "said"));
            }
            let points: Vec<String> = report.curve.iter().map(|p| format!("{}: {:.3}/{:.1}", p.sensitivity, p.recall, p.false_accepts_per_hour)).collect();
            println!("recall/false accepts per hour by sensitivity: {}", points.join("  "));
            let or_none = |v: Option<f64>, digits: usize| v.map_or("none on the curve".to_string(), |v| format!("{v:.digits$}"));
            println!(
                "goal (recall {} at {} false accepts/h): best recall at <= {}/h {}; fewest false accepts/h at recall >= {} {}",
                run::GOAL_RECALL,
                run::GOAL_FALSE_ACCEPTS_PER_HOUR,
                run::GOAL_FALSE_ACCEPTS_PER_HOUR,
                or_none(report.recall_at_goal_false_accepts, 3),
                run::GOAL_RECALL,
                or_none(report.false_accepts_per_hour_at_goal_recall, 1)
            );
            if json {
                println!("{}", serde_json::to_string(&report)?);
            }
            Ok(())
        }
        Action::Listen { device, model, verify, detector, seconds, json } => {
            super::listen::listen(device.as_deref(), model.as_deref(), &detector, &verify, seconds, json)
        }
        Action::Devices => super::listen::devices(),
        Action::Bench { model, seconds, json } => {
            let net = trigger::load_model(model.as_deref())?;
            let r = run::bench(&net, seconds)?;
            println!(
                "streamed {:.0} s of audio in {:.2} s: {:.0}x real time on one thread (spectrogram alone {:.0}x)",
                r.audio_seconds, r.compute_seconds, r.realtime_factor, r.spectrogram_only_realtime_factor
            );
            if json {
                println!("{}", serde_json::to_string(&r)?);
            }
            Ok(())
        }
        Action::Drift { model, detector, word, hours, segment_minutes, warm_seconds, seed, sources, json } => {
            if !(hours > 0.0 && hours <= 24.0 && segment_minutes >= 1.0 / 6.0 && segment_minutes <= hours * 60.0) {
                anyhow::bail!("drift: --hours in (0, 24], --segment-minutes from 1/6 (one 10-s piece) to the whole run");
            }
            let net = trigger::load_model(model.as_deref())?;
            let bar = progress::bar(0);
            bar.set_message("synthesising held-out voices");
            let bank = run::held_out_bank(&word, (200, 400), NegativeWords::All, seed, sources.folders(), &sources.cache, 2)?;
            bar.set_message("streaming");
            let pieces = (hours * 360.0).round().max(1.0) as usize;
            let per_segment = (segment_minutes * 6.0).round().max(1.0) as usize;
            let r = run::drift(&net, &detector.config(0), pieces, per_segment, warm_seconds, |k| run::stream_piece(&bank, seed, k, Acoustics::DRY), |d, t| progress::show(&bar, d, t))?;
            bar.finish_and_clear();
            println!("{:>8}  {:>6}  {:>11}  {:>13}  {:>22}", "minutes", "recall", "words", "false accepts", "|p - fresh p| max/mean");
            for g in &r.segments {
                let diff = match (g.max_abs_diff, g.mean_abs_diff) {
                    (Some(m), Some(a)) => format!("{m:.2e} / {a:.2e}"),
                    _ => "(start)".to_string(),
                };
                let recall = if g.positives == 0 { "-".to_string() } else { format!("{:.3}", g.hits as f64 / g.positives as f64) };
                println!("{:>8.0}  {recall:>6}  {:>5} of {:>3}  {:>13}  {diff:>22}", g.start_minutes, g.hits, g.positives, g.false_accepts);
            }
            println!(
                "{:.1} h without a reset: recall {:.3}, {:.1} false accepts per hour; the carried state never strays more than {:.2e} from a fresh detector's {warm_seconds} s after it starts",
                r.hours, r.recall, r.false_accepts_per_hour, r.max_abs_diff
            );
            if json {
                println!("{}", serde_json::to_string(&r)?);
            }
            Ok(())
        }
        Action::NewWord { word, own_near_rhymes, minimal_pairs, own_voice, epochs, examples, words, sources } => {
            let (speech_commands, backgrounds) = sources.folders();
            let cfg = TrainConfig {
                word,
                own_voice,
                epochs,
                examples,
                speech_commands,
                backgrounds,
                cache: sources.cache.clone(),
                negative_words: if own_near_rhymes { NegativeWords::Own } else { NegativeWords::All },
                minimal_pairs,
                ..TrainConfig::default()
            };
            cfg.validate()?;
            let (vtrain, vcfg) = verify_train::new_word_recipe(&cfg);
            // Trained in a folder of its own, which the Detector list does not read, and moved
            // beside the other words only once both networks are done.
            let staging = words.join(".training");
            std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
            let (staged_net, staged_verifier) = trigger::word_paths(&staging, &cfg.word);
            // The verifier first: it does not need the detector, and a run stopped in the
            // detector's eight minutes then resumes them from its checkpoint, losing only the
            // verifier's one.
            train_verifier(&vtrain, &vcfg, &staged_verifier, None)?;
            train(&cfg, &staged_net, None)?;
            let (net_path, verifier_path) = trigger::word_paths(&words, &cfg.word);
            for (from, to) in [(&staged_net, &net_path), (&staged_verifier, &verifier_path)] {
                std::fs::rename(from, to).with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
            }
            println!(
                "\"{}\" is saved: the panel's Detector list has it, and `seqlab trigger listen --model {} --verifier {}` uses it",
                cfg.word.trim(),
                net_path.display(),
                verifier_path.display()
            );
            let net = trigger::load_model(Some(&net_path))?;
            let look = VerifierStream::new(trigger::load_verifiers(std::slice::from_ref(&verifier_path))?, 0.5)?;
            let spec = CheckSpec { word: cfg.word.clone(), speech_commands: cfg.speech_commands.clone(), backgrounds: cfg.backgrounds.clone(), cache: sources.cache, ..CheckSpec::new("") };
            print_check(&net, &DetectorConfig::behind(1), Some(look), &spec, false)
        }
        Action::Check { model, verify, detector, word, positives, per_word, seed, sources, json } => {
            let net = trigger::load_model(model.as_deref())?;
            let Some(word) = word.or_else(|| net.info.get("word").cloned()) else {
                anyhow::bail!("the detector has no word saved with it: say which with --word");
            };
            let (look, det) = verify.with_settings(&detector, &net)?;
            let (speech_commands, backgrounds) = sources.folders();
            let spec = CheckSpec {
                word,
                positives,
                per_word,
                seed,
                speech_commands,
                backgrounds,
                cache: sources.cache,
                ..CheckSpec::new("")
            };
            print_check(&net, &det, look, &spec, json)
        }
        Action::MakeEval { dir, word, seed, pos_files, neg_files, stream_minutes, reverb, eq, negatives, sources } => {
            let (speech_commands, backgrounds) = sources.folders();
            let spec = MakeEvalSpec {
                word,
                seed,
                pos_files,
                neg_files,
                stream_minutes,
                acoustics: Acoustics { reverb, eq },
                negative_words: negatives,
                speech_commands,
                backgrounds,
                cache: sources.cache,
                threads: 2,
            };
            let bar = progress::bar(0);
            let n = run::make_eval(&spec, &dir, |_, d, t| progress::show(&bar, d, t))?;
            bar.finish_and_clear();
            println!("wrote {n} files and labels.tsv to {}", dir.display());
            Ok(())
        }
    }
}

/// A latency for people: "173 ms", or "n/a" when nothing was found.
fn ms(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), |v| format!("{v:.0} ms"))
}

/// Runs [`check::check_word`] with a progress bar and prints what it found: the word's
/// recall and latency, then the words fired on, most often first (all of them and a JSON
/// line with `json`).
fn print_check(net: &TriggerNet<f32>, det: &DetectorConfig, look: Option<VerifierStream>, spec: &CheckSpec, json: bool) -> anyhow::Result<()> {
    let bar = progress::bar(0);
    let r = check::check_word(net, det, look.as_ref(), spec, &|what, d, t| {
        bar.set_message(what.to_string());
        progress::show(&bar, d, t);
    }, &std::sync::atomic::AtomicBool::new(false))?;
    bar.finish_and_clear();
    let look = look.map_or("off".to_string(), |l| format!("{} verifier(s)", l.members().len()));
    println!("\"{}\", sensitivity {}, second look {look}", r.word, det.sensitivity);
    println!(
        "said by held-out voices: found {} of {} ({:.3}), latency from word end median {}, p95 {}",
        r.found,
        r.positives,
        r.recall,
        ms(r.latency_ms_median),
        ms(r.latency_ms_p95)
    );
    for (what, words) in [("everyday words", &r.everyday), ("sound-alikes", &r.sound_alikes)] {
        let (fired, said) = check::totals(words);
        let worst = check::worst(words, if json { usize::MAX } else { 10 });
        println!("{what}: fired on {fired} of {said} sayings{}{worst}", if fired > 0 { ": " } else { "" });
    }
    if json {
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(())
}

fn samples(cfg: &TrainConfig, dir: &Path) -> anyhow::Result<()> {
    let bar = progress::bar(0);
    let bank = data::build_bank(&cfg.bank_spec(false), &|what, d, t| {
        bar.set_message(format!("synthesising {what}"));
        progress::show(&bar, d, t);
    })?;
    bar.finish_and_clear();
    let mut tsv = String::from("file\tkind\tends\n");
    for i in 0..8u64 {
        let e = data::make_example(&bank, &cfg.example, cfg.seed.wrapping_add(i));
        let name = format!("sample_{i}.wav");
        write_wav(&dir.join(&name), &e.samples, data::SAMPLE_RATE)?;
        let ends: Vec<String> = e.ends.iter().map(|&x| format!("{:.3}", x as f64 / data::SAMPLE_RATE as f64)).collect();
        tsv.push_str(&format!("{name}\t{}\t{}\n", if ends.is_empty() { "neg" } else { "pos" }, ends.join(";")));
    }
    crate::atomic::write_atomic(&dir.join("labels.tsv"), tsv.as_bytes())?;
    println!("wrote 8 examples and labels.tsv to {}", dir.display());
    Ok(())
}

fn train(cfg: &TrainConfig, out: &Path, stop_after: Option<usize>) -> anyhow::Result<()> {
    let ckpt = out.with_extension("ckpt.safetensors");
    super::announce_resume(&ckpt);
    let stage_bar = progress::bar(0);
    let stage = |what: &str, d: usize, t: usize| {
        stage_bar.set_message(format!("synthesising {what}"));
        progress::show(&stage_bar, d, t);
    };
    let total = (cfg.epochs * cfg.examples) as u64;
    let bar = progress::bar(total);
    bar.set_position(0);
    let (mut net, summary) = ttrain::train(
        cfg,
        Some(&ckpt),
        &stage,
        &mut show_training(&bar, cfg.examples, stop_after, |v: ttrain::ValScore| {
            format!("held-out voices: loss {:.4} recall {:.3} ({}/{}) false accepts {:.1}/h", v.loss, v.recall, v.hits, v.positives, v.false_accepts_per_hour)
        }),
    )?;
    stage_bar.finish_and_clear();
    bar.finish_and_clear();
    net.info.insert("trained".into(), format!("{} epochs x {} examples", summary.epochs, cfg.examples));
    let meta = net.metadata();
    crate::nn::weights::save(out, &mut net, meta).with_context(|| format!("saving {}", out.display()))?;
    let _ = std::fs::remove_file(&ckpt);
    println!("saved {} ({:.0} examples/s over {:.0} s)", out.display(), summary.examples_per_sec, summary.seconds);
    if out.file_name().is_some_and(|n| n == SHIPPED_NAME) {
        println!("(this is the shipped model's path; rebuild seqlab to embed it)");
    }
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// A training run's events on `bar`, a line per epoch with `validation` describing its
/// figures; stops after `stop_after` epochs.
fn show_training<'a, V>(
    bar: &'a indicatif::ProgressBar,
    examples: usize,
    stop_after: Option<usize>,
    validation: impl Fn(V) -> String + 'a,
) -> impl FnMut(Event<V>) -> ControlFlow<()> + 'a {
    move |ev| {
        match ev {
            Event::Progress { epoch, done, loss, .. } => {
                bar.set_position((epoch * examples + done) as u64);
                bar.set_message(format!("epoch {} loss {loss:.4}", epoch + 1));
            }
            Event::Epoch { epoch, train_loss, val, seconds } => {
                let v = val.map_or(String::new(), |v| format!("  {}", validation(v)));
                let line = format!("epoch {:>3}  train loss {train_loss:.4}{v}  ({seconds:.0} s)", epoch + 1);
                // A hidden bar (output not a terminal, e.g. a log file) drops println.
                if bar.is_hidden() {
                    eprintln!("{line}");
                } else {
                    bar.println(line);
                }
                if stop_after == Some(epoch + 1) {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn train_verifier(cfg: &TrainConfig, vcfg: &VerifierConfig, out: &Path, stop_after: Option<usize>) -> anyhow::Result<()> {
    let ckpt = out.with_extension("ckpt.safetensors");
    super::announce_resume(&ckpt);
    let stage_bar = progress::bar(0);
    let (train_bank, val_bank) = ttrain::banks(cfg, &|what: &str, d: usize, t: usize| {
        stage_bar.set_message(format!("synthesising {what}"));
        progress::show(&stage_bar, d, t);
    })?;
    stage_bar.finish_and_clear();
    let bar = progress::bar((cfg.epochs * cfg.examples) as u64);
    let start = std::time::Instant::now();
    let (mut v, val) = verify_train::train_verifier(
        cfg,
        vcfg,
        train_bank,
        &val_bank,
        Some(&ckpt),
        &mut show_training(&bar, cfg.examples, stop_after, |v: verify_train::WindowScore| {
            format!("held-out windows: loss {:.4} words kept {:.3} of {} others kept {:.4} of {}", v.loss, v.recall, v.positives, v.false_accept_rate, v.negatives)
        }),
    )?;
    bar.finish_and_clear();
    let meta = v.metadata();
    crate::nn::weights::save(out, &mut v, meta).with_context(|| format!("saving {}", out.display()))?;
    let _ = std::fs::remove_file(&ckpt);
    println!("saved {} in {:.0} s", out.display(), start.elapsed().as_secs_f64());
    println!("{}", serde_json::to_string(&val)?);
    Ok(())
}
