//! Emojify: a sentence to one of five emoji, from pre-trained word vectors.
//!
//! V1 averages the sentence's word vectors and applies a softmax layer; V2 reads the
//! vectors in order through two LSTM layers (the course's Keras model; the shipped file holds
//! five of them from five seeds, their probabilities averaged). All look words up
//! in a [`WordVectors`] table that is not stored with the model: each model file records a
//! fingerprint of the vectors it was trained on, and loading with other vectors is an error.
//!
//! Documented behaviour for awkward input:
//! - words not in the vectors are skipped and reported in [`Prediction::unknown`];
//! - punctuation is dropped (the tokeniser of the words lab decides what a word is);
//! - a sentence with no word at all is [`EmojifyError::EmptySentence`], one whose words are
//!   all unknown is [`EmojifyError::NoKnownWords`] (listing them): there is nothing to
//!   classify, and a guess would look like an answer;
//! - more than [`MAX_WORDS`] words is [`EmojifyError::TooLong`], decided after one linear
//!   pass of the tokeniser, so a 1 MB line fails fast instead of running an LSTM for minutes.

pub mod data;
pub mod model;
pub mod train;

use std::path::{Path, PathBuf};

use crate::models::words::tokenize::{Kind, for_each_token};
use crate::models::words::{WordVectors, WordsError};
use crate::nn::NnError;
use crate::nn::weights::Weights;
pub use model::{Emojifier, Version};

/// The five classes.
pub const NUM_CLASSES: usize = 5;

/// Sentences longer than this (in words, known or not) are refused.
pub const MAX_WORDS: usize = 1000;

/// One class: its label, emoji, and the course's alias (`emoji_labels.tsv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    pub id: usize,
    pub emoji: &'static str,
    pub alias: &'static str,
    pub name: &'static str,
}

/// The course's table, built in so the demo needs no data files.
pub const LABELS: [Label; NUM_CLASSES] = [
    Label { id: 0, emoji: "\u{2764}\u{fe0f}", alias: ":heart:", name: "heart" },
    Label { id: 1, emoji: "\u{26be}", alias: ":baseball:", name: "baseball" },
    Label { id: 2, emoji: "\u{1f604}", alias: ":smile:", name: "smile" },
    Label { id: 3, emoji: "\u{1f61e}", alias: ":disappointed:", name: "disappointed" },
    Label { id: 4, emoji: "\u{1f374}", alias: ":fork_and_knife:", name: "fork and knife" },
];

