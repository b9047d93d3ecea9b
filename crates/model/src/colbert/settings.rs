//! What a ColBERT directory says about tokenization and scoring: PyLate's
//! `config_sentence_transformers.json` keys, or a Stanford checkpoint's `artifact.metadata`,
//! with PyLate's defaults where a key is missing.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ModelError, Result};

/// PyLate's default skiplist: every ASCII punctuation mark (Python's `string.punctuation`).
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// How a ColBERT model tokenizes queries and documents and which tokens it scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColBertSettings {
    /// Token inserted after `[CLS]` in queries (PyLate default `"[Q] "`, Stanford `[unused0]`);
    /// empty: none.
    pub query_prefix: String,
    /// Token inserted after `[CLS]` in documents (PyLate `"[D] "`, Stanford `[unused1]`).
    pub document_prefix: String,
    /// Query tokens, prefix and specials included; with expansion, queries are padded with
    /// `[MASK]` to exactly this many.
    pub query_length: usize,
    /// Document tokens at most, prefix and specials included; documents are not padded.
    pub document_length: usize,
    /// Whether the query's `[MASK]` expansion tokens are attended to in the encoder (they are
    /// scored either way).
    pub attend_to_expansion_tokens: bool,
    /// Tokens (looked up as whole vocabulary entries, not tokenized) whose document vectors are
    /// not scored.
    pub skiplist_words: Vec<String>,
    /// Whether queries are padded with `[MASK]` to `query_length` (query augmentation).
    pub do_query_expansion: bool,
}

impl Default for ColBertSettings {
    /// PyLate's defaults for a model whose files do not say otherwise.
    fn default() -> Self {
        Self {
            query_prefix: "[Q] ".into(),
            document_prefix: "[D] ".into(),
            query_length: 32,
            document_length: 180,
            attend_to_expansion_tokens: false,
            skiplist_words: PUNCTUATION.chars().map(String::from).collect(),
            do_query_expansion: true,
        }
    }
}

fn field_error(path: &Path, field: &str, message: &str) -> ModelError {
    ModelError::Config {
        path: path.into(),
        field: field.into(),
        message: message.into(),
    }
}

/// Reads `key` of `object` if present (`null` counts as absent): `Ok(None)` when absent, an
/// error naming the field when of the wrong type.
fn get<T: serde::de::DeserializeOwned>(
    object: &Value,
    key: &str,
    path: &Path,
) -> Result<Option<T>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|e| field_error(path, key, &e.to_string())),
    }
}

impl ColBertSettings {
    /// From PyLate's `config_sentence_transformers.json` (its keys `query_prefix`,
    /// `document_prefix`, `query_length`, `document_length`, `attend_to_expansion_tokens`,
    /// `skiplist_words`, `do_query_expansion`; PyLate's default for each missing one).
    pub fn from_pylate(config: &Value, path: &Path) -> Result<Self> {
        let mut settings = Self::default();
        if let Some(v) = get(config, "query_prefix", path)? {
            settings.query_prefix = v;
        }
        if let Some(v) = get(config, "document_prefix", path)? {
            settings.document_prefix = v;
        }
        if let Some(v) = get(config, "query_length", path)? {
            settings.query_length = v;
        }
        if let Some(v) = get(config, "document_length", path)? {
            settings.document_length = v;
        }
        if let Some(v) = get(config, "attend_to_expansion_tokens", path)? {
            settings.attend_to_expansion_tokens = v;
        }
        if let Some(v) = get(config, "skiplist_words", path)? {
            settings.skiplist_words = v;
        }
        if let Some(v) = get(config, "do_query_expansion", path)? {
            settings.do_query_expansion = v;
        }
        settings.finish(path)
    }

