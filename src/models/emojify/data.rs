//! Labelled sentences: the course's headerless CSV (`sentence,label`, quoted fields, stray
//! tabs and trailing commas) and seqlab's TSV with a `sentence<TAB>label` header.

use std::path::{Path, PathBuf};

use super::{EmojifyError, NUM_CLASSES};

/// One sentence and its class (0..5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    pub sentence: String,
    pub label: usize,
}

/// Reads `path` as TSV when its first line is the header `sentence<TAB>label`, otherwise as
/// the course's CSV. Blank lines are skipped; any other line that does not parse, or a file
/// with no examples, is an error naming the file and the line.
pub fn read(path: &Path) -> Result<Vec<Example>, EmojifyError> {
    let bytes = std::fs::read(path).map_err(|source| EmojifyError::Io { path: path.to_path_buf(), source })?;
    let text = String::from_utf8(bytes).map_err(|e| EmojifyError::Data {
        path: path.to_path_buf(),
        line: 0,
        reason: format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
    })?;
    parse(path, &text)
}

/// [`read`] on text already in memory; `path` names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Example>, EmojifyError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let first = lines.clone().find(|(_, l)| !l.trim().is_empty());
    let is_tsv = first.is_some_and(|(_, l)| is_tsv_header(l));
    let bad = |line: usize, reason: String| EmojifyError::Data { path: path.to_path_buf(), line, reason };
    let mut out = Vec::new();
    if is_tsv {
        // skip up to and including the header
        for (_, l) in lines.by_ref() {
            if !l.trim().is_empty() {
                break;
            }
        }
    }
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let (sentence, label) = if is_tsv { split_tsv(line) } else { split_csv(line) }.map_err(|r| bad(n, r))?;
        let label = parse_label(label).map_err(|r| bad(n, r))?;
        let sentence = sentence.trim();
        if sentence.is_empty() {
            return Err(bad(n, "the sentence is empty".into()));
        }
        out.push(Example { sentence: sentence.to_string(), label });
    }
    if out.is_empty() {
        return Err(EmojifyError::Empty { path: path.to_path_buf() });
    }
    Ok(out)
}

fn is_tsv_header(line: &str) -> bool {
    let mut f = line.split('\t').map(|s| s.trim().to_ascii_lowercase());
    f.next().as_deref() == Some("sentence") && f.next().as_deref() == Some("label")
}

fn split_tsv(line: &str) -> Result<(String, &str), String> {
    let mut f = line.split('\t');
    match (f.next(), f.next(), f.next()) {
        (Some(s), Some(l), None) => Ok((s.to_string(), l)),
        (_, None, _) => Err("expected `sentence<TAB>label`, found no tab".into()),
        _ => Err("expected two tab-separated fields, found more (a tab inside the sentence?)".into()),
    }
}

/// `sentence,label[,anything]`: the sentence may be double-quoted (with `""` for a quote,
/// and then it may contain commas); whatever follows the label is ignored, as the course's
/// files end rows with `,,` and sometimes a note.
fn split_csv(line: &str) -> Result<(String, &str), String> {
    let (sentence, rest) = if let Some(body) = line.trim_start().strip_prefix('"') {
        let mut s = String::new();
        let mut chars = body.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if body[i + 1..].starts_with('"') {
                    s.push('"');
                    chars.next();
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                s.push(c);
            }
        }
        let end = end.ok_or("a quoted sentence has no closing quote")?;
        let rest = body[end..].trim_start();
        let rest = rest.strip_prefix(',').ok_or("expected a comma after the closing quote")?;
        (s, rest)
    } else {
        let (s, rest) = line.split_once(',').ok_or("expected `sentence,label`, found no comma")?;
        (s.to_string(), rest)
    };
    Ok((sentence, rest.split(',').next().unwrap_or("")))
}

