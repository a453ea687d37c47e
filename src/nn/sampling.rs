//! Turning a model's scores into tokens: temperature / top-k sampling for open-ended
//! generation, greedy and beam-search decoding for the single most likely sequence.
//!
//! The decoders never see a model. They drive a *step function*
//! `step(&state, token) -> (log-probabilities of the next token, next state)`: the state
//! before consuming `token` goes in, the distribution after it comes out. So one decoder
//! serves an RNN, an LSTM, an attention model, or a lookup table in a test, and a model
//! only has to know how to take one step.

use ndarray::ArrayView1;

use super::{NnError, Scalar};

/// The distribution [`sample_index`] draws from: softmax(logits / temperature) over the
/// `top_k` largest logits, zero elsewhere. Returned in `f64` whatever `F` is, so a GUI can
/// show exactly the numbers a sample is drawn from.
///
/// Temperature below 1 sharpens the distribution towards the argmax, above 1 flattens it
/// towards uniform. Top-k cuts the long tail of tokens that are each unlikely but together
/// hold enough mass to derail a generation now and then. Ties at the k-th place go to the
/// lower index, so which tokens survive never depends on how a sort orders equal keys;
/// a `top_k` larger than the vocabulary keeps every token.
pub fn probabilities<F: Scalar>(
    logits: ArrayView1<F>,
    temperature: f64,
    top_k: Option<usize>,
) -> Result<Vec<f64>, NnError> {
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(NnError::Invalid(format!("temperature must be a positive number, got {temperature}")));
    }
    if top_k == Some(0) {
        return Err(NnError::Invalid(
            "top_k must be at least 1 (1 always picks the most likely token), got 0".into(),
        ));
    }
    if logits.is_empty() {
        return Err(NnError::Invalid("cannot sample from an empty list of logits".into()));
    }
    let x: Vec<f64> = logits.iter().map(|v| v.as_f64()).collect();
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(NnError::Invalid(format!("logits must be finite numbers, but logit {i} is {}", x[i])));
    }
    let mut kept: Vec<usize> = (0..x.len()).collect();
    kept.sort_by(|&a, &b| x[b].total_cmp(&x[a]).then(a.cmp(&b)));
    kept.truncate(top_k.unwrap_or(x.len()));
    let max = x[kept[0]];
    let mut p = vec![0.0; x.len()];
    for &i in &kept {
        // Scaling the gap to the max (≤ 0) rather than each logit keeps a tiny temperature
        // from overflowing to inf - inf: the max maps to e⁰ = 1 and the rest underflow to 0.
        p[i] = ((x[i] - max) / temperature).exp();
    }
    // At least 1, since the max contributes e⁰: the division is always safe.
    let sum: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= sum);
    Ok(p)
}

/// Draws a token index from [`probabilities`] by inverting its CDF with one uniform draw,
/// so a seeded generator reproduces a generation exactly, one draw per token.
pub fn sample_index<F: Scalar>(
    logits: ArrayView1<F>,
    temperature: f64,
    top_k: Option<usize>,
    rng: &mut impl rand::Rng,
) -> Result<usize, NnError> {
    let p = probabilities(logits, temperature, top_k)?;
    let u: f64 = rng.random();
    let mut cumulative = 0.0;
    let mut last_possible = 0;
    for (i, &pi) in p.iter().enumerate() {
        if pi > 0.0 {
            cumulative += pi;
            last_possible = i;
            if u < cumulative {
                return Ok(i);
            }
        }
    }
    // Rounding can leave the total a hair under 1 with `u` beyond it; that sliver belongs to
    // the last token that can be drawn at all, never to one top-k excluded.
    Ok(last_possible)
}

/// Index of the largest element, the lowest such index on ties so that greedy choices are
/// reproducible. NaNs are skipped, since they are neither larger nor smaller than anything;
/// `None` when there is nothing else.
pub fn argmax<F: Scalar>(v: ArrayView1<F>) -> Option<usize> {
    let mut best: Option<(usize, F)> = None;
    for (i, &x) in v.iter().enumerate() {
        if !x.is_nan() && best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
}

/// Settings of [`beam_search`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BeamConfig {
    /// How many hypotheses survive each step; 1 is greedy decoding.
    pub width: usize,
    /// α in `score = log_prob / len^α`. Every token lowers a summed log-probability, so raw
    /// sums (α = 0) favour short sequences; α = 1 ranks by mean log-probability per token,
    /// and values in between trade the two off. Must be ≥ 0: that is what makes the early
    /// stop of [`beam_search`] safe.
    pub length_penalty: f64,
}

