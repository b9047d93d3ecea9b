//! Generative reranker training (T5: monoT5, RankT5). Each group's (query, document) pairs
//! become the prompts the reranker scores (`Query: {q} Document: {d} Relevant:` + `</s>`,
//! documents cut to the max length, never the template's end), one encoder pass and one
//! decoder step from `decoder_start_token_id`, and
//! - `objective = "lm"` (castorini's monoT5 fine-tuning): the target word (`▁true` for the
//!   positive, `▁false` for each negative) is the first decoder token, and the loss is the
//!   cross-entropy over the whole vocabulary at that step ([`lm_loss`]), pointwise, averaged
//!   over the group's real documents (castorini's target sequence also holds `</s>` after the
//!   word; only the word's step is scored here, the one that scoring reads);
//! - `objective = "score"` (RankT5): the configured ranking loss (`listnet`, `lambda_loss`,
//!   `bce`, ...) on the raw score, `logit(true) − logit(false)` or the true token's logit
//!   alone ([`raw_scores`]), `[groups, list]` with the labels and a mask for padded entries.
//!
//! Dev evaluation reranks the BM25 candidates through the scorer `rankforge rerank` uses
//! ([`GenerativeParts::with_model`]); the saved model is a `T5ForConditionalGeneration`
//! directory transformers loads unchanged ([`rankforge_model::t5::io::save`]).

use std::path::Path;

use burn::module::AutodiffModule;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rankforge_data::Corpus;
use rankforge_losses::{Loss, LossInput};
use rankforge_model::inference::collate;
use rankforge_model::precision::{cast_module, to_f32, Precision};
use rankforge_model::t5::T5ForConditionalGeneration;
use rankforge_model::t5::{io, GenerativeParts, GenerativePrompts, GenerativeReranker};
use rankforge_model::{rerank_run, Activation, Encoded, LoadReport, RunOptions};

use crate::config::{GenerativeObjective, TrainConfig};
use crate::data::Group;
use crate::error::{Result, TrainError};
use crate::eval::{DevEvaluation, DevSet};
use crate::task::TrainTask;

/// Everything a generative step and evaluation read.
#[derive(Debug)]
pub struct GenerativeTask<'a, B: AutodiffBackend> {
    /// The scorer around the model (prompts, score tokens, config, source files).
    pub parts: GenerativeParts,
    pub objective: GenerativeObjective,
    pub loss: Loss,
    pub corpus: &'a Corpus,
    pub dev: &'a DevSet,
    pub eval_batch_size: usize,
    pub device: B::Device,
    /// Forward/backward precision (master weights stay f32).
    pub precision: Precision,
}

/// The prompt ids as one padded batch for the model.
fn batch<B: Backend>(prompts: &[Vec<u32>], device: &B::Device) -> rankforge_model::BertInput<B> {
    let sequences: Vec<Encoded> = prompts
        .iter()
        .map(|ids| GenerativePrompts::sequence(ids.clone()))
        .collect();
    let refs: Vec<&Encoded> = sequences.iter().collect();
    collate::<B>(&refs, device)
}

/// The raw scores of `prompts` (`[n]`, f32): `logit(tokens[0]) − logit(tokens[1])`, or
/// `logit(tokens[0])` alone, at the first decoder step from `start`.
pub fn raw_scores<B: Backend>(
    model: &T5ForConditionalGeneration<B>,
    prompts: &[Vec<u32>],
    start: u32,
    tokens: &[u32],
    device: &B::Device,
) -> Tensor<B, 1> {
    let logits = to_f32(model.first_step_logits(&batch::<B>(prompts, device), start, tokens));
    let n = prompts.len();
    match tokens.len() {
        2 => {
            let t = logits.clone().slice([0..n, 0..1]);
            let f = logits.slice([0..n, 1..2]);
            (t - f).reshape([n])
        }
        _ => logits.slice([0..n, 0..1]).reshape([n]),
    }
}

