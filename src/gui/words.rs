//! Word vectors: nearest neighbours of a typed word, the analogy form, a 2-D projection of
//! chosen words, and the course's debiasing with each word's bias before and after.
//! Every answer is a few dot products over the shipped 50,000 words, so the panel answers
//! in the frame as the user types.

use egui::Color32;
use egui_plot::{Bar, BarChart, Plot, PlotPoint, Points, Text};

use super::Panel;
use crate::models::words::ops::{self, Method, Scored};
use crate::models::words::{WordVectors, WordsError, debias, load_vectors};

pub struct WordsPanel {
    vectors: Result<WordVectors, String>,
    word: String,
    analogy: [String; 3],
    projected: String,
    pair: [String; 2],
    neutral: String,
}

impl Default for WordsPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl WordsPanel {
    pub fn new() -> Self {
        Self {
            vectors: load_vectors(None).map_err(|e| format!("cannot load the shipped word vectors: {e}")),
            word: "king".into(),
            analogy: ["man".into(), "woman".into(), "king".into()],
            projected: "king, queen, man, woman, paris, france, rome, italy, apple, banana, piano, guitar".into(),
            pair: ["woman".into(), "man".into()],
            neutral: "receptionist, engineer, nurse, doctor, babysitter, programmer".into(),
        }
    }

    /// Starts with `word` in the neighbours box, as if typed.
    pub fn with_word(mut self, word: &str) -> Self {
        self.word = word.into();
        self
    }

    /// The neighbours shown for the current word, or its error.
    pub fn neighbours(&self) -> Result<Vec<Scored>, String> {
        let v = self.vectors.as_ref().map_err(Clone::clone)?;
        ops::neighbours(v, self.word.trim().to_lowercase().as_str(), 10, None).map_err(|e| e.to_string())
    }

    /// The analogy's best answers, or its error.
    pub fn analogy(&self) -> Result<Vec<Scored>, String> {
        let v = self.vectors.as_ref().map_err(Clone::clone)?;
        let [a, b, c] = self.analogy.each_ref().map(|w| w.trim().to_lowercase());
        ops::analogy(v, &a, &b, &c, Method::Add, 5, None).map_err(|e| e.to_string())
    }

