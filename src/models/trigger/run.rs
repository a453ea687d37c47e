//! Running audio through the streaming path: detection in a file, evaluation over a
//! labelled folder, the speed benchmark, a chime, and writing a held-out evaluation set.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::data::{self, Acoustics, Bank, BankSpec, ExampleSpec, NegativeWords, SAMPLE_RATE};
use super::detect::{Cascade, DetectorConfig, EARLY, LATE, checked_detections, detections, quantile, score};
use super::verify::{VerifierStream, window};
use super::verify_train::{frame_at, verifier_frames};
use super::model::{Streamer, TriggerNet};
use crate::dsp::mix::{mix_into, rms};
use crate::dsp::{Spectrogram, SpectrogramConfig, read_audio, resample, write_wav};
use crate::models::ModelError;
use crate::nn::seeded_rng;

fn dsp_err(e: crate::dsp::DspError) -> ModelError {
    ModelError::Invalid(e.to_string())
}

/// The streaming network, the trigger rule and, when given one, the verifier's second look
/// at each candidate, fed one log-mel frame at a time: what [`Pipeline`] runs after its
/// spectrogram, and what the live path's detector thread runs on the microphone's columns.
pub struct Detector {
    streamer: Streamer,
    cascade: Cascade,
    verifier: Option<VerifierStream>,
    det: DetectorConfig,
    steps: u64,
    spec_cfg: SpectrogramConfig,
}

impl Detector {
    pub fn new(net: &TriggerNet<f32>, det: DetectorConfig, verifier: Option<VerifierStream>) -> Result<Self, ModelError> {
        let spec_cfg = SpectrogramConfig::default();
        let bands = spec_cfg.features();
        if bands != net.config().n_mels || verifier.as_ref().is_some_and(|v| v.verifier().config().n_mels != bands) {
            return Err(ModelError::Invalid(format!("the models' bands do not match the spectrogram's {bands}")));
        }
        if let Some(v) = &verifier {
            super::check_fits(net, v.verifier())?;
        }
        let cascade = Cascade::new(det.clone(), hold_seconds(verifier.as_ref(), &spec_cfg))?;
        Ok(Self { streamer: net.streamer()?, cascade, verifier, det, steps: 0, spec_cfg })
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.det
    }

    /// New detector settings (a sensitivity slider): the trigger rule starts afresh, the
    /// networks keep their state. Out-of-range settings are an error and change nothing.
    pub fn set_config(&mut self, det: DetectorConfig) -> Result<(), ModelError> {
        self.cascade = Cascade::new(det.clone(), hold_seconds(self.verifier.as_ref(), &self.spec_cfg))?;
        self.det = det;
        Ok(())
    }

    pub fn reset(&mut self) {
        self.streamer.reset();
        self.cascade.reset();
        if let Some(v) = &mut self.verifier {
            v.reset();
        }
        self.steps = 0;
    }

    /// One frame; when it completes an output step, (time s, probability, whether a
    /// detection is announced at this step).
    pub fn push_frame(&mut self, frame: &[f32]) -> Option<(f64, f32, bool)> {
        if let Some(v) = self.verifier.as_mut() {
            v.push_frame(frame);
        }
        let p = self.streamer.push_frame(frame)?;
        let t = data::step_time(self.steps as usize, &self.spec_cfg, self.streamer.config());
        self.steps += 1;
        let (verifier, spec) = (self.verifier.as_ref(), &self.spec_cfg);
        let fired = self.cascade.push(t, p, |c| Ok(accepts(verifier, c, spec))).ok().flatten().is_some();
        Some((t, p, fired))
    }

    /// The end of the input: a candidate still waiting for the verifier is answered with
    /// silence for the frames that never came. Some(time) if it is kept.
    pub fn finish(&mut self) -> Option<f64> {
        let (verifier, spec) = (self.verifier.as_ref(), &self.spec_cfg);
        self.cascade.finish(|c| Ok(accepts(verifier, c, spec))).ok().flatten()
    }
}

fn hold_seconds(verifier: Option<&VerifierStream>, spec: &SpectrogramConfig) -> f64 {
    verifier.map_or(0.0, |v| v.verifier().config().hold_seconds(spec))
}

/// A spectrogram and a [`Detector`], fed samples at 16 kHz in any chunks.
pub struct Pipeline {
    spec: Spectrogram,
    detector: Detector,
}

impl Pipeline {
    pub fn new(net: &TriggerNet<f32>, det: DetectorConfig, verifier: Option<VerifierStream>) -> Result<Self, ModelError> {
        Ok(Self { spec: Spectrogram::new(SpectrogramConfig::default()).map_err(dsp_err)?, detector: Detector::new(net, det, verifier)? })
    }

    pub fn reset(&mut self) {
        self.spec.reset();
        self.detector.reset();
    }

    /// Feeds samples; `on_step(time_s, probability, fired)` for every output step.
    pub fn push(&mut self, samples: &[f32], mut on_step: impl FnMut(f64, f32, bool)) {
        let detector = &mut self.detector;
        self.spec.push(samples, |frame| {
            if let Some((t, p, fired)) = detector.push_frame(frame) {
                on_step(t, p, fired);
            }
        });
    }

    /// See [`Detector::finish`]. A recording is pushed [`heard_out`] first.
    pub fn finish(&mut self) -> Option<f64> {
        self.detector.finish()
    }
}

/// Seconds heard after a recording's end ([`heard_out`]): the reach of a hit ([`LATE`]), so
/// every labelled word has its whole window.
pub const TAIL_SECONDS: f64 = LATE;

/// [`TAIL_SECONDS`] of what a microphone would go on hearing after `x` (16 kHz): pink noise
/// at the level of the recording's quietest 100 ms. Not digital silence: no microphone gives
/// that, training never shows it, and the detector fired on the sudden drop into it (2 false
/// accepts in 6 h of held-out clips).
pub fn room_tone(x: &[f32]) -> Vec<f32> {
    let floor = x.chunks_exact(1600).map(rms).fold(f32::INFINITY, f32::min);
    let floor = if floor.is_finite() { floor } else { 0.0 };
    let mut tone = data::synthetic_noise((TAIL_SECONDS * SAMPLE_RATE as f64) as usize, 1, &mut seeded_rng(0x7A11));
    tone.iter_mut().for_each(|v| *v *= floor);
    tone
}

/// A 16-kHz recording followed by its [`room_tone`]: what every path that runs a file feeds
/// the pipeline. A word that ends as the file does is judged as a live listener, whose
/// microphone goes on, would judge it: a detector answers after a word, never inside it, so
/// without the tail such a word could not be found at all.
pub fn heard_out(mut x: Vec<f32>) -> Vec<f32> {
    let tone = room_tone(&x);
    x.extend(tone);
    x
}

/// Whether a candidate at `c` seconds passes the verifier (all do without one).
fn accepts(verifier: Option<&VerifierStream>, c: f64, spec: &SpectrogramConfig) -> bool {
    verifier.is_none_or(|v| v.accept(frame_at(c, spec) as u64))
}

