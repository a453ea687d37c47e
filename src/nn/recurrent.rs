//! Whole-sequence forward and backward through time for any [`Cell`], plus the
//! bidirectional and stacked (deep) wrappers.
//!
//! Sequences are time-major: dense inputs `[T, B, D]`, token inputs `[T, B]`, outputs
//! `[T, B, H]`. An optional 0/1 mask `[T, B]` marks real steps; at a padded step the state
//! is carried through unchanged, so right-padded batches give each sequence its own final
//! state, and the backward direction of a [`Bidirectional`] layer starts at each
//! sequence's real end. Where a mask row is a prefix of ones (a batch sorted longest
//! first), the cell runs on the real rows only, so sorting skips the padding's work.

use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis, Zip, concatenate, s};

use super::cell::{Cell, State};
use super::param::{Module, ParamMut, join};
use super::{NnError, Scalar};

/// A token id meaning "no input": its one-hot vector is all zeros (the course's x⟨1⟩ = 0⃗).
pub const NO_TOKEN: usize = usize::MAX;

/// A sequence input: dense vectors, or token ids whose one-hot vectors multiply `W_x`.
#[derive(Clone, Copy)]
pub enum SeqInput<'a, F> {
    Dense(ArrayView3<'a, F>),
    Tokens(ArrayView2<'a, usize>),
}

impl<'a, F: Scalar> SeqInput<'a, F> {
    pub fn len(&self) -> usize {
        match self {
            SeqInput::Dense(x) => x.len_of(Axis(0)),
            SeqInput::Tokens(ids) => ids.nrows(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn batch(&self) -> usize {
        match self {
            SeqInput::Dense(x) => x.len_of(Axis(1)),
            SeqInput::Tokens(ids) => ids.ncols(),
        }
    }

    /// The same sequence with time running backwards (a view, no copy).
    pub fn reversed(&self) -> Self {
        match *self {
            SeqInput::Dense(x) => SeqInput::Dense(x.slice_move(s![..;-1, .., ..])),
            SeqInput::Tokens(ids) => SeqInput::Tokens(ids.slice_move(s![..;-1, ..])),
        }
    }
}

enum InputCache<F> {
    /// The input flattened to [T·B, D].
    Dense(Array2<F>),
    Tokens(Array2<usize>),
}

/// Which rows of the batch a step's mask row makes the cell compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rows {
    All,
    /// Rows 0..n are real and the rest padding, as in a batch sorted by length
    /// (longest first): the cell runs on the n real rows only.
    Prefix(usize),
    /// Any other mask row: the cell runs on every row and the state is blended.
    Blend,
}

impl Rows {
    /// An all-padding row is left to the blend: the cell is never asked for zero rows.
    fn of<F: Scalar>(m: ArrayView1<F>) -> Self {
        let n = m.iter().take_while(|&&v| v == F::one()).count();
        if n == m.len() {
            Rows::All
        } else if n > 0 && m.iter().skip(n).all(|&v| v == F::zero()) {
            Rows::Prefix(n)
        } else {
            Rows::Blend
        }
    }
}

/// What [`Recurrent::backward`] needs.
pub struct SeqCache<F: Scalar, C: Cell<F>> {
    input: InputCache<F>,
    steps: Vec<(Rows, C::Cache)>,
    mask: Option<Array2<F>>,
    batch: usize,
}

/// A cell unrolled over time. x: [T, B, D] (or ids [T, B]) -> h: [T, B, H].
#[derive(Clone, Debug)]
pub struct Recurrent<C> {
    pub cell: C,
}

impl<C> Recurrent<C> {
    pub fn new(cell: C) -> Self {
        Self { cell }
    }
}

impl<C> Recurrent<C> {
    /// Runs the sequence from `s0`; returns every step's h, the final state and the cache.
    pub fn forward<F: Scalar>(
        &self,
        input: SeqInput<F>,
        s0: &State<F>,
        mask: Option<ArrayView2<F>>,
    ) -> Result<(Array3<F>, State<F>, SeqCache<F, C>), NnError>
    where
        C: Cell<F>,
    {
        let (t_len, batch) = (input.len(), input.batch());
        check_batch(s0, batch, mask, t_len)?;
        let (xp, input_cache) = self.project(input)?;
        let mut out = Array3::zeros((t_len, batch, self.cell.hidden_size()));
        let mut state = s0.clone();
        let mut steps = Vec::with_capacity(t_len);
        for t in 0..t_len {
            let xp_t = xp.slice(s![t * batch..(t + 1) * batch, ..]);
            let rows = mask.map_or(Rows::All, |m| Rows::of(m.row(t)));
            let cache = match (rows, mask) {
                // Only the real prefix runs the cell; the padded rows keep their state,
                // which is what the blend would give them.
                (Rows::Prefix(n), _) => {
                    let (new, cache) = self.cell.step_projected(xp_t.slice(s![..n, ..]), &state.prefix(n));
                    state.set_prefix(&new);
                    cache
                }
                (Rows::Blend, Some(m)) => {
                    let (new, cache) = self.cell.step_projected(xp_t, &state);
                    state = new.blend(&state, m.row(t));
                    cache
                }
                _ => {
                    let (new, cache) = self.cell.step_projected(xp_t, &state);
                    state = new;
                    cache
                }
            };
            out.index_axis_mut(Axis(0), t).assign(&state.h);
            steps.push((rows, cache));
        }
        let cache = SeqCache { input: input_cache, steps, mask: mask.map(|m| m.to_owned()), batch };
        Ok((out, state, cache))
    }

    /// dh: [T, B, H] (loss gradient on every step's output), `d_last`: gradient arriving at
    /// the final state (truncated BPTT, or a decoder reading it). Returns dL/dx (None for
    /// token inputs, whose gradient lands in `W_x`) and dL/d(s0).
    pub fn backward<F: Scalar>(
        &mut self,
        cache: &SeqCache<F, C>,
        dh: ArrayView3<F>,
        d_last: Option<&State<F>>,
    ) -> (Option<Array3<F>>, State<F>)
    where
        C: Cell<F>,
    {
        let batch = cache.batch;
        let t_len = cache.steps.len();
        let gh = self.cell.w_x().value.ncols();
        let mut ds = d_last.cloned().unwrap_or_else(|| self.cell.zero_state(batch));
        let mut dxp = Array2::zeros((t_len * batch, gh));
        for t in (0..t_len).rev() {
            ds.h += &dh.index_axis(Axis(0), t);
            let (rows, step) = &cache.steps[t];
            let mut dxp_rows = dxp.slice_mut(s![t * batch..(t + 1) * batch, ..]);
            match (rows, &cache.mask) {
                // state_t = [new on rows ..n; state_{t-1} on rows n..]: the carried rows'
                // gradient passes through as it is.
                (Rows::Prefix(n), _) => {
                    let (dxp_t, d_prev) = self.cell.backward_projected(step, &ds.prefix(*n));
                    dxp_rows.slice_move(s![..*n, ..]).assign(&dxp_t);
                    ds.set_prefix(&d_prev);
                }
                // state_t = m·new + (1-m)·state_{t-1}
                (Rows::Blend, Some(m)) => {
                    let mt = m.row(t);
                    let (dxp_t, mut d_prev) = self.cell.backward_projected(step, &ds.scaled(mt));
                    d_prev.add(&ds.scaled(mt.mapv(|v| F::one() - v).view()));
                    dxp_rows.assign(&dxp_t);
                    ds = d_prev;
                }
                // state_t = new
                _ => {
                    let (dxp_t, d_prev) = self.cell.backward_projected(step, &ds);
                    dxp_rows.assign(&dxp_t);
                    ds = d_prev;
                }
            }
        }
        // xp = X W_x over all steps at once:  dW_x += Xᵀ dxp,  dX = dxp W_xᵀ
        let dx = match &cache.input {
            InputCache::Dense(x) => {
                let w_x = self.cell.w_x_mut();
                ndarray::linalg::general_mat_mul(F::one(), &x.t(), &dxp, F::one(), &mut w_x.grad);
                let dx = dxp.dot(&w_x.value.t());
                let d = dx.ncols();
                Some(dx.into_shape_with_order((t_len, batch, d)).expect("[T·B, D] reshapes to [T, B, D]"))
            }
            InputCache::Tokens(ids) => {
                let grad = &mut self.cell.w_x_mut().grad;
                for (&id, row) in ids.iter().zip(dxp.rows()) {
                    if id != NO_TOKEN {
                        let mut g = grad.row_mut(id);
                        g += &row;
                    }
                }
                None
            }
        };
        (dx, ds)
    }

    /// xp = X W_x for every step: [T·B, G·H].
    fn project<F: Scalar>(&self, input: SeqInput<F>) -> Result<(Array2<F>, InputCache<F>), NnError>
    where
        C: Cell<F>,
    {
        let w_x = &self.cell.w_x().value;
        match input {
            SeqInput::Dense(x) => {
                let (t_len, batch, d) = x.dim();
                if d != w_x.nrows() {
                    return Err(NnError::Invalid(format!("input width {d}, the cell expects {}", w_x.nrows())));
                }
                let flat = x.as_standard_layout().into_owned().into_shape_with_order((t_len * batch, d)).expect("contiguous");
                Ok((flat.dot(w_x), InputCache::Dense(flat)))
            }
            SeqInput::Tokens(ids) => {
                let vocab = w_x.nrows();
                let mut xp = Array2::zeros((ids.len(), w_x.ncols()));
                for (mut row, &id) in xp.rows_mut().into_iter().zip(ids.iter()) {
                    if id == NO_TOKEN {
                        continue;
                    }
                    if id >= vocab {
                        return Err(NnError::Invalid(format!("token id {id} outside a vocabulary of {vocab}")));
                    }
                    row.assign(&w_x.row(id));
                }
                Ok((xp, InputCache::Tokens(ids.as_standard_layout().into_owned())))
            }
        }
    }
}

fn check_batch<F: Scalar>(s0: &State<F>, batch: usize, mask: Option<ArrayView2<F>>, t_len: usize) -> Result<(), NnError> {
    if s0.batch() != batch {
        return Err(NnError::Invalid(format!("initial state has batch {}, input has {batch}", s0.batch())));
    }
    if let Some(m) = mask
        && m.dim() != (t_len, batch) {
            return Err(NnError::Invalid(format!("mask is {:?}, input is [{t_len}, {batch}]", m.dim())));
        }
    Ok(())
}

impl<F: Scalar, C: Cell<F>> Module<F> for Recurrent<C> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.cell.visit(prefix, f);
    }
}

/// Two independent layers, one reading the sequence forwards and one backwards, both from
/// a zero state. x: [T, B, D] -> [T, B, 2H]: forward h in the first H columns.
#[derive(Clone, Debug)]
pub struct Bidirectional<C> {
    pub fwd: Recurrent<C>,
    pub bwd: Recurrent<C>,
}

pub struct BiCache<F: Scalar, C: Cell<F>> {
    fwd: SeqCache<F, C>,
    bwd: SeqCache<F, C>,
}

impl<C> Bidirectional<C> {
    pub fn new(fwd: C, bwd: C) -> Self {
        Self { fwd: Recurrent::new(fwd), bwd: Recurrent::new(bwd) }
    }

    pub fn forward<F: Scalar>(&self, input: SeqInput<F>, mask: Option<ArrayView2<F>>) -> Result<(Array3<F>, BiCache<F, C>), NnError>
    where
        C: Cell<F>,
    {
        let (hf, hb_rev, cache) = self.both(input, mask)?;
        let out = concatenate![Axis(2), hf, hb_rev.slice(s![..;-1, .., ..])];
        Ok((out, cache))
    }

    /// [`Bidirectional::forward`] with the output batch-major, [B, T, 2H], as attention
    /// reads it: written in one pass instead of concatenated and then transposed. The
    /// cache is the same, so [`Bidirectional::backward`] still takes dy: [T, B, 2H].
    pub fn forward_batch_major<F: Scalar>(&self, input: SeqInput<F>, mask: Option<ArrayView2<F>>) -> Result<(Array3<F>, BiCache<F, C>), NnError>
    where
        C: Cell<F>,
    {
        let (hf, hb_rev, cache) = self.both(input, mask)?;
        let (t_len, batch, h) = hf.dim();
        let mut out = Array3::zeros((batch, t_len, 2 * h));
        out.slice_mut(s![.., .., ..h]).assign(&hf.view().permuted_axes([1, 0, 2]));
        out.slice_mut(s![.., .., h..]).assign(&hb_rev.slice(s![..;-1, .., ..]).permuted_axes([1, 0, 2]));
        Ok((out, cache))
    }

    /// Both directions' outputs, time-major, the backward one in reversed time.
    fn both<F: Scalar>(&self, input: SeqInput<F>, mask: Option<ArrayView2<F>>) -> Result<(Array3<F>, Array3<F>, BiCache<F, C>), NnError>
    where
        C: Cell<F>,
    {
        let batch = input.batch();
        let (hf, _, fwd) = self.fwd.forward(input, &self.fwd.cell.zero_state(batch), mask)?;
        let mask_rev = mask.map(|m| m.slice_move(s![..;-1, ..]));
        let (hb_rev, _, bwd) = self.bwd.forward(input.reversed(), &self.bwd.cell.zero_state(batch), mask_rev)?;
        Ok((hf, hb_rev, BiCache { fwd, bwd }))
    }

    /// dy: [T, B, 2H] -> dx: [T, B, D] (None for token inputs).
    pub fn backward<F: Scalar>(&mut self, cache: &BiCache<F, C>, dy: ArrayView3<F>) -> Option<Array3<F>>
    where
        C: Cell<F>,
    {
        let h = self.fwd.cell.hidden_size();
        let (dxf, _) = self.fwd.backward(&cache.fwd, dy.slice(s![.., .., ..h]), None);
        let (dxb_rev, _) = self.bwd.backward(&cache.bwd, dy.slice(s![..;-1, .., h..]), None);
        match (dxf, dxb_rev) {
            (Some(mut f), Some(b)) => {
                Zip::from(&mut f).and(&b.slice(s![..;-1, .., ..])).for_each(|a, &b| *a += b);
                Some(f)
            }
            _ => None,
        }
    }
}

impl<F: Scalar, C: Cell<F>> Module<F> for Bidirectional<C> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.fwd.visit(&join(prefix, "fwd"), f);
        self.bwd.visit(&join(prefix, "bwd"), f);
    }
}

