//! 1-D convolution over time, computed as im2col plus one matrix product.
//!
//! Unlike the recurrent layers (time-major `[T, B, D]`), a convolution reads each sequence
//! as a contiguous block, so its input is batch-major `[B, T, C]`: the `k` frames under a
//! window are then `k·C` adjacent numbers, which is exactly one im2col row.

use ndarray::{Array1, Array2, Array3, ArrayView3, Axis, Ix1, Ix2, s};

use super::param::{Module, Param, ParamMut};
use super::scalar::randn;
use super::{NnError, Scalar};

/// "Valid" (unpadded) strided convolution along time.
///
/// x: [B, T, C_in] -> y: [B, T_out, C_out] with T_out = (T - k) / stride + 1;
/// w: [k·C_in, C_out] in im2col layout (row `j·C_in + c` weighs tap `j` of channel `c`),
/// b: [C_out]. Output frame `t` sees input frames `t·stride .. t·stride + k`; trailing
/// frames that do not fill a whole window are not read.
#[derive(Clone, Debug)]
pub struct Conv1d<F: Scalar> {
    pub w: Param<F, Ix2>,
    pub b: Param<F, Ix1>,
    kernel: usize,
    stride: usize,
}

/// What backward needs: the im2col matrix (the input as the product saw it) and the
/// input's length, which the matrix alone cannot give back when frames were skipped.
pub struct Conv1dCache<F> {
    /// [B·T_out, k·C_in], row `b·T_out + t` = the window of output frame `t` of sequence `b`.
    cols: Array2<F>,
    batch: usize,
    time: usize,
    t_out: usize,
}

