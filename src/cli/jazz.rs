use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::audio::play::Playback;
use crate::models::jazz::generate::{GenConfig, Generated, generate};
use crate::models::jazz::model::JazzLstm;
use crate::models::jazz::train::{self as jtrain, Corpus, TrainConfig, TrainEvent};
use crate::models::jazz;
use crate::music::synth::{self, Engine, SAMPLE_RATE};
use crate::music::theory::{Key, Progression};
use crate::music::{midi, wjazzd};

const DEFAULT_DATA: &str = "../shared/data/jazz/wjazzd_v1_2";

/// Settings shared by `generate` and `play`.
#[derive(Args, Clone, Debug)]
pub struct GenArgs {
    /// Length of the piece
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// blues, minor-blues, ii-v-i, minor-ii-v-i, rhythm, or chord symbols ("Dm7 G7 Cmaj7", or with bar lines "Dm7 G7 | Cmaj7")
    #[arg(long, default_value = "blues")]
    progression: String,
    /// Key of a built-in progression (C, Bb, F#m, ...); typed chords are played as written
    #[arg(long, default_value = "F")]
    key: String,
    /// Beats per minute
    #[arg(long, default_value_t = 160.0)]
    tempo: f64,
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Sample only among the K most likely events
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A MIDI file whose first part's notes open the piece and prime the model
    #[arg(long)]
    primer: Option<PathBuf>,
    /// Melody only, no piano, bass or drums
    #[arg(long)]
    no_accompaniment: bool,
    /// Weights file [default: the shipped model]
    #[arg(long)]
    model: Option<PathBuf>,
    /// SoundFont for --wav / play [default: TimGM6mb, else FluidR3_GM, else a built-in synth]
    #[arg(long)]
    soundfont: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Action {
    /// Improvise over a progression and write a Standard MIDI File (and optionally a WAV).
    Generate {
        #[command(flatten)]
        gen_args: GenArgs,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        wav: Option<PathBuf>,
    },
    /// Improvise and play it through the speakers (files are written first when asked).
    Play {
        #[command(flatten)]
        gen_args: GenArgs,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        wav: Option<PathBuf>,
    },
    /// Train on the WJazzD solos (defaults reproduce the shipped model).
    Train {
        /// Folder holding score_csv.zip and df_solos.csv
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        #[arg(long, default_value_t = TrainConfig::default().epochs)]
        epochs: usize,
        #[arg(long, default_value_t = TrainConfig::default().model.hidden)]
        hidden: usize,
        #[arg(long, default_value_t = TrainConfig::default().window)]
        window: usize,
        #[arg(long, default_value_t = TrainConfig::default().batch)]
        batch: usize,
        #[arg(long, default_value_t = TrainConfig::default().lr)]
        lr: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "assets/jazz.safetensors")]
        out: PathBuf,
    },
    /// Validation NLL per event (LSTM and bigram) and harmony fit (generated vs corpus).
    Eval {
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        #[arg(long)]
        model: Option<PathBuf>,
        /// Pieces generated per built-in progression for the harmony fit
        #[arg(long, default_value_t = 4)]
        pieces: usize,
        #[arg(long)]
        json: bool,
    },
    /// Time generating 60 s of music and rendering it (ours and rustysynth alone).
    Bench {
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long)]
        soundfont: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(action: Action) -> anyhow::Result<()> {
    match action {
        Action::Generate { gen_args, out, wav } => {
            let (g, engine) = make(&gen_args)?;
            write_files(&g, Some(&out), wav.as_deref(), &engine)?;
            Ok(())
        }
        Action::Play { gen_args, out, wav } => {
            let (g, engine) = make(&gen_args)?;
            let audio = write_files(&g, out.as_deref(), wav.as_deref(), &engine)?;
            let audio = match audio {
                Some(a) => a,
                None => synth::render(&g.song, &engine, SAMPLE_RATE)?,
            };
            eprintln!("playing {:.1} s ({})", audio.seconds(), engine.describe());
            let playback = Playback::start(audio.interleaved(), 2, audio.sample_rate)?;
            playback.wait();
            Ok(())
        }
        Action::Train { data, epochs, hidden, window, batch, lr, seed, out } => {
            let mut cfg = TrainConfig { epochs, window, batch, lr, seed, ..TrainConfig::default() };
            cfg.model.hidden = hidden;
            train(&data, &cfg, &out)
        }
        Action::Eval { data, model, pieces, json } => eval(&data, model.as_deref(), pieces, json),
        Action::Bench { runs, soundfont, json } => bench(runs, soundfont.as_deref(), json),
    }
}

