//! BLEU (Papineni et al. 2002): clipped n-gram precisions combined by a geometric mean,
//! times a brevity penalty. Tokens are any `Eq + Hash` type; date translation passes chars.
//!
//! Without smoothing, as in the paper and nltk's default: a score is 0 when any of the
//! n-gram precisions p_1..p_N is 0, which includes a candidate shorter than N tokens
//! (it has no N-grams, so p_N = 0/0 counts as 0, as nltk does).

use std::collections::HashMap;
use std::hash::Hash;

/// Sufficient statistics of one or more (candidate, references) pairs: for each order n,
/// the clipped matches and the candidate's n-gram count; the candidate length c and the
/// effective reference length r.
struct Counts {
    matches: Vec<usize>,
    totals: Vec<usize>,
    cand_len: usize,
    ref_len: usize,
}

impl Counts {
    fn new(max_n: usize) -> Counts {
        Counts { matches: vec![0; max_n], totals: vec![0; max_n], cand_len: 0, ref_len: 0 }
    }

    fn add<T: Eq + Hash>(&mut self, candidate: &[T], references: &[&[T]]) {
        for (i, (m, t)) in self.matches.iter_mut().zip(self.totals.iter_mut()).enumerate() {
            let n = i + 1;
            let cand = ngram_counts(candidate, n);
            // Clip each candidate n-gram by the most times any single reference holds it.
            let mut max_ref: HashMap<&[T], usize> = HashMap::new();
            for r in references {
                for (g, c) in ngram_counts(r, n) {
                    let e = max_ref.entry(g).or_insert(0);
                    *e = (*e).max(c);
                }
            }
            *m += cand.iter().map(|(g, &c)| c.min(max_ref.get(g).copied().unwrap_or(0))).sum::<usize>();
            *t += candidate.len().saturating_sub(n - 1);
        }
        let c = candidate.len();
        self.cand_len += c;
        // The reference length closest to c; ties go to the shorter one (as in nltk).
        self.ref_len += references.iter().map(|r| r.len()).min_by_key(|&r| (r.abs_diff(c), r)).unwrap_or(0);
    }

    fn score(&self) -> f64 {
        if self.matches.is_empty() || self.cand_len == 0 || self.matches.contains(&0) {
            return 0.0;
        }
        let n = self.matches.len() as f64;
        let log_mean =
            self.matches.iter().zip(&self.totals).map(|(&m, &t)| (m as f64 / t as f64).ln()).sum::<f64>() / n;
        let (c, r) = (self.cand_len as f64, self.ref_len as f64);
        let brevity = if c > r { 1.0 } else { (1.0 - r / c).exp() };
        brevity * log_mean.exp()
    }
}

fn ngram_counts<T: Eq + Hash>(tokens: &[T], n: usize) -> HashMap<&[T], usize> {
    let mut counts = HashMap::new();
    for g in tokens.windows(n) {
        *counts.entry(g).or_insert(0) += 1;
    }
    counts
}

/// Sentence BLEU-`max_n` with uniform weights 1/`max_n`, in [0, 1].
/// 0 for an empty candidate, no references, `max_n` = 0, or any zero precision.
pub fn bleu<T: Eq + Hash>(candidate: &[T], references: &[&[T]], max_n: usize) -> f64 {
    corpus_bleu(&[(candidate, references)], max_n)
}