/// Detections in one signal (any rate; resampled to 16 kHz first).
pub struct FileResult {
    pub detections: Vec<f64>,
    pub seconds: f64,
    /// Seconds spent resampling and running the pipeline (not reading the file).
    pub compute_seconds: f64,
    /// (time s, probability) at every output step, so that other settings can be scored
    /// without running the network again.
    pub trace: Vec<(f64, f32)>,
}

impl FileResult {
    /// The highest probability the network gave anywhere in the signal (0 for none).
    pub fn max_probability(&self) -> f32 {
        self.trace.iter().map(|s| s.1).fold(0f32, f32::max)
    }
}

/// Detections in one signal, each also passing `verifier` when one is given.
pub fn detect_samples(net: &TriggerNet<f32>, det: &DetectorConfig, verifier: Option<&VerifierStream>, samples: &[f32], rate: u32) -> Result<FileResult, ModelError> {
    detect_heard(net, det, verifier, samples, rate).map(|(r, _)| r)
}

/// [`detect_samples`], also giving back the 16-kHz signal it heard, tail included.
fn detect_heard(net: &TriggerNet<f32>, det: &DetectorConfig, verifier: Option<&VerifierStream>, samples: &[f32], rate: u32) -> Result<(FileResult, Vec<f32>), ModelError> {
    let start = Instant::now();
    let x = heard_out(resample(samples, rate, SAMPLE_RATE).map_err(dsp_err)?);
    let mut pipe = Pipeline::new(net, det.clone(), verifier.cloned())?;
    let mut detections = Vec::new();
    let mut trace = Vec::with_capacity(x.len() / 640 + 1);
    let mut on_step = |t, p, fired| {
        trace.push((t, p));
        if fired {
            detections.push(t);
        }
    };
    for chunk in x.chunks(1600) {
        pipe.push(chunk, &mut on_step);
    }
    detections.extend(pipe.finish());
    let r = FileResult { detections, seconds: samples.len() as f64 / rate.max(1) as f64, compute_seconds: start.elapsed().as_secs_f64(), trace };
    Ok((r, x))
}

pub fn detect_file(net: &TriggerNet<f32>, det: &DetectorConfig, verifier: Option<&VerifierStream>, path: &Path) -> Result<(FileResult, crate::dsp::Audio), ModelError> {
    let audio = read_audio(path).map_err(dsp_err)?;
    Ok((detect_samples(net, det, verifier, &audio.samples, audio.rate)?, audio))
}

/// A two-partial bell (880 Hz and 1320 Hz, 0.35 s, exponential decay) at `rate`.
pub fn chime(rate: u32) -> Vec<f32> {
    let n = (0.35 * rate as f64) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let env = (-t * 12.0).exp() * (t * 400.0).min(1.0);
            0.35 * env * ((std::f32::consts::TAU * 880.0 * t).sin() + 0.5 * (std::f32::consts::TAU * 1320.0 * t).sin())
        })
        .collect()
}

/// `audio` with a chime mixed in at each detection time, lengthened with silence where a
/// word at the very end was only detected in the tail heard after it.
pub fn with_chimes(samples: &[f32], rate: u32, detections: &[f64]) -> Vec<f32> {
    let mut out = samples.to_vec();
    let bell = chime(rate);
    let last = detections.iter().map(|&t| (t * rate as f64) as usize + bell.len()).max().unwrap_or(0);
    out.resize(out.len().max(last), 0.0);
    for &t in detections {
        mix_into(&mut out, &bell, (t * rate as f64) as usize, 1.0);
    }
    crate::dsp::mix::limit_peak(&mut out, 0.99);
    out
}

/// One row of labels.tsv.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRow {
    pub file: String,
    pub kind: Kind,
    pub ends: Vec<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Pos,
    Neg,
    Stream,
}

/// The error for line `line` (1-based) of the TSV file at `path`.
fn tsv_error(path: &Path, line: usize, reason: String) -> ModelError {
    ModelError::Data { path: path.to_path_buf(), reason: format!("line {line}: {reason}") }
}

/// The rows of a TSV file whose first line must be `header`: (1-based line number, columns),
/// blank lines skipped, Windows line ends accepted.
fn tsv_rows<'a>(path: &Path, text: &'a str, header: &str) -> Result<impl Iterator<Item = (usize, Vec<&'a str>)>, ModelError> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r')).enumerate();
    match lines.next() {
        Some((_, h)) if h == header => {}
        _ => return Err(tsv_error(path, 1, format!("the header must be {}", header.replace('\t', "<TAB>")))),
    }
    Ok(lines.filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l.split('\t').collect())))
}

/// Parses labels.tsv: header `file<TAB>kind<TAB>ends`, kinds pos/neg/stream, ends in
/// seconds separated by `;` (may be empty).
pub fn parse_labels(path: &Path, text: &str) -> Result<Vec<LabelRow>, ModelError> {
    let bad = |line: usize, reason: String| tsv_error(path, line, reason);
    let mut rows = Vec::new();
    for (i, cols) in tsv_rows(path, text, "file\tkind\tends")? {
        if cols.len() < 2 || cols.len() > 3 {
            return Err(bad(i, format!("expected 3 tab-separated columns, got {}", cols.len())));
        }
        let kind = match cols[1].trim() {
            "pos" => Kind::Pos,
            "neg" => Kind::Neg,
            "stream" => Kind::Stream,
            other => return Err(bad(i, format!("kind must be pos, neg or stream, got {other:?}"))),
        };
        let ends = cols
            .get(2)
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.split(';')
                    .map(|v| v.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| bad(i, format!("{v:?} is not a time in seconds"))))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        if cols[0].is_empty() || cols[0].contains("..") {
            return Err(bad(i, format!("bad file name {:?}", cols[0])));
        }
        rows.push(LabelRow { file: cols[0].to_string(), kind, ends });
    }
    if rows.is_empty() {
        return Err(bad(1, "no files listed".into()));
    }
    Ok(rows)
}

/// Written by `make-eval` beside labels.tsv: every word placed in each file and who said it
/// (header `file<TAB>start<TAB>end<TAB>word<TAB>voice`, times in seconds), so that `eval` can
/// say what the detector mistook for the trigger word and whose trigger words it missed.
/// A row whose end is a labelled end is a trigger word; every other row is another word.
/// Optional: other folders simply lack it, older ones lack the voice column, and folders
/// made before the trigger words were written down list the other words alone.
pub const CONTENTS: &str = "contents.tsv";
const CONTENTS_HEADER: &str = "file\tstart\tend\tword\tvoice";
const CONTENTS_HEADER_NO_VOICE: &str = "file\tstart\tend\tword";
/// `make-eval` writes times to the millisecond, in `labels.tsv` and here alike, so a trigger
/// word's row ends where its label says, to within this.
const TSV_TIME_STEP: f64 = 0.001;

/// A word spoken in an evaluation file, from `contents.tsv`: the trigger word or another.
#[derive(Clone, Debug, PartialEq)]
pub struct Spoken {
    pub start: f64,
    pub end: f64,
    pub word: String,
    /// A TTS voice's label or `human:` and a speaker; None in a folder made before voices were
    /// written down.
    pub voice: Option<String>,
}

