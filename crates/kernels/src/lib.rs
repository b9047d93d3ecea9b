//! rankforge's ground floor: the backends it builds with ([`backend`]), numeric precision
//! ([`precision`]), and the operations the model and the trainer are made of, each generic over
//! burn's `Backend` and running a hand-written kernel where one exists for the backend at hand
//! (burn-flex in f32, with and without autodiff), burn's own composition everywhere else (GPU
//! backends, half precision).
//!
//! | operation | what it computes | fast path |
//! |---|---|---|
//! | [`linear`] | `x · W + b` for token rows `[tokens, d_in]` | one GEMM onto the bias rows; one autodiff op |
//! | [`linear_param`] | the same for a module's weight, by parameter id | int8 ([`int8_gemm`]) or bf16 ([`bf16_gemm`]) kernels for weights [`precision::cast_module`] prepared |
//! | [`gelu`] | exact (erf) GELU | vectorised erf, in place when the buffer is unshared; one autodiff op |
//! | [`layer_norm`] | LayerNorm with an explicit ε | one autodiff op (training) |
//! | [`dropout`] | `x · mask / (1 − p)` in training, identity otherwise | masks drawn on the host from one seed |
//! | [`self_attention_inference`] | multi-head `softmax(QKᵀ/√d) V` with key padding (and an optional sliding window) | heads read in place, sequences in parallel |
//! | [`self_attention_training`] | the same with attention-probability dropout | one autodiff op |
//! | [`masked_scaled_softmax`] | `softmax(scale · s)` with masked keys | one autodiff op |
//! | [`adamw_update`] | one parameter's AdamW step | one parallel in-place pass |
//!
//! Every fast path is tested against the composition it replaces (values and gradients). The
//! run-time choice is a `TypeId` comparison (no specialisation in Rust, no `unsafe`); the
//! `trace` feature lets dependent crates' tests see which kernel ran.

pub mod backend;
pub mod precision;
pub mod seed;
mod similarity;

mod adamw;
mod attention_inference;
mod attention_softmax;
mod attention_training;
pub mod bf16_gemm;
pub mod columns;
mod dropout;
mod flex_host;
mod gelu;
pub mod int8_gemm;
mod layer_norm;
mod linear;
pub mod prepared;
pub mod quantize;
mod simd;
mod specialize;
mod strided_gemm;
mod vector_math;

pub use adamw::{update as adamw_update, ParamUpdate, Updated};
pub use attention_inference::fused_self_attention as self_attention_inference;
pub use attention_softmax::masked_scaled_softmax;
pub use attention_training::fused_training_attention as self_attention_training;
pub use dropout::apply as dropout;
pub use gelu::gelu;
pub use layer_norm::layer_norm;
pub use linear::{linear, linear_param};
pub use similarity::Similarity;
#[cfg(feature = "trace")]
pub use specialize::trace;
