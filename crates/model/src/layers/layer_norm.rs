//! Layer normalisation with the parameters of `torch.nn.LayerNorm` and the checkpoint's ε.

use burn::module::{Module, Param};
use burn::nn::LayerNormConfig;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// `γ ⊙ (x − μ) / √(σ² + ε) + β` over the last axis. Named `LayerNorm` with burn's field names,
/// so burn-store's adapter maps PyTorch's `weight` / `bias` onto `gamma` / `beta`; unlike burn's
/// own it keeps ε readable (BERT's is 1e-12, RoBERTa's 1e-5).
#[derive(Module, Debug)]
pub struct LayerNorm<B: Backend> {
    pub gamma: Param<Tensor<B, 1>>,
    pub beta: Option<Param<Tensor<B, 1>>>,
    pub epsilon: f64,
}

impl<B: Backend> LayerNorm<B> {
    /// γ = 1, β = 0 (weights are normally loaded over them).
    pub fn new(width: usize, epsilon: f64, device: &B::Device) -> Self {
        let burn::nn::LayerNorm { gamma, beta, .. } = LayerNormConfig::new(width)
            .with_epsilon(epsilon)
            .init(device);
        Self {
            gamma,
            beta,
            epsilon,
        }
    }

    /// As [`Self::new`], without β when `bias` is false (ModernBERT's `norm_bias`).
    pub fn new_with_bias(width: usize, epsilon: f64, bias: bool, device: &B::Device) -> Self {
        let mut norm = Self::new(width, epsilon, device);
        if !bias {
            norm.beta = None;
        }
        norm
    }

    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        rankforge_kernels::layer_norm(
            x,
            self.gamma.val(),
            self.beta.as_ref().map(|b| b.val()),
            self.epsilon,
        )
    }
}
