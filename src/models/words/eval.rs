//! Benchmarks: analogy files in the Google format (`: section` lines, then `a b c d`
//! questions meaning `a : b :: c : d`) and word-similarity files (two words and a human
//! score per line), with coverage reported, since a question with an unknown word cannot
//! be answered.

use std::path::Path;

use serde::Serialize;

use super::ops::{Method, answer_batch};
use super::{WordVectors, WordsError};

/// One analogy question, lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub section: usize,
    pub words: [String; 4],
}

/// Questions and the names of their sections, in file order.
#[derive(Clone, Debug, Default)]
pub struct AnalogySet {
    pub sections: Vec<String>,
    pub questions: Vec<Question>,
}

fn read(path: &Path) -> Result<String, WordsError> {
    let bytes = std::fs::read(path).map_err(|source| WordsError::Io { path: path.to_path_buf(), source })?;
    String::from_utf8(bytes).map_err(|_| WordsError::File { path: path.to_path_buf(), line: 0, reason: "not UTF-8 text".into() })
}

impl AnalogySet {
    pub fn read(path: &Path) -> Result<Self, WordsError> {
        Self::parse(path, &read(path)?)
    }

    /// Questions before any `: section` line go to a section named `(none)`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, WordsError> {
        let mut set = AnalogySet::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            if let Some(name) = line.strip_prefix(':') {
                set.sections.push(name.trim().to_string());
                continue;
            }
            let w: Vec<&str> = line.split_whitespace().collect();
            let [a, b, c, d] = w[..] else {
                return Err(WordsError::File {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: format!("expected 4 words (a b c d) or ': section', found {} fields", w.len()),
                });
            };
            if set.sections.is_empty() {
                set.sections.push("(none)".into());
            }
            set.questions.push(Question { section: set.sections.len() - 1, words: [a, b, c, d].map(str::to_lowercase) });
        }
        if set.questions.is_empty() {
            return Err(WordsError::File { path: path.to_path_buf(), line: 0, reason: "no analogy questions".into() });
        }
        Ok(set)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SectionScore {
    pub section: String,
    pub correct: usize,
    /// Questions whose four words are all in the (restricted) vocabulary.
    pub answered: usize,
    pub total: usize,
    pub accuracy: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct AnalogyScore {
    pub sections: Vec<SectionScore>,
    pub correct: usize,
    pub answered: usize,
    /// All questions in the file (`n`).
    pub n: usize,
    /// Correct / answered, as gensim and word2vec report it.
    pub accuracy: f64,
    /// Answered / n.
    pub coverage: f64,
    /// Candidate answers were the first `vocab` words.
    pub vocab: usize,
    pub questions_per_sec: f64,
}

/// Answers every question whose words are all among the first `restrict` words.
pub fn evaluate_analogies(v: &WordVectors, set: &AnalogySet, method: Method, restrict: Option<usize>, threads: usize) -> AnalogyScore {
    let start = std::time::Instant::now();
    let n = restrict.unwrap_or(v.len()).min(v.len());
    let lookup = |w: &str| v.index_of(w).filter(|&i| i < n);
    let mut asked = Vec::new();
    let mut which = Vec::new();
    let mut expected = Vec::new();
    for (qi, q) in set.questions.iter().enumerate() {
        if let [Some(a), Some(b), Some(c), Some(d)] = [0, 1, 2, 3].map(|k| lookup(&q.words[k])) {
            asked.push((a, b, c));
            expected.push(d);
            which.push(qi);
        }
    }
    let answers = answer_batch(v, &asked, method, n, threads);
    let mut sections: Vec<SectionScore> = set
        .sections
        .iter()
        .map(|s| SectionScore { section: s.clone(), correct: 0, answered: 0, total: 0, accuracy: 0.0 })
        .collect();
    for q in &set.questions {
        sections[q.section].total += 1;
    }
    for ((&qi, &got), &want) in which.iter().zip(&answers).zip(&expected) {
        let s = &mut sections[set.questions[qi].section];
        s.answered += 1;
        s.correct += usize::from(got == want);
    }
    for s in &mut sections {
        s.accuracy = ratio(s.correct, s.answered);
    }
    let correct = sections.iter().map(|s| s.correct).sum();
    let total = set.questions.len();
    AnalogyScore {
        sections,
        correct,
        answered: asked.len(),
        n: total,
        accuracy: ratio(correct, asked.len()),
        coverage: ratio(asked.len(), total),
        vocab: n,
        questions_per_sec: total as f64 / start.elapsed().as_secs_f64().max(1e-9),
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Word pairs with human similarity scores.
#[derive(Clone, Debug, Default)]
pub struct SimilaritySet {
    pub pairs: Vec<(String, String, f64)>,
}

impl SimilaritySet {
    pub fn read(path: &Path) -> Result<Self, WordsError> {
        Self::parse(path, &read(path)?)
    }

    /// Accepts SimLex-999 and WordSim-353 as shipped (tab-separated, `#` comments), their
    /// original headed forms, and vecto's CSVs (`,word1,word2,similarity` with a row number):
    /// on each line the score is the last field, the words the two before it. One header
    /// line (whose last field is not a number) may come before the first pair. MEN's
    /// part-of-speech tags (`sun-n`) are removed.
    pub fn parse(path: &Path, text: &str) -> Result<Self, WordsError> {
        let mut pairs = Vec::new();
        let mut seen_line = false;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> =
                if line.contains(['\t', ',']) { line.split(['\t', ',']).map(str::trim).collect() } else { line.split_whitespace().collect() };
            let first = !seen_line;
            seen_line = true;
            let bad = |reason: String| WordsError::File { path: path.to_path_buf(), line: i + 1, reason };
            if fields.len() < 3 {
                if first {
                    continue;
                }
                return Err(bad(format!("expected word, word, score; found {} fields", fields.len())));
            }
            let k = fields.len();
            match fields[k - 1].parse::<f64>() {
                Ok(s) if s.is_finite() => pairs.push((strip_pos(fields[k - 3]), strip_pos(fields[k - 2]), s)),
                _ if first => continue,
                _ => return Err(bad(format!("the score {:?} is not a number", fields[k - 1]))),
            }
        }
        if pairs.is_empty() {
            return Err(WordsError::File { path: path.to_path_buf(), line: 0, reason: "no word pairs".into() });
        }
        Ok(Self { pairs })
    }
}

fn strip_pos(w: &str) -> String {
    let w = w.to_lowercase();
    match w.len().checked_sub(2).map(|i| w.split_at(i)) {
        Some((stem, "-n" | "-v" | "-j" | "-a" | "-r")) if !stem.is_empty() => stem.to_string(),
        _ => w,
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SimilarityScore {
    /// Spearman's rank correlation between human scores and cosine similarities, over the
    /// pairs whose words are both known.
    pub spearman: f64,
    pub answered: usize,
    pub n: usize,
    pub coverage: f64,
}

pub fn evaluate_similarity(v: &WordVectors, set: &SimilaritySet, restrict: Option<usize>) -> SimilarityScore {
    let n = restrict.unwrap_or(v.len()).min(v.len());
    let unit = v.unit_matrix();
    let known = |w: &str| v.index_of(w).filter(|&i| i < n).map(|i| unit.row(i));
    let (mut human, mut model) = (Vec::new(), Vec::new());
    for (a, b, s) in &set.pairs {
        if let (Some(x), Some(y)) = (known(a), known(b)) {
            human.push(*s);
            model.push(x.dot(&y) as f64);
        }
    }
    SimilarityScore { spearman: spearman(&human, &model), answered: human.len(), n: set.pairs.len(), coverage: ratio(human.len(), set.pairs.len()) }
}

/// Ranks from 1, ties given the mean of the ranks they span.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            r[o] = mean;
        }
        i = j + 1;
    }
    r
}

/// Spearman's ρ: Pearson's correlation of the ranks; 0 when fewer than two pairs or no spread.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    if a.len() < 2 || a.len() != b.len() {
        return 0.0;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let m = (ra.len() as f64 + 1.0) / 2.0;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - m) * (y - m);
        saa += (x - m) * (x - m);
        sbb += (y - m) * (y - m);
    }
    if saa == 0.0 || sbb == 0.0 { 0.0 } else { sab / (saa * sbb).sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// (10, 20, 20, 30) -> ranks 1, 2.5, 2.5, 4.
    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 30.0]), [1.0, 2.5, 2.5, 4.0]);
        assert_eq!(ranks(&[3.0, 1.0, 2.0]), [3.0, 1.0, 2.0]);
    }

    /// a = (1,2,3,4), b = (1,3,2,4): rank differences 0, -1, 1, 0, Σd² = 2, and with no ties
    /// ρ = 1 - 6·2 / (4·15) = 0.8. Reversed order gives -1.
    #[test]
    fn spearman_golden() {
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]) - 0.8).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[9.0, 5.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&[1.0], &[2.0]), 0.0);
    }

    #[test]
    fn analogy_file_parsing() {
        let p = Path::new("q.txt");
        let set = AnalogySet::parse(p, ": capitals\nAthens Greece Paris France\n\n: family\nman woman king queen\n").unwrap();
        assert_eq!(set.sections, ["capitals", "family"]);
        assert_eq!(set.questions[0].words, ["athens", "greece", "paris", "france"]);
        assert_eq!(set.questions[1].section, 1);
        let e = AnalogySet::parse(p, ": s\na b c\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("4 words"), "{e}");
        assert!(AnalogySet::parse(p, ": only a section\n").is_err());
        let none = AnalogySet::parse(p, "a b c d").unwrap();
        assert_eq!(none.sections, ["(none)"]);
    }

    #[test]
    fn similarity_formats() {
        let p = Path::new("s.txt");
        let simlex = "# comment\n# Word 1\tWord 2\tHuman (mean)\nold\tnew\t1.58\nSmart\tintelligent\t9.2\n";
        let s = SimilaritySet::parse(p, simlex).unwrap();
        assert_eq!(s.pairs[1], ("smart".into(), "intelligent".into(), 9.2));
        let vecto = ",word1,word2,similarity\n0,car,automobile,3.92\n1,sun-n,sunlight-n,50\n";
        let s = SimilaritySet::parse(p, vecto).unwrap();
        assert_eq!(s.pairs[1], ("sun".into(), "sunlight".into(), 50.0));
        let headed = "Word 1 Word 2 Human\ntiger cat 7.35\n";
        assert_eq!(SimilaritySet::parse(p, headed).unwrap().pairs.len(), 1);
        let e = SimilaritySet::parse(p, "a\tb\t1\nc\td\tx\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("not a number"), "{e}");
        assert!(SimilaritySet::parse(p, "# nothing\n").is_err());
    }

    /// Vectors man (1,0), woman (0,1), king (0.8,0.6), queen (0.6,0.8), apple (-1,0):
    /// "man woman king queen" is right (see ops' 3CosAdd test); "man woman king apple" is
    /// wrong; "man woman king pear" is not covered. accuracy 1/2, coverage 2/3.
    #[test]
    fn analogy_scores_and_coverage() {
        let words = ["man", "woman", "king", "queen", "apple"].map(String::from).to_vec();
        let v = WordVectors::new(words, array![[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8], [-1.0, 0.0]]).unwrap();
        let set = AnalogySet::parse(Path::new("q"), ": a\nman woman king queen\nman woman king apple\n: b\nman woman king pear\n").unwrap();
        let s = evaluate_analogies(&v, &set, Method::Add, None, 2);
        assert_eq!((s.correct, s.answered, s.n), (1, 2, 3));
        assert!((s.accuracy - 0.5).abs() < 1e-12 && (s.coverage - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((s.sections[1].answered, s.sections[1].total), (0, 1));
        // Restricted to the first 3 words, queen is out of reach: nothing is covered.
        assert_eq!(evaluate_analogies(&v, &set, Method::Add, Some(3), 1).answered, 0);
        // Similarity: cos(man, king) = 0.8, cos(man, queen) = 0.6, cos(man, apple) = -1
        // ranked the same way as human scores 9, 5, 1: ρ = 1.
        let sim = SimilaritySet { pairs: vec![("man".into(), "king".into(), 9.0), ("man".into(), "queen".into(), 5.0), ("man".into(), "apple".into(), 1.0), ("x".into(), "y".into(), 3.0)] };
        let r = evaluate_similarity(&v, &sim, None);
        assert!((r.spearman - 1.0).abs() < 1e-12 && r.answered == 3 && r.n == 4);
    }
}
