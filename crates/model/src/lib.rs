//! rankforge's model crate: BERT-family cross-encoders and bi-encoders loaded from and saved to
//! Hugging Face directories, their tokenization, and the one inference path every consumer
//! (predict, rerank, embed, evaluation, teacher scoring, the HTTP server) shares.
//!
//! - [`CrossEncoder`]: `[CLS] q [SEP] d [SEP]` → BERT → pooler → classifier → logit (sigmoid by
//!   default), `BertForSequenceClassification` semantics.
//! - [`BiEncoder`]: text → BERT → pooling → optional normalisation, sentence-transformers'
//!   pipeline.
//! - [`inference::run_batched`]: length-sorted, token-budgeted batches, rows back in input order.
//!
//! Code is generic over burn's `Backend`; [`backend`] names the ones rankforge builds with.

pub mod bert;
pub mod bi_encoder;
pub mod config;
pub mod cross_encoder;
pub mod dense;
pub mod error;
pub mod hf;
pub mod inference;
pub mod layers;
pub mod load;
pub mod rerank;
pub mod scorer;
pub mod tokenize;

use burn::module::Module;
use burn::tensor::backend::Backend;

pub use bert::{BertInput, BertModel};
pub use bi_encoder::{EmbeddingHead, Pooling};
pub use config::BertConfig;
pub use cross_encoder::CrossEncoderModel;
pub use dense::{DenseConfig, DenseIndex, Similarity};
pub use error::{ModelError, Result};
pub use hf::{LoadReport, SentenceTransformerSettings};
pub use inference::{run_batched, BatchingConfig};
pub use load::{BiEncoderBuilder, CrossEncoderBuilder, DEFAULT_HEAD_SEED};
pub use rankforge_kernels::precision::Precision;
pub use rerank::rerank_run;
pub use scorer::{
    encode_pairs, tokenizer_for_model, Activation, BiEncoder, CrossEncoder, RunOptions,
};
pub use tokenize::{Encoded, LongDocMode, TextTokenizer};

/// The bi-encoder's trainable part: the encoder (kept under `bert.` like the cross-encoder's).
#[derive(Module, Debug)]
pub struct BiEncoderModel<B: Backend> {
    pub bert: BertModel<B>,
}

/// The backends rankforge is built with (see `rankforge_kernels::backend`).
pub use rankforge_kernels::backend;
/// Numeric precision of the forward pass (see `rankforge_kernels::precision`).
pub use rankforge_kernels::precision;
