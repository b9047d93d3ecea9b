//! The position-wise blocks of a post-norm transformer layer (BERT and the encoders that copy
//! its layout: `intermediate` and the two `*Output` blocks), the gated feed-forward (GeGLU) of
//! ModernBERT, and the pre-norm residual wiring.

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
        match self.activation {
            // The same GELU, fused into the int8 / bf16 kernels when the weight has them.
            Activation::Gelu => self.dense.forward_gelu(x),
            _ => self.activation.forward(self.dense.forward(x)),
        }
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

/// A gated linear unit feed-forward (GeGLU with GELU): `wo(dropout(act(a) ⊙ g))` where
/// `[a, g] = wi(x)` split in halves of `intermediate` (transformers' `ModernBertMLP`: `Wi` to
/// `2 · intermediate`, `chunk(2)`, `Wo`; fields `wi` / `wo`, which `hf` renames).
#[derive(Module, Debug)]
pub struct GatedFeedForward<B: Backend> {
    pub wi: Linear<B>,
    pub wo: Linear<B>,
    pub dropout: Dropout,
    #[module(skip)]
    activation: Activation,
}

impl<B: Backend> GatedFeedForward<B> {
    pub fn new(
        hidden: usize,
        intermediate: usize,
        bias: bool,
        activation: Activation,
        dropout: f64,
        device: &B::Device,
    ) -> Self {
        Self {
            wi: Linear::new_with_bias(hidden, 2 * intermediate, bias, device),
            wo: Linear::new_with_bias(intermediate, hidden, bias, device),
            dropout: Dropout::new(dropout),
            activation,
        }
    }

    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        // `chunk(2)` as two contiguous blocks (a host copy per row in CPU inference).
        let mut halves = rankforge_kernels::columns::split_last(self.wi.forward(x), 2);
        let gate = halves.pop().expect("two halves");
        let input = halves.pop().expect("two halves");
        self.wo
            .forward(self.dropout.forward(self.activation.forward(input) * gate))
    }
}

/// Pre-norm residual wiring: `x + block(norm(x))`, with no norm where `norm` is `None`
/// (ModernBERT's first layer: `attn_norm` is the identity because the embeddings end in a norm).
pub fn pre_norm_residual<B: Backend>(
    x: Tensor<B, 3>,
    norm: Option<&LayerNorm<B>>,
    block: impl FnOnce(Tensor<B, 3>) -> Tensor<B, 3>,
) -> Tensor<B, 3> {
    let normed = match norm {
        Some(norm) => norm.forward(x.clone()),
        None => x.clone(),
    };
    x + block(normed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    /// GeGLU against the formula per element, with weights that make the two halves differ.
    #[test]
    fn gated_feed_forward_multiplies_gelu_of_the_first_half_by_the_second() {
        let device = Default::default();
        let (hidden, inter) = (3, 2);
        let mut ff =
            GatedFeedForward::<Cpu>::new(hidden, inter, false, Activation::Gelu, 0.0, &device);
        // wi: [hidden, 2·inter] in burn's layout; wo: identity-like [inter, hidden].
        let wi: Vec<f32> = (0..hidden * 2 * inter)
            .map(|i| (i as f32 - 5.0) / 4.0)
            .collect();
        ff.wi.weight = burn::module::Param::from_tensor(Tensor::from_data(
            TensorData::new(wi.clone(), [hidden, 2 * inter]),
            &device,
        ));
        ff.wo.weight = burn::module::Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0], [inter, hidden]),
            &device,
        ));
        let x = [0.5f32, -1.0, 2.0];
        let got: Vec<f32> = ff
            .forward(Tensor::from_data(
                TensorData::new(x.to_vec(), [1, 1, hidden]),
                &device,
            ))
            .into_data()
            .into_vec()
            .unwrap();
        let up: Vec<f64> = (0..2 * inter)
            .map(|o| {
                (0..hidden)
                    .map(|i| x[i] as f64 * wi[i * 2 * inter + o] as f64)
                    .sum()
            })
            .collect();
        let gelu = |v: f64| 0.5 * v * (1.0 + erf(v / std::f64::consts::SQRT_2));
        let want = [gelu(up[0]) * up[2], gelu(up[1]) * up[3], 0.0];
        for (w, g) in want.iter().zip(&got) {
            assert!((w - *g as f64).abs() < 1e-5, "{want:?} vs {got:?}");
        }
    }

    /// Abramowitz–Stegun 7.1.26 is too coarse for 1e-5; a series is exact enough for |x| < 3.
    fn erf(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..60 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }
}
