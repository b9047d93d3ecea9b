//! What differs between model families, behind one trait, so a single loop trains both.

use std::path::Path;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;

use crate::data::Group;
use crate::error::Result;
use crate::eval::DevEvaluation;

/// A model family's part of training: the batch loss, dev evaluation and HF save/load.
pub trait TrainTask<B: AutodiffBackend> {
    type Model: AutodiffModule<B> + Clone;

    /// `cross_encoder` / `bi_encoder` / `colbert` (for reports).
    fn kind(&self) -> &'static str;

    /// (query, document) pairs a micro-batch of `groups` puts through the model (throughput).
    fn pairs_in(&self, groups: &[Group]) -> usize;

    /// The loss of one micro-batch, an f32 `[1]` tensor with autodiff.
    fn loss(&self, model: &Self::Model, groups: &[Group]) -> Result<Tensor<B, 1>>;

    /// Dev metrics of the model and the run they were computed on (evaluated on the inner
    /// backend: dropout off).
    fn evaluate(&self, model: &Self::Model) -> Result<DevEvaluation>;

    /// Saves the model as an HF directory.
    fn save(&self, model: &Self::Model, dir: &Path) -> Result<()>;

    /// Loads a model saved by [`TrainTask::save`] (resuming).
    fn load(&self, dir: &Path) -> Result<Self::Model>;

    /// Tokens per sequence at most: what training and the dev evaluation run at and the saved
    /// model records.
    fn max_length(&self) -> usize;
}
