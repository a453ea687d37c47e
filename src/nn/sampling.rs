//! Drawing tokens from a model's output distribution.

use ndarray::ArrayView1;

use super::{NnError, Scalar};

/// softmax(logits / temperature), keeping only the `top_k` largest logits when given.
pub fn probabilities<F: Scalar>(logits: ArrayView1<F>, temperature: f64, top_k: Option<usize>) -> Result<Vec<f64>, NnError> {
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(NnError::Invalid(format!("temperature must be a positive number, got {temperature}")));
    }
    if logits.is_empty() || logits.iter().any(|v| !v.is_finite()) {
        return Err(NnError::Invalid("logits must be a non-empty list of finite numbers".into()));
    }
    let k = top_k.unwrap_or(logits.len());
    if k == 0 {
        return Err(NnError::Invalid("top-k must be at least 1".into()));
    }
    let scaled: Vec<f64> = logits.iter().map(|v| v.as_f64() / temperature).collect();
    let mut order: Vec<usize> = (0..scaled.len()).collect();
    order.sort_by(|&a, &b| scaled[b].total_cmp(&scaled[a]).then(a.cmp(&b)));
    let max = scaled[order[0]];
    let mut p = vec![0.0; scaled.len()];
    for &i in order.iter().take(k) {
        p[i] = (scaled[i] - max).exp();
    }
    let sum: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= sum);
    Ok(p)
}

/// One draw from [`probabilities`] by inverse CDF.
pub fn sample_index<F: Scalar>(
    logits: ArrayView1<F>,
    temperature: f64,
    top_k: Option<usize>,
    rng: &mut impl rand::Rng,
) -> Result<usize, NnError> {
    let p = probabilities(logits, temperature, top_k)?;
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, &pi) in p.iter().enumerate() {
        acc += pi;
        if u < acc {
            return Ok(i);
        }
    }
    // Rounding can leave the sum a hair under 1: the last possible token takes the rest.
    Ok(p.iter().rposition(|&v| v > 0.0).unwrap_or(0))
}
