//! rankforge's model crate: cross-encoders and bi-encoders of the BERT, XLM-RoBERTa, ELECTRA
//! ([`Architecture`]) and ModernBERT families ([`EncoderConfig`], from `config.json`) loaded from and saved to Hugging Face
//! directories, their tokenization, and the one inference path every consumer (predict, rerank,
//! embed, evaluation, teacher scoring, the HTTP server) shares.
//!
//! - [`CrossEncoder`]: `[CLS] q [SEP] d [SEP]` → encoder → score head → logit (sigmoid by
//!   default), the family's `*ForSequenceClassification` semantics.
//! - [`BiEncoder`]: text → encoder → pooling → optional normalisation, sentence-transformers'
//!   pipeline.
//! - [`inference::run_batched`]: length-sorted, token-budgeted batches, rows back in input order.
//!
//! | module | what it holds |
//! |---|---|
//! | [`layers`] | the layers architectures are built from (each picks its fast path) |
//! | [`encoder_config`] | any supported `config.json`, chosen by `model_type` |
//! | [`bert`], [`config`], [`architecture`] | the BERT-family encoder, its `config.json`, and what each family changes in it |
//! | [`cross_encoder_model`], [`bi_encoder`] (`BiEncoderModel`), [`pooling`] | the trainable modules: encoder + head, encoder + pooling |
//! | [`cross_encoder`], [`bi_encoder`] | ready-to-use wrappers (model + tokenizer + settings) |
//! | [`modernbert`], [`modernbert_config`] | the ModernBERT encoder (pre-norm, rotary, global / local attention, GeGLU), its classifier, `config.json`, load and save |
//! | [`load`] | the builders every consumer loads through |
//! | [`hf`] | Hugging Face / sentence-transformers files in and out |
//! | [`tokenize`], [`inference`] | tokenization and the one batched inference path |
//! | [`rerank`], [`reranker`], [`dense_index`] | reranking a run; either kind of reranker (cross-encoder, ColBERT) behind one interface; exact dense retrieval |
//! | [`colbert`] | ColBERT late interaction: load (PyLate, Stanford), MaxSim, exact retrieval, save |
//! | [`t5`] | T5 encoder–decoders as generative rerankers (monoT5, RankT5) |
//! | [`qwen3`] | decoder-only yes/no rerankers on a Qwen3 or Gemma body (Qwen3-Reranker, bge-reranker-v2-gemma, sentence-transformers `LogitScore` directories) |
//!
//! Code is generic over burn's `Backend`; [`backend`] names the ones rankforge builds with.

pub mod architecture;
pub mod bert;
pub mod bi_encoder;
pub mod colbert;
pub mod config;
pub mod cross_encoder;
pub mod cross_encoder_model;
pub mod dense_index;
pub mod encoder_config;
pub mod error;
pub mod hf;
pub mod inference;
pub mod layers;
pub mod load;
pub mod modernbert;
pub mod modernbert_config;
pub mod pooling;
pub mod qwen3;
pub mod rerank;
pub mod reranker;
pub mod run_options;
pub mod t5;
pub mod tokenize;

pub use architecture::{Architecture, HeadKind};
pub use bert::{BertInput, BertModel};
pub use bi_encoder::{BertBiEncoderModel, BiEncoder, BiEncoderModel};
pub use config::BertConfig;
pub use cross_encoder::{encode_pairs, encode_pairs_capped, CrossEncoder, PairSequences};
pub use cross_encoder_model::{BertCrossEncoderModel, CrossEncoderModel};
pub use dense_index::{DenseConfig, DenseIndex, Similarity};
pub use encoder_config::EncoderConfig;
pub use error::{ModelError, Result};
pub use hf::{LoadReport, SentenceTransformerSettings};
pub use inference::{run_batched, ActivationShape, BatchingConfig, TensorLimit};
pub use load::{BiEncoderBuilder, CrossEncoderBuilder, DEFAULT_HEAD_SEED};
pub use pooling::{EmbeddingHead, Pooling};
pub use rankforge_kernels::precision::Precision;
pub use rerank::{rerank_run, RerankCandidates};
pub use reranker::{CandidateList, CandidateScorer, GenerativeOptions, Reranker, RerankerOptions};
pub use run_options::{tokenizer_for_model, Activation, RunOptions};
pub use tokenize::{
    Encoded, LongDocMode, LongDocSettings, PairWindows, TextTokenizer, DEFAULT_MAX_WINDOWS,
};

/// The backends rankforge is built with (see `rankforge_kernels::backend`).
pub use rankforge_kernels::backend;
/// Numeric precision of the forward pass (see `rankforge_kernels::precision`).
pub use rankforge_kernels::precision;
