//! Tokenization for both model kinds. The truncation and padding stored inside `tokenizer.json`
//! are always replaced (all-MiniLM-L6-v2's says "128, fixed"): sequences are truncated with
//! `longest_first` at this tokenizer's `max_length`, and padding is left to batching.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tokenizers::{
    EncodeInput, Encoding, PostProcessor, Tokenizer, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

use crate::error::{ModelError, Result};

/// One tokenized sequence, unpadded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

impl Encoded {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn from_encoding(encoding: &Encoding) -> Self {
        Encoded {
            ids: encoding.get_ids().to_vec(),
            type_ids: encoding.get_type_ids().to_vec(),
        }
    }
}

/// What to do with a document longer than the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum LongDocMode {
    /// Cut the pair at `max_length` (`longest_first`), as sentence-transformers does.
    #[default]
    Truncate,
    /// Split the document into overlapping windows of `window` tokens, starting every `stride`
    /// tokens, pair each with the query, and keep the best window's score (MaxP).
    MaxChunk { window: usize, stride: usize },
}

/// A Hugging Face tokenizer with rankforge's truncation settings.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    max_length: usize,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer")
            .field("max_length", &self.max_length)
            .finish()
    }
}

fn tok_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, replacing its truncation with `longest_first` at `max_length` and
    /// removing its padding.
    pub fn from_file(path: &Path, max_length: usize) -> Result<Self> {
        let inner = Tokenizer::from_file(path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
        Self::new(inner, max_length)
    }

    pub fn new(mut inner: Tokenizer, max_length: usize) -> Result<Self> {
        if max_length < 8 {
            return Err(ModelError::Invalid(format!(
                "max_length {max_length} is too small (at least 8)"
            )));
        }
        inner
            .with_truncation(Some(TruncationParams {
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(tok_err)?;
        inner.with_padding(None);
        Ok(Self { inner, max_length })
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// `[CLS] text [SEP]` for each text.
    pub fn encode_texts(&self, texts: &[&str]) -> Result<Vec<Encoded>> {
        let inputs: Vec<EncodeInput> = texts
            .iter()
            .map(|t| EncodeInput::Single((*t).into()))
            .collect();
        let encodings = self.inner.encode_batch(inputs, true).map_err(tok_err)?;
        Ok(encodings.iter().map(Encoded::from_encoding).collect())
    }

    /// `[CLS] query [SEP] document [SEP]` for each pair, `longest_first` truncation.
    pub fn encode_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<Encoded>> {
        let inputs: Vec<EncodeInput> = pairs
            .iter()
            .map(|(q, d)| EncodeInput::Dual((*q).into(), (*d).into()))
            .collect();
        let encodings = self.inner.encode_batch(inputs, true).map_err(tok_err)?;
        Ok(encodings.iter().map(Encoded::from_encoding).collect())
    }

    /// The windows of a long document, each paired with the query: `[CLS] q [SEP] d[i..i+w] [SEP]`.
    /// The query keeps at most half of `max_length`; the window shrinks to what is left if needed.
    /// A document that fits gives exactly one sequence, the same as [`Self::encode_pairs`].
    pub fn encode_pair_windows(
        &self,
        query: &str,
        document: &str,
        window: usize,
        stride: usize,
    ) -> Result<Vec<Encoded>> {
        if window == 0 || stride == 0 || stride > window {
            return Err(ModelError::Invalid(format!(
                "max-chunk needs 0 < stride <= window (window {window}, stride {stride})"
            )));
        }
        let special = self
            .inner
            .get_post_processor()
            .map(|p| p.added_tokens(true))
            .unwrap_or(0);
        let mut query_enc = self.inner.encode_fast(query, false).map_err(tok_err)?;
        let query_budget = (self.max_length - special) / 2;
        query_enc.truncate(query_budget, 0, TruncationDirection::Right);
        query_enc.take_overflowing();
        let mut doc_enc = self.inner.encode_fast(document, false).map_err(tok_err)?;
        let window = window
            .min(self.max_length - special - query_enc.len())
            .max(1);
        let overlap = window.saturating_sub(stride).min(window - 1);
        doc_enc.truncate(window, overlap, TruncationDirection::Right);
        let rest = doc_enc.take_overflowing();
        std::iter::once(doc_enc)
            .chain(rest)
            .map(|piece| {
                let pair = self
                    .inner
                    .post_process(query_enc.clone(), Some(piece), true)
                    .map_err(tok_err)?;
                Ok(Encoded::from_encoding(&pair))
            })
            .collect()
    }
}
