//! `config.json` of a Hugging Face encoder checkpoint of one of the families rankforge runs
//! ([`Architecture`]: BERT, XLM-RoBERTa, ELECTRA).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::architecture::{Architecture, PositionScheme};
use crate::error::{io_err, ModelError, Result};

/// The architecture fields rankforge reads from `config.json`, for every supported family (the
/// name is the first family's). The whole JSON object is kept in [`BertConfig::raw`] so that
/// saving writes every field back unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    /// ELECTRA: width of the embeddings, projected to `hidden_size` when it differs (see
    /// [`Self::embedding_width`]). Other families have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_size: Option<usize>,
    /// The padding token; XLM-RoBERTa's position ids start after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_token_id: Option<usize>,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    #[serde(default)]
    pub classifier_dropout: Option<f64>,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_initializer_range")]
    pub initializer_range: f64,
    /// LayerNorm epsilon; BERT's is 1e-12.
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// The family, from `model_type`.
    #[serde(skip)]
    pub architecture: Architecture,
    #[serde(skip)]
    pub raw: Map<String, Value>,
}

fn default_hidden_act() -> String {
    "gelu".into()
}
fn default_dropout() -> f64 {
    0.1
}
fn default_type_vocab() -> usize {
    2
}
fn default_initializer_range() -> f64 {
    0.02
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}

/// ELECTRA's `embedding_size` when `config.json` omits it (transformers' `ElectraConfig`).
const ELECTRA_DEFAULT_EMBEDDING_SIZE: usize = 128;
/// The JSON object of a `config.json` (errors name the file).
pub fn read_config_json(path: &Path) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|e| ModelError::Config {
        path: path.into(),
        field: "(document)".into(),
        message: e.to_string(),
    })
}

/// XLM-RoBERTa's `pad_token_id` when `config.json` omits it (transformers' `XLMRobertaConfig`).
const XLM_ROBERTA_DEFAULT_PAD: usize = 1;

