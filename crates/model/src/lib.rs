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

pub mod attention_inference;
pub mod attention_softmax;
pub mod attention_training;
pub mod bert;
pub mod bi_encoder;
pub mod config;
pub mod cross_encoder;
pub mod dense;
pub mod dropout;
pub mod error;
pub mod flex_host;
pub mod gelu;
pub mod hf;
pub mod inference;
pub mod layer_norm;
pub mod linear_kernel;
pub mod precision;
pub mod rerank;
pub mod scorer;
pub mod simd;
pub mod specialize;
mod strided_gemm;
pub mod tokenize;
pub mod vector_math;

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
pub use precision::Precision;
pub use rerank::rerank_run;
pub use scorer::{encode_pairs, Activation, BiEncoder, CrossEncoder, RunOptions};
pub use tokenize::{Encoded, LongDocMode, TextTokenizer};

/// The bi-encoder's trainable part: the encoder (kept under `bert.` like the cross-encoder's).
#[derive(Module, Debug)]
pub struct BiEncoderModel<B: Backend> {
    pub bert: BertModel<B>,
}

/// The backends rankforge is built with.
pub mod backend {
    /// CPU: burn's `flex` backend.
    pub type Cpu = burn::backend::Flex;
    pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;
    /// NVIDIA GPUs (feature `cuda`).
    #[cfg(feature = "cuda")]
    pub type Cuda = burn::backend::Cuda;
    #[cfg(feature = "cuda")]
    pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;

    use std::sync::{Mutex, MutexGuard};

    static SEEDED_RNG: Mutex<()> = Mutex::new(());

    /// burn's CPU backend keeps one process-wide RNG (`B::seed`, `Tensor::random` and the
    /// dropout masks all draw from it). Code that seeds it and then draws (a training step,
    /// a test building random inputs) holds this guard for the whole section, so draws from
    /// threads of the same process (parallel tests) never interleave with it.
    pub fn seeded_rng_section() -> MutexGuard<'static, ()> {
        SEEDED_RNG
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