/// Parses `contents.tsv` into the words of each file.
pub fn parse_contents(path: &Path, text: &str) -> Result<std::collections::HashMap<String, Vec<Spoken>>, ModelError> {
    let bad = |line: usize, reason: String| tsv_error(path, line, reason);
    let header = match text.lines().next().map(|h| h.trim_end_matches('\r')) {
        Some(CONTENTS_HEADER_NO_VOICE) => CONTENTS_HEADER_NO_VOICE,
        _ => CONTENTS_HEADER,
    };
    let columns = header.split('\t').count();
    let mut out: std::collections::HashMap<String, Vec<Spoken>> = Default::default();
    for (i, cols) in tsv_rows(path, text, header)? {
        let time = |v: &str| v.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0);
        let (true, [file, start, end, word, voice @ ..]) = (cols.len() == columns, cols.as_slice()) else {
            return Err(bad(i, format!("expected {columns} tab-separated columns, got {}", cols.len())));
        };
        let (Some(start), Some(end)) = (time(start), time(end)) else {
            return Err(bad(i, "start and end must be times in seconds".into()));
        };
        let voice = voice.first().map(|v| v.to_string());
        out.entry(file.to_string()).or_default().push(Spoken { start, end, word: word.to_string(), voice });
    }
    Ok(out)
}

/// What set a false accept off (see [`set_off_by`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SetOffBy<'a> {
    /// A real trigger word, detected a second time.
    TriggerAgain,
    Word(&'a Spoken),
    Background,
}

impl SetOffBy<'_> {
    /// The name `eval` tallies it under.
    pub fn name(&self) -> String {
        match self {
            Self::TriggerAgain => "the trigger word, detected twice".into(),
            Self::Word(w) => w.word.clone(),
            Self::Background => "no word (background)".into(),
        }
    }

    /// Who said the word, where the folder says.
    pub fn voice(&self) -> Option<&str> {
        match self {
            Self::Word(w) => w.voice.as_deref(),
            _ => None,
        }
    }
}

/// What a false accept at `t` s was most likely set off by: a negative word that ended in the
/// window that would have made it a hit (the nearest end wins) or that was still being spoken;
/// a second detection of a real trigger word; or nothing but background.
pub fn set_off_by<'a>(t: f64, spoken: &'a [Spoken], trigger_ends: &[f64]) -> SetOffBy<'a> {
    let near = |end: f64| t >= end - EARLY && t <= end + LATE;
    if trigger_ends.iter().any(|&e| near(e)) {
        return SetOffBy::TriggerAgain;
    }
    spoken
        .iter()
        .filter(|w| near(w.end) || (t >= w.start && t <= w.end))
        .min_by(|a, b| (t - a.end).abs().total_cmp(&(t - b.end).abs()))
        .map_or(SetOffBy::Background, SetOffBy::Word)
}

/// How many false accepts one cause gave: a word (or background), or a voice.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Cause {
    pub cause: String,
    pub count: usize,
    /// How many times the folder says the word, or how many words the voice says there (None
    /// for background and a trigger word detected twice): a word said often gives more false
    /// accepts at the same rate per saying, and the rate is what tells how it would fare in
    /// other talk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub said: Option<usize>,
}

/// False accepts by cause (a word, or a voice), each with how often the folder says that
/// word or how many words that voice says there, most false accepts first (ties by name).
pub fn tally_causes(causes: BTreeMap<String, usize>, said: &BTreeMap<String, usize>) -> Vec<Cause> {
    let mut v: Vec<Cause> = causes.into_iter().map(|(cause, count)| Cause { said: said.get(&cause).copied(), cause, count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cause.cmp(&b.cause)));
    v
}

/// One place in a folder worth listening to: a word the detector missed (at its labelled
/// end) or a false accept (at its detection).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Spot {
    pub file: String,
    pub seconds: f64,
    /// What set a false accept off, when the folder has `contents.tsv` (see [`set_off_by`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Who said that word, when `contents.tsv` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
}

/// Recall and false accepts per hour at one sensitivity.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OperatingPoint {
    pub sensitivity: f32,
    pub recall: f64,
    pub false_accepts_per_hour: f64,
}

/// The sensitivities `eval` scores besides the chosen one. Dense near 0 because low false
/// accept rates live at thresholds close to 1.
pub const CURVE_SENSITIVITIES: [f32; 17] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98];

/// The goal: this recall at no more than this many false accepts per hour.
pub const GOAL_RECALL: f64 = 0.97;
pub const GOAL_FALSE_ACCEPTS_PER_HOUR: f64 = 0.5;

/// How far a curve is from the goal: (the best recall with at most
/// [`GOAL_FALSE_ACCEPTS_PER_HOUR`], the fewest false accepts per hour with recall at least
/// [`GOAL_RECALL`]); None where no point qualifies.
pub fn goal_distances(curve: &[OperatingPoint]) -> (Option<f64>, Option<f64>) {
    (
        curve.iter().filter(|p| p.false_accepts_per_hour <= GOAL_FALSE_ACCEPTS_PER_HOUR).map(|p| p.recall).max_by(f64::total_cmp),
        curve.iter().filter(|p| p.recall >= GOAL_RECALL).map(|p| p.false_accepts_per_hour).min_by(f64::total_cmp),
    )
}

/// `seqlab trigger eval`'s figures (the JSON contract in DESIGN.md).
#[derive(Clone, Debug, serde::Serialize)]
pub struct EvalReport {
    pub files: usize,
    pub recall: f64,
    pub hits: usize,
    pub positives: usize,
    pub false_accepts: usize,
    pub negative_hours: f64,
    pub false_accepts_per_hour: f64,
    pub latency_ms_median: Option<f64>,
    pub latency_ms_p95: Option<f64>,
    /// Seconds of audio per second of compute (resampling + spectrogram + network), one thread.
    pub realtime_factor: f64,
    pub audio_seconds: f64,
    pub sensitivity: f32,
    /// The verifier's threshold when each detection had a second look; None for the
    /// detector alone.
    pub verifier_threshold: Option<f32>,
    /// How many verifiers' probabilities were averaged (0 for the detector alone).
    pub verifiers: usize,
    /// Every labelled word not found, in file order.
    pub missed: Vec<Spot>,
    /// Every false accept, in file order.
    pub false_accepts_at: Vec<Spot>,
    /// False accepts by what set them off, most first; only when the folder has `contents.tsv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_accepts_by_cause: Option<Vec<Cause>>,
    /// False accepts set off by words, by who said them (`said`: how many words that voice
    /// says in the folder), most first; only when `contents.tsv` names voices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_accepts_by_voice: Option<Vec<Cause>>,
    /// Missed words by who said them (`said`: how many trigger words that voice says in the
    /// folder), most first; only when `contents.tsv` lists the trigger words with voices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed_by_voice: Option<Vec<Cause>>,
    /// The same network output scored at each of [`CURVE_SENSITIVITIES`] (other detector
    /// settings as chosen), least sensitive first.
    pub curve: Vec<OperatingPoint>,
    /// The best recall on the curve with at most [`GOAL_FALSE_ACCEPTS_PER_HOUR`]; None when no
    /// point gets there.
    pub recall_at_goal_false_accepts: Option<f64>,
    /// The fewest false accepts per hour on the curve with recall at least [`GOAL_RECALL`].
    pub false_accepts_per_hour_at_goal_recall: Option<f64>,
}

