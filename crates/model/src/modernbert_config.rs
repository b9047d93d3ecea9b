//! `config.json` of a ModernBERT checkpoint (`model_type` `modernbert`: transformers'
//! `ModernBertConfig`), the fields [`crate::modernbert`] reads, with transformers' defaults.
//!
//! Two spellings of the layer pattern and rotary bases exist on the hub and both are read:
//! the original (`global_attn_every_n_layers`, `global_rope_theta`, `local_rope_theta`, as in
//! `Alibaba-NLP/gte-reranker-modernbert-base`) and transformers 5's (`layer_types`,
//! `rope_parameters.{full_attention,sliding_attention}.rope_theta`), the latter first.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ModelError, Result};
use crate::layers::Activation;
use crate::pooling::Pooling;

/// The fields of a ModernBERT `config.json`; the whole object is kept in [`Self::raw`] so that
/// saving writes every field back unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModernBertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_norm_eps")]
    pub norm_eps: f64,
    #[serde(default)]
    pub norm_bias: bool,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default)]
    pub classifier_bias: bool,
    #[serde(default = "default_act")]
    pub hidden_activation: String,
    #[serde(default = "default_act")]
    pub classifier_activation: String,
    /// `cls` or `mean`.
    #[serde(default = "default_pooling")]
    pub classifier_pooling: String,
    #[serde(default)]
    pub embedding_dropout: f64,
    #[serde(default)]
    pub attention_dropout: f64,
    #[serde(default)]
    pub mlp_dropout: f64,
    #[serde(default)]
    pub classifier_dropout: f64,
    /// The whole local window; a local layer's query sees `local_attention / 2` tokens on each
    /// side.
    #[serde(default = "default_local_attention")]
    pub local_attention: usize,
    #[serde(default = "default_initializer_range")]
    pub initializer_range: f64,
    #[serde(skip)]
    pub raw: Map<String, Value>,
}

fn default_max_positions() -> usize {
    8192
}
fn default_norm_eps() -> f64 {
    1e-5
}
fn default_act() -> String {
    "gelu".into()
}
fn default_pooling() -> String {
    "cls".into()
}
fn default_local_attention() -> usize {
    128
}
fn default_initializer_range() -> f64 {
    0.02
}

/// transformers' defaults when a config names neither spelling.
const DEFAULT_GLOBAL_EVERY: usize = 3;
const DEFAULT_GLOBAL_THETA: f64 = 160_000.0;
const DEFAULT_LOCAL_THETA: f64 = 10_000.0;

