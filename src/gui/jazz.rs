//! Jazz: pick changes, a key, a tempo and a temperature; the LSTM improvises a chorus, the
//! piano roll shows it under its chords, and Play sounds it with a moving playhead.
//!
//! Generating a minute takes a few milliseconds, so it runs inside the frame; rendering
//! audio through a SoundFont takes a second or more, so it runs on a worker and Play or
//! Save WAV wait for it without freezing the window.

use std::path::PathBuf;

use egui::{Color32, FontId, Sense, Stroke, pos2, vec2};

use super::Panel;
use super::worker::Worker;
use crate::audio::play::Playback;
use crate::models::jazz::generate::{GenConfig, Generated, generate};
use crate::models::jazz::{self, model::JazzLstm};
use crate::music::synth::{self, Audio, Engine, SAMPLE_RATE};
use crate::music::theory::{Key, Progression};
use crate::music::{Song, midi};

const PROGRESSIONS: [&str; 5] = ["blues", "minor-blues", "ii-v-i", "rhythm", "custom"];

/// What the render worker sends back: the engine (so a SoundFont is loaded once) and audio.
type Rendered = (Option<Engine>, Result<Audio, String>);

/// What to do when a render finishes.
#[derive(Clone, Copy, PartialEq)]
enum Then {
    Play,
    SaveWav,
}

pub struct JazzPanel {
    model: Result<JazzLstm<f32>, String>,
    progression: usize,
    custom: String,
    key: String,
    tempo: f64,
    temperature: f64,
    seconds: f64,
    seed: u64,
    midi_path: String,
    wav_path: String,
    generated: Option<Generated>,
    /// Audio of the current song, once rendered.
    audio: Option<Audio>,
    engine: Option<Engine>,
    render: Option<(Worker<Rendered>, Then)>,
    playback: Option<Playback>,
    status: Result<String, String>,
}

impl Default for JazzPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl JazzPanel {
    pub fn new() -> Self {
        Self {
            model: jazz::load_model(None).map_err(|e| format!("cannot load the shipped jazz model: {e}")),
            progression: 0,
            custom: "Dm7 G7 | Cmaj7 | Em7 A7 | Dm7 G7".into(),
            key: "F".into(),
            tempo: 160.0,
            temperature: 1.0,
            seconds: 30.0,
            seed: 0,
            midi_path: "jazz.mid".into(),
            wav_path: "jazz.wav".into(),
            generated: None,
            audio: None,
            engine: None,
            render: None,
            playback: None,
            status: Ok(String::new()),
        }
    }

    /// Improvises with `model` instead of the shipped one.
    pub fn with_model(mut self, model: JazzLstm<f32>) -> Self {
        self.model = Ok(model);
        self
    }

    /// Files are saved to these paths (tests point them at a temporary folder).
    pub fn with_paths(mut self, midi: PathBuf, wav: PathBuf) -> Self {
        self.midi_path = midi.display().to_string();
        self.wav_path = wav.display().to_string();
        self
    }

    /// The current song, if one was generated.
    pub fn song(&self) -> Option<&Song> {
        self.generated.as_ref().map(|g| &g.song)
    }

    /// The last message: what was done, or what went wrong.
    pub fn status(&self) -> &Result<String, String> {
        &self.status
    }

    pub fn is_rendering(&self) -> bool {
        self.render.is_some()
    }

    fn config(&self) -> Result<GenConfig, String> {
        let key: Key = self.key.parse().map_err(|e: crate::music::MusicError| e.to_string())?;
        let progression = if PROGRESSIONS[self.progression] == "custom" {
            Progression::parse(&self.custom)
        } else {
            Progression::built_in(PROGRESSIONS[self.progression], key)
        }
        .map_err(|e| e.to_string())?;
        Ok(GenConfig {
            tempo_bpm: self.tempo,
            seconds: self.seconds,
            temperature: self.temperature,
            seed: self.seed,
            ..GenConfig::new(progression)
        })
    }

