//! Bi-encoder training: queries and documents are embedded separately (the model's own
//! pooling and normalisation), then either
//! - an in-batch contrastive loss (`infonce`) reads the query, positive and hard-negative
//!   embeddings, or
//! - a distillation loss (`margin_mse`, `distill_kl`, `mse`, `listnet`) reads student scores
//!   `[groups, 1 + negatives]` (`student_scale` × cosine/dot of query and document) against a
//!   cross-encoder teacher's raw logits on the same pairs; `train.in_batch_weight > 0` adds the
//!   in-batch InfoNCE term.
//!
//! Teacher scores travel with the groups: a training file's own (FlagEmbedding's
//! `pos_scores` / `neg_scores`, ...), or, for groups mined from a BEIR directory, a
//! `[distill] teacher`'s, computed once before training for every (query, positive) and
//! (query, pool document) pair through the shared inference path ([`score_with_teacher`]).

use rankforge_model::precision::{cast_module, to_f32, Precision};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Tensor, TensorData};
use rankforge_data::Corpus;
use rankforge_losses::{InfoNceConfig, InputKind, Loss, LossConfig, LossInput};
use rankforge_model::inference::collate;
use rankforge_model::{
    hf, BatchingConfig, BiEncoder, BiEncoderModel, CrossEncoder, DenseConfig, DenseIndex,
    EncoderConfig, LoadReport, SentenceTransformerSettings, TextTokenizer,
};

use crate::config::{EvalMode, TrainConfig};
pub use crate::data::TeacherScores;
use crate::data::{teacher_values, Group, TrainingSet};
use crate::error::Result;
use crate::eval::{candidate_documents, DevEvaluation, DevSet};
use crate::task::TrainTask;

/// Everything a bi-encoder step and evaluation read.
#[derive(Debug)]
pub struct BiEncoderTask<'a, B: AutodiffBackend> {
    pub encoder_config: EncoderConfig,
    pub settings: SentenceTransformerSettings,
    pub base_dir: PathBuf,
    pub tokenizer: TextTokenizer,
    pub loss: Loss,
    /// InfoNCE added with `in_batch_weight` (distillation runs).
    pub in_batch: Option<(Loss, f64)>,
    pub student_scale: f64,
    pub corpus: &'a Corpus,
    pub dev: &'a DevSet,
    pub eval_batch_size: usize,
    /// Rerank the BM25 candidates, or retrieve from the whole corpus.
    pub eval_mode: EvalMode,
    pub device: B::Device,
    /// Forward/backward precision (master weights stay f32).
    pub precision: Precision,
}

impl<'a, B: AutodiffBackend> BiEncoderTask<'a, B> {
    /// Loads the base model; the load report says what loading the base made up.
    pub fn prepare(
        config: &TrainConfig,
        corpus: &'a Corpus,
        dev: &'a DevSet,
        device: &B::Device,
    ) -> Result<(Self, BiEncoderModel<B>, LoadReport)> {
        let base = &config.model.base;
        let (encoder, report) = BiEncoder::<B>::builder(base)
            .max_length(config.model.max_length)
            .load(device)?;
        let BiEncoder {
            model,
            config: encoder_config,
            settings,
            tokenizer,
            ..
        } = encoder;
        let loss = config.loss.build()?;
        let uses_embeddings = loss.inputs().uses(InputKind::QueryEmbeddings);
        let in_batch = (!uses_embeddings && config.train.in_batch_weight > 0.0)
            .then(|| {
                LossConfig::InfoNce(InfoNceConfig {
                    scale: Some(config.train.in_batch_scale as f32),
                    ..Default::default()
                })
                .build()
                .map(|l| (l, config.train.in_batch_weight))
            })
            .transpose()?;
        let student_scale = config
            .distill
            .as_ref()
            .map_or(crate::config::DEFAULT_STUDENT_SCALE, |d| d.student_scale);
        Ok((
            Self {
                encoder_config,
                settings,
                base_dir: base.clone(),
                tokenizer,
                loss,
                in_batch,
                student_scale,
                corpus,
                dev,
                eval_batch_size: config.eval.batch_size,
                eval_mode: config.eval.mode,
                device: device.clone(),
                precision: config.run.precision,
            },
            model,
            report,
        ))
    }

    fn embed(&self, model: &BiEncoderModel<B>, texts: &[&str]) -> Result<Tensor<B, 2>> {
        let encoded = self.tokenizer.encode_texts(texts)?;
        let refs: Vec<_> = encoded.iter().collect();
        Ok(to_f32(model.embed(
            self.settings.head,
            collate::<B>(&refs, &self.device),
        )))
    }
}

