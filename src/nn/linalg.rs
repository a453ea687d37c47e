//! Matrix products tuned for what recurrent nets do most: thin products, one sequence
//! (batch 1) or a rank-few gradient update at a time. There `matrixmultiply`'s packing
//! costs more than the arithmetic, so rows are combined directly (axpy or dot, laid out
//! for auto-vectorisation); everything larger goes to `ndarray`'s gemm.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, linalg::general_mat_mul};

use super::Scalar;

/// Below this many rows (or inner products this short) the direct loops win.
const THIN: usize = 4;

/// c += alpha · a · b. a: [M, K], b: [K, N], c: [M, N].
pub fn gemm_acc<F: Scalar>(alpha: F, a: &ArrayView2<F>, b: &ArrayView2<F>, c: &mut ArrayViewMut2<F>) {
    let (m, k) = a.dim();
    debug_assert_eq!(b.nrows(), k);
    debug_assert_eq!(c.dim(), (m, b.ncols()));
    if m > THIN && k > THIN {
        general_mat_mul(alpha, a, b, F::one(), c);
        return;
    }
    if b.strides()[1] == 1 && c.strides()[1] == 1 {
        // Rows of b are contiguous: c_r += (alpha a_rk) b_k, one axpy per (r, k).
        for r in 0..m {
            let mut c_row = c.row_mut(r);
            let Some(c_row) = c_row.as_slice_mut() else { break };
            for kk in 0..k {
                let s = alpha * a[[r, kk]];
                if s != F::zero()
                    && let Some(b_row) = b.row(kk).to_slice() {
                        c_row.iter_mut().zip(b_row).for_each(|(c, &b)| *c += s * b);
                    }
            }
        }
        return;
    }
    if b.strides()[0] == 1 && k > 0 {
        // b is a transposed row-major matrix: each c_rj is a dot of contiguous vectors.
        for r in 0..m {
            let a_row = a.row(r);
            if let Some(a_row) = a_row.to_slice() {
                for j in 0..b.ncols() {
                    if let Some(b_col) = b.column(j).to_slice() {
                        c[[r, j]] += alpha * dot(a_row, b_col);
                        continue;
                    }
                    c[[r, j]] += alpha * a_row.iter().zip(b.column(j)).map(|(&x, &y)| x * y).sum::<F>();
                }
                continue;
            }
            for j in 0..b.ncols() {
                c[[r, j]] += alpha * a.row(r).iter().zip(b.column(j)).map(|(&x, &y)| x * y).sum::<F>();
            }
        }
        return;
    }
    general_mat_mul(alpha, a, b, F::one(), c);
}

/// a · b as a new matrix.
pub fn matmul<F: Scalar>(a: &ArrayView2<F>, b: &ArrayView2<F>) -> Array2<F> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    gemm_acc(F::one(), a, b, &mut c.view_mut());
    c
}

/// Eight independent partial sums, so the compiler can keep them in one SIMD register
/// (a single running sum is a serial dependency it may not reorder).
fn dot<F: Scalar>(x: &[F], y: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: F = xc.remainder().iter().zip(yc.remainder()).map(|(&a, &b)| a * b).sum();
    for (a, b) in xc.zip(yc) {
        for i in 0..8 {
            acc[i] += a[i] * b[i];
        }
    }
    acc.iter().copied().sum::<F>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::scalar::{randn, seeded_rng};

    /// Every path (thin rows, thin inner size, transposed right side, strided views,
    /// the gemm fallback) agrees with ndarray's own product.
    #[test]
    fn all_paths_match_ndarray() {
        let mut rng = seeded_rng(3);
        for (m, k, n) in [(1, 50, 150), (3, 7, 5), (50, 1, 150), (9, 2, 13), (20, 30, 40), (1, 19, 1), (2, 0, 3)] {
            let a: Array2<f64> = randn((m, k), 1.0, &mut rng);
            let b: Array2<f64> = randn((k, n), 1.0, &mut rng);
            let bt: Array2<f64> = b.t().as_standard_layout().into_owned();
            let at: Array2<f64> = a.t().as_standard_layout().into_owned();
            let want = a.dot(&b);
            for (av, bv) in [(a.view(), b.view()), (a.view(), bt.t()), (at.t(), b.view()), (at.t(), bt.t())] {
                let mut c = Array2::from_elem((m, n), 1.0);
                gemm_acc(2.0, &av, &bv, &mut c.view_mut());
                let expect = &want * 2.0 + 1.0;
                assert!(c.abs_diff_eq(&expect, 1e-10), "{m}x{k}x{n}");
            }
        }
    }
}