    /// From a Stanford ColBERT `artifact.metadata` (the flat `ColBERTConfig` JSON, or one under
    /// `config`): `query_token_id` / `doc_token_id` (default `[unused0]` / `[unused1]`),
    /// `query_maxlen`, `doc_maxlen`, `attend_to_mask_tokens`, as PyLate reads them (PyLate's
    /// defaults for lengths it lacks). `mask_punctuation: false` empties the skiplist, as
    /// Stanford ColBERT scores then (PyLate keeps its punctuation skiplist regardless).
    pub fn from_stanford(metadata: &Value, path: &Path) -> Result<Self> {
        let metadata = metadata.get("config").unwrap_or(metadata);
        let mut settings = Self {
            query_prefix: "[unused0]".into(),
            document_prefix: "[unused1]".into(),
            ..Self::default()
        };
        if let Some(v) = get(metadata, "query_token_id", path)? {
            settings.query_prefix = v;
        }
        if let Some(v) = get(metadata, "doc_token_id", path)? {
            settings.document_prefix = v;
        }
        if let Some(v) = get(metadata, "query_maxlen", path)? {
            settings.query_length = v;
        }
        if let Some(v) = get(metadata, "doc_maxlen", path)? {
            settings.document_length = v;
        }
        if let Some(v) = get(metadata, "attend_to_mask_tokens", path)? {
            settings.attend_to_expansion_tokens = v;
        }
        if get::<bool>(metadata, "mask_punctuation", path)? == Some(false) {
            settings.skiplist_words.clear();
        }
        settings.finish(path)
    }

    /// PyLate's rule (no expansion, no attention to expansion tokens) and the length checks.
    fn finish(mut self, path: &Path) -> Result<Self> {
        if !self.do_query_expansion {
            self.attend_to_expansion_tokens = false;
        }
        for (field, length, prefix) in [
            ("query_length", self.query_length, &self.query_prefix),
            (
                "document_length",
                self.document_length,
                &self.document_prefix,
            ),
        ] {
            // The text is tokenized (with [CLS] and [SEP]) at `length` less the prefix, and the
            // crate's tokenizer cuts at no fewer than 8 tokens.
            let least = 8 + usize::from(!prefix.is_empty());
            if length < least {
                return Err(field_error(
                    path,
                    field,
                    &format!("{length} is too short (at least {least} tokens with this prefix)"),
                ));
            }
        }
        Ok(self)
    }

    /// The keys PyLate reads, for `config_sentence_transformers.json`.
    pub fn to_pylate_json(&self) -> Value {
        json!({
            "query_prefix": self.query_prefix,
            "document_prefix": self.document_prefix,
            "query_length": self.query_length,
            "document_length": self.document_length,
            "attend_to_expansion_tokens": self.attend_to_expansion_tokens,
            "skiplist_words": self.skiplist_words,
            "do_query_expansion": self.do_query_expansion,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_pylate_defaults_and_no_expansion_means_no_attention() {
        let path = Path::new("config_sentence_transformers.json");
        let s = ColBertSettings::from_pylate(&json!({"query_length": 16}), path).unwrap();
        assert_eq!(s.query_length, 16);
        assert_eq!(s.document_length, 180);
        assert_eq!(s.query_prefix, "[Q] ");
        assert_eq!(s.skiplist_words.len(), 32);
        let s = ColBertSettings::from_pylate(
            &json!({"do_query_expansion": false, "attend_to_expansion_tokens": true}),
            path,
        )
        .unwrap();
        assert!(!s.attend_to_expansion_tokens);
        let err = ColBertSettings::from_pylate(&json!({"query_length": "x"}), path).unwrap_err();
        assert!(err.to_string().contains("query_length"), "{err}");
        let err = ColBertSettings::from_pylate(&json!({"document_length": 3}), path).unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
    }

    #[test]
    fn stanford_metadata_maps_onto_pylate_settings() {
        let path = Path::new("artifact.metadata");
        let s = ColBertSettings::from_stanford(
            &json!({"query_maxlen": 32, "doc_maxlen": 300, "attend_to_mask_tokens": false,
                    "mask_punctuation": true}),
            path,
        )
        .unwrap();
        assert_eq!(
            (s.query_prefix.as_str(), s.document_prefix.as_str()),
            ("[unused0]", "[unused1]")
        );
        assert_eq!((s.query_length, s.document_length), (32, 300));
        assert_eq!(s.skiplist_words.len(), 32);
        let s = ColBertSettings::from_stanford(&json!({"mask_punctuation": false}), path).unwrap();
        assert!(s.skiplist_words.is_empty());
    }
}