impl ModernBertConfig {
    pub const MODEL_TYPE: &'static str = "modernbert";
    pub const SEQUENCE_CLASSIFIER: &'static str = "ModernBertForSequenceClassification";
    pub const BASE_MODEL: &'static str = "ModernBertModel";

    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        Self::from_json(crate::config::read_config_json(path)?, path)
    }

    pub fn from_json(raw: Map<String, Value>, path: &Path) -> Result<Self> {
        let model_type = raw.get("model_type").and_then(Value::as_str);
        if model_type != Some(Self::MODEL_TYPE) {
            return Err(ModelError::Unsupported {
                path: path.into(),
                message: format!("model_type {model_type:?} is not `{}`", Self::MODEL_TYPE),
            });
        }
        let mut config: ModernBertConfig =
            serde_path_to_error::deserialize(Value::Object(raw.clone())).map_err(|e| {
                let field = e.path().to_string();
                ModelError::Config {
                    path: path.into(),
                    field,
                    message: e.into_inner().to_string(),
                }
            })?;
        config.raw = raw;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let unsupported = |message: String| ModelError::Unsupported {
            path: path.into(),
            message,
        };
        let field = |field: &str, message: String| ModelError::Config {
            path: path.into(),
            field: field.into(),
            message,
        };
        if let Some(archs) = self.raw.get("architectures").and_then(Value::as_array) {
            for arch in archs.iter().filter_map(Value::as_str) {
                if !arch.starts_with("ModernBert") {
                    return Err(unsupported(format!(
                        "architecture `{arch}` with model_type `modernbert`"
                    )));
                }
            }
        }
        for (name, act) in [
            ("hidden_activation", &self.hidden_activation),
            ("classifier_activation", &self.classifier_activation),
        ] {
            if Activation::from_hidden_act(act).is_none() {
                return Err(unsupported(format!(
                    "{name} `{act}` (supported: {})",
                    Activation::SUPPORTED
                )));
            }
        }
        self.pooling().map_err(|m| field("classifier_pooling", m))?;
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
            || !self.head_dim().is_multiple_of(2)
        {
            return Err(field(
                "num_attention_heads",
                format!(
                    "hidden_size {} must split into {} heads of an even size (rotary positions)",
                    self.hidden_size, self.num_attention_heads
                ),
            ));
        }
        let types = self.layer_types().map_err(|m| field("layer_types", m))?;
        if types.len() != self.num_hidden_layers {
            return Err(field(
                "layer_types",
                format!(
                    "{} entries for {} layers",
                    types.len(),
                    self.num_hidden_layers
                ),
            ));
        }
        if let Some(Value::Object(params)) = self.raw.get("rope_parameters") {
            for (kind, p) in params {
                let rope_type = p
                    .get("rope_type")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                if rope_type != "default" {
                    return Err(unsupported(format!(
                        "rope_parameters.{kind}.rope_type `{rope_type}` (supported: default)"
                    )));
                }
            }
        }
        if self.raw.get("rope_scaling").is_some_and(|v| !v.is_null()) {
            return Err(unsupported("rope_scaling".into()));
        }
        Ok(())
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// The pooling of the classification head (`classifier_pooling`).
    pub fn pooling(&self) -> std::result::Result<Pooling, String> {
        match self.classifier_pooling.as_str() {
            "cls" => Ok(Pooling::Cls),
            "mean" => Ok(Pooling::Mean),
            other => Err(format!("`{other}` (supported: cls, mean)")),
        }
    }

    /// Per layer, whether it attends globally (`true`) or within the local window:
    /// `layer_types` (`full_attention` / `sliding_attention`) when present, else every
    /// `global_attn_every_n_layers`-th layer (`i % n == 0`) is global.
    pub fn layer_types(&self) -> std::result::Result<Vec<bool>, String> {
        if let Some(types) = self.raw.get("layer_types").filter(|v| !v.is_null()) {
            let types = types.as_array().ok_or("expected an array")?;
            return types
                .iter()
                .map(|t| match t.as_str() {
                    Some("full_attention") => Ok(true),
                    Some("sliding_attention") => Ok(false),
                    other => Err(format!(
                        "{other:?} (supported: full_attention, sliding_attention)"
                    )),
                })
                .collect();
        }
        let every = self
            .raw
            .get("global_attn_every_n_layers")
            .and_then(Value::as_u64)
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_GLOBAL_EVERY)
            .max(1);
        Ok((0..self.num_hidden_layers)
            .map(|i| i % every == 0)
            .collect())
    }

    /// The rotary base of global (`true`) or local layers.
    pub fn rope_theta(&self, global: bool) -> f64 {
        let (kind, old, default) = if global {
            ("full_attention", "global_rope_theta", DEFAULT_GLOBAL_THETA)
        } else {
            ("sliding_attention", "local_rope_theta", DEFAULT_LOCAL_THETA)
        };
        self.raw
            .get("rope_parameters")
            .and_then(|p| p.get(kind))
            .and_then(|p| p.get("rope_theta"))
            .and_then(Value::as_f64)
            .or_else(|| self.raw.get(old).and_then(Value::as_f64))
            .unwrap_or(default)
    }

    /// A local layer's query sees this many tokens on each side (transformers'
    /// `sliding_window`).
    pub fn half_window(&self) -> usize {
        self.local_attention / 2
    }

    /// The longest sequence rankforge runs (rotary positions have no table; the checkpoint's
    /// `max_position_embeddings` is what it was trained for).
    pub fn max_positions(&self) -> usize {
        self.max_position_embeddings
    }

    /// Number of classifier outputs (`id2label`, else `num_labels`).
    pub fn num_labels(&self) -> Option<usize> {
        if let Some(map) = self.raw.get("id2label").and_then(Value::as_object) {
            return Some(map.len());
        }
        self.raw
            .get("num_labels")
            .and_then(Value::as_u64)
            .map(|n| n as usize)
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
