//! `seqlab emojify "<sentence>"`, `seqlab emojify eval FILE`, `seqlab emojify train`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::models::emojify::model::Version;
use crate::models::emojify::train::{self as etrain, Eval, TrainConfig};
use crate::models::emojify::{self, LABELS, NUM_CLASSES, data};
use crate::models::words::{WordVectors, load_vectors};

/// A sentence to classify, or a subcommand (never both).
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EmojifyArgs {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// The sentence to turn into an emoji
    pub sentence: Option<String>,
    #[command(flatten)]
    pub using: Using,
}

/// Which model and which vectors.
#[derive(Args, Clone)]
pub struct Using {
    /// v1 (mean of word vectors -> softmax), v2 (two LSTM layers, five seeds averaged) or v3 (mean, negated mean
    /// and max of the vectors -> hidden layer, plus a bag of words)
    #[arg(long, default_value = "v2")]
    pub model: Version,
    /// A weights file (its own kind, v1, v2 or v3, decides the network) [default: the shipped model of --model]
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Word vectors (seqlab .safetensors, GloVe or word2vec text) [default: the shipped ones]
    #[arg(long)]
    pub vectors: Option<PathBuf>,
}

// Parsed once per run: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Action {
    /// Accuracy and confusion matrix on a TSV with header `sentence<TAB>label`, or the course's headerless CSV.
    Eval {
        file: PathBuf,
        #[command(flatten)]
        using: Using,
        #[arg(long)]
        json: bool,
    },
    /// Train a model (defaults reproduce the shipped one of --model).
    Train {
        /// v1, v2 or v3
        #[arg(long, default_value = "v2")]
        model: Version,
        /// The course's training sentences
        #[arg(long, default_value = "../shared/data/emojify/train_emoji.csv")]
        data: PathBuf,
        /// Training sentences written for seqlab ("none" to leave them out)
        #[arg(long, default_value = "assets/emojify/extra_train.tsv")]
        extra: PathBuf,
        /// Scored after each epoch for the report only ("none" to skip)
        #[arg(long, default_value = "../shared/data/emojify/tesss.csv")]
        dev: PathBuf,
        #[arg(long)]
        vectors: Option<PathBuf>,
        /// [default: 300 for v1, 60 for v2, 150 for v3]
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// [default: 0.01 for v1, 0.002 for v2, 0.005 for v3]
        #[arg(long)]
        lr: Option<f64>,
        /// LSTM units (v2), hidden units (v3) [default: 128 for v2, 64 for v3]
        #[arg(long)]
        hidden: Option<usize>,
        /// Dropout rate after each LSTM layer (v2), after the hidden layer (v3) [default: 0.5 for v2, 0.3 for v3]
        #[arg(long)]
        dropout: Option<f64>,
        /// L2 penalty on v3's dense weights [default: 0.001]
        #[arg(long)]
        l2: Option<f64>,
        /// L2 penalty on v3's bag-of-words table [default: 0.0001]
        #[arg(long)]
        bow_l2: Option<f64>,
        /// Only cross-validate with K folds on the training sentences (nothing is saved)
        #[arg(long, value_name = "K")]
        cv: Option<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Networks to train from seeds SEED, SEED+1, ... and average [default: 5 for v2, 1 for v1 and v3]
        #[arg(long)]
        members: Option<usize>,
        /// Probability that a training sentence loses each word, drawn afresh every epoch (one
        /// word always stays) [default: 0.3 for v2, 0 for v1 and v3]
        #[arg(long)]
        word_dropout: Option<f64>,
        /// Scale word vectors to unit length before use [default: true for v1 and v3, false for v2]
        #[arg(long)]
        unit_vectors: Option<bool>,
        /// [default: assets/emojify_v1.safetensors or assets/emojify_v2.safetensors]
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(args: EmojifyArgs) -> anyhow::Result<()> {
    match (args.action, args.sentence) {
        (Some(Action::Eval { file, using, json }), _) => eval(&file, &using, json),
        (Some(Action::Train { model, data, extra, dev, vectors, epochs, batch, lr, hidden, dropout, l2, bow_l2, cv, seed, members, word_dropout, unit_vectors, out }), _) => {
            let mut cfg = TrainConfig::default_for(model);
            cfg.epochs = epochs.unwrap_or(cfg.epochs);
            cfg.lr = lr.unwrap_or(cfg.lr);
            cfg.batch = batch;
            cfg.seed = seed;
            cfg.members = members.unwrap_or(cfg.members);
            cfg.word_dropout = word_dropout.unwrap_or(cfg.word_dropout);
            cfg.unit_vectors = unit_vectors.unwrap_or(cfg.unit_vectors);
            if model != Version::V1 {
                cfg.net.hidden = hidden.unwrap_or(cfg.net.hidden);
                cfg.net.dropout = dropout.unwrap_or(cfg.net.dropout);
            }
            if model == Version::V3 {
                cfg.net.l2 = l2.unwrap_or(cfg.net.l2);
                cfg.net.bow_l2 = bow_l2.unwrap_or(cfg.net.bow_l2);
            }
            // settings are refused before any file is read
            cfg.check()?;
            if let Some(k) = cv {
                return cross_validate(&cfg, &data, &extra, vectors.as_deref(), k);
            }
            let out = out.unwrap_or_else(|| PathBuf::from(format!("assets/emojify_{model}.safetensors")));
            train(&cfg, &data, &extra, &dev, vectors.as_deref(), &out)
        }
        (None, Some(sentence)) => predict(&sentence, &args.using),
        (None, None) => bail!("give a sentence (seqlab emojify \"I love you\") or a subcommand (eval, train); see --help"),
    }
}

fn vectors(path: Option<&Path>) -> anyhow::Result<WordVectors> {
    load_vectors(path).with_context(|| match path {
        Some(p) => format!("loading word vectors {}", p.display()),
        None => "loading the shipped word vectors".into(),
    })
}

fn predict(sentence: &str, using: &Using) -> anyhow::Result<()> {
    let v = vectors(using.vectors.as_deref())?;
    let model = emojify::load_model(using.model, using.weights.as_deref(), &v)?;
    let p = model.predict(&v, sentence)?;
    println!("{}  {}", p.emoji(), LABELS[p.label].alias);
    for (l, prob) in LABELS.iter().zip(p.probs) {
        println!("  {} {:<16} {:6.2}%  {}", l.emoji, l.alias, 100.0 * prob, "#".repeat((prob * 40.0).round() as usize));
    }
    if !p.unknown.is_empty() {
        println!("unknown words (skipped): {}", p.unknown.join(", "));
    }
    Ok(())
}

fn read_examples(path: &Path) -> anyhow::Result<Vec<data::Example>> {
    Ok(data::read(path)?)
}

fn eval(file: &Path, using: &Using, json: bool) -> anyhow::Result<()> {
    let examples = read_examples(file)?;
    let v = vectors(using.vectors.as_deref())?;
    let model = emojify::load_model(using.model, using.weights.as_deref(), &v)?;
    let e = etrain::evaluate(&model, &v, &examples)?;
    print_eval(&e, model.version());
    if json {
        let line = serde_json::json!({
            "accuracy": e.accuracy,
            "n": e.n,
            "correct": e.correct,
            "unreadable": e.unreadable.len(),
            "model": model.version().to_string(),
            "confusion": e.confusion,
        });
        println!("{line}");
    }
    Ok(())
}

fn print_eval(e: &Eval, version: Version) {
    for (s, want, got) in e.mistakes.iter().take(20) {
        println!("  {s:?}: expected {}, got {}", LABELS[*want].emoji, LABELS[*got].emoji);
    }
    for (s, why) in e.unreadable.iter().take(10) {
        println!("  {s:?}: not classified ({why})");
    }
    if !e.unknown.is_empty() {
        let list: Vec<String> = e.unknown.iter().take(20).map(|(w, n)| if *n > 1 { format!("{w} ({n})") } else { w.clone() }).collect();
        println!("unknown words: {}{}", list.join(", "), if e.unknown.len() > 20 { ", ..." } else { "" });
    }
    println!("confusion matrix (rows: true, columns: predicted):");
    print!("      ");
    for l in &LABELS {
        print!("{:>5}", l.emoji);
    }
    println!();
    for (t, row) in e.confusion.iter().enumerate() {
        print!("  {:<4}", LABELS[t].emoji);
        for c in row.iter().take(NUM_CLASSES) {
            print!("{c:>5}");
        }
        println!();
    }
    println!("{version}: {} sentences, accuracy {:.2}% ({} right, {} unreadable)", e.n, 100.0 * e.accuracy, e.correct, e.unreadable.len());
}

fn optional(path: &Path) -> Option<&Path> {
    (path.as_os_str() != "none").then_some(path)
}

/// The course's training sentences and the extra ones, and how many came from the course.
fn training_set(data_path: &Path, extra: &Path) -> anyhow::Result<(Vec<data::Example>, usize)> {
    let mut examples = read_examples(data_path).context("the course's training sentences (--data)")?;
    let course = examples.len();
    if let Some(p) = optional(extra) {
        examples.extend(read_examples(p).context("the extra training sentences (--extra)")?);
    }
    Ok((examples, course))
}

fn cross_validate(cfg: &TrainConfig, data_path: &Path, extra: &Path, vectors_path: Option<&Path>, k: usize) -> anyhow::Result<()> {
    let (examples, _) = training_set(data_path, extra)?;
    let v = vectors(vectors_path)?;
    println!("{k}-fold cross-validation of {} on {} sentences", cfg.net.version, examples.len());
    let bar = super::progress::bar(k as u64);
    let acc = etrain::cross_validate(cfg, &v, &examples, k, |fold, e| {
        bar.set_position(fold as u64 + 1);
        bar.println(format!("fold {}: {:.2}% of {}", fold + 1, 100.0 * e.accuracy, e.n));
    })?;
    bar.finish_and_clear();
    let mean = acc.iter().sum::<f64>() / acc.len() as f64;
    println!("mean accuracy {:.2}%", 100.0 * mean);
    println!("{}", serde_json::json!({ "cv_accuracy": mean, "folds": acc, "model": cfg.net.version.to_string(), "n": examples.len() }));
    Ok(())
}

fn train(cfg: &TrainConfig, data_path: &Path, extra: &Path, dev: &Path, vectors_path: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    let (examples, course) = training_set(data_path, extra)?;
    let dev = match optional(dev) {
        Some(p) => Some(read_examples(p).context("the development set (--dev)")?),
        None => None,
    };
    let v = vectors(vectors_path)?;
    let seeds = if cfg.members > 1 { format!("seeds {}..={}", cfg.seed, cfg.seed + cfg.members as u64 - 1) } else { format!("seed {}", cfg.seed) };
    println!(
        "training {} on {} sentences ({course} from {}, {} more), {} epochs, batch {}, lr {}, word dropout {}, {seeds}",
        cfg.net.version,
        examples.len(),
        data_path.display(),
        examples.len() - course,
        cfg.epochs,
        cfg.batch,
        cfg.lr,
        cfg.word_dropout,
    );
    let bar = super::progress::bar((cfg.epochs * cfg.members) as u64);
    let (mut model, prepared) = etrain::train(cfg, &v, &examples, dev.as_deref(), |r| {
        bar.inc(1);
        let dev = r.dev_accuracy.map(|a| format!(", dev {:.1}%", 100.0 * a)).unwrap_or_default();
        let who = if cfg.members > 1 { format!("network {}: ", r.member + 1) } else { String::new() };
        bar.set_message(format!("{who}epoch {}, loss {:.4}, train {:.1}%{dev}", r.epoch, r.loss, 100.0 * r.train_accuracy));
        true
    })?;
    bar.finish_and_clear();
    for (s, why) in &prepared.skipped {
        eprintln!("skipped {s:?}: {why}");
    }
    if !prepared.unknown.is_empty() {
        let mut u: Vec<&String> = prepared.unknown.keys().collect();
        u.sort();
        eprintln!("{} training words are not in the vectors: {}", u.len(), u.iter().take(40).map(|s| s.as_str()).collect::<Vec<_>>().join(", "));
    }
    if let Some(dev) = &dev {
        let e = etrain::evaluate(&model, &v, dev)?;
        println!("development set: accuracy {:.2}% of {}", 100.0 * e.accuracy, e.n);
    }
    model.save(out)?;
    println!("saved {}", out.display());
    Ok(())
}
