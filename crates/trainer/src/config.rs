//! The run config: one TOML file per run, every table and field documented here, defaults
//! chosen for fine-tuning a MiniLM-sized model, unknown keys rejected by name.
//!
//! ```toml
//! [run]
//! output_dir = "runs/quickstart"
//! seed = 42
//!
//! [model]
//! kind = "cross_encoder"
//! base = ".cache/models/all-MiniLM-L6-v2"
//! max_length = 256
//!
//! [data]
//! dir = "data/sample"
//!
//! [train]
//! epochs = 1
//! batch_size = 4
//! learning_rate = 2e-5
//!
//! [eval]
//! every_steps = 50
//!
//! [loss]
//! loss = "listnet"
//! ```
//!
//! `[data] train_file = "train.parquet"` trains on a training file instead (sentence-transformers
//! or FlagEmbedding layouts, streamed: see [`DataSection`] and [`crate::stream`]); `dir` then
//! only supplies the dev evaluation and may be left out.
//!
//! Relative paths are resolved against the working directory `rankforge train` runs in (the
//! repository root for the shipped configs).

use std::path::{Path, PathBuf};

use rankforge_data::{TableFormat, TrainingColumns};
use rankforge_losses::LossConfig;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Everything a training run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Where the run writes and how it is seeded.
    pub run: RunSection,
    /// The model to train.
    pub model: ModelSection,
    /// Training and dev data.
    pub data: DataSection,
    /// Optimisation.
    #[serde(default)]
    pub train: TrainSection,
    /// Dev evaluation, best-model selection, early stopping.
    #[serde(default)]
    pub eval: EvalSection,
    /// Checkpoint cadence.
    #[serde(default)]
    pub checkpoint: CheckpointSection,
    /// The training loss, deserialised straight into [`rankforge_losses::LossConfig`]
    /// (`loss = "listnet"`, `"lambda_loss"`, `"bce"`, `"margin_mse"`, ...).
    pub loss: LossConfig,
    /// Bi-encoders and ColBERT: teacher-score distillation.
    #[serde(default)]
    pub distill: Option<DistillSection>,
    /// ColBERT only: the settings of a new ColBERT, or lengths over a ColBERT base's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colbert: Option<ColBertSection>,
    /// Generative rerankers (T5) only: the prompt, the score tokens and the objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generative: Option<GenerativeSection>,
}

/// `[run]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    /// Output directory: models, checkpoint, metrics, plots, model card.
    pub output_dir: PathBuf,
    /// Seed of the data order, negative sampling, new heads and dropout. Default: 42.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Precision of the forward/backward pass. `"f32"` (default); `"bf16"` / `"f16"`: mixed
    /// precision with f32 master weights and AdamW state, the forward and backward in the half
    /// type, losses and the gradient norm in f32; dev evaluation in f32. Meant for GPUs (on the
    /// CPU backend half precision is slower than f32).
    #[serde(default)]
    pub precision: Precision,
}

fn default_seed() -> u64 {
    42
}

/// Numeric precision of the forward/backward pass (`f32`, `bf16`, `f16`).
pub use rankforge_model::Precision;

/// Which model family is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// `[CLS] q [SEP] d [SEP]` → logit; trained on groups (1 positive + n negatives).
    CrossEncoder,
    /// Separate query/document embeddings; in-batch contrastive and/or distillation.
    BiEncoder,
    /// Late interaction: per-token vectors scored by MaxSim; PyLate's contrastive or
    /// distillation loss (or any group loss). Saved in PyLate's format.
    Colbert,
    /// A T5 encoder–decoder scoring by its first decoded token (monoT5, RankT5); `[generative]`
    /// sets the prompt, score tokens and objective. Saved as a `T5ForConditionalGeneration`.
    Generative,
}

/// What a generative reranker's training optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenerativeObjective {
    /// castorini's monoT5: the target word (`true_token` for a positive, `false_token` for a
    /// negative) as the first decoder token, cross-entropy over the whole vocabulary at that
    /// step, pointwise over every document of the group (mean over them). Takes `loss = "bce"`
    /// (the pointwise loss it stands for; its options are not read).
    #[default]
    Lm,
    /// RankT5: the configured ranking loss (`listnet`, `lambda_loss`, `bce`, ...) on the raw
    /// score (`logit(true) − logit(false)`, or `logit(true)` alone without a false token).
    Score,
}

