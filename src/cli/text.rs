use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::dinos::{checkpoint_path, train_with_bar, training_metadata};
use crate::models::charlm::{CharLm, CharLmConfig};
use crate::models::data::read_books;
use crate::models::text;
use crate::nn::CellKind;
use crate::nn::optim::OptimizerKind;

#[derive(Subcommand)]
pub enum Action {
    /// Train a character model on a text (default: the Shakespeare plays in the shared Gutenberg selection).
    Train {
        /// A UTF-8 text file, optionally .gz [default: ../shared/data/corpus/gutenberg.txt.gz]
        #[arg(long)]
        data: Option<PathBuf>,
        /// Keep only books whose `[Title by Author Year]` header names this author
        #[arg(long, default_value = text::DEFAULT_AUTHOR)]
        author: String,
        /// Train on the whole file, ignoring --author
        #[arg(long)]
        all: bool,
        #[arg(long, default_value = "lstm")]
        cell: CellKind,
        #[arg(long, default_value_t = 256)]
        hidden: usize,
        #[arg(long, default_value_t = 1)]
        layers: usize,
        #[arg(long, default_value_t = 3000)]
        iters: usize,
        /// Parallel streams per step
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Characters per truncated-backpropagation window
        #[arg(long, default_value_t = 64)]
        seq_len: usize,
        #[arg(long, default_value = "adam")]
        optimizer: OptimizerKind,
        #[arg(long, default_value_t = 3e-3)]
        lr: f64,
        #[arg(long, default_value_t = 5.0)]
        clip: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "assets/text.safetensors")]
        out: PathBuf,
        #[arg(long, default_value_t = 250)]
        report_every: usize,
    },
    /// Write text, printed as it is sampled.
    Generate {
        /// Text to continue (every character must be in the model's vocabulary)
        #[arg(long, default_value = "")]
        prompt: String,
        #[arg(long, default_value_t = 400)]
        length: usize,
        #[arg(long, default_value_t = 0.7)]
        temperature: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Weights file [default: the shipped model]
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

pub fn run(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Train {
            data, author, all, cell, hidden, layers, iters, batch, seq_len, optimizer, lr, clip, seed, out, report_every,
        } => {
            let mut cfg = text::default_config();
            cfg.model = CharLmConfig { cell, hidden, layers };
            (cfg.iters, cfg.batch, cfg.seq_len, cfg.optimizer, cfg.lr, cfg.clip, cfg.seed, cfg.report_every) =
                (iters, batch, seq_len, optimizer, lr, clip, seed, report_every);
            cfg.validate()?;
            let path = data.unwrap_or_else(text::default_data);
            let corpus = read_books(&path, (!all).then_some(author.as_str())).context("cannot load the text to train on (pass --data FILE)")?;
            let mut model = CharLm::new(text::TASK, text::vocab_of(&corpus), cfg.model, cfg.seed)?;
            println!("training a {cell} (hidden {hidden}, {layers} layer(s)) on {} characters; vocabulary {}", corpus.chars().count(), model.vocab.describe());
            let checkpoint = checkpoint_path(&out);
            super::announce_resume(&checkpoint);
            let summary = train_with_bar(cfg.iters, |on_event| text::train(&mut model, &corpus, &cfg, Some(&checkpoint), on_event))?;
            model.save(&out, &training_metadata(&summary, &cfg))?;
            std::fs::remove_file(&checkpoint).ok();
            println!("saved {}", out.display());
            Ok(())
        }
        Action::Generate { prompt, length, temperature, seed, model } => {
            let model = text::load_model(model.as_deref())?;
            let mut stdout = std::io::stdout().lock();
            write!(stdout, "{prompt}")?;
            text::generate(&model, &prompt, length, temperature, seed, |c| write!(stdout, "{c}").and_then(|_| stdout.flush()).is_ok())?;
            writeln!(stdout)?;
            Ok(())
        }
    }
}
