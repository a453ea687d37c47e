//! Corpus files: `*` patterns, gzip or plain text, checked to be text, read line by line.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::WordsError;

/// The default corpus, relative to the project root.
pub const DEFAULT_CORPUS: &str = "../shared/data/corpus/*.txt.gz";

/// Expands each pattern (a `*` or `?` is allowed in the file name, not in directories) into
/// the matching files, sorted so the same arguments always give the same order.
/// A pattern that matches nothing, or a plain path that does not exist, is an error.
pub fn expand(patterns: &[String]) -> Result<Vec<PathBuf>, WordsError> {
    let mut out = Vec::new();
    for pattern in patterns {
        let path = Path::new(pattern);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !name.contains(['*', '?']) {
            if !path.is_file() {
                return Err(WordsError::Corpus(format!("{pattern}: no such file")));
            }
            out.push(path.to_path_buf());
            continue;
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let entries = std::fs::read_dir(dir).map_err(|e| WordsError::Corpus(format!("{pattern}: cannot list {}: {e}", dir.display())))?;
        let mut matched: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file() && glob_match(&name, &e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .collect();
        if matched.is_empty() {
            return Err(WordsError::Corpus(format!("{pattern}: no file matches")));
        }
        matched.sort();
        out.extend(matched);
    }
    if out.is_empty() {
        return Err(WordsError::Corpus("no corpus files given".into()));
    }
    Ok(out)
}

/// `*` matches any run of characters, `?` any one character.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Calls `f` with every line of the file (gzip if its first bytes say so). Fails on a NUL
/// byte or when most lines are not UTF-8: that is a binary file, not a corpus.
pub fn for_each_line(path: &Path, mut f: impl FnMut(&str)) -> Result<(), WordsError> {
    let io = |e: std::io::Error| WordsError::Io { path: path.to_path_buf(), source: e };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let got = file.read(&mut magic).map_err(io)?;
    drop(file);
    let file = std::fs::File::open(path).map_err(io)?;
    let reader: Box<dyn Read> =
        if got == 2 && magic == [0x1f, 0x8b] { Box::new(flate2::read::MultiGzDecoder::new(file)) } else { Box::new(file) };
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut bytes = Vec::new();
    let mut line_no = 0usize;
    let mut invalid = 0usize;
    loop {
        bytes.clear();
        let n = reader.read_until(b'\n', &mut bytes).map_err(io)?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let not_text = || WordsError::Corpus(format!("{} line {line_no}: not text (NUL bytes or mostly not UTF-8)", path.display()));
        if bytes.contains(&0) {
            return Err(not_text());
        }
        match std::str::from_utf8(&bytes) {
            Ok(line) => f(line),
            Err(_) => {
                // Real corpora hold the odd stray Latin-1 byte (the speeches do): such a line
                // is read with U+FFFD in its place. A file where over a tenth of the lines
                // are broken is not a text corpus.
                invalid += 1;
                if invalid > 20 && invalid * 10 > line_no {
                    return Err(not_text());
                }
                f(&String::from_utf8_lossy(&bytes));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("*.txt.gz", "wiki.txt.gz"));
        assert!(!glob_match("*.txt.gz", "wiki.txt"));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("?", ""));
    }

    #[test]
    fn reads_plain_and_gzip_and_rejects_binary() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "one two\nthree\n").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"four five\n").unwrap();
        std::fs::write(dir.path().join("b.txt.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(dir.path().join("c.bin"), [0u8, 1, 2, 255, 254]).unwrap();
        let latin1: Vec<u8> = (0..100).flat_map(|_| [b'a', 0xe9, b'\n']).collect();
        std::fs::write(dir.path().join("d.bin"), latin1).unwrap();
        std::fs::write(dir.path().join("e.text"), b"caf\xe9 ok\nfine\n").unwrap();
        let files = expand(&[format!("{}/[ab].txt*", dir.path().display()).replace("[ab]", "?")]).unwrap();
        assert_eq!(files.len(), 2);
        let mut lines = Vec::new();
        for f in &files {
            for_each_line(f, |l| lines.push(l.trim().to_string())).unwrap();
        }
        assert_eq!(lines, ["one two", "three", "four five"]);
        let e = for_each_line(&dir.path().join("c.bin"), |_| {}).unwrap_err();
        assert!(e.to_string().contains("not text"), "{e}");
        assert!(for_each_line(&dir.path().join("d.bin"), |_| {}).unwrap_err().to_string().contains("not text"));
        let mut got = Vec::new();
        for_each_line(&dir.path().join("e.text"), |l| got.push(l.trim().to_string())).unwrap();
        assert_eq!(got, ["caf\u{FFFD} ok", "fine"]);
        let e = expand(&[format!("{}/*.none", dir.path().display())]).unwrap_err();
        assert!(e.to_string().contains("no file matches"), "{e}");
        assert!(expand(&[format!("{}/missing.txt", dir.path().display())]).is_err());
    }
}