pub fn eval_dir(
    net: &TriggerNet<f32>,
    verifier: Option<&VerifierStream>,
    det: &DetectorConfig,
    dir: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<EvalReport, ModelError> {
    let labels_path = dir.join("labels.tsv");
    let text = std::fs::read_to_string(&labels_path).map_err(|source| ModelError::Io { path: labels_path.clone(), source })?;
    let rows = parse_labels(&labels_path, &text)?;
    let contents_path = dir.join(CONTENTS);
    let contents = match std::fs::read_to_string(&contents_path) {
        Ok(t) => Some(parse_contents(&contents_path, &t)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(ModelError::Io { path: contents_path, source }),
    };
    let (mut causes, mut said): (BTreeMap<String, usize>, BTreeMap<String, usize>) = Default::default();
    let (mut voices, mut said_by): (BTreeMap<String, usize>, BTreeMap<String, usize>) = Default::default();
    let (mut missed_by, mut triggers_by): (BTreeMap<String, usize>, BTreeMap<String, usize>) = Default::default();
    let (mut missed, mut false_accepts_at) = (Vec::new(), Vec::new());
    let (mut hits, mut positives, mut fa) = (0, 0, 0);
    let (mut neg_seconds, mut audio_seconds, mut compute) = (0.0, 0.0, 0.0);
    let mut lat = Vec::new();
    let curve_cfgs: Vec<DetectorConfig> = CURVE_SENSITIVITIES.iter().map(|&sensitivity| DetectorConfig { sensitivity, ..det.clone() }).collect();
    let mut curve_counts = vec![(0usize, 0usize); curve_cfgs.len()];
    for (i, row) in rows.iter().enumerate() {
        let audio = read_audio(&dir.join(&row.file)).map_err(dsp_err)?;
        let (r, heard) = detect_heard(net, det, verifier, &audio.samples, audio.rate)?;
        let mut checked = Checked::new(verifier, &heard)?;
        let s = score(&r.detections, &row.ends);
        hits += s.hits;
        positives += s.positives;
        fa += s.false_accepts;
        for (cfg, (h, f)) in curve_cfgs.iter().zip(&mut curve_counts) {
            let c = score(&checked.detections(&r.trace, cfg)?, &row.ends);
            (*h, *f) = (*h + c.hits, *f + c.false_accepts);
        }
        let spot = |seconds: f64, cause: Option<String>, voice: Option<&str>| Spot { file: row.file.clone(), seconds, cause, voice: voice.map(str::to_string) };
        let (triggers, spoken) = match contents.as_ref() {
            Some(c) => {
                let (t, o) = c.get(&row.file).map_or(&[][..], Vec::as_slice).iter().cloned().partition(|w| row.ends.iter().any(|&e| (w.end - e).abs() < TSV_TIME_STEP));
                (t, Some(o))
            }
            None => (Vec::new(), None),
        };
        let voice_ending = |e: f64| triggers.iter().find(|w| (w.end - e).abs() < TSV_TIME_STEP).and_then(|w| w.voice.as_deref());
        for &e in row.ends.iter().filter(|e| !s.hit_ends.contains(e)) {
            let voice = voice_ending(e);
            if let Some(v) = voice {
                *missed_by.entry(v.to_string()).or_default() += 1;
            }
            missed.push(spot(e, None, voice));
        }
        for v in triggers.iter().filter_map(|w| w.voice.as_ref()) {
            *triggers_by.entry(v.clone()).or_default() += 1;
        }
        let spoken: Option<&[Spoken]> = spoken.as_deref();
        for w in spoken.unwrap_or_default() {
            *said.entry(w.word.clone()).or_default() += 1;
            if let Some(v) = &w.voice {
                *said_by.entry(v.clone()).or_default() += 1;
            }
        }
        for &t in &s.false_accept_times {
            let Some(by) = spoken.map(|spoken| set_off_by(t, spoken, &row.ends)) else {
                false_accepts_at.push(spot(t, None, None));
                continue;
            };
            let name = by.name();
            *causes.entry(name.clone()).or_default() += 1;
            if let Some(v) = by.voice() {
                *voices.entry(v.to_string()).or_default() += 1;
            }
            false_accepts_at.push(spot(t, Some(name), by.voice()));
        }
        lat.extend(s.latencies.iter().map(|l| l * 1000.0));
        if row.kind != Kind::Pos {
            neg_seconds += r.seconds;
        }
        audio_seconds += r.seconds;
        compute += r.compute_seconds;
        progress(i + 1, rows.len());
    }
    let negative_hours = neg_seconds / 3600.0;
    let recall = |h: usize| if positives == 0 { 0.0 } else { h as f64 / positives as f64 };
    let per_hour = |f: usize| if negative_hours > 0.0 { f as f64 / negative_hours } else { 0.0 };
    let curve: Vec<OperatingPoint> = curve_cfgs
        .iter()
        .zip(&curve_counts)
        .map(|(cfg, &(h, f))| OperatingPoint { sensitivity: cfg.sensitivity, recall: recall(h), false_accepts_per_hour: per_hour(f) })
        .collect();
    let (recall_at_goal_false_accepts, false_accepts_per_hour_at_goal_recall) = goal_distances(&curve);
    Ok(EvalReport {
        files: rows.len(),
        recall: recall(hits),
        hits,
        positives,
        false_accepts: fa,
        negative_hours,
        false_accepts_per_hour: per_hour(fa),
        latency_ms_median: quantile(&lat, 0.5),
        latency_ms_p95: quantile(&lat, 0.95),
        realtime_factor: audio_seconds / compute.max(1e-9),
        audio_seconds,
        sensitivity: det.sensitivity,
        verifier_threshold: verifier.map(VerifierStream::threshold),
        verifiers: verifier.map_or(0, |v| v.members().len()),
        missed,
        false_accepts_at,
        false_accepts_by_cause: contents.as_ref().map(|_| tally_causes(causes, &said)),
        false_accepts_by_voice: (!said_by.is_empty()).then(|| tally_causes(voices, &said_by)),
        missed_by_voice: (!triggers_by.is_empty()).then(|| tally_causes(missed_by, &triggers_by)),
        recall_at_goal_false_accepts,
        false_accepts_per_hour_at_goal_recall,
        curve,
    })
}

/// Detections from a recording's trace at any detector setting, passing the verifier when
/// there is one; each verdict is worked out once however many settings ask for it.
struct Checked<'a> {
    verifier: Option<&'a VerifierStream>,
    /// The verifier's frames of the whole recording (empty without a verifier).
    frames: ndarray::Array2<f32>,
    verdicts: std::collections::HashMap<usize, bool>,
}

impl<'a> Checked<'a> {
    /// `heard`: the 16-kHz recording as the pipeline heard it, tail included.
    fn new(verifier: Option<&'a VerifierStream>, heard: &[f32]) -> Result<Self, ModelError> {
        let frames = match verifier {
            Some(_) => verifier_frames(heard, &SpectrogramConfig::default())?,
            None => ndarray::Array2::zeros((0, 0)),
        };
        Ok(Self { verifier, frames, verdicts: Default::default() })
    }

    fn detections(&mut self, trace: &[(f64, f32)], det: &DetectorConfig) -> Result<Vec<f64>, ModelError> {
        let Some(v) = self.verifier else { return detections(trace, det) };
        let spec = SpectrogramConfig::default();
        let (frames, verdicts) = (&self.frames, &mut self.verdicts);
        checked_detections(trace, det, v.verifier().config().hold_seconds(&spec), |c| {
            let fired = frame_at(c, &spec);
            Ok(*verdicts.entry(fired).or_insert_with(|| v.judge(window(frames.view(), fired, v.verifier().config()))))
        })
    }
}

/// Streaming speed on one thread: `seconds` of noisy audio through spectrogram + network.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchReport {
    pub audio_seconds: f64,
    pub compute_seconds: f64,
    pub realtime_factor: f64,
    pub spectrogram_only_realtime_factor: f64,
}