fn gen_config(a: &GenArgs) -> anyhow::Result<GenConfig> {
    let key: Key = a.key.parse()?;
    let progression = Progression::from_arg(&a.progression, key)?;
    let primer = match &a.primer {
        Some(p) => {
            let song = midi::read(p)?;
            let part = song.parts.into_iter().find(|p| p.channel != 9).context("the primer has no pitched part")?;
            part.notes
        }
        None => Vec::new(),
    };
    let cfg = GenConfig {
        progression,
        tempo_bpm: a.tempo,
        seconds: a.seconds,
        temperature: a.temperature,
        top_k: a.top_k,
        seed: a.seed,
        primer,
        accompaniment: !a.no_accompaniment,
    };
    cfg.validate()?;
    Ok(cfg)
}

fn make(a: &GenArgs) -> anyhow::Result<(Generated, Engine)> {
    let cfg = gen_config(a)?;
    let model = jazz::load_model(a.model.as_deref())?;
    let g = generate(&model, &cfg)?;
    let engine = Engine::load(a.soundfont.as_deref())?;
    let notes = g.song.parts[0].notes.len();
    eprintln!(
        "{notes} melody notes over {} chords at {} bpm; on-beat notes in the chord's scale: {:.1}% of {}",
        cfg.progression.spans.len(),
        cfg.tempo_bpm,
        100.0 * g.harmony_fit.0,
        g.harmony_fit.1
    );
    Ok((g, engine))
}

/// Writes the MIDI and, if asked, the WAV; returns the rendered audio when there is one.
fn write_files(g: &Generated, mid: Option<&Path>, wav: Option<&Path>, engine: &Engine) -> anyhow::Result<Option<synth::Audio>> {
    if let Some(out) = mid {
        midi::write(out, &g.song)?;
        println!("wrote {}", out.display());
    }
    if let Some(w) = wav {
        let bar = super::progress::bar(1);
        bar.set_message(format!("rendering with {}", engine.describe()));
        let audio = synth::render(&g.song, engine, SAMPLE_RATE)?;
        bar.finish_and_clear();
        synth::write_wav(w, &audio)?;
        println!("wrote {} ({:.1} s, {})", w.display(), audio.seconds(), engine.describe());
        return Ok(Some(audio));
    }
    Ok(None)
}

fn load_corpus(dir: &Path, val_every: usize) -> anyhow::Result<Corpus> {
    let (solos, skipped) = wjazzd::read_corpus(&dir.join("score_csv.zip"), &dir.join("df_solos.csv"))
        .with_context(|| format!("reading the WJazzD solos in {} (pass --data)", dir.display()))?;
    if skipped > 0 {
        eprintln!("{} solos read; {skipped} skipped (no tempo in df_solos.csv)", solos.len());
    }
    Ok(Corpus::from_solos(&solos, val_every)?)
}

