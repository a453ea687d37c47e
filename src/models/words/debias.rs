//! The course's debiasing (Bolukbasi et al. 2016): a bias direction `g` from one pair
//! (`woman - man`) or several pairs (first principal component of the pairs' centred
//! vectors), neutralising words that should not lean either way, equalising pairs that
//! should differ only along `g`, and a report of projections before and after.
//! Everything here works on unit vectors, as the equalise formula assumes.

use ndarray::{Array1, Array2, ArrayView1};

use super::ops::cosine;
use super::{WordVectors, WordsError};

fn unit(v: &WordVectors, w: &str) -> Result<Array1<f32>, WordsError> {
    v.get_unit(w).map(|e| e.to_owned()).ok_or_else(|| WordsError::Unknown(w.into()))
}

/// The bias direction of one pair: `e_a - e_b` (`[D]`), e.g. `woman - man`.
pub fn direction_from_pair(v: &WordVectors, a: &str, b: &str) -> Result<Array1<f32>, WordsError> {
    Ok(unit(v, a)? - unit(v, b)?)
}

/// The bias direction of several pairs: each pair is centred on its mean, and the first
/// principal component of those centred vectors (power iteration on the `[D, D]` scatter
/// matrix) is scaled to unit length and signed to agree with the mean of `a - b`.
pub fn direction_from_pairs(v: &WordVectors, pairs: &[(String, String)]) -> Result<Array1<f32>, WordsError> {
    if pairs.is_empty() {
        return Err(WordsError::Invalid("no word pairs for the bias direction".into()));
    }
    let d = v.dim();
    let mut scatter = Array2::<f64>::zeros((d, d));
    let mut mean_diff = Array1::<f64>::zeros(d);
    for (a, b) in pairs {
        let (ea, eb) = (unit(v, a)?.mapv(f64::from), unit(v, b)?.mapv(f64::from));
        let half = (&ea - &eb) / 2.0;
        // The centred vectors are +half and -half: their scatter is 2 half halfᵀ.
        let col = half.view().insert_axis(ndarray::Axis(1));
        scatter = scatter + 2.0 * col.dot(&col.t());
        mean_diff += &(2.0 * &half);
    }
    let mut x = if mean_diff.dot(&mean_diff) > 0.0 { mean_diff.clone() } else { Array1::ones(d) };
    for _ in 0..500 {
        let next = scatter.dot(&x);
        let n = next.dot(&next).sqrt();
        if n == 0.0 {
            return Err(WordsError::Invalid("the pairs give no direction (each pair's words are identical)".into()));
        }
        let next = next / n;
        let change = (&next - &x).mapv(f64::abs).sum();
        x = next;
        if change < 1e-12 {
            break;
        }
    }
    if x.dot(&mean_diff) < 0.0 {
        x = -x;
    }
    Ok(x.mapv(|t| t as f32))
}

/// `e` without its component along `g`: `e - (e·g / |g|²) g`.
pub fn neutralize(e: ArrayView1<f32>, g: ArrayView1<f32>) -> Array1<f32> {
    let gg = g.dot(&g);
    if gg == 0.0 {
        return e.to_owned();
    }
    &e - &(&g * (e.dot(&g) / gg))
}

/// The course's equalize for a pair of unit vectors: both end up with the pair's mean
/// component orthogonal to `g` plus equal and opposite components along `g`, sized so the
/// results are unit vectors:
/// `μ = (e1 + e2)/2`, `μ_B = proj_g μ`, `μ_⊥ = μ - μ_B`,
/// `e_i' = μ_⊥ + sqrt(|1 - |μ_⊥|²|) (proj_g e_i - μ_B) / |e_i - μ_⊥ - μ_B|`.
pub fn equalize(e1: ArrayView1<f32>, e2: ArrayView1<f32>, g: ArrayView1<f32>) -> (Array1<f32>, Array1<f32>) {
    let gg = g.dot(&g).max(f32::MIN_POSITIVE);
    let proj = |e: &Array1<f32>| &g * (e.dot(&g) / gg);
    let mu = (&e1 + &e2) / 2.0;
    let mu_b = proj(&mu);
    let mu_orth = &mu - &mu_b;
    let scale = (1.0 - mu_orth.dot(&mu_orth)).abs().sqrt();
    let fix = |e: ArrayView1<f32>| {
        let e = e.to_owned();
        let e_b = proj(&e);
        let rest = &e - &mu_orth - &mu_b;
        let n = rest.dot(&rest).sqrt().max(f32::MIN_POSITIVE);
        &mu_orth + &((&e_b - &mu_b) * (scale / n))
    };
    (fix(e1), fix(e2))
}

/// One word's cosine with the bias direction before and after.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub word: String,
    pub before: f32,
    pub after: f32,
}

/// What [`debias`] did, for printing or plotting.
#[derive(Clone, Debug)]
pub struct Report {
    pub direction: Array1<f32>,
    pub neutral: Vec<Row>,
    pub equalized: Vec<(Row, Row)>,
    /// Words of the request that are not in the vocabulary (skipped, not an error).
    pub unknown: Vec<String>,
}