/// `[generative]`: the prompt, score tokens and objective of a generative reranker run.
/// Defaults: castorini's monoT5 (`template = "mono"`, `▁true` / `▁false`, `objective = "lm"`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerativeSection {
    /// `"mono"` (`Query: {q} Document: {d} Relevant:`) or `"rank"` (RankT5: no `Relevant:`,
    /// `<extra_id_10>` alone unless the tokens are given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<rankforge_model::t5::PromptTemplate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub true_token: Option<String>,
    /// `"none"`: no false token (the raw score is the true token's logit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_token: Option<String>,
    pub objective: GenerativeObjective,
}

impl GenerativeSection {
    /// The scoring settings these keys give (castorini's monoT5 when none is set).
    pub fn settings(&self) -> rankforge_model::t5::GenerativeSettings {
        rankforge_model::t5::GenerativeSettings::from_parts(
            self.template,
            self.true_token.as_deref(),
            self.false_token.as_deref(),
        )
        .unwrap_or_default()
    }
}

/// Output width of a new ColBERT's projection when `[colbert] dim` is unset (ColBERTv2's and
/// PyLate's default).
pub const DEFAULT_COLBERT_DIM: usize = 128;

/// `[colbert]`: how a new ColBERT is made from a plain BERT-family `model.base` (as PyLate
/// makes one: a projection without bias drawn with the run's seed, marker tokens added to the
/// vocabulary when missing). Over a base that is already a ColBERT (PyLate or Stanford
/// directory) only the lengths may be given; the rest is the model's own.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColBertSection {
    /// Width of the token vectors. Default: 128.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    /// Query tokens (with `[MASK]` expansion up to it). Default: 32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_length: Option<usize>,
    /// Document tokens at most. Default: 180.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_length: Option<usize>,
    /// Marker after `[CLS]` in queries. Default: `"[Q] "` (PyLate's; `"[unused0]"` as Stanford
    /// ColBERT, which needs no new token in BERT vocabularies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_prefix: Option<String>,
    /// Marker after `[CLS]` in documents. Default: `"[D] "` (Stanford: `"[unused1]"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_prefix: Option<String>,
    /// Whether the encoder attends to the query's `[MASK]` expansion tokens. Default: false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attend_to_expansion_tokens: Option<bool>,
}

