//! [`CrossEncoder`]: a cross-encoder ready to score (query, document) pairs: the model, its
//! tokenizer and settings, over the one inference path ([`run_batched`]).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;

use crate::config::BertConfig;
use crate::cross_encoder_model::CrossEncoderModel;
use crate::error::{ModelError, Result};
use crate::hf;
use crate::run_options::{Activation, RunOptions};
use crate::tokenize::{Encoded, LongDocMode, TextTokenizer};

/// A cross-encoder ready to score: model, tokenizer, settings.
#[derive(Debug)]
pub struct CrossEncoder<B: Backend> {
    pub model: CrossEncoderModel<B>,
    pub config: BertConfig,
    pub tokenizer: TextTokenizer,
    pub device: B::Device,
    pub activation: Activation,
    pub long_doc: LongDocMode,
    pub run: RunOptions,
    /// Where the tokenizer files come from (copied along on save).
    pub source_dir: PathBuf,
}

impl<B: Backend> CrossEncoder<B> {
    /// Wraps a model (loaded by [`CrossEncoder::builder`], or one being trained) with its
    /// tokenizer; `source_dir` holds the tokenizer files copied along on save.
    pub fn from_parts(
        model: CrossEncoderModel<B>,
        config: BertConfig,
        tokenizer: TextTokenizer,
        source_dir: &Path,
        device: B::Device,
    ) -> Self {
        Self {
            model,
            config,
            tokenizer,
            device,
            activation: Activation::Sigmoid,
            long_doc: LongDocMode::Truncate,
            run: RunOptions::default(),
            source_dir: source_dir.to_path_buf(),
        }
    }

    /// The sequences to run for `pairs`, and for each sequence the pair it belongs to.
    pub fn encode(&self, pairs: &[(&str, &str)]) -> Result<(Vec<Encoded>, Vec<usize>)> {
        encode_pairs(&self.tokenizer, self.long_doc, pairs)
    }

    /// Raw logits `[pairs][num_labels]`; with max-chunk, the element-wise max over windows.
    pub fn logits(&self, pairs: &[(&str, &str)]) -> Result<Vec<Vec<f32>>> {
        let (sequences, owners) = self.encode(pairs)?;
        self.logits_encoded(&sequences, &owners, pairs.len())
    }

    /// Raw logits `[pairs][num_labels]` of sequences tokenized beforehand (by [`Self::encode`]
    /// or [`encode_pairs`], possibly on another thread): sequence `i` belongs to pair
    /// `owners[i]` (< `pairs`), and a pair with several sequences gets their element-wise max.
    /// Every pair needs at least one sequence.
    pub fn logits_encoded(
        &self,
        sequences: &[Encoded],
        owners: &[usize],
        pairs: usize,
    ) -> Result<Vec<Vec<f32>>> {
        if owners.len() != sequences.len() || owners.iter().any(|&owner| owner >= pairs) {
            return Err(ModelError::Invalid(format!(
                "{} sequences need as many owners below {pairs} (got {})",
                sequences.len(),
                owners.len()
            )));
        }
        let rows = self.run.run(sequences, &self.device, "scoring", |batch| {
            self.model.forward(batch)
        });
        let mut out: Vec<Option<Vec<f32>>> = vec![None; pairs];
        for (row, &owner) in rows.into_iter().zip(owners) {
            out[owner] = Some(match out[owner].take() {
                None => row,
                Some(best) => best.iter().zip(&row).map(|(a, b)| a.max(*b)).collect(),
            });
        }
        out.into_iter()
            .enumerate()
            .map(|(pair, row)| {
                row.ok_or_else(|| ModelError::Invalid(format!("pair {pair} has no sequence")))
            })
            .collect()
    }

    /// One relevance score per pair (the activation applied to the single logit).
    pub fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        let labels = self.model.num_labels();
        if labels != 1 {
            return Err(ModelError::Invalid(format!(
                "this cross-encoder has {labels} labels; relevance scores need exactly 1 (use logits)"
            )));
        }
        let logits = self.logits(pairs)?;
        Ok(logits
            .into_iter()
            .map(|row| self.activation.apply(row[0]))
            .collect())
    }

    /// Saves as an HF directory (transformers / sentence-transformers load it unchanged).
    pub fn save(&self, out: &Path) -> Result<()> {
        hf::save_cross_encoder(
            &self.model,
            &self.config,
            &self.source_dir,
            self.tokenizer.max_length(),
            out,
        )
    }
}

/// The sequences a cross-encoder runs for `pairs` under `long_doc`, and for each sequence the
/// pair it belongs to: one sequence per pair when truncating, one per window with max-chunk.
/// What [`CrossEncoder::encode`] does, callable without the model (e.g. on a tokenization thread).
pub fn encode_pairs(
    tokenizer: &TextTokenizer,
    long_doc: LongDocMode,
    pairs: &[(&str, &str)],
) -> Result<(Vec<Encoded>, Vec<usize>)> {
    match long_doc {
        LongDocMode::Truncate => Ok((tokenizer.encode_pairs(pairs)?, (0..pairs.len()).collect())),
        LongDocMode::MaxChunk { window, stride } => {
            let mut sequences = Vec::new();
            let mut owners = Vec::new();
            for (index, (query, doc)) in pairs.iter().enumerate() {
                let windows = tokenizer.encode_pair_windows(query, doc, window, stride)?;
                owners.extend(std::iter::repeat_n(index, windows.len()));
                sequences.extend(windows);
            }
            Ok((sequences, owners))
        }
    }
}
