//! [`CrossEncoder`]: a cross-encoder ready to score (query, document) pairs: the model, its
//! tokenizer and settings, over the one inference path ([`run_batched`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use burn::tensor::backend::Backend;

use crate::cross_encoder_model::CrossEncoderModel;
use crate::encoder_config::EncoderConfig;
use crate::error::{ModelError, Result};
use crate::hf;
use crate::run_options::{Activation, RunOptions};
use crate::tokenize::{Encoded, LongDocMode, TextTokenizer, DEFAULT_MAX_WINDOWS};

/// A cross-encoder ready to score: model, tokenizer, settings.
#[derive(Debug)]
pub struct CrossEncoder<B: Backend> {
    pub model: CrossEncoderModel<B>,
    pub config: EncoderConfig,
    pub tokenizer: TextTokenizer,
    pub device: B::Device,
    pub activation: Activation,
    pub long_doc: LongDocMode,
    /// Max-chunk: windows per document at most (default [`DEFAULT_MAX_WINDOWS`]).
    pub max_windows: usize,
    pub run: RunOptions,
    /// Where the tokenizer files come from (copied along on save).
    pub source_dir: PathBuf,
    /// Documents scored on their first `max_windows` windows only, so far.
    capped_documents: AtomicUsize,
}

impl<B: Backend> CrossEncoder<B> {
    /// Wraps a model (loaded by [`CrossEncoder::builder`], or one being trained) with its
    /// tokenizer; `source_dir` holds the tokenizer files copied along on save.
    pub fn from_parts(
        model: CrossEncoderModel<B>,
        config: EncoderConfig,
        tokenizer: TextTokenizer,
        source_dir: &Path,
        device: B::Device,
    ) -> Self {
        Self {
            model,
            config,
            tokenizer,
            device,
            activation: Activation::Sigmoid,
            long_doc: LongDocMode::Truncate,
            max_windows: DEFAULT_MAX_WINDOWS,
            run: RunOptions::default(),
            source_dir: source_dir.to_path_buf(),
            capped_documents: AtomicUsize::new(0),
        }
    }

    /// The sequences to run for `pairs`, and for each sequence the pair it belongs to. A
    /// document cut short by the window cap is counted ([`Self::capped_documents`]) and, the
    /// first time in the process, reported on stderr.
    pub fn encode(&self, pairs: &[(&str, &str)]) -> Result<(Vec<Encoded>, Vec<usize>)> {
        let encoded = self.encode_counted(pairs)?;
        Ok((encoded.sequences, encoded.owners))
    }

    /// [`Self::encode`], with what the window cap left out.
    pub fn encode_counted(&self, pairs: &[(&str, &str)]) -> Result<PairSequences> {
        let encoded = encode_pairs_capped(&self.tokenizer, self.long_doc, self.max_windows, pairs)?;
        self.capped_documents
            .fetch_add(encoded.capped_documents, Ordering::Relaxed);
        encoded.warn_once();
        Ok(encoded)
    }

    /// Documents this scorer has scored on their first [`Self::max_windows`] windows only
    /// (max-chunk), since it was made.
    pub fn capped_documents(&self) -> usize {
        self.capped_documents.load(Ordering::Relaxed)
    }

    /// Raw logits `[pairs][num_labels]`; with max-chunk, the element-wise max over windows.
    pub fn logits(&self, pairs: &[(&str, &str)]) -> Result<Vec<Vec<f32>>> {
        let (sequences, owners) = self.encode(pairs)?;
        self.logits_encoded(&sequences, &owners, pairs.len())
    }

    /// Raw logits `[pairs][num_labels]` of sequences tokenized beforehand (by [`Self::encode`]
    /// or [`encode_pairs`], possibly on another thread): sequence `i` belongs to pair
    /// `owners[i]` (< `pairs`), and a pair with several sequences gets their element-wise max.
    /// Every pair needs at least one sequence.
    pub fn logits_encoded(
        &self,
        sequences: &[Encoded],
        owners: &[usize],
        pairs: usize,
    ) -> Result<Vec<Vec<f32>>> {
        if owners.len() != sequences.len() || owners.iter().any(|&owner| owner >= pairs) {
            return Err(ModelError::Invalid(format!(
                "{} sequences need as many owners below {pairs} (got {})",
                sequences.len(),
                owners.len()
            )));
        }
        let shape = crate::inference::ActivationShape::of(&self.config);
        let rows = self
            .run
            .run(sequences, shape, &self.device, "scoring", |batch| {
                self.model.forward(batch)
            });
        let mut out: Vec<Option<Vec<f32>>> = vec![None; pairs];
        for (row, &owner) in rows.into_iter().zip(owners) {
            out[owner] = Some(match out[owner].take() {
                None => row,
                Some(best) => best.iter().zip(&row).map(|(a, b)| a.max(*b)).collect(),
            });
        }
        out.into_iter()
            .enumerate()
            .map(|(pair, row)| {
                row.ok_or_else(|| ModelError::Invalid(format!("pair {pair} has no sequence")))
            })
            .collect()
    }

