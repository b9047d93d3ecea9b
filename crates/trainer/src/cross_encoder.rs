//! Cross-encoder training: each group (positive + negatives) becomes `[CLS] q [SEP] d [SEP]`
//! pairs, the model's one forward gives `[groups, list]` logits, and the configured loss reads
//! them with the labels (positive's grade, 0 for negatives) and a mask for padded entries.
//! Pointwise (`bce`), pairwise (`ranknet`, `margin_ranking`) and listwise (`listnet`,
//! `listmle`, `lambda_loss`) losses all take this shape.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Tensor, TensorData};
use rankforge_data::Corpus;
use rankforge_losses::{Loss, LossConfig, LossInput};
use rankforge_model::inference::collate;
use rankforge_model::precision::{cast_module, to_f32, Precision};
use rankforge_model::{hf, rerank_run, BertConfig, CrossEncoder, CrossEncoderModel, TextTokenizer};

use crate::data::{Group, TrainingSet};
use crate::error::Result;
use crate::eval::{DevEvaluation, DevSet};
use crate::task::TrainTask;

/// Everything a cross-encoder step and evaluation read.
#[derive(Debug)]
pub struct CrossEncoderTask<'a, B: AutodiffBackend> {
    pub bert_config: BertConfig,
    /// Tokenizer files and the base model (tokenizer copied into saved models).
    pub base_dir: PathBuf,
    pub tokenizer: TextTokenizer,
    pub loss: Loss,
    pub data: &'a TrainingSet,
    pub texts: &'a HashMap<String, String>,
    pub corpus: &'a Corpus,
    pub dev: &'a DevSet,
    pub eval_batch_size: usize,
    pub head_seed: u64,
    pub device: B::Device,
    /// Forward/backward precision (master weights stay f32).
    pub precision: Precision,
}

impl<'a, B: AutodiffBackend> CrossEncoderTask<'a, B> {
    /// The base model with a seeded new head if it has none, and the task around it.
    #[allow(clippy::too_many_arguments)]
    pub fn load_base(
        base_dir: &Path,
        max_length: usize,
        loss: &LossConfig,
        data: &'a TrainingSet,
        texts: &'a HashMap<String, String>,
        corpus: &'a Corpus,
        dev: &'a DevSet,
        eval_batch_size: usize,
        head_seed: u64,
        device: &B::Device,
    ) -> Result<(Self, CrossEncoderModel<B>, bool)> {
        let (model, bert_config, report) =
            hf::load_cross_encoder::<B>(base_dir, head_seed, device)?;
        let tokenizer = TextTokenizer::from_file(&base_dir.join(hf::TOKENIZER_FILE), max_length)?;
        let task = Self {
            bert_config,
            base_dir: base_dir.to_path_buf(),
            tokenizer,
            loss: loss.build()?,
            data,
            texts,
            corpus,
            dev,
            eval_batch_size,
            head_seed,
            device: device.clone(),
            precision: Precision::F32,
        };
        Ok((task, model, report.new_head))
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
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(groups.len() * list);
        let mut labels = Vec::with_capacity(groups.len() * list);
        let mut valid = Vec::with_capacity(groups.len() * list);
        for group in groups {
            let query = self.data.queries[group.query].text.as_str();
            for ((doc, &label), &ok) in group.docs.iter().zip(&group.labels).zip(&group.valid) {
                let text = if ok {
                    self.texts.get(doc).map(String::as_str).unwrap_or("")
                } else {
                    ""
                };
                pairs.push((query, text));
                labels.push(self.label(label));
                valid.push(ok);
            }
        }
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
        let input = LossInput::from_scores(scores)
            .with_labels(labels)
            .with_valid_mask(valid);
        Ok(self.loss.compute(&input)?)
    }

    fn evaluate(&self, model: &Self::Model) -> Result<DevEvaluation> {
        let mut scorer = CrossEncoder::from_parts(
            model.valid(),
            self.bert_config.clone(),
            &self.base_dir,
            Some(self.tokenizer.max_length()),
            self.device.clone(),
        )?;
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
            &self.bert_config,
            &self.base_dir,
            self.tokenizer.max_length(),
            dir,
        )?)
    }

    fn load(&self, dir: &Path) -> Result<Self::Model> {
        let (model, _, _) = hf::load_cross_encoder::<B>(dir, self.head_seed, &self.device)?;
        Ok(model)
    }
}
