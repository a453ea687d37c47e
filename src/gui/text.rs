//! Text generation: continue a prompt in the style of the training corpus, character by
//! character, so the user sees the model "write" rather than wait for a block of text.

use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;
use egui::Color32;

use super::Panel;
use super::worker::Worker;
use crate::models::charlm::CharLm;
use crate::models::text;

const DEFAULT_PROMPT: &str = "ROMEO.\nBut soft, what light";

enum TextMsg {
    Char(char),
    Done(Result<(), String>),
}

pub struct TextPanel {
    /// Shared with the worker by cloning, so a running generation never borrows the panel.
    model: Result<CharLm, String>,
    prompt: String,
    length: usize,
    temperature: f64,
    /// Bumped on every click so "Write" twice gives two different continuations.
    seed: u64,
    output: String,
    error: Option<String>,
    writing: Option<Worker<TextMsg>>,
}

impl Default for TextPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl TextPanel {
    pub fn new() -> Self {
        Self {
            model: text::load_model(None).map_err(|e| format!("cannot load the shipped text model: {e}")),
            prompt: DEFAULT_PROMPT.to_owned(),
            length: 400,
            temperature: 0.7,
            seed: 0,
            output: String::new(),
            error: None,
            writing: None,
        }
    }

    /// Writes with `model` instead of the shipped one.
    pub fn with_model(mut self, model: CharLm) -> Self {
        self.model = Ok(model);
        self
    }

    /// Starts with another prompt, as if the user had typed it.
    pub fn with_prompt(mut self, prompt: &str) -> Self {
        self.prompt = prompt.to_owned();
        self
    }

    /// Starts with another length, as if the user had dragged it.
    pub fn with_length(mut self, length: usize) -> Self {
        self.length = length;
        self
    }

    /// The prompt and what has been written after it so far.
    pub fn output(&self) -> &str {
        &self.output
    }

    fn write(&mut self) {
        let Ok(model) = &self.model else { return };
        // Checked here too so an unseen character is reported at once, not a frame later.
        if let Err(e) = model.vocab.encode(&self.prompt) {
            self.error = Some(e.to_string());
            return;
        }
        self.error = None;
        self.output = self.prompt.clone();
        self.seed = self.seed.wrapping_add(1);
        let (model, prompt, length, temperature, seed) = (model.clone(), self.prompt.clone(), self.length, self.temperature, self.seed);
        let job = move |tx: &Sender<TextMsg>, cancel: &AtomicBool| {
            let result = text::generate(&model, &prompt, length, temperature, seed, |c| {
                tx.send(TextMsg::Char(c)).is_ok() && !cancel.load(Ordering::Relaxed)
            });
            // Nobody to tell when the panel is gone, so a failed send needs no handling.
            let _ = tx.send(TextMsg::Done(result.map(drop).map_err(|e| e.to_string())));
        };
        match Worker::spawn("text-generate", job) {
            Ok(worker) => self.writing = Some(worker),
            Err(e) => self.error = Some(format!("cannot start writing: {e}")),
        }
    }

    fn poll_writing(&mut self, ctx: &egui::Context) {
        let Some(worker) = &self.writing else { return };
        let poll = worker.poll();
        for msg in poll.messages {
            match msg {
                TextMsg::Char(c) => self.output.push(c),
                TextMsg::Done(Ok(())) => {}
                TextMsg::Done(Err(e)) => self.error = Some(e),
            }
        }
        if poll.finished {
            self.writing = None;
        } else {
            ctx.request_repaint();
        }
    }
}

impl Panel for TextPanel {
    fn name(&self) -> &'static str {
        "Text generation"
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll_writing(ui.ctx());
        ui.heading("Write like Shakespeare");
        if let Err(e) = &self.model {
            ui.colored_label(Color32::RED, e);
        }
        let idle = self.writing.is_none();
        ui.add_enabled_ui(idle, |ui| {
            let label = ui.label("Prompt");
            ui.add(egui::TextEdit::multiline(&mut self.prompt).desired_rows(3).desired_width(f32::INFINITY)).labelled_by(label.id);
            ui.horizontal(|ui| {
                let label = ui.label("Length");
                ui.add(egui::DragValue::new(&mut self.length).range(1..=5000)).labelled_by(label.id);
            });
            ui.add(egui::Slider::new(&mut self.temperature, 0.1..=2.0).text("Temperature"));
        });
        ui.horizontal(|ui| {
            if idle {
                if ui.add_enabled(self.model.is_ok(), egui::Button::new("Write")).clicked() {
                    self.write();
                }
            } else if ui.button("Stop").clicked()
                && let Some(worker) = &self.writing
            {
                worker.stop();
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(Color32::RED, e);
        }
        if !self.output.is_empty() {
            ui.separator();
            ui.monospace(&self.output);
        }
    }
}