impl<F: Scalar> Conv1d<F> {
    /// Glorot-normal weights with the convolutional fan (fan_in = k·C_in, fan_out = k·C_out,
    /// as Keras and PyTorch count it: each output sees k·C_in inputs), zero bias.
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        rng: &mut impl rand::Rng,
    ) -> Result<Self, NnError> {
        let std = (2.0 / (kernel * (c_in + c_out)) as f64).sqrt();
        Self::from_weights(randn((kernel * c_in, c_out), std, rng), Array1::zeros(c_out), kernel, stride)
    }

    /// `w: [k·C_in, C_out]` in im2col layout, `b: [C_out]`.
    pub fn from_weights(w: Array2<F>, b: Array1<F>, kernel: usize, stride: usize) -> Result<Self, NnError> {
        if kernel == 0 || stride == 0 {
            return Err(NnError::Invalid(format!(
                "conv1d kernel and stride must be at least 1, got kernel {kernel}, stride {stride}"
            )));
        }
        if w.nrows() == 0 || !w.nrows().is_multiple_of(kernel) {
            return Err(NnError::Invalid(format!(
                "conv1d weights have {} rows, which is not kernel ({kernel}) × a positive channel count",
                w.nrows()
            )));
        }
        if w.ncols() != b.len() {
            return Err(NnError::Invalid(format!(
                "conv1d bias has length {}, the weights have {} output channels",
                b.len(),
                w.ncols()
            )));
        }
        Ok(Self { w: Param::new(w), b: Param::new(b), kernel, stride })
    }

    pub fn in_channels(&self) -> usize {
        self.w.value.nrows() / self.kernel
    }

    pub fn out_channels(&self) -> usize {
        self.w.value.ncols()
    }

    pub fn kernel(&self) -> usize {
        self.kernel
    }

    pub fn stride(&self) -> usize {
        self.stride
    }

    /// T_out for an input of `time` frames; an error when not even one window fits.
    pub fn output_len(&self, time: usize) -> Result<usize, NnError> {
        if time < self.kernel {
            return Err(NnError::Invalid(format!(
                "conv1d input has {time} time steps, fewer than the kernel size {}",
                self.kernel
            )));
        }
        Ok((time - self.kernel) / self.stride + 1)
    }

    /// Inference: the output without a cache.
    pub fn apply(&self, x: ArrayView3<F>) -> Result<Array3<F>, NnError> {
        Ok(self.forward(x)?.0)
    }

    /// x: [B, T, C_in] -> y: [B, T_out, C_out].
    pub fn forward(&self, x: ArrayView3<F>) -> Result<(Array3<F>, Conv1dCache<F>), NnError> {
        let (batch, time, c_in) = x.dim();
        if c_in != self.in_channels() {
            return Err(NnError::Invalid(format!(
                "conv1d expects {} input channels, got {c_in}",
                self.in_channels()
            )));
        }
        let t_out = self.output_len(time)?;
        let (k, stride) = (self.kernel, self.stride);
        // (1) im2col: one row per output frame, holding its k input frames side by side, so
        // the whole convolution becomes a single matrix product instead of B·T_out small ones.
        let mut cols = Array2::zeros((batch * t_out, k * c_in));
        for b in 0..batch {
            for t in 0..t_out {
                let mut row = cols.row_mut(b * t_out + t);
                for j in 0..k {
                    row.slice_mut(s![j * c_in..(j + 1) * c_in]).assign(&x.slice(s![b, t * stride + j, ..]));
                }
            }
        }
        // (2) z = cols W + b: [B·T_out, C_out]
        let z = cols.dot(&self.w.value) + &self.b.value;
        // (3) rows are (b, t) pairs in row-major order, so this reshape only relabels them.
        let y = z
            .into_shape_with_order((batch, t_out, self.out_channels()))
            .expect("im2col rows are exactly B·T_out");
        Ok((y, Conv1dCache { cols, batch, time, t_out }))
    }

    /// dy: [B, T_out, C_out] -> dx: [B, T, C_in]; adds into `w.grad` and `b.grad`.
    pub fn backward(&mut self, cache: &Conv1dCache<F>, dy: ArrayView3<F>) -> Result<Array3<F>, NnError> {
        let (k, stride, c_in, c_out) = (self.kernel, self.stride, self.in_channels(), self.out_channels());
        let t_out = cache.t_out;
        if cache.cols.ncols() != k * c_in || dy.dim() != (cache.batch, t_out, c_out) {
            return Err(NnError::Invalid(format!(
                "conv1d backward got dy of shape {:?} for an output of shape {:?} (or a cache from another layer)",
                dy.shape(),
                [cache.batch, t_out, c_out]
            )));
        }
        // (3) undo the relabelling: dz: [B·T_out, C_out]
        let dz = dy.to_shape((cache.batch * t_out, c_out)).expect("shape checked above");
        // (2) z = cols W + b:  dW += colsᵀ dz,  db += Σ_rows dz,  dcols = dz Wᵀ
        ndarray::linalg::general_mat_mul(F::one(), &cache.cols.t(), &dz, F::one(), &mut self.w.grad);
        self.b.grad += &dz.sum_axis(Axis(0));
        let dcols = dz.dot(&self.w.value.t());
        // (1) col2im: every input frame was copied into each window covering it, so its
        // gradient is the sum over those copies (overlapping windows when stride < k).
        let mut dx = Array3::zeros((cache.batch, cache.time, c_in));
        for b in 0..cache.batch {
            for t in 0..t_out {
                let row = dcols.row(b * t_out + t);
                for j in 0..k {
                    let mut frame = dx.slice_mut(s![b, t * stride + j, ..]);
                    frame += &row.slice(s![j * c_in..(j + 1) * c_in]);
                }
            }
        }
        Ok(dx)
    }
}