    /// One relevance score per pair (the activation applied to the single logit).
    pub fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        let labels = self.model.num_labels();
        if labels != 1 {
            return Err(ModelError::Invalid(format!(
                "this cross-encoder has {labels} labels; relevance scores need exactly 1 (use logits)"
            )));
        }
        let logits = self.logits(pairs)?;
        Ok(logits
            .into_iter()
            .map(|row| self.activation.apply(row[0]))
            .collect())
    }

    /// Saves as an HF directory (transformers / sentence-transformers load it unchanged).
    pub fn save(&self, out: &Path) -> Result<()> {
        hf::save_cross_encoder(
            &self.model,
            &self.config,
            &self.source_dir,
            self.tokenizer.max_length(),
            out,
        )
    }
}

/// The sequences a cross-encoder runs for a list of pairs, with what the window cap left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PairSequences {
    pub sequences: Vec<Encoded>,
    /// For each sequence, the pair it belongs to.
    pub owners: Vec<usize>,
    /// Pairs whose document needed more than `max_windows` windows (max-chunk): they are scored
    /// on their first `max_windows` windows.
    pub capped_documents: usize,
    /// The largest of those documents: (pair, its tokens, windows it would need).
    pub largest_capped: Option<(usize, usize, usize)>,
    /// The cap that applied.
    pub max_windows: usize,
}

/// Whether a capped document was reported on stderr in this process.
static CAP_REPORTED: AtomicBool = AtomicBool::new(false);

impl PairSequences {
    /// The warning for documents the cap cut short, if any.
    pub fn cap_warning(&self) -> Option<String> {
        let (pair, tokens, needed) = self.largest_capped?;
        Some(format!(
            "warning: max-chunk: {} document(s) need more than {} windows and are scored on their \
             first {} only (e.g. pair {pair}: {tokens} tokens, {needed} windows); raise the cap \
             with --chunk-max-windows (LongDocSettings::max_windows). Further capped documents \
             are counted, not reported.",
            self.capped_documents, self.max_windows, self.max_windows
        ))
    }

    /// Prints [`Self::cap_warning`] to stderr the first time a document is capped in this
    /// process.
    pub fn warn_once(&self) {
        if let Some(line) = self.cap_warning() {
            if !CAP_REPORTED.swap(true, Ordering::Relaxed) {
                eprintln!("{line}");
            }
        }
    }
}

/// The sequences a cross-encoder runs for `pairs` under `long_doc`, and for each sequence the
/// pair it belongs to: one sequence per pair when truncating, one per window with max-chunk (at
/// most [`DEFAULT_MAX_WINDOWS`] per document; a document cut short by that cap is reported on
/// stderr the first time). What [`CrossEncoder::encode`] does, callable without the model (e.g.
/// on a tokenization thread); [`encode_pairs_capped`] sets the cap and returns the count.
pub fn encode_pairs(
    tokenizer: &TextTokenizer,
    long_doc: LongDocMode,
    pairs: &[(&str, &str)],
) -> Result<(Vec<Encoded>, Vec<usize>)> {
    let encoded = encode_pairs_capped(tokenizer, long_doc, DEFAULT_MAX_WINDOWS, pairs)?;
    encoded.warn_once();
    Ok((encoded.sequences, encoded.owners))
}

/// [`encode_pairs`] with at most `max_windows` windows per document under max-chunk (the first
/// ones), saying how many documents the cap cut short. Prints nothing.
pub fn encode_pairs_capped(
    tokenizer: &TextTokenizer,
    long_doc: LongDocMode,
    max_windows: usize,
    pairs: &[(&str, &str)],
) -> Result<PairSequences> {
    match long_doc {
        LongDocMode::Truncate => Ok(PairSequences {
            sequences: tokenizer.encode_pairs(pairs)?,
            owners: (0..pairs.len()).collect(),
            max_windows,
            ..Default::default()
        }),
        LongDocMode::MaxChunk { window, stride } => {
            let mut out = PairSequences {
                max_windows,
                ..Default::default()
            };
            for (index, (query, doc)) in pairs.iter().enumerate() {
                let windows =
                    tokenizer.encode_pair_windows(query, doc, window, stride, max_windows)?;
                if windows.capped() {
                    out.capped_documents += 1;
                    let needed = windows.sequences.len() + windows.dropped_windows;
                    if out
                        .largest_capped
                        .is_none_or(|(_, tokens, _)| windows.document_tokens > tokens)
                    {
                        out.largest_capped = Some((index, windows.document_tokens, needed));
                    }
                }
                out.owners
                    .extend(std::iter::repeat_n(index, windows.sequences.len()));
                out.sequences.extend(windows.sequences);
            }
            Ok(out)
        }
    }
}
