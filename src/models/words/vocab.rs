//! Word vocabulary (ids by falling frequency) and a corpus encoded as ids, one pass over the files.

use std::collections::HashMap;
use std::path::PathBuf;

use super::WordsError;
use super::corpus;
use super::tokenize::{Kind, for_each_token};

/// Lines longer than this are cut into pieces, so one enormous line cannot become one
/// enormous work item (gensim cuts at the same length).
pub const MAX_SENTENCE: usize = 10_000;

/// Words with their corpus counts, most frequent first (ties by word, so ids are reproducible).
#[derive(Clone, Debug, Default)]
pub struct Vocab {
    words: Vec<String>,
    counts: Vec<u64>,
    index: HashMap<String, u32>,
}

impl Vocab {
    /// Keeps words seen at least `min_count` times, then the `max_vocab` most frequent of them.
    pub fn from_counts(counts: impl IntoIterator<Item = (String, u64)>, min_count: u64, max_vocab: Option<usize>) -> Self {
        let mut kept: Vec<(String, u64)> = counts.into_iter().filter(|(_, c)| *c >= min_count.max(1)).collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some(m) = max_vocab {
            kept.truncate(m);
        }
        let index = kept.iter().enumerate().map(|(i, (w, _))| (w.clone(), i as u32)).collect();
        let (words, counts) = kept.into_iter().unzip();
        Self { words, counts, index }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn id(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// word2vec's probability of keeping each occurrence of a word when subsampling frequent
    /// words with threshold `sample` (0 keeps everything):
    /// `p = (sqrt(f / (sample * N)) + 1) * sample * N / f`, capped at 1, for a word seen `f`
    /// times in `N` words. With `sample = 1e-3`, a word that is 1% of the corpus keeps
    /// `(sqrt(10) + 1) / 10 = 0.416` of its occurrences.
    pub fn keep_probabilities(&self, sample: f64) -> Vec<f32> {
        let threshold = sample * self.total() as f64;
        self.counts
            .iter()
            .map(|&f| if sample <= 0.0 { 1.0 } else { (((f as f64 / threshold).sqrt() + 1.0) * threshold / f as f64).min(1.0) as f32 })
            .collect()
    }
}

/// A corpus as word ids (words outside the vocabulary removed) cut into sentences.
#[derive(Debug)]
pub struct Corpus {
    pub vocab: Vocab,
    pub ids: Vec<u32>,
    /// `ids[ends[i-1]..ends[i]]` is sentence `i` (a line of a file, or a piece of a long one).
    pub ends: Vec<usize>,
    /// Words read, in the vocabulary or not.
    pub raw_words: u64,
}

impl Corpus {
    pub fn sentences(&self) -> impl Iterator<Item = &[u32]> {
        let mut start = 0;
        self.ends.iter().map(move |&e| {
            let s = &self.ids[start..e];
            start = e;
            s
        })
    }

    /// Reads every file once: words get provisional ids in order of appearance, which are
    /// mapped to frequency-ordered ids at the end (no second pass over gzip files).
    pub fn read(files: &[PathBuf], min_count: u64, max_vocab: Option<usize>) -> Result<Self, WordsError> {
        let mut buf = String::new();
        let mut builder = Builder::default();
        for path in files {
            corpus::for_each_line(path, |line| {
                builder.line(line, &mut buf);
            })?;
        }
        builder.finish(min_count, max_vocab)
    }

    /// The same from lines in memory (tests, small tools).
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>, min_count: u64, max_vocab: Option<usize>) -> Result<Self, WordsError> {
        let mut builder = Builder::default();
        let mut buf = String::new();
        for l in lines {
            builder.line(l, &mut buf);
        }
        builder.finish(min_count, max_vocab)
    }
}

#[derive(Default)]
struct Builder {
    provisional: HashMap<String, u32>,
    names: Vec<String>,
    counts: Vec<u64>,
    ids: Vec<u32>,
    ends: Vec<usize>,
}

impl Builder {
    fn line(&mut self, line: &str, buf: &mut String) {
        let start = self.ids.len();
        for_each_token(line, buf, |tok, kind| {
            if kind != Kind::Word {
                return;
            }
            let id = match self.provisional.get(tok) {
                Some(&id) => id,
                None => {
                    let id = self.names.len() as u32;
                    self.provisional.insert(tok.to_string(), id);
                    self.names.push(tok.to_string());
                    self.counts.push(0);
                    id
                }
            };
            self.counts[id as usize] += 1;
            self.ids.push(id);
        });
        if self.ids.len() > start {
            self.ends.push(self.ids.len());
        }
    }