/// Layers stacked in depth: layer l reads layer l-1's outputs. x: [T, B, D] -> [T, B, H_last].
#[derive(Clone, Debug)]
pub struct Stacked<C> {
    pub layers: Vec<Recurrent<C>>,
}

pub struct StackCache<F: Scalar, C: Cell<F>> {
    layers: Vec<SeqCache<F, C>>,
}

impl<C> Stacked<C> {
    pub fn new(cells: Vec<C>) -> Self {
        Self { layers: cells.into_iter().map(Recurrent::new).collect() }
    }

    pub fn zero_states<F: Scalar>(&self, batch: usize) -> Vec<State<F>>
    where
        C: Cell<F>,
    {
        self.layers.iter().map(|l| l.cell.zero_state(batch)).collect()
    }

    /// `states`: one initial state per layer. Returns the top layer's outputs and every
    /// layer's final state.
    pub fn forward<F: Scalar>(
        &self,
        input: SeqInput<F>,
        states: &[State<F>],
        mask: Option<ArrayView2<F>>,
    ) -> Result<(Array3<F>, Vec<State<F>>, StackCache<F, C>), NnError>
    where
        C: Cell<F>,
    {
        if states.len() != self.layers.len() {
            return Err(NnError::Invalid(format!("{} states for {} layers", states.len(), self.layers.len())));
        }
        let (first, rest) = self.layers.split_first().ok_or_else(|| NnError::Invalid("a stack needs at least one layer".into()))?;
        let (mut out, last, cache) = first.forward(input, &states[0], mask)?;
        let (mut caches, mut finals) = (vec![cache], vec![last]);
        for (layer, s0) in rest.iter().zip(&states[1..]) {
            let (h, last, cache) = layer.forward(SeqInput::Dense(out.view()), s0, mask)?;
            caches.push(cache);
            finals.push(last);
            out = h;
        }
        Ok((out, finals, StackCache { layers: caches }))
    }

