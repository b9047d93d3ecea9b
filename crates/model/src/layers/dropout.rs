//! Dropout with the probability from the checkpoint's config.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// `x · mask / (1 − p)` while training (an autodiff backend and `p > 0`), `x` otherwise.
#[derive(Module, Clone, Debug)]
pub struct Dropout {
    /// The drop probability.
    pub prob: f64,
}

impl Dropout {
    pub fn new(prob: f64) -> Self {
        Self { prob }
    }

    pub fn forward<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        rankforge_kernels::dropout(&self.as_burn(), x)
    }

    /// burn's module, for the operations that take it.
    pub(crate) fn as_burn(&self) -> burn::nn::Dropout {
        burn::nn::Dropout { prob: self.prob }
    }
}
