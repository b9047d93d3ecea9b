//! Ready-to-use models: a cross-encoder that scores (query, document) pairs and a bi-encoder
//! that embeds texts, each = weights + tokenizer + settings, both over [`run_batched`].

use std::path::{Path, PathBuf};

use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::bi_encoder::EmbeddingHead;
use crate::config::BertConfig;
use crate::error::{ModelError, Result};
use crate::hf::{self, SentenceTransformerSettings};
use crate::inference::{run_batched, BatchingConfig};
use crate::tokenize::{Encoded, LongDocMode, TextTokenizer};
use crate::{BiEncoderModel, CrossEncoderModel};

/// The most tokens a sequence gets when the model allows more.
pub const MAX_LENGTH_CAP: usize = 512;

/// A progress bar on stderr for `len` sequences, hidden when `show` is false.
pub fn progress_bar(len: usize, show: bool, message: &str) -> Option<ProgressBar> {
    show.then(|| {
        let bar = ProgressBar::new(len as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}, {per_sec}]",
            )
            .expect("valid template"),
        );
        bar.set_message(message.to_string());
        bar
    })
}

/// Score activation of a one-label cross-encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `1 / (1 + e^-logit)`: sentence-transformers' default for one label.
    #[default]
    Sigmoid,
    /// The raw logit.
    Identity,
}

impl Activation {
    /// The score of a one-label logit.
    pub fn apply(self, logit: f32) -> f32 {
        match self {
            Activation::Sigmoid => 1.0 / (1.0 + (-logit).exp()),
            Activation::Identity => logit,
        }
    }
}

/// Settings shared by everything that runs a model.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub batching: BatchingConfig,
    /// Show a progress bar on stderr for long inputs.
    pub progress: bool,
}

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
        let bar = progress_bar(
            sequences.len(),
            self.run.progress && sequences.len() > 256,
            "scoring",
        );
        let rows = run_batched(
            sequences,
            &self.run.batching,
            &self.device,
            bar.as_ref(),
            |batch| self.model.forward(batch),
        );
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
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

/// A bi-encoder ready to embed.
#[derive(Debug)]
pub struct BiEncoder<B: Backend> {
    pub model: BiEncoderModel<B>,
    pub config: BertConfig,
    pub settings: SentenceTransformerSettings,
    pub tokenizer: TextTokenizer,
    pub device: B::Device,
    pub run: RunOptions,
    pub source_dir: PathBuf,
}

impl<B: Backend> BiEncoder<B> {
    /// Wraps a model (loaded by [`BiEncoder::builder`], or one being trained) with its
    /// sentence-transformers settings and tokenizer.
    pub fn from_parts(
        model: BiEncoderModel<B>,
        config: BertConfig,
        settings: SentenceTransformerSettings,
        tokenizer: TextTokenizer,
        source_dir: &Path,
        device: B::Device,
    ) -> Self {
        Self {
            model,
            config,
            settings,
            tokenizer,
            device,
            run: RunOptions::default(),
            source_dir: source_dir.to_path_buf(),
        }
    }

    pub fn head(&self) -> EmbeddingHead {
        self.settings.head
    }

    /// One embedding per text, with the model's own pooling and normalisation.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let sequences = self.tokenizer.encode_texts(texts)?;
        Ok(self.embed_encoded(&sequences, self.settings.head))
    }

    /// One embedding per sequence tokenized beforehand (by `tokenizer.encode_texts`, possibly on
    /// another thread), pooled and normalised as `head` says (usually `self.head()`).
    pub fn embed_encoded(&self, sequences: &[Encoded], head: EmbeddingHead) -> Vec<Vec<f32>> {
        let bar = progress_bar(
            sequences.len(),
            self.run.progress && sequences.len() > 256,
            "embedding",
        );
        let rows = run_batched(
            sequences,
            &self.run.batching,
            &self.device,
            bar.as_ref(),
            |batch| head.embed(&self.model.bert, batch),
        );
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        rows
    }

    pub fn save(&self, out: &Path) -> Result<()> {
        let mut settings = self.settings.clone();
        settings.max_seq_length = Some(self.tokenizer.max_length());
        hf::save_bi_encoder(&self.model, &self.config, &settings, &self.source_dir, out)
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

/// The tokenizer of the model directory `dir`, cutting sequences at `requested` tokens or, by
/// default, at the model's position limit (capped at [`MAX_LENGTH_CAP`]); a request beyond the
/// position table is an error.
pub fn tokenizer_for_model(
    dir: &Path,
    requested: Option<usize>,
    config: &BertConfig,
) -> Result<TextTokenizer> {
    let limit = config.max_position_embeddings.min(MAX_LENGTH_CAP);
    let max_length = match requested {
        None => limit,
        Some(n) if n <= limit => n,
        Some(n) => {
            return Err(ModelError::Invalid(format!(
                "max length {n} exceeds what the model supports ({limit} positions)"
            )))
        }
    };
    TextTokenizer::from_file(&dir.join(hf::TOKENIZER_FILE), max_length)
}

/// Sigmoid on a tensor, for callers that keep scores on the device.
pub fn sigmoid_scores<B: Backend>(
    logits: burn::tensor::Tensor<B, 2>,
) -> burn::tensor::Tensor<B, 2> {
    sigmoid(logits)
}