pub fn bench(net: &TriggerNet<f32>, seconds: f64) -> Result<BenchReport, ModelError> {
    if !(seconds > 0.0 && seconds <= 36_000.0) {
        return Err(ModelError::Invalid(format!("bench length must be in (0, 36000] s, got {seconds}")));
    }
    let n = (seconds * SAMPLE_RATE as f64) as usize;
    let x = data::synthetic_noise(n, 1, &mut seeded_rng(3)).iter().map(|v| v * 0.05).collect::<Vec<_>>();
    let mut spec = Spectrogram::new(SpectrogramConfig::default()).map_err(dsp_err)?;
    let t0 = Instant::now();
    let mut frames = 0usize;
    for c in x.chunks(1600) {
        spec.push(c, |_| frames += 1);
    }
    let spec_s = t0.elapsed().as_secs_f64();
    let mut pipe = Pipeline::new(net, DetectorConfig::default(), None)?;
    let t1 = Instant::now();
    let mut fired = 0usize;
    for c in x.chunks(1600) {
        pipe.push(c, |_, _, f| fired += f as usize);
    }
    let compute = t1.elapsed().as_secs_f64();
    Ok(BenchReport {
        audio_seconds: seconds,
        compute_seconds: compute,
        realtime_factor: seconds / compute.max(1e-9),
        spectrogram_only_realtime_factor: seconds / spec_s.max(1e-9),
    })
}

/// What `make-eval` writes.
#[derive(Clone, Debug)]
pub struct MakeEvalSpec {
    pub word: String,
    pub seed: u64,
    /// 10-s clips with 1-3 positives and up to 3 negatives each.
    pub pos_files: usize,
    /// 10-s clips with negatives only.
    pub neg_files: usize,
    /// One long stream with a positive about every 30 s (0 for none).
    pub stream_minutes: f64,
    /// Rooms and microphones to hear the clips through (dry by default).
    pub acoustics: Acoustics,
    /// Which TTS words the negatives say: all (near-rhymes included) or everyday ones only.
    pub negative_words: NegativeWords,
    pub speech_commands: Option<PathBuf>,
    pub backgrounds: Option<PathBuf>,
    pub cache: PathBuf,
    pub threads: usize,
}

/// A 10-s evaluation clip of up to `positives` words and `negatives` other words.
fn eval_example(positives: usize, negatives: usize, acoustics: Acoustics) -> ExampleSpec {
    ExampleSpec { seconds: 10.0, max_positives: positives, max_negatives: negatives, acoustics, ..ExampleSpec::default() }
}

/// Piece `k` of a held-out stream: 10 s each, one piece in three carrying a positive, the
/// rest only negatives, so a stream says the word about every 30 s among other words.
pub fn stream_piece(bank: &Bank, seed: u64, k: usize, acoustics: Acoustics) -> data::Example {
    let ex = if k % 3 == 1 { eval_example(1, 2, acoustics) } else { eval_example(0, 4, acoustics) };
    data::make_example(bank, &ex, seed.wrapping_mul(3_000_017).wrapping_add(k as u64))
}

/// The held-out bank `make-eval` and `drift` draw from: `(positives, negatives)` TTS clips
/// of voices never trained on, and the held-out Speech Commands speakers.
pub fn held_out_bank(
    word: &str,
    (positives, negatives): (usize, usize),
    negative_words: NegativeWords,
    seed: u64,
    sources: (Option<PathBuf>, Option<PathBuf>),
    cache: &Path,
    threads: usize,
) -> Result<Bank, ModelError> {
    let bank_spec = BankSpec {
        word: word.to_string(),
        negative_words,
        positives: positives.max(10),
        negatives: negatives.max(20),
        held_out: true,
        made_voices: 0,
        speech_commands: sources.0,
        backgrounds: sources.1,
        cache: cache.to_path_buf(),
        threads,
        seed: seed ^ 0xE7A1,
        minimal_pairs: 0,
    };
    data::build_bank(&bank_spec, &|_, _, _| {})
}

/// One stretch of a long stream in [`drift`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct DriftSegment {
    pub start_minutes: f64,
    pub positives: usize,
    pub hits: usize,
    pub false_accepts: usize,
    /// The largest and mean |p_carried - p_fresh| over the segment's first two pieces, past
    /// the fresh detector's first `warm_s` seconds (None for the first segment, where both
    /// start from zero).
    pub max_abs_diff: Option<f32>,
    pub mean_abs_diff: Option<f32>,
}

/// `seqlab trigger drift`: does a detector that has run for hours still behave as a fresh one?
#[derive(Clone, Debug, serde::Serialize)]
pub struct DriftReport {
    pub hours: f64,
    pub segment_minutes: f64,
    pub warm_seconds: f64,
    pub recall: f64,
    pub false_accepts_per_hour: f64,
    /// The largest |p_carried - p_fresh| over all segments.
    pub max_abs_diff: f32,
    pub segments: Vec<DriftSegment>,
}