impl ColBertSection {
    /// Over a ColBERT base, fails naming the keys that only a new model takes.
    pub fn check_continuing(&self, base: &Path) -> Result<()> {
        let fixed: Vec<&str> = [
            ("dim", self.dim.is_some()),
            ("query_prefix", self.query_prefix.is_some()),
            ("document_prefix", self.document_prefix.is_some()),
            (
                "attend_to_expansion_tokens",
                self.attend_to_expansion_tokens.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect();
        if fixed.is_empty() {
            return Ok(());
        }
        Err(TrainError::Other(format!(
            "{} is already a ColBERT: its {} are its own (only [colbert] query_length and \
             document_length may change); remove {} from [colbert]",
            base.display(),
            fixed.join(", "),
            fixed.join(", ")
        )))
    }
}

/// `[model]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// `cross_encoder`, `bi_encoder`, `colbert` or `generative` (T5).
    pub kind: ModelKind,
    /// HF model directory to start from. A checkpoint without a classifier gets a new head
    /// drawn from N(0, initializer_range²) with the run's seed.
    pub base: PathBuf,
    /// Tokens per sequence (pair for cross-encoders) at most, in training and in the dev
    /// evaluation; the saved model records it, so every command that loads the result runs at
    /// it. Default: the length `base` was saved with, as every loader reads it (cross-encoders:
    /// `tokenizer_config.json` `model_max_length`; bi-encoders: `sentence_bert_config.json`
    /// `max_seq_length`), capped by its position table; a run continuing from a rankforge
    /// model therefore keeps that model's length. ColBERT takes `[colbert] query_length` /
    /// `document_length` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
}

/// `[data]`: a BEIR directory (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`) whose
/// training split is mined for BM25 negatives, or a training file (`train_file`: the
/// sentence-transformers and FlagEmbedding layouts, jsonl / csv / tsv / parquet / Arrow IPC)
/// streamed in bounded memory, with the BEIR directory then only for the dev evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// The BEIR directory. Required unless `train_file` is set; with `train_file` it only
    /// supplies the dev evaluation (without it the run has none: no dev metrics, no `best/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// A training file: its records are trained on instead of groups mined from `dir`'s
    /// training split. Read in blocks of `block_rows` rows, shuffled within `shuffle_buffer`
    /// rows (seeded; a checkpoint records the row reached). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_file: Option<PathBuf>,
    /// Format of `train_file`: `jsonl`, `csv`, `tsv`, `parquet`, `ipc`, or `auto` (default:
    /// from the extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TableFormat>,
    /// The columns of `train_file` and its layout (`[data.columns]`: `layout = "auto"`
    /// (default: detected from the columns), `"triplets"`, `"pairs"`, `"lists"`, `"flag"`, and
    /// the name, or list of names tried in order, of each column: `query`, `positive`,
    /// `negative`, `document`, `label`, `score`, `documents`, `labels`, `pos`, `neg`,
    /// `pos_scores`, `neg_scores`, `prompt`). Default: sentence-transformers' and
    /// FlagEmbedding's names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<TrainingColumns>,
    /// `train_file` rows held in memory for shuffling: each epoch reads the file's blocks in a
    /// seeded order, `shuffle_buffer / block_rows` blocks at a time, and serves each such
    /// window's rows in a seeded shuffle. Must be at least `block_rows`. Default: 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_buffer: Option<usize>,
    /// `train_file` rows per block (the unit read from the file and shuffled between).
    /// Default: 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_rows: Option<usize>,
    /// Qrels split trained on (BEIR mining; not read with `train_file`). Default: `train`.
    #[serde(default = "default_train_split")]
    pub train_split: String,
    /// Qrels split evaluated on. Default: `dev`.
    #[serde(default = "default_dev_split")]
    pub dev_split: String,
    /// Negatives per training group (a group is 1 positive + this many negatives). A
    /// training-file record with more negatives gets a seeded sample of them each epoch, one
    /// with fewer is padded (padded entries are masked out of every loss). 0 with a training
    /// file: groups of one document, for pointwise losses (`bce`, `mse`) on labelled pairs.
    /// Default: 7.
    #[serde(default = "default_negatives")]
    pub negatives: usize,
    /// BM25 candidates mined per training query; judged documents are removed and the
    /// negatives of each group are sampled (seeded) from the rest. BEIR mining only (a
    /// training file's records bring their own negatives). Default: 30.
    #[serde(default = "default_negative_pool")]
    pub negative_pool: usize,
    /// Skip this many top BM25 candidates when mining (guards against unjudged positives).
    /// BEIR mining only. Default: 0.
    #[serde(default)]
    pub skip_top: usize,
    /// Use at most this many training queries (first in file order). Default: all.
    #[serde(default)]
    pub max_train_queries: Option<usize>,
    /// Evaluate on at most this many dev queries (first in file order). Default: all.
    #[serde(default)]
    pub max_dev_queries: Option<usize>,
}

/// `data.shuffle_buffer` when unset.
pub const DEFAULT_SHUFFLE_BUFFER: usize = 10_000;
/// `data.block_rows` when unset.
pub const DEFAULT_BLOCK_ROWS: usize = 1_000;

impl DataSection {
    /// `shuffle_buffer` or its default.
    pub fn shuffle_buffer(&self) -> usize {
        self.shuffle_buffer.unwrap_or(DEFAULT_SHUFFLE_BUFFER)
    }

    /// `block_rows` or its default.
    pub fn block_rows(&self) -> usize {
        self.block_rows.unwrap_or(DEFAULT_BLOCK_ROWS)
    }

    /// Range and consistency checks of `[data]`.
    fn validate(&self) -> std::result::Result<(), String> {
        if self.train_file.is_none() {
            if self.dir.is_none() {
                return Err(
                    "[data] needs `dir` (a BEIR directory) or `train_file` (a training file)"
                        .into(),
                );
            }
            for (key, set) in [
                ("format", self.format.is_some()),
                ("columns", self.columns.is_some()),
                ("shuffle_buffer", self.shuffle_buffer.is_some()),
                ("block_rows", self.block_rows.is_some()),
            ] {
                if set {
                    return Err(format!(
                        "data.{key} applies to data.train_file, which is not set"
                    ));
                }
            }
            if self.negative_pool < self.negatives {
                return Err(format!(
                    "data.negative_pool ({}) must be at least data.negatives ({})",
                    self.negative_pool, self.negatives
                ));
            }
            return Ok(());
        }
        if self.max_train_queries.is_some() {
            return Err(
                "data.max_train_queries limits BEIR mining; a run on data.train_file trains on                  the whole file (limit it with train.max_steps)"
                    .into(),
            );
        }
        if self.block_rows() == 0 {
            return Err("data.block_rows must be at least 1".into());
        }
        if self.shuffle_buffer() < self.block_rows() {
            return Err(format!(
                "data.shuffle_buffer ({}) must be at least data.block_rows ({}): the buffer \
                 holds whole blocks",
                self.shuffle_buffer(),
                self.block_rows()
            ));
        }
        Ok(())
    }
}

