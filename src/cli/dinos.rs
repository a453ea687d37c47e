use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::models::charlm::{CharLm, Event, Summary, TrainConfig};
use crate::models::dinos::{self, Split};
use crate::models::data::read_names;
use crate::nn::CellKind;
use crate::nn::optim::OptimizerKind;

#[derive(Subcommand)]
pub enum Action {
    /// Train a name model (defaults: the course's RNN, n_a = 50, SGD 0.01, clip 5, one name per step).
    Train {
        /// Names, one per line [default: ../shared/data/dinosaurs.txt]
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value_t = 40_000)]
        iters: usize,
        #[arg(long, default_value_t = 50)]
        hidden: usize,
        #[arg(long, default_value = "rnn")]
        cell: CellKind,
        #[arg(long, default_value_t = 1)]
        layers: usize,
        /// Names per step; above 1, names are padded and masked, and Adam is the default.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// sgd or adam [default: sgd at batch 1, adam above]
        #[arg(long)]
        optimizer: Option<OptimizerKind>,
        /// Learning rate [default: 0.01 for sgd, 0.005 for adam]
        #[arg(long)]
        lr: Option<f64>,
        #[arg(long, default_value_t = 5.0)]
        clip: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where to write the model (the shipped one by default)
        #[arg(long, default_value = "assets/dinos.safetensors")]
        out: PathBuf,
        #[arg(long, default_value_t = 2000)]
        report_every: usize,
    },
    /// Invent names with a trained model.
    Sample {
        #[arg(short, default_value_t = 10)]
        n: usize,
        #[arg(long, default_value_t = 1.0)]
        temperature: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Weights file [default: the shipped model]
        #[arg(long)]
        model: Option<PathBuf>,
        /// Known names, to report how many samples are new [default: ../shared/data/dinosaurs.txt if present]
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Time the course configuration (or batched training with --batch) and print figures.
    Bench {
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value_t = 20_000)]
        iters: usize,
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Print one JSON line instead of prose
        #[arg(long)]
        json: bool,
    },
}

pub fn run(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Train { data, iters, hidden, cell, layers, batch, optimizer, lr, clip, seed, out, report_every } => {
            let optimizer = optimizer.unwrap_or(if batch > 1 { OptimizerKind::Adam } else { OptimizerKind::Sgd });
            let lr = lr.unwrap_or(if optimizer == OptimizerKind::Adam { 0.005 } else { 0.01 });
            let mut cfg = dinos::course_config();
            cfg.model = crate::models::charlm::CharLmConfig { cell, hidden, layers };
            (cfg.iters, cfg.batch, cfg.optimizer, cfg.lr, cfg.clip, cfg.seed, cfg.report_every) =
                (iters, batch, optimizer, lr, clip, seed, report_every);
            train(data, &cfg, out)
        }
        Action::Sample { n, temperature, seed, model, data } => sample(n, temperature, seed, model, data),
        Action::Bench { data, iters, batch, json } => bench(data, iters, batch, json),
    }
}

fn load_split(data: Option<PathBuf>, seed: u64) -> anyhow::Result<Split> {
    let path = data.unwrap_or_else(dinos::default_data);
    let names = read_names(&path).with_context(|| "cannot load the names to train on (pass --data FILE)")?;
    Ok(Split::new(names, seed))
}

fn train(data: Option<PathBuf>, cfg: &TrainConfig, out: PathBuf) -> anyhow::Result<()> {
    cfg.validate()?;
    let split = load_split(data, cfg.seed)?;
    let mut model = CharLm::new(dinos::TASK, split.vocab(), cfg.model, cfg.seed)?;
    let checkpoint = checkpoint_path(&out);
    super::announce_resume(&checkpoint);
    println!(
        "training a {} (hidden {}, {} layer(s)) on {} names, {} held out; vocabulary {}",
        cfg.model.cell,
        cfg.model.hidden,
        cfg.model.layers,
        split.train.len(),
        split.val.len(),
        model.vocab.describe()
    );
    let summary = train_with_bar(cfg.iters, |on_event| dinos::train(&mut model, &split, cfg, Some(&checkpoint), on_event))?;
    model.save(&out, &training_metadata(&summary, cfg))?;
    std::fs::remove_file(&checkpoint).ok();
    println!("saved {}", out.display());
    Ok(())
}

/// The checkpoint beside a model file: `model.safetensors` -> `model.safetensors.ckpt`.
pub(super) fn checkpoint_path(out: &std::path::Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".ckpt");
    PathBuf::from(name)
}