/// Streams `pieces` 10-s pieces (`piece(k)`) through one pipeline whose state is never
/// reset, scoring recall and false accepts per segment of `segment_pieces` pieces. At each
/// segment's start (but the first) a fresh pipeline starts on the same audio; past its first
/// `warm_s` seconds, its probabilities over that piece and the next are compared with the
/// carried pipeline's. A recurrent state that drifted or saturated over the hours would show
/// as a difference; one that forgets what lies seconds back shows none.
pub fn drift(
    net: &TriggerNet<f32>,
    det: &DetectorConfig,
    pieces: usize,
    segment_pieces: usize,
    warm_s: f64,
    piece: impl Fn(usize) -> data::Example,
    mut progress: impl FnMut(usize, usize),
) -> Result<DriftReport, ModelError> {
    if pieces == 0 || pieces > 100_000 || segment_pieces == 0 || !(0.0..=9.0).contains(&warm_s) {
        return Err(ModelError::Invalid(format!(
            "drift: 1..=100000 pieces, segments of at least one piece, warm-up in 0..=9 s (got {pieces}, {segment_pieces}, {warm_s})"
        )));
    }
    const PIECE: usize = 10 * SAMPLE_RATE as usize;
    let piece_s = PIECE as f64 / SAMPLE_RATE as f64;
    let mut carried = Pipeline::new(net, det.clone(), None)?;
    let mut fresh = Pipeline::new(net, det.clone(), None)?;
    let (mut detections, mut ends) = (Vec::new(), Vec::new());
    let mut segments: Vec<DriftSegment> = Vec::new();
    // Probabilities by output time in whole milliseconds: pieces are whole hops, so both
    // pipelines put their steps on the same grid, the fresh one missing the steps whose
    // frames reach back before its start.
    let ms = |t: f64| (t * 1000.0).round() as i64;
    // Ordered, so the mean sums in the same order on every run.
    let (mut pc, mut pf) = (BTreeMap::new(), BTreeMap::new());
    let mut fresh_from: Option<f64> = None;
    let close = |pc: &mut BTreeMap<i64, f32>, pf: &mut BTreeMap<i64, f32>, seg: Option<&mut DriftSegment>| {
        let diffs: Vec<f32> = pf.iter().filter_map(|(t, p)| pc.get(t).map(|c| (c - p).abs())).collect();
        if let Some(seg) = seg.filter(|_| !diffs.is_empty()) {
            seg.max_abs_diff = Some(diffs.iter().copied().fold(0.0, f32::max));
            seg.mean_abs_diff = Some(diffs.iter().sum::<f32>() / diffs.len() as f32);
        }
        pc.clear();
        pf.clear();
    };
    for k in 0..pieces {
        let t0 = k as f64 * piece_s;
        if k % segment_pieces == 0 {
            close(&mut pc, &mut pf, segments.last_mut());
            segments.push(DriftSegment { start_minutes: t0 / 60.0, positives: 0, hits: 0, false_accepts: 0, max_abs_diff: None, mean_abs_diff: None });
            fresh_from = (k > 0).then_some(t0);
            fresh.reset();
        }
        let e = piece(k);
        if e.samples.len() != PIECE {
            return Err(ModelError::Invalid(format!("drift: piece {k} has {} samples, not {PIECE}", e.samples.len())));
        }
        ends.extend(e.ends.iter().map(|&x| t0 + x as f64 / SAMPLE_RATE as f64));
        let comparing = fresh_from.filter(|&from| t0 < from + 2.0 * piece_s);
        carried.push(&e.samples, |t, p, fired| {
            if fired {
                detections.push(t);
            }
            if comparing.is_some() {
                pc.insert(ms(t), p);
            }
        });
        if let Some(from) = comparing {
            fresh.push(&e.samples, |t, p, _| {
                if t >= warm_s {
                    pf.insert(ms(from + t), p);
                }
            });
        }
        progress(k + 1, pieces);
    }
    close(&mut pc, &mut pf, segments.last_mut());
    let seg_s = segment_pieces as f64 * piece_s;
    let last = segments.len() - 1;
    let seg_of = |t: f64| ((t / seg_s) as usize).min(last);
    let s = score(&detections, &ends);
    for &e in &ends {
        segments[seg_of(e)].positives += 1;
    }
    for &e in &s.hit_ends {
        segments[seg_of(e)].hits += 1;
    }
    for &t in &s.false_accept_times {
        segments[seg_of(t)].false_accepts += 1;
    }
    let hours = pieces as f64 * piece_s / 3600.0;
    Ok(DriftReport {
        hours,
        segment_minutes: seg_s / 60.0,
        warm_seconds: warm_s,
        recall: if s.positives == 0 { 0.0 } else { s.hits as f64 / s.positives as f64 },
        false_accepts_per_hour: s.false_accepts as f64 / hours,
        max_abs_diff: segments.iter().filter_map(|g| g.max_abs_diff).fold(0.0, f32::max),
        segments,
    })
}

