//! Numerical gradient checks by central differences: the ground truth every hand-derived
//! backward pass in this crate is tested against.
//!
//! Errors are relative, `|a - n| / max(|a|, |n|, 1e-3)`, so large gradients are compared
//! by their digits and near-zero ones by an absolute floor (central differences in f64
//! leave ~1e-10 of noise there).

use ndarray::{Array, Dimension};

use super::{Module, Scalar};

const EPS: f64 = 1e-5;

fn rel_err(a: f64, n: f64) -> f64 {
    (a - n).abs() / a.abs().max(n.abs()).max(1e-3)
}

/// Largest relative error between `analytic` (dL/dx) and central differences of `f` at `x`.
pub fn check_input<F: Scalar, D: Dimension>(
    x: &Array<F, D>,
    analytic: &Array<F, D>,
    mut f: impl FnMut(&Array<F, D>) -> F,
) -> f64 {
    assert_eq!(x.shape(), analytic.shape(), "gradient shape differs from input shape");
    let mut probe = x.clone();
    let mut worst = 0.0f64;
    for i in 0..x.len() {
        let orig = probe.as_slice_memory_order().expect("standard layout")[i];
        let set = |p: &mut Array<F, D>, v: F| p.as_slice_memory_order_mut().expect("standard layout")[i] = v;
        set(&mut probe, orig + F::of(EPS));
        let plus = f(&probe).as_f64();
        set(&mut probe, orig - F::of(EPS));
        let minus = f(&probe).as_f64();
        set(&mut probe, orig);
        let numeric = (plus - minus) / (2.0 * EPS);
        let a = analytic.as_slice_memory_order().expect("standard layout")[i].as_f64();
        worst = worst.max(rel_err(a, numeric));
    }
    worst
}

/// The worst mismatch found by [`check_params`].
#[derive(Debug)]
pub struct Report {
    pub max_rel_error: f64,
    pub worst_param: String,
    pub checked: usize,
}

/// Checks every trainable parameter of `model`. `loss` must zero the gradients, run
/// forward and backward, and return the scalar loss; it is called once for the analytic
/// gradients and twice per probed element.
pub fn check_params<F: Scalar, M: Module<F>>(model: &mut M, mut loss: impl FnMut(&mut M) -> F) -> Report {
    loss(model);
    let mut analytic: Vec<(String, Vec<F>, bool)> = Vec::new();
    model.visit("", &mut |name, p| {
        analytic.push((name.to_string(), p.grad.iter().copied().collect(), p.trainable));
    });
    let mut report = Report { max_rel_error: 0.0, worst_param: String::new(), checked: 0 };
    for (k, (name, grads, trainable)) in analytic.iter().enumerate() {
        if !trainable {
            continue;
        }
        for (i, &a) in grads.iter().enumerate() {
            let orig = nudge(model, k, i, None);
            nudge(model, k, i, Some(orig + F::of(EPS)));
            let plus = loss(model).as_f64();
            nudge(model, k, i, Some(orig - F::of(EPS)));
            let minus = loss(model).as_f64();
            nudge(model, k, i, Some(orig));
            let err = rel_err(a.as_f64(), (plus - minus) / (2.0 * EPS));
            report.checked += 1;
            if err > report.max_rel_error {
                report.max_rel_error = err;
                report.worst_param = format!("{name}[{i}]");
            }
        }
    }
    report
}

/// Reads element `i` (in logical order) of the `k`-th parameter, optionally writing `v`.
fn nudge<F: Scalar, M: Module<F>>(model: &mut M, k: usize, i: usize, v: Option<F>) -> F {
    let mut seen = 0;
    let mut old = F::zero();
    model.visit("", &mut |_, mut p| {
        if seen == k {
            let cell = p.value.iter_mut().nth(i).expect("element index within parameter");
            old = *cell;
            if let Some(v) = v {
                *cell = v;
            }
        }
        seen += 1;
    });
    old
}
