//! ColBERT late interaction (Khattab & Zaharia, SIGIR 2020): an encoder (BERT family or
//! ModernBERT), a linear projection without bias to `dim`, and L2 normalisation of every
//! token's vector; a query's score against a document is MaxSim ([`maxsim`]): for each query
//! vector, its best dot product with a document vector, summed.
//!
//! - [`ColBertModel`]: the trainable module (`bert`, a [`ColBertEncoder`] of the config's
//!   family, + `projection`), fed a [`ColBertBatch`]
//!   ([`collate_colbert`]); [`maxsim_scores`] gives PyLate's differentiable training scores
//!   for the losses in `rankforge_losses::{colbert_contrastive, colbert_distillation}`.
//! - [`ColBertSettings`]: prefixes, lengths, expansion, skiplist (PyLate's
//!   `config_sentence_transformers.json` or Stanford's `artifact.metadata`).
//! - [`ColBertTokenizer`]: tokenization exactly as PyLate's (prefix after `[CLS]`, `[MASK]`
//!   query expansion, truncation, skiplist).
//! - [`ColBert`]: model + tokenizer + settings, loaded from either format
//!   ([`ColBert::load`]), encoding queries and documents in batches through the crate's
//!   inference planning, and saved in PyLate's format ([`ColBert::save`]); a new one on a
//!   plain encoder with [`ColBert::from_encoder`], which adds prefixes that are not vocabulary
//!   tokens (PyLate's `[Q] ` / `[D] `) to the tokenizer and grows the word embedding as PyLate
//!   does; [`ColBert::load_for_inference`] adds the
//!   run options, precision and document length the commands take.
//! - [`ColBertIndex`]: exact MaxSim retrieval over a whole corpus (`retrieve --method colbert`).
//! - [`write_token_vectors`] / [`read_token_vectors`]: the binary multi-vector file of
//!   `embed --multi-vector` (layout in [`vectors_file`]).
//! - Reranking with a ColBERT (document vectors encoded once per run) is
//!   [`crate::reranker`]'s.

mod index;
mod io;
mod resize;
mod score;
mod settings;
mod tokenize;
pub mod vectors_file;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};

pub use index::ColBertIndex;
pub use io::ColBertFormat;
pub use score::{maxsim, maxsim_group_scores, maxsim_many, maxsim_scores, TokenVectors};
pub use settings::{ColBertSettings, PUNCTUATION};
pub use tokenize::{ColBertEncoded, ColBertTokenizer};
pub use vectors_file::{read_token_vectors, write_token_vectors};

use crate::architecture::PositionScheme;
use crate::bert::{BertInput, BertModel};
use crate::encoder_config::EncoderConfig;
use crate::error::Result;
use crate::inference::{plan_batches, ActivationShape, TensorLimit};
use crate::layers::{AttentionMasks, Linear};
use crate::modernbert::ModernBertModel;
use crate::run_options::{progress_bar, RunOptions};

/// A ColBERT's encoder body, of the config's family. burn sees the variant as one more level of
/// the module tree, which the trainer's parameter paths and the ColBERT stores skip (as for
/// [`crate::CrossEncoderModel`]), so a BERT-family body's parameters keep their `bert.…`
/// paths. (One model lives for a whole run and is never moved in a loop, so the variants' size
/// difference costs nothing worth a box.)
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum ColBertEncoder<B: Backend> {
    /// BERT, XLM-RoBERTa or ELECTRA.
    Bert(BertModel<B>),
    /// ModernBERT (e.g. GTE-ModernColBERT): no token types, rotary positions.
    ModernBert(ModernBertModel<B>),
}

impl<B: Backend> ColBertEncoder<B> {
    /// A randomly initialised body of the config's family (`with_pooler`: BERT's pooler, kept
    /// only to load and save it back).
    pub fn new(config: &EncoderConfig, with_pooler: bool, device: &B::Device) -> Self {
        match config {
            EncoderConfig::Bert(c) => ColBertEncoder::Bert(BertModel::new(c, with_pooler, device)),
            EncoderConfig::ModernBert(c) => {
                ColBertEncoder::ModernBert(ModernBertModel::new(c, device))
            }
        }
    }

    /// The BERT-family body, if this is one.
    pub fn as_bert(&self) -> Option<&BertModel<B>> {
        match self {
            ColBertEncoder::Bert(m) => Some(m),
            ColBertEncoder::ModernBert(_) => None,
        }
    }

