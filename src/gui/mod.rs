//! The desktop lab: a list of panels on the left, the chosen one on the right.
//! Each lab is one struct behind [`Panel`], so adding a lab touches only its own file
//! and the list in [`App::new`].

mod dates;
mod dinos;
mod emojify;
mod jazz;
mod text;
mod trigger;
mod words;
mod worker;

pub use dates::DatesPanel;
pub use dinos::DinosPanel;
pub use emojify::EmojifyPanel;
pub use jazz::JazzPanel;
pub use text::TextPanel;
pub use trigger::TriggerPanel;
pub use words::WordsPanel;

/// One lab of the window.
pub trait Panel {
    /// Shown in the side list; also what tests click.
    fn name(&self) -> &'static str;
    fn ui(&mut self, ui: &mut egui::Ui);
}

pub struct App {
    panels: Vec<Box<dyn Panel>>,
    selected: usize,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// Only labs that work end to end are listed: an entry that does nothing teaches nothing.
    pub fn new() -> Self {
        Self {
            panels: vec![
                Box::new(DinosPanel::new()),
                Box::new(TextPanel::new()),
                Box::new(DatesPanel::new()),
                Box::new(TriggerPanel::new()),
                Box::new(JazzPanel::new()),
                Box::new(WordsPanel::new()),
                Box::new(EmojifyPanel::new()),
            ],
            selected: 0,
        }
    }

    /// Draws the whole window into `ui`; separate from eframe so tests can drive it headless.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::left("labs").resizable(false).default_size(160.0).show(ui, |ui| {
            ui.add_space(6.0);
            ui.heading("seqlab");
            ui.separator();
            for (i, panel) in self.panels.iter().enumerate() {
                if ui.selectable_label(i == self.selected, panel.name()).clicked() {
                    self.selected = i;
                }
            }
        });
        egui::CentralPanel::default_margins().show(ui, |ui| {
            if let Some(panel) = self.panels.get_mut(self.selected) {
                egui::ScrollArea::vertical().show(ui, |ui| panel.ui(ui));
            }
        });
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        App::ui(self, ui);
    }
}

/// Opens the window and returns when it is closed.
pub fn run() -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("seqlab").with_inner_size([1100.0, 750.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native("seqlab", options, Box::new(|_cc| Ok(Box::new(App::new())))).map_err(|e| {
        anyhow::anyhow!(
            "cannot open the seqlab window ({e}); without a display, run it under a virtual one \
             (`xvfb-run seqlab`) or use the command-line subcommands (`seqlab --help`)"
        )
    })
}
