//! Numeric precision of the forward pass: `f32` (default), `bf16` or `f16`.
//!
//! Inference in half precision casts the weights once ([`cast_module`]); training in mixed
//! precision keeps `f32` master weights (and optimizer state) and casts them inside the autodiff
//! graph every step, so the forward and backward run in half precision while gradients land on
//! the `f32` parameters; the model's output goes back to `f32` ([`to_f32`]) before any loss.
//! This is the `torch.autocast` recipe without its per-op lists: every op runs in the half type,
//! LayerNorm and softmax included.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{FloatDType, Tensor};
use serde::{Deserialize, Serialize};

/// Float type of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    F16,
}

impl Precision {
    /// burn's dtype for it.
    pub fn dtype(self) -> FloatDType {
        match self {
            Precision::F32 => FloatDType::F32,
            Precision::Bf16 => FloatDType::BF16,
            Precision::F16 => FloatDType::F16,
        }
    }

    /// Whether the forward pass needs a cast at all.
    pub fn is_half(self) -> bool {
        self != Precision::F32
    }
}

/// Casts every float parameter of `module` to `precision`, keeping parameter ids (so gradients
/// of a cast taken under autodiff are found on the original parameters). `F32` returns the
/// module unchanged.
pub fn cast_module<B: Backend, M: Module<B>>(module: M, precision: Precision) -> M {
    if !precision.is_half() {
        return module;
    }
    module.map(&mut CastMapper {
        dtype: precision.dtype(),
    })
}

/// A model output back in `f32` (a no-op when it already is).
pub fn to_f32<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Tensor<B, D> {
    if tensor.dtype() == FloatDType::F32.into() {
        tensor
    } else {
        tensor.cast(FloatDType::F32)
    }
}

struct CastMapper {
    dtype: FloatDType,
}

impl<B: Backend> ModuleMapper<B> for CastMapper {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        Param::from_mapped_value(id, tensor.cast(self.dtype), mapper)
    }
}
