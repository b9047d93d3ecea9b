//! ColBERT late interaction (Khattab & Zaharia, SIGIR 2020): a BERT-family encoder, a linear
//! projection without bias to `dim`, and L2 normalisation of every token's vector; a query's
//! score against a document is MaxSim ([`maxsim`]): for each query vector, its best dot product
//! with a document vector, summed.
//!
//! - [`ColBertModel`]: the trainable module (`bert` + `projection`).
//! - [`ColBertSettings`]: prefixes, lengths, expansion, skiplist (PyLate's
//!   `config_sentence_transformers.json` or Stanford's `artifact.metadata`).
//! - [`ColBertTokenizer`]: tokenization exactly as PyLate's (prefix after `[CLS]`, `[MASK]`
//!   query expansion, truncation, skiplist).
//! - [`ColBert`]: model + tokenizer + settings, loaded from either format
//!   ([`ColBert::load`]), encoding queries and documents in batches through the crate's
//!   inference planning, and saved in PyLate's format ([`ColBert::save`]).

mod io;
mod score;
mod settings;
mod tokenize;

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};

pub use io::ColBertFormat;
pub use score::{maxsim, maxsim_scores, TokenVectors};
pub use settings::{ColBertSettings, PUNCTUATION};
pub use tokenize::{ColBertEncoded, ColBertTokenizer};

use crate::bert::{BertInput, BertModel};
use crate::config::BertConfig;
use crate::error::Result;
use crate::inference::{plan_batches, ActivationShape, TensorLimit};
use crate::layers::Linear;
use crate::run_options::{progress_bar, RunOptions};

/// The trainable part: the encoder (under `bert.`, as the other model kinds keep it) and the
/// projection to `dim` (no bias).
#[derive(Module, Debug)]
pub struct ColBertModel<B: Backend> {
    pub bert: BertModel<B>,
    /// `[hidden, dim]`, no bias.
    pub projection: Linear<B>,
}

impl<B: Backend> ColBertModel<B> {
    /// A randomly initialised model (weights are normally loaded over it).
    pub fn new(config: &BertConfig, dim: usize, with_pooler: bool, device: &B::Device) -> Self {
        Self {
            bert: BertModel::new(config, with_pooler, device),
            projection: Linear::new_with_bias(config.hidden_size, dim, false, device),
        }
    }

    /// Width of the output vectors.
    pub fn dim(&self) -> usize {
        self.projection.d_out()
    }

    /// Unit-length vectors `[batch, seq, dim]` of every position (padding included: callers
    /// pick the rows they score).
    pub fn forward(&self, input: BertInput<B>) -> Tensor<B, 3> {
        l2_normalize_tokens(self.projection.forward(self.bert.forward(input)))
    }
}

/// `x / max(‖x‖₂, 1e-12)` along the last axis (`torch.nn.functional.normalize`, as PyLate
/// normalises token vectors).
pub fn l2_normalize_tokens<B: Backend>(x: Tensor<B, 3>) -> Tensor<B, 3> {
    let norms = x.clone().powi_scalar(2).sum_dim(2).sqrt().clamp_min(1e-12);
    x / norms
}

/// The model input of tokenized ColBERT sequences, padded to the longest: padding and
/// positions not attended to (query expansion) are both masked as keys; token types are 0.
pub fn collate_colbert<B: Backend>(items: &[&ColBertEncoded], device: &B::Device) -> BertInput<B> {
    let batch = items.len();
    let seq = items.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![0i64; batch * seq];
    let mut masked = vec![true; batch * seq];
    for (row, item) in items.iter().enumerate() {
        for (col, (&id, &attend)) in item.ids.iter().zip(&item.attention).enumerate() {
            ids[row * seq + col] = id as i64;
            masked[row * seq + col] = !attend;
        }
    }
    BertInput {
        input_ids: Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [batch, seq]), device),
        token_type_ids: Tensor::<B, 2, Int>::zeros([batch, seq], device),
        padding_mask: Tensor::<B, 2, Bool>::from_data(
            TensorData::new(masked, [batch, seq]),
            device,
        ),
    }
}

