//! The `config.json` of any encoder rankforge runs, chosen by its `model_type`: the BERT-family
//! bodies ([`BertConfig`]: BERT, XLM-RoBERTa, ELECTRA, one post-norm stack with per-family
//! differences) or ModernBERT ([`ModernBertConfig`]: a different body). What every consumer
//! needs to know whatever the body (widths, the position limit, the vocabulary, the activation
//! sizes that bound a batch) is asked here, so that loaders, the inference path, the trainer and
//! the server hold one type.

use std::path::Path;

use serde_json::{Map, Value};

use crate::architecture::Architecture;
use crate::config::{read_config_json, BertConfig};
use crate::error::{ModelError, Result};
use crate::inference::ActivationShape;
use crate::modernbert_config::ModernBertConfig;

/// What the shared code needs of any encoder's config (the tokenizer's checks, the batch
/// limits): implemented by each family's config and by [`EncoderConfig`].
pub trait EncoderDims {
    /// Rows of the word embedding.
    fn vocab_size(&self) -> usize;
    /// The longest sequence the model runs.
    fn max_positions(&self) -> usize;
    /// The sizes of the largest activations of one sequence.
    fn activation_shape(&self) -> ActivationShape;
}

impl EncoderDims for BertConfig {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }
    fn max_positions(&self) -> usize {
        BertConfig::max_positions(self)
    }
    fn activation_shape(&self) -> ActivationShape {
        ActivationShape {
            heads: self.num_attention_heads,
            widest_row: self.intermediate_size.max(self.hidden_size),
        }
    }
}

/// ModernBERT's widest rows are its fused projections: `Wi` (twice the intermediate size) and
/// `Wqkv` (three times the hidden size).
impl EncoderDims for ModernBertConfig {
    fn vocab_size(&self) -> usize {
        self.vocab_size
    }
    fn max_positions(&self) -> usize {
        ModernBertConfig::max_positions(self)
    }
    fn activation_shape(&self) -> ActivationShape {
        ActivationShape {
            heads: self.num_attention_heads,
            widest_row: (2 * self.intermediate_size).max(3 * self.hidden_size),
        }
    }
}

impl EncoderDims for EncoderConfig {
    fn vocab_size(&self) -> usize {
        EncoderConfig::vocab_size(self)
    }
    fn max_positions(&self) -> usize {
        EncoderConfig::max_positions(self)
    }
    fn activation_shape(&self) -> ActivationShape {
        EncoderConfig::activation_shape(self)
    }
}

/// A validated encoder configuration.
#[derive(Debug, Clone)]
pub enum EncoderConfig {
    /// BERT, XLM-RoBERTa or ELECTRA ([`BertConfig::architecture`] says which).
    Bert(BertConfig),
    ModernBert(ModernBertConfig),
}

impl From<BertConfig> for EncoderConfig {
    fn from(config: BertConfig) -> Self {
        EncoderConfig::Bert(config)
    }
}

impl From<ModernBertConfig> for EncoderConfig {
    fn from(config: ModernBertConfig) -> Self {
        EncoderConfig::ModernBert(config)
    }
}

impl EncoderConfig {
    /// Reads and validates `config.json`; an unsupported `model_type` is an error naming it and
    /// listing the supported ones.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_json(read_config_json(path)?, path)
    }

    pub fn from_json(raw: Map<String, Value>, path: &Path) -> Result<Self> {
        match raw.get("model_type").and_then(Value::as_str) {
            Some(ModernBertConfig::MODEL_TYPE) => {
                Ok(ModernBertConfig::from_json(raw, path)?.into())
            }
            _ => Ok(BertConfig::from_json(raw, path)?.into()),
        }
    }

    /// Every supported `model_type` with its sequence-classification class, for error messages.
    pub fn supported() -> String {
        format!(
            "{}, {} ({})",
            Architecture::supported(),
            ModernBertConfig::MODEL_TYPE,
            ModernBertConfig::SEQUENCE_CLASSIFIER
        )
    }

    /// `config.json`'s `model_type`.
    pub fn model_type(&self) -> &'static str {
        match self {
            EncoderConfig::Bert(c) => c.architecture.model_type(),
            EncoderConfig::ModernBert(_) => ModernBertConfig::MODEL_TYPE,
        }
    }

    /// The BERT-family config, if this is one.
    pub fn as_bert(&self) -> Option<&BertConfig> {
        match self {
            EncoderConfig::Bert(c) => Some(c),
            EncoderConfig::ModernBert(_) => None,
        }
    }

    /// The ModernBERT config, if this is one.
    pub fn as_modernbert(&self) -> Option<&ModernBertConfig> {
        match self {
            EncoderConfig::ModernBert(c) => Some(c),
            EncoderConfig::Bert(_) => None,
        }
    }

    /// Width of the hidden states (and of pooled embeddings).
    pub fn hidden_size(&self) -> usize {
        match self {
            EncoderConfig::Bert(c) => c.hidden_size,
            EncoderConfig::ModernBert(c) => c.hidden_size,
        }
    }

    /// Rows of the word embedding.
    pub fn vocab_size(&self) -> usize {
        match self {
            EncoderConfig::Bert(c) => c.vocab_size,
            EncoderConfig::ModernBert(c) => c.vocab_size,
        }
    }

    pub fn num_hidden_layers(&self) -> usize {
        match self {
            EncoderConfig::Bert(c) => c.num_hidden_layers,
            EncoderConfig::ModernBert(c) => c.num_hidden_layers,
        }
    }

    /// The longest sequence the model runs: the position table's usable rows (BERT family), or
    /// the length ModernBERT was trained for (rotary positions have no table).
    pub fn max_positions(&self) -> usize {
        match self {
            EncoderConfig::Bert(c) => c.max_positions(),
            EncoderConfig::ModernBert(c) => c.max_positions(),
        }
    }

    /// Standard deviation of a new head's weights (`initializer_range`).
    pub fn initializer_range(&self) -> f64 {
        match self {
            EncoderConfig::Bert(c) => c.initializer_range,
            EncoderConfig::ModernBert(c) => c.initializer_range,
        }
    }

    /// Classifier outputs the config declares (`id2label`, else `num_labels`).
    pub fn num_labels(&self) -> Option<usize> {
        match self {
            EncoderConfig::Bert(c) => c.num_labels(),
            EncoderConfig::ModernBert(c) => c.num_labels(),
        }
    }

    /// The sizes of the largest activations of one sequence: attention heads and the widest
    /// per-token row (see [`EncoderDims`]).
    pub fn activation_shape(&self) -> ActivationShape {
        match self {
            EncoderConfig::Bert(c) => c.activation_shape(),
            EncoderConfig::ModernBert(c) => c.activation_shape(),
        }
    }

    /// The JSON object to write as `config.json`.
    pub fn to_json(&self) -> Map<String, Value> {
        match self {
            EncoderConfig::Bert(c) => c.to_json(),
            EncoderConfig::ModernBert(c) => c.to_json(),
        }
    }

    /// An error for a use this body does not support (names the directory's config).
    pub(crate) fn unsupported(&self, path: &Path, what: &str) -> ModelError {
        ModelError::Unsupported {
            path: path.into(),
            message: format!("{what} for model_type `{}`", self.model_type()),
        }
    }
}
