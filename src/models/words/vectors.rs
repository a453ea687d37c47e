//! Word vectors: a vocabulary and a `[V, D]` matrix, with text (GloVe / word2vec) and
//! safetensors I/O. This is the type every other part of the lab (and Emojify) reads.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

use super::WordsError;
use crate::nn::weights::{self, KIND_KEY, Weights};

/// The `kind` metadata of a seqlab word-vectors file.
pub const KIND: &str = "word-vectors";

/// Words and their vectors. Row `i` of `vectors` (`[V, D]`) belongs to `words[i]`; files
/// list words by falling frequency, so the first `n` rows are the `n` most frequent words.
#[derive(Clone, Debug)]
pub struct WordVectors {
    words: Vec<String>,
    index: HashMap<String, u32>,
    vectors: Array2<f32>,
    /// Rows scaled to unit length (zero rows stay zero), for cosine similarity.
    unit: Array2<f32>,
    /// Free-form notes saved with the vectors (training settings and scores).
    pub meta: HashMap<String, String>,
}

impl WordVectors {
    /// Fails on duplicate words, empty words, a row count that is not `words.len()`, or non-finite values.
    pub fn new(words: Vec<String>, vectors: Array2<f32>) -> Result<Self, WordsError> {
        if words.len() != vectors.nrows() {
            return Err(WordsError::Invalid(format!("{} words but {} vectors", words.len(), vectors.nrows())));
        }
        if vectors.ncols() == 0 {
            return Err(WordsError::Invalid("vectors have no dimensions".into()));
        }
        if let Some(i) = vectors.rows().into_iter().position(|r| r.iter().any(|v| !v.is_finite())) {
            return Err(WordsError::Invalid(format!("the vector of {:?} is not finite", words[i])));
        }
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if w.is_empty() || w.contains(char::is_whitespace) {
                return Err(WordsError::Invalid(format!("word {i} ({w:?}) is empty or contains white space")));
            }
            if index.insert(w.clone(), i as u32).is_some() {
                return Err(WordsError::Invalid(format!("word {w:?} appears twice")));
            }
        }
        let mut unit = vectors.clone();
        for mut row in unit.rows_mut() {
            let n = row.dot(&row).sqrt();
            if n > 0.0 {
                row /= n;
            }
        }
        Ok(Self { words, index, vectors, unit, meta: HashMap::new() })
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.vectors.ncols()
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    pub fn index_of(&self, word: &str) -> Option<usize> {
        self.index.get(word).map(|&i| i as usize)
    }