/// What the weights file records about how it was made, so a shipped model documents itself.
pub(super) fn training_metadata(s: &Summary, cfg: &TrainConfig) -> Vec<(&'static str, String)> {
    vec![
        ("trained_iters", s.iters.to_string()),
        ("train_smoothed_loss", format!("{:.4}", s.smoothed_loss)),
        ("val_loss_per_char", s.val_loss_per_char.map(|v| format!("{v:.4}")).unwrap_or_default()),
        ("optimizer", cfg.optimizer.to_string()),
        ("lr", cfg.lr.to_string()),
        ("batch", cfg.batch.to_string()),
        ("seed", cfg.seed.to_string()),
    ]
}

/// Runs a training loop behind a progress bar, printing reports above it.
pub(super) fn train_with_bar(
    iters: usize,
    run: impl FnOnce(&mut dyn FnMut(Event) -> ControlFlow<()>) -> Result<Summary, crate::models::ModelError>,
) -> anyhow::Result<Summary> {
    let bar = super::progress::bar(iters as u64);
    // A hidden bar (output is not a terminal) swallows println: write reports directly.
    let say = |line: String| if bar.is_hidden() { println!("{line}") } else { bar.println(line) };
    let summary = run(&mut |event| {
        match event {
            Event::Progress { iter, smoothed_loss, .. } => {
                bar.set_position(iter as u64);
                bar.set_message(format!("loss {smoothed_loss:.3}"));
            }
            Event::Report { iter, smoothed_loss, val_loss_per_char, samples } => {
                let val = val_loss_per_char.map(|v| format!(", validation {v:.3}/char")).unwrap_or_default();
                say(format!("iteration {iter}: smoothed loss {smoothed_loss:.3}{val}"));
                for s in samples {
                    say(format!("    {}", s.trim_end()));
                }
            }
        }
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();
    let val = summary.val_loss_per_char.map(|v| format!(", validation loss {v:.3}/char")).unwrap_or_default();
    println!(
        "{} iterations in {:.1} s ({:.0} it/s): smoothed loss {:.3}{val}",
        summary.iters, summary.seconds, summary.iters_per_sec, summary.smoothed_loss
    );
    Ok(summary)
}

fn sample(n: usize, temperature: f64, seed: u64, model: Option<PathBuf>, data: Option<PathBuf>) -> anyhow::Result<()> {
    if n == 0 {
        bail!("-n must be at least 1");
    }
    if n > 100_000 {
        bail!("-n must be at most 100000, got {n}");
    }
    let model = dinos::load_model(model.as_deref())?;
    let names = dinos::sample_names(&model, n, temperature, seed)?;
    for name in &names {
        println!("{name}");
    }
    let known_path = data.clone().unwrap_or_else(dinos::default_data);
    match read_names(&known_path) {
        Ok(known) => {
            let known: HashSet<String> = known.into_iter().collect();
            eprintln!("{:.0}% of these names are new (not in {})", 100.0 * dinos::novelty(&names, &known), known_path.display());
        }
        Err(e) if data.is_some() => return Err(e.into()),
        Err(_) => {}
    }
    Ok(())
}

fn bench(data: Option<PathBuf>, iters: usize, batch: usize, json: bool) -> anyhow::Result<()> {
    let mut cfg = dinos::course_config();
    cfg.iters = iters;
    cfg.batch = batch;
    cfg.report_every = iters.max(1);
    if batch > 1 {
        (cfg.optimizer, cfg.lr) = (OptimizerKind::Adam, 0.005);
    }
    cfg.validate()?;
    let split = load_split(data, cfg.seed)?;
    let mut model = CharLm::new(dinos::TASK, split.vocab(), cfg.model, cfg.seed)?;
    let s = dinos::train(&mut model, &split, &cfg, None, &mut |_| ControlFlow::Continue(()))?;
    if json {
        let line = serde_json::json!({
            "iters_per_sec": s.iters_per_sec,
            "smoothed_loss": s.smoothed_loss,
            "names_per_sec": s.names_per_sec,
            "iters": s.iters,
            "batch": batch,
            "seconds": s.seconds,
            "val_loss_per_char": s.val_loss_per_char,
        });
        println!("{line}");
    } else {
        println!(
            "{} iterations (batch {batch}) in {:.2} s: {:.0} it/s, {:.0} names/s, smoothed loss {:.3}",
            s.iters, s.seconds, s.iters_per_sec, s.names_per_sec, s.smoothed_loss
        );
    }
    Ok(())
}
