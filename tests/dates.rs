//! The date translator end to end on data the tests make: training learns, a resumed run
//! equals an uninterrupted one, and every bad input the issue lists gets a clear answer.

use std::ops::ControlFlow;
use std::process::{Command, Output};

use seqlab::models::dates::data::{self, Style};
use seqlab::models::dates::model::{Nmt, NmtConfig};
use seqlab::models::dates::train::{self, TrainConfig};
use seqlab::models::dates::translate::translate;
use seqlab::nn::Module;

fn seqlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seqlab")).args(args).output().expect("run seqlab")
}

fn small_config() -> TrainConfig {
    TrainConfig {
        model: NmtConfig { n_a: 16, n_s: 32, ..NmtConfig::default() },
        epochs: 3,
        epoch_size: 3_000,
        val_size: 300,
        batch: 50,
        lr: 1e-2,
        style: Style::Course,
        seed: 3,
        ..TrainConfig::default()
    }
}

fn params(model: &mut Nmt<f32>) -> Vec<f32> {
    let mut all = Vec::new();
    model.visit("", &mut |_, p| all.extend(p.value.iter().copied()));
    all
}

/// A small model trained briefly must already beat chance by far on per-symbol accuracy
/// (chance is about 1/11); and stopping after an epoch and resuming from the checkpoint must
/// end bit-identical to running straight through.
#[test]
fn training_learns_and_resumes_exactly() {
    let cfg = small_config();
    let mut straight = Nmt::new(cfg.model, cfg.seed).unwrap();
    let summary = train::train(&mut straight, &cfg, None, &mut |_| ControlFlow::Continue(())).unwrap();
    let val = summary.val.unwrap();
    assert!(val.char_accuracy > 0.6, "per-symbol accuracy {:.3} after training", val.char_accuracy);

    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("dates.ckpt");
    let mut first = Nmt::new(cfg.model, cfg.seed).unwrap();
    let mut epochs_seen = 0;
    train::train(&mut first, &cfg, Some(&ckpt), &mut |e| {
        if let train::Event::Epoch { .. } = e {
            epochs_seen += 1;
            if epochs_seen == 1 {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    let mut resumed = Nmt::new(cfg.model, cfg.seed).unwrap();
    train::train(&mut resumed, &cfg, Some(&ckpt), &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(params(&mut resumed), params(&mut straight));
}

/// Bad inputs answer without a panic: empty, spaces only, too long, unseen characters, a
/// non-date (answered, with a confidence the caller can read).
#[test]
fn bad_inputs_to_translate() {
    let model = Nmt::<f32>::new(NmtConfig::default(), 1).unwrap();
    assert!(translate(&model, "", 1).unwrap_err().to_string().contains("empty"));
    assert!(translate(&model, "   \t ", 1).unwrap_err().to_string().contains("empty"));
    let long = "the twenty-first of september, 2021";
    assert!(translate(&model, long, 1).unwrap_err().to_string().contains("at most 30"));
    let t = translate(&model, "3 märz 2021 ☃", 2).unwrap();
    assert_eq!(t.unknown, vec!['ä', '☃']);
    let t = translate(&model, "hello world", 1).unwrap();
    assert!((0.0..=1.0).contains(&t.confidence()));
    assert!(translate(&model, "1 may 2000", 0).is_err());
}

/// The CLI: a generated TSV evaluates with the contracted JSON keys; malformed TSVs,
/// missing and corrupt weights give a one-line error.
#[test]
fn cli_eval_contract_and_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("d.tsv");
    let out = seqlab(&["dates", "generate", "50", "--style", "course", "--out", tsv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(data::read_tsv(&tsv).unwrap().len(), 50);
    let out = seqlab(&["dates", "eval", tsv.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for key in ["exact", "char_accuracy", "n", "dates_per_sec", "bleu"] {
        assert!(last.get(key).is_some(), "missing {key} in {last}");
    }
    assert_eq!(last["n"], 50);

    let bad = dir.path().join("bad.tsv");
    std::fs::write(&bad, "date\tiso\n1 may 2000\t2000-05-01\n").unwrap();
    let fail = |args: &[&str]| {
        let out = seqlab(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success() && !stderr.contains("panicked"), "{args:?}: {stderr}");
        stderr
    };
    assert!(fail(&["dates", "eval", bad.to_str().unwrap()]).contains("header"));
    let corrupt = dir.path().join("corrupt.safetensors");
    std::fs::write(&corrupt, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
    assert!(fail(&["dates", "translate", "1 may 2000", "--model", corrupt.to_str().unwrap()]).contains("corrupt.safetensors"));
    assert!(fail(&["dates", "translate", "1 may 2000", "--model", "/nonexistent/m.safetensors"]).contains("/nonexistent/m.safetensors"));
    assert!(fail(&["dates", "translate", "", "--beam", "3"]).contains("empty"));
    assert!(fail(&["dates", "translate", "1 may 2000", "--beam", "0"]).contains("beam width"));
    assert!(fail(&["dates", "generate", "0", "--out", tsv.to_str().unwrap()]).contains("1..="));
}
