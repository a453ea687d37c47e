//! Lookup table from token ids to dense vectors.

use ndarray::{Array2, Ix2};

use super::param::{Module, Param, ParamMut};
use super::scalar::randn;
use super::{NnError, Scalar};

/// ids: [N] -> vectors: [N, E]; table: [V, E]. Frozen (pre-trained, not updated) when
/// `table.trainable` is false.
#[derive(Clone, Debug)]
pub struct Embedding<F: Scalar> {
    pub table: Param<F, Ix2>,
}

impl<F: Scalar> Embedding<F> {
    pub fn new(vocab: usize, dim: usize, rng: &mut impl rand::Rng) -> Self {
        Self::from_table(randn((vocab, dim), 0.1, rng))
    }

    pub fn from_table(table: Array2<F>) -> Self {
        Self { table: Param::new(table) }
    }

    /// Keeps the vectors fixed during training (e.g. pre-trained word vectors).
    pub fn frozen(mut self) -> Self {
        self.table.trainable = false;
        self
    }

    pub fn vocab_size(&self) -> usize {
        self.table.value.nrows()
    }

    pub fn dim(&self) -> usize {
        self.table.value.ncols()
    }

    /// The ids are the cache: backward only needs to know which rows were read.
    pub fn forward(&self, ids: &[usize]) -> Result<Array2<F>, NnError> {
        let v = self.vocab_size();
        if let Some(&bad) = ids.iter().find(|&&i| i >= v) {
            return Err(NnError::Invalid(format!("token id {bad} outside a vocabulary of {v}")));
        }
        let mut out = Array2::zeros((ids.len(), self.dim()));
        for (mut row, &id) in out.rows_mut().into_iter().zip(ids) {
            row.assign(&self.table.value.row(id));
        }
        Ok(out)
    }

    /// dy: [N, E]; scatter-adds each row into the row it was read from (ids repeat).
    pub fn backward(&mut self, ids: &[usize], dy: ndarray::ArrayView2<F>) {
        if !self.table.trainable {
            return;
        }
        for (row, &id) in dy.rows().into_iter().zip(ids) {
            let mut g = self.table.grad.row_mut(id);
            g += &row;
        }
    }
}

impl<F: Scalar> Module<F> for Embedding<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.table.visit(prefix, "table", f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::check_params;
    use crate::nn::scalar::seeded_rng;
    use ndarray::array;

    /// ids [2, 0, 2] read rows 2, 0, 2; dy rows [1,1], [2,2], [3,3] land on row 2 twice:
    /// grad row 2 = [1+3, 1+3] = [4, 4], row 0 = [2, 2], row 1 untouched.
    #[test]
    fn golden_lookup_and_scatter() {
        let mut e = Embedding::from_table(array![[0.0f64, 1.0], [2.0, 3.0], [4.0, 5.0]]);
        let y = e.forward(&[2, 0, 2]).unwrap();
        assert_eq!(y, array![[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]);
        e.backward(&[2, 0, 2], array![[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]].view());
        assert_eq!(e.table.grad, array![[2.0, 2.0], [0.0, 0.0], [4.0, 4.0]]);
    }

    #[test]
    fn out_of_vocabulary_is_an_error_and_frozen_tables_do_not_learn() {
        let e: Embedding<f32> = Embedding::new(3, 2, &mut seeded_rng(0));
        assert!(e.forward(&[3]).is_err());
        let mut e = e.frozen();
        e.backward(&[0], array![[1.0, 1.0]].view());
        assert!(e.table.grad.iter().all(|&g| g == 0.0));
    }

    #[test]
    fn gradcheck() {
        let mut rng = seeded_rng(3);
        let mut e: Embedding<f64> = Embedding::new(5, 3, &mut rng);
        let ids = [4, 1, 1, 0];
        let r: Array2<f64> = randn((4, 3), 1.0, &mut rng);
        let report = check_params(&mut e, |e| {
            e.zero_grad();
            let y = e.forward(&ids).unwrap();
            e.backward(&ids, r.view());
            (y * &r).sum()
        });
        assert!(report.max_rel_error < 1e-7, "{report:?}");
    }
}
