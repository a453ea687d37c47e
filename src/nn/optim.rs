//! Optimizers and gradient clipping over any [`Module`].

use ndarray::{ArrayD, Zip};

use super::{Module, Scalar};

/// Plain gradient descent: θ -= lr · g.
#[derive(Clone, Debug)]
pub struct Sgd {
    pub lr: f64,
}

/// Adam (Kingma & Ba 2015) with bias correction. State is kept per parameter in the
/// module's visiting order, created on the first step.
#[derive(Clone, Debug)]
pub struct Adam<F> {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    t: i32,
    m: Vec<ArrayD<F>>,
    v: Vec<ArrayD<F>>,
}

pub trait Optimizer<F: Scalar> {
    /// Applies the accumulated gradients of every trainable parameter.
    fn step(&mut self, model: &mut dyn Module<F>);
}

impl<F: Scalar> Optimizer<F> for Sgd {
    fn step(&mut self, model: &mut dyn Module<F>) {
        let lr = F::of(self.lr);
        model.visit("", &mut |_, mut p| {
            if p.trainable {
                Zip::from(&mut p.value).and(&p.grad).for_each(|w, &g| *w -= lr * g);
            }
        });
    }
}

impl<F: Scalar> Adam<F> {
    pub fn new(lr: f64) -> Self {
        Self { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 0, m: Vec::new(), v: Vec::new() }
    }

    /// Named moment tensors and the step count, for checkpoints: a resumed run keeps its
    /// bias correction and momentum instead of restarting them.
    pub fn state(&self) -> (i32, Vec<(String, ArrayD<F>)>) {
        let m = self.m.iter().enumerate().map(|(k, a)| (format!("adam.m.{k}"), a.clone()));
        let v = self.v.iter().enumerate().map(|(k, a)| (format!("adam.v.{k}"), a.clone()));
        (self.t, m.chain(v).collect())
    }

    /// Restores what [`Adam::state`] returned; `get` looks a tensor up by name.
    pub fn restore(&mut self, t: i32, mut get: impl FnMut(&str) -> Option<ArrayD<F>>) {
        self.t = t;
        self.m = (0..).map_while(|k| get(&format!("adam.m.{k}"))).collect();
        self.v = (0..).map_while(|k| get(&format!("adam.v.{k}"))).collect();
    }
}

/// The optimizers a user can pick on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    Sgd,
    Adam,
}

impl std::str::FromStr for OptimizerKind {
    type Err = super::NnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            other => Err(super::NnError::Invalid(format!("unknown optimizer '{other}' (expected sgd or adam)"))),
        }
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
        })
    }
}

/// An optimizer chosen at run time.
pub enum AnyOptimizer<F> {
    Sgd(Sgd),
    Adam(Adam<F>),
}

impl<F: Scalar> AnyOptimizer<F> {
    pub fn new(kind: OptimizerKind, lr: f64) -> Self {
        match kind {
            OptimizerKind::Sgd => AnyOptimizer::Sgd(Sgd { lr }),
            OptimizerKind::Adam => AnyOptimizer::Adam(Adam::new(lr)),
        }
    }
}

impl<F: Scalar> Optimizer<F> for AnyOptimizer<F> {
    fn step(&mut self, model: &mut dyn Module<F>) {
        match self {
            AnyOptimizer::Sgd(o) => o.step(model),
            AnyOptimizer::Adam(o) => o.step(model),
        }
    }
}

