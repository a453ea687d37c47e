//! Trigger word: the microphone's spectrogram scrolling by, the detector's probability with
//! its threshold, a flash and a chime on each detection; a file when there is no microphone;
//! a check of which words set the detector off; and a trainer for any word the user types.
//!
//! The audio runs on the threads of `audio::listen`; this panel only drains their events
//! once a frame, so a slow frame costs display columns, never audio.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use egui::{Color32, ColorImage, ProgressBar, TextureOptions};
use egui_plot::{HLine, Line, Plot, VLine};

use super::Panel;
use super::worker::Worker;
use crate::audio::input::{Microphone, input_devices, record};
use crate::audio::listen::{LiveEvent, Listener, TriggerDetector};
use crate::models::trigger::verify::{Verifier, VerifierStream};
use crate::audio::play::Playback;
use crate::dsp::{SpectrogramConfig, write_wav};
use crate::models::ModelError;
use crate::models::trigger::check::{self, CheckSpec, Heard, WordCheck};
use crate::models::trigger::data::NegativeWords;
use crate::models::trigger::detect::DetectorConfig;
use crate::models::trigger::model::TriggerNet;
use crate::models::trigger::train::{self as ttrain, Event, NEW_WORD_MINIMAL_PAIRS, TrainConfig};
use crate::models::trigger::verify_train::{self, WindowScore};
use crate::models::trigger::{self, run};

/// Columns of spectrogram kept on screen: 5 s at a 10-ms hop.
const COLUMNS: usize = 500;
/// Seconds of probability trace kept on screen.
const TRACE_SECONDS: f64 = 10.0;
const FLASH: Duration = Duration::from_millis(700);
/// One take of the user's voice: time to say a word or a short phrase.
const TAKE_SECONDS: f32 = 2.0;

struct Live {
    mic: Microphone,
    listener: Listener,
}

enum FileMsg {
    Done(Result<FileOutcome, String>),
}

struct FileOutcome {
    trace: Vec<[f64; 2]>,
    detections: Vec<f64>,
    seconds: f64,
}

enum TrainMsg {
    Stage(String, f32),
    Event(Event),
    VerifierEvent(Event<WindowScore>),
    Done(Box<Result<Trained, ModelError>>),
}

enum CheckMsg {
    Stage(String, f32),
    Done(Result<WordCheck, String>),
}

/// How many of the words a check heard fire are listed, per list.
const CHECK_SHOWN: usize = 8;

/// A detector and its verifiers read on a worker, with the name the picker shows for them.
type Loaded = Result<(String, TriggerNet<f32>, Vec<Verifier<f32>>), String>;

/// A deletion the user confirmed, made on the folder worker before it reads the folders again.
enum FolderChange {
    ForgetWord(trigger::SavedWord),
    /// The folder of takes for one word.
    ForgetTakes(PathBuf),
}

/// The panel's folders as the worker found them, after the changes it made.
struct Folders {
    saved: Vec<trigger::SavedWord>,
    own_takes: usize,
    changed: Vec<(FolderChange, Result<(), String>)>,
}

/// What the Detector picker shows for the shipped model.
const SHIPPED_LABEL: &str = "activate (shipped)";

/// A word trained here: the detector and, unless training was stopped before it was done, its
/// verifier; and the files they were saved to, or why they could not be.
struct Trained {
    net: TriggerNet<f32>,
    verifier: Option<Verifier<f32>>,
    saved: Result<Vec<PathBuf>, String>,
}

pub struct TriggerPanel {
    model: Result<Arc<TriggerNet<f32>>, String>,
    devices: Vec<String>,
    device: usize,
    live: Option<Live>,
    live_error: Option<String>,
    sensitivity: f32,
    shared_sensitivity: Arc<AtomicU32>,
    /// Give each detection the verifiers' second look, where they fit the detector's word.
    verify: bool,
    /// How many verifiers the sensitivity was last set to the default behind (0: the
    /// detector alone; None: not yet, or a new detector); when that changes, so does the
    /// sensitivity.
    sensitivity_set_for: Option<usize>,
    /// The verifiers for the detector's word: the shipped pair, loaded once, or the one
    /// trained beside a new word's detector (none when its training was stopped).
    verifiers: Result<Vec<Verifier<f32>>, String>,
    columns: VecDeque<Box<[f32]>>,
    texture: Option<egui::TextureHandle>,
    trace: VecDeque<[f64; 2]>,
    detections: Vec<f64>,
    flash_until: Option<Instant>,
    /// Chimes play on a worker: opening an output device can take tens of milliseconds,
    /// which the UI thread must not wait for. It reports only a failure.
    chime: Option<Worker<String>>,
    chime_samples: Arc<[f32]>,
    speaker_error: Option<String>,
    file_path: String,
    file_job: Option<Worker<FileMsg>>,
    file_result: Option<Result<FileOutcome, String>>,
    word: String,
    training: Option<Worker<TrainMsg>>,
    /// Where takes of the user's voice are kept, one folder per word under it.
    own_root: PathBuf,
    /// Where words trained here are saved ([`trigger::save_word`]).
    words_root: PathBuf,
    /// The words saved there, offered by the Detector picker beside the shipped one.
    saved: Vec<trigger::SavedWord>,
    /// Reads the words and takes folders, and deletes from them, off the UI thread: they may
    /// sit on a slow or network disk. One job at a time, so a listing never runs ahead of
    /// the deletion before it; what is asked meanwhile waits in `folders_again`.
    folders: Option<Worker<Folders>>,
    folders_again: Option<Vec<FolderChange>>,
    /// What the picker shows: the shipped model, a saved word's slug, or a word just trained.
    detector_name: String,
    loading: Option<Worker<Loaded>>,
    load_error: Option<String>,
    /// A deletion asked for and not yet confirmed: a saved word is minutes of training and
    /// takes are the user's own voice, neither of which comes back.
    confirming: Option<Deletion>,
    own_takes: usize,
    recording: Option<Worker<Result<PathBuf, String>>>,
    record_error: Option<String>,
    train_stage: String,
    progress: f32,
    /// The part of the bar the detector's training fills; the verifier's fills the rest.
    detector_share: f32,
    train_log: Vec<String>,
    train_error: Option<String>,
    /// Train against the word's own near-rhymes too (`train --own-near-rhymes`).
    own_near_rhymes: bool,
    /// Train against close sound-alikes said in the positives' own voices too
    /// ([`NEW_WORD_MINIMAL_PAIRS`] of them, `train --minimal-pairs`).
    minimal_pairs: bool,
    /// What a check says and where its clips come from (shared data when it is there).
    check_spec: CheckSpec,
    checking: Option<Worker<CheckMsg>>,
    check_stage: String,
    check_progress: f32,
    /// The last check of the detector in use, and the sensitivity it ran at.
    check_result: Option<(f32, Result<WordCheck, String>)>,
}