    /// The vector of `word` (`[D]`), or `None` for an unknown word.
    pub fn get(&self, word: &str) -> Option<ArrayView1<'_, f32>> {
        self.index_of(word).map(|i| self.vectors.row(i))
    }

    /// `word`'s vector scaled to unit length.
    pub fn get_unit(&self, word: &str) -> Option<ArrayView1<'_, f32>> {
        self.index_of(word).map(|i| self.unit.row(i))
    }

    /// All vectors, `[V, D]`.
    pub fn matrix(&self) -> ArrayView2<'_, f32> {
        self.vectors.view()
    }

    /// All vectors at unit length, `[V, D]`.
    pub fn unit_matrix(&self) -> ArrayView2<'_, f32> {
        self.unit.view()
    }

    /// The first (most frequent) `n` words only.
    pub fn truncated(&self, n: usize) -> Self {
        let n = n.min(self.len());
        let mut out = Self {
            words: self.words[..n].to_vec(),
            index: HashMap::new(),
            vectors: self.vectors.slice_axis(Axis(0), (0..n).into()).to_owned(),
            unit: self.unit.slice_axis(Axis(0), (0..n).into()).to_owned(),
            meta: self.meta.clone(),
        };
        out.index = out.words.iter().enumerate().map(|(i, w)| (w.clone(), i as u32)).collect();
        out
    }

    /// Replaces one word's vector (debiasing); unknown words are an error.
    pub fn set(&mut self, word: &str, v: ArrayView1<f32>) -> Result<(), WordsError> {
        let i = self.index_of(word).ok_or_else(|| WordsError::Unknown(word.into()))?;
        if v.len() != self.dim() || v.iter().any(|x| !x.is_finite()) {
            return Err(WordsError::Invalid(format!("new vector for {word:?} has the wrong length or is not finite")));
        }
        self.vectors.row_mut(i).assign(&v);
        let n = v.dot(&v).sqrt();
        let mut u = self.unit.row_mut(i);
        u.assign(&v);
        if n > 0.0 {
            u /= n;
        }
        Ok(())
    }

    /// Reads a GloVe text file (`word v1 v2 ...` per line) or a word2vec text file (the same
    /// after a `count dim` header line). Every row must have the same number of numbers.
    pub fn read_text(path: &Path) -> Result<Self, WordsError> {
        let bytes = std::fs::read(path).map_err(|source| WordsError::Io { path: path.to_path_buf(), source })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| WordsError::File { path: path.to_path_buf(), line: 0, reason: format!("not UTF-8 text ({e})") })?;
        Self::parse_text(path, text)
    }

    pub fn parse_text(path: &Path, text: &str) -> Result<Self, WordsError> {
        let bad = |line: usize, reason: String| WordsError::File { path: path.to_path_buf(), line, reason };
        let mut words = Vec::new();
        let mut values: Vec<f32> = Vec::new();
        let mut dim = 0usize;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let mut fields = line.split_ascii_whitespace();
            let Some(word) = fields.next() else { continue };
            let start = values.len();
            for (j, f) in fields.enumerate() {
                let v: f32 = f.parse().map_err(|_| bad(n, format!("field {} ({f:?}) is not a number", j + 2)))?;
                if !v.is_finite() {
                    return Err(bad(n, format!("field {} ({f:?}) is not finite", j + 2)));
                }
                values.push(v);
            }
            let got = values.len() - start;
            if words.is_empty() && dim == 0 && got == 1 && word.parse::<u64>().is_ok() {
                // word2vec header "count dim": remember nothing but the dimension check below.
                values.truncate(start);
                dim = line.split_ascii_whitespace().nth(1).and_then(|d| d.parse().ok()).unwrap_or(0);
                continue;
            }
            if got == 0 {
                return Err(bad(n, format!("the word {word:?} has no numbers")));
            }
            if dim == 0 {
                dim = got;
            } else if got != dim {
                return Err(bad(n, format!("{got} numbers where earlier rows have {dim} (ragged rows)")));
            }
            words.push(word.to_string());
        }
        if words.is_empty() {
            return Err(bad(0, "no vectors in the file".into()));
        }
        let matrix = Array2::from_shape_vec((words.len(), dim), values).map_err(|e| bad(0, e.to_string()))?;
        Self::new(words, matrix).map_err(|e| bad(0, e.to_string()))
    }

    /// Writes the GloVe text format (no header line; `%.6g`-like shortest floats), atomically.
    pub fn write_text(&self, path: &Path) -> Result<(), WordsError> {
        let mut out = String::with_capacity(self.len() * (self.dim() * 10 + 12));
        for (w, row) in self.words.iter().zip(self.vectors.rows()) {
            out.push_str(w);
            for v in row {
                let _ = write!(out, " {v}");
            }
            out.push('\n');
        }
        crate::atomic::write_atomic(path, out.as_bytes()).map_err(|source| WordsError::Io { path: path.to_path_buf(), source })
    }

    /// Writes safetensors: one `[V, D]` F32 tensor `vectors`, the words (newline-separated)
    /// and `meta` in the metadata.
    pub fn write_binary(&self, path: &Path) -> Result<(), WordsError> {
        let mut meta = self.meta.clone();
        meta.insert(KIND_KEY.into(), KIND.into());
        meta.insert("words".into(), self.words.join("\n"));
        weights::save_arrays(path, &[("vectors".to_string(), self.vectors.clone().into_dyn())], meta)?;
        Ok(())
    }

    pub fn from_weights(w: &Weights) -> Result<Self, WordsError> {
        w.expect_kind(KIND)?;
        let words: Vec<String> = w.meta("words")?.split('\n').map(str::to_string).collect();
        let v = w.extra::<f32>("vectors").ok_or_else(|| WordsError::Invalid(format!("{}: no 'vectors' tensor", w.path().display())))?;
        let v = v.into_dimensionality::<ndarray::Ix2>().map_err(|e| WordsError::Invalid(format!("{}: vectors: {e}", w.path().display())))?;
        let mut out = Self::new(words, v).map_err(|e| WordsError::Invalid(format!("{}: {e}", w.path().display())))?;
        out.meta.extend(w.meta_subset(&["method", "dim", "window", "epochs", "min_count", "seed", "corpus_words", "trained_vocab", "analogy_full", "analogy_30k", "analogy_kept"]));
        Ok(out)
    }

    /// A `.safetensors` file as written by [`write_binary`](Self::write_binary), anything else as text.
    pub fn read(path: &Path) -> Result<Self, WordsError> {
        if is_binary_path(path) { Self::from_weights(&Weights::read(path)?) } else { Self::read_text(path) }
    }

    /// Writes text or binary by the file's extension, like [`read`](Self::read).
    pub fn write(&self, path: &Path) -> Result<(), WordsError> {
        if is_binary_path(path) { self.write_binary(path) } else { self.write_text(path) }
    }
}