/// Writes WAVs from held-out voices and speakers into `dir` with labels.tsv.
pub fn make_eval(spec: &MakeEvalSpec, dir: &Path, mut progress: impl FnMut(&str, usize, usize)) -> Result<usize, ModelError> {
    if spec.pos_files + spec.neg_files > 100_000 || !(0.0..=600.0).contains(&spec.stream_minutes) {
        return Err(ModelError::Invalid("make-eval: at most 100000 files and 600 stream minutes".into()));
    }
    spec.acoustics.validate()?;
    let bank = held_out_bank(
        &spec.word,
        (spec.pos_files * 2 + (spec.stream_minutes * 2.0) as usize, spec.pos_files + spec.neg_files * 2),
        spec.negative_words,
        spec.seed,
        (spec.speech_commands.clone(), spec.backgrounds.clone()),
        &spec.cache,
        spec.threads,
    )?;
    let mut tsv = String::from("file\tkind\tends\n");
    let mut contents = format!("{CONTENTS_HEADER}\n");
    let seconds = |i: usize| i as f64 / SAMPLE_RATE as f64;
    let trigger = data::spoken(&spec.word);
    let mut note = |name: &str, e: &data::Example, offset: usize| {
        let said = e.positives.iter().map(|&(s, t, k)| (s, t, trigger.as_str(), bank.positive_voices.get(k)));
        let said = said.chain(e.negatives.iter().map(|&(s, t, k)| (s, t, bank.negative_names.get(k).map_or("?", String::as_str), bank.negative_voices.get(k))));
        let mut said: Vec<_> = said.collect();
        said.sort_by_key(|&(s, ..)| s);
        for (s, t, word, voice) in said {
            let voice = voice.map_or("?", String::as_str);
            let _ = writeln!(contents, "{name}\t{:.3}\t{:.3}\t{word}\t{voice}", seconds(s + offset), seconds(t + offset));
        }
    };
    let write = |name: &str, samples: &[f32]| write_wav(&dir.join(name), samples, SAMPLE_RATE).map_err(dsp_err);
    let fmt_ends = |ends: &[usize]| ends.iter().map(|&e| format!("{:.3}", e as f64 / SAMPLE_RATE as f64)).collect::<Vec<_>>().join(";");
    let total = spec.pos_files + spec.neg_files + usize::from(spec.stream_minutes > 0.0);
    let mut done = 0;
    let pos_ex = eval_example(3, 3, spec.acoustics);
    let mut i = 0u64;
    while done < spec.pos_files {
        i += 1;
        let e = data::make_example(&bank, &pos_ex, spec.seed.wrapping_mul(1_000_003).wrapping_add(i));
        if e.ends.is_empty() {
            continue;
        }
        let name = format!("pos_{done:05}.wav");
        write(&name, &e.samples)?;
        note(&name, &e, 0);
        let _ = writeln!(tsv, "{name}\tpos\t{}", fmt_ends(&e.ends));
        done += 1;
        progress("clips", done, total);
    }
    for k in 0..spec.neg_files {
        let e = data::make_example(&bank, &eval_example(0, 4, spec.acoustics), spec.seed.wrapping_mul(7_000_001).wrapping_add(k as u64));
        let name = format!("neg_{k:05}.wav");
        write(&name, &e.samples)?;
        note(&name, &e, 0);
        let _ = writeln!(tsv, "{name}\tneg\t");
        done += 1;
        progress("clips", done, total);
    }
    if spec.stream_minutes > 0.0 {
        let pieces = (spec.stream_minutes * 6.0).ceil() as usize;
        let mut samples = Vec::with_capacity(pieces * 160_000);
        let mut ends = Vec::new();
        for k in 0..pieces {
            let e = stream_piece(&bank, spec.seed, k, spec.acoustics);
            ends.extend(e.ends.iter().map(|&x| x + samples.len()));
            note("stream_00000.wav", &e, samples.len());
            samples.extend_from_slice(&e.samples);
        }
        write("stream_00000.wav", &samples)?;
        let _ = writeln!(tsv, "stream_00000.wav\tstream\t{}", fmt_ends(&ends));
        done += 1;
        progress("clips", done, total);
    }
    for (name, text) in [(CONTENTS, &contents), ("labels.tsv", &tsv)] {
        crate::atomic::write_atomic(&dir.join(name), text.as_bytes()).map_err(|source| ModelError::Io { path: dir.join(name), source })?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::trigger::model::TriggerConfig;

    #[test]
    fn labels_parse_and_reject() {
        let p = Path::new("labels.tsv");
        let rows = parse_labels(p, "file\tkind\tends\na.wav\tpos\t1.5;3\nb.flac\tneg\t\nc.wav\tstream\n").unwrap();
        assert_eq!(rows[0], LabelRow { file: "a.wav".into(), kind: Kind::Pos, ends: vec![1.5, 3.0] });
        assert_eq!(rows[1].ends, Vec::<f64>::new());
        assert_eq!(rows[2].kind, Kind::Stream);
        for bad in ["", "name\tkind\tends\na\tpos\t1", "file\tkind\tends\na.wav\tmaybe\t", "file\tkind\tends\na.wav\tpos\tx", "file\tkind\tends\na.wav\tpos\t-1", "file\tkind\tends\n", "file\tkind\tends\n../x.wav\tneg\t"] {
            assert!(parse_labels(p, bad).is_err(), "{bad:?}");
        }
    }

    /// An untrained network still runs a folder end to end: the report counts 2 positives,
    /// 20 s of negative audio, and the JSON has every field of the contract.
    #[test]
    fn eval_runs_on_a_small_folder() {
        let dir = tempfile::tempdir().unwrap();
        let net = TriggerNet::<f32>::new(TriggerConfig::small(), 1).unwrap();
        write_wav(&dir.path().join("a.wav"), &vec![0.01; 160_000], 16_000).unwrap();
        write_wav(&dir.path().join("b.wav"), &vec![0.0; 441_000], 44_100).unwrap();
        std::fs::write(dir.path().join("labels.tsv"), "file\tkind\tends\na.wav\tpos\t2;5\nb.wav\tneg\t\n").unwrap();
        let r = eval_dir(&net, None, &DetectorConfig::default(), dir.path(), |_, _| {}).unwrap();
        assert_eq!(r.positives, 2);
        assert!((r.negative_hours * 3600.0 - 10.0).abs() < 1e-6);
        let json = serde_json::to_value(&r).unwrap();
        for k in ["recall", "hits", "positives", "false_accepts", "negative_hours", "false_accepts_per_hour", "latency_ms_median", "latency_ms_p95", "realtime_factor"] {
            assert!(json.get(k).is_some(), "{k}");
        }
        // The curve is the same network output rescored: its point at the chosen sensitivity
        // is the report itself.
        assert_eq!(r.curve.iter().map(|p| p.sensitivity).collect::<Vec<_>>(), CURVE_SENSITIVITIES);
        let same = r.curve.iter().find(|p| p.sensitivity == 0.5).unwrap();
        assert_eq!((same.recall, same.false_accepts_per_hour), (r.recall, r.false_accepts_per_hour));
        // every word not found and every false accept is listed, where it happened
        assert_eq!((r.missed.len(), r.false_accepts_at.len()), (r.positives - r.hits, r.false_accepts));
        assert!(r.missed.iter().all(|m| m.file == "a.wav" && [2.0, 5.0].contains(&m.seconds) && m.cause.is_none()), "{:?}", r.missed);
        assert!(r.false_accepts_at.iter().all(|f| f.cause.is_none()));
        std::fs::write(dir.path().join("labels.tsv"), "file\tkind\tends\nmissing.wav\tneg\t\n").unwrap();
        assert!(eval_dir(&net, None, &DetectorConfig::default(), dir.path(), |_, _| {}).is_err());
    }

    /// Points (sensitivity: recall / per hour) .01: .80/0.0, .1: .93/0.5, .5: .97/3, .9: .99/9.
    /// At most 0.5/h: .80 and .93, best .93 (0.5 itself counts). Recall at least .97: 3 and
    /// 9, fewest 3. A curve that never gets that quiet or that good gives None for each.
    #[test]
    fn goal_distances_pick_the_best_qualifying_point() {
        let pt = |sensitivity, recall, false_accepts_per_hour| OperatingPoint { sensitivity, recall, false_accepts_per_hour };
        let curve = [pt(0.01, 0.80, 0.0), pt(0.1, 0.93, 0.5), pt(0.5, 0.97, 3.0), pt(0.9, 0.99, 9.0)];
        assert_eq!(goal_distances(&curve), (Some(0.93), Some(3.0)));
        assert_eq!(goal_distances(&[pt(0.5, 0.9, 2.0)]), (None, None));
    }

    /// Trigger word ending at 2.0; "deactivate" spoken 4.0-4.8 by Marco; "banana" 7.0-7.5 by
    /// speaker 0a2b.
    /// t = 2.9: within 1.0 s after the trigger's end, a second detection of it.
    /// t = 4.5: inside "deactivate" (no word ended within the window yet) -> deactivate.
    /// t = 5.6: 0.8 s after deactivate ended -> deactivate. t = 6.9: 0.1 s before banana
    /// ends? No: banana ends at 7.5, 0.6 s later, outside the 0.3-s early side; deactivate
    /// ended 2.1 s before, outside the 1.0-s late side -> background.
    #[test]
    fn false_accepts_are_put_down_to_what_was_said_and_by_whom() {
        let p = Path::new("contents.tsv");
        let text = "file\tstart\tend\tword\tvoice\na.wav\t4\t4.8\tdeactivate\tespeak:en+Marco\na.wav\t7\t7.5\tbanana\thuman:0a2b\n";
        let c = parse_contents(p, text).unwrap();
        let spoken = &c["a.wav"];
        assert_eq!(spoken[1], Spoken { start: 7.0, end: 7.5, word: "banana".into(), voice: Some("human:0a2b".into()) });
        let by = |t| set_off_by(t, spoken, &[2.0]);
        assert_eq!(by(2.9), SetOffBy::TriggerAgain);
        assert_eq!(by(2.9).name(), "the trigger word, detected twice");
        assert_eq!((by(4.5).name(), by(4.5).voice()), ("deactivate".into(), Some("espeak:en+Marco")));
        assert_eq!(by(5.6).name(), "deactivate");
        assert_eq!((by(6.9).name(), by(6.9).voice()), ("no word (background)".into(), None));
        assert_eq!((by(7.3).name(), by(7.3).voice()), ("banana".into(), Some("human:0a2b")));
        // a folder made before voices were written down still reads, without them
        let old = parse_contents(p, "file\tstart\tend\tword\na.wav\t4\t4.8\tdeactivate\n").unwrap();
        assert_eq!(old["a.wav"][0], Spoken { start: 4.0, end: 4.8, word: "deactivate".into(), voice: None });
        for bad in [
            "",
            "file\tkind\tends\n",
            "file\tstart\tend\tword\na.wav\tx\t1\tw\n",
            "file\tstart\tend\tword\na.wav\t1\t2\n",
            "file\tstart\tend\tword\na.wav\t1\t2\tw\tv\n",
            "file\tstart\tend\tword\tvoice\na.wav\t1\t2\tw\n",
            "file\tstart\tend\tword\tvoice\na.wav\t1\t2\tw\tv\textra\n",
        ] {
            assert!(parse_contents(p, bad).is_err(), "{bad:?}");
        }
    }

    /// Causes {activist: 2, background: 1, actively: 2}, words said {activist: 10, actively:
    /// 4, banana: 7}: activist 2 of 10 and actively 2 of 4 (a tie, by name), then background
    /// with no count of its own; banana set nothing off, so it is not listed.
    #[test]
    fn causes_carry_how_often_their_word_was_said() {
        let causes = BTreeMap::from([("activist".to_string(), 2), ("no word (background)".to_string(), 1), ("actively".to_string(), 2)]);
        let said = BTreeMap::from([("activist".to_string(), 10), ("actively".to_string(), 4), ("banana".to_string(), 7)]);
        let c = |cause: &str, count, said| Cause { cause: cause.into(), count, said };
        assert_eq!(tally_causes(causes, &said), [c("actively", 2, Some(4)), c("activist", 2, Some(10)), c("no word (background)", 1, None)]);
    }

    /// A file that is 0.5 s at a steady 0.1 and then 0.5 s at 0.01 goes on, after its end,
    /// as 1 s of pink noise at its quietest 100 ms' level: RMS 0.01 (the noise is made at RMS
    /// 1). Digital silence, or a file shorter than 100 ms, goes on silent.
    #[test]
    fn files_go_on_at_their_quietest_level() {
        let x: Vec<f32> = [vec![0.1; 8000], vec![0.01; 8000]].concat();
        let tone = room_tone(&x);
        assert_eq!(tone.len(), 16_000);
        let rms = (tone.iter().map(|v| v * v).sum::<f32>() / tone.len() as f32).sqrt();
        assert!((rms - 0.01).abs() < 1e-4, "{rms}");
        assert_eq!(tone, room_tone(&x), "the same tail every time");
        assert!(room_tone(&[0.0; 32_000]).iter().all(|&v| v == 0.0));
        assert!(room_tone(&[0.5; 800]).iter().all(|&v| v == 0.0));
        assert_eq!(heard_out(x.clone()).len(), 32_000);
    }

    /// A chime at 0.5 s of a 16-kHz second starts at sample 8,000 and leaves the samples
    /// before it untouched; one at 1.2 s, past the end, lengthens the output to hold it.
    #[test]
    fn chimes_land_where_detected() {
        let x = vec![0.0; 16_000];
        let y = with_chimes(&x, 16_000, &[0.5]);
        assert!(y[..8000].iter().all(|&v| v == 0.0));
        assert!(y[8000..9000].iter().any(|&v| v.abs() > 0.1));
        // a detection in the tail after the end gets its whole chime
        let y = with_chimes(&x, 16_000, &[0.9, 1.2]);
        assert_eq!(y.len(), 19_200 + chime(16_000).len());
        assert!(y[19_200..19_700].iter().any(|&v| v.abs() > 0.1));
    }

    /// Two minutes of held-out-style stream (twelve 10-s pieces: "activate" in every third,
    /// other words elsewhere) in four 30-s segments: every word is counted in its segment,
    /// the first segment has nothing to compare against, and at each later segment's start a
    /// fresh shipped detector agrees with the one that has run all along, 3 s after starting,
    /// to within 0.05 in probability: the carried state holds nothing of the minutes before.
    #[test]
    fn a_long_running_detector_behaves_as_a_fresh_one() {
        let clip = |name: &str, bytes: &[u8]| {
            let a = crate::dsp::audio_file::decode_audio(Path::new(name), bytes).unwrap();
            data::trim_silence(&resample(&a.samples, a.rate, SAMPLE_RATE).unwrap()).to_vec()
        };
        let bank = Bank {
            positives: vec![clip("a.wav", include_bytes!("testdata/activate_en-us.wav"))],
            negatives: vec![clip("o.wav", include_bytes!("testdata/other_words_en-us.wav"))],
            negative_names: vec!["other words".into()],
            ..Bank::default()
        };
        let net = super::super::load_model(None).unwrap();
        let r = drift(&net, &DetectorConfig::default(), 12, 3, 3.0, |k| stream_piece(&bank, 4, k, Acoustics::DRY), |_, _| {}).unwrap();
        assert_eq!(r.segments.len(), 4);
        assert_eq!(r.segments.iter().map(|g| g.start_minutes).collect::<Vec<_>>(), [0.0, 0.5, 1.0, 1.5]);
        let words: usize = (0..12).map(|k| stream_piece(&bank, 4, k, Acoustics::DRY).ends.len()).sum();
        assert_eq!(r.segments.iter().map(|g| g.positives).sum::<usize>(), words);
        assert!(words >= 2 && r.recall >= 0.5, "{r:?}");
        assert!(r.segments[0].max_abs_diff.is_none());
        for g in &r.segments[1..] {
            assert!(g.max_abs_diff.is_some_and(|d| d < 0.05), "{g:?}");
        }
        assert!((r.hours - 120.0 / 3600.0).abs() < 1e-12);
        assert!(drift(&net, &DetectorConfig::default(), 0, 3, 3.0, |k| stream_piece(&bank, 4, k, Acoustics::DRY), |_, _| {}).is_err());
        let short = |_| data::Example { samples: vec![0.0; 100], ends: vec![], positives: vec![], negatives: vec![] };
        assert!(drift(&net, &DetectorConfig::default(), 2, 1, 3.0, short, |_, _| {}).is_err());
    }
}
