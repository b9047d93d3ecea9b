//! [`BiEncoder`]: a bi-encoder ready to embed texts: the encoder, its sentence-transformers
//! pooling and normalisation, tokenizer and settings, over the one inference path
//! ([`run_batched`]).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;

use crate::bert::BertModel;
use crate::config::BertConfig;
use crate::error::Result;
use crate::hf::{self, SentenceTransformerSettings};
use crate::pooling::EmbeddingHead;
use crate::run_options::RunOptions;
use crate::tokenize::{Encoded, TextTokenizer};

/// The bi-encoder's trainable part: the encoder (kept under `bert.` like the cross-encoder's).
#[derive(Module, Debug)]
pub struct BiEncoderModel<B: Backend> {
    pub bert: BertModel<B>,
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
        let shape = crate::inference::ActivationShape::of(&self.config);
        self.run
            .run(sequences, shape, &self.device, "embedding", |batch| {
                head.embed(&self.model.bert, batch)
            })
    }

    pub fn save(&self, out: &Path) -> Result<()> {
        let mut settings = self.settings.clone();
        settings.max_seq_length = Some(self.tokenizer.max_length());
        hf::save_bi_encoder(&self.model, &self.config, &settings, &self.source_dir, out)
    }
}