fn default_train_split() -> String {
    "train".into()
}
fn default_dev_split() -> String {
    "dev".into()
}
fn default_negatives() -> usize {
    7
}
fn default_negative_pool() -> usize {
    30
}

/// Learning-rate decay after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// Linear to zero at the last step (transformers' default).
    #[default]
    Linear,
    /// Half-cosine to zero at the last step.
    Cosine,
    /// Stay at the peak.
    Constant,
}

/// `[train]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Passes over the training groups. Default: 1.
    pub epochs: usize,
    /// Stop after this many optimizer steps (overrides `epochs`). Default: none.
    pub max_steps: Option<usize>,
    /// Groups (cross-encoder) or queries (bi-encoder) per micro-batch. Default: 4.
    pub batch_size: usize,
    /// Micro-batches whose gradients are summed into one optimizer step. Default: 1.
    pub grad_accum_steps: usize,
    /// Peak learning rate. Default: 2e-5.
    pub learning_rate: f64,
    /// Cross-encoders: the classification head (pooler + classifier) learns at
    /// `learning_rate × head_lr_multiplier`. A head that a bi-encoder or plain BERT checkpoint
    /// lacks starts at random with std 0.02 and, at the encoder's rate, needs thousands of
    /// steps to grow; a larger factor lets short runs learn. Default: 1.
    pub head_lr_multiplier: f64,
    /// Linear warmup as a fraction of all steps (ignored when `warmup_steps` is set).
    /// Default: 0.1.
    pub warmup_ratio: f64,
    /// Linear warmup in steps. Default: from `warmup_ratio`.
    pub warmup_steps: Option<usize>,
    /// Decay after warmup: `linear` (default), `cosine`, `constant`.
    pub schedule: ScheduleKind,
    /// AdamW decoupled weight decay; never applied to biases and LayerNorm weights.
    /// Default: 0.01.
    pub weight_decay: f64,
    /// Clip the global gradient L2 norm to this (0 = off). Default: 1.0.
    pub max_grad_norm: f64,
    /// AdamW β₁. Default: 0.9.
    pub adam_beta1: f64,
    /// AdamW β₂. Default: 0.999.
    pub adam_beta2: f64,
    /// AdamW ε. Default: 1e-8.
    pub adam_epsilon: f64,
    /// Log loss / lr / throughput to `metrics.jsonl` every this many steps. Default: 10.
    pub log_every_steps: usize,
    /// Bi-encoders: weight of the in-batch contrastive term added to a distillation loss
    /// (0 = off). Default: 0.
    pub in_batch_weight: f64,
    /// Bi-encoders: temperature-free scale of the in-batch InfoNCE term. Default: 20.
    pub in_batch_scale: f64,
}

impl Default for TrainSection {
    fn default() -> Self {
        Self {
            epochs: 1,
            max_steps: None,
            batch_size: 4,
            grad_accum_steps: 1,
            learning_rate: 2e-5,
            head_lr_multiplier: 1.0,
            warmup_ratio: 0.1,
            warmup_steps: None,
            schedule: ScheduleKind::Linear,
            weight_decay: 0.01,
            max_grad_norm: 1.0,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            log_every_steps: 10,
            in_batch_weight: 0.0,
            in_batch_scale: 20.0,
        }
    }
}

