//! The non-linearities of feed-forward blocks (as `config.json`'s `hidden_act` names them) and
//! of score heads (tanh in BERT's pooler and RoBERTa's head, GELU in ELECTRA's); T5's ReLU and
//! tanh-approximated GELU (`feed_forward_proj`, not `hidden_act`).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// transformers' `ACT2FN` names that rankforge implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `"gelu"`: the exact form, `x · Φ(x)` with Φ through erf.
    Gelu,
    /// `tanh(x)`: score heads only (no `hidden_act` maps to it).
    Tanh,
    /// `max(x, 0)`: T5's `feed_forward_proj` `"relu"` (original T5, monoT5).
    Relu,
    /// transformers' `"gelu_new"`, the tanh approximation
    /// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`: T5 v1.1's and mT5's `"gated-gelu"`.
    GeluTanh,
}

impl Activation {
    /// The activation named `name` in `hidden_act`, or `None` when rankforge has none by that
    /// name.
    pub fn from_hidden_act(name: &str) -> Option<Self> {
        match name {
            "gelu" => Some(Activation::Gelu),
            _ => None,
        }
    }

    /// The names [`Self::from_hidden_act`] accepts, for error messages.
    pub const SUPPORTED: &'static str = "gelu, the exact erf form";

    pub fn forward<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Gelu => rankforge_kernels::gelu(x),
            Activation::Tanh => burn::tensor::activation::tanh(x),
            Activation::Relu => burn::tensor::activation::relu(x),
            Activation::GeluTanh => {
                let inner = (x.clone() + x.clone().powi_scalar(3) * 0.044715)
                    * (2.0 / std::f64::consts::PI).sqrt();
                x * (burn::tensor::activation::tanh(inner) + 1.0) * 0.5
            }
        }
    }
}
