//! Trainable tensors and the one traversal every optimizer, checkpoint and gradient check uses.

use ndarray::{Array, ArrayViewMutD, Dimension};

use super::Scalar;

/// A tensor with its accumulated gradient (same shape). `trainable = false` freezes it:
/// optimizers and gradient checks skip it, but it is still saved and loaded.
#[derive(Clone, Debug)]
pub struct Param<F, D: Dimension> {
    pub value: Array<F, D>,
    pub grad: Array<F, D>,
    pub trainable: bool,
}

impl<F: Scalar, D: Dimension> Param<F, D> {
    pub fn new(value: Array<F, D>) -> Self {
        let grad = Array::zeros(value.raw_dim());
        Self { value, grad, trainable: true }
    }

    /// A parameter that is saved and loaded but never trained (running statistics, fixed
    /// input standardisation).
    pub fn frozen(value: Array<F, D>) -> Self {
        Self { trainable: false, ..Self::new(value) }
    }

    /// Hands this parameter to a visitor under `prefix.name`.
    pub fn visit(&mut self, prefix: &str, name: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        let full = join(prefix, name);
        f(
            &full,
            ParamMut {
                value: self.value.view_mut().into_dyn(),
                grad: self.grad.view_mut().into_dyn(),
                trainable: self.trainable,
            },
        );
    }
}

/// A borrowed parameter, shape-erased so heterogeneous layers can be walked uniformly.
pub struct ParamMut<'a, F> {
    pub value: ArrayViewMutD<'a, F>,
    pub grad: ArrayViewMutD<'a, F>,
    pub trainable: bool,
}

/// Anything holding parameters. `visit` must walk them in a fixed order with stable,
/// unique, dot-separated names: optimizers key their state by that order and weight
/// files by those names.
pub trait Module<F: Scalar> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>));

    fn zero_grad(&mut self) {
        self.visit("", &mut |_, mut p| p.grad.fill(F::zero()));
    }

    fn num_params(&mut self) -> usize {
        let mut n = 0;
        self.visit("", &mut |_, p| n += p.value.len());
        n
    }
}

/// Adds `from`'s gradients to `into`'s, parameter by parameter (data-parallel training: one
/// replica per thread). Both must be the same architecture.
pub fn add_grads<F: Scalar>(into: &mut dyn Module<F>, from: &mut dyn Module<F>) {
    let mut grads = Vec::new();
    from.visit("", &mut |_, p| grads.push(p.grad.to_owned()));
    let mut i = 0;
    into.visit("", &mut |_, mut p| {
        if let Some(g) = grads.get(i) {
            p.grad += g;
        }
        i += 1;
    });
}

/// Sets `to`'s parameter values to `from`'s (a replica catching up with the model).
pub fn copy_values<F: Scalar>(from: &mut dyn Module<F>, to: &mut dyn Module<F>) {
    let mut vals = Vec::new();
    from.visit("", &mut |_, p| vals.push(p.value.to_owned()));
    let mut i = 0;
    to.visit("", &mut |_, mut p| {
        if let Some(v) = vals.get(i) {
            p.value.assign(v);
        }
        i += 1;
    });
}

pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}
