//! Tokenization for both model kinds. The truncation and padding stored inside `tokenizer.json`
//! are always replaced (all-MiniLM-L6-v2's says "128, fixed"): sequences are truncated with
//! `longest_first` at this tokenizer's `max_length`, and padding is left to batching. Long
//! documents under max-chunk are tokenized whole (no truncation) and cut into windows here.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

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
    /// Split the whole document into overlapping windows of `window` tokens, starting every
    /// `stride` tokens, pair each with the query, and keep the best window's score (MaxP). At
    /// most [`LongDocSettings::max_windows`] windows per document (default
    /// [`DEFAULT_MAX_WINDOWS`]); a document needing more is scored on its first ones, and that
    /// is reported.
    MaxChunk { window: usize, stride: usize },
}

/// Windows per document at most under max-chunk, unless set: 64 windows cover
/// `window + 63 × stride` tokens (16,512 with the CLI's 384 / 256, about 12,000 English words)
/// and cost at most 64 forward passes per document.
pub const DEFAULT_MAX_WINDOWS: usize = 64;

/// Long-document handling: the [`LongDocMode`] and the cap on windows per document.
/// `From<LongDocMode>` gives the default cap, so a mode is accepted wherever settings are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LongDocSettings {
    pub mode: LongDocMode,
    /// Windows per document at most under max-chunk (≥ 1; ignored when truncating).
    pub max_windows: usize,
}

impl Default for LongDocSettings {
    fn default() -> Self {
        LongDocMode::default().into()
    }
}

impl From<LongDocMode> for LongDocSettings {
    fn from(mode: LongDocMode) -> Self {
        Self {
            mode,
            max_windows: DEFAULT_MAX_WINDOWS,
        }
    }
}

impl LongDocSettings {
    /// `self` with at most `max_windows` windows per document.
    pub fn with_max_windows(self, max_windows: usize) -> Self {
        Self {
            max_windows,
            ..self
        }
    }
}

/// The windows of one (query, document) pair, from [`TextTokenizer::encode_pair_windows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairWindows {
    /// `[CLS] q [SEP] d[range] [SEP]` for each window, in document order.
    pub sequences: Vec<Encoded>,
    /// The document tokens of each window (indices into the document's own tokens, without
    /// special tokens).
    pub ranges: Vec<Range<usize>>,
    /// Tokens in the whole document.
    pub document_tokens: usize,
    /// Windows the cap left out: 0 when the windows cover the whole document.
    pub dropped_windows: usize,
}

impl PairWindows {
    /// Whether the cap cut the document short.
    pub fn capped(&self) -> bool {
        self.dropped_windows > 0
    }
}

/// How many windows of `window` tokens every `step` tokens cover `len` tokens (at least one).
fn windows_needed(len: usize, window: usize, step: usize) -> usize {
    if len <= window {
        1
    } else {
        1 + (len - window).div_ceil(step)
    }
}