impl BertConfig {
    /// Reads and validates `config.json`; refuses architectures rankforge does not implement.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_json(read_config_json(path)?, path)
    }

    pub fn from_json(raw: Map<String, Value>, path: &Path) -> Result<Self> {
        let model_type = raw.get("model_type").and_then(Value::as_str);
        let architecture = match model_type {
            // A config without `model_type` is read as BERT (as rankforge always has).
            None => Architecture::Bert,
            // A different body: `EncoderConfig` reads it as a `ModernBertConfig`.
            Some(name) if name == crate::modernbert_config::ModernBertConfig::MODEL_TYPE => {
                return Err(ModelError::Unsupported {
                    path: path.into(),
                    message: format!(
                        "model_type `{name}` as a BERT-family config (read it with \
                         rankforge_model::EncoderConfig, which runs it as ModernBERT)"
                    ),
                });
            }
            Some(name) => {
                Architecture::from_model_type(name).ok_or_else(|| ModelError::Unsupported {
                    path: path.into(),
                    message: format!(
                        "model_type `{name}` (supported: {})",
                        crate::EncoderConfig::supported()
                    ),
                })?
            }
        };
        let mut config: BertConfig = serde_path_to_error::deserialize(Value::Object(raw.clone()))
            .map_err(|e| {
            let field = e.path().to_string();
            ModelError::Config {
                path: path.into(),
                field,
                message: e.into_inner().to_string(),
            }
        })?;
        config.raw = raw;
        config.architecture = architecture;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let unsupported = |message: String| ModelError::Unsupported {
            path: PathBuf::from(path),
            message,
        };
        if let Some(archs) = self.raw.get("architectures").and_then(Value::as_array) {
            let prefix = self.architecture.class_prefix();
            for arch in archs.iter().filter_map(Value::as_str) {
                if !arch.starts_with(prefix) {
                    return Err(unsupported(format!(
                        "architecture `{arch}` with model_type `{}` (supported: {})",
                        self.architecture.model_type(),
                        crate::EncoderConfig::supported()
                    )));
                }
            }
        }
        let width_error = |field: &str, message: String| ModelError::Config {
            path: path.into(),
            field: field.into(),
            message,
        };
        if self.embedding_width() == 0 {
            return Err(width_error("embedding_size", "must be positive".into()));
        }
        if self.max_positions() == 0 {
            return Err(width_error(
                "max_position_embeddings",
                format!(
                    "{} positions leave none after the {} reserved by padding_idx",
                    self.max_position_embeddings,
                    self.position_scheme().reserved()
                ),
            ));
        }
        if crate::layers::Activation::from_hidden_act(&self.hidden_act).is_none() {
            return Err(unsupported(format!(
                "hidden_act `{}` (supported: {})",
                self.hidden_act,
                crate::layers::Activation::SUPPORTED
            )));
        }
        if let Some(kind) = self
            .raw
            .get("position_embedding_type")
            .and_then(Value::as_str)
        {
            if kind != "absolute" {
                return Err(unsupported(format!("position_embedding_type `{kind}`")));
            }
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(ModelError::Config {
                path: path.into(),
                field: "num_attention_heads".into(),
                message: format!(
                    "hidden_size {} is not divisible by {} heads",
                    self.hidden_size, self.num_attention_heads
                ),
            });
        }
        Ok(())
    }

    /// Number of classifier outputs, as transformers derives it (`id2label`, else `num_labels`,
    /// else 2).
    pub fn num_labels(&self) -> Option<usize> {
        if let Some(map) = self.raw.get("id2label").and_then(Value::as_object) {
            return Some(map.len());
        }
        self.raw
            .get("num_labels")
            .and_then(Value::as_u64)
            .map(|n| n as usize)
    }

    /// Whether the checkpoint declares a sequence-classification head.
    pub fn is_sequence_classifier(&self) -> bool {
        let class = self.architecture.sequence_classifier();
        self.raw
            .get("architectures")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(class)))
    }

    /// Width of the token, position and type embeddings: ELECTRA's `embedding_size`, else
    /// `hidden_size`.
    pub fn embedding_width(&self) -> usize {
        match self.architecture {
            Architecture::Electra => self
                .embedding_size
                .unwrap_or(ELECTRA_DEFAULT_EMBEDDING_SIZE),
            _ => self.hidden_size,
        }
    }

    /// Where this family's position ids start.
    pub fn position_scheme(&self) -> PositionScheme {
        match self.architecture {
            Architecture::XlmRoberta => PositionScheme::AfterPadding {
                padding_idx: self.pad_token_id.unwrap_or(XLM_ROBERTA_DEFAULT_PAD),
            },
            _ => PositionScheme::FromZero,
        }
    }

    /// The longest sequence the position table holds: `max_position_embeddings` less the rows
    /// the position scheme reserves (XLM-RoBERTa: `padding_idx + 1`, so 514 → 512).
    pub fn max_positions(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.position_scheme().reserved())
    }

    /// Dropout before the classifier (transformers: `classifier_dropout` or the hidden dropout).
    pub fn classifier_dropout(&self) -> f64 {
        self.classifier_dropout.unwrap_or(self.hidden_dropout_prob)
    }

    /// A small configuration for tests and examples.
    pub fn tiny(vocab_size: usize) -> Self {
        let mut config = BertConfig {
            vocab_size,
            hidden_size: 32,
            embedding_size: None,
            pad_token_id: None,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 64,
            hidden_act: default_hidden_act(),
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            classifier_dropout: None,
            max_position_embeddings: 128,
            type_vocab_size: 2,
            initializer_range: 0.02,
            layer_norm_eps: 1e-12,
            architecture: Architecture::Bert,
            raw: Map::new(),
        };
        config.raw = config.to_json();
        config.raw.insert("model_type".into(), "bert".into());
        config
    }

    /// The JSON object to write as `config.json`: the original fields, with the typed ones
    /// re-serialised on top.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out = self.raw.clone();
        if let Value::Object(typed) = serde_json::to_value(self).expect("config serialises") {
            for (k, v) in typed {
                if !v.is_null() || out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
        }
        out
    }
}