/// monoT5's loss: the mean over the `valid` prompts of `−log softmax(logits)[target]` at the
/// first decoder step from `start`, the softmax over the whole vocabulary.
pub fn lm_loss<B: Backend>(
    model: &T5ForConditionalGeneration<B>,
    prompts: &[Vec<u32>],
    targets: &[u32],
    valid: &[bool],
    start: u32,
    device: &B::Device,
) -> Tensor<B, 1> {
    let n = prompts.len();
    let hidden = model.first_step_hidden(&batch::<B>(prompts, device), start);
    let log_probs = log_softmax(to_f32(model.vocab_logits(hidden)), 1);
    let ids: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
    let ids = Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [n, 1]), device);
    let picked = log_probs.gather(1, ids).reshape([n]);
    let weights: Vec<f32> = valid.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect();
    let count = weights.iter().sum::<f32>().max(1.0);
    let weights = Tensor::<B, 1>::from_data(TensorData::new(weights, [n]), device);
    (picked * weights).sum().neg() / count
}

impl<'a, B: AutodiffBackend> GenerativeTask<'a, B> {
    /// Loads `model.base` (a `T5ForConditionalGeneration` directory) with the `[generative]`
    /// settings and `model.max_length` (default 512); the report names the score rule.
    pub fn prepare(
        config: &TrainConfig,
        corpus: &'a Corpus,
        dev: &'a DevSet,
        device: &B::Device,
    ) -> Result<(Self, T5ForConditionalGeneration<B>, LoadReport)> {
        let base = &config.model.base;
        if !rankforge_model::t5::T5Config::is_conditional_generation_dir(base) {
            return Err(TrainError::Other(format!(
                "{}: model.kind = \"generative\" trains a T5ForConditionalGeneration (or mT5) \
                 directory",
                base.display()
            )));
        }
        let section = config.generative.clone().unwrap_or_default();
        let (reranker, report) = GenerativeReranker::<B>::load(
            base,
            Some(section.settings()),
            config.model.max_length,
            Activation::Identity,
            RunOptions::default(),
            Precision::F32,
            device,
        )?;
        let (model, parts) = reranker.split();
        let task = Self {
            parts,
            objective: section.objective,
            loss: config.loss.build()?,
            corpus,
            dev,
            eval_batch_size: config.eval.batch_size,
            device: device.clone(),
            precision: config.run.precision,
        };
        Ok((task, model, report))
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

impl<B: AutodiffBackend> TrainTask<B> for GenerativeTask<'_, B> {
    type Model = T5ForConditionalGeneration<B>;

    fn kind(&self) -> &'static str {
        "generative"
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
        let prompts = self.parts.prompts.encode(&pairs)?;
        let model = cast_module(model.clone(), self.precision);
        let start = self.parts.config.decoder_start_id();
        let tokens = &self.parts.token_ids;
        match self.objective {
            GenerativeObjective::Lm => {
                let targets: Vec<u32> = labels
                    .iter()
                    .map(|&l| if l > 0.0 { tokens[0] } else { tokens[1] })
                    .collect();
                Ok(lm_loss(
                    &model,
                    &prompts,
                    &targets,
                    &valid,
                    start,
                    &self.device,
                ))
            }
            GenerativeObjective::Score => {
                let scores = raw_scores(&model, &prompts, start, tokens, &self.device)
                    .reshape([groups.len(), list]);
                let labels: Vec<f32> = labels.iter().map(|&l| self.label(l)).collect();
                let labels = Tensor::<B, 2>::from_data(
                    TensorData::new(labels, [groups.len(), list]),
                    &self.device,
                );
                let valid = Tensor::<B, 2, Bool>::from_data(
                    TensorData::new(valid, [groups.len(), list]),
                    &self.device,
                );
                let input = LossInput::from_scores(scores)
                    .with_labels(labels)
                    .with_valid_mask(valid);
                Ok(self.loss.compute(&input)?)
            }
        }
    }

    fn evaluate(&self, model: &Self::Model) -> Result<DevEvaluation> {
        let mut scorer = self.parts.with_model(model.valid(), &self.device);
        scorer.set_batch_size(self.eval_batch_size);
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
        Ok(io::save(
            &model.valid(),
            &self.parts.source_dir,
            Some(self.max_length()),
            dir,
        )?)
    }

    fn load(&self, dir: &Path) -> Result<Self::Model> {
        let (model, _, _) = io::load::<B>(dir, &self.device)?;
        Ok(model)
    }

    fn max_length(&self) -> usize {
        self.parts.prompts.max_length()
    }
}
