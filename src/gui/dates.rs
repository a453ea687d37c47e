//! Dates: type any date, read the ISO answer as you type, and see where the model looked
//! for each output symbol.
//!
//! One translation is a few hundred microseconds even with beam search, so it runs inside
//! the frame on each edit instead of on a worker; only an edit triggers it.

use egui::{Color32, FontId, Sense, Stroke, StrokeKind, pos2, vec2};

use super::Panel;
use crate::models::dates::{self, model::Nmt, translate::{Translation, translate}};

const EXAMPLES: [&str; 6] =
    ["the 3rd of march 2021", "Sat, 8 Jul 1995", "12/25/99", "31.12.2099", "1 MAR. 1901", "sept 9th, 2001"];

pub struct DatesPanel {
    model: Result<Nmt<f32>, String>,
    input: String,
    beam: usize,
    /// What was translated last, to translate again only after an edit.
    shown_for: Option<(String, usize)>,
    result: Option<Result<Translation, String>>,
}

impl Default for DatesPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl DatesPanel {
    pub fn new() -> Self {
        Self {
            model: dates::load_model(None).map_err(|e| format!("cannot load the shipped dates model: {e}")),
            input: EXAMPLES[0].to_owned(),
            beam: 3,
            shown_for: None,
            result: None,
        }
    }

    /// Translates with `model` instead of the shipped one.
    pub fn with_model(mut self, model: Nmt<f32>) -> Self {
        self.model = Ok(model);
        self
    }

    /// Starts with `text` in the box, as if the user had typed it.
    pub fn with_input(mut self, text: &str) -> Self {
        self.input = text.to_owned();
        self
    }

    /// The current answer, if any.
    pub fn result(&self) -> Option<&Result<Translation, String>> {
        self.result.as_ref()
    }

    fn refresh(&mut self) {
        let key = (self.input.clone(), self.beam);
        if self.shown_for.as_ref() == Some(&key) {
            return;
        }
        if let Ok(model) = &self.model {
            self.result = Some(translate(model, &self.input, self.beam).map_err(|e| e.to_string()));
        }
        self.shown_for = Some(key);
    }
}

impl Panel for DatesPanel {
    fn name(&self) -> &'static str {
        "Dates"
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Any date to YYYY-MM-DD");
        ui.label("A Bi-LSTM reads the characters; an attention decoder writes the ISO date one symbol at a time.");
        if let Err(e) = &self.model {
            ui.colored_label(Color32::RED, e);
            return;
        }
        ui.horizontal(|ui| {
            let label = ui.label("Date");
            ui.add(egui::TextEdit::singleline(&mut self.input).desired_width(320.0).font(egui::TextStyle::Monospace))
                .labelled_by(label.id);
            ui.add(egui::Slider::new(&mut self.beam, 1..=8).text("Beam width"));
        });
        ui.horizontal_wrapped(|ui| {
            ui.label("Examples:");
            for ex in EXAMPLES {
                if ui.button(ex).clicked() {
                    self.input = ex.to_owned();
                }
            }
        });
        self.refresh();
        ui.separator();
        match &self.result {
            None => {}
            Some(Err(e)) => {
                ui.colored_label(Color32::RED, e);
            }
            Some(Ok(t)) => show_translation(ui, t),
        }
    }
}

fn show_translation(ui: &mut egui::Ui, t: &Translation) {
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(&t.best.iso).monospace().size(28.0).strong());
        match &t.best.date {
            Ok(_) => ui.colored_label(Color32::from_rgb(40, 150, 60), "a real date"),
            Err(why) => ui.colored_label(Color32::RED, format!("not a real date: {why}")),
        };
    });
    let conf = t.confidence();
    let conf_text = format!("confidence {:.1}%", 100.0 * conf);
    if conf < 0.5 {
        ui.colored_label(Color32::from_rgb(200, 120, 0), format!("{conf_text}: the model is unsure; is this a date?"));
    } else {
        ui.label(conf_text);
    }
    if !t.unknown.is_empty() {
        let list: String = t.unknown.iter().collect();
        ui.colored_label(Color32::from_rgb(200, 120, 0), format!("never seen, read as unknown: {list:?}"));
    }
    if t.candidates.len() > 1 {
        ui.label("Beam candidates:");
        egui::Grid::new("beam").striped(true).show(ui, |ui| {
            for c in &t.candidates {
                ui.monospace(&c.iso);
                ui.label(format!("p = {:.4}", c.log_prob.exp()));
                ui.label(if c.date.is_ok() { "" } else { "not a real date" });
                ui.end_row();
            }
        });
    }
    ui.separator();
    ui.label("Attention: row = output symbol, column = input character; darker = more weight.");
    attention_heatmap(ui, t);
}

/// The [Ty, Tx] attention weights as a grid of shaded cells, labelled on both axes.
fn attention_heatmap(ui: &mut egui::Ui, t: &Translation) {
    let (rows, cols) = t.attention.dim();
    let cell = 22.0;
    let margin = vec2(28.0, 22.0);
    let size = margin + vec2(cols as f32 * cell, rows as f32 * cell);
    let (response, painter) = ui.allocate_painter(size, Sense::hover());
    let origin = response.rect.min + margin;
    let text_color = ui.visuals().text_color();
    let font = FontId::monospace(13.0);
    for (j, c) in t.input.iter().enumerate() {
        let shown = if *c == ' ' { '·' } else { *c };
        painter.text(origin + vec2((j as f32 + 0.5) * cell, -11.0), egui::Align2::CENTER_CENTER, shown, font.clone(), text_color);
    }
    for (i, sym) in t.best.iso.chars().enumerate().take(rows) {
        painter.text(pos2(response.rect.min.x + 12.0, origin.y + (i as f32 + 0.5) * cell), egui::Align2::CENTER_CENTER, sym, font.clone(), text_color);
        for j in 0..cols {
            let a = t.attention[[i, j]].clamp(0.0, 1.0);
            let shade = (255.0 * (1.0 - a)) as u8;
            let rect = egui::Rect::from_min_size(origin + vec2(j as f32 * cell, i as f32 * cell), vec2(cell, cell));
            painter.rect(rect, 0.0, Color32::from_rgb(shade, shade, 255), Stroke::new(0.5, Color32::GRAY), StrokeKind::Inside);
        }
    }
    if let Some(pos) = response.hover_pos() {
        let j = ((pos.x - origin.x) / cell).floor();
        let i = ((pos.y - origin.y) / cell).floor();
        if j >= 0.0 && i >= 0.0 && (i as usize) < rows && (j as usize) < cols {
            let (i, j) = (i as usize, j as usize);
            response.on_hover_text(format!("{:.1}% of output {} on input {:?}", 100.0 * t.attention[[i, j]], i + 1, t.input[j]));
        }
    }
}
