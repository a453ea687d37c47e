//! The LSTM cell.
//!
//! Gate convention (PyTorch's order, the course's equations): blocks `[i, f, g, o]` in
//! `W_x: [D, 4H]`, `W_h: [H, 4H]`, `b: [4H]`:
//! i = σ(z_i) (update gate Γu), f = σ(z_f) (forget gate Γf), g = tanh(z_g) (candidate c̃),
//! o = σ(z_o) (output gate Γo); c' = f⊙c + i⊙g; h' = o⊙tanh(c').
//! The forget-gate bias starts at 1 so that a new cell remembers by default.

use ndarray::{Array1, Array2, ArrayView2, Ix1, Ix2, s};

use super::activation::{apply_in_place, sigmoid, tanh};
use super::cell::{Cell, State, accumulate_recurrent_grads, init_weights, preactivation};
use super::linalg::matmul;
use super::param::{Module, Param, ParamMut};
use super::Scalar;

/// x: [B, D], (h, c): [B, H] each -> (h', c').
#[derive(Clone, Debug)]
pub struct Lstm<F: Scalar> {
    pub w_x: Param<F, Ix2>,
    pub w_h: Param<F, Ix2>,
    pub b: Param<F, Ix1>,
}

pub struct LstmCache<F> {
    h_prev: Array2<F>,
    c_prev: Array2<F>,
    /// Activated gates [i, f, g, o]: [B, 4H].
    gates: Array2<F>,
    tanh_c: Array2<F>,
}

impl<F: Scalar> Lstm<F> {
    pub fn new(input: usize, hidden: usize, rng: &mut impl rand::Rng) -> Self {
        let (w_x, w_h, mut b) = init_weights(input, hidden, 4, rng);
        b.slice_mut(s![hidden..2 * hidden]).fill(F::one());
        Self::from_weights(w_x, w_h, b)
    }

    pub fn from_weights(w_x: Array2<F>, w_h: Array2<F>, b: Array1<F>) -> Self {
        Self { w_x: Param::new(w_x), w_h: Param::new(w_h), b: Param::new(b) }
    }
}

impl<F: Scalar> Cell<F> for Lstm<F> {
    type Cache = LstmCache<F>;

