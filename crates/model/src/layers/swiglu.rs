//! SwiGLU feed-forward with separate projections, as Qwen3 and Llama name them:
//! `down_proj(silu(gate_proj(x)) ⊙ up_proj(x))`, no biases.

use burn::module::Module;
use burn::tensor::activation::silu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::Linear;

#[derive(Module, Debug)]
pub struct SwiGlu<B: Backend> {
    pub gate_proj: Linear<B>,
    pub up_proj: Linear<B>,
    pub down_proj: Linear<B>,
}

impl<B: Backend> SwiGlu<B> {
    pub fn new(hidden: usize, intermediate: usize, device: &B::Device) -> Self {
        Self {
            gate_proj: Linear::new_with_bias(hidden, intermediate, false, device),
            up_proj: Linear::new_with_bias(hidden, intermediate, false, device),
            down_proj: Linear::new_with_bias(intermediate, hidden, false, device),
        }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let gate = silu(self.gate_proj.forward(x.clone()));
        self.down_proj.forward(gate * self.up_proj.forward(x))
    }
}
