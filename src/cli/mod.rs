//! The command line: argument parsing and terminal output only; the work is in `models`.

mod dates;
mod dinos;
mod emojify;
mod jazz;
mod listen;
mod progress;
mod text;
mod trigger;
mod words;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "seqlab", version, about = "A lab of sequence models you can see and hear. With no command, opens the GUI.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Dinosaur Island: a character-level RNN that invents dinosaur names.
    Dinos {
        #[command(subcommand)]
        action: dinos::Action,
    },
    /// Dates: any human-written date to YYYY-MM-DD with the course's attention model.
    Dates {
        #[command(subcommand)]
        action: dates::Action,
    },
    /// Jazz: an LSTM improvises over chord changes; MIDI, WAV and the speakers.
    Jazz {
        #[command(subcommand)]
        action: jazz::Action,
    },
    /// Emojify: a sentence to one of five emoji (V1: mean of word vectors; V2: two LSTMs, five seeds averaged; V3: mean, max and negation).
    Emojify(emojify::EmojifyArgs),
    /// Character-level text generation on any corpus (Shakespeare by default).
    Text {
        #[command(subcommand)]
        action: text::Action,
    },
    /// Word vectors: train (skip-gram or GloVe), neighbours, analogies, debiasing, benchmarks.
    Words {
        #[command(subcommand)]
        action: words::Action,
    },
    /// Trigger word: a streaming GRU detector trained on synthetic speech.
    Trigger {
        #[command(subcommand)]
        action: trigger::Action,
    },
}

/// Runs a subcommand; errors carry their context for the user.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dinos { action } => dinos::run(action),
        Command::Text { action } => text::run(action),
        Command::Dates { action } => dates::run(action),
        Command::Jazz { action } => jazz::run(action),
        Command::Emojify(args) => emojify::run(args),
        Command::Words { action } => words::run(action),
        Command::Trigger { action } => trigger::run(action),
    }
}

/// The one line printed after `error: `: every cause in the chain, joined by ": ", except a
/// cause that the line already ends with. Our errors name their source in their own message
/// ("cannot read X: No such file..."), so anyhow's `{:#}` alone would say it twice.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Says that training will pick up from the checkpoint at `ckpt`, if there is one: a run
/// resumes whatever data it is now given (only the model's sizes must match), so the user
/// should know before the hours start.
pub(crate) fn announce_resume(ckpt: &std::path::Path) {
    if ckpt.exists() {
        eprintln!("resuming from {} (delete it to start over)", ckpt.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    /// A missing file read through ModelError::Io ("cannot read P: <os>", with the OS error
    /// as its source) says the OS error once; context added on top still comes first, and a
    /// cause that says something new is kept.
    #[test]
    fn error_line_says_each_cause_once() {
        let path = std::path::PathBuf::from("/no/such/dir/labels.tsv");
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = anyhow::Error::new(crate::models::ModelError::Io { path: path.clone(), source });
        assert_eq!(error_line(&e), "cannot read /no/such/dir/labels.tsv: No such file or directory");
        let e = Err::<(), _>(e).context("scoring a folder").unwrap_err();
        assert_eq!(error_line(&e), "scoring a folder: cannot read /no/such/dir/labels.tsv: No such file or directory");
        let e = Err::<(), _>(std::io::Error::other("disk full")).context("writing out.wav").unwrap_err();
        assert_eq!(error_line(&e), "writing out.wav: disk full");
    }
}
