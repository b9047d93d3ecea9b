//! Tokenization for the worker, done on tokio's blocking pool so the inference thread only runs
//! the model. The same functions the CLI path uses (`encode_pairs`, `encode_texts`), plus the
//! request options the APIs add: `truncate: false` (refuse long inputs) and Cohere's
//! `max_tokens_per_doc` (cut documents first).

use std::sync::Arc;

use rankforge_model::{encode_pairs_capped, Encoded, LongDocMode, LongDocSettings, TextTokenizer};
use tokenizers::Tokenizer;

use crate::errors::ApiError;

/// A tokenizer for measuring and cutting: the model's, with no truncation.
#[derive(Clone)]
pub struct LengthTokenizer {
    inner: Arc<Tokenizer>,
}

impl std::fmt::Debug for LengthTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LengthTokenizer")
    }
}

fn tokenizer_error(error: impl std::fmt::Display) -> ApiError {
    ApiError::tokenizer(format!("tokenizer: {error}"))
}

impl LengthTokenizer {
    pub fn new(model_tokenizer: &TextTokenizer) -> Result<Self, String> {
        let mut inner = model_tokenizer.inner().clone();
        inner
            .with_truncation(None)
            .map_err(|e| format!("tokenizer: {e}"))?;
        inner.with_padding(None);
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Tokens of `[CLS] query [SEP] document [SEP]`, untruncated.
    pub fn pair_length(&self, query: &str, document: &str) -> Result<usize, ApiError> {
        let encoding = self
            .inner
            .encode((query, document), true)
            .map_err(tokenizer_error)?;
        Ok(encoding.len())
    }

    /// Tokens of `[CLS] text [SEP]`, untruncated.
    pub fn text_length(&self, text: &str) -> Result<usize, ApiError> {
        let encoding = self.inner.encode(text, true).map_err(tokenizer_error)?;
        Ok(encoding.len())
    }

    /// `text` cut after its first `max_tokens` tokens (unchanged when it has no more).
    pub fn cut<'a>(&self, text: &'a str, max_tokens: usize) -> Result<&'a str, ApiError> {
        let encoding = self.inner.encode(text, false).map_err(tokenizer_error)?;
        if encoding.len() <= max_tokens {
            return Ok(text);
        }
        let end = match max_tokens {
            0 => 0,
            n => encoding.get_offsets()[n - 1].1,
        };
        Ok(text.get(..end).unwrap_or(text))
    }
}

/// How a rerank request wants its pairs tokenized.
#[derive(Debug, Clone, Copy)]
pub struct PairOptions {
    /// `false`: a pair longer than the model's input is refused (413), not cut.
    pub truncate: bool,
    /// Cut each document to this many tokens before pairing.
    pub max_tokens_per_doc: Option<usize>,
}

/// The sequences of `(query, documents[i])` for every `i` in `selected`, and for each sequence
/// its position in `selected`. With `truncate: false`, every document (selected or not) is
/// checked first, so a cached score never hides an input that is too long.
pub fn tokenize_pairs(
    tokenizer: &TextTokenizer,
    lengths: &LengthTokenizer,
    long_doc: LongDocSettings,
    query: &str,
    documents: &[String],
    selected: &[usize],
    options: PairOptions,
) -> Result<(Vec<Encoded>, Vec<usize>), ApiError> {
    let max_length = tokenizer.max_length();
    let cut_docs: Vec<&str> = documents
        .iter()
        .map(|doc| match options.max_tokens_per_doc {
            Some(max_tokens) => lengths.cut(doc, max_tokens),
            None => Ok(doc.as_str()),
        })
        .collect::<Result<_, _>>()?;
    if !options.truncate && long_doc.mode == LongDocMode::Truncate {
        for (index, doc) in cut_docs.iter().enumerate() {
            let length = lengths.pair_length(query, doc)?;
            if length > max_length {
                return Err(ApiError::too_large(format!(
                    "document {index}: the (query, document) pair has {length} tokens, more than \
                     the model's {max_length}; send `truncate: true` to cut it"
                )));
            }
        }
    }
    let pairs: Vec<(&str, &str)> = selected.iter().map(|&i| (query, cut_docs[i])).collect();
    let encoded = encode_pairs_capped(tokenizer, long_doc.mode, long_doc.max_windows, &pairs)
        .map_err(tokenizer_error)?;
    encoded.warn_once();
    Ok((encoded.sequences, encoded.owners))
}

/// One sequence per text; with `truncate: false`, a text longer than the model's input is
/// refused (413).
pub fn tokenize_texts(
    tokenizer: &TextTokenizer,
    lengths: &LengthTokenizer,
    texts: &[String],
    truncate: bool,
) -> Result<Vec<Encoded>, ApiError> {
    let max_length = tokenizer.max_length();
    if !truncate {
        for (index, text) in texts.iter().enumerate() {
            let length = lengths.text_length(text)?;
            if length > max_length {
                return Err(ApiError::too_large(format!(
                    "input {index} has {length} tokens, more than the model's {max_length}; \
                     send `truncate: true` to cut it"
                )));
            }
        }
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    tokenizer.encode_texts(&refs).map_err(tokenizer_error)
}
