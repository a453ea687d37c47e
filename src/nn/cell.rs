//! What the three recurrent cells share: the state they carry and the step interface that
//! the sequence wrappers ([`super::Recurrent`]) drive.
//!
//! Every cell splits its pre-activation into an input part `x W_x` and a recurrent part
//! `h W_h + b`. The sequence wrapper computes `X W_x` for all time steps in one matrix
//! product (or, for token inputs, gathers rows of `W_x`: a one-hot input times `W_x` *is*
//! a row of it), and the cell's `step_projected` does only the recurrent part.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, Ix2, s};

use super::linalg::{gemm_acc, matmul};
use super::param::{Module, Param};
use super::Scalar;

/// The carried state: `h: [B, H]`, and for the LSTM the memory cell `c: [B, H]`.
#[derive(Clone, Debug, PartialEq)]
pub struct State<F> {
    pub h: Array2<F>,
    pub c: Option<Array2<F>>,
}

impl<F: Scalar> State<F> {
    pub fn zeros(batch: usize, hidden: usize, with_c: bool) -> Self {
        Self { h: Array2::zeros((batch, hidden)), c: with_c.then(|| Array2::zeros((batch, hidden))) }
    }

    pub fn batch(&self) -> usize {
        self.h.nrows()
    }

    /// Row-wise `m·self + (1-m)·other` for a 0/1 mask `m: [B]`: padded steps carry the
    /// previous state through unchanged.
    pub(crate) fn blend(&self, other: &Self, mask: ArrayView1<F>) -> Self {
        let m = mask.insert_axis(Axis(1));
        let mix = |a: &Array2<F>, b: &Array2<F>| &m * a + &(m.mapv(|v| F::one() - v) * b);
        Self { h: mix(&self.h, &other.h), c: self.c.as_ref().zip(other.c.as_ref()).map(|(a, b)| mix(a, b)) }
    }

    /// Row-wise scaling by `mask: [B]`.
    pub(crate) fn scaled(&self, mask: ArrayView1<F>) -> Self {
        let m = mask.insert_axis(Axis(1));
        Self { h: &self.h * &m, c: self.c.as_ref().map(|c| c * &m) }
    }

    /// Rows 0..n as a state of their own.
    pub(crate) fn prefix(&self, n: usize) -> Self {
        Self { h: self.h.slice(s![..n, ..]).to_owned(), c: self.c.as_ref().map(|c| c.slice(s![..n, ..]).to_owned()) }
    }

    /// Overwrites rows 0..n with `rows` (n rows), keeping the others.
    pub(crate) fn set_prefix(&mut self, rows: &Self) {
        let n = rows.batch();
        self.h.slice_mut(s![..n, ..]).assign(&rows.h);
        if let (Some(a), Some(b)) = (self.c.as_mut(), rows.c.as_ref()) {
            a.slice_mut(s![..n, ..]).assign(b);
        }
    }

    pub(crate) fn add(&mut self, other: &Self) {
        self.h += &other.h;
        if let (Some(a), Some(b)) = (self.c.as_mut(), other.c.as_ref()) {
            *a += b;
        }
    }

    /// Selects rows of a batched state (beam search reorders hypotheses this way).
    pub fn select_rows(&self, rows: &[usize]) -> Self {
        Self { h: self.h.select(Axis(0), rows), c: self.c.as_ref().map(|c| c.select(Axis(0), rows)) }
    }
}

/// A recurrent cell. Its G gate blocks (1 for the RNN, 3 for the GRU, 4 for the LSTM) are
/// laid out side by side in `w_x: [D, G·H]`, `w_h: [H, G·H]` and `b: [G·H]`.
pub trait Cell<F: Scalar>: Module<F> + Clone + Send + Sync {
    /// What `backward_projected` needs from one step.
    type Cache: Send;
    /// Whether the state has a memory cell `c` (the LSTM's).
    fn has_cell(&self) -> bool;

    fn w_x(&self) -> &Param<F, Ix2>;
    fn w_x_mut(&mut self) -> &mut Param<F, Ix2>;
    fn w_h(&self) -> &Param<F, Ix2>;
    fn b(&self) -> &Param<F, ndarray::Ix1>;

    /// One step from the projected input `xp = x W_x: [B, G·H]`.
    fn step_projected(&self, xp: ArrayView2<F>, state: &State<F>) -> (State<F>, Self::Cache);

    /// Inverts `step_projected`: from dL/d(new state) to (dL/dxp, dL/d(previous state)),
    /// adding into the gradients of `w_h` and `b`.
    fn backward_projected(&mut self, cache: &Self::Cache, d_state: &State<F>) -> (Array2<F>, State<F>);

    fn input_size(&self) -> usize {
        self.w_x().value.nrows()
    }

    fn hidden_size(&self) -> usize {
        self.w_h().value.nrows()
    }

    fn zero_state(&self, batch: usize) -> State<F> {
        State::zeros(batch, self.hidden_size(), self.has_cell())
    }

    /// One step for streaming and sampling: x: [B, D], state -> new state.
    fn step(&self, x: ArrayView2<F>, state: &State<F>) -> (State<F>, Self::Cache) {
        self.step_projected(matmul(&x, &self.w_x().value.view()).view(), state)
    }

    /// Backward of [`Cell::step`]: also adds dW_x and returns dL/dx: [B, D].
    fn step_backward(
        &mut self,
        x: ArrayView2<F>,
        cache: &Self::Cache,
        d_state: &State<F>,
    ) -> (Array2<F>, State<F>) {
        let (dxp, d_prev) = self.backward_projected(cache, d_state);
        // xp = x W_x:  dW_x += xᵀ dxp,  dx = dxp W_xᵀ
        gemm_acc(F::one(), &x.t(), &dxp.view(), &mut self.w_x_mut().grad.view_mut());
        (matmul(&dxp.view(), &self.w_x().value.t()), d_prev)
    }
}

/// z = xp + h W_h + b, the pre-activation all cells start from (GRU only for its first 2H).
pub(crate) fn preactivation<F: Scalar>(xp: ArrayView2<F>, h: ArrayView2<F>, w_h: ArrayView2<F>, b: ArrayView1<F>) -> Array2<F> {
    let mut z = &xp + &b;
    gemm_acc(F::one(), &h, &w_h, &mut z.view_mut());
    z
}

/// Backward of `z = xp + h W_h + b` for the rows of `w_h`/`b` given: dW_h += hᵀ dz, db += Σ dz.
pub(crate) fn accumulate_recurrent_grads<F: Scalar>(
    h: ArrayView2<F>,
    dz: ArrayView2<F>,
    mut w_h_grad: ndarray::ArrayViewMut2<F>,
    mut b_grad: ndarray::ArrayViewMut1<F>,
) {
    gemm_acc(F::one(), &h.t(), &dz, &mut w_h_grad);
    b_grad += &dz.sum_axis(Axis(0));
}

/// Weights for a new cell: Glorot-normal input weights, orthogonal-ish (scaled normal)
/// recurrent weights and zero bias, each `[rows, gates·H]`.
pub(crate) fn init_weights<F: Scalar>(
    input: usize,
    hidden: usize,
    gates: usize,
    rng: &mut impl rand::Rng,
) -> (Array2<F>, Array2<F>, Array1<F>) {
    let w_x = super::scalar::randn((input, gates * hidden), (1.0 / input.max(1) as f64).sqrt(), rng);
    let w_h = super::scalar::randn((hidden, gates * hidden), (1.0 / hidden.max(1) as f64).sqrt(), rng);
    (w_x, w_h, Array1::zeros(gates * hidden))
}
