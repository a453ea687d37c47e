//! `seqlab emojify` as a user meets it: a sentence alongside the eval/train subcommands,
//! eval's JSON last line, and clear errors for bad input.

mod common;

use common::{assert_clear_error, seqlab};

#[test]
fn a_sentence_gives_an_emoji_probabilities_and_unknown_words() {
    for model in ["v1", "v2", "v3"] {
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
    assert_clear_error(&["emojify", ""], "no words");
    assert_clear_error(&["emojify", "qwzx zzxq"], "qwzx, zzxq");
    // one argument is capped at 128 KiB by the OS; the 1 MB line is tested in the library
    assert_clear_error(&["emojify", &"love ".repeat(20_000)], "more than");
    assert_clear_error(&["emojify"], "give a sentence");
    assert_clear_error(&["emojify", "hi", "--model", "v4"], "v1, v2 or v3");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "fine,1\nnot fine,9\n").unwrap();
    assert_clear_error(&["emojify", "eval", bad.to_str().unwrap()], "line 2");
    let empty = dir.path().join("empty.tsv");
    std::fs::write(&empty, "").unwrap();
    assert_clear_error(&["emojify", "eval", empty.to_str().unwrap()], "no sentences");
    assert_clear_error(&["emojify", "eval", dir.path().join("none.tsv").to_str().unwrap()], "none.tsv");
    // a model of another lab is named, not misread
    assert_clear_error(&["emojify", "hi", "--weights", "assets/dates.safetensors"], "emojify-v1, emojify-v2 or emojify-v3");
    // other vectors than the model's: the fingerprint check
    let vec = dir.path().join("v.txt");
    std::fs::write(&vec, "love 1 0\nfood 0 1\n").unwrap();
    assert_clear_error(&["emojify", "love", "--vectors", vec.to_str().unwrap()], "other word vectors");
    // absurd v3 settings and fold counts stop before any data is read
    assert_clear_error(&["emojify", "train", "--model", "v3", "--l2=-1", "--data", bad.to_str().unwrap()], "l2 must be");
    let tiny_set = dir.path().join("t.tsv");
    std::fs::write(&tiny_set, "sentence\tlabel\nI love you\t0\n").unwrap();
    let none = ["--extra", "none", "--dev", "none", "--vectors", vec.to_str().unwrap()];
    assert_clear_error(&[&["emojify", "train", "--model", "v3", "--cv", "1", "--data", tiny_set.to_str().unwrap()][..], &none[..]].concat(), "folds");
}