    /// dy: [T, B, H_last]; `d_last`: gradients on each layer's final state.
    pub fn backward<F: Scalar>(
        &mut self,
        cache: &StackCache<F, C>,
        dy: ArrayView3<F>,
        d_last: Option<&[State<F>]>,
    ) -> (Option<Array3<F>>, Vec<State<F>>)
    where
        C: Cell<F>,
    {
        let top = self.layers.len().saturating_sub(1);
        let mut d = None::<Array3<F>>;
        let mut d_states = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter_mut().enumerate().rev() {
            // Only layer 0 can read tokens, so every layer above it hands a gradient down.
            let dy_l = match &d {
                _ if l == top => dy,
                Some(d) => d.view(),
                None => break,
            };
            let (dx_l, ds0) = layer.backward(&cache.layers[l], dy_l, d_last.map(|s| &s[l]));
            d_states.push(ds0);
            d = dx_l;
        }
        d_states.reverse();
        (d, d_states)
    }
}

impl<F: Scalar, C: Cell<F>> Module<F> for Stacked<C> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        for (l, layer) in self.layers.iter_mut().enumerate() {
            layer.visit(&join(prefix, &l.to_string()), f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_input, check_params};
    use crate::nn::scalar::{randn, seeded_rng};
    use crate::nn::{Gru, Lstm, Rnn};
    use ndarray::{Array3, array};