/// What the panel is waiting for the user to confirm deleting.
#[derive(Clone, Debug)]
enum Deletion {
    Word(trigger::SavedWord),
    Takes,
}

impl Default for TriggerPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl TriggerPanel {
    pub fn new() -> Self {
        let sensitivity = DetectorConfig::default().sensitivity;
        let mut panel = Self {
            model: trigger::load_model(None).map(Arc::new).map_err(|e| format!("cannot load the shipped trigger model: {e}")),
            devices: input_devices(),
            device: 0,
            live: None,
            live_error: None,
            sensitivity,
            shared_sensitivity: Arc::new(AtomicU32::new(sensitivity.to_bits())),
            verify: true,
            sensitivity_set_for: None,
            verifiers: trigger::load_verifiers(&[]).map_err(|e| format!("cannot load the shipped verifiers: {e}")),
            columns: VecDeque::with_capacity(COLUMNS),
            texture: None,
            trace: VecDeque::new(),
            detections: Vec::new(),
            flash_until: None,
            chime: None,
            chime_samples: run::chime(44_100).into(),
            speaker_error: None,
            file_path: String::new(),
            file_job: None,
            file_result: None,
            word: "activate".into(),
            training: None,
            own_root: PathBuf::from(".seqlab-cache/own"),
            words_root: PathBuf::from(trigger::WORDS_DIR),
            saved: Vec::new(),
            folders: None,
            folders_again: None,
            detector_name: SHIPPED_LABEL.into(),
            loading: None,
            load_error: None,
            confirming: None,
            own_takes: 0,
            recording: None,
            record_error: None,
            train_stage: String::new(),
            progress: 0.0,
            detector_share: 1.0,
            train_log: Vec::new(),
            train_error: None,
            own_near_rhymes: false,
            minimal_pairs: false,
            check_spec: CheckSpec {
                speech_commands: shared_dir("../shared/data/speech/speech_commands_sample"),
                backgrounds: shared_dir("../shared/data/speech/background_noise"),
                ..CheckSpec::new("")
            },
            checking: None,
            check_stage: String::new(),
            check_progress: 0.0,
            check_result: None,
        };
        panel.read_folders(Vec::new());
        panel
    }

