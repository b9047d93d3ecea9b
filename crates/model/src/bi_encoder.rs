//! [`BiEncoder`]: a bi-encoder ready to embed texts: the encoder, its sentence-transformers
//! pooling and normalisation, tokenizer and settings, over the one inference path
//! ([`run_batched`]).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;

use burn::tensor::Tensor;

use crate::bert::{BertInput, BertModel};
use crate::encoder_config::EncoderConfig;
use crate::error::Result;
use crate::hf::{self, SentenceTransformerSettings};
use crate::modernbert::{self, ModernBertModel};
use crate::pooling::EmbeddingHead;
use crate::run_options::RunOptions;
use crate::tokenize::{Encoded, TextTokenizer};

/// The bi-encoder's trainable part: the encoder body of the config's family. (One model lives
/// for a whole run and is never moved in a loop, so the variants' size difference costs nothing
/// worth a box.)
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum BiEncoderModel<B: Backend> {
    /// BERT, XLM-RoBERTa or ELECTRA.
    Bert(BertBiEncoderModel<B>),
    ModernBert(ModernBertModel<B>),
}

/// A BERT-family bi-encoder: the encoder, kept under `bert.` like the cross-encoder's.
#[derive(Module, Debug)]
pub struct BertBiEncoderModel<B: Backend> {
    pub bert: BertModel<B>,
}

impl<B: Backend> BiEncoderModel<B> {
    /// Sentence embeddings `[batch, dim]`: the last hidden states pooled and optionally
    /// normalised as `head` says (sentence-transformers' Transformer → Pooling → Normalize).
    pub fn embed(&self, head: EmbeddingHead, input: BertInput<B>) -> Tensor<B, 2> {
        match self {
            BiEncoderModel::Bert(m) => head.embed(&m.bert, input),
            BiEncoderModel::ModernBert(m) => modernbert::embed(m, head, input),
        }
    }

    /// The float type the weights are in (f32, or a half type after a cast).
    pub fn float_dtype(&self) -> burn::tensor::DType {
        match self {
            BiEncoderModel::Bert(m) => m.bert.embeddings.word_embeddings.weight.val().dtype(),
            BiEncoderModel::ModernBert(m) => m.embeddings.tok_embeddings.weight.val().dtype(),
        }
    }

    /// The BERT-family encoder, if this is one.
    pub fn as_bert(&self) -> Option<&BertModel<B>> {
        match self {
            BiEncoderModel::Bert(m) => Some(&m.bert),
            BiEncoderModel::ModernBert(_) => None,
        }
    }

    pub fn as_bert_mut(&mut self) -> Option<&mut BertModel<B>> {
        match self {
            BiEncoderModel::Bert(m) => Some(&mut m.bert),
            BiEncoderModel::ModernBert(_) => None,
        }
    }
}

/// A bi-encoder ready to embed.
#[derive(Debug)]
pub struct BiEncoder<B: Backend> {
    pub model: BiEncoderModel<B>,
    pub config: EncoderConfig,
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
        config: EncoderConfig,
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
        let shape = crate::inference::ActivationShape::of(&self.config);
        self.run
            .run(sequences, shape, &self.device, "embedding", |batch| {
                self.model.embed(head, batch)
            })
    }

    pub fn save(&self, out: &Path) -> Result<()> {
        let mut settings = self.settings.clone();
        settings.max_seq_length = Some(self.tokenizer.max_length());
        hf::save_bi_encoder(&self.model, &self.config, &settings, &self.source_dir, out)
    }
}