/// Neutralises `neutral` words and equalises `pairs` in `v` (in place, at unit length)
/// along `g`, and reports every word's cosine with `g` before and after.
pub fn debias(v: &mut WordVectors, g: ArrayView1<f32>, neutral: &[String], pairs: &[(String, String)]) -> Result<Report, WordsError> {
    if g.len() != v.dim() || g.dot(&g) == 0.0 {
        return Err(WordsError::Invalid("the bias direction is zero or has the wrong length".into()));
    }
    let mut report = Report { direction: g.to_owned(), neutral: Vec::new(), equalized: Vec::new(), unknown: Vec::new() };
    for w in neutral {
        let Some(e) = v.get_unit(w).map(|e| e.to_owned()) else {
            report.unknown.push(w.clone());
            continue;
        };
        let after = neutralize(e.view(), g);
        v.set(w, after.view())?;
        report.neutral.push(Row { word: w.clone(), before: cosine(e.view(), g), after: cosine(after.view(), g) });
    }
    for (a, b) in pairs {
        let (Some(ea), Some(eb)) = (v.get_unit(a).map(|e| e.to_owned()), v.get_unit(b).map(|e| e.to_owned())) else {
            report.unknown.extend([a, b].into_iter().filter(|w| v.get(w).is_none()).cloned());
            continue;
        };
        let (na, nb) = equalize(ea.view(), eb.view(), g);
        v.set(a, na.view())?;
        v.set(b, nb.view())?;
        let row = |w: &str, e: &Array1<f32>, n: &Array1<f32>| Row { word: w.into(), before: cosine(e.view(), g), after: cosine(n.view(), g) };
        report.equalized.push((row(a, &ea, &na), row(b, &eb, &nb)));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// e = (3, 4), g = (1, 0): e·g/|g|² = 3, so e - 3 g = (0, 4).
    #[test]
    fn neutralize_golden() {
        let r = neutralize(array![3.0, 4.0].view(), array![1.0, 0.0].view());
        assert_eq!(r.to_vec(), [0.0, 4.0]);
        // g = (0, 2): e·g/|g|² = 8/4 = 2, e - 2 g = (3, 0).
        assert_eq!(neutralize(array![3.0, 4.0].view(), array![0.0, 2.0].view()).to_vec(), [3.0, 0.0]);
    }

    /// e1 = (0.6, 0.8), e2 = (-0.8, 0.6), g = (1, 0):
    /// μ = (-0.1, 0.7), μ_B = (-0.1, 0), μ_⊥ = (0, 0.7), sqrt(1 - 0.49) = 0.714143;
    /// e1: proj = (0.6, 0) - μ_B = (0.7, 0); |e1 - μ_⊥ - μ_B| = |(0.7, 0.1)| = 0.707107;
    /// e1' = (0, 0.7) + 0.714143 (0.7, 0) / 0.707107 = (0.706965, 0.7).
    /// e2: (-0.8, 0) - μ_B = (-0.7, 0); |(-0.7, -0.1)| = 0.707107; e2' = (-0.706965, 0.7).
    #[test]
    fn equalize_golden_and_symmetric() {
        let (a, b) = equalize(array![0.6, 0.8].view(), array![-0.8, 0.6].view(), array![1.0, 0.0].view());
        assert!((a[0] - 0.706_965).abs() < 1e-5 && (a[1] - 0.7).abs() < 1e-6, "{a}");
        assert!((b[0] + 0.706_965).abs() < 1e-5 && (b[1] - 0.7).abs() < 1e-6, "{b}");
    }

    fn tiny() -> WordVectors {
        let words = ["man", "woman", "he", "she", "doctor", "king", "queen"].map(String::from).to_vec();
        WordVectors::new(
            words,
            array![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.5, 0.3, 0.8], [0.8, 0.2, 0.5], [0.3, 0.7, 0.5]],
        )
        .unwrap()
    }

    /// Pairs (woman, man) and (she, he): unit centred halves are (-1, 1, 0)/2 and
    /// (-0.8, 0.8, 0)/(2·0.9055): both along (-1, 1, 0), so the component is (-1, 1, 0)/√2.
    #[test]
    fn several_pairs_give_their_common_axis() {
        let v = tiny();
        let pairs = [("woman", "man"), ("she", "he")].map(|(a, b)| (a.to_string(), b.to_string()));
        let g = direction_from_pairs(&v, &pairs).unwrap();
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!((g[0] + s).abs() < 1e-5 && (g[1] - s).abs() < 1e-5 && g[2].abs() < 1e-5, "{g}");
        let one = direction_from_pair(&v, "woman", "man").unwrap();
        assert_eq!(one.to_vec(), [-1.0, 1.0, 0.0]);
        assert!(direction_from_pairs(&v, &[]).is_err());
        assert!(direction_from_pair(&v, "woman", "zzz").is_err());
    }

    #[test]
    fn debias_zeroes_neutral_words_and_balances_pairs() {
        let mut v = tiny();
        let g = direction_from_pair(&v, "woman", "man").unwrap();
        let r = debias(&mut v, g.view(), &["doctor".into(), "nope".into()], &[("king".into(), "queen".into())]).unwrap();
        assert_eq!(r.unknown, ["nope"]);
        assert!(r.neutral[0].before < -0.05 && r.neutral[0].after.abs() < 1e-6, "{:?}", r.neutral);
        let (k, q) = &r.equalized[0];
        assert!((k.after + q.after).abs() < 1e-5, "{k:?} {q:?}");
        assert!(cosine(v.get("doctor").unwrap(), g.view()).abs() < 1e-6);
        // The pair now differs only along g.
        let diff = &v.get("king").unwrap() - &v.get("queen").unwrap();
        assert!(neutralize(diff.view(), g.view()).iter().all(|x| x.abs() < 1e-5));
    }
}