/// Whether a loss reads teacher scores on `groups`: always when it needs them (missing ones
/// are then an error naming the group), when the groups carry them if it only may.
pub(crate) fn wants_teacher(loss: &Loss, groups: &[Group]) -> bool {
    let inputs = loss.inputs();
    inputs.required.contains(&InputKind::TeacherScores)
        || (inputs.uses(InputKind::TeacherScores) && groups.iter().all(|g| g.teacher.is_some()))
}

/// Raw teacher logits for every (query, positive) and (query, pool document) pair of a
/// BEIR-mined set (bi-encoder and ColBERT distillation), at `max_length` (or the teacher's
/// saved length).
pub fn score_with_teacher<B: AutodiffBackend>(
    teacher_dir: &Path,
    max_length: Option<usize>,
    data: &TrainingSet,
    batch_size: usize,
    device: &B::Device,
    quiet: bool,
) -> Result<TeacherScores> {
    let (teacher, _) = CrossEncoder::<B::InnerBackend>::builder(teacher_dir)
        .max_length(max_length)
        .batching(BatchingConfig {
            max_batch_size: batch_size,
            ..Default::default()
        })
        .progress(!quiet)
        .load(device)?;
    let mut keys: Vec<(usize, String)> = Vec::new();
    for example in &data.examples {
        keys.push((example.query, example.positive.clone()));
    }
    for (index, query) in data.queries.iter().enumerate() {
        for doc in &query.negative_pool {
            keys.push((index, doc.clone()));
        }
    }
    keys.sort();
    keys.dedup();
    let pairs: Vec<(&str, &str)> = keys
        .iter()
        .map(|(q, d)| {
            (
                data.queries[*q].text.as_str(),
                data.texts.get(d).map(String::as_str).unwrap_or(""),
            )
        })
        .collect();
    if !quiet {
        eprintln!(
            "scoring {} training pairs with the teacher {}",
            pairs.len(),
            teacher_dir.display()
        );
    }
    let logits = teacher.logits(&pairs)?;
    Ok(keys
        .into_iter()
        .zip(logits)
        .map(|(key, row)| (key, row[0]))
        .collect())
}

impl<B: AutodiffBackend> BiEncoderTask<'_, B> {
    /// The model as a first stage: the whole corpus embedded (no on-disk cache: the weights
    /// change between evaluations), each dev query's exact top `top_k` by cosine, scored
    /// against the dev qrels.
    fn evaluate_first_stage(&self, encoder: &BiEncoder<B::InnerBackend>) -> Result<DevEvaluation> {
        let config = DenseConfig {
            cache_dir: None,
            ..DenseConfig::default()
        };
        let index = DenseIndex::build(encoder, self.corpus, config)?;
        let queries: Vec<(&str, &str)> = self
            .dev
            .queries
            .iter()
            .map(|q| (q.id.as_str(), q.text.as_str()))
            .collect();
        let run = index.search(&queries, self.dev.top_k)?;
        self.dev.evaluate_run(run)
    }
}

