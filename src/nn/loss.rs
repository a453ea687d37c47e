//! Losses, each returning the loss and its gradient with respect to the logits.

use ndarray::{Array2, ArrayView1, ArrayView2, Zip};

use super::activation::sigmoid;
use super::{NnError, Scalar};

/// Summed loss, its gradient, and how many terms it summed.
#[derive(Debug)]
pub struct LossGrad<F> {
    pub loss: F,
    pub dlogits: Array2<F>,
    pub count: usize,
}

/// Softmax cross-entropy per row: logits [N, V], targets [N], optional 0/1 mask [N]
/// (padded steps contribute nothing). loss = Σ_n m_n · -log softmax(logits_n)[target_n];
/// dlogits = m_n · (softmax(logits_n) - onehot(target_n)).
pub fn softmax_cross_entropy<F: Scalar>(
    logits: ArrayView2<F>,
    targets: &[usize],
    mask: Option<ArrayView1<F>>,
) -> Result<LossGrad<F>, NnError> {
    let (n, v) = logits.dim();
    if targets.len() != n {
        return Err(NnError::Invalid(format!("{} targets for {n} rows of logits", targets.len())));
    }
    if let Some(&bad) = targets.iter().find(|&&t| t >= v) {
        return Err(NnError::Invalid(format!("target {bad} outside {v} classes")));
    }
    let mut d = super::activation::softmax_rows(logits);
    let mut loss = F::zero();
    let mut count = 0;
    for (i, (mut row, &t)) in d.rows_mut().into_iter().zip(targets).enumerate() {
        let m = mask.map_or(F::one(), |m| m[i]);
        if m == F::zero() {
            row.fill(F::zero());
            continue;
        }
        // log softmax from the probabilities, floored so a zero probability gives a large finite loss
        loss -= m * row[t].max(F::min_positive_value()).ln();
        row[t] -= F::one();
        if m != F::one() {
            row.mapv_inplace(|g| g * m);
        }
        count += 1;
    }
    Ok(LossGrad { loss, dlogits: d, count })
}

/// Sigmoid binary cross-entropy, element-wise: logits and targets in [0, 1], both [N, K].
/// loss = Σ max(z, 0) - z·y + log(1 + e^{-|z|}) (the overflow-free form of
/// -y log σ(z) - (1-y) log(1-σ(z))); dlogits = σ(z) - y.
pub fn sigmoid_binary_cross_entropy<F: Scalar>(logits: ArrayView2<F>, targets: ArrayView2<F>) -> Result<LossGrad<F>, NnError> {
    if logits.dim() != targets.dim() {
        return Err(NnError::Invalid(format!("logits {:?} but targets {:?}", logits.dim(), targets.dim())));
    }
    let mut loss = F::zero();
    Zip::from(&logits).and(&targets).for_each(|&z, &y| {
        loss += z.max(F::zero()) - z * y + (F::one() + (-z.abs()).exp()).ln();
    });
    let dlogits = Zip::from(&logits).and(&targets).map_collect(|&z, &y| sigmoid(z) - y);
    Ok(LossGrad { loss, dlogits, count: logits.len() })
}

/// L2 weight penalty λ/2 |w|² for `w` of any shape; adds its gradient λ w into `grad`.
pub fn l2_penalty<F: Scalar>(w: &ndarray::ArrayViewD<F>, grad: &mut ndarray::ArrayViewMutD<F>, lambda: f64) -> F {
    if lambda == 0.0 {
        return F::zero();
    }
    grad.scaled_add(F::of(lambda), w);
    F::of(lambda / 2.0) * w.iter().map(|&x| x * x).sum::<F>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::check_input;
    use crate::nn::scalar::{randn, seeded_rng};
    use ndarray::{Array1, array};

    /// logits [0, ln 3] -> softmax [1/4, 3/4]; target 1: loss = -ln(3/4) = ln(4/3),
    /// dlogits = [1/4, 3/4 - 1] = [1/4, -1/4]. A masked second row adds nothing.
    #[test]
    fn golden_cross_entropy() {
        let logits = array![[0.0f64, 3f64.ln()], [5.0, -5.0]];
        let mask = array![1.0, 0.0];
        let lg = softmax_cross_entropy(logits.view(), &[1, 0], Some(mask.view())).unwrap();
        assert!((lg.loss - (4.0f64 / 3.0).ln()).abs() < 1e-12);
        assert!((lg.dlogits[[0, 0]] - 0.25).abs() < 1e-12 && (lg.dlogits[[0, 1]] + 0.25).abs() < 1e-12);
        assert_eq!(lg.dlogits.row(1).sum(), 0.0);
        assert_eq!(lg.count, 1);
    }

    /// z = 0, y = 1: loss = ln 2, d = σ(0) - 1 = -1/2. z = 1000, y = 0: loss = 1000 (no overflow).
    #[test]
    fn golden_binary_cross_entropy() {
        let lg = sigmoid_binary_cross_entropy(array![[0.0f64, 1000.0]].view(), array![[1.0, 0.0]].view()).unwrap();
        assert!((lg.loss - (2f64.ln() + 1000.0)).abs() < 1e-9);
        assert!((lg.dlogits[[0, 0]] + 0.5).abs() < 1e-12 && (lg.dlogits[[0, 1]] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = seeded_rng(11);
        let logits: Array2<f64> = randn((5, 4), 2.0, &mut rng);
        let targets = [0, 3, 2, 2, 1];
        let mask: Array1<f64> = array![1.0, 1.0, 0.0, 1.0, 1.0];
        let lg = softmax_cross_entropy(logits.view(), &targets, Some(mask.view())).unwrap();
        let err = check_input(&logits, &lg.dlogits, |z| softmax_cross_entropy(z.view(), &targets, Some(mask.view())).unwrap().loss);
        assert!(err < 1e-7, "cross-entropy: {err}");

        let y = randn::<f64, _, _>((3, 4), 1.0, &mut rng).mapv(crate::nn::activation::sigmoid);
        let lg = sigmoid_binary_cross_entropy(logits.slice(ndarray::s![..3, ..]), y.view()).unwrap();
        let z = logits.slice(ndarray::s![..3, ..]).to_owned();
        let err = check_input(&z, &lg.dlogits, |z| sigmoid_binary_cross_entropy(z.view(), y.view()).unwrap().loss);
        assert!(err < 1e-7, "binary cross-entropy: {err}");
    }

    #[test]
    fn bad_targets_are_errors() {
        let logits = array![[0.0f32, 1.0]];
        assert!(softmax_cross_entropy(logits.view(), &[2], None).is_err());
        assert!(softmax_cross_entropy(logits.view(), &[0, 1], None).is_err());
    }

    /// w = (1, -2), λ = 0.5: penalty 0.5/2 · (1 + 4) = 1.25; gradient 0.1 + 0.5·1 = 0.6 and
    /// 0 + 0.5·(-2) = -1 on top of what was there; λ = 0 leaves both alone.
    #[test]
    fn golden_l2_penalty() {
        let w = ndarray::array![1.0f64, -2.0].into_dyn();
        let mut g = ndarray::array![0.1f64, 0.0].into_dyn();
        assert!((l2_penalty(&w.view(), &mut g.view_mut(), 0.5) - 1.25).abs() < 1e-12);
        assert!((g[0] - 0.6).abs() < 1e-12 && (g[1] + 1.0).abs() < 1e-12);
        assert_eq!(l2_penalty(&w.view(), &mut g.view_mut(), 0.0), 0.0);
        assert!((g[0] - 0.6).abs() < 1e-12);
    }
}