    /// Saves and finds trained words under `root` instead of `.seqlab-cache/words`.
    pub fn with_words_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.words_root = root.into();
        self.reread_folders();
        self
    }

    /// The words saved under the words folder, as last read.
    pub fn saved_words(&self) -> &[trigger::SavedWord] {
        &self.saved
    }

    /// Reads the folders anew, dropping a read of the old ones: the builders run before the
    /// user can change anything, so no deletion is lost with it.
    fn reread_folders(&mut self) {
        (self.folders, self.folders_again) = (None, None);
        self.read_folders(Vec::new());
    }

    /// Makes `changes`, then reads the saved words and the takes for the word in the box, on
    /// a worker; behind a running job, after it.
    fn read_folders(&mut self, changes: Vec<FolderChange>) {
        if self.folders.is_some() {
            self.folders_again.get_or_insert_with(Vec::new).extend(changes);
            return;
        }
        let (words, takes) = (self.words_root.clone(), self.own_dir());
        let job = Worker::spawn("trigger-folders", move |tx: &Sender<Folders>, _: &AtomicBool| {
            let changed = changes
                .into_iter()
                .map(|c| {
                    let done = match &c {
                        FolderChange::ForgetWord(w) => trigger::forget_word(w).map_err(|e| e.to_string()),
                        // asked twice before the first was done, it is done
                        FolderChange::ForgetTakes(dir) => match std::fs::remove_dir_all(dir) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("cannot remove {}: {e}", dir.display())),
                            _ => Ok(()),
                        },
                    };
                    (c, done)
                })
                .collect();
            let _ = tx.send(Folders { saved: trigger::saved_words(&words), own_takes: count_takes(&takes), changed });
        });
        match job {
            Ok(j) => self.folders = Some(j),
            Err(e) => self.load_error = Some(format!("cannot read the words folder: {e}")),
        }
    }

    /// The word the detector listens for, as its file says.
    pub fn detector_word(&self) -> Option<&str> {
        self.model.as_ref().ok().and_then(|n| n.info.get("word")).map(String::as_str)
    }

    /// Reads a saved word (None: the shipped one) on a worker; it replaces the detector and
    /// its verifiers once read, and a file that cannot be read leaves them as they were.
    fn start_loading(&mut self, word: Option<trigger::SavedWord>) {
        self.load_error = None;
        let name = word.as_ref().map_or(SHIPPED_LABEL.to_string(), |w| w.slug.clone());
        let job = Worker::spawn("trigger-load", move |tx: &Sender<Loaded>, _: &AtomicBool| {
            let _ = tx.send(trigger::load_word(word.as_ref()).map(|(net, v)| (name, net, v)).map_err(|e| e.to_string()));
        });
        match job {
            Ok(j) => self.loading = Some(j),
            Err(e) => self.load_error = Some(format!("cannot start loading: {e}")),
        }
    }

    /// The new detector and verifiers, live from the next Listen.
    fn use_detector(&mut self, net: TriggerNet<f32>, verifiers: Vec<Verifier<f32>>) {
        self.live = None;
        self.check_result = None;
        self.model = Ok(Arc::new(net));
        self.verifiers = Ok(verifiers);
        self.sensitivity_set_for = None;
    }

    /// Uses `net` instead of the shipped model, as if the user had just trained it.
    pub fn with_model(mut self, net: TriggerNet<f32>) -> Self {
        self.model = Ok(Arc::new(net));
        self
    }

    /// Gives the second look `verifiers` instead of the shipped pair, as training a new word
    /// does.
    pub fn with_verifiers(mut self, verifiers: Vec<Verifier<f32>>) -> Self {
        self.verifiers = Ok(verifiers);
        self
    }

    /// The chosen input device; None for the system's default (the picker's first entry).
    fn device_name(&self) -> Option<&str> {
        if self.device == 0 { None } else { self.devices.get(self.device).map(String::as_str) }
    }

    /// Keeps takes of the user's voice under `root` instead of `.seqlab-cache/own`.
    pub fn with_own_voice_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.own_root = root.into();
        self.reread_folders();
        self
    }

    /// Takes of the user's voice recorded for the word in the box.
    pub fn own_takes(&self) -> usize {
        self.own_takes
    }

    /// The folder of takes for the word in the box: its letters and digits, lower-cased.
    fn own_dir(&self) -> PathBuf {
        self.own_root.join(trigger::word_slug(&self.word))
    }

    /// Records one take of TAKE_SECONDS on a worker and saves it in the word's folder.
    fn start_recording(&mut self) {
        self.record_error = None;
        let device = self.device_name().map(str::to_string);
        let dir = self.own_dir();
        let job = Worker::spawn("record-take", move |tx: &Sender<Result<PathBuf, String>>, _: &AtomicBool| {
            let take = || -> Result<PathBuf, String> {
                let (x, rate) = record(device.as_deref(), TAKE_SECONDS).map_err(|e| e.to_string())?;
                std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
                let path = dir.join(format!("take-{stamp}.wav"));
                write_wav(&path, &x, rate).map_err(|e| e.to_string())?;
                Ok(path)
            };
            let _ = tx.send(take());
        });
        match job {
            Ok(j) => self.recording = Some(j),
            Err(e) => self.record_error = Some(format!("cannot start recording: {e}")),
        }
    }

    /// Starts with `path` in the file box, as if the user had typed it.
    pub fn with_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file_path = path.into().display().to_string();
        self
    }

    /// Detection times of the last file run (seconds), if it succeeded.
    pub fn file_detections(&self) -> Option<&[f64]> {
        self.file_result.as_ref().and_then(|r| r.as_ref().ok()).map(|o| o.detections.as_slice())
    }

    /// Checks with `spec`'s sizes, seed and sources (the word is always the detector's).
    pub fn with_check_spec(mut self, spec: CheckSpec) -> Self {
        self.check_spec = spec;
        self
    }

    /// The last check's finding or error, while it is of the detector in use.
    pub fn check_result(&self) -> Option<&Result<WordCheck, String>> {
        self.check_result.as_ref().map(|(_, r)| r)
    }

    /// Hears the detector in use, at the slider's sensitivity and with its second look, say
    /// its word and other words, on a worker ([`check::check_word`]).
    fn start_check(&mut self) {
        let sensitivity = self.sensitivity;
        let prepared = (|| -> Result<_, String> {
            let net = Arc::clone(self.model.as_ref().map_err(Clone::clone)?);
            let word = self.detector_word().ok_or("the detector has no word saved with it")?.to_string();
            Ok((net, self.verifier()?, CheckSpec { word, ..self.check_spec.clone() }))
        })();
        let (net, look, spec) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.check_result = Some((sensitivity, Err(e)));
                return;
            }
        };
        let det = self.detector_config();
        self.check_result = None;
        self.check_progress = 0.0;
        let job = Worker::spawn("trigger-check", move |tx: &Sender<CheckMsg>, stop: &AtomicBool| {
            // a message per whole percent: a check hears thousands of clips
            let shown = std::sync::atomic::AtomicUsize::new(usize::MAX);
            let progress = |what: &str, done: usize, total: usize| {
                let pct = 100 * done / total.max(1);
                if shown.swap(pct, Ordering::Relaxed) != pct {
                    let _ = tx.send(CheckMsg::Stage(what.to_string(), done as f32 / total.max(1) as f32));
                }
            };
            let r = check::check_word(&net, &det, look.as_ref(), &spec, &progress, stop);
            let _ = tx.send(CheckMsg::Done(r.map_err(|e| e.to_string())));
        });
        match job {
            Ok(j) => self.checking = Some(j),
            Err(e) => self.check_result = Some((sensitivity, Err(format!("cannot start the check: {e}")))),
        }
    }

    /// The microphone error shown, if listening could not start.
    pub fn live_error(&self) -> Option<&str> {
        self.live_error.as_deref()
    }

    /// Whether there are verifiers and they know the word the detector listens for.
    fn second_look_fits(&self) -> bool {
        matches!((&self.model, &self.verifiers), (Ok(net), Ok(vs)) if !vs.is_empty() && vs.iter().all(|v| trigger::verifier_fits(net, v)))
    }

    /// Whether detections get the second look: it is ticked and fits the detector's word.
    pub fn second_look_on(&self) -> bool {
        self.verify && self.second_look_fits()
    }

    /// The verifiers when the second look is on and fits the detector's word.
    fn verifier(&self) -> Result<Option<VerifierStream>, String> {
        if !self.second_look_on() {
            return Ok(None);
        }
        let v = self.verifiers.clone()?;
        VerifierStream::new(v, 0.5).map(Some).map_err(|e| e.to_string())
    }

    /// The detector settings for the verifiers now behind it, at the slider's sensitivity.
    pub fn detector_config(&self) -> DetectorConfig {
        DetectorConfig { sensitivity: self.sensitivity, ..DetectorConfig::behind(self.behind()) }
    }

    /// How many verifiers have the last word (0 when the second look is off).
    fn behind(&self) -> usize {
        if self.second_look_on() { self.verifiers.as_ref().map_or(0, Vec::len) } else { 0 }
    }

    /// The sensitivity the slider shows.
    pub fn sensitivity(&self) -> f32 {
        self.sensitivity
    }

    fn start_listening(&mut self) {
        self.live_error = None;
        let result = (|| -> Result<Live, String> {
            let net = self.model.as_ref().map_err(Clone::clone)?;
            let (mic, samples) = Microphone::open(self.device_name(), 4.0).map_err(|e| e.to_string())?;
            let detector = TriggerDetector::new(net, self.detector_config(), self.verifier()?, Arc::clone(&self.shared_sensitivity)).map_err(|e| e.to_string())?;
            let listener = Listener::start(samples, mic.sample_rate, SpectrogramConfig::default(), detector).map_err(|e| e.to_string())?;
            Ok(Live { mic, listener })
        })();
        match result {
            Ok(live) => {
                self.columns.clear();
                self.trace.clear();
                self.detections.clear();
                self.live = Some(live);
            }
            Err(e) => self.live_error = Some(e),
        }
    }

    /// Drains the live events into what is drawn; chimes and flashes on detections.
    fn poll_live(&mut self, ctx: &egui::Context) {
        let Some(live) = &self.live else { return };
        let mut fired = false;
        for event in live.listener.events.try_iter() {
            match event {
                LiveEvent::Column(c) => {
                    if self.columns.len() == COLUMNS {
                        self.columns.pop_front();
                    }
                    self.columns.push_back(c);
                }
                LiveEvent::Probability { t, p } => {
                    self.trace.push_back([t, f64::from(p)]);
                    while self.trace.front().is_some_and(|f| t - f[0] > TRACE_SECONDS) {
                        self.trace.pop_front();
                    }
                }
                LiveEvent::Detection { t } => {
                    self.detections.push(t);
                    fired = true;
                }
            }
        }
        if fired {
            self.flash_until = Some(Instant::now() + FLASH);
            let samples = Arc::clone(&self.chime_samples);
            let job = Worker::spawn("trigger-chime", move |tx: &Sender<String>, _cancel: &AtomicBool| {
                match Playback::start(samples.to_vec(), 1, 44_100) {
                    Ok(p) => {
                        let until = Instant::now() + p.duration() + Duration::from_millis(100);
                        while !p.is_finished() && Instant::now() < until {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(e.to_string());
                    }
                }
            });
            match job {
                Ok(j) => self.chime = Some(j),
                Err(e) => self.speaker_error = Some(format!("cannot start the chime: {e}")),
            }
        }
        if let Some(job) = &self.chime {
            let poll = job.poll();
            if let Some(e) = poll.messages.into_iter().last() {
                self.speaker_error = Some(e);
            }
            if poll.finished {
                self.chime = None;
            }
        }
        ctx.request_repaint_after(Duration::from_millis(30));
    }

    fn start_file(&mut self) {
        self.file_result = None;
        let path = PathBuf::from(self.file_path.trim());
        let net = match &self.model {
            Ok(n) => Arc::clone(n),
            Err(e) => {
                self.file_result = Some(Err(e.clone()));
                return;
            }
        };
        let det = self.detector_config();
        let verifier = match self.verifier() {
            Ok(v) => v,
            Err(e) => {
                self.file_result = Some(Err(e));
                return;
            }
        };
        let job = Worker::spawn("trigger-file", move |tx: &Sender<FileMsg>, _cancel: &AtomicBool| {
            let result = (|| -> Result<FileOutcome, ModelError> {
                let audio = crate::dsp::read_audio(&path).map_err(|e| ModelError::Invalid(e.to_string()))?;
                let x = crate::dsp::resample(&audio.samples, audio.rate, 16_000).map_err(|e| ModelError::Invalid(e.to_string()))?;
                let mut pipeline = run::Pipeline::new(&net, det, verifier)?;
                let (mut trace, mut detections) = (Vec::new(), Vec::new());
                let mut on_step = |t, p: f32, fired| {
                    trace.push([t, f64::from(p)]);
                    if fired {
                        detections.push(t);
                    }
                };
                pipeline.push(&run::heard_out(x), &mut on_step);
                let last = pipeline.finish();
                detections.extend(last);
                Ok(FileOutcome { trace, detections, seconds: audio.seconds() })
            })();
            let _ = tx.send(FileMsg::Done(result.map_err(|e| e.to_string())));
        });
        match job {
            Ok(j) => self.file_job = Some(j),
            Err(e) => self.file_result = Some(Err(format!("cannot start: {e}"))),
        }
    }

    /// What Train would train now: the word in the box, the user's takes, the shared data
    /// where it is, and the word's own near-rhymes and minimal pairs among the negatives when
    /// ticked.
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            own_voice: (self.own_takes > 0).then(|| self.own_dir()),
            word: self.word.trim().to_string(),
            speech_commands: self.check_spec.speech_commands.clone(),
            backgrounds: self.check_spec.backgrounds.clone(),
            negative_words: if self.own_near_rhymes { NegativeWords::Own } else { NegativeWords::All },
            minimal_pairs: if self.minimal_pairs { NEW_WORD_MINIMAL_PAIRS } else { 0 },
            ..TrainConfig::default()
        }
    }

    fn start_training(&mut self) {
        self.train_error = None;
        self.train_log.clear();
        self.progress = 0.0;
        let cfg = self.train_config();
        self.detector_share = verify_train::detector_share(&cfg);
        let words_root = self.words_root.clone();
        let job = Worker::spawn("trigger-train", move |tx: &Sender<TrainMsg>, cancel: &AtomicBool| {
            let stage = |what: &str, done: usize, total: usize| {
                let _ = tx.send(TrainMsg::Stage(what.to_string(), done as f32 / total.max(1) as f32));
            };
            let go_on = |sent: bool| if !sent || cancel.load(Ordering::Relaxed) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
            let result = ttrain::banks(&cfg, &stage).and_then(|(train_bank, val_bank)| {
                verify_train::train_word(
                    &cfg,
                    train_bank,
                    &val_bank,
                    &mut |e| go_on(tx.send(TrainMsg::Event(e)).is_ok()),
                    &mut |e| go_on(tx.send(TrainMsg::VerifierEvent(e)).is_ok()),
                )
            });
            let result = result.map(|(mut net, mut verifier)| {
                let saved = trigger::save_word(&words_root, &mut net, verifier.as_mut()).map_err(|e| e.to_string());
                Trained { net, verifier, saved }
            });
            let _ = tx.send(TrainMsg::Done(Box::new(result)));
        });
        match job {
            Ok(j) => self.training = Some(j),
            Err(e) => self.train_error = Some(format!("cannot start training: {e}")),
        }
    }

    fn poll_jobs(&mut self, ctx: &egui::Context) {
        if let Some(job) = &self.folders {
            let poll = job.poll();
            for f in poll.messages {
                (self.saved, self.own_takes) = (f.saved, f.own_takes);
                for changed in f.changed {
                    match changed {
                        (FolderChange::ForgetWord(_), Ok(())) => self.start_loading(None),
                        (FolderChange::ForgetWord(_), Err(e)) => self.load_error = Some(e),
                        (FolderChange::ForgetTakes(_), Err(e)) => self.record_error = Some(e),
                        (FolderChange::ForgetTakes(_), Ok(())) => {}
                    }
                }
            }
            if poll.finished {
                self.folders = None;
                if let Some(changes) = self.folders_again.take() {
                    self.read_folders(changes);
                }
            } else {
                ctx.request_repaint_after(Duration::from_millis(20));
            }
        }
        if let Some(job) = &self.loading {
            let poll = job.poll();
            for loaded in poll.messages {
                match loaded {
                    Ok((name, net, verifiers)) => {
                        self.use_detector(net, verifiers);
                        self.detector_name = name;
                    }
                    Err(e) => self.load_error = Some(e),
                }
            }
            if poll.finished {
                self.loading = None;
            } else {
                ctx.request_repaint_after(Duration::from_millis(50));
            }
        }
        if let Some(job) = &self.recording {
            let poll = job.poll();
            for r in poll.messages {
                match r {
                    Ok(_) => self.read_folders(Vec::new()),
                    Err(e) => self.record_error = Some(e),
                }
            }
            if poll.finished {
                self.recording = None;
            } else {
                ctx.request_repaint_after(Duration::from_millis(100));
            }
        }
        if let Some(job) = &self.file_job {
            let poll = job.poll();
            for FileMsg::Done(r) in poll.messages {
                self.file_result = Some(r);
            }
            if poll.finished {
                self.file_job = None;
            } else {
                ctx.request_repaint_after(Duration::from_millis(50));
            }
        }
        if let Some(job) = &self.checking {
            let poll = job.poll();
            for msg in poll.messages {
                match msg {
                    CheckMsg::Stage(what, f) => {
                        self.check_stage = what;
                        self.check_progress = f;
                    }
                    CheckMsg::Done(r) => self.check_result = Some((self.sensitivity, r)),
                }
            }
            if poll.finished {
                self.checking = None;
            } else {
                ctx.request_repaint_after(Duration::from_millis(100));
            }
        }
        let mut check_now = false;
        if let Some(job) = &self.training {
            let poll = job.poll();
            for msg in poll.messages {
                match msg {
                    TrainMsg::Stage(what, f) => {
                        self.train_stage = what;
                        self.progress = f;
                    }
                    TrainMsg::Event(Event::Progress { epoch, epochs, done, total, loss }) => {
                        self.train_stage = format!("detector, epoch {}/{epochs}: loss {loss:.3}", epoch + 1);
                        self.progress = self.detector_share * fraction(epoch, epochs, done, total);
                    }
                    TrainMsg::Event(Event::Epoch { epoch, train_loss, val, seconds }) => {
                        let v = val.map(|v| format!(", held-out voices: recall {:.2}, {:.1} false accepts/h", v.recall, v.false_accepts_per_hour)).unwrap_or_default();
                        self.train_log.push(format!("detector, epoch {}: loss {train_loss:.3}{v} ({seconds:.0} s)", epoch + 1));
                    }
                    TrainMsg::VerifierEvent(Event::Progress { epoch, epochs, done, total, loss }) => {
                        self.train_stage = format!("second look, epoch {}/{epochs}: loss {loss:.3}", epoch + 1);
                        self.progress = self.detector_share + (1.0 - self.detector_share) * fraction(epoch, epochs, done, total);
                    }
                    TrainMsg::VerifierEvent(Event::Epoch { epoch, train_loss, val, seconds }) => {
                        let v = val.map(|v| format!(", held-out windows: {:.3} of the words kept, {:.1}% of the others", v.recall, 100.0 * v.false_accept_rate)).unwrap_or_default();
                        self.train_log.push(format!("second look, epoch {}: loss {train_loss:.3}{v} ({seconds:.0} s)", epoch + 1));
                    }
                    TrainMsg::Done(result) => match *result {
                        Ok(Trained { net, verifier, saved }) => {
                            let word = self.word.trim().to_string();
                            let look = if verifier.is_some() { "with its own second look" } else { "without a second look (its training was stopped)" };
                            self.use_detector(net, verifier.into_iter().collect());
                            self.train_log.push(format!("\"{word}\" is ready {look}: press Listen. Checking which words set it off (above)..."));
                            check_now = true;
                            match saved {
                                Ok(paths) => {
                                    let flags: Vec<String> = paths.iter().zip(["--model", "--verifier"]).map(|(p, f)| format!("{f} {}", p.display())).collect();
                                    self.train_log.push(format!("saved, and in the Detector list from now on; from the terminal: seqlab trigger listen {}", flags.join(" ")));
                                    self.read_folders(Vec::new());
                                    self.detector_name = trigger::word_slug(&word);
                                }
                                Err(e) => {
                                    self.train_error = Some(format!("the word works here but was not saved: {e}"));
                                    self.detector_name = format!("{word} (not saved)");
                                }
                            }
                        }
                        Err(e) => self.train_error = Some(e.to_string()),
                    },
                }
            }
            if poll.finished {
                self.training = None;
            } else {
                ctx.request_repaint_after(Duration::from_millis(100));
            }
        }
        if check_now {
            self.start_check();
        }
    }

    fn check_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Which words set it off");
        let (everyday, alikes) = check::list_sizes(self.detector_word().unwrap_or_default());
        let word = self.detector_word().unwrap_or("the word").to_string();
        ui.label(format!(
            "Says \"{word}\" {} times in voices it never trained on, and {everyday} everyday words and {alikes} that sound like it {} times each, every saying alone over a background, through the detector as set above (under half a minute).",
            self.check_spec.positives, self.check_spec.per_word
        ));
        // Not while listening: the check keeps both cores busy, and the live detector must keep up.
        let idle = self.checking.is_none() && self.training.is_none() && self.loading.is_none() && self.live.is_none();
        if let Some(job) = &self.checking {
            ui.horizontal(|ui| {
                ui.add(ProgressBar::new(self.check_progress).desired_width(400.0).show_percentage().text(self.check_stage.clone()));
                if ui.button("Stop the check").clicked() {
                    job.stop();
                }
            });
        } else if ui.add_enabled(idle, egui::Button::new("Check")).on_disabled_hover_text("stop listening or training first").clicked() {
            self.start_check();
        }
        match &self.check_result {
            None => {}
            Some((_, Err(e))) => {
                ui.colored_label(Color32::RED, format!("the check failed: {e}"));
            }
            Some((sensitivity, Ok(r))) => {
                let latency = r.latency_ms_median.map_or(String::new(), |l| format!(", {l:.0} ms after the word's end (median)"));
                ui.label(format!(
                    "At sensitivity {sensitivity:.2}: found \"{}\" {} times in {} ({:.0}%){latency}.",
                    r.word,
                    r.found,
                    r.positives,
                    100.0 * r.recall
                ));
                for (what, words) in [("everyday words", &r.everyday), ("words that sound like it", &r.sound_alikes)] {
                    let (fired, said) = check::totals(words);
                    if fired == 0 {
                        ui.colored_label(Color32::GREEN, format!("No chime on {said} sayings of {what}."));
                        continue;
                    }
                    ui.colored_label(Color32::YELLOW, format!("Chimed on {fired} of {said} sayings of {what}:"));
                    egui::Grid::new(what).num_columns(2).show(ui, |ui| {
                        for h in words.iter().filter(|h| h.fired > 0).take(CHECK_SHOWN) {
                            heard_row(ui, h);
                        }
                    });
                }
                if r.everyday.iter().any(|h| h.fired > 0) {
                    ui.small("Expect a chime now and then when people say those. A longer word, or a phrase of two, is mistaken for fewer.");
                }
            }
        }
    }

    fn live_ui(&mut self, ui: &mut egui::Ui) {
        match &self.model {
            Ok(net) => {
                let word = net.info.get("word").map_or("the trigger word", String::as_str);
                ui.label(format!("Say \"{word}\". The detector fires when its probability stays above the line."));
            }
            Err(e) => {
                ui.colored_label(Color32::RED, e);
            }
        }
        self.detector_ui(ui);
        ui.horizontal(|ui| {
            let names: Vec<String> = std::iter::once("default input".to_string()).chain(self.devices.iter().skip(1).cloned()).collect();
            ui.add_enabled_ui(self.live.is_none(), |ui| {
                egui::ComboBox::from_label("Microphone").selected_text(names.get(self.device).cloned().unwrap_or_default()).show_ui(ui, |ui| {
                    for (i, n) in names.iter().enumerate() {
                        ui.selectable_value(&mut self.device, i, n);
                    }
                });
            });
            if self.live.is_none() {
                if ui.add_enabled(self.model.is_ok() && self.checking.is_none(), egui::Button::new("Listen")).on_disabled_hover_text("wait for the check to finish").clicked() {
                    self.start_listening();
                }
            } else if ui.button("Stop").clicked() {
                self.live = None;
            }
        });
        let fits = self.second_look_fits();
        let behind = self.behind();
        if self.sensitivity_set_for != Some(behind) {
            self.sensitivity = DetectorConfig::behind(behind).sensitivity;
            self.shared_sensitivity.store(self.sensitivity.to_bits(), Ordering::Relaxed);
            self.sensitivity_set_for = Some(behind);
        }
        if ui.add(egui::Slider::new(&mut self.sensitivity, 0.01..=0.99).text("Sensitivity")).changed() {
            self.shared_sensitivity.store(self.sensitivity.to_bits(), Ordering::Relaxed);
        }
        ui.small(SENSITIVITY_HINT.as_str());
        ui.add_enabled_ui(self.live.is_none() && fits, |ui| {
            ui.horizontal(|ui| {
                ui.checkbox(&mut self.verify, "Second look").on_hover_text(
                    "Bidirectional GRUs (the shipped pair for \"activate\", one for a word trained here) hear the whole word and 0.16 s after it (0.08 s for a word trained here) before the chime, and keep it if their mean probability is at least 0.5: several times fewer false accepts on held-out voices, that much later (README)",
                );
                if let Err(e) = &self.verifiers {
                    ui.small(e.as_str());
                } else if !fits {
                    ui.small("no verifier knows this detector's word: train the word below to the end to get one");
                }
            });
        });
        if let Some(e) = &self.live_error {
            ui.colored_label(Color32::RED, format!("{e}. The file box below takes a recording instead."));
        }
        if let Some(live) = &self.live {
            let stats = &live.mic.stats;
            ui.horizontal(|ui| {
                ui.label("Level");
                ui.add(ProgressBar::new(stats.peak().clamp(0.0, 1.0)).desired_width(200.0));
                ui.label(format!(
                    "{} at {} Hz · overruns {} · columns dropped {}",
                    live.mic.device_name,
                    live.mic.sample_rate,
                    stats.overruns(),
                    live.listener.stats.columns_dropped.load(Ordering::Relaxed)
                ));
            });
        }
        if let Some(e) = &self.speaker_error {
            ui.colored_label(Color32::YELLOW, format!("no chime: {e}"));
        }
        let flashing = self.flash_until.is_some_and(|t| Instant::now() < t);
        let frame = egui::Frame::new().fill(if flashing { Color32::from_rgb(40, 160, 70) } else { Color32::TRANSPARENT }).inner_margin(4.0);
        frame.show(ui, |ui| {
            ui.heading(if flashing { "Detected!" } else { "" });
            self.spectrogram_ui(ui);
            let threshold = 1.0 - f64::from(self.sensitivity);
            let trace: Vec<[f64; 2]> = self.trace.iter().copied().collect();
            let detections = self.detections.clone();
            Plot::new("trigger-live").height(160.0).include_y(0.0).include_y(1.0).x_axis_label("seconds").y_axis_label("probability").show(ui, |plot| {
                plot.line(Line::new("probability", trace));
                plot.hline(HLine::new("threshold", threshold).color(Color32::RED));
                for t in detections {
                    plot.vline(VLine::new("detection", t).color(Color32::GREEN));
                }
            });
        });
    }

    /// The Detector picker: the shipped word and every word saved here, each with its verifier.
    fn detector_ui(&mut self, ui: &mut egui::Ui) {
        let (mut pick, mut forget) = (None, None);
        ui.horizontal(|ui| {
            let idle = self.live.is_none() && self.loading.is_none() && self.folders.is_none() && self.training.is_none() && self.checking.is_none();
            ui.add_enabled_ui(idle, |ui| {
                egui::ComboBox::from_label("Detector").selected_text(self.detector_name.as_str()).show_ui(ui, |ui| {
                    if ui.selectable_label(self.detector_name == SHIPPED_LABEL, SHIPPED_LABEL).clicked() {
                        pick = Some(None);
                    }
                    for w in &self.saved {
                        let look = if w.verifier.is_some() { "" } else { " (no second look)" };
                        if ui.selectable_label(self.detector_name == w.slug, format!("{}{look}", w.slug)).clicked() {
                            pick = Some(Some(w.clone()));
                        }
                    }
                });
            });
            if self.loading.is_some() {
                ui.spinner();
            } else if self.saved.is_empty() {
                ui.small("words you train below are saved and listed here");
            } else if let Some(w) = self.saved.iter().find(|w| w.slug == self.detector_name)
                && ui.add_enabled(idle, egui::Button::new("Forget this word")).on_hover_text("deletes its saved detector and verifier, and goes back to \"activate\"").clicked()
            {
                self.confirming = Some(Deletion::Word(w.clone()));
            }
        });
        if let Some(Deletion::Word(w)) = &self.confirming
            && let Some(yes) = confirm_ui(ui, &format!("Delete the detector for \"{}\" and its verifier? Training it again takes minutes.", w.slug))
        {
            if yes {
                forget = Some(w.clone());
            }
            self.confirming = None;
        }
        if let Some(e) = &self.load_error {
            ui.colored_label(Color32::RED, format!("cannot use that word: {e}"));
        }
        if let Some(word) = forget {
            self.read_folders(vec![FolderChange::ForgetWord(word)]);
        }
        if let Some(word) = pick {
            self.start_loading(word);
        }
    }

    /// The last few seconds of log-mel columns as an image: time left to right, low
    /// frequencies at the bottom, a dark-to-bright map over the visible range.
    fn spectrogram_ui(&mut self, ui: &mut egui::Ui) {
        let bands = self.columns.front().map_or(0, |c| c.len());
        if bands == 0 {
            ui.label("(the spectrogram appears here while listening)");
            return;
        }
        let (lo, hi) = self.columns.iter().flat_map(|c| c.iter()).fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let span = (hi - lo).max(1e-3);
        let mut pixels = vec![Color32::BLACK; COLUMNS * bands];
        let offset = COLUMNS - self.columns.len();
        for (x, col) in self.columns.iter().enumerate() {
            for (b, &v) in col.iter().enumerate().take(bands) {
                let u = ((v - lo) / span).clamp(0.0, 1.0);
                pixels[(bands - 1 - b) * COLUMNS + offset + x] = heat(u);
            }
        }
        let image = ColorImage::new([COLUMNS, bands], pixels);
        let texture = self.texture.get_or_insert_with(|| ui.ctx().load_texture("trigger-spectrogram", image.clone(), TextureOptions::NEAREST));
        texture.set(image, TextureOptions::NEAREST);
        let width = ui.available_width().min(900.0);
        ui.add(egui::Image::new((texture.id(), egui::vec2(width, 120.0))));
    }

    fn file_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("From a file");
        ui.horizontal(|ui| {
            let label = ui.label("WAV or FLAC");
            ui.add(egui::TextEdit::singleline(&mut self.file_path).desired_width(420.0)).labelled_by(label.id);
            if ui.add_enabled(self.file_job.is_none() && self.model.is_ok(), egui::Button::new("Detect")).clicked() {
                self.start_file();
            }
        });
        match &self.file_result {
            Some(Ok(o)) => {
                let times: Vec<String> = o.detections.iter().map(|t| format!("{t:.2} s")).collect();
                ui.label(format!("{:.1} s of audio: {} detection(s) {}", o.seconds, o.detections.len(), times.join(", ")));
                let threshold = 1.0 - f64::from(self.sensitivity);
                Plot::new("trigger-file").height(140.0).include_y(0.0).include_y(1.0).show(ui, |plot| {
                    plot.line(Line::new("probability", o.trace.clone()));
                    plot.hline(HLine::new("threshold", threshold).color(Color32::RED));
                    for &t in &o.detections {
                        plot.vline(VLine::new("detection", t).color(Color32::GREEN));
                    }
                });
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::RED, e);
            }
            None => {}
        }
    }

    fn train_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Your own word");
        ui.label(
            "Synthesises the word in every installed TTS voice, mixes 10-s examples with noise and other words, and trains a new detector here (about 8 min here), then its second look (about 1.2 min). \
             A few takes of your own voice (say the word once per take) join the synthetic ones as a quarter of the examples.",
        );
        ui.horizontal(|ui| {
            let label = ui.label("Word");
            let edit = ui.add_enabled(self.training.is_none(), egui::TextEdit::singleline(&mut self.word).desired_width(200.0)).labelled_by(label.id);
            if edit.changed() {
                self.read_folders(Vec::new());
            }
            if self.training.is_none() {
                if ui.add_enabled(!self.word.trim().is_empty() && self.checking.is_none(), egui::Button::new("Train")).clicked() {
                    self.start_training();
                }
            } else if ui.button("Stop").clicked()
                && let Some(job) = &self.training
            {
                job.stop();
            }
        });
        ui.add_enabled(self.training.is_none(), egui::Checkbox::new(&mut self.own_near_rhymes, "Also train against words that sound like it"))
            .on_hover_text("a third of the other words become the word's own near-rhymes (computers, comuter, bomputer... for \"computer\"): it chimes on them far less, but may miss the word itself more often; the check shows both");
        ui.add_enabled(self.training.is_none(), egui::Checkbox::new(&mut self.minimal_pairs, "Also train against close sound-alikes in the same voices"))
            .on_hover_text(format!(
                "each of the first {NEW_WORD_MINIMAL_PAIRS} sayings of the word is matched by a word one to three letters off (jorvis, jaris... for \"jarvis\") in the same voice, speed and pitch: measured on \"jarvis\", sound-alikes set it off 20 times in 160 instead of 117, and it found 89 of 100 sayings instead of 96"
            ));
        ui.horizontal(|ui| {
            let idle = self.recording.is_none() && self.training.is_none() && self.live.is_none() && !self.word.trim().is_empty();
            let text = if self.recording.is_some() { "Recording... say the word".to_string() } else { format!("Record my voice ({TAKE_SECONDS:.0} s)") };
            if ui.add_enabled(idle, egui::Button::new(text)).on_disabled_hover_text("type a word, and stop listening or training first").clicked() {
                self.start_recording();
            }
            ui.label(match self.own_takes {
                1 => "1 take of your voice, used in training".to_string(),
                n => format!("{n} takes of your voice, used in training"),
            });
            if self.own_takes > 0 && self.training.is_none() && ui.button("Forget them").clicked() {
                self.confirming = Some(Deletion::Takes);
            }
        });
        if matches!(self.confirming, Some(Deletion::Takes))
            && let Some(yes) = confirm_ui(ui, &match self.own_takes {
                1 => "Delete the recorded take of your voice?".to_string(),
                n => format!("Delete the {n} recorded takes of your voice?"),
            })
        {
            if yes {
                self.read_folders(vec![FolderChange::ForgetTakes(self.own_dir())]);
            }
            self.confirming = None;
        }
        if let Some(e) = &self.record_error {
            ui.colored_label(Color32::RED, e);
        }
        if self.training.is_some() {
            ui.add(ProgressBar::new(self.progress).show_percentage().text(self.train_stage.clone()));
        }
        for line in &self.train_log {
            ui.label(line);
        }
        if let Some(e) = &self.train_error {
            ui.colored_label(Color32::RED, e);
        }
    }
}