    pub fn as_bert_mut(&mut self) -> Option<&mut BertModel<B>> {
        match self {
            ColBertEncoder::Bert(m) => Some(m),
            ColBertEncoder::ModernBert(_) => None,
        }
    }

    /// The ModernBERT body, if this is one.
    pub fn as_modernbert(&self) -> Option<&ModernBertModel<B>> {
        match self {
            ColBertEncoder::ModernBert(m) => Some(m),
            ColBertEncoder::Bert(_) => None,
        }
    }

    pub fn as_modernbert_mut(&mut self) -> Option<&mut ModernBertModel<B>> {
        match self {
            ColBertEncoder::ModernBert(m) => Some(m),
            ColBertEncoder::Bert(_) => None,
        }
    }

    fn word_embeddings(&self) -> &burn::nn::Embedding<B> {
        match self {
            ColBertEncoder::Bert(m) => &m.embeddings.word_embeddings,
            ColBertEncoder::ModernBert(m) => &m.embeddings.tok_embeddings,
        }
    }

    fn word_embeddings_mut(&mut self) -> &mut burn::nn::Embedding<B> {
        match self {
            ColBertEncoder::Bert(m) => &mut m.embeddings.word_embeddings,
            ColBertEncoder::ModernBert(m) => &mut m.embeddings.tok_embeddings,
        }
    }
}

/// The trainable part: the encoder (under `bert.` whatever its family, as the other model kinds
/// keep it) and the projection to `dim` (no bias).
#[derive(Module, Debug)]
pub struct ColBertModel<B: Backend> {
    pub bert: ColBertEncoder<B>,
    /// `[hidden, dim]`, no bias.
    pub projection: Linear<B>,
    /// The body's position ids (XLM-RoBERTa's count past `padding_idx`, see
    /// [`ColBertModel::forward`]).
    #[module(skip)]
    positions: PositionScheme,
}

/// One padded batch of ColBERT sequences ([`collate_colbert`]).
#[derive(Debug, Clone)]
pub struct ColBertBatch<B: Backend> {
    /// Ids, token types (0) and the attention mask: `padding_mask` is `true` at batch padding
    /// and at query expansion tokens that are not attended to.
    pub input: BertInput<B>,
    /// `[batch, seq]`, `true` at batch padding only: expansion tokens are real tokens for
    /// position ids, as in transformers, where positions come from the ids alone.
    pub padding: Tensor<B, 2, Bool>,
}

impl<B: Backend> ColBertModel<B> {
    /// A randomly initialised model of the config's body (weights are normally loaded over
    /// it); `with_pooler` keeps a BERT pooler (loaded and saved back, not used).
    pub fn new(config: &EncoderConfig, dim: usize, with_pooler: bool, device: &B::Device) -> Self {
        Self {
            bert: ColBertEncoder::new(config, with_pooler, device),
            projection: Linear::new_with_bias(config.hidden_size(), dim, false, device),
            positions: config
                .as_bert()
                .map_or(PositionScheme::FromZero, |c| c.position_scheme()),
        }
    }

    /// Width of the output vectors.
    pub fn dim(&self) -> usize {
        self.projection.d_out()
    }

    /// The word embedding table `[vocab, width]` (BERT's `word_embeddings`, ModernBERT's
    /// `tok_embeddings`).
    pub fn word_embeddings(&self) -> Tensor<B, 2> {
        self.bert.word_embeddings().weight.val()
    }

    /// Replaces the word embedding table (`[rows, width]`, any number of rows: the config's
    /// `vocab_size` is the caller's to keep in step).
    ///
    /// The table becomes a new leaf parameter (detached from whatever computed it), so this
    /// works on autodiff backends too, where a trainer grows the table before training.
    pub fn set_word_embeddings(&mut self, table: Tensor<B, 2>) {
        self.bert.word_embeddings_mut().weight = burn::module::Param::from_tensor(table.detach());
    }

    /// Unit-length vectors `[batch, seq, dim]` of every position (padding included: callers
    /// pick the rows they score).
    ///
    /// ModernBERT takes no token types and places its rotary positions by index (`0..seq`),
    /// expansion tokens included, as transformers does; unattended expansion tokens are masked
    /// as keys in its global and local (sliding window) layers alike.
    pub fn forward(&self, batch: ColBertBatch<B>) -> Tensor<B, 3> {
        let hidden = match (&self.bert, self.positions) {
            (ColBertEncoder::ModernBert(m), _) => m.forward(batch.input),
            (ColBertEncoder::Bert(bert), PositionScheme::FromZero) => bert.forward(batch.input),
            (ColBertEncoder::Bert(bert), PositionScheme::AfterPadding { padding_idx }) => {
                Self::encode_counting_positions(bert, batch, padding_idx)
            }
        };
        l2_normalize_tokens(self.projection.forward(hidden))
    }