fn is_binary_path(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn tiny() -> WordVectors {
        WordVectors::new(vec!["a".into(), "b".into(), "c".into()], array![[1.0, 0.0], [0.5, -2.0], [3.0, 4.0]]).unwrap()
    }

    #[test]
    fn lookup_dim_and_unit_rows() {
        let v = tiny();
        assert_eq!(v.dim(), 2);
        assert_eq!(v.get("b").unwrap().to_vec(), [0.5, -2.0]);
        assert!(v.get("z").is_none());
        // |c| = sqrt(9 + 16) = 5
        assert_eq!(v.get_unit("c").unwrap().to_vec(), [0.6, 0.8]);
        assert_eq!(v.truncated(2).words(), ["a", "b"]);
        assert!(v.truncated(2).get("c").is_none());
    }

    #[test]
    fn text_and_binary_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let v = tiny();
        for name in ["v.txt", "v.safetensors"] {
            let p = dir.path().join(name);
            v.write(&p).unwrap();
            let r = WordVectors::read(&p).unwrap();
            assert_eq!(r.words(), v.words());
            assert_eq!(r.matrix(), v.matrix());
        }
    }

    #[test]
    fn word2vec_header_is_accepted() {
        let r = WordVectors::parse_text(Path::new("w2v.txt"), "2 3\nx 1 2 3\ny 4 5 6\n").unwrap();
        assert_eq!(r.words(), ["x", "y"]);
        assert_eq!(r.dim(), 3);
    }

    #[test]
    fn bad_text_files_name_the_line() {
        let p = Path::new("bad.txt");
        let cases = [
            ("x 1 2\ny 1 2 3\n", "line 2", "ragged"),
            ("x 1 2\ny 1 two\n", "line 2", "not a number"),
            ("x 1 NaN\n", "line 1", "not finite"),
            ("x\n", "line 1", "no numbers"),
            ("", "", "no vectors"),
            ("x 1\nx 2\n", "", "twice"),
        ];
        for (text, line, why) in cases {
            let e = WordVectors::parse_text(p, text).unwrap_err().to_string();
            assert!(e.contains(line) && e.contains(why), "{text:?}: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin.txt");
        std::fs::write(&bin, [0xff, 0xfe, 0, 1]).unwrap();
        assert!(WordVectors::read(&bin).unwrap_err().to_string().contains("UTF-8"));
    }
}
