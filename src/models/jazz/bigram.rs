//! The baseline the LSTM has to beat: a bigram (first-order Markov) model over the same
//! events, p(event_t | event_{t-1}), smoothed towards the unigram distribution.

use super::data::{BOS, Event, VOCAB};

/// Counts of (previous token, next token); the previous can be [`BOS`].
#[derive(Clone, Debug)]
pub struct Bigram {
    counts: Vec<Vec<f64>>,
    row_totals: Vec<f64>,
    unigram: Vec<f64>,
    /// Pseudo-counts spread by the unigram: p = (c(a,b) + α·u(b)) / (c(a) + α).
    pub alpha: f64,
}

impl Bigram {
    /// Fits on sequences; the unigram is add-one smoothed so no event has probability zero.
    pub fn fit(seqs: &[&[Event]], alpha: f64) -> Self {
        let mut counts = vec![vec![0.0; VOCAB]; VOCAB + 1];
        let mut uni = vec![1.0; VOCAB];
        for seq in seqs {
            let mut prev = BOS;
            for e in *seq {
                counts[prev][e.token] += 1.0;
                uni[e.token] += 1.0;
                prev = e.token;
            }
        }
        let total: f64 = uni.iter().sum();
        let unigram = uni.iter().map(|c| c / total).collect();
        let row_totals = counts.iter().map(|r| r.iter().sum()).collect();
        Self { counts, row_totals, unigram, alpha }
    }

    pub fn prob(&self, prev: usize, next: usize) -> f64 {
        (self.counts[prev][next] + self.alpha * self.unigram[next]) / (self.row_totals[prev] + self.alpha)
    }

    /// Summed negative log-likelihood (nats) and the number of events.
    pub fn nll(&self, seqs: &[&[Event]]) -> (f64, usize) {
        let (mut nll, mut n) = (0.0, 0);
        for seq in seqs {
            let mut prev = BOS;
            for e in *seq {
                nll -= self.prob(prev, e.token).ln();
                n += 1;
                prev = e.token;
            }
        }
        (nll, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::theory::Quality;

    /// Training on [3, 3, 5]: unigram counts (add-one) 2+1 for 3, 1+1 for 5, 1 elsewhere:
    /// total 200 + 3 = 203. After 3 the counts are {3: 1, 5: 1}, so with α = 2:
    /// p(5 | 3) = (1 + 2·2/203) / (2 + 2).
    #[test]
    fn golden_probability_and_normalisation() {
        let e = |token| Event { token, quality: Quality::Major, pos: 0 };
        let seq = vec![e(3), e(3), e(5)];
        let b = Bigram::fit(&[&seq], 2.0);
        assert!((b.prob(3, 5) - (1.0 + 4.0 / 203.0) / 4.0).abs() < 1e-12);
        for prev in [3, 7, BOS] {
            let total: f64 = (0..VOCAB).map(|n| b.prob(prev, n)).sum();
            assert!((total - 1.0).abs() < 1e-9);
        }
        let (nll, n) = b.nll(&[&seq]);
        assert_eq!(n, 3);
        assert!(nll > 0.0);
    }
}