    fn neighbours_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Nearest neighbours");
        ui.horizontal(|ui| {
            let label = ui.label("Word");
            ui.add(egui::TextEdit::singleline(&mut self.word).desired_width(160.0)).labelled_by(label.id);
        });
        scored_ui(ui, self.neighbours());
    }

    fn analogy_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Analogy");
        ui.horizontal(|ui| {
            let [a, b, c] = &mut self.analogy;
            let label = ui.label("a");
            ui.add(egui::TextEdit::singleline(a).desired_width(90.0)).labelled_by(label.id);
            let label = ui.label("is to b");
            ui.add(egui::TextEdit::singleline(b).desired_width(90.0)).labelled_by(label.id);
            let label = ui.label("as c");
            ui.add(egui::TextEdit::singleline(c).desired_width(90.0)).labelled_by(label.id);
            ui.label("is to ?");
        });
        scored_ui(ui, self.analogy());
    }

    fn projection_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Projection");
        ui.horizontal(|ui| {
            let label = ui.label("Words");
            ui.add(egui::TextEdit::singleline(&mut self.projected).desired_width(560.0)).labelled_by(label.id);
        });
        let Ok(v) = &self.vectors else { return };
        let words: Vec<String> = self.projected.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        match ops::project_2d(v, &refs) {
            Ok((points, unknown)) => {
                if !unknown.is_empty() {
                    ui.colored_label(Color32::YELLOW, format!("not in the vocabulary: {}", unknown.join(", ")));
                }
                ui.small("The words' first two principal components.");
                Plot::new("words-projection").height(300.0).data_aspect(1.0).show(ui, |plot| {
                    let xy: Vec<[f64; 2]> = points.iter().map(|(_, p)| [f64::from(p[0]), f64::from(p[1])]).collect();
                    plot.points(Points::new("words", xy).radius(4.0));
                    for (w, p) in &points {
                        plot.text(Text::new(w.as_str(), PlotPoint::new(p[0], p[1]), w.as_str()));
                    }
                });
            }
            Err(e) => {
                ui.colored_label(Color32::RED, e.to_string());
            }
        }
    }

    fn debias_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Debiasing");
        ui.horizontal(|ui| {
            let [a, b] = &mut self.pair;
            let label = ui.label("Bias direction");
            ui.add(egui::TextEdit::singleline(a).desired_width(90.0)).labelled_by(label.id);
            let label = ui.label("minus");
            ui.add(egui::TextEdit::singleline(b).desired_width(90.0)).labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            let label = ui.label("Neutralize");
            ui.add(egui::TextEdit::singleline(&mut self.neutral).desired_width(480.0)).labelled_by(label.id);
        });
        let Ok(v) = &self.vectors else { return };
        let neutral: Vec<String> = self.neutral.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
        let [a, b] = self.pair.each_ref().map(|w| w.trim().to_lowercase());
        // Debiasing rewrites only the listed words, so it runs on a table of just those rows
        // and the shipped vectors stay as they are.
        let result = debias::direction_from_pair(v, &a, &b).and_then(|g| {
            let mut words: Vec<String> = Vec::new();
            let mut rows: Vec<f32> = Vec::new();
            for w in neutral.iter().chain([&a, &b]) {
                if let Some(e) = v.get(w).filter(|_| !words.contains(w)) {
                    words.push(w.clone());
                    rows.extend(e.iter());
                }
            }
            let table = ndarray::Array2::from_shape_vec((words.len(), v.dim()), rows).map_err(|e| WordsError::Invalid(e.to_string()))?;
            let mut small = WordVectors::new(words, table)?;
            debias::debias(&mut small, g.view(), &neutral, &[(a.clone(), b.clone())])
        });
        match result {
            Ok(report) => {
                if !report.unknown.is_empty() {
                    ui.colored_label(Color32::YELLOW, format!("not in the vocabulary: {}", report.unknown.join(", ")));
                }
                ui.small("Cosine with the bias direction: before (orange) and after (blue) neutralizing, and for the equalized pair.");
                let rows: Vec<&debias::Row> = report.neutral.iter().chain(report.equalized.iter().flat_map(|(x, y)| [x, y])).collect();
                let bars = |after: bool, offset: f64| -> Vec<Bar> {
                    rows.iter()
                        .enumerate()
                        .map(|(i, r)| Bar::new(i as f64 + offset, f64::from(if after { r.after } else { r.before })).width(0.35).name(&r.word))
                        .collect()
                };
                Plot::new("words-debias").height(220.0).show(ui, |plot| {
                    plot.bar_chart(BarChart::new("before", bars(false, -0.2)).color(Color32::from_rgb(230, 140, 40)));
                    plot.bar_chart(BarChart::new("after", bars(true, 0.2)).color(Color32::from_rgb(70, 130, 220)));
                    for (i, r) in rows.iter().enumerate() {
                        plot.text(Text::new(r.word.as_str(), PlotPoint::new(i as f64, -0.05), r.word.as_str()));
                    }
                });
            }
            Err(e) => {
                ui.colored_label(Color32::RED, e.to_string());
            }
        }
    }
}

fn scored_ui(ui: &mut egui::Ui, result: Result<Vec<Scored>, String>) {
    match result {
        Ok(list) => {
            for s in list {
                ui.monospace(format!("{:<16} {:.3}", s.word, s.score));
            }
        }
        Err(e) => {
            ui.colored_label(Color32::RED, e);
        }
    }
}

impl Panel for WordsPanel {
    fn name(&self) -> &'static str {
        "Word vectors"
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        if let Err(e) = &self.vectors {
            ui.colored_label(Color32::RED, e);
            return;
        }
        ui.columns(2, |cols| {
            self.neighbours_ui(&mut cols[0]);
            self.analogy_ui(&mut cols[1]);
        });
        ui.separator();
        self.projection_ui(ui);
        ui.separator();
        self.debias_ui(ui);
    }
}