/// Errors a user can cause in Emojify: bad data files, unusable sentences, mismatched files.
#[derive(Debug, thiserror::Error)]
pub enum EmojifyError {
    #[error(transparent)]
    Nn(#[from] NnError),
    #[error(transparent)]
    Words(#[from] WordsError),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}{}: {reason}", path.display(), if *line > 0 { format!(" line {line}") } else { String::new() })]
    Data { path: PathBuf, line: usize, reason: String },
    #[error("{path}: no sentences in the file")]
    Empty { path: PathBuf },
    #[error("the sentence has no words")]
    EmptySentence,
    #[error("none of the sentence's words is in the word vectors' vocabulary (unknown: {})", .unknown.join(", "))]
    NoKnownWords { unknown: Vec<String> },
    #[error("the sentence has more than {limit} words; Emojify reads sentences, not documents")]
    TooLong { limit: usize },
    #[error("{path} was trained on other word vectors ({reason}); train it on these with `seqlab emojify train --vectors ...`")]
    VectorsMismatch { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// A sentence as rows of the vectors table, with the words that have no row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<usize>,
    pub unknown: Vec<String>,
}

/// Tokenises `sentence` with the words lab's tokeniser and looks each word up; see the
/// module documentation for empty, unknown-only and over-long sentences.
pub fn encode(vectors: &WordVectors, sentence: &str) -> Result<Encoded, EmojifyError> {
    encode_marked(vectors, sentence, false)
}

/// Whether `word` turns the meaning of what follows around ("not happy", "didn't win").
/// Apostrophe-less chat spellings count too ("dont", "cant").
pub fn is_negator(word: &str) -> bool {
    matches!(
        word,
        "not" | "no" | "never" | "nothing" | "nobody" | "none" | "nor" | "neither" | "cannot" | "without" | "hardly" | "barely"
            | "dont" | "cant" | "wont" | "didnt" | "doesnt" | "isnt" | "wasnt" | "arent" | "werent" | "couldnt" | "wouldnt"
            | "shouldnt" | "aint" | "havent" | "hasnt"
    ) || word.ends_with("n't")
}

/// [`encode`], and with `mark` the words in a negation's scope get id `V + i` instead of `i`
/// (V = the vectors' vocabulary size). The scope runs from after a negator (see
/// [`is_negator`]) to the next punctuation mark or "but": a sentence's clause, the usual
/// choice in sentiment work, since the words lab's tokeniser keeps the punctuation.
pub fn encode_marked(vectors: &WordVectors, sentence: &str, mark: bool) -> Result<Encoded, EmojifyError> {
    let (mut ids, mut unknown, mut words) = (Vec::new(), Vec::new(), 0usize);
    let mut negated = false;
    let v = vectors.len();
    for_each_token(sentence, &mut String::new(), |tok, kind| {
        if kind != Kind::Word {
            negated = false;
            return;
        }
        words += 1;
        if words > MAX_WORDS {
            return;
        }
        // "but" closes the scope and is itself read plainly
        if tok == "but" {
            negated = false;
        }
        match vectors.index_of(tok) {
            Some(i) => ids.push(if mark && negated { v + i } else { i }),
            None => unknown.push(tok.to_string()),
        }
        if is_negator(tok) {
            negated = true;
        }
    });
    if words > MAX_WORDS {
        return Err(EmojifyError::TooLong { limit: MAX_WORDS });
    }
    if words == 0 {
        return Err(EmojifyError::EmptySentence);
    }
    if ids.is_empty() {
        return Err(EmojifyError::NoKnownWords { unknown });
    }
    Ok(Encoded { ids, unknown })
}

/// A 64-bit FNV-1a hash of the vocabulary (in order) and every vector value: two tables
/// agree on it only if a model trained on one reads the same numbers from the other.
pub fn fingerprint(vectors: &WordVectors) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for w in vectors.words() {
        eat(w.as_bytes());
        eat(b"\n");
    }
    for v in vectors.matrix().iter() {
        eat(&v.to_bits().to_le_bytes());
    }
    format!("{h:016x}")
}

static SHIPPED_V1: &[u8] = include_bytes!("../../../assets/emojify_v1.safetensors");
static SHIPPED_V2: &[u8] = include_bytes!("../../../assets/emojify_v2.safetensors");
static SHIPPED_V3: &[u8] = include_bytes!("../../../assets/emojify_v3.safetensors");

/// The model at `path`, or the shipped one of `version`, reading words from `vectors`.
pub fn load_model(version: Version, path: Option<&Path>, vectors: &WordVectors) -> Result<Emojifier, EmojifyError> {
    let (name, bytes) = match version {
        Version::V1 => ("emojify_v1.safetensors", SHIPPED_V1),
        Version::V2 => ("emojify_v2.safetensors", SHIPPED_V2),
        Version::V3 => ("emojify_v3.safetensors", SHIPPED_V3),
    };
    let w = Weights::read_or_shipped(path, name, bytes)?;
    Emojifier::from_weights(&w, vectors)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ndarray::Array2;

    /// Tiny 2-d vectors: love/ball/happy/sad/food point five ways; `i` is neutral.
    pub(crate) fn tiny() -> WordVectors {
        let words = ["love", "ball", "happy", "sad", "food", "i"].map(String::from).to_vec();
        let m = Array2::from_shape_vec((6, 2), vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0, 0.7, 0.7, 0.1, 0.1]).unwrap();
        WordVectors::new(words, m).unwrap()
    }

    #[test]
    fn labels_match_the_course_table() {
        let emoji: Vec<&str> = LABELS.iter().map(|l| l.emoji).collect();
        assert_eq!(emoji, ["❤️", "⚾", "😄", "😞", "🍴"]);
        assert!(LABELS.iter().enumerate().all(|(i, l)| l.id == i));
    }

    #[test]
    fn encode_skips_and_reports_unknown_words() {
        let v = tiny();
        let e = encode(&v, "I LOVE zorgs, food!").unwrap();
        assert_eq!(e, Encoded { ids: vec![5, 0, 4], unknown: vec!["zorgs".into()] });
    }

    #[test]
    fn awkward_sentences() {
        let v = tiny();
        assert!(matches!(encode(&v, ""), Err(EmojifyError::EmptySentence)));
        assert!(matches!(encode(&v, "  ?!  ..."), Err(EmojifyError::EmptySentence)));
        match encode(&v, "qwerty asdf") {
            Err(EmojifyError::NoKnownWords { unknown }) => assert_eq!(unknown, ["qwerty", "asdf"]),
            other => panic!("{other:?}"),
        }
        let long = "love ".repeat(200_000); // 1 MB
        assert!(matches!(encode(&v, &long), Err(EmojifyError::TooLong { .. })));
        let ok = "love ".repeat(MAX_WORDS);
        assert_eq!(encode(&v, &ok).unwrap().ids.len(), MAX_WORDS);
    }

    /// Tiny vocabulary V = 6 (love ball happy sad food i) plus "not" = 6, "but" = 7:
    /// "i am not happy, i love food" -> i(5), not(6) plain, happy negated 8 + 2 = 10, the
    /// comma ends the scope, i love food plain; "not sad but happy" -> not, sad 8 + 3, but, happy.
    #[test]
    fn negation_scope_marks_ids() {
        let mut words: Vec<String> = tiny().words().to_vec();
        words.extend(["not".to_string(), "but".to_string()]);
        let mut m = tiny().matrix().to_owned();
        m.push_row(ndarray::array![0.2, 0.2].view()).unwrap();
        m.push_row(ndarray::array![0.3, 0.1].view()).unwrap();
        let v = WordVectors::new(words, m).unwrap();
        let e = encode_marked(&v, "I am not happy, I love food", true).unwrap();
        assert_eq!(e.ids, [5, 6, 10, 5, 0, 4]);
        assert_eq!(e.unknown, ["am"]);
        assert_eq!(encode_marked(&v, "not sad but happy", true).unwrap().ids, [6, 11, 7, 2]);
        assert_eq!(encode_marked(&v, "I don't love food", true).unwrap().ids, [5, 8, 12]);
        assert_eq!(encode(&v, "I don't love food").unwrap().ids, [5, 0, 4], "unmarked as before");
        assert!(is_negator("wasn't") && is_negator("never") && !is_negator("note"));
    }

    #[test]
    fn fingerprint_sees_words_and_values() {
        let a = tiny();
        let mut b = tiny();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b.set("sad", ndarray::array![0.0, -0.9].view()).unwrap();
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