    fn has_cell(&self) -> bool {
        true
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

    fn step_projected(&self, xp: ArrayView2<F>, state: &State<F>) -> (State<F>, LstmCache<F>) {
        let hs = self.hidden_size();
        let batch = xp.nrows();
        let c_prev = match &state.c {
            Some(c) => c.as_standard_layout().into_owned(),
            None => Array2::zeros((batch, hs)),
        };
        let mut gates = preactivation(xp, state.h.view(), self.w_h.value.view(), self.b.value.view()); // (1)
        if !gates.is_standard_layout() {
            gates = gates.as_standard_layout().into_owned();
        }
        let mut c = Array2::zeros((batch, hs));
        if hs > 0 {
            // Row by row over contiguous gate blocks, so `map_in_place` runs its wide SIMD
            // build: a map over a column block of [B, 4H] is strided and ran a lane at a time.
            let z = gates.as_slice_mut().expect("gates were made standard-layout above");
            let cp = c_prev.as_slice().expect("c_prev was made standard-layout above");
            let cs = c.as_slice_mut().expect("a new array is standard-layout");
            for ((row, cp), c) in z.chunks_exact_mut(4 * hs).zip(cp.chunks_exact(hs)).zip(cs.chunks_exact_mut(hs)) {
                F::map_in_place(&mut row[..2 * hs], sigmoid); // (2) i, f
                F::map_in_place(&mut row[2 * hs..3 * hs], tanh); // (3) g
                F::map_in_place(&mut row[3 * hs..], sigmoid); // (4) o
                let (i, rest) = row.split_at(hs);
                let (f, g) = rest.split_at(hs);
                for k in 0..hs {
                    c[k] = f[k] * cp[k] + i[k] * g[k]; // (5) c = f⊙c_prev + i⊙g
                }
            }
        }
        let mut tanh_c = c.clone();
        apply_in_place(&mut tanh_c, tanh); // (6)
        let h = &split4(gates.view(), hs).3 * &tanh_c; // (7)
        let cache = LstmCache { h_prev: state.h.clone(), c_prev, gates, tanh_c };
        (State { h, c: Some(c) }, cache)
    }

    fn backward_projected(&mut self, cache: &LstmCache<F>, d: &State<F>) -> (Array2<F>, State<F>) {
        let hs = self.hidden_size();
        let one = F::one();
        let (i, f, g, o) = split4(cache.gates.view(), hs);
        let dc_in = d.c.clone().unwrap_or_else(|| Array2::zeros(d.h.raw_dim()));
        // (7) h = o tanh_c:  do = dh tanh_c;  (6) dc += dh o (1 - tanh_c²)
        let d_o = &d.h * &cache.tanh_c;
        let dc = ndarray::Zip::from(&dc_in)
            .and(&d.h)
            .and(o)
            .and(&cache.tanh_c)
            .map_collect(|&dc, &dh, &o, &t| dc + dh * o * (one - t * t));
        // (5) c = f c_prev + i g:  di = dc g, df = dc c_prev, dg = dc i, dc_prev = dc f
        let mut dz = Array2::zeros(cache.gates.raw_dim());
        {
            let (mut dzi, mut dzf, mut dzg, mut dzo) = split4_mut(&mut dz, hs);
            // (2)-(4): back through σ and tanh, in terms of their outputs
            ndarray::Zip::from(&mut dzi).and(&dc).and(g).and(i).for_each(|z, &dc, &g, &i| *z = dc * g * i * (one - i));
            ndarray::Zip::from(&mut dzf).and(&dc).and(&cache.c_prev).and(f).for_each(|z, &dc, &cp, &f| *z = dc * cp * f * (one - f));
            ndarray::Zip::from(&mut dzg).and(&dc).and(i).and(g).for_each(|z, &dc, &i, &g| *z = dc * i * (one - g * g));
            ndarray::Zip::from(&mut dzo).and(&d_o).and(o).for_each(|z, &d, &o| *z = d * o * (one - o));
        }
        let dc_prev = &dc * &f;
        // (1) z = xp + h_prev W_h + b
        accumulate_recurrent_grads(cache.h_prev.view(), dz.view(), self.w_h.grad.view_mut(), self.b.grad.view_mut());
        let dh_prev = matmul(&dz.view(), &self.w_h.value.t());
        (dz, State { h: dh_prev, c: Some(dc_prev) })
    }
}

type Four<'a, F> = (ArrayView2<'a, F>, ArrayView2<'a, F>, ArrayView2<'a, F>, ArrayView2<'a, F>);

fn split4<F>(a: ArrayView2<'_, F>, hs: usize) -> Four<'_, F> {
    let (i, rest) = a.split_at(ndarray::Axis(1), hs);
    let (f, rest) = rest.split_at(ndarray::Axis(1), hs);
    let (g, o) = rest.split_at(ndarray::Axis(1), hs);
    (i, f, g, o)
}

type FourMut<'a, F> = (ndarray::ArrayViewMut2<'a, F>, ndarray::ArrayViewMut2<'a, F>, ndarray::ArrayViewMut2<'a, F>, ndarray::ArrayViewMut2<'a, F>);

fn split4_mut<F>(a: &mut Array2<F>, hs: usize) -> FourMut<'_, F> {
    let (i, rest) = a.view_mut().split_at(ndarray::Axis(1), hs);
    let (f, rest) = rest.split_at(ndarray::Axis(1), hs);
    let (g, o) = rest.split_at(ndarray::Axis(1), hs);
    (i, f, g, o)
}

impl<F: Scalar> Module<F> for Lstm<F> {
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

    /// H = 1, all weights 0, biases [ln 3, 0, ln 2, 0] give gates i = σ(ln 3) = 3/4,
    /// f = σ(0) = 1/2, g = tanh(ln 2) = 3/5, o = 1/2. From c0 = 0.2:
    /// c1 = f c0 + i g = 0.1 + 0.45 = 0.55; h1 = o tanh(c1) = tanh(0.55)/2.
    #[test]
    fn golden_step() {
        let cell = Lstm::from_weights(
            Array2::zeros((1, 4)),
            Array2::zeros((1, 4)),
            array![3f64.ln(), 0.0, 2f64.ln(), 0.0],
        );
        let s0 = State { h: array![[0.0]], c: Some(array![[0.2]]) };
        let (s1, _) = cell.step(array![[1.0]].view(), &s0);
        let c1 = s1.c.as_ref().unwrap()[[0, 0]];
        assert!((c1 - 0.55).abs() < 1e-12, "{c1}");
        assert!((s1.h[[0, 0]] - 0.55f64.tanh() / 2.0).abs() < 1e-12);
    }

    #[test]
    fn forget_bias_starts_at_one() {
        let cell: Lstm<f32> = Lstm::new(2, 3, &mut crate::nn::seeded_rng(0));
        assert_eq!(cell.b.value.slice(s![3..6]).to_vec(), vec![1.0; 3]);
        assert_eq!(cell.b.value.slice(s![..3]).to_vec(), vec![0.0; 3]);
    }
}