/// Corpus BLEU: clipped matches, n-gram totals, candidate lengths and effective reference
/// lengths are summed over all pairs before the precisions and brevity penalty are formed,
/// so it is not the mean of sentence scores. `pairs`: (candidate, its references).
pub fn corpus_bleu<T: Eq + Hash>(pairs: &[(&[T], &[&[T]])], max_n: usize) -> f64 {
    let mut counts = Counts::new(max_n);
    for (candidate, references) in pairs {
        if references.is_empty() {
            return 0.0;
        }
        counts.add(candidate, references);
    }
    counts.score()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        s.split(' ').collect()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    /// The paper's example: candidate "the the the the the the the" (7 tokens) against
    /// "the cat is on the mat" and "there is a cat on the mat". "the" occurs at most twice
    /// in one reference, so the unigram modified precision is 2/7. The closest reference
    /// length is 7 (the second), c = r gives BP = e^0 = 1, so BLEU-1 = 2/7
    /// (nltk sentence_bleu with weights (1,): 0.2857142857142857).
    #[test]
    fn papers_clipping_example() {
        let cand = words("the the the the the the the");
        let (r1, r2) = (words("the cat is on the mat"), words("there is a cat on the mat"));
        let refs = [&r1[..], &r2[..]];
        let mut counts = Counts::new(1);
        counts.add(&cand, &refs);
        assert_eq!((counts.matches[0], counts.totals[0]), (2, 7));
        close(bleu(&cand, &refs, 1), 2.0 / 7.0);
        // No bigram of the candidate is in a reference: BLEU-2 is 0.
        assert_eq!(bleu(&cand, &refs, 2), 0.0);
    }

    #[test]
    fn perfect_match_scores_one() {
        let s: Vec<char> = "2021-03-07".chars().collect();
        close(bleu(&s, &[&s], 4), 1.0);
        close(bleu(&s, &[&s, &s[..4]], 4), 1.0);
    }

    /// Candidate "a b c" (c = 3), references of 5 and 7 tokens: r = 5 (closest),
    /// p_1 = 3/3, p_2 = 2/2, so BLEU-2 = BP = exp(1 - 5/3) = exp(-2/3) = 0.5134171190325920
    /// (nltk: 0.513417119032592).
    #[test]
    fn short_candidate_gets_the_brevity_penalty() {
        let cand = words("a b c");
        let (r1, r2) = (words("a b c d e"), words("a b c d e f g"));
        close(bleu(&cand, &[&r1, &r2], 2), (-2.0f64 / 3.0).exp());
        // A tie between lengths 2 and 4 around c = 3 picks r = 2 (the shorter): no penalty.
        let (s1, s2) = (words("a b"), words("a b c d"));
        close(bleu(&cand, &[&s1, &s2], 1), 1.0);
    }

    /// BLEU-4 by hand, candidate "a b c d e" against "a b c d f":
    /// p_1 = 4/5 (a b c d), p_2 = 3/4 (ab bc cd), p_3 = 2/3 (abc bcd), p_4 = 1/2 (abcd);
    /// c = r = 5 so BP = 1; BLEU = (4/5 · 3/4 · 2/3 · 1/2)^(1/4) = (1/5)^(1/4) = 0.668740304976422
    /// (nltk sentence_bleu: 0.668740304976422).
    #[test]
    fn bleu4_by_hand() {
        close(bleu(&words("a b c d e"), &[&words("a b c d f")], 4), 0.2f64.powf(0.25));
    }

    /// Characters of "2021-03-07" against "2021-03-17" (10 each, BP = 1):
    /// unigrams: candidate 2×2 0×3 1 -×2 3 7, reference has only two 0s: 9/10;
    /// bigrams 20 02 21 1- -0 03 3- -0 07: -0 clipped to 1, 07 absent: 7/9;
    /// trigrams 202 021 21- 1-0 -03 03- 3-0 -07: 6/8; 4-grams: 2021 021- 21-0 1-03 -03- match, 5/7.
    /// BLEU-4 = (9/10 · 7/9 · 6/8 · 5/7)^(1/4) = (3/8)^(1/4) = 0.7825422900366437
    /// (nltk: 0.7825422900366437).
    #[test]
    fn date_characters_by_hand() {
        let c: Vec<char> = "2021-03-07".chars().collect();
        let r: Vec<char> = "2021-03-17".chars().collect();
        close(bleu(&c, &[&r], 4), 0.375f64.powf(0.25));
    }

    #[test]
    fn degenerate_inputs_score_zero() {
        let r = words("a b c d");
        let empty: Vec<&str> = vec![];
        assert_eq!(bleu(&empty, &[&r], 4), 0.0);
        assert_eq!(bleu(&words("a b c"), &[&r], 4), 0.0, "no 4-grams in a 3-token candidate");
        assert_eq!(bleu(&r, &[], 4), 0.0);
        assert_eq!(bleu(&r, &[&r], 0), 0.0);
        assert_eq!(bleu(&words("x y z w"), &[&r], 1), 0.0);
    }

    /// Corpus BLEU-4 of ("a b c d e" | "a b c d f") and ("a b c" | "a b c d e"):
    /// summed matches/totals p_1 = (4+3)/(5+3) = 7/8, p_2 = (3+2)/(4+2) = 5/6,
    /// p_3 = (2+1)/(3+1) = 3/4, p_4 = (1+0)/(2+0) = 1/2; c = 8, r = 10, BP = exp(1 - 10/8);
    /// BLEU = exp(-1/4) · (7/8 · 5/6 · 3/4 · 1/2)^(1/4) = 0.5631717976386637, though the second
    /// sentence alone scores 0. nltk's corpus_bleu gives 0.5089 here: it counts a sentence
    /// with no 4-grams as having one (denominator max(1, count)), so its p_4 = 1/3; we keep
    /// the paper's (and sacrebleu's) plain sums.
    /// With both candidates at least 4 long, ("a b c d e" | "a b c d f") and
    /// ("a b c d" | "a b c d e x"): p = 8/9, 6/7, 4/5, 2/3, c = 9, r = 11, and
    /// BLEU = exp(-2/9) · (8/9 · 6/7 · 4/5 · 2/3)^(1/4) = 0.6393151102007505, as nltk gives.
    #[test]
    fn corpus_bleu_sums_counts_before_combining() {
        let (c1, r1, c2, r2) = (words("a b c d e"), words("a b c d f"), words("a b c"), words("a b c d e"));
        let (refs1, refs2) = ([&r1[..]], [&r2[..]]);
        let pairs = [(&c1[..], &refs1[..]), (&c2[..], &refs2[..])];
        let want = (-0.25f64).exp() * (7.0 / 8.0 * 5.0 / 6.0 * 3.0 / 4.0 * 0.5f64).powf(0.25);
        close(corpus_bleu(&pairs, 4), want);
        assert_eq!(bleu(&c2, &refs2, 4), 0.0);
        close(corpus_bleu(&pairs[..1], 4), bleu(&c1, &refs1, 4));
        let (c3, r3) = (words("a b c d"), words("a b c d e x"));
        let refs3 = [&r3[..]];
        let want = (-2.0f64 / 9.0).exp() * (8.0 / 9.0 * 6.0 / 7.0 * 4.0 / 5.0 * 2.0 / 3.0f64).powf(0.25);
        close(want, 0.6393151102007505);
        close(corpus_bleu(&[(&c1[..], &refs1[..]), (&c3[..], &refs3[..])], 4), want);
    }
}
