//! Emojify: type a sentence and watch the three models' emoji and probabilities change.
//!
//! A prediction is microseconds (V1, V3) to a millisecond (V2, a short sentence), so it runs
//! in the frame after each edit. The vectors and models load on the panel's first frame,
//! not when the window opens, so the other labs start at once.

use egui::{Color32, RichText};

use super::Panel;
use crate::models::emojify::model::{Emojifier, Prediction, Version};
use crate::models::emojify::{self, LABELS};
use crate::models::words::tokenize;
use crate::models::words::{WordVectors, load_vectors};

const EXAMPLES: [&str; 6] =
    ["I adore my grandmother", "let's play ball tonight", "that joke cracked me up", "my flight got cancelled", "what's for dinner?", "I am not happy"];

const UNKNOWN: Color32 = Color32::from_rgb(200, 120, 0);

/// Loaded vectors and the models, or why not.
pub struct Loaded {
    pub vectors: WordVectors,
    pub models: Vec<(Version, Result<Emojifier, String>)>,
}

pub struct EmojifyPanel {
    loaded: Option<Result<Loaded, String>>,
    input: String,
    shown_for: Option<String>,
    results: Vec<(Version, Result<Prediction, String>)>,
}

impl Default for EmojifyPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl EmojifyPanel {
    pub fn new() -> Self {
        Self { loaded: None, input: EXAMPLES[0].to_owned(), shown_for: None, results: Vec::new() }
    }

    /// Uses these vectors and models instead of the shipped ones.
    pub fn with_models(mut self, vectors: WordVectors, models: Vec<(Version, Emojifier)>) -> Self {
        self.loaded = Some(Ok(Loaded { vectors, models: models.into_iter().map(|(v, m)| (v, Ok(m))).collect() }));
        self
    }

    /// Starts with `text` in the box, as if typed.
    pub fn with_input(mut self, text: &str) -> Self {
        self.input = text.to_owned();
        self
    }

    /// Each model's answer for the current text.
    pub fn results(&self) -> &[(Version, Result<Prediction, String>)] {
        &self.results
    }

    fn load() -> Result<Loaded, String> {
        let vectors = load_vectors(None).map_err(|e| format!("cannot load the shipped word vectors: {e}"))?;
        let models = Version::ALL
            .into_iter()
            .map(|v| (v, emojify::load_model(v, None, &vectors).map_err(|e| format!("cannot load the shipped {v} model: {e}"))))
            .collect();
        Ok(Loaded { vectors, models })
    }

    fn refresh(&mut self) {
        if self.shown_for.as_deref() == Some(self.input.as_str()) {
            return;
        }
        if let Some(Ok(l)) = &self.loaded {
            self.results = l
                .models
                .iter()
                .filter_map(|(v, m)| m.as_ref().ok().map(|m| (*v, m.predict(&l.vectors, &self.input).map_err(|e| e.to_string()))))
                .collect();
        }
        self.shown_for = Some(self.input.clone());
    }
}

impl Panel for EmojifyPanel {
    fn name(&self) -> &'static str {
        "Emojify"
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("A sentence to an emoji");
        ui.label(
            "V1 averages the word vectors and applies a softmax; V2 reads them in order with two LSTM layers (five seeds, averaged); \
             V3 adds the vectors' maximum, a separate mean for words after a negation, a hidden layer and a bag of words.",
        );
        let loaded = self.loaded.get_or_insert_with(Self::load);
        let l = match loaded {
            Ok(l) => l,
            Err(e) => {
                ui.colored_label(Color32::RED, e.as_str());
                return;
            }
        };
        for (_, m) in &l.models {
            if let Err(e) = m {
                ui.colored_label(Color32::RED, e.as_str());
            }
        }
        ui.horizontal(|ui| {
            let label = ui.label("Sentence");
            ui.add(egui::TextEdit::singleline(&mut self.input).desired_width(420.0)).labelled_by(label.id);
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
        let unknown: Vec<String> = self.results.iter().find_map(|(_, r)| r.as_ref().ok().map(|p| p.unknown.clone())).unwrap_or_default();
        show_words(ui, &self.input, &unknown);
        ui.columns(self.results.len().max(1), |cols| {
            for (col, (v, r)) in cols.iter_mut().zip(&self.results) {
                col.label(RichText::new(v.to_string().to_uppercase()).strong());
                match r {
                    Err(e) => {
                        col.colored_label(Color32::RED, e.as_str());
                    }
                    Ok(p) => show_prediction(col, p),
                }
            }
        });
    }
}

/// The sentence's words, unknown ones in orange and struck through (the models skip them).
fn show_words(ui: &mut egui::Ui, text: &str, unknown: &[String]) {
    let words = tokenize::words(text);
    if words.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Words:");
        for w in words.iter().take(200) {
            if unknown.contains(w) {
                ui.label(RichText::new(w).color(UNKNOWN).strikethrough()).on_hover_text("not in the word vectors: skipped");
            } else {
                ui.label(w);
            }
        }
    });
    if !unknown.is_empty() {
        ui.colored_label(UNKNOWN, format!("unknown words (skipped): {}", unknown.join(", ")));
    }
}

fn show_prediction(ui: &mut egui::Ui, p: &Prediction) {
    ui.label(RichText::new(p.emoji()).size(48.0));
    ui.label(LABELS[p.label].alias);
    for (l, &prob) in LABELS.iter().zip(&p.probs) {
        ui.horizontal(|ui| {
            ui.label(RichText::new(l.emoji).size(18.0));
            ui.add(egui::ProgressBar::new(prob).desired_width(180.0).text(format!("{} {:.1}%", l.name, 100.0 * prob)));
        });
    }
}
