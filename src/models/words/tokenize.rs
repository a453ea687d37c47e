//! Word tokeniser: lower-case words, punctuation split off, apostrophes kept inside words.
//!
//! Rules (chosen so that the Google analogy words, the course's Emojify sentences and the
//! corpus agree on what a word is):
//! - letters and digits form words; everything is lower-cased;
//! - an apostrophe (`'` or the typographic `’`, which is normalised to `'`) stays when it has a
//!   letter or digit on both sides (`don't`, `o'clock`, `rock'n'roll`), otherwise it is a quote
//!   and is dropped (`'hello'` -> `hello`; `students'` -> `students`);
//! - `.` and `,` between two digits stay (`3.5`, `1,000`);
//! - every other visible character (`!`, `?`, `-`, `"`, ...) is a one-character token of its own,
//!   reported as punctuation so callers may drop it; white space separates and is never a token.

/// What a token is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Contains at least one letter or digit.
    Word,
    /// A single punctuation or symbol character.
    Punct,
}

/// Calls `f` with every token of `line`, lower-cased, in order. The token lives in a buffer
/// reused for the whole line, so tokenising a corpus allocates nothing per word.
pub fn for_each_token(line: &str, buf: &mut String, mut f: impl FnMut(&str, Kind)) {
    let chars: Vec<char> = if line.is_ascii() { Vec::new() } else { line.chars().map(normalise).collect() };
    // ASCII lines (nearly all of the corpus) are walked as bytes without building a char vector.
    let n = if line.is_ascii() { line.len() } else { chars.len() };
    let at = |i: usize| -> char { if chars.is_empty() { line.as_bytes()[i] as char } else { chars[i] } };
    buf.clear();
    let mut i = 0;
    while i < n {
        let c = at(i);
        if c.is_alphanumeric() {
            push_lower(buf, c);
        } else if buf.is_empty() {
            if !c.is_whitespace() && !c.is_control() && c != '\'' {
                let mut tmp = [0u8; 4];
                f(c.encode_utf8(&mut tmp), Kind::Punct);
            }
        } else {
            let next = if i + 1 < n { at(i + 1) } else { ' ' };
            let prev_digit = buf.chars().next_back().is_some_and(|p| p.is_ascii_digit());
            let joins = match c {
                '\'' => next.is_alphanumeric(),
                '.' | ',' => prev_digit && next.is_ascii_digit(),
                _ => false,
            };
            if joins {
                buf.push(c);
            } else {
                f(buf, Kind::Word);
                buf.clear();
                if !c.is_whitespace() && !c.is_control() && c != '\'' {
                    let mut tmp = [0u8; 4];
                    f(c.encode_utf8(&mut tmp), Kind::Punct);
                }
            }
        }
        i += 1;
    }
    if !buf.is_empty() {
        f(buf, Kind::Word);
        buf.clear();
    }
}

/// All tokens of `line` (words and punctuation) as owned strings; for sentences, not corpora.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(line, &mut String::new(), |t, _| out.push(t.to_string()));
    out
}

/// Only the words of `line`, punctuation dropped.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(line, &mut String::new(), |t, k| {
        if k == Kind::Word {
            out.push(t.to_string())
        }
    });
    out
}

fn normalise(c: char) -> char {
    match c {
        '\u{2019}' | '\u{2018}' | '\u{02BC}' => '\'',
        _ => c,
    }
}

fn push_lower(buf: &mut String, c: char) {
    if c.is_ascii() {
        buf.push(c.to_ascii_lowercase());
    } else {
        buf.extend(c.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_and_splits_punctuation() {
        assert_eq!(tokenize("Hello, World!"), ["hello", ",", "world", "!"]);
        assert_eq!(tokenize("well-known  U.S.A."), ["well", "-", "known", "u", ".", "s", ".", "a", "."]);
        assert_eq!(words("I love you!!"), ["i", "love", "you"]);
    }

    #[test]
    fn apostrophes_inside_words_stay_quotes_go() {
        assert_eq!(tokenize("Don't stop, it's O'Clock"), ["don't", "stop", ",", "it's", "o'clock"]);
        assert_eq!(tokenize("'quoted' students' books"), ["quoted", "students", "books"]);
        assert_eq!(tokenize("don\u{2019}t"), ["don't"]);
        assert_eq!(tokenize("''' '"), Vec::<String>::new());
    }

    #[test]
    fn numbers_keep_inner_points_and_commas() {
        assert_eq!(tokenize("3.5 and 1,000, then 7."), ["3.5", "and", "1,000", ",", "then", "7", "."]);
    }

    #[test]
    fn unicode_and_empty_lines() {
        assert_eq!(tokenize("Café ÉCOLE naïve"), ["café", "école", "naïve"]);
        assert!(tokenize("").is_empty());
        assert!(tokenize(" \t \u{0} ").is_empty());
        assert_eq!(tokenize("a\u{1F600}b"), ["a", "\u{1F600}", "b"]);
    }

    #[test]
    fn a_megabyte_line_is_fine() {
        let line = "word ".repeat(200_000);
        assert_eq!(words(&line).len(), 200_000);
    }
}