    /// The encoder with fairseq position ids (XLM-RoBERTa) counted over every token that is
    /// not batch padding. [`BertModel::forward`] derives positions from its attention mask,
    /// which would put the query's unattended `[MASK]` expansion tokens at `padding_idx`;
    /// transformers counts them (their id is not the padding id), so this runs the same
    /// embeddings and layers with the positions taken from the batch padding alone.
    fn encode_counting_positions(
        bert: &BertModel<B>,
        batch: ColBertBatch<B>,
        padding_idx: usize,
    ) -> Tensor<B, 3> {
        let ColBertBatch { input, padding } = batch;
        let embeddings = &bert.embeddings;
        let counted = padding
            .bool_not()
            .bool_and(input.input_ids.clone().not_equal_elem(padding_idx as i64))
            .int();
        let positions = counted.clone().cumsum(1) * counted + padding_idx as i64;
        let x = embeddings.word_embeddings.forward(input.input_ids)
            + embeddings
                .token_type_embeddings
                .forward(input.token_type_ids)
            + embeddings.position_embeddings.forward(positions);
        let mut x = embeddings.dropout.forward(embeddings.layer_norm.forward(x));
        if let Some(project) = &bert.embeddings_project {
            x = project.forward(x);
        }
        let masks = AttentionMasks::new(input.padding_mask);
        for layer in &bert.encoder.layer {
            let attended = layer.attention.self_attn.forward(x.clone(), &masks);
            x = layer.attention.output.forward(attended, x);
            let inner = layer.intermediate.forward(x.clone());
            x = layer.output.forward(inner, x);
        }
        x
    }
}

/// `x / max(‖x‖₂, 1e-12)` along the last axis (`torch.nn.functional.normalize`, as PyLate
/// normalises token vectors).
pub fn l2_normalize_tokens<B: Backend>(x: Tensor<B, 3>) -> Tensor<B, 3> {
    let norms = x.clone().powi_scalar(2).sum_dim(2).sqrt().clamp_min(1e-12);
    x / norms
}

/// Tokenized ColBERT sequences padded to the longest: padding and positions not attended to
/// (query expansion) are masked as keys; token types are 0.
pub fn collate_colbert<B: Backend>(
    items: &[&ColBertEncoded],
    device: &B::Device,
) -> ColBertBatch<B> {
    let batch = items.len();
    let seq = items.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![0i64; batch * seq];
    let mut masked = vec![true; batch * seq];
    let mut padding = vec![true; batch * seq];
    for (row, item) in items.iter().enumerate() {
        for (col, (&id, &attend)) in item.ids.iter().zip(&item.attention).enumerate() {
            ids[row * seq + col] = id as i64;
            masked[row * seq + col] = !attend;
            padding[row * seq + col] = false;
        }
    }
    let mask = |values: Vec<bool>| {
        Tensor::<B, 2, Bool>::from_data(TensorData::new(values, [batch, seq]), device)
    };
    ColBertBatch {
        input: BertInput {
            input_ids: Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [batch, seq]), device),
            token_type_ids: Tensor::<B, 2, Int>::zeros([batch, seq], device),
            padding_mask: mask(masked),
        },
        padding: mask(padding),
    }
}

/// A ColBERT model ready to encode and score.
#[derive(Debug)]
pub struct ColBert<B: Backend> {
    pub model: ColBertModel<B>,
    /// The encoder's config (BERT family or ModernBERT).
    pub config: EncoderConfig,
    pub tokenizer: ColBertTokenizer,
    pub device: B::Device,
    pub run: RunOptions,
    /// The directory loaded (its tokenizer files are copied when saving).
    pub source_dir: PathBuf,
    pub format: ColBertFormat,
    /// Documents encoded so far ([`Self::documents_encoded`]).
    encoded_documents: AtomicUsize,
}

impl<B: Backend> ColBert<B> {
    pub fn settings(&self) -> &ColBertSettings {
        self.tokenizer.settings()
    }

