//! `seqlab emojify` as a user meets it: a sentence alongside the eval/train subcommands,
//! eval's JSON last line, and clear errors for bad input.

use std::process::{Command, Output};

fn seqlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seqlab")).args(args).output().expect("run seqlab")
}

fn fails_with(args: &[&str], needle: &str) {
    let out = seqlab(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: expected '{needle}' in: {stderr}");
}

#[test]
fn a_sentence_gives_an_emoji_probabilities_and_unknown_words() {
    for model in ["v1", "v2"] {
        let out = seqlab(&["emojify", "let's have pizza for dinner, qwzx", "--model", model]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(stdout.matches('%').count(), 5, "{stdout}");
        assert!(stdout.contains("unknown words (skipped): qwzx"), "{stdout}");
    }
}

#[test]
fn eval_prints_a_json_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("e.tsv");
    std::fs::write(&tsv, "sentence\tlabel\nI love you so much\t0\nwe had pasta for dinner\t4\n").unwrap();
    let csv = dir.path().join("e.csv");
    std::fs::write(&csv, "\"I love you so much\t\",0\r\nwe had pasta for dinner,4,,\r\n").unwrap();
    for f in [&tsv, &csv] {
        let out = seqlab(&["emojify", "eval", f.to_str().unwrap(), "--json", "--model", "v2"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("confusion matrix"));
        let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(last["n"], 2);
        assert!(last["accuracy"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    fails_with(&["emojify", ""], "no words");
    fails_with(&["emojify", "qwzx zzxq"], "qwzx, zzxq");
    // one argument is capped at 128 KiB by the OS; the 1 MB line is tested in the library
    fails_with(&["emojify", &"love ".repeat(20_000)], "more than");
    fails_with(&["emojify"], "give a sentence");
    fails_with(&["emojify", "hi", "--model", "v3"], "v1 or v2");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "fine,1\nnot fine,9\n").unwrap();
    fails_with(&["emojify", "eval", bad.to_str().unwrap()], "line 2");
    let empty = dir.path().join("empty.tsv");
    std::fs::write(&empty, "").unwrap();
    fails_with(&["emojify", "eval", empty.to_str().unwrap()], "no sentences");
    fails_with(&["emojify", "eval", dir.path().join("none.tsv").to_str().unwrap()], "none.tsv");
    // a model of another lab is named, not misread
    fails_with(&["emojify", "hi", "--weights", "assets/dates.safetensors"], "emojify-v1 or emojify-v2");
    // other vectors than the model's: the fingerprint check
    let vec = dir.path().join("v.txt");
    std::fs::write(&vec, "love 1 0\nfood 0 1\n").unwrap();
    fails_with(&["emojify", "love", "--vectors", vec.to_str().unwrap()], "other word vectors");
}