/// A question with Delete and Keep buttons on one line: Some(true) for Delete, Some(false)
/// for Keep, None while neither is pressed.
fn confirm_ui(ui: &mut egui::Ui, question: &str) -> Option<bool> {
    ui.horizontal(|ui| {
        ui.colored_label(Color32::YELLOW, question);
        if ui.button("Delete").clicked() {
            Some(true)
        } else if ui.button("Keep").clicked() {
            Some(false)
        } else {
            None
        }
    })
    .inner
}

/// How far one training is, 0..1.
fn fraction(epoch: usize, epochs: usize, done: usize, total: usize) -> f32 {
    (epoch as f32 + done as f32 / total.max(1) as f32) / epochs.max(1) as f32
}

/// `path` when it is a folder: the shared data, which a machine may not have.
fn shared_dir(path: &str) -> Option<PathBuf> {
    Some(PathBuf::from(path)).filter(|p| p.is_dir())
}

/// A word a check heard, its share of sayings fired on as a bar.
fn heard_row(ui: &mut egui::Ui, h: &Heard) {
    ui.label(&h.word);
    let share = h.fired as f32 / h.said.max(1) as f32;
    ui.add(ProgressBar::new(share).desired_width(160.0).text(format!("{} of {}", h.fired, h.said)));
    ui.end_row();
}

