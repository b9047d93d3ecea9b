//! ColBERT tokenization, as PyLate's `ColBERT.tokenize` does it:
//!
//! - the text is stripped and tokenized as `[CLS] text [SEP]`, truncated at `length − 1` tokens
//!   (at `length` without a prefix, since none is inserted then);
//! - the prefix token (`[unused0]` / `[Q] ` …, looked up as one vocabulary entry) is inserted
//!   after `[CLS]`;
//! - queries (with expansion) are padded with `[MASK]` to exactly `query_length`; the padding
//!   is not attended to in the encoder unless `attend_to_expansion_tokens`, but every query
//!   vector is scored;
//! - documents are not padded; tokens of the skiplist keep their place in the encoder but are
//!   not scored. PyLate looks skiplist words up as whole vocabulary entries, so a word missing
//!   from the vocabulary becomes the unknown token's id, and `[UNK]` tokens are then skipped.

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use super::settings::ColBertSettings;
use crate::error::{ModelError, Result};
use crate::tokenize::TextTokenizer;

/// One tokenized query or document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColBertEncoded {
    pub ids: Vec<u32>,
    /// What the encoder attends to: `false` at the query's expansion tokens (unless attended).
    pub attention: Vec<bool>,
    /// Which tokens' vectors are scored: all of a query's (with expansion; without, the
    /// attended ones), a document's except its skiplist tokens.
    pub scored: Vec<bool>,
}