/// `[eval]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSection {
    /// Evaluate on the dev split every this many steps (0 = only before and after training).
    /// Default: 0.
    pub every_steps: usize,
    /// How the model is evaluated: `rerank` (default) orders each dev query's BM25 top
    /// `top_k`; `retrieve` (bi-encoders only) embeds the whole corpus and scores the model's
    /// own exact top `top_k` as a first stage, so Recall@k measures what it finds.
    pub mode: EvalMode,
    /// BM25 candidates reranked (or documents retrieved) per dev query. Default: 100.
    pub top_k: usize,
    /// Metrics reported (trec_eval names as `rankforge eval` parses them).
    /// Default: `["ndcg@10", "mrr@10"]`.
    pub metrics: Vec<String>,
    /// Metric that picks the best model (must be one of `metrics`). Default: `ndcg@10`.
    pub select: String,
    /// Stop after this many evaluations without improvement of `select`. Default: off.
    pub early_stopping_patience: Option<usize>,
    /// Sequences per inference forward pass. Default: 32.
    pub batch_size: usize,
    /// Evaluate the model before training (the "before" column). Turning it off saves one
    /// full dev pass on slow machines; the report then shows BM25 as the only baseline.
    /// Default: true.
    pub initial: bool,
}

impl Default for EvalSection {
    fn default() -> Self {
        Self {
            every_steps: 0,
            mode: EvalMode::Rerank,
            top_k: 100,
            metrics: vec!["ndcg@10".into(), "mrr@10".into()],
            select: "ndcg@10".into(),
            early_stopping_patience: None,
            batch_size: 32,
            initial: true,
        }
    }
}

/// What a dev evaluation measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalMode {
    /// Rerank the BM25 candidates (the second stage).
    #[default]
    Rerank,
    /// Dense retrieval over the whole corpus (a bi-encoder as the first stage).
    Retrieve,
}

/// `[checkpoint]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointSection {
    /// Write the resumable checkpoint every this many steps (0 = only at evaluations and the
    /// end). Default: 50.
    pub every_steps: usize,
}

impl Default for CheckpointSection {
    fn default() -> Self {
        Self { every_steps: 50 }
    }
}

/// `[distill]`: a bi-encoder or a ColBERT learns a cross-encoder teacher's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillSection {
    /// The teacher: an HF cross-encoder directory (e.g. the `best/` model of a
    /// cross-encoder run). Its scores come from the shared inference path (raw logits), for
    /// every training pair mined from `data.dir`, before training. Not with `data.train_file`,
    /// whose teacher scores come from the file (the table then only sets `student_scale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher: Option<PathBuf>,
    /// Bi-encoders: student scores are this × ⟨query, document⟩ (cosine for normalised
    /// models), so their spread can match the teacher's logits. Default: 20. Not applied to
    /// ColBERT's MaxSim (`colbert_distillation` min-max normalises the student's scores).
    #[serde(default = "default_student_scale")]
    pub student_scale: f64,
}

/// `[distill] student_scale` when unset (also without a `[distill]` table).
pub const DEFAULT_STUDENT_SCALE: f64 = 20.0;

fn default_student_scale() -> f64 {
    DEFAULT_STUDENT_SCALE
}