    fn generate(&mut self) {
        self.stop();
        let Ok(model) = &self.model else { return };
        let result = self.config().and_then(|cfg| generate(model, &cfg).map_err(|e| e.to_string()));
        match result {
            Ok(g) => {
                self.status = Ok(format!(
                    "{} melody notes; {:.0}% of on-beat notes are chord or scale tones",
                    g.song.parts[0].notes.len(),
                    100.0 * g.harmony_fit.0
                ));
                self.generated = Some(g);
                self.audio = None;
            }
            Err(e) => self.status = Err(e),
        }
    }

    fn start_render(&mut self, then: Then) {
        let Some(g) = &self.generated else { return };
        let song = g.song.clone();
        let engine = self.engine.clone();
        let worker = Worker::spawn("jazz-render", move |tx, _cancel| {
            let engine = match engine {
                Some(e) => Ok(e),
                None => Engine::load(None).map_err(|e| e.to_string()),
            };
            let msg = match engine {
                Ok(e) => {
                    let audio = synth::render(&song, &e, SAMPLE_RATE).map_err(|e| e.to_string());
                    (Some(e), audio)
                }
                Err(err) => (None, Err(err)),
            };
            let _ = tx.send(msg);
        });
        match worker {
            Ok(w) => {
                self.status = Ok("rendering audio...".into());
                self.render = Some((w, then));
            }
            Err(e) => self.status = Err(format!("cannot start the renderer: {e}")),
        }
    }

    /// Drains the render worker; acts on its result.
    fn poll_render(&mut self) {
        let Some((worker, then)) = &self.render else { return };
        let then = *then;
        let poll = worker.poll();
        for (engine, audio) in poll.messages {
            if engine.is_some() {
                self.engine = engine;
            }
            match audio {
                Ok(a) => {
                    self.audio = Some(a);
                    match then {
                        Then::Play => self.play(),
                        Then::SaveWav => self.save_wav(),
                    }
                }
                Err(e) => self.status = Err(e),
            }
        }
        if poll.finished {
            self.render = None;
        }
    }

    fn play(&mut self) {
        let Some(a) = &self.audio else { return self.start_render(Then::Play) };
        match Playback::start(a.interleaved(), 2, a.sample_rate) {
            Ok(p) => {
                self.playback = Some(p);
                self.status = Ok("playing".into());
            }
            Err(e) => self.status = Err(e.to_string()),
        }
    }

    fn stop(&mut self) {
        if let Some(p) = self.playback.take() {
            p.stop();
        }
    }

    fn save_midi(&mut self) {
        let Some(g) = &self.generated else { return };
        let path = PathBuf::from(&self.midi_path);
        self.status = midi::write(&path, &g.song).map(|_| format!("saved {}", path.display())).map_err(|e| e.to_string());
    }

    fn save_wav(&mut self) {
        let Some(a) = &self.audio else { return self.start_render(Then::SaveWav) };
        let path = PathBuf::from(&self.wav_path);
        self.status = synth::write_wav(&path, a).map(|_| format!("saved {}", path.display())).map_err(|e| e.to_string());
    }
}

