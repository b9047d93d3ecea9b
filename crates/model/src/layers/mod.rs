//! The layers encoder architectures are built from. Each is a burn `Module` whose parameters
//! carry the names (and, for [`Linear`] and [`LayerNorm`], the type names) of the `torch.nn`
//! layers they stand for, so Hugging Face checkpoints map onto them by the renames in `hf`, and
//! each picks its fast path at run time inside `forward` (the operations of `rankforge_kernels`):
//! an architecture file names layers, never a kernel or a backend.
//!
//! | layer | what it computes |
//! |---|---|
//! | [`Linear`] | `x · W + b` over the last axis, every token as one row of one product |
//! | [`LayerNorm`] | LayerNorm with the checkpoint's ε |
//! | [`Dropout`] | dropout in training, identity in inference |
//! | [`Activation`] | the feed-forward non-linearity named by `hidden_act`, and a score head's (tanh, GELU) |
//! | [`FeedForwardUp`] | the feed-forward's expanding projection and its activation |
//! | [`ResidualNorm`] | dense → dropout → + residual → LayerNorm (post-norm blocks) |
//! | [`SelfAttention`] | multi-head self-attention with key padding, as two steps ([`SelfAttention::project`], [`SelfAttention::attend`]) so position schemes that rotate queries and keys fit between them |
//! | [`FusedQkvAttention`] | the same with one fused `[hidden] → [3·hidden]` projection and an output projection (ModernBERT's `Wqkv`, `Wo`) |
//! | [`AttentionMasks`] | key padding, or key padding within a sliding window ([`AttentionMasks::windowed`]: local attention) |
//! | [`Rotary`] | rotary position embeddings of queries and keys (one θ per instance) |
//! | [`GatedFeedForward`] | GeGLU: `wo(act(a) ⊙ g)`, `[a, g] = wi(x)` |
//! | [`pre_norm_residual`] | `x + block(norm(x))` (pre-norm blocks) |
//! | [`RmsNorm`] | RMS normalisation with a gain, no mean or bias (T5) |
//! | [`BiasedAttention`] | attention with an additive bias and no `1/√d` scaling, self or cross (T5's `q`, `k`, `v`, `o`) |
//! | [`RelativePositionBias`] | T5's bucketed relative position bias ([`relative_position_bucket`]); [`attention_bias`] adds the masks |
//! | [`GroupedQueryAttention`] | causal attention with grouped key/value heads (`q_proj`, `k_proj`, `v_proj`, `o_proj`); [`CausalMasks`]: a left-padded batch's masks and per-row rotary positions |
//! | [`Lora`] | a LoRA branch beside a [`Linear`] (`dropout(x) · A · B · α/r`, peft's `lora.Linear`), [`LoraConfig`] peft's `adapter_config.json` |
//! | [`SwiGlu`] | `down_proj(silu(gate_proj(x)) ⊙ up_proj(x))` (Qwen3, Llama), or GeGLU with the tanh GELU (Gemma) |

mod activation;
mod attention;
mod causal_attention;
mod dropout;
mod feed_forward;
mod layer_norm;
mod linear;
mod lora;
mod relative_attention;
mod rms_norm;
mod rotary;
mod swiglu;

pub use activation::Activation;
pub use attention::{
    scaled_dot_product, AttentionMasks, FusedQkvAttention, Projections, SelfAttention,
};
pub use causal_attention::{CausalMasks, GroupedProjections, GroupedQueryAttention};
pub use dropout::Dropout;
pub use feed_forward::{pre_norm_residual, FeedForwardUp, GatedFeedForward, ResidualNorm};
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use lora::{adapted, merged, Lora, LoraConfig, LORA_TARGETS};
pub use relative_attention::{
    attention_bias, relative_position_bucket, BiasedAttention, RelativePositionBias,
};
pub use rms_norm::RmsNorm;
pub use rotary::Rotary;
pub use swiglu::SwiGlu;
