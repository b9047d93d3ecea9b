//! Numeric precision of the forward pass: `f32` (default), `bf16`, `f16` or `int8`.
//!
//! Inference in half precision casts the weights once ([`cast_module`]). On the CPU backend
//! (`Flex`) two precisions take dedicated kernels instead: `int8` quantizes the weight of every
//! token-wise `Linear` once (symmetric, per output channel) and runs it with dynamically
//! quantized activations ([`crate::int8_gemm`]); `bf16`, on a CPU with AVX512_BF16, rounds those
//! weights to bf16 once and runs `vdpbf16ps` products with f32 accumulation
//! ([`crate::bf16_gemm`]). Embeddings, LayerNorm, softmax, attention, BERT's pooler and the
//! classification head stay f32 in both. `int8` on any other backend (and in training) runs
//! f32. Training in mixed
//! precision keeps `f32` master weights (and optimizer state) and casts them inside the autodiff
//! graph every step, so the forward and backward run in half precision while gradients land on
//! the `f32` parameters; the model's output goes back to `f32` ([`to_f32`]) before any loss.
//! This is the `torch.autocast` recipe without its per-op lists: every op runs in the half type,
//! LayerNorm and softmax included.

use std::any::TypeId;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn_flex::Flex;

use crate::bf16_gemm::Bf16Weight;
use crate::int8_gemm::Int8Weight;
use crate::prepared::Prepared;
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
    /// Inference only, on the CPU backend: int8 `Linear` layers (see the module doc).
    Int8,
}

impl Precision {
    /// burn's dtype for it (`Int8` keeps f32 tensors: only the prepared weights are int8).
    pub fn dtype(self) -> FloatDType {
        match self {
            Precision::F32 | Precision::Int8 => FloatDType::F32,
            Precision::Bf16 => FloatDType::BF16,
            Precision::F16 => FloatDType::F16,
        }
    }

    /// Whether backend `B` runs this precision: `Int8` has CPU kernels only (VNNI / AVX2 on
    /// burn's `Flex`); a GPU backend would run it in f32 and report int8, so it is refused
    /// with what to use instead.
    pub fn check_backend<B: Backend>(self) -> Result<(), String> {
        if self == Precision::Int8 && TypeId::of::<B>() != TypeId::of::<Flex>() {
            return Err(format!(
                "precision int8 runs on the CPU backend only (its kernels are AVX-512 VNNI / \
                 AVX-VNNI / AVX2); on the {} backend use bf16 or f16",
                std::any::type_name::<B>()
                    .rsplit("::")
                    .next()
                    .unwrap_or("GPU")
            ));
        }
        Ok(())
    }

    /// Whether the forward pass runs in a half type (bf16, f16).
    pub fn is_half(self) -> bool {
        matches!(self, Precision::Bf16 | Precision::F16)
    }

    /// Its name as `--precision` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Casts every float parameter of `module` to `precision`, keeping parameter ids (so gradients
/// of a cast taken under autodiff are found on the original parameters). `F32` returns the
/// module unchanged.
///
/// On `Flex` (CPU inference), `Int8`, and `Bf16` when the CPU has AVX512_BF16, prepare the
/// `Linear` weights for their kernels instead ([`prepare_linears`]) and keep every tensor f32.
/// `Int8` anywhere else returns the module unchanged (f32): loaders refuse that combination
/// first ([`Precision::check_backend`]).
pub fn cast_module<B: Backend, M: Module<B>>(module: M, precision: Precision) -> M {
    let on_cpu = TypeId::of::<B>() == TypeId::of::<Flex>();
    match precision {
        Precision::F32 => module,
        Precision::Int8 if on_cpu => prepare_linears(module, Precision::Int8),
        Precision::Int8 => module,
        Precision::Bf16 if on_cpu && crate::bf16_gemm::Body::fast_available() => {
            prepare_linears(module, Precision::Bf16)
        }
        Precision::Bf16 | Precision::F16 => module.map(&mut CastMapper {
            dtype: precision.dtype(),
        }),
    }
}

/// Path components under which `Linear` layers stay f32: BERT's pooler and the classification
/// head run on one row per sequence, where reduced precision saves nothing and costs accuracy.
const KEEP_F32: [&str; 3] = ["pooler", "classifier", "head_dense"];

/// Prepares the weight of every `Linear` (a struct named `Linear` with a 2-D `weight`: the
/// model's and burn's) outside [`KEEP_F32`] for the int8 or bf16 kernels, registering it under
/// a fresh parameter id ([`crate::prepared`]); tensors are unchanged. `Bf16` uses the bf16
/// kernels whatever the CPU (their scalar body without AVX512_BF16).
pub fn prepare_linears<B: Backend, M: Module<B>>(module: M, precision: Precision) -> M {
    assert!(
        matches!(precision, Precision::Int8 | Precision::Bf16),
        "only int8 and bf16 have prepared kernels"
    );
    module.map(&mut PrepareMapper {
        precision,
        path: Vec::new(),
    })
}

struct PrepareMapper {
    precision: Precision,
    /// `(field, container type)` from the root.
    path: Vec<(String, String)>,
}

impl PrepareMapper {
    fn is_linear_weight(&self, dims: usize) -> bool {
        let Some((field, container)) = self.path.last() else {
            return false;
        };
        dims == 2
            && field == "weight"
            && container == "Struct:Linear"
            && !self
                .path
                .iter()
                .any(|(name, _)| KEEP_F32.contains(&name.as_str()))
    }
}

impl<B: Backend> ModuleMapper<B> for PrepareMapper {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path
            .push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        if !self.is_linear_weight(D) || tensor.dtype() != FloatDType::F32.into() {
            return Param::from_mapped_value(id, tensor, mapper);
        }
        let [k, n] = [tensor.dims()[0], tensor.dims()[1]];
        let values = tensor
            .to_data()
            .to_vec::<f32>()
            .expect("an f32 weight converts to f32 values");
        let prepared = match self.precision {
            Precision::Int8 => Prepared::Int8(Int8Weight::new(&values, k, n)),
            _ => Prepared::Bf16(Bf16Weight::new(&values, k, n)),
        };
        let id = ParamId::new();
        crate::prepared::register(id, prepared);
        Param::from_mapped_value(id, tensor, mapper)
    }
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
