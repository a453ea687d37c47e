//! `seqlab words ...`: train, inspect and evaluate word vectors.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::models::words::checkpoint::Checkpointing;
use crate::models::words::debias;
use crate::models::words::eval::{self, AnalogySet, SimilaritySet};
use crate::models::words::ops::{self, Method};
use crate::models::words::train::{self, Method as TrainMethod, TrainConfig, Trained};
use crate::models::words::vocab::Corpus;
use crate::models::words::{WordVectors, corpus, load_vectors, tokenize};

/// The Google analogy questions, where the data folder is.
const QUESTIONS: &str = "../shared/data/word_eval/questions-words.txt";

/// Words kept in the shipped file: the most frequent ones.
const SHIPPED_WORDS: usize = 50_000;

#[derive(Subcommand)]
pub enum Action {
    /// Train word vectors on a corpus (defaults reproduce the shipped vectors).
    Train {
        #[arg(long, value_enum, default_value_t = TrainMethod::Sgns)]
        method: TrainMethod,
        /// Text files, plain or gzip; `*` allowed in file names; repeatable [default: ../shared/data/corpus/*.txt.gz]
        #[arg(long)]
        corpus: Vec<String>,
        #[arg(long, default_value_t = 50)]
        dim: usize,
        #[arg(long, default_value_t = 5)]
        window: usize,
        #[arg(long, default_value_t = 5)]
        negative: usize,
        /// [default: 5 for sgns, 25 for glove]
        #[arg(long)]
        epochs: Option<usize>,
        /// Words seen fewer times are dropped
        #[arg(long, default_value_t = 5)]
        min_count: u64,
        /// Train only the most frequent N words
        #[arg(long)]
        max_vocab: Option<usize>,
        /// Subsampling threshold for frequent words (sgns; 0 = off)
        #[arg(long, default_value_t = 1e-3)]
        sample: f64,
        /// Starting learning rate [default: 0.025 for sgns, 0.05 for glove]
        #[arg(long)]
        lr: Option<f32>,
        /// GloVe's weighting f(x) = min(1, (x/x_max)^0.75): counts at or above x_max weigh 1
        /// (glove.c's default 100; its demo uses 10 for a corpus of this size)
        #[arg(long, default_value_t = 100.0)]
        x_max: f32,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// With --threads 1 the result is bit-for-bit reproducible; with more threads the
        /// Hogwild update order depends on timing, so only statistically
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the most frequent --keep words go (.safetensors, or GloVe text otherwise)
        #[arg(long, default_value = "assets/words.safetensors")]
        out: PathBuf,
        #[arg(long, default_value_t = SHIPPED_WORDS)]
        keep: usize,
        /// Also save the whole trained vocabulary here (.safetensors or text)
        #[arg(long)]
        full_out: Option<PathBuf>,
        /// Analogy file scored after training (skipped when missing)
        #[arg(long, default_value = QUESTIONS)]
        questions: PathBuf,
        /// Checkpoint at least every N corpus words (sgns) or co-occurrence pairs (glove),
        /// and at every epoch's end, to OUT.ckpt; a run that finds OUT.ckpt resumes from it
        /// (same corpus and settings), and deletes it once the vectors are saved
        #[arg(long, default_value_t = 5_000_000)]
        checkpoint_every: u64,
        /// Stop at the first checkpoint after this many epochs, keeping OUT.ckpt (rerun the
        /// same command to carry on); nothing is written to --out
        #[arg(long)]
        stop_after: Option<usize>,
    },
    /// The nearest neighbours of a word by cosine similarity.
    Neighbors {
        word: String,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Search only the most frequent N words
        #[arg(long)]
        restrict: Option<usize>,
        /// Vectors file (.safetensors, GloVe or word2vec text) [default: the shipped vectors]
        #[arg(long)]
        vectors: Option<PathBuf>,
    },
    /// `analogy A B C` answers a : b :: c : ?; `analogy FILE` scores a Google-format file.
    Analogy {
        /// Three words, or one analogy file
        #[arg(num_args = 1..=3, required = true)]
        args: Vec<String>,
        #[arg(long, value_enum, default_value_t = Method::Add)]
        method: Method,
        /// Answers to print for a single question
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Use only the most frequent N words, questions and answers both (gensim's restrict_vocab)
        #[arg(long, default_value_t = 30_000)]
        restrict: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        vectors: Option<PathBuf>,
    },
    /// Spearman correlation with human similarity scores (SimLex-999, WordSim-353, vecto CSVs).
    Similarity {
        file: PathBuf,
        /// Use only the most frequent N words
        #[arg(long)]
        restrict: Option<usize>,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        vectors: Option<PathBuf>,
    },
    /// The course's debiasing: bias direction, neutralize, equalize, projections before and after.
    Debias {
        /// Pairs defining the direction, `a:b` for a - b; one pair is used as is, several
        /// through their first principal component
        #[arg(long = "pair", default_values_t = ["woman:man".to_string()])]
        pairs: Vec<String>,
        /// Words to neutralize (comma-separated)
        #[arg(long, default_value = "receptionist,nurse,engineer,doctor,scientist,babysitter,programmer,technology,fashion,literature,warrior,computer")]
        neutral: String,
        /// Pairs to equalize, `a:b`, repeatable
        #[arg(long = "equalize", default_values_t = ["man:woman", "boy:girl", "father:mother", "he:she", "king:queen", "actor:actress"].map(String::from))]
        equalize: Vec<String>,
        /// Save the debiased vectors here (.safetensors or text)
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        vectors: Option<PathBuf>,
    },
    /// Time one epoch of training on the corpus and print words/s.
    Bench {
        #[arg(long, value_enum, default_value_t = TrainMethod::Sgns)]
        method: TrainMethod,
        #[arg(long)]
        corpus: Vec<String>,
        #[arg(long, default_value_t = 1)]
        epochs: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 5)]
        min_count: u64,
        #[arg(long)]
        json: bool,
    },
    /// Write the corpus as seqlab tokenises it (words only, one line per input line), for peers.
    Tokenize {
        #[arg(long)]
        corpus: Vec<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Train {
            method,
            corpus,
            dim,
            window,
            negative,
            epochs,
            min_count,
            max_vocab,
            sample,
            lr,
            x_max,
            threads,
            seed,
            out,
            keep,
            full_out,
            questions,
            checkpoint_every,
            stop_after,
        } => {
            let base = match method {
                TrainMethod::Sgns => TrainConfig::sgns(),
                TrainMethod::Glove => TrainConfig::glove(),
            };
            let cfg = TrainConfig {
                dim,
                window,
                negative,
                sample,
                threads,
                seed,
                epochs: epochs.unwrap_or(base.epochs),
                lr: lr.unwrap_or(base.lr),
                x_max,
                ..base
            };
            cfg.validate()?;
            if keep == 0 {
                bail!("--keep must be at least 1");
            }
            if checkpoint_every == 0 {
                bail!("--checkpoint-every must be at least 1");
            }
            if stop_after == Some(0) {
                bail!("--stop-after must be at least 1");
            }
            let ckpt = Checkpointing { path: super::dinos::checkpoint_path(&out), every: checkpoint_every };
            let corpus = read_corpus(&corpus, min_count, max_vocab)?;
            super::announce_resume(&ckpt.path);
            let trained = train_with_bar(&corpus, &cfg, Some(&ckpt), stop_after)?;
            let part = match trained.resumed_from {
                Some(e) => format!(" (this run: from the checkpoint after {e} finished epoch(s))"),
                None => String::new(),
            };
            if !trained.complete {
                println!(
                    "stopped after {} of {} epochs{part} in {:.1} s ({:.0} words/s); checkpoint kept at {}: run the same command again to carry on",
                    trained.epochs_done,
                    cfg.epochs,
                    trained.seconds,
                    trained.words_per_sec,
                    ckpt.path.display()
                );
                return Ok(());
            }
            println!(
                "{} epochs{part} in {:.1} s: {:.0} words/s{}, final loss {:.4}",
                cfg.epochs,
                trained.seconds,
                trained.words_per_sec,
                // GloVe trains on co-occurrences: it has no effective (subsampled) words.
                if trained.effective_words_per_sec > 0.0 {
                    format!(", {:.0} effective words/s (after subsampling)", trained.effective_words_per_sec)
                } else {
                    String::new()
                },
                trained.final_loss
            );
            let mut full = trained.vectors;
            full.meta.insert("min_count".into(), min_count.to_string());
            let mut kept = full.truncated(keep);
            if questions.is_file() {
                let set = AnalogySet::read(&questions)?;
                let mut scores = Vec::new();
                for (key, v, restrict) in [("analogy_full", &full, None), ("analogy_30k", &full, Some(30_000)), ("analogy_kept", &kept, None)] {
                    let s = eval::evaluate_analogies(v, &set, Method::Add, restrict, threads);
                    println!("{key} ({} words): {:.2}% of {} answered, coverage {:.1}%", s.vocab, 100.0 * s.accuracy, s.answered, 100.0 * s.coverage);
                    scores.push((key, format!("{:.4} coverage {:.4}", s.accuracy, s.coverage)));
                }
                kept.meta.extend(scores.into_iter().map(|(k, s)| (k.to_string(), s)));
            }
            if let Some(p) = &full_out {
                full.write(p).with_context(|| format!("saving {}", p.display()))?;
                println!("saved all {} words to {}", full.len(), p.display());
            }
            kept.write(&out).with_context(|| format!("saving {}", out.display()))?;
            println!("saved the {} most frequent words to {}", kept.len(), out.display());
            std::fs::remove_file(&ckpt.path).ok();
            Ok(())
        }
        Action::Neighbors { word, k, restrict, vectors } => {
            let v = load(vectors.as_deref())?;
            let word = word.to_lowercase();
            for s in ops::neighbours(&v, &word, k, restrict)? {
                println!("{:<20} {:.4}", s.word, s.score);
            }
            Ok(())
        }
        Action::Analogy { args, method, k, restrict, threads, json, vectors } => {
            if args.len() == 2 {
                bail!("give three words (A B C for a : b :: c : ?) or one analogy file");
            }
            let v = load(vectors.as_deref())?;
            match &args[..] {
                [file] => analogy_file(&v, Path::new(file), method, restrict, threads, json),
                [a, b, c] => {
                    let [a, b, c] = [a, b, c].map(|w| w.to_lowercase());
                    let answers = ops::analogy(&v, &a, &b, &c, method, k, Some(restrict))?;
                    if json {
                        let list: Vec<_> = answers.iter().map(|s| serde_json::json!({"word": s.word, "score": s.score})).collect();
                        println!("{}", serde_json::json!({ "a": a, "b": b, "c": c, "answers": list }));
                    } else {
                        println!("{a} : {b} :: {c} : ?");
                        for s in answers {
                            println!("  {:<20} {:.4}", s.word, s.score);
                        }
                    }
                    Ok(())
                }
                _ => bail!("give three words (A B C for a : b :: c : ?) or one analogy file"),
            }
        }
        Action::Similarity { file, restrict, json, vectors } => {
            let v = load(vectors.as_deref())?;
            let set = SimilaritySet::read(&file)?;
            let s = eval::evaluate_similarity(&v, &set, restrict);
            if !json {
                println!("{}: Spearman {:.4} on {} of {} pairs (coverage {:.1}%)", file.display(), s.spearman, s.answered, s.n, 100.0 * s.coverage);
            }
            println!("{}", serde_json::to_string(&s)?);
            Ok(())
        }
        Action::Debias { pairs, neutral, equalize, out, json, vectors } => {
            let mut v = load(vectors.as_deref())?;
            let pairs = pairs.iter().map(|p| parse_pair(p)).collect::<anyhow::Result<Vec<_>>>()?;
            let eq = equalize.iter().map(|p| parse_pair(p)).collect::<anyhow::Result<Vec<_>>>()?;
            let g = match &pairs[..] {
                [] => bail!("give at least one --pair a:b"),
                [(a, b)] => debias::direction_from_pair(&v, a, b)?,
                many => debias::direction_from_pairs(&v, many)?,
            };
            let neutral: Vec<String> = neutral.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
            let r = debias::debias(&mut v, g.view(), &neutral, &eq)?;
            if json {
                let row = |r: &debias::Row| serde_json::json!({"word": r.word, "before": r.before, "after": r.after});
                let line = serde_json::json!({
                    "neutralized": r.neutral.iter().map(row).collect::<Vec<_>>(),
                    "equalized": r.equalized.iter().map(|(a, b)| [row(a), row(b)]).collect::<Vec<_>>(),
                    "unknown": r.unknown,
                });
                println!("{line}");
            } else {
                let how = if pairs.len() == 1 { "one pair".to_string() } else { format!("first principal component of {} pairs", pairs.len()) };
                println!("bias direction from {how}; cosine with it before -> after:");
                for n in &r.neutral {
                    println!("  {:<16} {:+.4} -> {:+.4}   (neutralized)", n.word, n.before, n.after);
                }
                for (a, b) in &r.equalized {
                    println!("  {:<16} {:+.4} -> {:+.4}   {:<12} {:+.4} -> {:+.4}   (equalized)", a.word, a.before, a.after, b.word, b.before, b.after);
                }
                if !r.unknown.is_empty() {
                    println!("not in the vocabulary, skipped: {}", r.unknown.join(", "));
                }
            }
            if let Some(p) = out {
                v.write(&p)?;
                eprintln!("saved debiased vectors to {}", p.display());
            }
            Ok(())
        }
        Action::Bench { method, corpus, epochs, threads, min_count, json } => {
            let base = match method {
                TrainMethod::Sgns => TrainConfig::sgns(),
                TrainMethod::Glove => TrainConfig::glove(),
            };
            let cfg = TrainConfig { epochs, threads, ..base };
            cfg.validate()?;
            let start = std::time::Instant::now();
            let corpus = read_corpus(&corpus, min_count, None)?;
            let read_s = start.elapsed().as_secs_f64();
            let t = train::train(&corpus, &cfg, &mut |_| ControlFlow::Continue(()))?;
            let line = serde_json::json!({
                "method": method.to_string(),
                "words_per_sec": t.words_per_sec,
                "effective_words_per_sec": t.effective_words_per_sec,
                "train_seconds": t.seconds,
                "read_seconds": read_s,
                "corpus_words": corpus.ids.len(),
                "vocab": corpus.vocab.len(),
                "epochs": epochs,
                "threads": threads,
                "dim": cfg.dim,
            });
            if !json {
                println!(
                    "{method}: {:.0} words/s, {:.0} effective words/s, {epochs} epoch(s) of {} words in {:.1} s ({threads} threads; reading took {read_s:.1} s)",
                    t.words_per_sec,
                    t.effective_words_per_sec,
                    corpus.ids.len(),
                    t.seconds
                );
            }
            println!("{line}");
            Ok(())
        }
        Action::Tokenize { corpus, out } => {
            let files = corpus_files(&corpus)?;
            let mut text = String::new();
            let mut buf = String::new();
            for f in &files {
                corpus::for_each_line(f, |line| {
                    let start = text.len();
                    tokenize::for_each_token(line, &mut buf, |t, kind| {
                        if kind == tokenize::Kind::Word {
                            if text.len() > start {
                                text.push(' ');
                            }
                            text.push_str(t);
                        }
                    });
                    if text.len() > start {
                        text.push('\n');
                    }
                })?;
            }
            crate::atomic::write_atomic(&out, text.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}

fn load(path: Option<&Path>) -> anyhow::Result<WordVectors> {
    load_vectors(path).with_context(|| match path {
        Some(p) => format!("loading vectors from {}", p.display()),
        None => "loading the shipped vectors".into(),
    })
}

fn parse_pair(p: &str) -> anyhow::Result<(String, String)> {
    match p.split_once(':') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => Ok((a.trim().to_lowercase(), b.trim().to_lowercase())),
        _ => bail!("expected a word pair as a:b, got {p:?}"),
    }
}

fn corpus_files(patterns: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let patterns = if patterns.is_empty() { vec![corpus::DEFAULT_CORPUS.to_string()] } else { patterns.to_vec() };
    Ok(corpus::expand(&patterns)?)
}

fn read_corpus(patterns: &[String], min_count: u64, max_vocab: Option<usize>) -> anyhow::Result<Corpus> {
    let files = corpus_files(patterns)?;
    eprintln!("reading {} file(s)...", files.len());
    let start = std::time::Instant::now();
    let c = Corpus::read(&files, min_count, max_vocab)?;
    eprintln!(
        "{} words, {} in a vocabulary of {} (min count {min_count}), {} sentences, read in {:.1} s",
        c.raw_words,
        c.ids.len(),
        c.vocab.len(),
        c.ends.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(c)
}

fn train_with_bar(corpus: &Corpus, cfg: &TrainConfig, ckpt: Option<&Checkpointing>, stop_after: Option<usize>) -> anyhow::Result<Trained> {
    let unit = match cfg.method {
        TrainMethod::Sgns => "words",
        TrainMethod::Glove => "pairs",
    };
    let mut bar: Option<indicatif::ProgressBar> = None;
    let t = train::train_resumable(corpus, cfg, ckpt, &mut |p| {
        let b = bar.get_or_insert_with(|| {
            let b = super::progress::rate_bar(p.total, unit);
            // A resumed run starts part way: the rate and ETA count from here, not from 0.
            b.set_position(p.done);
            b.reset_eta();
            b
        });
        b.set_position(p.done);
        let eff = if p.effective > 0 { format!(", {:.0}k effective words/s", p.effective as f64 / p.seconds.max(1e-9) / 1e3) } else { String::new() };
        b.set_message(format!("loss {:.4}{eff}", p.loss));
        match p.checkpoint {
            Some(epochs) if stop_after.is_some_and(|s| epochs >= s) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(t)
}

fn analogy_file(v: &WordVectors, file: &Path, method: Method, restrict: usize, threads: usize, json: bool) -> anyhow::Result<()> {
    let set = AnalogySet::read(file)?;
    let s = eval::evaluate_analogies(v, &set, method, Some(restrict), threads.max(1));
    if !json {
        for sec in &s.sections {
            println!("  {:<30} {:>6.2}%  ({} of {} answered)", sec.section, 100.0 * sec.accuracy, sec.answered, sec.total);
        }
        println!(
            "{}: {:.2}% correct of {} answered; coverage {:.1}% of {} (vocabulary {}, {:?})",
            file.display(),
            100.0 * s.accuracy,
            s.answered,
            100.0 * s.coverage,
            s.n,
            s.vocab,
            method
        );
    }
    let mut line = serde_json::to_value(&s)?;
    if let Some(o) = line.as_object_mut() {
        o.remove("sections");
        o.insert("sections".into(), serde_json::to_value(&s.sections)?);
    }
    println!("{line}");
    Ok(())
}