impl ColBertEncoded {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The model's tokenizer with its ColBERT settings applied.
#[derive(Debug, Clone)]
pub struct ColBertTokenizer {
    query: TextTokenizer,
    document: TextTokenizer,
    query_prefix_id: Option<u32>,
    document_prefix_id: Option<u32>,
    mask_id: u32,
    skiplist: Vec<u32>,
    settings: ColBertSettings,
    /// The whole tokenizer and the directory whose `tokenizer_config.json` names its special
    /// tokens ([`Self::with_settings`]).
    inner: Tokenizer,
    dir: PathBuf,
    /// Tokens added to the tokenizer file's ([`crate::colbert::ColBert::from_encoder`]).
    added: Vec<(String, u32)>,
    /// Tokenizer files (name, contents) to save over those of the source directory.
    files: Vec<(&'static str, String)>,
}

/// A special token's text from `tokenizer_config.json` (a string or an `AddedToken` object).
fn configured_token(dir: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("tokenizer_config.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    match config.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => other.get("content")?.as_str().map(String::from),
    }
}

/// The id of the special token `key` names in `tokenizer_config.json`, else of the first of
/// `fallbacks` the vocabulary holds.
fn special_id(tokenizer: &Tokenizer, dir: &Path, key: &str, fallbacks: &[&str]) -> Option<u32> {
    configured_token(dir, key)
        .and_then(|t| tokenizer.token_to_id(&t))
        .or_else(|| fallbacks.iter().find_map(|t| tokenizer.token_to_id(t)))
}

impl ColBertTokenizer {
    /// `dir/tokenizer.json` under `settings`; `dir/tokenizer_config.json` names the mask and
    /// unknown tokens (else `[MASK]` / `<mask>`, `[UNK]` / `<unk>`).
    pub fn from_dir(dir: &Path, settings: &ColBertSettings) -> Result<Self> {
        let path = dir.join(crate::hf::TOKENIZER_FILE);
        let inner = Tokenizer::from_file(&path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
        Self::from_tokenizer(inner, dir, settings)
    }

    /// `inner` (a tokenizer held in memory, e.g. one [`crate::colbert::ColBert::from_encoder`]
    /// added the prefix tokens to) under `settings`; `dir/tokenizer_config.json` names the mask
    /// and unknown tokens as in [`Self::from_dir`].
    pub fn from_tokenizer(
        inner: Tokenizer,
        dir: &Path,
        settings: &ColBertSettings,
    ) -> Result<Self> {
        let path = dir.join(crate::hf::TOKENIZER_FILE);
        let mask_id =
            special_id(&inner, dir, "mask_token", &["[MASK]", "<mask>"]).ok_or_else(|| {
                ModelError::Tokenizer(format!(
                    "{}: no mask token to expand queries with",
                    path.display()
                ))
            })?;
        let unk_id = special_id(&inner, dir, "unk_token", &["[UNK]", "<unk>"]);
        let prefix_id = |prefix: &str| -> Result<Option<u32>> {
            if prefix.is_empty() {
                return Ok(None);
            }
            inner.token_to_id(prefix).map(Some).ok_or_else(|| {
                ModelError::Tokenizer(format!(
                    "{}: the ColBERT prefix {prefix:?} is not a token of the vocabulary",
                    path.display()
                ))
            })
        };
        let query_prefix_id = prefix_id(&settings.query_prefix)?;
        let document_prefix_id = prefix_id(&settings.document_prefix)?;
        let mut skiplist: Vec<u32> = settings
            .skiplist_words
            .iter()
            .filter_map(|word| inner.token_to_id(word).or(unk_id))
            .collect();
        skiplist.sort_unstable();
        skiplist.dedup();
        let cut = |length: usize, prefix: Option<u32>| {
            TextTokenizer::new(inner.clone(), length - usize::from(prefix.is_some()))
        };
        Ok(Self {
            query: cut(settings.query_length, query_prefix_id)?,
            document: cut(settings.document_length, document_prefix_id)?,
            query_prefix_id,
            document_prefix_id,
            mask_id,
            skiplist,
            settings: settings.clone(),
            inner,
            dir: dir.to_path_buf(),
            added: Vec::new(),
            files: Vec::new(),
        })
    }

    /// The same tokenizer (added tokens included) under other settings.
    pub fn with_settings(&self, settings: &ColBertSettings) -> Result<Self> {
        let mut tokenizer = Self::from_tokenizer(self.inner.clone(), &self.dir, settings)?;
        tokenizer.added = self.added.clone();
        tokenizer.files = self.files.clone();
        Ok(tokenizer)
    }

    /// Records tokens added to the tokenizer and the files that save it.
    pub(crate) fn with_added_tokens(
        mut self,
        added: Vec<(String, u32)>,
        files: Vec<(&'static str, String)>,
    ) -> Self {
        self.added = added;
        self.files = files;
        self
    }

    /// Tokens added to the tokenizer of the directory it was read from (PyLate's prefixes,
    /// by [`crate::colbert::ColBert::from_encoder`]), with their ids.
    pub fn added_tokens(&self) -> &[(String, u32)] {
        &self.added
    }

    /// Tokenizer files (name, contents) that saving writes over the source directory's.
    pub(crate) fn files_to_save(&self) -> &[(&'static str, String)] {
        &self.files
    }

    pub fn settings(&self) -> &ColBertSettings {
        &self.settings
    }

    /// The ids of the skiplist (sorted), as the model compares them with document tokens.
    pub fn skiplist_ids(&self) -> &[u32] {
        &self.skiplist
    }

    pub fn mask_id(&self) -> u32 {
        self.mask_id
    }

    fn encode(
        tokenizer: &TextTokenizer,
        texts: &[&str],
        prefix: Option<u32>,
    ) -> Result<Vec<Vec<u32>>> {
        let stripped: Vec<&str> = texts.iter().map(|t| t.trim()).collect();
        Ok(tokenizer
            .encode_texts(&stripped)?
            .into_iter()
            .map(|encoded| {
                let mut ids = encoded.ids;
                if let Some(prefix) = prefix {
                    ids.insert(1.min(ids.len()), prefix);
                }
                ids
            })
            .collect())
    }

    /// Queries: `[CLS] prefix q [SEP]`, then `[MASK]` up to `query_length` with expansion.
    pub fn encode_queries(&self, texts: &[&str]) -> Result<Vec<ColBertEncoded>> {
        let s = &self.settings;
        let sequences = Self::encode(&self.query, texts, self.query_prefix_id)?;
        Ok(sequences
            .into_iter()
            .map(|mut ids| {
                let real = ids.len();
                if s.do_query_expansion {
                    ids.resize(s.query_length.max(real), self.mask_id);
                }
                let attention: Vec<bool> = (0..ids.len())
                    .map(|i| i < real || s.attend_to_expansion_tokens)
                    .collect();
                let scored = if s.do_query_expansion {
                    vec![true; ids.len()]
                } else {
                    attention.clone()
                };
                ColBertEncoded {
                    ids,
                    attention,
                    scored,
                }
            })
            .collect())
    }

    /// Documents: `[CLS] prefix d [SEP]`, at most `document_length` tokens, skiplist tokens
    /// not scored.
    pub fn encode_documents(&self, texts: &[&str]) -> Result<Vec<ColBertEncoded>> {
        let sequences = Self::encode(&self.document, texts, self.document_prefix_id)?;
        Ok(sequences
            .into_iter()
            .map(|ids| {
                let scored = ids
                    .iter()
                    .map(|id| self.skiplist.binary_search(id).is_err())
                    .collect();
                ColBertEncoded {
                    attention: vec![true; ids.len()],
                    scored,
                    ids,
                }
            })
            .collect())
    }
}