/// A ColBERT model ready to encode and score.
#[derive(Debug)]
pub struct ColBert<B: Backend> {
    pub model: ColBertModel<B>,
    pub config: BertConfig,
    pub tokenizer: ColBertTokenizer,
    pub device: B::Device,
    pub run: RunOptions,
    /// The directory loaded (its tokenizer files are copied when saving).
    pub source_dir: PathBuf,
    pub format: ColBertFormat,
}

impl<B: Backend> ColBert<B> {
    pub fn settings(&self) -> &ColBertSettings {
        self.tokenizer.settings()
    }

    /// Every token's vector of each sequence (`len × dim`), in input order: length-sorted
    /// batches under the run options' batch size and token budget (and the backend's tensor
    /// limit), as [`crate::inference::run_batched`] plans them, forward without autodiff.
    pub fn encode_tokenized(
        &self,
        sequences: &[ColBertEncoded],
        message: &str,
    ) -> Vec<TokenVectors> {
        let dim = self.model.dim();
        let lengths: Vec<usize> = sequences.iter().map(ColBertEncoded::len).collect();
        let limit = rankforge_kernels::backend::max_tensor_bytes::<B>().map(|bytes| TensorLimit {
            shape: ActivationShape::of(&self.config),
            max_values: bytes / std::mem::size_of::<f32>(),
        });
        let bar = progress_bar(
            sequences.len(),
            self.run.progress && sequences.len() > 256,
            message,
        );
        let mut out = vec![TokenVectors::new(dim, Vec::new()); sequences.len()];
        for batch in plan_batches(&lengths, &self.run.batching, limit) {
            let items: Vec<&ColBertEncoded> = batch.iter().map(|&i| &sequences[i]).collect();
            let vectors = self.model.forward(collate_colbert(&items, &self.device));
            let [_, seq, _] = vectors.dims();
            let values: Vec<f32> = vectors
                .into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .expect("model output converts to f32");
            for (row, &index) in batch.iter().enumerate() {
                let start = row * seq * dim;
                out[index] =
                    TokenVectors::new(dim, values[start..start + lengths[index] * dim].to_vec());
            }
            if let Some(bar) = &bar {
                bar.inc(batch.len() as u64);
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        out
    }

    /// The scored vectors of each query (with expansion: all `query_length` of them).
    pub fn encode_queries(&self, texts: &[&str]) -> Result<Vec<TokenVectors>> {
        let sequences = self.tokenizer.encode_queries(texts)?;
        Ok(self.scored_vectors(&sequences, "queries"))
    }

    /// The scored vectors of each document (skiplist tokens left out), as PyLate's `encode`
    /// returns them.
    pub fn encode_documents(&self, texts: &[&str]) -> Result<Vec<TokenVectors>> {
        let sequences = self.tokenizer.encode_documents(texts)?;
        Ok(self.scored_vectors(&sequences, "documents"))
    }

    fn scored_vectors(&self, sequences: &[ColBertEncoded], message: &str) -> Vec<TokenVectors> {
        self.encode_tokenized(sequences, message)
            .into_iter()
            .zip(sequences)
            .map(|(vectors, sequence)| vectors.select(&sequence.scored))
            .collect()
    }

    /// MaxSim of `query` against each of `documents`.
    pub fn score(&self, query: &str, documents: &[&str]) -> Result<Vec<f32>> {
        let query = self.encode_queries(&[query])?.remove(0);
        Ok(self
            .encode_documents(documents)?
            .iter()
            .map(|d| maxsim(&query, d, None, None))
            .collect())
    }

    /// Loads a PyLate or Stanford ColBERT directory (see [`ColBertFormat::detect`]).
    pub fn load(dir: impl AsRef<Path>, device: &B::Device) -> Result<(Self, crate::LoadReport)> {
        io::load(dir.as_ref(), device)
    }

    /// Saves in PyLate's format, which `pylate.models.ColBERT(out)` loads unchanged.
    pub fn save(&self, out: &Path) -> Result<()> {
        io::save_pylate(
            &self.model,
            &self.config,
            self.settings(),
            &self.source_dir,
            out,
        )
    }
}