    const T: usize = 4;
    const B: usize = 3;
    const D: usize = 2;
    const H: usize = 3;

    /// A mask where sequence 1 ends after 2 steps and sequence 2 after 3 (right padding).
    fn mask() -> Array2<f64> {
        array![[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    }

    /// The batch columns of [`mask`] reordered longest first: every mask row becomes a
    /// prefix of ones, so the layer takes its packed path instead of blending.
    const LONGEST_FIRST: [usize; B] = [0, 2, 1];

    /// One gradient-check problem: input, initial state, and the loss weights R1, R2.
    struct Problem {
        x: Array3<f64>,
        s0: State<f64>,
        r1: Array3<f64>,
        r2: State<f64>,
    }

    impl Problem {
        fn new<C: Cell<f64>>(cell: &C, rng: &mut rand_chacha::ChaCha8Rng) -> Self {
            let x = randn((T, B, D), 1.0, rng);
            let r1 = randn((T, B, H), 1.0, rng);
            let random_state = |std, rng: &mut rand_chacha::ChaCha8Rng| {
                let mut s = cell.zero_state(B);
                s.h = randn((B, H), std, rng);
                if let Some(c) = s.c.as_mut() {
                    *c = randn((B, H), std, rng);
                }
                s
            };
            let s0 = random_state(0.5, rng);
            let r2 = random_state(1.0, rng);
            Self { x, s0, r1, r2 }
        }

        /// The same problem with the batch in [`LONGEST_FIRST`] order (row-major, which
        /// `check_input` needs to pair its probes with the analytic gradient).
        fn longest_first(&self) -> Self {
            Self {
                x: self.x.select(Axis(1), &LONGEST_FIRST).as_standard_layout().into_owned(),
                s0: self.s0.select_rows(&LONGEST_FIRST),
                r1: self.r1.select(Axis(1), &LONGEST_FIRST),
                r2: self.r2.select_rows(&LONGEST_FIRST),
            }
        }

        /// Loss = Σ h·R1 + Σ h_last·R2 (+ Σ c_last·R3), so both dh and d_last are exercised.
        fn loss(&self, h: &Array3<f64>, last: &State<f64>) -> f64 {
            let c_term = last.c.as_ref().zip(self.r2.c.as_ref()).map_or(0.0, |(c, r)| (c * r).sum());
            (h * &self.r1).sum() + (&last.h * &self.r2.h).sum() + c_term
        }
    }

    fn check_cell<C: Cell<f64>>(make: impl Fn(&mut rand_chacha::ChaCha8Rng) -> C) {
        let mut rng = seeded_rng(5);
        let mut layer = Recurrent::new(make(&mut rng));
        let blend = Problem::new(&layer.cell, &mut rng);
        let packed = blend.longest_first();
        let (m, m_sorted) = (mask(), mask().select(Axis(1), &LONGEST_FIRST));
        for (name, p, mk) in [("unmasked", &blend, None), ("blended", &blend, Some(m.view())), ("packed", &packed, Some(m_sorted.view()))] {
            let report = check_params(&mut layer, |l| {
                l.zero_grad();
                let (h, last, cache) = l.forward(SeqInput::Dense(p.x.view()), &p.s0, mk).unwrap();
                l.backward(&cache, p.r1.view(), Some(&p.r2));
                p.loss(&h, &last)
            });
            assert!(report.max_rel_error < 1e-6, "{name}: {report:?}");

            let (_, _, cache) = layer.forward(SeqInput::Dense(p.x.view()), &p.s0, mk).unwrap();
            let (dx, ds0) = layer.backward(&cache, p.r1.view(), Some(&p.r2));
            let err = check_input(&p.x, &dx.unwrap(), |x| {
                let (h, last, _) = layer.forward(SeqInput::Dense(x.view()), &p.s0, mk).unwrap();
                p.loss(&h, &last)
            });
            assert!(err < 1e-6, "{name}: dx error {err}");
            let err = check_input(&p.s0.h, &ds0.h, |h0| {
                let s = State { h: h0.clone(), c: p.s0.c.clone() };
                let (h, last, _) = layer.forward(SeqInput::Dense(p.x.view()), &s, mk).unwrap();
                p.loss(&h, &last)
            });
            assert!(err < 1e-6, "{name}: dh0 error {err}");
        }
    }

    /// A longest-first batch (packed path: the cell runs on the real rows only) gives the
    /// outputs, final state and gradients that blending every row gives the same batch
    /// in another order.
    fn packed_equals_blended<C: Cell<f64>>(cell: C) {
        let mut rng = seeded_rng(12);
        let mut blended = Recurrent::new(cell);
        let mut packed = blended.clone();
        let p = Problem::new(&blended.cell, &mut rng);
        let q = p.longest_first();
        let (m, m_sorted) = (mask(), mask().select(Axis(1), &LONGEST_FIRST));

        let (h, last, cache) = blended.forward(SeqInput::Dense(p.x.view()), &p.s0, Some(m.view())).unwrap();
        let (hq, last_q, cache_q) = packed.forward(SeqInput::Dense(q.x.view()), &q.s0, Some(m_sorted.view())).unwrap();
        assert!(cache.steps.iter().any(|(r, _)| *r == Rows::Blend));
        assert!(cache_q.steps.iter().all(|(r, _)| matches!(r, Rows::All | Rows::Prefix(_))));
        assert!(cache_q.steps.iter().any(|(r, _)| matches!(r, Rows::Prefix(_))));
        assert!(h.select(Axis(1), &LONGEST_FIRST).abs_diff_eq(&hq, 1e-10));
        assert_eq!(last.select_rows(&LONGEST_FIRST).c.is_some(), last_q.c.is_some());
        assert!(last.select_rows(&LONGEST_FIRST).h.abs_diff_eq(&last_q.h, 1e-10));

        let (dx, ds0) = blended.backward(&cache, p.r1.view(), Some(&p.r2));
        let (dx_q, ds0_q) = packed.backward(&cache_q, q.r1.view(), Some(&q.r2));
        assert!(dx.unwrap().select(Axis(1), &LONGEST_FIRST).abs_diff_eq(&dx_q.unwrap(), 1e-10));
        let ds0 = ds0.select_rows(&LONGEST_FIRST);
        assert!(ds0.h.abs_diff_eq(&ds0_q.h, 1e-10));
        if let (Some(a), Some(b)) = (&ds0.c, &ds0_q.c) {
            assert!(a.abs_diff_eq(b, 1e-10));
        }
        let mut grads = Vec::new();
        blended.visit("", &mut |name, p| grads.push((name.to_string(), p.grad.to_owned())));
        let mut k = 0;
        packed.visit("", &mut |name, p| {
            assert_eq!(grads[k].0, name);
            assert!(grads[k].1.abs_diff_eq(&p.grad, 1e-10), "{name}");
            k += 1;
        });
        assert_eq!(k, grads.len());
    }

    #[test]
    fn packed_path_equals_blend_path() {
        let mut rng = seeded_rng(13);
        packed_equals_blended(Rnn::<f64>::new(D, H, &mut rng));
        packed_equals_blended(Lstm::<f64>::new(D, H, &mut rng));
        packed_equals_blended(Gru::<f64>::new(D, H, &mut rng));
    }

    #[test]
    fn rnn_gradcheck() {
        check_cell(|r| Rnn::new(D, H, r));
    }

    #[test]
    fn lstm_gradcheck() {
        check_cell(|r| Lstm::new(D, H, r));
    }

    #[test]
    fn gru_gradcheck() {
        check_cell(|r| Gru::new(D, H, r));
    }

    /// The streaming API and the sequence API are the same function.
    fn forward_equals_repeated_step<C: Cell<f64>>(cell: C) {
        let mut rng = seeded_rng(9);
        let x: Array3<f64> = randn((T, B, D), 1.0, &mut rng);
        let layer = Recurrent::new(cell);
        let s0 = layer.cell.zero_state(B);
        let (h, last, _) = layer.forward(SeqInput::Dense(x.view()), &s0, None).unwrap();
        let mut s = s0;
        for t in 0..T {
            s = layer.cell.step(x.index_axis(Axis(0), t), &s).0;
            assert!(h.index_axis(Axis(0), t).abs_diff_eq(&s.h, 1e-12));
        }
        assert!(last.h.abs_diff_eq(&s.h, 1e-12));
    }

    #[test]
    fn sequence_forward_equals_repeated_step() {
        let mut rng = seeded_rng(2);
        forward_equals_repeated_step(Rnn::new(D, H, &mut rng));
        forward_equals_repeated_step(Lstm::new(D, H, &mut rng));
        forward_equals_repeated_step(Gru::new(D, H, &mut rng));
    }

    /// Single-step backward (streaming training) against central differences, including dx.
    #[test]
    fn step_backward_gradcheck() {
        let mut rng = seeded_rng(4);
        let mut cell: Lstm<f64> = Lstm::new(D, H, &mut rng);
        let x: Array2<f64> = randn((B, D), 1.0, &mut rng);
        let s0 = State { h: randn((B, H), 0.5, &mut rng), c: Some(randn((B, H), 0.5, &mut rng)) };
        let r = State { h: randn((B, H), 1.0, &mut rng), c: Some(randn((B, H), 1.0, &mut rng)) };
        let loss = |s: &State<f64>| (&s.h * &r.h).sum() + (s.c.as_ref().unwrap() * r.c.as_ref().unwrap()).sum();
        let report = check_params(&mut cell, |c| {
            c.zero_grad();
            let (s, cache) = c.step(x.view(), &s0);
            c.step_backward(x.view(), &cache, &r);
            loss(&s)
        });
        assert!(report.max_rel_error < 1e-6, "{report:?}");
        let (_, cache) = cell.step(x.view(), &s0);
        let (dx, _) = cell.step_backward(x.view(), &cache, &r);
        let err = check_input(&x, &dx, |x| loss(&cell.step(x.view(), &s0).0));
        assert!(err < 1e-6, "{err}");
    }

    /// Token inputs: a one-hot x times W_x is the row of W_x; NO_TOKEN is the zero vector.
    #[test]
    fn token_input_equals_one_hot_and_gradchecks() {
        let mut rng = seeded_rng(6);
        let v = 5;
        let mut layer = Recurrent::new(Gru::<f64>::new(v, H, &mut rng));
        let ids = array![[NO_TOKEN, 2, 4], [1, 1, 0], [3, 0, 2]];
        let mut onehot = Array3::zeros((3, 3, v));
        for ((t, b), &id) in ids.indexed_iter() {
            if id != NO_TOKEN {
                onehot[[t, b, id]] = 1.0;
            }
        }
        let s0 = layer.cell.zero_state(3);
        let (h_ids, _, _) = layer.forward(SeqInput::Tokens(ids.view()), &s0, None).unwrap();
        let (h_hot, _, _) = layer.forward(SeqInput::Dense(onehot.view()), &s0, None).unwrap();
        assert!(h_ids.abs_diff_eq(&h_hot, 1e-12));
        let r: Array3<f64> = randn((3, 3, H), 1.0, &mut rng);
        let report = check_params(&mut layer, |l| {
            l.zero_grad();
            let (h, _, c) = l.forward(SeqInput::Tokens(ids.view()), &s0, None).unwrap();
            l.backward(&c, r.view(), None);
            (h * &r).sum()
        });
        assert!(report.max_rel_error < 1e-6, "{report:?}");
        assert!(layer.forward(SeqInput::Tokens(array![[v]].view()), &layer.cell.zero_state(1), None).is_err());
    }

    #[test]
    fn bidirectional_gradcheck_and_padding_independence() {
        let mut rng = seeded_rng(8);
        let mut bi = Bidirectional::new(Lstm::<f64>::new(D, H, &mut rng), Lstm::new(D, H, &mut rng));
        let x: Array3<f64> = randn((T, B, D), 1.0, &mut rng);
        let r: Array3<f64> = randn((T, B, 2 * H), 1.0, &mut rng);
        let m = mask();
        let report = check_params(&mut bi, |l| {
            l.zero_grad();
            let (y, c) = l.forward(SeqInput::Dense(x.view()), Some(m.view())).unwrap();
            l.backward(&c, r.view());
            (y * &r).sum()
        });
        assert!(report.max_rel_error < 1e-6, "{report:?}");
        let (_, c) = bi.forward(SeqInput::Dense(x.view()), Some(m.view())).unwrap();
        let dx = bi.backward(&c, r.view()).unwrap();
        let err = check_input(&x, &dx, |x| (bi.forward(SeqInput::Dense(x.view()), Some(m.view())).unwrap().0 * &r).sum());
        assert!(err < 1e-6, "{err}");

        // Sequence 1 is 2 steps long: its real outputs must not depend on what the padding holds.
        let (y1, _) = bi.forward(SeqInput::Dense(x.view()), Some(m.view())).unwrap();
        let mut x2 = x.clone();
        x2.slice_mut(s![2.., 1, ..]).fill(7.0);
        let (y2, _) = bi.forward(SeqInput::Dense(x2.view()), Some(m.view())).unwrap();
        assert!(y1.slice(s![..2, 1, ..]).abs_diff_eq(&y2.slice(s![..2, 1, ..]), 1e-12));

        // The batch-major output holds the same numbers, transposed.
        let (yb, _) = bi.forward_batch_major(SeqInput::Dense(x.view()), Some(m.view())).unwrap();
        assert_eq!(yb, y1.permuted_axes([1, 0, 2]));
    }

    #[test]
    fn stacked_gradcheck() {
        let mut rng = seeded_rng(10);
        let mut stack = Stacked::new(vec![Rnn::<f64>::new(D, H, &mut rng), Rnn::new(H, H, &mut rng)]);
        let x: Array3<f64> = randn((T, B, D), 1.0, &mut rng);
        let r: Array3<f64> = randn((T, B, H), 1.0, &mut rng);
        let s0 = stack.zero_states(B);
        let report = check_params(&mut stack, |l| {
            l.zero_grad();
            let (y, _, c) = l.forward(SeqInput::Dense(x.view()), &s0, None).unwrap();
            l.backward(&c, r.view(), None);
            (y * &r).sum()
        });
        assert!(report.max_rel_error < 1e-6, "{report:?}");
        let (_, _, c) = stack.forward(SeqInput::Dense(x.view()), &s0, None).unwrap();
        let (dx, _) = stack.backward(&c, r.view(), None);
        let err = check_input(&x, &dx.unwrap(), |x| (stack.forward(SeqInput::Dense(x.view()), &s0, None).unwrap().0 * &r).sum());
        assert!(err < 1e-6, "{err}");
    }
}
