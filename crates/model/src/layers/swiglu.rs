//! Gated feed-forward with separate projections, as Qwen3, Llama and Gemma name them:
//! `down_proj(act(gate_proj(x)) ⊙ up_proj(x))`, no biases; `act` is SiLU (SwiGLU: Qwen3, Llama)
//! or the tanh-approximated GELU (GeGLU: Gemma's `gelu_pytorch_tanh`).

use burn::module::Module;
use burn::tensor::activation::silu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::{Activation, Linear};

#[derive(Module, Debug)]
pub struct SwiGlu<B: Backend> {
    pub gate_proj: Linear<B>,
    pub up_proj: Linear<B>,
    pub down_proj: Linear<B>,
    /// The tanh-approximated GELU instead of SiLU.
    #[module(skip)]
    gelu_tanh: bool,
}

impl<B: Backend> SwiGlu<B> {
    pub fn new(hidden: usize, intermediate: usize, device: &B::Device) -> Self {
        Self {
            gate_proj: Linear::new_with_bias(hidden, intermediate, false, device),
            up_proj: Linear::new_with_bias(hidden, intermediate, false, device),
            down_proj: Linear::new_with_bias(intermediate, hidden, false, device),
            gelu_tanh: false,
        }
    }

    /// GeGLU: the gate through the tanh-approximated GELU (Gemma).
    pub fn new_gelu_tanh(hidden: usize, intermediate: usize, device: &B::Device) -> Self {
        Self {
            gelu_tanh: true,
            ..Self::new(hidden, intermediate, device)
        }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let gate = self.gate_proj.forward(x.clone());
        self.down_proj
            .forward(self.gated(gate, self.up_proj.forward(x)))
    }

    /// `act(gate) ⊙ up` from the two projections' outputs: the input of `down_proj` (where a
    /// LoRA branch of it reads).
    pub fn gated<const D: usize>(&self, gate: Tensor<B, D>, up: Tensor<B, D>) -> Tensor<B, D> {
        let gate = if self.gelu_tanh {
            Activation::GeluTanh.forward(gate)
        } else {
            silu(gate)
        };
        gate * up
    }
}