impl<F: Scalar> Module<F> for Conv1d<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        self.w.visit(prefix, "w", f);
        self.b.visit(prefix, "b", f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_input, check_params};
    use crate::nn::scalar::seeded_rng;
    use ndarray::array;

    /// One channel, kernel [1, 2], stride 1, bias 0 on x = [1, 2, 3]:
    /// y = [1·1 + 2·2, 1·2 + 2·3] = [5, 8].
    /// With dy = [1, 1]: the windows are cols = [[1, 2], [2, 3]], so
    /// dW = colsᵀ dy = [1+2, 2+3] = [3, 5], db = 1 + 1 = 2, dcols = dy Wᵀ = [[1, 2], [1, 2]],
    /// and col2im adds frame 1's two copies: dx = [1, 2+1, 2] = [1, 3, 2].
    #[test]
    fn golden_forward_backward() {
        let mut conv = Conv1d::from_weights(array![[1.0], [2.0]], array![0.0], 2, 1).unwrap();
        let x = array![[[1.0f64], [2.0], [3.0]]];
        let (y, cache) = conv.forward(x.view()).unwrap();
        assert_eq!(y, array![[[5.0], [8.0]]]);
        let dx = conv.backward(&cache, array![[[1.0], [1.0]]].view()).unwrap();
        assert_eq!(dx, array![[[1.0], [3.0], [2.0]]]);
        assert_eq!(conv.w.grad, array![[3.0], [5.0]]);
        assert_eq!(conv.b.grad, array![2.0]);
    }

    /// Kernel [1, 2], stride 2 on x = [1, 2, 3, 4, 5]: T_out = (5 - 2)/2 + 1 = 2, windows
    /// [1, 2] and [3, 4] give y = [5, 11]; frame 5 is never read, so with dy = [1, 1]
    /// dx = [1, 2, 1, 2, 0] (no overlap: each frame is in at most one window).
    #[test]
    fn golden_stride_skips_the_tail() {
        let mut conv = Conv1d::from_weights(array![[1.0], [2.0]], array![0.0], 2, 2).unwrap();
        let x = array![[[1.0f64], [2.0], [3.0], [4.0], [5.0]]];
        let (y, cache) = conv.forward(x.view()).unwrap();
        assert_eq!(y, array![[[5.0], [11.0]]]);
        let dx = conv.backward(&cache, array![[[1.0], [1.0]]].view()).unwrap();
        assert_eq!(dx, array![[[1.0], [2.0], [1.0], [2.0], [0.0]]]);
    }

    /// Two channels, kernel 2: weight rows are (tap 0, ch 0), (tap 0, ch 1), (tap 1, ch 0),
    /// (tap 1, ch 1). W = [1, 0, 0, 1]ᵀ picks channel 0 of frame 0 and channel 1 of frame 1:
    /// on x = [[1, 10], [2, 20]], y = 1 + 20 = 21, plus bias 0.5 = 21.5.
    #[test]
    fn golden_im2col_layout() {
        let conv = Conv1d::from_weights(array![[1.0], [0.0], [0.0], [1.0]], array![0.5], 2, 1).unwrap();
        assert_eq!(conv.in_channels(), 2);
        let y = conv.apply(array![[[1.0f64, 10.0], [2.0, 20.0]]].view()).unwrap();
        assert_eq!(y, array![[[21.5]]]);
    }

    #[test]
    fn caller_mistakes_are_errors() {
        let mut rng = seeded_rng(0);
        assert!(Conv1d::<f64>::new(2, 3, 3, 0, &mut rng).is_err());
        assert!(Conv1d::<f64>::new(2, 3, 0, 1, &mut rng).is_err());
        assert!(Conv1d::<f64>::from_weights(Array2::zeros((5, 3)), Array1::zeros(3), 2, 1).is_err());
        assert!(Conv1d::<f64>::from_weights(Array2::zeros((4, 3)), Array1::zeros(2), 2, 1).is_err());
        let mut conv: Conv1d<f64> = Conv1d::new(2, 3, 3, 1, &mut rng).unwrap();
        let short = conv.forward(Array3::zeros((1, 2, 2)).view());
        assert!(matches!(short, Err(NnError::Invalid(ref m)) if m.contains("fewer than the kernel")));
        let wrong_channels = conv.forward(Array3::zeros((1, 4, 3)).view());
        assert!(matches!(wrong_channels, Err(NnError::Invalid(ref m)) if m.contains("input channels")));
        let (_, cache) = conv.forward(Array3::zeros((1, 4, 2)).view()).unwrap();
        assert!(conv.backward(&cache, Array3::zeros((1, 3, 3)).view()).is_err());
    }

    #[test]
    fn gradcheck_random_shapes() {
        let mut rng = seeded_rng(11);
        // (B, T, C_in, C_out, kernel, stride): overlapping windows, skipped frames, k = T.
        for (b, t, ci, co, k, st) in [(2, 7, 3, 4, 3, 2), (3, 9, 2, 3, 2, 3), (1, 5, 2, 2, 5, 1), (2, 6, 1, 3, 3, 1)] {
            let mut conv: Conv1d<f64> = Conv1d::new(ci, co, k, st, &mut rng).unwrap();
            conv.b.value = randn(co, 1.0, &mut rng);
            let x: Array3<f64> = randn((b, t, ci), 1.0, &mut rng);
            let t_out = conv.output_len(t).unwrap();
            let r: Array3<f64> = randn((b, t_out, co), 1.0, &mut rng);
            let report = check_params(&mut conv, |c| {
                c.zero_grad();
                let (y, cache) = c.forward(x.view()).unwrap();
                c.backward(&cache, r.view()).unwrap();
                (y * &r).sum()
            });
            assert!(report.max_rel_error < 1e-6, "{report:?}");
            let (_, cache) = conv.forward(x.view()).unwrap();
            let dx = conv.backward(&cache, r.view()).unwrap();
            let err = check_input(&x, &dx, |x| (conv.apply(x.view()).unwrap() * &r).sum());
            assert!(err < 1e-6, "input gradient error {err}");
        }
    }
}
