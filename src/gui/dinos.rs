//! Dinosaur Island: sample names from the shipped model, or train a new one and watch it
//! learn, as the course's assignment does in a notebook.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;
use egui::{Color32, ProgressBar};
use egui_plot::{Line, Plot};

use super::Panel;
use super::worker::Worker;
use crate::models::charlm::{CharLm, Event, Summary};
use crate::models::{ModelError, data, dinos};

const NAMES_PER_CLICK: usize = 10;

enum TrainMsg {
    Event(Event),
    /// Boxed: a whole model would make every progress message as large as itself.
    Done(Box<Result<(CharLm, Summary), ModelError>>),
}

pub struct DinosPanel {
    /// The model names come from; its load error when the shipped asset is unusable.
    model: Result<CharLm, String>,
    trained: bool,
    temperature: f64,
    /// Bumped on every click so each "Generate" gives new names, reproducibly.
    seed: u64,
    names: Vec<String>,
    sample_error: Option<String>,
    data_path: String,
    iterations: usize,
    training: Option<Worker<TrainMsg>>,
    progress: f32,
    curve: Vec<[f64; 2]>,
    samples: Vec<String>,
    summary: Option<String>,
    train_error: Option<String>,
}

impl Default for DinosPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl DinosPanel {
    pub fn new() -> Self {
        Self {
            model: dinos::load_model(None).map_err(|e| format!("cannot load the shipped dinosaur model: {e}")),
            trained: false,
            temperature: 1.0,
            seed: 0,
            names: Vec::new(),
            sample_error: None,
            data_path: dinos::default_data().display().to_string(),
            iterations: 10_000,
            training: None,
            progress: 0.0,
            curve: Vec::new(),
            samples: Vec::new(),
            summary: None,
            train_error: None,
        }
    }

    /// Starts with another names file in the data field, as if the user had typed it.
    pub fn with_data_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.data_path = path.into().display().to_string();
        self
    }

    /// Starts with another iteration count, as if the user had dragged it.
    pub fn with_iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
    }

    /// The names of the last "Generate".
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn generate(&mut self) {
        self.seed = self.seed.wrapping_add(1);
        let result = match &self.model {
            Ok(model) => dinos::sample_names(model, NAMES_PER_CLICK, self.temperature, self.seed).map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        match result {
            Ok(names) => {
                self.names = names;
                self.sample_error = None;
            }
            Err(e) => self.sample_error = Some(e),
        }
    }

    fn start_training(&mut self) {
        self.progress = 0.0;
        self.curve.clear();
        self.samples.clear();
        self.summary = None;
        self.train_error = None;
        let path = PathBuf::from(self.data_path.trim());
        let iters = self.iterations;
        match Worker::spawn("dinos-train", move |tx, cancel| train(&path, iters, tx, cancel)) {
            Ok(worker) => self.training = Some(worker),
            Err(e) => self.train_error = Some(format!("cannot start training: {e}")),
        }
    }

    /// Folds the worker's news into what the panel shows.
    fn poll_training(&mut self, ctx: &egui::Context) {
        let Some(worker) = &self.training else { return };
        let poll = worker.poll();
        for msg in poll.messages {
            match msg {
                TrainMsg::Event(Event::Progress { iter, total, smoothed_loss }) => {
                    self.progress = iter as f32 / total.max(1) as f32;
                    self.curve.push([iter as f64, f64::from(smoothed_loss)]);
                }
                TrainMsg::Event(Event::Report { samples, .. }) => self.samples = samples,
                TrainMsg::Done(result) => match *result {
                    Ok((model, summary)) => {
                        self.summary = Some(describe(&summary));
                        self.model = Ok(model);
                        self.trained = true;
                    }
                    Err(e) => self.train_error = Some(e.to_string()),
                },
            }
        }
        if poll.finished {
            if self.summary.is_none() && self.train_error.is_none() {
                self.train_error = Some("training stopped unexpectedly".to_owned());
            }
            self.training = None;
        } else {
            ctx.request_repaint();
        }
    }

    fn sample_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Sample names");
        let source = if self.trained { "the model you trained" } else { "the shipped model" };
        ui.label(format!("Names come from {source}."));
        ui.add(egui::Slider::new(&mut self.temperature, 0.1..=2.0).text("Temperature"));
        if ui.add_enabled(self.model.is_ok(), egui::Button::new("Generate")).clicked() {
            self.generate();
        }
        if let Err(e) = &self.model {
            ui.colored_label(Color32::RED, e);
        }
        if let Some(e) = &self.sample_error {
            ui.colored_label(Color32::RED, e);
        }
        for name in &self.names {
            ui.monospace(name);
        }
    }

    fn train_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Train a new model");
        let idle = self.training.is_none();
        ui.add_enabled_ui(idle, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Names file");
                ui.add(egui::TextEdit::singleline(&mut self.data_path).desired_width(420.0)).labelled_by(label.id);
            });
            ui.horizontal(|ui| {
                let label = ui.label("Iterations");
                ui.add(egui::DragValue::new(&mut self.iterations).range(100..=200_000).speed(100)).labelled_by(label.id);
            });
        });
        ui.horizontal(|ui| {
            if idle {
                if ui.button("Train").clicked() {
                    self.start_training();
                }
            } else if ui.button("Stop").clicked()
                && let Some(worker) = &self.training
            {
                worker.stop();
            }
        });
        if !idle || !self.curve.is_empty() {
            ui.add(ProgressBar::new(self.progress).show_percentage());
            Plot::new("dinos-loss")
                .height(220.0)
                .x_axis_label("iteration")
                .y_axis_label("smoothed loss")
                .show(ui, |plot| plot.line(Line::new("smoothed loss", self.curve.clone())));
        }
        if !self.samples.is_empty() {
            ui.label("Latest samples:");
            for s in &self.samples {
                ui.monospace(s);
            }
        }
        if let Some(s) = &self.summary {
            ui.label(s);
        }
        if let Some(e) = &self.train_error {
            ui.colored_label(Color32::RED, e);
        }
    }
}

impl Panel for DinosPanel {
    fn name(&self) -> &'static str {
        "Dinosaur Island"
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll_training(ui.ctx());
        self.sample_ui(ui);
        ui.separator();
        self.train_ui(ui);
    }
}

/// The worker's job: the course's configuration at the chosen length, reporting as it goes.
fn train(path: &std::path::Path, iters: usize, tx: &Sender<TrainMsg>, cancel: &AtomicBool) {
    let result = (|| {
        let split = dinos::Split::new(data::read_names(path)?, dinos::course_config().seed);
        let mut cfg = dinos::course_config();
        cfg.iters = iters;
        cfg.report_every = (iters / 10).max(100);
        let mut model = CharLm::new(dinos::TASK, split.vocab(), cfg.model, cfg.seed)?;
        let summary = dinos::train(&mut model, &split, &cfg, None, &mut |event| {
            // A closed panel drops the receiver: stop rather than train for nobody.
            if tx.send(TrainMsg::Event(event)).is_err() || cancel.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok((model, summary))
    })();
    // Nobody to tell when the panel is gone, so a failed send needs no handling.
    let _ = tx.send(TrainMsg::Done(Box::new(result)));
}

fn describe(s: &Summary) -> String {
    let val = s.val_loss_per_char.map(|v| format!(", validation {v:.2}/char")).unwrap_or_default();
    format!("Trained {} iterations: smoothed loss {:.1}{val}", s.iters, s.smoothed_loss)
}
