//! The GRU cell, in the course's convention (Cho et al. 2014, Keras `reset_after=False`):
//! the reset gate scales the previous state *before* it meets `W_h`.
//!
//! Blocks `[z, r, n]` in `W_x: [D, 3H]`, `W_h: [H, 3H]`, `b: [3H]`:
//! z = σ(x W_xz + h W_hz + b_z) (update gate Γu), r = σ(x W_xr + h W_hr + b_r) (relevance Γr),
//! n = tanh(x W_xn + (r⊙h) W_hn + b_n) (candidate c̃), h' = z⊙n + (1 - z)⊙h.

use ndarray::{Array1, Array2, ArrayView2, Axis, Ix1, Ix2, Zip, concatenate, s};

use super::activation::{apply_in_place, sigmoid, tanh};
use super::cell::{Cell, State, accumulate_recurrent_grads, init_weights, preactivation};
use super::linalg::{gemm_acc, matmul};
use super::param::{Module, Param, ParamMut};
use super::Scalar;

/// x: [B, D], h: [B, H] -> h': [B, H].
#[derive(Clone, Debug)]
pub struct Gru<F: Scalar> {
    pub w_x: Param<F, Ix2>,
    pub w_h: Param<F, Ix2>,
    pub b: Param<F, Ix1>,
}

pub struct GruCache<F> {
    h_prev: Array2<F>,
    z: Array2<F>,
    r: Array2<F>,
    n: Array2<F>,
    rh: Array2<F>,
}

impl<F: Scalar> Gru<F> {
    pub fn new(input: usize, hidden: usize, rng: &mut impl rand::Rng) -> Self {
        let (w_x, w_h, b) = init_weights(input, hidden, 3, rng);
        Self::from_weights(w_x, w_h, b)
    }

    pub fn from_weights(w_x: Array2<F>, w_h: Array2<F>, b: Array1<F>) -> Self {
        Self { w_x: Param::new(w_x), w_h: Param::new(w_h), b: Param::new(b) }
    }
}

impl<F: Scalar> Cell<F> for Gru<F> {
    type Cache = GruCache<F>;

    fn has_cell(&self) -> bool {
        false
    }
    fn w_x(&self) -> &Param<F, Ix2> {
        &self.w_x
    }
    fn w_x_mut(&mut self) -> &mut Param<F, Ix2> {
        &mut self.w_x
    }
    fn w_h(&self) -> &Param<F, Ix2> {
        &self.w_h
    }
    fn b(&self) -> &Param<F, Ix1> {
        &self.b
    }

    fn step_projected(&self, xp: ArrayView2<F>, state: &State<F>) -> (State<F>, GruCache<F>) {
        let hs = self.hidden_size();
        let h = &state.h;
        let w = &self.w_h.value;
        let b = &self.b.value;
        // (1) [z, r] = σ(xp_zr + h W_h,zr + b_zr)
        let mut zr = preactivation(xp.slice(s![.., ..2 * hs]), h.view(), w.slice(s![.., ..2 * hs]), b.slice(s![..2 * hs]));
        apply_in_place(&mut zr, sigmoid);
        let z = zr.slice(s![.., ..hs]).to_owned();
        let r = zr.slice(s![.., hs..]).to_owned();
        let rh = &r * h; // (2)
        // (3) n = tanh(xp_n + (r h) W_hn + b_n)
        let mut n = preactivation(xp.slice(s![.., 2 * hs..]), rh.view(), w.slice(s![.., 2 * hs..]), b.slice(s![2 * hs..]));
        apply_in_place(&mut n, tanh);
        // (4) h' = z n + (1 - z) h
        let h_new = Zip::from(&z).and(&n).and(h).map_collect(|&z, &n, &h| z * n + (F::one() - z) * h);
        (State { h: h_new, c: None }, GruCache { h_prev: h.clone(), z, r, n, rh })
    }

    fn backward_projected(&mut self, c: &GruCache<F>, d: &State<F>) -> (Array2<F>, State<F>) {
        let hs = self.hidden_size();
        let one = F::one();
        let dh = &d.h;
        // (4) h' = z n + (1 - z) h:  dn = dh z, dz = dh (n - h), dh_prev = dh (1 - z)
        let dn_pre = Zip::from(dh).and(&c.z).and(&c.n).map_collect(|&g, &z, &n| g * z * (one - n * n)); // and (3)'s tanh
        let dz_pre = Zip::from(dh).and(&c.n).and(&c.h_prev).and(&c.z).map_collect(|&g, &n, &h, &z| g * (n - h) * z * (one - z));
        let mut dh_prev = Zip::from(dh).and(&c.z).map_collect(|&g, &z| g * (one - z));
        // (3) n_pre = xp_n + rh W_hn + b_n:  dW_hn += rhᵀ dn_pre, drh = dn_pre W_hnᵀ
        accumulate_recurrent_grads(
            c.rh.view(),
            dn_pre.view(),
            self.w_h.grad.slice_mut(s![.., 2 * hs..]),
            self.b.grad.slice_mut(s![2 * hs..]),
        );
        let drh = matmul(&dn_pre.view(), &self.w_h.value.slice(s![.., 2 * hs..]).t());
        // (2) rh = r h:  dr = drh h, dh_prev += drh r; then back through (1)'s σ
        let dr_pre = Zip::from(&drh).and(&c.h_prev).and(&c.r).map_collect(|&g, &h, &r| g * h * r * (one - r));
        dh_prev += &(&drh * &c.r);
        // (1) [z, r]_pre = xp_zr + h W_h,zr + b_zr
        let dzr = concatenate![Axis(1), dz_pre, dr_pre];
        accumulate_recurrent_grads(
            c.h_prev.view(),
            dzr.view(),
            self.w_h.grad.slice_mut(s![.., ..2 * hs]),
            self.b.grad.slice_mut(s![..2 * hs]),
        );
        gemm_acc(one, &dzr.view(), &self.w_h.value.slice(s![.., ..2 * hs]).t(), &mut dh_prev.view_mut());
        (concatenate![Axis(1), dzr, dn_pre], State { h: dh_prev, c: None })
    }
}

impl<F: Scalar> Module<F> for Gru<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.w_x.visit(prefix, "w_x", f);
        self.w_h.visit(prefix, "w_h", f);
        self.b.visit(prefix, "b", f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// H = 1, all weights 0, biases [ln 3, 0, ln 2]: z = 3/4, r = 1/2, n = tanh(ln 2) = 3/5.
    /// From h0 = 0.2: h1 = z n + (1 - z) h0 = 0.45 + 0.05 = 0.5.
    /// With W_hn = 1 as well, the reset gate halves h0 before W_hn (the course's convention):
    /// n = tanh(ln 2 + 0.5 · 0.2) and h1 = 3/4 · n + 0.05.
    #[test]
    fn golden_step_and_reset_convention() {
        let b = array![3f64.ln(), 0.0, 2f64.ln()];
        let s0 = State { h: array![[0.2]], c: None };
        let cell = Gru::from_weights(Array2::zeros((1, 3)), Array2::zeros((1, 3)), b.clone());
        let (s1, _) = cell.step(array![[1.0]].view(), &s0);
        assert!((s1.h[[0, 0]] - 0.5).abs() < 1e-12);
        let cell = Gru::from_weights(Array2::zeros((1, 3)), array![[0.0, 0.0, 1.0]], b);
        let (s1, _) = cell.step(array![[1.0]].view(), &s0);
        let n = (2f64.ln() + 0.1).tanh();
        assert!((s1.h[[0, 0]] - (0.75 * n + 0.05)).abs() < 1e-12);
    }
}