    /// The tokens [`Self::from_encoder`] added to the tokenizer (PyLate's prefixes that were
    /// not vocabulary tokens), with their ids; empty for a loaded model.
    pub fn added_tokens(&self) -> &[(String, u32)] {
        self.tokenizer.added_tokens()
    }

    /// Every token's vector of each sequence (`len × dim`), in input order: length-sorted
    /// batches under the run options' batch size and token budget (and the backend's tensor
    /// limit), as [`crate::inference::run_batched`] plans them, forward without autodiff.
    pub fn encode_tokenized(
        &self,
        sequences: &[ColBertEncoded],
        message: &str,
    ) -> Vec<TokenVectors> {
        let dim = self.model.dim();
        let lengths: Vec<usize> = sequences.iter().map(ColBertEncoded::len).collect();
        let limit = rankforge_kernels::backend::max_tensor_bytes::<B>().map(|bytes| TensorLimit {
            shape: ActivationShape::of(&self.config),
            max_values: bytes / std::mem::size_of::<f32>(),
        });
        let bar = progress_bar(
            sequences.len(),
            self.run.progress && sequences.len() > 256,
            message,
        );
        let mut out = vec![TokenVectors::new(dim, Vec::new()); sequences.len()];
        for batch in plan_batches(&lengths, &self.run.batching, limit) {
            let items: Vec<&ColBertEncoded> = batch.iter().map(|&i| &sequences[i]).collect();
            let vectors = self.model.forward(collate_colbert(&items, &self.device));
            let [_, seq, _] = vectors.dims();
            let values: Vec<f32> = vectors
                .into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .expect("model output converts to f32");
            for (row, &index) in batch.iter().enumerate() {
                let start = row * seq * dim;
                out[index] =
                    TokenVectors::new(dim, values[start..start + lengths[index] * dim].to_vec());
            }
            if let Some(bar) = &bar {
                bar.inc(batch.len() as u64);
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        out
    }

    /// A ColBERT of `model` with the tokenizer, encoder config and files (`source_dir`: its
    /// tokenizer files are copied when saving) of another: how the trainer evaluates and saves
    /// the weights it updates (`model.valid()` around the parts of the model it started from).
    pub fn from_parts(
        model: ColBertModel<B>,
        config: impl Into<EncoderConfig>,
        tokenizer: ColBertTokenizer,
        source_dir: &Path,
        format: ColBertFormat,
        device: B::Device,
    ) -> Self {
        Self {
            model,
            config: config.into(),
            tokenizer,
            device,
            run: RunOptions::default(),
            source_dir: source_dir.to_path_buf(),
            format,
            encoded_documents: Default::default(),
        }
    }

    /// Documents [`Self::encode_documents`] has encoded since this model was loaded (how the
    /// rerank path's document cache is checked: one encoding per distinct document of a run).
    pub fn documents_encoded(&self) -> usize {
        self.encoded_documents.load(Ordering::Relaxed)
    }

    /// The scored vectors of each query (with expansion: all `query_length` of them).
    pub fn encode_queries(&self, texts: &[&str]) -> Result<Vec<TokenVectors>> {
        let sequences = self.tokenizer.encode_queries(texts)?;
        Ok(self.scored_vectors(&sequences, "queries"))
    }

    /// The scored vectors of each document (skiplist tokens left out), as PyLate's `encode`
    /// returns them.
    pub fn encode_documents(&self, texts: &[&str]) -> Result<Vec<TokenVectors>> {
        let sequences = self.tokenizer.encode_documents(texts)?;
        self.encoded_documents
            .fetch_add(texts.len(), Ordering::Relaxed);
        Ok(self.scored_vectors(&sequences, "documents"))
    }

    /// The scored vectors of sequences tokenized beforehand (by [`ColBertTokenizer`], possibly
    /// on another thread, as the server does), queries and documents alike, in input order.
    pub fn encode_scored(&self, sequences: &[ColBertEncoded]) -> Vec<TokenVectors> {
        self.scored_vectors(sequences, "encoding")
    }

    fn scored_vectors(&self, sequences: &[ColBertEncoded], message: &str) -> Vec<TokenVectors> {
        self.encode_tokenized(sequences, message)
            .into_iter()
            .zip(sequences)
            .map(|(vectors, sequence)| vectors.select(&sequence.scored))
            .collect()
    }

    /// MaxSim of `query` against each of `documents`.
    pub fn score(&self, query: &str, documents: &[&str]) -> Result<Vec<f32>> {
        let query = self.encode_queries(&[query])?.remove(0);
        let documents = self.encode_documents(documents)?;
        let refs: Vec<&TokenVectors> = documents.iter().collect();
        Ok(maxsim_many::<B>(&query, &refs, &self.device))
    }

    /// Loads a PyLate or Stanford ColBERT directory (see [`ColBertFormat::detect`]).
    pub fn load(dir: impl AsRef<Path>, device: &B::Device) -> Result<(Self, crate::LoadReport)> {
        io::load(dir.as_ref(), device)
    }

    /// Whether `dir` is a ColBERT directory, and of which format ([`ColBertFormat::recognise`]).
    pub fn recognise(dir: impl AsRef<Path>) -> Option<ColBertFormat> {
        ColBertFormat::recognise(dir.as_ref())
    }

    /// [`Self::load`], then what the commands set: `run` (batching, progress), `precision` (the
    /// weights cast once, as the cross-encoder builder does) and, when given, a
    /// `document_length` over the saved one (documents are cut at it; queries keep
    /// `query_length`). The report's `max_length` names the document length and its source.
    pub fn load_for_inference(
        dir: impl AsRef<Path>,
        device: &B::Device,
        run: RunOptions,
        precision: rankforge_kernels::precision::Precision,
        document_length: Option<usize>,
    ) -> Result<(Self, crate::LoadReport)> {
        let dir = dir.as_ref();
        precision
            .check_backend::<B>()
            .map_err(crate::error::ModelError::Invalid)?;
        let (mut colbert, mut report) = Self::load(dir, device)?;
        let source = match document_length {
            Some(length) => {
                let positions = colbert.config.max_positions();
                if !(9..=positions).contains(&length) {
                    return Err(crate::error::ModelError::Invalid(format!(
                        "ColBERT document length {length}: between 9 and the model's \
                         {positions} positions"
                    )));
                }
                let mut settings = colbert.settings().clone();
                settings.document_length = length;
                colbert.tokenizer = ColBertTokenizer::from_dir(dir, &settings)?;
                "ColBERT document length, set at load"
            }
            None => "ColBERT document_length of the saved settings",
        };
        report.max_length = Some((colbert.settings().document_length, source.to_string()));
        colbert.model = rankforge_kernels::precision::cast_module(colbert.model, precision);
        colbert.run = run;
        Ok((colbert, report))
    }

    /// A new ColBERT on a plain encoder directory of the BERT family or ModernBERT (a
    /// transformers checkpoint, a sentence-transformers bi-encoder, or a cross-encoder's
    /// encoder), as
    /// `pylate.models.ColBERT(dir)` makes one from a base model: the encoder's weights and a
    /// projection to `dim` without bias drawn with `seed` from `U(−1/√hidden, 1/√hidden)`
    /// (`torch.nn.Linear`'s default range). `settings` are those the model will be saved with.
    ///
    /// The prefixes are given to the tokenizer as PyLate does: the word embedding is first
    /// resized to the tokenizer's length (added tokens included), the non-empty prefixes are
    /// added as plain added tokens (not special, normalized; one already in the vocabulary
    /// keeps its id), and the embedding is resized again, so that a prefix that is not a
    /// vocabulary token (PyLate's default `[Q] ` / `[D] `) gets the next id and a new row.
    /// New rows are transformers' `mean_resizing` ones: the old rows' mean plus noise from
    /// `N(0, 1e-9·Σ)` (their covariance) drawn with `seed` after the projection (PyLate draws
    /// it from torch's generator), or the mean alone when `1e-9·Σ` is not positive definite
    /// (see `resize.rs`). [`Self::added_tokens`] lists what was added; the grown tokenizer is
    /// held by [`ColBertTokenizer`] (rebuild it with [`ColBertTokenizer::with_settings`], not
    /// from `source_dir`), and [`Self::save`] writes it, which PyLate and transformers load
    /// back with the same ids.
    pub fn from_encoder(
        dir: impl AsRef<Path>,
        dim: usize,
        seed: u64,
        settings: &ColBertSettings,
        device: &B::Device,
    ) -> Result<(Self, crate::LoadReport)> {
        io::from_encoder(dir.as_ref(), dim, seed, settings, device)
    }

    /// Saves in PyLate's format, which `pylate.models.ColBERT(out)` loads unchanged.
    pub fn save(&self, out: &Path) -> Result<()> {
        io::save_pylate(
            &self.model,
            &self.config,
            self.settings(),
            &self.source_dir,
            self.tokenizer.files_to_save(),
            out,
        )
    }
}