impl<F: Scalar> Optimizer<F> for Adam<F> {
    fn step(&mut self, model: &mut dyn Module<F>) {
        self.t += 1;
        let (b1, b2) = (F::of(self.beta1), F::of(self.beta2));
        let c1 = F::one() - F::of(self.beta1.powi(self.t));
        let c2 = F::one() - F::of(self.beta2.powi(self.t));
        let (lr, eps) = (F::of(self.lr), F::of(self.eps));
        let (ms, vs) = (&mut self.m, &mut self.v);
        let mut k = 0;
        model.visit("", &mut |_, mut p| {
            if ms.len() <= k {
                ms.push(ArrayD::zeros(p.value.raw_dim()));
                vs.push(ArrayD::zeros(p.value.raw_dim()));
            }
            if p.trainable {
                Zip::from(&mut p.value).and(&p.grad).and(&mut ms[k]).and(&mut vs[k]).for_each(|w, &g, m, v| {
                    *m = b1 * *m + (F::one() - b1) * g;
                    *v = b2 * *v + (F::one() - b2) * g * g;
                    *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
            }
            k += 1;
        });
    }
}

/// Clamps every gradient element to [-limit, limit] (the course clips at 5).
pub fn clip_by_value<F: Scalar>(model: &mut dyn Module<F>, limit: f64) {
    let l = F::of(limit);
    model.visit("", &mut |_, mut p| p.grad.mapv_inplace(|g| g.max(-l).min(l)));
}

/// Rescales all gradients together so their joint L2 norm is at most `max_norm`;
/// returns the norm before clipping.
pub fn clip_by_global_norm<F: Scalar>(model: &mut dyn Module<F>, max_norm: f64) -> f64 {
    let mut sq = 0.0;
    model.visit("", &mut |_, p| {
        if p.trainable {
            sq += p.grad.iter().map(|g| g.as_f64() * g.as_f64()).sum::<f64>();
        }
    });
    let norm = sq.sqrt();
    if norm > max_norm && norm > 0.0 {
        let scale = F::of(max_norm / norm);
        model.visit("", &mut |_, mut p| p.grad.mapv_inplace(|g| g * scale));
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Dense;
    use ndarray::array;

    fn one_weight(w: f64, g: f64) -> Dense<f64> {
        let mut d = Dense::from_weights(array![[w]], array![0.0]);
        d.w.grad[[0, 0]] = g;
        d
    }

    /// SGD: 1 - 0.1·2 = 0.8.
    /// Adam, first step: m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps) ≈ lr·sign(g):
    /// 1 - 0.1·2/(2 + 1e-8) = 0.9 (to 1e-9).
    #[test]
    fn golden_steps() {
        let mut d = one_weight(1.0, 2.0);
        Sgd { lr: 0.1 }.step(&mut d);
        assert!((d.w.value[[0, 0]] - 0.8).abs() < 1e-12);
        let mut d = one_weight(1.0, 2.0);
        Adam::new(0.1).step(&mut d);
        assert!((d.w.value[[0, 0]] - 0.9).abs() < 1e-9);
    }

    /// Gradients [3, 4] have norm 5; clipped to norm 1 they become [0.6, 0.8].
    /// By value at 3.5: [3, 3.5].
    #[test]
    fn golden_clipping() {
        let mut d = Dense::from_weights(array![[0.0, 0.0]], array![0.0, 0.0]);
        d.w.grad = array![[3.0f64, 4.0]];
        assert!((clip_by_global_norm(&mut d, 1.0) - 5.0).abs() < 1e-12);
        assert!((d.w.grad[[0, 0]] - 0.6).abs() < 1e-12 && (d.w.grad[[0, 1]] - 0.8).abs() < 1e-12);
        d.w.grad = array![[3.0, 4.0]];
        clip_by_value(&mut d, 3.5);
        assert_eq!(d.w.grad, array![[3.0, 3.5]]);
    }

    /// Adam minimises a quadratic (w - 3)² from w = 0.
    /// A restored Adam continues exactly as the original would have.
    #[test]
    fn adam_state_round_trip() {
        let mut a = one_weight(1.0, 0.5);
        let mut b = a.clone();
        let mut adam = Adam::new(0.1);
        adam.step(&mut a);
        let (t, tensors) = adam.state();
        let mut resumed = Adam::new(0.1);
        resumed.restore(t, |name| tensors.iter().find(|(n, _)| n == name).map(|(_, a)| a.clone()));
        adam.step(&mut a);
        Adam::new(0.1).step(&mut b);
        resumed.step(&mut b);
        assert_eq!(a.w.value, b.w.value);
    }

    #[test]
    fn adam_converges_on_a_quadratic() {
        let mut d = one_weight(0.0, 0.0);
        let mut adam = Adam::new(0.1);
        for _ in 0..500 {
            d.w.grad[[0, 0]] = 2.0 * (d.w.value[[0, 0]] - 3.0);
            adam.step(&mut d);
        }
        assert!((d.w.value[[0, 0]] - 3.0).abs() < 1e-2, "{}", d.w.value[[0, 0]]);
    }
}