impl Panel for JazzPanel {
    fn name(&self) -> &'static str {
        "Jazz"
    }

    fn ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Jazz improvisation with an LSTM");
        ui.label("Trained on 238 solos of the Weimar Jazz Database; it plays chord-relative notes over the changes you pick.");
        if let Err(e) = &self.model {
            ui.colored_label(Color32::RED, e);
            return;
        }
        self.poll_render();
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("Progression").selected_text(PROGRESSIONS[self.progression]).show_ui(ui, |ui| {
                for (i, p) in PROGRESSIONS.iter().enumerate() {
                    ui.selectable_value(&mut self.progression, i, *p);
                }
            });
            let label = ui.label("Key");
            ui.add(egui::TextEdit::singleline(&mut self.key).desired_width(40.0)).labelled_by(label.id);
        });
        if PROGRESSIONS[self.progression] == "custom" {
            ui.horizontal(|ui| {
                let label = ui.label("Chords");
                ui.add(egui::TextEdit::singleline(&mut self.custom).desired_width(420.0)).labelled_by(label.id);
            });
        }
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.tempo, 60.0..=320.0).text("Tempo (bpm)"));
            ui.add(egui::Slider::new(&mut self.temperature, 0.2..=2.0).text("Temperature"));
        });
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.seconds, 5.0..=180.0).text("Seconds"));
            let label = ui.label("Seed");
            ui.add(egui::DragValue::new(&mut self.seed)).labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            if ui.button("Generate").clicked() {
                self.generate();
            }
            let has_song = self.generated.is_some();
            let busy = self.render.is_some();
            if self.playback.as_ref().is_some_and(|p| !p.is_finished()) {
                if ui.button("Stop").clicked() {
                    self.stop();
                }
            } else if ui.add_enabled(has_song && !busy, egui::Button::new("Play")).clicked() {
                self.play();
            }
            if ui.add_enabled(has_song, egui::Button::new("Save MIDI")).clicked() {
                self.save_midi();
            }
            let label = ui.label("MIDI file");
            ui.add(egui::TextEdit::singleline(&mut self.midi_path).desired_width(120.0)).labelled_by(label.id);
            if ui.add_enabled(has_song && !busy, egui::Button::new("Save WAV")).clicked() {
                self.save_wav();
            }
            let label = ui.label("WAV file");
            ui.add(egui::TextEdit::singleline(&mut self.wav_path).desired_width(120.0)).labelled_by(label.id);
        });
        match &self.status {
            Ok(s) => {
                ui.label(s);
            }
            Err(e) => {
                ui.colored_label(Color32::RED, e);
            }
        }
        if self.render.is_some() {
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(50));
        }
        let playhead = self.playback.as_ref().filter(|p| !p.is_finished()).map(|p| p.position().as_secs_f64());
        if playhead.is_some() {
            ui.ctx().request_repaint();
        }
        if let Some(g) = &self.generated {
            ui.separator();
            piano_roll(ui, &g.song, playhead);
        }
    }
}

/// Notes as bars (pitch up, time right), the chord symbols above, a red playhead at
/// `playhead` seconds. Melody orange, comping blue, bass green; drums are left out.
fn piano_roll(ui: &mut egui::Ui, song: &Song, playhead: Option<f64>) {
    let beats = song.beats().max(1.0);
    let width = ui.available_width().max(200.0);
    let px_per_beat = (width / beats as f32).max(2.0);
    let (lo, hi) = (24u8, 96u8);
    let row = 4.0f32;
    let top = 18.0;
    let size = vec2(px_per_beat * beats as f32, top + row * (hi - lo) as f32);
    egui::ScrollArea::horizontal().show(ui, |ui| {
        let (response, painter) = ui.allocate_painter(size, Sense::hover());
        let o = response.rect.min;
        painter.rect_filled(response.rect, 0.0, Color32::from_gray(24));
        let x = |b: f64| o.x + b as f32 * px_per_beat;
        let y = |p: u8| o.y + top + row * (hi.saturating_sub(p)) as f32;
        if let Some(prog) = &song.progression {
            for (start, span) in prog.timeline(beats) {
                painter.line_segment([pos2(x(start), o.y), pos2(x(start), o.y + size.y)], Stroke::new(0.5, Color32::from_gray(70)));
                painter.text(pos2(x(start) + 2.0, o.y + 2.0), egui::Align2::LEFT_TOP, span.chord.to_string(), FontId::proportional(11.0), Color32::LIGHT_GRAY);
            }
        }
        for part in song.parts.iter().filter(|p| p.channel != 9) {
            let color = match part.name.as_str() {
                "melody" => Color32::from_rgb(240, 160, 40),
                "bass" => Color32::from_rgb(80, 190, 100),
                _ => Color32::from_rgb(90, 140, 230),
            };
            for n in part.notes.iter().filter(|n| (lo..hi).contains(&n.pitch)) {
                let r = egui::Rect::from_min_max(pos2(x(n.start), y(n.pitch)), pos2(x(n.start + n.duration).max(x(n.start) + 1.5), y(n.pitch) + row - 0.5));
                painter.rect_filled(r, 1.0, color);
            }
        }
        if let Some(t) = playhead {
            let b = t / song.seconds_per_beat();
            painter.line_segment([pos2(x(b), o.y), pos2(x(b), o.y + size.y)], Stroke::new(2.0, Color32::RED));
        }
    });
}