fn train(data_dir: &Path, cfg: &TrainConfig, out: &Path) -> anyhow::Result<()> {
    cfg.validate()?;
    let corpus = load_corpus(data_dir, cfg.val_every)?;
    let mut model = JazzLstm::<f32>::new(cfg.model, cfg.seed)?;
    let checkpoint = super::dinos::checkpoint_path(out);
    super::announce_resume(&checkpoint);
    println!(
        "training an LSTM (H = {}) on {} solos ({} events), validating on {} held-out solos; bigram baseline {:.4} nats/event",
        cfg.model.hidden,
        corpus.train.len(),
        corpus.train_events(),
        corpus.val.len(),
        jtrain::bigram_val_nll(&corpus).unwrap_or(f64::NAN)
    );
    let windows: usize = corpus.train.iter().map(|s| s.len().div_ceil(cfg.window)).sum();
    let bar = super::progress::bar((cfg.epochs * windows) as u64);
    let say = |line: String| if bar.is_hidden() { println!("{line}") } else { bar.println(line) };
    let summary = jtrain::train(&mut model, &corpus, cfg, Some(&checkpoint), &mut |event| {
        match event {
            TrainEvent::Progress { epoch, done, loss, .. } => {
                bar.set_position((epoch * windows + done) as u64);
                bar.set_message(format!("epoch {} nll {loss:.4}", epoch + 1));
            }
            TrainEvent::Epoch { epoch, train_nll, val_nll, seconds } => {
                let v = val_nll.map(|v| format!(", validation {v:.4} nats/event")).unwrap_or_default();
                say(format!("epoch {}: train {train_nll:.4}{v} ({seconds:.1} s)", epoch + 1));
            }
        }
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();
    let mut meta = model.metadata();
    meta.insert("epochs".into(), cfg.epochs.to_string());
    meta.insert("val_nll".into(), summary.val_nll.map(|v| format!("{v:.4}")).unwrap_or_default());
    crate::nn::weights::save(out, &mut model, meta)?;
    std::fs::remove_file(&checkpoint).ok();
    println!("{:.0} events/s, {:.1} s; saved {}", summary.events_per_sec, summary.seconds, out.display());
    Ok(())
}

/// The built-in progressions the harmony fit is measured over, each at a typical tempo.
const EVAL_SET: [(&str, &str, f64); 3] = [("blues", "F", 160.0), ("ii-v-i", "Bb", 140.0), ("rhythm", "Bb", 200.0)];

fn eval(data_dir: &Path, model_path: Option<&Path>, pieces: usize, json: bool) -> anyhow::Result<()> {
    if pieces == 0 || pieces > 1000 {
        bail!("--pieces must be 1..=1000, got {pieces}");
    }
    let model = jazz::load_model(model_path)?;
    let corpus = load_corpus(data_dir, TrainConfig::default().val_every)?;
    let val = jtrain::val_nll(&model, &corpus.val)?.context("no validation solos")?;
    let bigram = jtrain::bigram_val_nll(&corpus).context("no validation solos")?;
    let (corpus_fit, corpus_n) = corpus.harmony_fit();
    let (mut fit, mut n) = (0usize, 0usize);
    for (name, key, tempo) in EVAL_SET {
        for seed in 0..pieces as u64 {
            let cfg = GenConfig { tempo_bpm: tempo, seed, ..GenConfig::new(Progression::built_in(name, key.parse()?)?) };
            let g = generate(&model, &cfg)?;
            fit += (g.harmony_fit.0 * g.harmony_fit.1 as f64).round() as usize;
            n += g.harmony_fit.1;
        }
    }
    let generated_fit = fit as f64 / n.max(1) as f64;
    let val_events: usize = corpus.val.iter().map(Vec::len).sum();
    if !json {
        println!("validation: {} held-out solos, {val_events} events", corpus.val.len());
        println!("  LSTM   {val:.4} nats/event (perplexity {:.1})", val.exp());
        println!("  bigram {bigram:.4} nats/event (perplexity {:.1})", bigram.exp());
        println!("harmony fit (on-beat notes that are chord or scale tones):");
        println!("  corpus    {:.1}% of {corpus_n} notes (against chords estimated from the notes)", 100.0 * corpus_fit);
        println!("  generated {:.1}% of {n} notes ({} pieces of 60 s)", 100.0 * generated_fit, pieces * EVAL_SET.len());
    }
    let line = serde_json::json!({
        "val_nll_per_event": val,
        "bigram_nll_per_event": bigram,
        "val_events": val_events,
        "val_solos": corpus.val.len(),
        "harmony_fit_generated": generated_fit,
        "harmony_fit_corpus": corpus_fit,
        "generated_notes": n,
        "corpus_notes": corpus_n,
    });
    println!("{line}");
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn bench(runs: usize, soundfont: Option<&Path>, json: bool) -> anyhow::Result<()> {
    if runs == 0 || runs > 10_000 {
        bail!("--runs must be 1..=10000, got {runs}");
    }
    let model = jazz::load_model(None)?;
    let cfg = GenConfig::new(Progression::built_in("blues", "F".parse()?)?);
    let mut gen_ms = Vec::new();
    let mut g = None;
    for seed in 0..runs as u64 {
        let t = Instant::now();
        let out = generate(&model, &GenConfig { seed, ..cfg.clone() })?;
        gen_ms.push(t.elapsed().as_secs_f64() * 1e3);
        g = Some(out);
    }
    let g = g.context("no run")?;
    let engine = Engine::load(soundfont)?;
    let t = Instant::now();
    let audio = synth::render(&g.song, &engine, SAMPLE_RATE)?;
    let ours = audio.seconds() / t.elapsed().as_secs_f64();
    let simple_audio_t = Instant::now();
    let simple = synth::render(&g.song, &Engine::Simple, SAMPLE_RATE)?;
    let simple_rtf = simple.seconds() / simple_audio_t.elapsed().as_secs_f64();
    let peer = match &engine {
        Engine::SoundFont { font, .. } => {
            let bytes = midi::to_bytes(&g.song)?;
            let t = Instant::now();
            let a = synth::render_midi_with_rustysynth(&bytes, font, SAMPLE_RATE)?;
            Some(a.seconds() / t.elapsed().as_secs_f64())
        }
        Engine::Simple => None,
    };
    let gen_median = median(gen_ms);
    if !json {
        println!("generating 60 s (blues in F, 160 bpm, with accompaniment): {gen_median:.2} ms (median of {runs})");
        println!("rendering with {}: {ours:.0}x real time", engine.describe());
        if let Some(p) = peer {
            println!("rustysynth alone (its MIDI sequencer, same song): {p:.0}x real time");
        }
        println!("built-in synthesiser: {simple_rtf:.0}x real time");
    }
    let line = serde_json::json!({
        "generate_ms_60s": gen_median,
        "melody_events": g.events.len(),
        "render_realtime_factor": ours,
        "rustysynth_alone_realtime_factor": peer,
        "simple_synth_realtime_factor": simple_rtf,
        "engine": engine.describe(),
        "runs": runs,
    });
    println!("{line}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> GenArgs {
        GenArgs {
            seconds: 10.0,
            progression: "blues".into(),
            key: "F".into(),
            tempo: 160.0,
            temperature: 1.0,
            top_k: None,
            seed: 0,
            primer: None,
            no_accompaniment: false,
            model: None,
            soundfont: None,
        }
    }

    #[test]
    fn bad_arguments_are_clear_errors() {
        let msg = |a: GenArgs| gen_config(&a).unwrap_err().to_string();
        assert!(msg(GenArgs { seconds: 0.0, ..args() }).contains("seconds"));
        assert!(msg(GenArgs { tempo: 0.0, ..args() }).contains("tempo"));
        assert!(msg(GenArgs { tempo: 10_000.0, ..args() }).contains("tempo"));
        assert!(msg(GenArgs { progression: "Dm7 G7 Hmaj7".into(), ..args() }).contains("\"Hmaj7\""));
        assert!(msg(GenArgs { key: "Q".into(), ..args() }).contains("key"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("primer.mid");
        std::fs::write(&p, b"MThd").unwrap();
        assert!(msg(GenArgs { primer: Some(p.clone()), ..args() }).contains("primer.mid"));
        std::fs::write(&p, b"").unwrap();
        assert!(msg(GenArgs { primer: Some(p), ..args() }).contains("empty"));
        assert!(gen_config(&args()).is_ok());
    }
}