/// WAV files in `dir` (0 when it does not exist).
fn count_takes(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "wav")).count())
}

/// A black -> purple -> orange -> yellow map for u in 0..=1.
fn heat(u: f32) -> Color32 {
    let r = (u * 1.6).min(1.0);
    let g = ((u - 0.45) * 1.8).clamp(0.0, 1.0);
    let b = (0.5 - (u - 0.3).abs() * 1.6).clamp(0.0, 0.6);
    Color32::from_rgb((r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8)
}

impl Panel for TriggerPanel {
    fn name(&self) -> &'static str {
        "Trigger word"
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll_live(ui.ctx());
        self.poll_jobs(ui.ctx());
        self.live_ui(ui);
        ui.separator();
        self.file_ui(ui);
        ui.separator();
        self.check_ui(ui);
        ui.separator();
        self.train_ui(ui);
    }
}

/// The slider's explanation, its numbers read from [`DetectorConfig::behind`] so that the
/// text follows the defaults; made once, not every frame.
static SENSITIVITY_HINT: LazyLock<String> = LazyLock::new(|| {
    let (alone, one, pair) = (DetectorConfig::behind(0), DetectorConfig::behind(1), DetectorConfig::behind(2));
    let steps = |d: &DetectorConfig| if d.min_steps == 1 { "one step".to_string() } else { format!("{} steps ({} ms)", d.min_steps, d.min_steps * 40) };
    format!(
        "The threshold is 1 - sensitivity. Alone the detector starts at {} and needs {} above it; behind the second look {}, at {} behind the shipped pair of verifiers (they decide) and {} behind the one verifier of a word trained here (a stricter filter in front of it). After a detection, {} s of rest.",
        alone.sensitivity, steps(&alone), steps(&pair), pair.sensitivity, one.sensitivity, alone.refractory_s
    )
});
