//! Finding and reading training data: `../shared/data` by default, any path on request.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::ModelError;

/// Where shared corpora live: `$SEQLAB_DATA`, else `../shared/data` seen from the working
/// directory, else from the source tree (so `cargo run` works from any directory).
pub fn shared_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SEQLAB_DATA") {
        return PathBuf::from(dir);
    }
    let from_cwd = PathBuf::from("../shared/data");
    if from_cwd.is_dir() {
        return from_cwd;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

/// Reads a UTF-8 text file, decompressing it if its name ends in `.gz`.
pub fn read_text(path: &Path) -> Result<String, ModelError> {
    let io = |source| ModelError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    let result = if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text)
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text)
    };
    result.map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => {
            ModelError::Data { path: path.to_path_buf(), reason: "is not UTF-8 text (or not valid gzip)".into() }
        }
        _ => io(e),
    })?;
    Ok(text)
}

/// One lower-cased name per non-empty line (the course lower-cases the dinosaur names).
pub fn read_names(path: &Path) -> Result<Vec<String>, ModelError> {
    let names: Vec<String> =
        read_text(path)?.lines().map(|l| l.trim().to_lowercase()).filter(|l| !l.is_empty()).collect();
    if names.is_empty() {
        return Err(ModelError::Data { path: path.to_path_buf(), reason: "holds no names (one per line expected)".into() });
    }
    Ok(names)
}

/// The works of one author from a Gutenberg-style file where each book starts with a line
/// `[Title by Author Year]`. `None` keeps the whole file.
pub fn read_books(path: &Path, author: Option<&str>) -> Result<String, ModelError> {
    let text = read_text(path)?;
    let Some(author) = author else {
        return non_empty(path, text);
    };
    let mut keep = false;
    let mut out = String::new();
    for line in text.lines() {
        if let Some(header) = book_header(line) {
            keep = header.contains(author);
            continue;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    if out.is_empty() {
        return Err(ModelError::Data { path: path.to_path_buf(), reason: format!("has no book by '{author}'") });
    }
    Ok(out)
}

fn non_empty(path: &Path, text: String) -> Result<String, ModelError> {
    if text.trim().is_empty() {
        return Err(ModelError::Data { path: path.to_path_buf(), reason: "is empty".into() });
    }
    Ok(text)
}

/// `[Hamlet by William Shakespeare 1599]` -> `Some("Hamlet by William Shakespeare 1599")`;
/// bracketed stage directions and notes (no " by ", no closing year) are not headers.
fn book_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    let year = inner.rsplit(' ').next()?;
    (inner.contains(" by ") && year.len() == 4 && year.chars().all(|c| c.is_ascii_digit())).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn books_by_author_from_plain_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let body = "[Emma by Jane Austen 1816]\nEmma text\n[Hamlet by William Shakespeare 1599]\nTo be\n[Exit Ghost]\nor not\n[Poems by William Blake 1789]\nTyger\n";
        let plain = dir.path().join("g.txt");
        std::fs::write(&plain, body).unwrap();
        let gz = dir.path().join("g.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(body.as_bytes()).unwrap();
        enc.finish().unwrap();
        for p in [&plain, &gz] {
            assert_eq!(read_books(p, Some("William Shakespeare")).unwrap(), "To be\n[Exit Ghost]\nor not\n");
            assert!(read_books(p, Some("Nobody")).is_err());
        }
    }

    #[test]
    fn names_are_lowercased_and_empty_files_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.txt");
        std::fs::write(&p, "Aardonyx\n\n  Abelisaurus \n").unwrap();
        assert_eq!(read_names(&p).unwrap(), vec!["aardonyx", "abelisaurus"]);
        std::fs::write(&p, "\n \n").unwrap();
        assert!(read_names(&p).unwrap_err().to_string().contains("no names"));
        std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        assert!(read_names(&p).unwrap_err().to_string().contains("UTF-8"));
        assert!(read_names(&dir.path().join("absent.txt")).is_err());
    }
}