/// A Hugging Face tokenizer with rankforge's truncation settings.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    /// The same tokenizer without truncation: max-chunk windows span the whole document.
    untruncated: Arc<Tokenizer>,
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
        let mut untruncated = inner.clone();
        untruncated.with_truncation(None).map_err(tok_err)?;
        Ok(Self {
            inner,
            untruncated: Arc::new(untruncated),
            max_length,
        })
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

    /// The windows of a whole document, each paired with the query:
    /// `[CLS] q [SEP] d[i..i+w] [SEP]`, starting every `stride` tokens until the last window
    /// holds the document's last token, but at most `max_windows` of them (the first ones; the
    /// result says how many were left out). The document is tokenized without truncation. The
    /// query keeps at most half of `max_length`; the window shrinks to what is left if needed
    /// (and the stride with it). A document that fits gives exactly one sequence, the same as
    /// [`Self::encode_pairs`].
    pub fn encode_pair_windows(
        &self,
        query: &str,
        document: &str,
        window: usize,
        stride: usize,
        max_windows: usize,
    ) -> Result<PairWindows> {
        if window == 0 || stride == 0 || stride > window {
            return Err(ModelError::Invalid(format!(
                "max-chunk needs 0 < stride <= window (window {window}, stride {stride})"
            )));
        }
        if max_windows == 0 {
            return Err(ModelError::Invalid(
                "max-chunk needs at least 1 window per document (max_windows 0)".into(),
            ));
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
        let mut doc_enc = self
            .untruncated
            .encode_fast(document, false)
            .map_err(tok_err)?;
        let document_tokens = doc_enc.len();
        let window = window
            .min(self.max_length - special - query_enc.len())
            .max(1);
        let overlap = window.saturating_sub(stride).min(window - 1);
        let step = window - overlap;
        let needed = windows_needed(document_tokens, window, step);
        let kept = needed.min(max_windows);
        if kept < needed {
            // Only the tokens the kept windows cover.
            doc_enc.truncate((kept - 1) * step + window, 0, TruncationDirection::Right);
            doc_enc.take_overflowing();
        }
        let covered = doc_enc.len();
        doc_enc.truncate(window, overlap, TruncationDirection::Right);
        let rest = doc_enc.take_overflowing();
        let sequences = std::iter::once(doc_enc)
            .chain(rest)
            .map(|piece| {
                let pair = self
                    .inner
                    .post_process(query_enc.clone(), Some(piece), true)
                    .map_err(tok_err)?;
                Ok(Encoded::from_encoding(&pair))
            })
            .collect::<Result<Vec<_>>>()?;
        let ranges: Vec<Range<usize>> = (0..kept)
            .map(|i| i * step..(i * step + window).min(covered))
            .collect();
        debug_assert_eq!(sequences.len(), ranges.len());
        Ok(PairWindows {
            sequences,
            ranges,
            document_tokens,
            dropped_windows: needed - kept,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tokenizers::models::wordlevel::WordLevel;
    use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
    use tokenizers::processors::template::TemplateProcessing;

    use super::*;

    const MAX_LENGTH: usize = 32;

    /// A word-level tokenizer with BERT's template: `[CLS]`=1, `[SEP]`=2, `q`=3, `w0`..`w99` =
    /// 4..104, `last` = 104; every whitespace-separated word is one token.
    fn tokenizer() -> TextTokenizer {
        let mut vocab: HashMap<String, u32> = HashMap::new();
        for (i, token) in ["[UNK]", "[CLS]", "[SEP]", "q"].iter().enumerate() {
            vocab.insert((*token).into(), i as u32);
        }
        for i in 0..100 {
            vocab.insert(format!("w{i}"), 4 + i);
        }
        vocab.insert("last".into(), 104);
        let model = WordLevel::builder()
            .vocab(vocab.into_iter().collect())
            .unk_token("[UNK]".into())
            .build()
            .unwrap();
        let mut inner = Tokenizer::new(model);
        inner.with_pre_tokenizer(Some(WhitespaceSplit));
        inner.with_post_processor(Some(
            TemplateProcessing::builder()
                .try_single("[CLS] $A [SEP]")
                .unwrap()
                .try_pair("[CLS] $A [SEP] $B:1 [SEP]:1")
                .unwrap()
                .special_tokens(vec![("[CLS]", 1), ("[SEP]", 2)])
                .build()
                .unwrap(),
        ));
        TextTokenizer::new(inner, MAX_LENGTH).unwrap()
    }

    /// `n` filler words, then `last`: `n + 1` tokens.
    fn long_document(n: usize) -> String {
        let mut words: Vec<String> = (0..n).map(|i| format!("w{}", i % 100)).collect();
        words.push("last".into());
        words.join(" ")
    }

    #[test]
    fn windows_cover_the_whole_document() {
        let tok = tokenizer();
        let doc = long_document(1000);
        let got = tok.encode_pair_windows("q", &doc, 16, 8, 1000).unwrap();
        assert_eq!(got.document_tokens, 1001, "the document is not truncated");
        assert_eq!(got.dropped_windows, 0);
        assert!(!got.capped());
        assert_eq!(got.sequences.len(), got.ranges.len());
        assert_eq!(got.sequences.len(), windows_needed(1001, 16, 8));
        assert_eq!(got.ranges[0].start, 0);
        assert_eq!(
            got.ranges.last().unwrap().end,
            1001,
            "{:?}",
            got.ranges.last()
        );
        for pair in got.ranges.windows(2) {
            assert!(pair[1].start <= pair[0].end, "a gap between {pair:?}");
            assert_eq!(pair[1].start - pair[0].start, 8, "stride");
        }
        for (sequence, range) in got.sequences.iter().zip(&got.ranges) {
            assert!(range.len() <= 16);
            // [CLS] q [SEP] window [SEP]
            assert_eq!(sequence.len(), range.len() + 4);
            assert!(sequence.len() <= MAX_LENGTH);
            assert_eq!(&sequence.ids[..3], &[1, 3, 2]);
            assert_eq!(*sequence.ids.last().unwrap(), 2);
            let want: Vec<u32> = range.clone().map(|t| 4 + (t % 100) as u32).collect();
            if range.end < 1001 {
                assert_eq!(&sequence.ids[3..sequence.len() - 1], &want[..]);
            }
        }
        let last = got.sequences.last().unwrap();
        assert_eq!(
            last.ids[last.len() - 2],
            104,
            "the last window holds the last token"
        );
    }

    #[test]
    fn the_window_cap_is_applied_and_reported() {
        let tok = tokenizer();
        let doc = long_document(1000);
        let needed = windows_needed(1001, 16, 8);
        let got = tok.encode_pair_windows("q", &doc, 16, 8, 5).unwrap();
        assert_eq!(got.sequences.len(), 5);
        assert_eq!(got.ranges, vec![0..16, 8..24, 16..32, 24..40, 32..48]);
        assert_eq!(got.document_tokens, 1001);
        assert_eq!(got.dropped_windows, needed - 5);
        assert!(got.capped());
        // Exactly enough windows: nothing dropped.
        let exact = tok.encode_pair_windows("q", &doc, 16, 8, needed).unwrap();
        assert_eq!(exact.sequences.len(), needed);
        assert!(!exact.capped());
        assert!(tok.encode_pair_windows("q", &doc, 16, 8, 0).is_err());
    }

    #[test]
    fn a_short_document_is_one_window_like_truncation() {
        let tok = tokenizer();
        let doc = long_document(5);
        let got = tok.encode_pair_windows("q", &doc, 16, 8, 1).unwrap();
        assert_eq!(got.ranges, vec![0..6]);
        assert!(!got.capped());
        assert_eq!(got.sequences, tok.encode_pairs(&[("q", &doc)]).unwrap());
    }

    #[test]
    fn the_window_shrinks_to_what_the_query_leaves() {
        let tok = tokenizer();
        let query = "q ".repeat(100);
        let doc = long_document(100);
        let got = tok.encode_pair_windows(&query, &doc, 64, 64, 1000).unwrap();
        // The query keeps (32 − 3) / 2 = 14 tokens, the window the remaining 15.
        assert!(got.sequences.iter().all(|s| s.len() <= MAX_LENGTH));
        assert_eq!(got.ranges[0], 0..15);
        assert_eq!(got.ranges.last().unwrap().end, 101);
    }
}
