//! T5 encoder–decoders as generative rerankers (issue 25): monoT5 and RankT5 scoring of
//! `T5ForConditionalGeneration` (and mT5) directories through the shared inference path.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | `config.json` ([`T5Config`]), and whether a directory is a T5 for generation |
//! | [`model`] | the encoder–decoder from [`crate::layers`] ([`T5ForConditionalGeneration`]) |
//! | [`io`] | loading `model.safetensors` onto it |
//! | [`duo`] | duoT5: pairwise prompts, [`DuoAggregation`], a second pass over a run ([`duo::duo_rerank_run`]) |
//! | [`reranker`] | [`GenerativeReranker`]: prompts, truncation of the document only, batching, the score rule ([`GenerativeSettings`]) |

pub mod config;
pub mod duo;
pub mod io;
pub mod model;
pub mod reranker;

pub use config::T5Config;
pub use duo::{duo_rerank_run, DuoAggregation};
pub use model::T5ForConditionalGeneration;
pub use reranker::{
    GenerativeParts, GenerativePrompts, GenerativeReranker, GenerativeSettings, PromptTemplate,
    DEFAULT_MAX_LENGTH,
};