    fn finish(self, min_count: u64, max_vocab: Option<usize>) -> Result<Corpus, WordsError> {
        let raw_words = self.ids.len() as u64;
        if raw_words == 0 {
            return Err(WordsError::Corpus("the corpus has no words".into()));
        }
        let vocab = Vocab::from_counts(self.names.iter().cloned().zip(self.counts.iter().copied()), min_count, max_vocab);
        if vocab.len() < 2 {
            return Err(WordsError::Corpus(format!(
                "only {} distinct words appear at least {min_count} times in {raw_words} words: lower --min-count or give a larger corpus",
                vocab.len()
            )));
        }
        let map: Vec<u32> = self.names.iter().map(|n| vocab.id(n).unwrap_or(u32::MAX)).collect();
        let mut ids = Vec::with_capacity(self.ids.len());
        let mut ends = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &e in &self.ends {
            let mut piece = 0;
            for &p in &self.ids[start..e] {
                let id = map[p as usize];
                if id != u32::MAX {
                    ids.push(id);
                    piece += 1;
                    if piece == MAX_SENTENCE {
                        ends.push(ids.len());
                        piece = 0;
                    }
                }
            }
            if piece > 0 {
                ends.push(ids.len());
            }
            start = e;
        }
        Ok(Corpus { vocab, ids, ends, raw_words })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_orders_by_count_then_word_and_applies_limits() {
        let counts = [("b", 3), ("a", 3), ("c", 5), ("d", 1)].map(|(w, c)| (w.to_string(), c));
        let v = Vocab::from_counts(counts.clone(), 2, None);
        assert_eq!(v.words(), ["c", "a", "b"]);
        assert_eq!(v.id("a"), Some(1));
        assert_eq!(v.id("d"), None);
        let v = Vocab::from_counts(counts, 1, Some(2));
        assert_eq!(v.words(), ["c", "a"]);
    }

    /// Counts 50, 30, 20 in N = 100 words with sample 0.1: the threshold is 10, so the word
    /// seen 50 times keeps (sqrt(5) + 1) / 5 = 0.6472, the one seen 20 times
    /// (sqrt(2) + 1) / 2 = 1.2071, capped at 1.
    #[test]
    fn subsampling_probabilities_follow_word2vec() {
        let v = Vocab::from_counts([("a", 50), ("b", 30), ("c", 20)].map(|(w, c)| (w.to_string(), c)), 1, None);
        let p = v.keep_probabilities(0.1);
        assert!((p[0] - 0.647_214).abs() < 1e-5, "{p:?}");
        assert!((p[1] - ((3f32).sqrt() + 1.0) / 3.0).abs() < 1e-5);
        assert_eq!(p[2], 1.0);
        assert_eq!(v.keep_probabilities(0.0), [1.0; 3]);
    }

    #[test]
    fn corpus_drops_rare_words_and_keeps_sentences() {
        let c = Corpus::from_lines(["the cat sat", "", "the dog sat on the mat!", "zebra"], 2, None).unwrap();
        assert_eq!(c.vocab.words(), ["the", "sat"]);
        assert_eq!(c.raw_words, 10);
        let s: Vec<&[u32]> = c.sentences().collect();
        assert_eq!(s, [&[0, 1][..], &[0, 1, 0][..]]);
    }

    #[test]
    fn empty_or_tiny_corpus_is_a_clear_error() {
        let e = Corpus::from_lines(["", "!!! ...", "   "], 1, None).unwrap_err();
        assert!(e.to_string().contains("no words"), "{e}");
        let e = Corpus::from_lines(["one two"], 5, None).unwrap_err();
        assert!(e.to_string().contains("min-count"), "{e}");
    }

    #[test]
    fn long_lines_are_cut() {
        let line = "a b ".repeat(MAX_SENTENCE);
        let c = Corpus::from_lines([line.as_str()], 1, None).unwrap();
        assert_eq!(c.ends, [MAX_SENTENCE, 2 * MAX_SENTENCE]);
    }
}
