//! Decoder-only yes/no rerankers (issue 25) on a Qwen3 or Gemma body: Qwen3-Reranker-style
//! scoring of sentence-transformers 6 `CrossEncoder` directories (a text-generation
//! `Transformer` and a `LogitScore`) and of plain `Qwen3ForCausalLM` / `GemmaForCausalLM`
//! directories (bge-reranker-v2-gemma: its prompt as a template, the logit of `Yes`), through
//! the shared inference path.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | `config.json` ([`Qwen3Config`], Qwen3 or Gemma) |
//! | [`model`] | the decoder from [`crate::layers`] ([`Qwen3ForCausalLM`]: RMSNorm, grouped-query causal attention with per-head q/k norms and rotary positions, SwiGLU; Gemma's changes) |
//! | [`io`] | loading `model.safetensors` onto it |
//! | [`lora`] | LoRA adapters on its projections: attach, peft adapter directories (load, save), freeze the base, merge (in memory or into a full directory) |
//! | [`prompt`] | the prompt: a chat or plain Jinja template (minijinja), truncation that keeps the template's suffix |
//! | [`export`] | [`export_classifier`]: the reranker as a one-logit `*ForSequenceClassification` (score row `W[true] − W[false]`) |
//! | [`reranker`] | [`CausalLmReranker`]: directory formats, the score rule, batching ([`CausalLmSettings`]) |

pub mod config;
pub mod export;
pub mod io;
pub mod lora;
pub mod model;
pub mod prompt;
pub mod reranker;

pub use config::Qwen3Config;
pub use export::{export_classifier, ClassifierExport};
pub use lora::Qwen3LayerLora;
pub use model::Qwen3ForCausalLM;
pub use reranker::{CausalLmFormat, CausalLmReranker, CausalLmSettings};
