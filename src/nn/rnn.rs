//! The vanilla (Elman) RNN cell of the course: a⟨t⟩ = tanh(W_ax x⟨t⟩ + W_aa a⟨t-1⟩ + b_a).

use ndarray::{Array1, Array2, ArrayView2, Ix1, Ix2};

use super::activation::tanh;
use super::cell::{Cell, State, accumulate_recurrent_grads, init_weights, preactivation};
use super::linalg::matmul;
use super::param::{Module, Param, ParamMut};
use super::Scalar;

/// h' = tanh(x W_x + h W_h + b). x: [B, D], h: [B, H]; W_x: [D, H], W_h: [H, H], b: [H].
#[derive(Clone, Debug)]
pub struct Rnn<F: Scalar> {
    pub w_x: Param<F, Ix2>,
    pub w_h: Param<F, Ix2>,
    pub b: Param<F, Ix1>,
}

pub struct RnnCache<F> {
    h_prev: Array2<F>,
    h: Array2<F>,
}

impl<F: Scalar> Rnn<F> {
    pub fn new(input: usize, hidden: usize, rng: &mut impl rand::Rng) -> Self {
        let (w_x, w_h, b) = init_weights(input, hidden, 1, rng);
        Self::from_weights(w_x, w_h, b)
    }

    pub fn from_weights(w_x: Array2<F>, w_h: Array2<F>, b: Array1<F>) -> Self {
        Self { w_x: Param::new(w_x), w_h: Param::new(w_h), b: Param::new(b) }
    }
}

impl<F: Scalar> Cell<F> for Rnn<F> {
    type Cache = RnnCache<F>;

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

    fn step_projected(&self, xp: ArrayView2<F>, state: &State<F>) -> (State<F>, RnnCache<F>) {
        let mut h = preactivation(xp, state.h.view(), self.w_h.value.view(), self.b.value.view()); // (1) z
        F::map_in_place(h.as_slice_mut().expect("a new array is contiguous"), tanh); // (2) h = tanh(z), in place
        (State { h: h.clone(), c: None }, RnnCache { h_prev: state.h.clone(), h })
    }

    fn backward_projected(&mut self, cache: &RnnCache<F>, d: &State<F>) -> (Array2<F>, State<F>) {
        // (2) h = tanh(z):  dz = dh (1 - h²)
        let dz = ndarray::Zip::from(&d.h).and(&cache.h).map_collect(|&g, &h| g * (F::one() - h * h));
        // (1) z = xp + h_prev W_h + b:  dW_h += h_prevᵀ dz, db += Σ dz, dh_prev = dz W_hᵀ, dxp = dz
        accumulate_recurrent_grads(cache.h_prev.view(), dz.view(), self.w_h.grad.view_mut(), self.b.grad.view_mut());
        let dh_prev = matmul(&dz.view(), &self.w_h.value.t());
        (dz, State { h: dh_prev, c: None })
    }
}

impl<F: Scalar> Module<F> for Rnn<F> {
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

    /// D = H = 1, W_x = ln 2, W_h = (5/3) ln 2, b = 0, h0 = 0.
    /// Step 1, x = 1: h1 = tanh(ln 2) = (4 - 1)/(4 + 1) = 3/5.
    /// Step 2, x = 0: h2 = tanh(3/5 · 5/3 · ln 2) = tanh(ln 2) = 3/5 again.
    #[test]
    fn golden_two_steps() {
        let l2 = 2f64.ln();
        let cell = Rnn::from_weights(array![[l2]], array![[5.0 / 3.0 * l2]], array![0.0]);
        let (s1, _) = cell.step(array![[1.0]].view(), &cell.zero_state(1));
        assert!((s1.h[[0, 0]] - 0.6).abs() < 1e-12);
        let (s2, _) = cell.step(array![[0.0]].view(), &s1);
        assert!((s2.h[[0, 0]] - 0.6).abs() < 1e-12);
    }
}
