#![allow(dead_code)] // each test binary uses its own subset of these helpers

//! Small data the tests make, so they never need ../shared, and running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the seqlab binary built for these tests.
pub fn seqlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seqlab")).args(args).output().expect("run seqlab")
}

/// Fails with a message naming `needle`, and no panic.
pub fn assert_clear_error(args: &[&str], needle: &str) {
    let out = seqlab(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: expected '{needle}' in: {stderr}");
}

/// 120 made-up dinosaur-like names from a seeded mix of syllables.
pub fn names() -> Vec<String> {
    let starts = ["ab", "bra", "cer", "dip", "eo", "gal", "ig", "lam", "mega", "pro", "stego", "tri"];
    let ends = ["saurus", "don", "raptor", "ceratops", "mimus", "venator", "titan", "odon", "ops", "nyx"];
    (0..120).map(|i| format!("{}{}{}", starts[i % starts.len()], ["", "o", "a"][i % 3], ends[(i * 7) % ends.len()])).collect()
}

pub fn write_names(dir: &Path) -> PathBuf {
    let path = dir.join("names.txt");
    std::fs::write(&path, names().join("\n")).expect("write test names");
    path
}