impl<B: AutodiffBackend> TrainTask<B> for BiEncoderTask<'_, B> {
    type Model = BiEncoderModel<B>;

    fn kind(&self) -> &'static str {
        "bi_encoder"
    }

    fn pairs_in(&self, groups: &[Group]) -> usize {
        crate::data::real_entries(groups)
    }

    fn loss(&self, model: &Self::Model, groups: &[Group]) -> Result<Tensor<B, 1>> {
        let g = groups.len();
        let list = groups[0].docs.len();
        let queries: Vec<&str> = groups.iter().map(|gr| gr.query.as_str()).collect();
        let docs: Vec<&str> = groups
            .iter()
            .flat_map(|gr| gr.docs.iter().zip(&gr.valid))
            .map(|(d, &ok)| if ok { d.as_str() } else { "" })
            .collect();
        let model = &cast_module(model.clone(), self.precision);
        let q = self.embed(model, &queries)?;
        let d = self.embed(model, &docs)?;
        let dim = q.dims()[1];
        let d3 = d.reshape([g, list, dim]);
        let positives = d3.clone().narrow(1, 0, 1).reshape([g, dim]);
        let valid_flags: Vec<bool> = groups.iter().flat_map(|gr| gr.valid.clone()).collect();
        let in_batch_input = || {
            let mut input = LossInput::from_embeddings(q.clone(), positives.clone());
            let negative_rows: Vec<i64> = (0..g)
                .flat_map(|i| (1..list).map(move |j| (i, j)))
                .filter(|&(i, j)| valid_flags[i * list + j])
                .map(|(i, j)| (i * list + j) as i64)
                .collect();
            if !negative_rows.is_empty() {
                let n = negative_rows.len();
                let index = Tensor::<B, 1, burn::tensor::Int>::from_data(
                    TensorData::new(negative_rows, [n]),
                    &self.device,
                );
                let flat = d3.clone().reshape([g * list, dim]).select(0, index);
                input = input.with_flat_negatives(flat);
            }
            input
        };
        if self.loss.inputs().uses(InputKind::QueryEmbeddings) {
            return Ok(self.loss.compute(&in_batch_input())?);
        }
        // Student scores [g, list]: scale × ⟨q, d⟩ (cosine for normalised models).
        let scores = (d3.clone() * q.clone().reshape([g, 1, dim]))
            .sum_dim(2)
            .reshape([g, list])
            .mul_scalar(self.student_scale);
        let labels: Vec<f32> = groups.iter().flat_map(|gr| gr.labels.clone()).collect();
        let mut input =
            LossInput::from_scores(scores).with_valid_mask(Tensor::<B, 2, Bool>::from_data(
                TensorData::new(valid_flags.clone(), [g, list]),
                &self.device,
            ));
        if wants_teacher(&self.loss, groups) {
            input = input.with_teacher_scores(Tensor::from_data(
                TensorData::new(teacher_values(groups, self.loss.name())?, [g, list]),
                &self.device,
            ));
        }
        if self.loss.inputs().uses(InputKind::Labels) {
            input = input.with_labels(Tensor::from_data(
                TensorData::new(labels, [g, list]),
                &self.device,
            ));
        }
        let mut loss = self.loss.compute(&input)?;
        if let Some((in_batch, weight)) = &self.in_batch {
            loss = loss + in_batch.compute(&in_batch_input())?.mul_scalar(*weight);
        }
        Ok(loss)
    }

    fn evaluate(&self, model: &Self::Model) -> Result<DevEvaluation> {
        let mut encoder = BiEncoder::from_parts(
            model.valid(),
            self.encoder_config.clone(),
            self.settings.clone(),
            self.tokenizer.clone(),
            &self.base_dir,
            self.device.clone(),
        );
        encoder.run.batching.max_batch_size = self.eval_batch_size;
        if self.eval_mode == EvalMode::Retrieve {
            return self.evaluate_first_stage(&encoder);
        }
        let docs = candidate_documents(self.dev, self.corpus);
        let doc_texts: Vec<String> = docs.iter().map(|d| d.full_text()).collect();
        let doc_refs: Vec<&str> = doc_texts.iter().map(String::as_str).collect();
        let doc_vectors = encoder.embed(&doc_refs)?;
        let by_id: HashMap<&str, &Vec<f32>> = docs
            .iter()
            .map(|d| d.id.as_str())
            .zip(doc_vectors.iter())
            .collect();
        let query_texts: Vec<&str> = self.dev.queries.iter().map(|q| q.text.as_str()).collect();
        let query_vectors = encoder.embed(&query_texts)?;
        let by_query: HashMap<&str, &Vec<f32>> = self
            .dev
            .queries
            .iter()
            .map(|q| q.id.as_str())
            .zip(query_vectors.iter())
            .collect();
        let run = self.dev.run_from_scores(|query_id, candidates| {
            let q = by_query[query_id];
            candidates
                .iter()
                .map(|c| {
                    by_id.get(c.doc_id.as_str()).map_or(f64::NEG_INFINITY, |d| {
                        q.iter().zip(d.iter()).map(|(a, b)| (a * b) as f64).sum()
                    })
                })
                .collect()
        });
        self.dev.evaluate_run(run)
    }

    fn save(&self, model: &Self::Model, dir: &Path) -> Result<()> {
        let mut settings = self.settings.clone();
        settings.max_seq_length = Some(self.tokenizer.max_length());
        Ok(hf::save_bi_encoder(
            &model.valid(),
            &self.encoder_config,
            &settings,
            &self.base_dir,
            dir,
        )?)
    }

    fn load(&self, dir: &Path) -> Result<Self::Model> {
        let (model, _, _) = hf::load_bi_encoder::<B>(dir, &self.device)?;
        Ok(model)
    }

    fn max_length(&self) -> usize {
        self.tokenizer.max_length()
    }
}