impl TrainConfig {
    /// Reads and validates a TOML config; every error names the file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|cause| TrainError::Io {
            path: path.into(),
            cause,
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses and validates config text; `path` only names the source in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let config: TrainConfig = toml::from_str(text).map_err(|e| TrainError::Config {
            path: path.into(),
            message: e.to_string(),
        })?;
        config.validate().map_err(|message| TrainError::Config {
            path: path.into(),
            message,
        })?;
        Ok(config)
    }

    /// Range and consistency checks that serde cannot express.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.run.precision == Precision::Int8 {
            return Err(
                "run.precision = \"int8\" is an inference precision (predict, rerank, \
                        serve, ...); training runs in f32, bf16 or f16"
                    .into(),
            );
        }
        let t = &self.train;
        if t.batch_size == 0 {
            return Err("train.batch_size must be at least 1".into());
        }
        if t.grad_accum_steps == 0 {
            return Err("train.grad_accum_steps must be at least 1".into());
        }
        if t.epochs == 0 && t.max_steps.is_none() {
            return Err("train.epochs must be at least 1 (or set train.max_steps)".into());
        }
        if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
            return Err("train.learning_rate must be a positive number".into());
        }
        if !(0.0..1.0).contains(&t.warmup_ratio) {
            return Err("train.warmup_ratio must lie in [0, 1)".into());
        }
        if !(t.head_lr_multiplier > 0.0 && t.head_lr_multiplier.is_finite()) {
            return Err("train.head_lr_multiplier must be a positive number".into());
        }
        if !(t.weight_decay >= 0.0 && t.max_grad_norm >= 0.0) {
            return Err("train.weight_decay and train.max_grad_norm must be ≥ 0".into());
        }
        if !((0.0..1.0).contains(&t.adam_beta1) && (0.0..1.0).contains(&t.adam_beta2)) {
            return Err("train.adam_beta1 and train.adam_beta2 must lie in [0, 1)".into());
        }
        if self.model.max_length.is_some_and(|n| n < 8) {
            return Err("model.max_length must be at least 8".into());
        }
        self.data.validate()?;
        if self.eval.top_k == 0 {
            return Err("eval.top_k must be at least 1".into());
        }
        if !self.eval.metrics.contains(&self.eval.select) {
            return Err(format!(
                "eval.select `{}` is not one of eval.metrics {:?}",
                self.eval.select, self.eval.metrics
            ));
        }
        rankforge_eval::parse_metrics(&self.eval.metrics.join(","))
            .map_err(|e| format!("eval.metrics: {e}"))?;
        self.loss.build().map_err(|e| format!("[loss]: {e}"))?;
        self.check_learnable()?;
        if self.colbert.is_some() && self.model.kind != ModelKind::Colbert {
            return Err("[colbert] applies to model.kind = \"colbert\" only".into());
        }
        if self.generative.is_some() && self.model.kind != ModelKind::Generative {
            return Err("[generative] applies to model.kind = \"generative\" only".into());
        }
        if self.loss.is_late_interaction() && self.model.kind != ModelKind::Colbert {
            return Err(format!(
                "loss `{}` scores a ColBERT's MaxSim: set model.kind = \"colbert\" or pick \
                 another loss",
                self.loss.name()
            ));
        }
        let needs_teacher = self
            .loss
            .inputs()
            .required
            .contains(&rankforge_losses::InputKind::TeacherScores);
        match self.model.kind {
            ModelKind::CrossEncoder => {
                if self.distill.is_some() {
                    return Err("[distill] applies to bi-encoders and ColBERT only".into());
                }
                if self.eval.mode == EvalMode::Retrieve {
                    return Err(
                        "eval.mode = \"retrieve\" applies to bi-encoders only (a cross-encoder \
                         cannot search a corpus); use \"rerank\""
                            .into(),
                    );
                }
                if self
                    .loss
                    .inputs()
                    .uses(rankforge_losses::InputKind::QueryEmbeddings)
                {
                    return Err(format!(
                        "loss `{}` needs embeddings; cross-encoders produce scores",
                        self.loss.name()
                    ));
                }
                if needs_teacher && self.data.train_file.is_none() {
                    return Err(format!(
                        "loss `{}` needs teacher scores; a cross-encoder trained on groups mined \
                         from data.dir uses labels (it distils only from the teacher scores of a \
                         data.train_file)",
                        self.loss.name()
                    ));
                }
            }
            ModelKind::Generative => self.validate_generative()?,
            ModelKind::BiEncoder | ModelKind::Colbert => {
                let teacher = self.distill.as_ref().and_then(|d| d.teacher.as_ref());
                if self.data.train_file.is_some() {
                    if teacher.is_some() {
                        return Err(
                            "[distill] teacher scores groups mined from data.dir; a run on \
                             data.train_file reads the teacher scores of the file (e.g. \
                             FlagEmbedding's pos_scores / neg_scores): remove `teacher`"
                                .into(),
                        );
                    }
                    // Whether the file carries teacher scores is checked when it is opened.
                } else if needs_teacher && teacher.is_none() {
                    return Err(format!(
                        "loss `{}` needs teacher scores: add a [distill] table with `teacher` \
                         (or train on a data.train_file that carries teacher scores)",
                        self.loss.name()
                    ));
                }
            }
        }
        if self.model.kind == ModelKind::Colbert {
            self.validate_colbert()?;
        }
        Ok(())
    }

    /// What a generative reranker run may not ask for.
    fn validate_generative(&self) -> std::result::Result<(), String> {
        let name = self.loss.name();
        if self.distill.is_some() {
            return Err("[distill] applies to bi-encoders and ColBERT only".into());
        }
        if self.eval.mode == EvalMode::Retrieve {
            return Err(
                "eval.mode = \"retrieve\" applies to bi-encoders and ColBERT; a generative \
                 reranker reranks"
                    .into(),
            );
        }
        let inputs = self.loss.inputs();
        if inputs.uses(rankforge_losses::InputKind::QueryEmbeddings)
            || inputs
                .required
                .contains(&rankforge_losses::InputKind::TeacherScores)
        {
            return Err(format!(
                "loss `{name}` needs embeddings or teacher scores; a generative reranker trains \
                 on labels"
            ));
        }
        if self.train.in_batch_weight > 0.0 {
            return Err("train.in_batch_weight applies to bi-encoders".into());
        }
        let section = self.generative.clone().unwrap_or_default();
        if section.objective == GenerativeObjective::Lm {
            if name != rankforge_losses::bce::NAME {
                return Err(format!(
                    "[generative] objective = \"lm\" is monoT5's pointwise cross-entropy over \
                     the vocabulary: set loss = \"bce\" (not `{name}`), or objective = \"score\" \
                     to train `{name}` on the raw score"
                ));
            }
            if section.settings().false_token.is_none() {
                return Err(
                    "[generative] objective = \"lm\" needs a false token (the negatives' target \
                     word)"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// What a ColBERT run may not ask for.
    fn validate_colbert(&self) -> std::result::Result<(), String> {
        let name = self.loss.name();
        if self
            .loss
            .inputs()
            .uses(rankforge_losses::InputKind::QueryEmbeddings)
        {
            return Err(format!(
                "loss `{name}` reads single-vector embeddings; a ColBERT's in-batch loss is \
                 `colbert_contrastive`"
            ));
        }
        if self.model.max_length.is_some() {
            return Err(
                "model.max_length: a ColBERT has two lengths; set [colbert] query_length and \
                 document_length"
                    .into(),
            );
        }
        if self.train.in_batch_weight > 0.0 {
            return Err(
                "train.in_batch_weight applies to bi-encoders; a ColBERT trains in-batch with \
                 loss = \"colbert_contrastive\""
                    .into(),
            );
        }
        if let Some(c) = &self.colbert {
            if c.dim == Some(0) {
                return Err("[colbert] dim must be at least 1".into());
            }
            // The marker and `[CLS]` / `[SEP]` leave room for at least 6 text tokens.
            if c.query_length.is_some_and(|n| n < 9) || c.document_length.is_some_and(|n| n < 9) {
                return Err("[colbert] query_length and document_length must be at least 9".into());
            }
        }
        Ok(())
    }

    /// Rejects a loss that the data the config describes cannot give a gradient: a run would
    /// train for as long as asked with loss 0 and learn nothing. Every loss but InfoNCE compares
    /// the documents of a group (one positive and `data.negatives` negatives), and a group of
    /// one has nothing to compare (pointwise BCE/MSE would only see label 1 and learn to call
    /// everything relevant); InfoNCE ranks each positive among the batch's other positives and
    /// all negatives, so it needs a batch of two or one negative. A training file's pointwise
    /// records carry their own labels (0 and 1), so there BCE/MSE learn from groups of one.
    fn check_learnable(&self) -> std::result::Result<(), String> {
        let name = self.loss.name();
        let in_batch = self
            .loss
            .inputs()
            .uses(rankforge_losses::InputKind::QueryEmbeddings)
            || matches!(self.loss, LossConfig::ColbertContrastive(_));
        if in_batch {
            if self.train.batch_size < 2 && self.data.negatives == 0 {
                return Err(format!(
                    "loss `{name}` ranks each positive among the batch's other documents; with \
                     train.batch_size = 1 and data.negatives = 0 it has none, so the loss is 0 \
                     and nothing is learnt: raise train.batch_size or data.negatives"
                ));
            }
        } else if self.data.negatives == 0 {
            let pointwise =
                [rankforge_losses::bce::NAME, rankforge_losses::mse::NAME].contains(&name);
            if self.data.train_file.is_none() {
                return Err(format!(
                    "loss `{name}` learns from groups of a positive and its negatives; with \
                     data.negatives = 0 every group holds the positive alone (every label 1), so \
                     there is nothing to rank and nothing is learnt: set data.negatives to at \
                     least 1"
                ));
            }
            if !pointwise {
                return Err(format!(
                    "loss `{name}` compares the documents of a group; with data.negatives = 0 \
                     every group holds one document, so nothing is learnt: set data.negatives \
                     to at least 1, or train labelled pairs with a pointwise loss (`bce`, \
                     `mse`)"
                ));
            }
        }
        Ok(())
    }

    /// The config as TOML (written beside the run's outputs).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a config serialises")
    }
}
