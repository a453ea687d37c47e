use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::models::dates::data::{self, Style};
use crate::models::dates::train::{self as dtrain, Eval, Event, TrainConfig};
use crate::models::dates::translate::{attention_table, translate};
use crate::models::dates::{self, model::Nmt};

#[derive(Subcommand)]
pub enum Action {
    /// Translate one human-written date to YYYY-MM-DD.
    Translate {
        text: String,
        /// Beam search with this many hypotheses; prints them all with their scores
        #[arg(long, default_value_t = 1)]
        beam: usize,
        /// Print the attention matrix (input characters x output symbols) as a table
        #[arg(long)]
        attention: bool,
        /// Weights file [default: the shipped model]
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Score a TSV with header `human<TAB>machine`: exact match, per-character accuracy, BLEU, speed.
    Eval {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Write N generated (human, machine) pairs as a TSV, for eval or for other tools.
    Generate {
        n: usize,
        /// course, real or mixed
        #[arg(long, default_value = "mixed")]
        style: Style,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Train the translator on freshly generated dates (defaults reproduce the shipped model).
    Train {
        #[arg(long, default_value_t = TrainConfig::default().epochs)]
        epochs: usize,
        /// Fresh pairs per epoch
        #[arg(long, default_value_t = TrainConfig::default().epoch_size)]
        epoch_size: usize,
        #[arg(long, default_value_t = TrainConfig::default().batch)]
        batch: usize,
        #[arg(long, default_value_t = TrainConfig::default().lr)]
        lr: f64,
        /// course, real or mixed
        #[arg(long, default_value = "mixed")]
        style: Style,
        #[arg(long, default_value_t = TrainConfig::default().model.n_a)]
        n_a: usize,
        #[arg(long, default_value_t = TrainConfig::default().model.n_s)]
        n_s: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "assets/dates.safetensors")]
        out: PathBuf,
    },
    /// Time training (batch 100) and greedy inference (batch 512 per thread) and print figures.
    Bench {
        #[arg(long, default_value_t = 5_000)]
        train_examples: usize,
        #[arg(long, default_value_t = 50_000)]
        dates: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Translate { text, beam, attention, model } => {
            let model = dates::load_model(model.as_deref())?;
            let t = translate(&model, &text, beam)?;
            if !t.unknown.is_empty() {
                let list: String = t.unknown.iter().collect();
                eprintln!("note: characters the model has never seen, read as 'unknown': {list:?}");
            }
            if beam > 1 {
                for c in &t.candidates {
                    let mark = if c.date.is_ok() { "" } else { "  (not a real date)" };
                    println!("{}  log p = {:.4}  p = {:.4}{mark}", c.iso, c.log_prob, c.log_prob.exp());
                }
            } else {
                println!("{}", t.best.iso);
            }
            if attention {
                print!("{}", attention_table(&t));
            }
            eprintln!("confidence {:.1}%", 100.0 * t.confidence());
            if let Err(why) = &t.best.date {
                bail!("the model answered {}, which is not a real date: {why}", t.best.iso);
            }
            Ok(())
        }
        Action::Eval { file, json, threads, model } => {
            let model = dates::load_model(model.as_deref())?;
            let pairs = data::read_tsv(&file)?;
            let eval = dtrain::evaluate(&model, &pairs, threads)?;
            print_eval(&eval, json);
            Ok(())
        }
        Action::Generate { n, style, seed, out } => {
            if n == 0 || n > 10_000_000 {
                bail!("N must be 1..=10000000, got {n}");
            }
            data::write_tsv(&out, &data::pairs(n, style, seed))?;
            println!("wrote {n} {style} pairs to {}", out.display());
            Ok(())
        }
        Action::Train { epochs, epoch_size, batch, lr, style, n_a, n_s, seed, out } => {
            let mut cfg = TrainConfig { epochs, epoch_size, batch, lr, style, seed, ..TrainConfig::default() };
            (cfg.model.n_a, cfg.model.n_s) = (n_a, n_s);
            train(&cfg, out)
        }
        Action::Bench { train_examples, dates, threads, json } => bench(train_examples, dates, threads, json),
    }
}

fn print_eval(e: &Eval, json: bool) {
    if !json {
        for (human, want, got) in e.mistakes.iter().take(10) {
            println!("  {human:?}: expected {want}, got {got}");
        }
        println!(
            "{} dates: exact {:.2}%, per character {:.2}%, BLEU {:.4}, {} not real dates, {} unreadable, {:.0} dates/s",
            e.n,
            100.0 * e.exact,
            100.0 * e.char_accuracy,
            e.bleu,
            e.invalid,
            e.rejected,
            e.dates_per_sec
        );
        return;
    }
    let line = serde_json::json!({
        "exact": e.exact,
        "char_accuracy": e.char_accuracy,
        "bleu": e.bleu,
        "n": e.n,
        "invalid": e.invalid,
        "rejected": e.rejected,
        "dates_per_sec": e.dates_per_sec,
    });
    println!("{line}");
}

fn train(cfg: &TrainConfig, out: PathBuf) -> anyhow::Result<()> {
    cfg.validate()?;
    let mut model = Nmt::<f32>::new(cfg.model, cfg.seed)?;
    let checkpoint = super::dinos::checkpoint_path(&out);
    super::announce_resume(&checkpoint);
    println!(
        "training on {} epochs x {} fresh {} dates (batch {}), validating on {}",
        cfg.epochs, cfg.epoch_size, cfg.style, cfg.batch, cfg.val_size
    );
    let bar = super::progress::bar((cfg.epochs * cfg.epoch_size) as u64);
    let say = |line: String| if bar.is_hidden() { println!("{line}") } else { bar.println(line) };
    let summary = dtrain::train(&mut model, cfg, Some(&checkpoint), &mut |event| {
        match event {
            Event::Progress { epoch, done, loss, .. } => {
                bar.set_position((epoch * cfg.epoch_size + done) as u64);
                bar.set_message(format!("epoch {} loss {loss:.4}", epoch + 1));
            }
            Event::Epoch { epoch, train_loss, val, seconds } => {
                let val = val
                    .map(|v| format!(", validation exact {:.2}%, per character {:.3}%", 100.0 * v.exact, 100.0 * v.char_accuracy))
                    .unwrap_or_default();
                say(format!("epoch {}: loss {train_loss:.4}{val} ({seconds:.1} s)", epoch + 1));
            }
        }
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();
    println!("{} examples in {:.1} s ({:.0} examples/s)", summary.examples, summary.seconds, summary.examples_per_sec);
    let exact = summary.val.as_ref().map(|v| format!("{:.4}", v.exact)).unwrap_or_default();
    let meta = [
        ("epochs", cfg.epochs.to_string()),
        ("epoch_size", cfg.epoch_size.to_string()),
        ("batch", cfg.batch.to_string()),
        ("lr", cfg.lr.to_string()),
        ("style", cfg.style.to_string()),
        ("seed", cfg.seed.to_string()),
        ("val_exact", exact),
    ];
    model.save(&out, &meta)?;
    std::fs::remove_file(&checkpoint).ok();
    println!("saved {}", out.display());
    Ok(())
}

fn bench(train_examples: usize, n: usize, threads: usize, json: bool) -> anyhow::Result<()> {
    if train_examples == 0 || n == 0 {
        bail!("--train-examples and --dates must be at least 1");
    }
    let cfg = TrainConfig { epochs: 1, epoch_size: train_examples, val_size: 0, ..TrainConfig::default() };
    let mut fresh = Nmt::<f32>::new(cfg.model, 0)?;
    let s = dtrain::train(&mut fresh, &cfg, None, &mut |_| ControlFlow::Continue(())).context("training benchmark")?;
    let model = dates::load_model(None)?;
    let pairs = data::pairs(n, Style::Course, 7);
    let eval = dtrain::evaluate(&model, &pairs, threads)?;
    if json {
        let line = serde_json::json!({
            "train_examples_per_sec": s.examples_per_sec,
            "train_batch": cfg.batch,
            "dates_per_sec": eval.dates_per_sec,
            "threads": threads,
            "n": n,
        });
        println!("{line}");
    } else {
        println!(
            "training: {:.0} examples/s (batch {}, one thread); greedy translation: {:.0} dates/s ({threads} threads)",
            s.examples_per_sec, cfg.batch, eval.dates_per_sec
        );
    }
    Ok(())
}