fn parse_label(field: &str) -> Result<usize, String> {
    let f = field.trim();
    match f.parse::<usize>() {
        Ok(l) if l < NUM_CLASSES => Ok(l),
        Ok(l) => Err(format!("label {l} is outside 0-{}", NUM_CLASSES - 1)),
        Err(_) if f.is_empty() => Err("the label is missing".into()),
        Err(_) => Err(format!("label {f:?} is not a number 0-{} (quote sentences that contain commas)", NUM_CLASSES - 1)),
    }
}

/// Writes examples as TSV with a header, atomically. Tabs and line breaks inside a sentence
/// become spaces, so the file always reads back.
pub fn write_tsv(path: &Path, examples: &[Example]) -> Result<(), EmojifyError> {
    let mut s = String::from("sentence\tlabel\n");
    for e in examples {
        let clean: String = e.sentence.chars().map(|c| if c == '\t' || c == '\n' || c == '\r' { ' ' } else { c }).collect();
        s.push_str(&format!("{clean}\t{}\n", e.label));
    }
    crate::atomic::write_atomic(path, s.as_bytes()).map_err(|source| EmojifyError::Io { path: PathBuf::from(path), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Example>, EmojifyError> {
        parse(Path::new("t.csv"), text)
    }

    fn ex(s: &str, l: usize) -> Example {
        Example { sentence: s.into(), label: l }
    }

    /// The course's quirks: CRLF, trailing `,,` and notes, quoted fields ending in a tab,
    /// a space before the comma, no final newline.
    #[test]
    fn course_csv() {
        let text = "never talk to me again,3,,\r\nMiss you so much,0,, [0]\r\n\"I want to eat\t\",4\r\n\r\nI did not have breakfast ,4";
        let got = p(text).unwrap();
        assert_eq!(got, vec![ex("never talk to me again", 3), ex("Miss you so much", 0), ex("I want to eat", 4), ex("I did not have breakfast", 4)]);
    }

    #[test]
    fn quoted_commas_and_quotes() {
        let got = p("\"yes, I \"\"love\"\" you\",0\n").unwrap();
        assert_eq!(got, vec![ex("yes, I \"love\" you", 0)]);
    }

    #[test]
    fn tsv_with_header() {
        let got = p("sentence\tlabel\nlet's play ball\t1\n\ndinner, at last!\t4\n").unwrap();
        assert_eq!(got, vec![ex("let's play ball", 1), ex("dinner, at last!", 4)]);
    }

    #[test]
    fn errors_name_the_line() {
        let msg = |t: &str| p(t).unwrap_err().to_string();
        assert!(msg("ok,1\nbad,7\n").contains("line 2"), "{}", msg("ok,1\nbad,7\n"));
        assert!(msg("ok,1\nbad,7\n").contains("outside 0-4"));
        assert!(msg("no comma here\n").contains("line 1"));
        assert!(msg("yes, I love you,0\n").contains("not a number"));
        assert!(msg("\"open quote,1\n").contains("closing quote"));
        assert!(msg("x,\n").contains("missing"));
        assert!(msg(" ,2\n").contains("empty"));
        assert!(msg("sentence\tlabel\na\tb\tc\n").contains("line 2"));
        assert!(msg("sentence\tlabel\nno tab\n").contains("no tab"));
        assert!(msg("x,-1\n").contains("not a number"));
    }

    #[test]
    fn empty_files_are_errors() {
        assert!(matches!(p(""), Err(EmojifyError::Empty { .. })));
        assert!(matches!(p("\n\r\n  \n"), Err(EmojifyError::Empty { .. })));
        assert!(matches!(p("sentence\tlabel\n"), Err(EmojifyError::Empty { .. })));
    }

    #[test]
    fn tsv_round_trip() {
        let dir = std::env::temp_dir().join(format!("seqlab-emojify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rt.tsv");
        let v = vec![ex("a\ttabbed, \"quoted\" one", 2), ex("food", 4)];
        write_tsv(&path, &v).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back, vec![ex("a tabbed, \"quoted\" one", 2), ex("food", 4)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn not_utf8() {
        let dir = std::env::temp_dir().join(format!("seqlab-emojify-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.csv");
        std::fs::write(&path, [0xff, 0xfe, 0x00, 0x41]).unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("UTF-8"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
