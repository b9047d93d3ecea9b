//! rankforge's trainer: fine-tunes cross-encoders and generative rerankers (T5: monoT5, RankT5)
//! and trains or distils bi-encoders and ColBERT (late interaction) models from a TOML run config ([`TrainConfig`]), on any burn autodiff
//! backend (CPU `flex`, CUDA, wgpu).
//!
//! ```text
//! config ─► data (BEIR + BM25-mined negative pools, or a training file streamed in
//!          bounded memory: stream.rs) ─► seeded groups / micro-batches
//!        ─► task (cross-encoder | bi-encoder | colbert): forward shared with inference
//!        ─► loss (f32)
//!        ─► backward ─► accumulated gradients ─► AdamW (global-norm clip, no decay on
//!           biases/LayerNorm) with warmup + linear/cosine schedule
//!        ─► dev evaluation through the shared inference path (rerank BM25 top-k)
//!        ─► best/ final/ (HF / PyLate dirs), checkpoint/ (resumable), metrics.jsonl, plots,
//!           model card
//! ```
//!
//! # Why a custom loop rather than burn-train's learner
//! burn-train is not among the workspace's burn features (enabling `train` would rebuild burn
//! for every crate), and its learner would not give us what this trainer needs most:
//! checkpoints that restore *exactly* (weights as HF directories, optimizer moments keyed by
//! parameter path, data position and RNG derivation) so that a resumed run ends with the same
//! metrics as an uninterrupted one; per-parameter weight-decay exclusion and global-norm
//! clipping (burn-optim's AdamW has one decay for all parameters and clips tensor by tensor);
//! and evaluation by reranking through the model crate's inference path. The loop is ~300
//! lines ([`train_loop`]); the model's forward is the same one inference uses.
//!
//! # Determinism
//! Every random draw is a pure function of the run seed and a position: epoch order
//! (seed, epoch), negatives (seed, epoch, example), a training file's block order (seed,
//! epoch) and window shuffles (seed, epoch, window), dropout (backend reseeded per optimizer
//! step with (seed, step)), new classification heads (seed). Two runs with the same seed and
//! config produce identical weights and metrics; so does a run resumed from a checkpoint.
//!
//! # Precision
//! Losses are computed in f32 (the losses crate casts on entry). `run.precision = "bf16" |
//! "f16"` trains in mixed precision: f32 master weights and AdamW moments; every step casts
//! them to the half type inside the autodiff graph (`rankforge_model::precision`), so the
//! forward and backward run in half precision and the gradients arrive on the f32 weights;
//! model outputs go back to f32 before the loss; dev evaluation runs in f32.

pub mod bench;
pub mod bi_encoder;
pub mod checkpoint;
pub mod colbert;
pub mod config;
pub mod cross_encoder;
pub mod data;
pub mod error;
pub mod eval;
pub mod generative;
pub mod optimizer;
pub mod report;
pub mod run;
pub mod run_dir;
pub mod schedule;
pub mod stream;
pub mod task;
pub mod train_loop;

pub use config::TrainConfig;
pub use error::{Result, TrainError};
pub use run::{train, train_from, TrainSummary};
pub use train_loop::TrainOptions;