/// One sequence returned by [`beam_search`].
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    /// The generated tokens, without the start token and without the end token.
    pub tokens: Vec<usize>,
    /// Natural-log probability of the sequence, including the end token's if it finished.
    pub log_prob: f64,
    /// `log_prob / len^length_penalty`, what hypotheses are ranked by. `len` counts the end
    /// token of a finished hypothesis: stopping is a decision the model made and paid for, and
    /// counting it keeps `len ≥ 1`, so an immediate end token does not divide by zero.
    pub score: f64,
    /// Whether the sequence ended with the end token; `false` means it was cut at `max_len`.
    pub finished: bool,
}

/// Follows the most likely next token until the end token or `max_len` tokens, the end
/// token included. The cheap baseline beam search improves on: it commits to each locally
/// best token even when that leads to a less likely whole sequence. Ties go to the lower
/// token index, so it matches [`beam_search`] with width 1 and no length penalty.
pub fn greedy_decode<S>(
    start_state: S,
    start_token: usize,
    end_token: Option<usize>,
    max_len: usize,
    mut step: impl FnMut(&S, usize) -> Result<(Vec<f64>, S), NnError>,
) -> Result<Vec<usize>, NnError> {
    check_max_len(max_len)?;
    let mut state = start_state;
    let mut token = start_token;
    let mut tokens = Vec::new();
    for _ in 0..max_len {
        let (log_probs, next) = step(&state, token)?;
        check_step(&log_probs, end_token)?;
        // Not `argmax`: check_step has already ruled out the empty and NaN cases it returns
        // `None` for, and a plain fold needs no unwrap.
        let best = (1..log_probs.len()).fold(0, |b, i| if log_probs[i] > log_probs[b] { i } else { b });
        if Some(best) == end_token {
            break;
        }
        tokens.push(best);
        state = next;
        token = best;
    }
    Ok(tokens)
}

/// A hypothesis still being extended.
struct Live<S> {
    tokens: Vec<usize>,
    log_prob: f64,
    state: S,
}

/// Keeps the `width` most probable partial sequences at each step, so a token that looks
/// worse now can still win once what follows it is known.
///
/// Each step expands every live hypothesis by every token of non-zero probability and keeps
/// the `width` best continuations by log-probability (all live hypotheses have the same
/// length, so that is also their order by score). A continuation that is the end token and
/// ranks above the `width`-th kept one becomes a finished hypothesis. Decoding stops when
/// nothing is live, when `width` finished hypotheses score strictly better than any live one
/// can still reach, or after `max_len` tokens (end token included), in which case the
/// unfinished hypotheses compete with the finished ones on score.
///
/// Returns at most `width` hypotheses, best score first. Equal log-probabilities and equal
/// scores go to the sequence that is smaller token by token, so results never depend on
/// sort stability or on the order the step function is called in.
pub fn beam_search<S: Clone>(
    start_state: S,
    start_token: usize,
    end_token: Option<usize>,
    max_len: usize,
    config: BeamConfig,
    mut step: impl FnMut(&S, usize) -> Result<(Vec<f64>, S), NnError>,
) -> Result<Vec<Hypothesis>, NnError> {
    let BeamConfig { width, length_penalty: alpha } = config;
    if width == 0 {
        return Err(NnError::Invalid("beam width must be at least 1, got 0".into()));
    }
    check_max_len(max_len)?;
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(NnError::Invalid(format!("length penalty must be a number ≥ 0, got {alpha}")));
    }
    let score = |log_prob: f64, len: usize| log_prob / (len as f64).powf(alpha);
    let mut live = vec![Live { tokens: Vec::new(), log_prob: 0.0, state: start_state }];
    let mut finished: Vec<Hypothesis> = Vec::new();
    for len in 1..=max_len {
        let mut next_states = Vec::with_capacity(live.len());
        // (parent in `live`, token, log-probability of parent + token)
        let mut candidates = Vec::new();
        for (parent, h) in live.iter().enumerate() {
            let last = h.tokens.last().copied().unwrap_or(start_token);
            let (log_probs, next) = step(&h.state, last)?;
            check_step(&log_probs, end_token)?;
            for (token, &lp) in log_probs.iter().enumerate() {
                if lp > f64::NEG_INFINITY {
                    candidates.push((parent, token, h.log_prob + lp));
                }
            }
            next_states.push(next);
        }
        candidates.sort_by(|&(pa, ta, la), &(pb, tb, lb)| {
            lb.total_cmp(&la).then_with(|| live[pa].tokens.cmp(&live[pb].tokens)).then(ta.cmp(&tb))
        });
        let mut next_live = Vec::with_capacity(width);
        for (parent, token, log_prob) in candidates {
            if next_live.len() == width {
                break;
            }
            let mut tokens = live[parent].tokens.clone();
            if Some(token) == end_token {
                finished.push(Hypothesis { tokens, log_prob, score: score(log_prob, len), finished: true });
            } else {
                tokens.push(token);
                next_live.push(Live { tokens, log_prob, state: next_states[parent].clone() });
            }
        }
        rank(&mut finished);
        finished.truncate(width);
        live = next_live;
        // A log-probability only falls as a sequence grows, and with α ≥ 0 the longest
        // allowed length divides a negative log-probability the most, so
        // log_prob / max_len^α bounds every score a live hypothesis can still reach.
        let reachable = live.iter().map(|h| score(h.log_prob, max_len)).fold(f64::NEG_INFINITY, f64::max);
        if live.is_empty() || (finished.len() == width && finished[width - 1].score > reachable) {
            break;
        }
    }
    // After an early stop every live hypothesis scores below the `width` finished ones
    // (its current score is at most its bound), so the truncation below drops it again.
    let mut all = finished;
    all.extend(live.into_iter().map(|h| Hypothesis {
        score: score(h.log_prob, h.tokens.len()),
        tokens: h.tokens,
        log_prob: h.log_prob,
        finished: false,
    }));
    rank(&mut all);
    all.truncate(width);
    Ok(all)
}

