//! Cross-encoder training: each group (positive + negatives) becomes `[CLS] q [SEP] d [SEP]`
//! pairs, the model's one forward gives `[groups, list]` logits, and the configured loss reads
//! them with the labels (positive's grade, 0 for negatives) and a mask for padded entries.
//! Pointwise (`bce`), pairwise (`ranknet`, `margin_ranking`) and listwise (`listnet`,
//! `listmle`, `lambda_loss`) losses all take this shape; with a training file that carries
//! teacher scores, so do the distillation losses (`margin_mse`, `distill_kl`, `mse`).

use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Tensor, TensorData};
use rankforge_data::Corpus;
use rankforge_losses::{Loss, LossConfig, LossInput};
use rankforge_model::inference::collate;
use rankforge_model::precision::{cast_module, to_f32, Precision};
use rankforge_model::{
    hf, rerank_run, CrossEncoder, CrossEncoderModel, EncoderConfig, LoadReport, TextTokenizer,
};

use crate::config::TrainConfig;
use crate::data::Group;
use crate::error::Result;
use crate::eval::{DevEvaluation, DevSet};
use crate::task::TrainTask;

/// Everything a cross-encoder step and evaluation read.
#[derive(Debug)]
pub struct CrossEncoderTask<'a, B: AutodiffBackend> {
    pub encoder_config: EncoderConfig,
    /// Tokenizer files and the base model (tokenizer copied into saved models).
    pub base_dir: PathBuf,
    pub tokenizer: TextTokenizer,
    pub loss: Loss,
    pub corpus: &'a Corpus,
    pub dev: &'a DevSet,
    pub eval_batch_size: usize,
    pub head_seed: u64,
    pub device: B::Device,
    /// Forward/backward precision (master weights stay f32).
    pub precision: Precision,
}

/// What a cross-encoder task starts from: the base model and how to train and evaluate it.
#[derive(Debug, Clone, Copy)]
pub struct BaseModel<'c> {
    /// HF directory of the base model.
    pub dir: &'c Path,
    /// Tokens per (query, document) sequence at most; `None`: the length the base was saved
    /// with.
    pub max_length: Option<usize>,
    /// Seed of a new head when the base has none.
    pub head_seed: u64,
    pub loss: &'c LossConfig,
    /// Sequences per forward pass in dev evaluation.
    pub eval_batch_size: usize,
    /// Forward/backward precision.
    pub precision: Precision,
}

impl<'c> BaseModel<'c> {
    /// The base model a run config names (`model.*`, `loss`, `eval.batch_size`, `run.seed`,
    /// `run.precision`).
    pub fn of(config: &'c TrainConfig) -> Self {
        Self {
            dir: &config.model.base,
            max_length: config.model.max_length,
            head_seed: config.run.seed,
            loss: &config.loss,
            eval_batch_size: config.eval.batch_size,
            precision: config.run.precision,
        }
    }
}

/// The data a task reads, borrowed for the whole run.
#[derive(Debug, Clone, Copy)]
pub struct TaskInputs<'a> {
    pub corpus: &'a Corpus,
    pub dev: &'a DevSet,
}

impl<'a, B: AutodiffBackend> CrossEncoderTask<'a, B> {
    /// The base model (loaded through the model crate's builder, with a head seeded by
    /// `base.head_seed` if it has none) and the task around it; the load report says what
    /// loading made up.
    pub fn load_base(
        base: &BaseModel<'_>,
        inputs: TaskInputs<'a>,
        device: &B::Device,
    ) -> Result<(Self, CrossEncoderModel<B>, LoadReport)> {
        let (scorer, report) = CrossEncoder::<B>::builder(base.dir)
            .max_length(base.max_length)
            .head_seed(base.head_seed)
            .load(device)?;
        let task = Self {
            encoder_config: scorer.config,
            base_dir: base.dir.to_path_buf(),
            tokenizer: scorer.tokenizer,
            loss: base.loss.build()?,
            corpus: inputs.corpus,
            dev: inputs.dev,
            eval_batch_size: base.eval_batch_size,
            head_seed: base.head_seed,
            device: device.clone(),
            precision: base.precision,
        };
        Ok((task, scorer.model, report))
    }

    /// Binary cross-entropy needs labels in [0, 1]: graded positives count as 1 there.
    fn label(&self, grade: f32) -> f32 {
        if self.loss.name() == rankforge_losses::bce::NAME {
            grade.min(1.0)
        } else {
            grade
        }
    }
}

impl<B: AutodiffBackend> TrainTask<B> for CrossEncoderTask<'_, B> {
    type Model = CrossEncoderModel<B>;

    fn kind(&self) -> &'static str {
        "cross_encoder"
    }

    fn pairs_in(&self, groups: &[Group]) -> usize {
        groups.iter().map(|g| g.docs.len()).sum()
    }

    fn loss(&self, model: &Self::Model, groups: &[Group]) -> Result<Tensor<B, 1>> {
        let list = groups[0].docs.len();
        let crate::data::GroupPairs {
            pairs,
            labels,
            valid,
        } = crate::data::group_pairs(groups);
        let labels: Vec<f32> = labels.into_iter().map(|l| self.label(l)).collect();
        let encoded = self.tokenizer.encode_pairs(&pairs)?;
        let refs: Vec<_> = encoded.iter().collect();
        let model = cast_module(model.clone(), self.precision);
        let logits = to_f32(model.forward(collate::<B>(&refs, &self.device)));
        let scores = logits.reshape([groups.len(), list]);
        let labels =
            Tensor::<B, 2>::from_data(TensorData::new(labels, [groups.len(), list]), &self.device);
        let valid = Tensor::<B, 2, Bool>::from_data(
            TensorData::new(valid, [groups.len(), list]),
            &self.device,
        );
        let mut input = LossInput::from_scores(scores)
            .with_labels(labels)
            .with_valid_mask(valid);
        if crate::bi_encoder::wants_teacher(&self.loss, groups) {
            // A training file's teacher scores (distilling a reranker, e.g. FlagEmbedding's
            // pos_scores / neg_scores).
            let values = crate::data::teacher_values(groups, self.loss.name())?;
            input = input.with_teacher_scores(Tensor::from_data(
                TensorData::new(values, [groups.len(), list]),
                &self.device,
            ));
        }
        Ok(self.loss.compute(&input)?)
    }

    fn evaluate(&self, model: &Self::Model) -> Result<DevEvaluation> {
        let mut scorer = CrossEncoder::from_parts(
            model.valid(),
            self.encoder_config.clone(),
            self.tokenizer.clone(),
            &self.base_dir,
            self.device.clone(),
        );
        scorer.run.batching.max_batch_size = self.eval_batch_size;
        let run = rerank_run(
            &scorer,
            self.corpus,
            &self.dev.queries,
            &self.dev.candidates,
            self.dev.top_k,
        )?;
        self.dev.evaluate_run(run)
    }

    fn save(&self, model: &Self::Model, dir: &Path) -> Result<()> {
        Ok(hf::save_cross_encoder(
            &model.valid(),
            &self.encoder_config,
            &self.base_dir,
            self.tokenizer.max_length(),
            dir,
        )?)
    }

    fn load(&self, dir: &Path) -> Result<Self::Model> {
        let (model, _, _) = hf::load_cross_encoder::<B>(dir, self.head_seed, &self.device)?;
        Ok(model)
    }

    fn max_length(&self) -> usize {
        self.tokenizer.max_length()
    }
}
