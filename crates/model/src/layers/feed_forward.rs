//! The position-wise blocks of a post-norm transformer layer (BERT and the encoders that copy
//! its layout: `intermediate` and the two `*Output` blocks).

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::{Activation, Dropout, LayerNorm, Linear};

/// The feed-forward's expanding half: `activation(dense(x))`, `[..., hidden]` →
/// `[..., intermediate]` (transformers' `*Intermediate`). The contracting half is the
/// [`ResidualNorm`] that follows it.
#[derive(Module, Debug)]
pub struct FeedForwardUp<B: Backend> {
    pub dense: Linear<B>,
    #[module(skip)]
    activation: Activation,
}

impl<B: Backend> FeedForwardUp<B> {
    pub fn new(dense: Linear<B>, activation: Activation) -> Self {
        Self { dense, activation }
    }

    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        self.activation.forward(self.dense.forward(x))
    }
}

/// `layer_norm(dropout(dense(x)) + residual)`: transformers' `*SelfOutput` / `*Output`.
#[derive(Module, Debug)]
pub struct ResidualNorm<B: Backend> {
    pub dense: Linear<B>,
    pub layer_norm: LayerNorm<B>,
    pub dropout: Dropout,
}

impl<B: Backend> ResidualNorm<B> {
    /// `d_in` → `d_out`, with the norm's ε and the dropout probability.
    pub fn new(d_in: usize, d_out: usize, epsilon: f64, dropout: f64, device: &B::Device) -> Self {
        Self {
            dense: Linear::new(d_in, d_out, device),
            layer_norm: LayerNorm::new(d_out, epsilon, device),
            dropout: Dropout::new(dropout),
        }
    }

    pub fn forward(&self, x: Tensor<B, 3>, residual: Tensor<B, 3>) -> Tensor<B, 3> {
        self.layer_norm
            .forward(self.dropout.forward(self.dense.forward(x)) + residual)
    }
}