/// Best score first; equal scores go to the sequence that is smaller token by token.
fn rank(hypotheses: &mut [Hypothesis]) {
    hypotheses.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.tokens.cmp(&b.tokens)));
}

fn check_max_len(max_len: usize) -> Result<(), NnError> {
    if max_len == 0 {
        return Err(NnError::Invalid("max_len must be at least 1 token, got 0".into()));
    }
    Ok(())
}

/// What the decoders rely on from a step function: one entry per vocabulary token, each a
/// log-probability (≤ 0, so extending a sequence never makes it more likely, which the early
/// stop of [`beam_search`] depends on), and at least one token that can follow.
fn check_step(log_probs: &[f64], end_token: Option<usize>) -> Result<(), NnError> {
    if log_probs.is_empty() {
        return Err(NnError::Invalid("the step function returned no log-probabilities (an empty vocabulary)".into()));
    }
    if let Some(end) = end_token
        && end >= log_probs.len()
    {
        return Err(NnError::Invalid(format!(
            "end token {end} is outside the vocabulary of {} tokens the step function scores",
            log_probs.len()
        )));
    }
    if let Some((token, lp)) = log_probs.iter().enumerate().find(|(_, lp)| lp.is_nan() || **lp > 0.0) {
        return Err(NnError::Invalid(format!(
            "the step function returned {lp} as the log-probability of token {token}; \
             log-probabilities must be ≤ 0 (apply a log-softmax to the logits)"
        )));
    }
    if log_probs.iter().all(|&lp| lp == f64::NEG_INFINITY) {
        return Err(NnError::Invalid("the step function gave every token probability zero".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::scalar::{randn, seeded_rng};
    use ndarray::{Array1, array};

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    fn is_invalid<T: std::fmt::Debug>(r: Result<T, NnError>, needle: &str) -> bool {
        matches!(r, Err(NnError::Invalid(ref m)) if m.contains(needle))
    }

    /// softmax([0, ln 3]) = [1, 3] / 4.  At T = 1/2 the logits double to [0, 2 ln 3], so the
    /// weights are [1, 9] and the probabilities [1/10, 9/10].  At T = 2 they halve: weights
    /// [1, √3].  Top-1 keeps only ln 3.  For [0, ln 3, ln 6] with k = 2 and T = 1/2 the
    /// kept logits double to [2 ln 3, 2 ln 6]: weights [9, 36], probabilities [0, 1/5, 4/5].
    #[test]
    fn golden_probabilities() {
        let l = array![0.0f64, 3f64.ln()];
        assert!(close(&probabilities(l.view(), 1.0, None).unwrap(), &[0.25, 0.75]));
        assert!(close(&probabilities(l.view(), 0.5, None).unwrap(), &[0.1, 0.9]));
        let s3 = 3f64.sqrt();
        assert!(close(&probabilities(l.view(), 2.0, None).unwrap(), &[1.0 / (1.0 + s3), s3 / (1.0 + s3)]));
        assert_eq!(probabilities(l.view(), 1.0, Some(1)).unwrap(), vec![0.0, 1.0]);
        let l3 = array![0.0f64, 3f64.ln(), 6f64.ln()];
        assert!(close(&probabilities(l3.view(), 0.5, Some(2)).unwrap(), &[0.0, 0.2, 0.8]));
        let l32 = array![0.0f32, 3f32.ln()];
        let p = probabilities(l32.view(), 1.0, None).unwrap();
        assert!((p[0] - 0.25).abs() < 1e-6 && (p[1] - 0.75).abs() < 1e-6);
    }

    /// [1, 2, 2, 0]: the two 2s tie for first place. Top-1 keeps the lower index, top-2 both
    /// at weight e⁰ = 1 each, and top-10 is the same as no top-k at all.
    #[test]
    fn top_k_ties_go_to_the_lower_index() {
        let l = array![1.0f64, 2.0, 2.0, 0.0];
        assert_eq!(probabilities(l.view(), 1.0, Some(1)).unwrap(), vec![0.0, 1.0, 0.0, 0.0]);
        assert_eq!(probabilities(l.view(), 1.0, Some(2)).unwrap(), vec![0.0, 0.5, 0.5, 0.0]);
        assert_eq!(probabilities(l.view(), 1.0, Some(10)).unwrap(), probabilities(l.view(), 1.0, None).unwrap());
    }

    /// A temperature of 1e-300 turns every logit gap into -inf or 0 rather than inf - inf.
    #[test]
    fn tiny_temperature_is_argmax_not_nan() {
        let p = probabilities(array![0.5f64, 1.0, -3.0].view(), 1e-300, None).unwrap();
        assert_eq!(p, vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn top_1_always_samples_the_argmax() {
        let mut rng = seeded_rng(3);
        for _ in 0..200 {
            let l: Array1<f64> = randn(6, 1.0, &mut rng);
            let best = argmax(l.view()).unwrap();
            for _ in 0..10 {
                assert_eq!(sample_index(l.view(), 5.0, Some(1), &mut rng).unwrap(), best);
            }
        }
    }

    /// 20,000 draws: a frequency's standard error is at most √(0.25 / 20000) ≈ 0.0035, so a
    /// correct sampler lands within 0.02 (over 5 standard errors) of every probability.
    #[test]
    fn empirical_frequencies_match_probabilities() {
        let l = array![0.0f64, 3f64.ln(), 6f64.ln()];
        for (t, k, expected) in [(1.0, None, [0.1, 0.3, 0.6]), (0.5, Some(2), [0.0, 0.2, 0.8])] {
            let mut rng = seeded_rng(2024);
            let mut counts = [0usize; 3];
            let n = 20_000;
            for _ in 0..n {
                counts[sample_index(l.view(), t, k, &mut rng).unwrap()] += 1;
            }
            for (c, e) in counts.iter().zip(expected) {
                let f = *c as f64 / n as f64;
                assert!((f - e).abs() < 0.02, "T={t} k={k:?}: counts {counts:?}, expected {expected:?}");
            }
            if k.is_some() {
                assert_eq!(counts[0], 0, "top-k excluded token was drawn");
            }
        }
    }

    #[test]
    fn bad_sampling_arguments_are_errors() {
        let l = array![0.0f64, 1.0];
        let mut rng = seeded_rng(0);
        assert!(is_invalid(probabilities(l.view(), 0.0, None), "temperature must be a positive number, got 0"));
        assert!(is_invalid(probabilities(l.view(), -1.0, None), "temperature"));
        assert!(is_invalid(probabilities(l.view(), f64::NAN, None), "temperature"));
        assert!(is_invalid(probabilities(l.view(), f64::INFINITY, None), "temperature"));
        assert!(is_invalid(probabilities(l.view(), 1.0, Some(0)), "top_k"));
        assert!(is_invalid(probabilities(Array1::<f64>::zeros(0).view(), 1.0, None), "empty"));
        assert!(is_invalid(probabilities(array![0.0f64, f64::NAN].view(), 1.0, None), "logit 1"));
        assert!(is_invalid(probabilities(array![f64::INFINITY, 0.0].view(), 1.0, None), "logit 0"));
        assert!(is_invalid(sample_index(l.view(), 0.0, None, &mut rng), "temperature"));
        assert!(is_invalid(sample_index(l.view(), 1.0, Some(0), &mut rng), "top_k"));
        assert!(is_invalid(sample_index(Array1::<f32>::zeros(0).view(), 1.0, None, &mut rng), "empty"));
    }

    #[test]
    fn argmax_takes_the_first_maximum_and_skips_nan() {
        assert_eq!(argmax(array![1.0f64, 3.0, 3.0, 2.0].view()), Some(1));
        assert_eq!(argmax(array![f64::NAN, 1.0, f64::NAN, 0.5].view()), Some(1));
        assert_eq!(argmax(array![f32::NAN].view()), None);
        assert_eq!(argmax(Array1::<f64>::zeros(0).view()), None);
    }

    // Toy language models over END = 0, A = 1, B = 2 (and BOS = 3, the start token), given
    // as tables from the history (BOS first) to next-token probabilities [END, A, B, BOS].
    // Histories not in a table end with certainty.
    const END: usize = 0;
    const A: usize = 1;
    const B: usize = 2;
    const BOS: usize = 3;

    type Step = Box<dyn FnMut(&Vec<usize>, usize) -> Result<(Vec<f64>, Vec<usize>), NnError>>;

    /// A step function whose state is the history, counting its calls in `calls`.
    fn table_lm(table: fn(&[usize]) -> Option<[f64; 4]>, calls: std::rc::Rc<std::cell::Cell<usize>>) -> Step {
        Box::new(move |history: &Vec<usize>, token: usize| {
            calls.set(calls.get() + 1);
            let mut h = history.clone();
            h.push(token);
            let p = table(&h).unwrap_or([1.0, 0.0, 0.0, 0.0]);
            Ok((p.iter().map(|p| p.ln()).collect(), h))
        })
    }

    fn lm(table: fn(&[usize]) -> Option<[f64; 4]>) -> Step {
        table_lm(table, Default::default())
    }

    /// Greedy takes A (0.6 > 0.4) and then END (0.4 > 0.3): P(A END) = 0.6 · 0.4 = 0.24.
    /// But B END has P = 0.4 · 0.9 = 0.36.
    fn trap(h: &[usize]) -> Option<[f64; 4]> {
        match h {
            [BOS] => Some([0.0, 0.6, 0.4, 0.0]),
            [BOS, A] => Some([0.4, 0.3, 0.3, 0.0]),
            [BOS, B] => Some([0.9, 0.05, 0.05, 0.0]),
            _ => None,
        }
    }

    fn beam(width: usize, length_penalty: f64) -> BeamConfig {
        BeamConfig { width, length_penalty }
    }

    /// On `trap`, width 2 keeps A (0.6) and B (0.4) after step 1. Step 2 ranks
    /// B END 0.36, A END 0.24, A A 0.18, A B 0.18, B A 0.02, B B 0.02: the two END
    /// continuations finish, A A and A B fill the beam. Both finished hypotheses beat 0.18,
    /// which can only shrink, so the search stops after 1 + 2 = 3 step calls and returns
    /// [B] (ln 0.36) before [A] (ln 0.24), while greedy returns [A].
    #[test]
    fn beam_finds_the_sequence_greedy_misses() {
        assert_eq!(greedy_decode(vec![], BOS, Some(END), 10, lm(trap)).unwrap(), vec![A]);
        let calls = std::rc::Rc::new(std::cell::Cell::new(0));
        let hyps = beam_search(vec![], BOS, Some(END), 10, beam(2, 0.0), table_lm(trap, calls.clone())).unwrap();
        assert_eq!(hyps.len(), 2);
        assert_eq!(hyps[0].tokens, vec![B]);
        assert!((hyps[0].log_prob - 0.36f64.ln()).abs() < 1e-12 && hyps[0].score == hyps[0].log_prob);
        assert_eq!(hyps[1].tokens, vec![A]);
        assert!((hyps[1].log_prob - 0.24f64.ln()).abs() < 1e-12);
        assert!(hyps.iter().all(|h| h.finished));
        assert_eq!(calls.get(), 3, "did not stop once the finished hypotheses were unbeatable");
    }

    /// Start: END 0.5, A 0.3, B 0.2; after A: END 0.2, A 0.8; after A A and after B: END.
    /// The finished sequences are [] (0.5, len 1), [A A] (0.3·0.8 = 0.24, len 3),
    /// [B] (0.2, len 2) and [A] (0.3·0.2 = 0.06, len 2).
    /// α = 0: ln 0.5 ≈ -0.693 beats ln 0.24 ≈ -1.427, so [] wins, [A A] second.
    /// α = 1: ln 0.24 / 3 ≈ -0.476 beats ln 0.5 / 1 ≈ -0.693 and ln 0.2 / 2 ≈ -0.805:
    /// [A A] wins, [] second.
    fn short_or_long(h: &[usize]) -> Option<[f64; 4]> {
        match h {
            [BOS] => Some([0.5, 0.3, 0.2, 0.0]),
            [BOS, A] => Some([0.2, 0.8, 0.0, 0.0]),
            _ => None,
        }
    }

    #[test]
    fn length_penalty_changes_the_winner() {
        let raw = beam_search(vec![], BOS, Some(END), 10, beam(2, 0.0), lm(short_or_long)).unwrap();
        assert_eq!(raw.iter().map(|h| h.tokens.clone()).collect::<Vec<_>>(), vec![vec![], vec![A, A]]);
        assert!((raw[0].score - 0.5f64.ln()).abs() < 1e-12);
        let mean = beam_search(vec![], BOS, Some(END), 10, beam(2, 1.0), lm(short_or_long)).unwrap();
        assert_eq!(mean.iter().map(|h| h.tokens.clone()).collect::<Vec<_>>(), vec![vec![A, A], vec![]]);
        assert!((mean[0].score - 0.24f64.ln() / 3.0).abs() < 1e-12);
        assert!((mean[0].log_prob - 0.24f64.ln()).abs() < 1e-12);
    }

    /// With max_len 1 nothing on `trap` can finish (END has probability 0 at the start), so
    /// the unfinished [A] (ln 0.6) and [B] (ln 0.4) come back, scored over length 1.
    #[test]
    fn max_len_returns_unfinished_hypotheses() {
        let hyps = beam_search(vec![], BOS, Some(END), 1, beam(3, 1.0), lm(trap)).unwrap();
        assert_eq!(hyps.len(), 2);
        assert_eq!((hyps[0].tokens.clone(), hyps[0].finished), (vec![A], false));
        assert_eq!((hyps[1].tokens.clone(), hyps[1].finished), (vec![B], false));
        assert!((hyps[0].score - 0.6f64.ln()).abs() < 1e-12 && (hyps[1].score - 0.4f64.ln()).abs() < 1e-12);
        assert_eq!(greedy_decode(vec![], BOS, Some(END), 1, lm(trap)).unwrap(), vec![A]);
    }

    /// A and B tie at 0.5 each, then both end: ties go to the lower token, in greedy and beam.
    fn tie(h: &[usize]) -> Option<[f64; 4]> {
        match h {
            [BOS] => Some([0.0, 0.5, 0.5, 0.0]),
            _ => None,
        }
    }

    #[test]
    fn ties_break_towards_the_lower_token() {
        assert_eq!(greedy_decode(vec![], BOS, Some(END), 5, lm(tie)).unwrap(), vec![A]);
        let one = beam_search(vec![], BOS, Some(END), 5, beam(1, 0.0), lm(tie)).unwrap();
        assert_eq!(one.iter().map(|h| h.tokens.clone()).collect::<Vec<_>>(), vec![vec![A]]);
        let two = beam_search(vec![], BOS, Some(END), 5, beam(2, 0.5), lm(tie)).unwrap();
        assert_eq!(two.iter().map(|h| h.tokens.clone()).collect::<Vec<_>>(), vec![vec![A], vec![B]]);
    }

    /// A language model over 5 tokens (END = 0, start token 5) whose next-token
    /// log-probabilities are a log-softmax of random logits seeded by the whole history, so
    /// every prefix has its own fixed distribution.
    fn random_lm(seed: u64) -> impl FnMut(&u64, usize) -> Result<(Vec<f64>, u64), NnError> {
        move |&h: &u64, token: usize| {
            let h = h.wrapping_mul(1_000_003).wrapping_add(token as u64 + 1);
            let logits: Array1<f64> = randn(5, 2.0, &mut seeded_rng(h ^ seed));
            let m = logits.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            let lse = m + logits.mapv(|v| (v - m).exp()).sum().ln();
            Ok((logits.iter().map(|v| v - lse).collect(), h))
        }
    }

    #[test]
    fn width_1_equals_greedy() {
        for seed in 0..40 {
            for end in [Some(0), None] {
                let greedy = greedy_decode(0, 5, end, 8, random_lm(seed)).unwrap();
                let hyps = beam_search(0, 5, end, 8, beam(1, 0.0), random_lm(seed)).unwrap();
                assert_eq!(hyps.len(), 1);
                assert_eq!(hyps[0].tokens, greedy, "seed {seed}, end {end:?}");
            }
        }
        assert_eq!(beam_search(vec![], BOS, Some(END), 10, beam(1, 0.0), lm(trap)).unwrap()[0].tokens, vec![A]);
    }

    /// Replays each returned hypothesis through the model: its log-probability and score must
    /// be what the tokens (plus END when finished) actually get, best first, and a second
    /// run must give exactly the same hypotheses.
    #[test]
    fn beam_search_is_consistent_and_deterministic() {
        for seed in 0..20 {
            let alpha = 0.7;
            let cfg = beam(3, alpha);
            let hyps = beam_search(0, 5, Some(0), 6, cfg, random_lm(seed)).unwrap();
            assert_eq!(hyps, beam_search(0, 5, Some(0), 6, cfg, random_lm(seed)).unwrap());
            assert!(!hyps.is_empty() && hyps.len() <= 3);
            assert!(hyps.windows(2).all(|w| w[0].score >= w[1].score));
            let mut step = random_lm(seed);
            for h in &hyps {
                let mut seq = h.tokens.clone();
                if h.finished {
                    seq.push(0);
                } else {
                    assert_eq!(seq.len(), 6);
                }
                let (mut state, mut token, mut lp) = (0, 5, 0.0);
                for &t in &seq {
                    let (log_probs, next) = step(&state, token).unwrap();
                    lp += log_probs[t];
                    (state, token) = (next, t);
                }
                assert!((h.log_prob - lp).abs() < 1e-9, "seed {seed}: {h:?} replays to {lp}");
                assert!((h.score - lp / (seq.len() as f64).powf(alpha)).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn bad_decoding_arguments_are_errors() {
        assert!(is_invalid(beam_search(vec![], BOS, Some(END), 5, beam(0, 0.0), lm(trap)), "width"));
        assert!(is_invalid(beam_search(vec![], BOS, Some(END), 0, beam(2, 0.0), lm(trap)), "max_len"));
        assert!(is_invalid(greedy_decode(vec![], BOS, Some(END), 0, lm(trap)), "max_len"));
        assert!(is_invalid(beam_search(vec![], BOS, Some(END), 5, beam(2, -1.0), lm(trap)), "length penalty"));
        assert!(is_invalid(beam_search(vec![], BOS, Some(END), 5, beam(2, f64::NAN), lm(trap)), "length penalty"));
        assert!(is_invalid(beam_search(vec![], BOS, Some(7), 5, beam(2, 0.0), lm(trap)), "end token 7"));
        assert!(is_invalid(greedy_decode(vec![], BOS, Some(7), 5, lm(trap)), "end token 7"));
        let fixed = |v: Vec<f64>| move |_: &(), _: usize| Ok((v.clone(), ()));
        for (bad, needle) in [
            (vec![], "no log-probabilities"),
            (vec![-0.1, f64::NAN], "token 1"),
            (vec![0.5, -1.0], "must be ≤ 0"),
            (vec![f64::NEG_INFINITY; 3], "probability zero"),
        ] {
            assert!(is_invalid(greedy_decode((), 0, None, 3, fixed(bad.clone())), needle), "{bad:?}");
            assert!(is_invalid(beam_search((), 0, None, 3, beam(2, 0.0), fixed(bad.clone())), needle), "{bad:?}");
        }
        let failing = |_: &(), _: usize| -> Result<(Vec<f64>, ()), NnError> { Err(NnError::Invalid("model broke".into())) };
        assert!(is_invalid(beam_search((), 0, None, 3, beam(2, 0.0), failing), "model broke"));
        assert!(is_invalid(greedy_decode((), 0, None, 3, failing), "model broke"));
    }
}
