//! ColBERT training (late interaction), as PyLate trains it: queries and documents are
//! encoded apart into unit-length token vectors (`rankforge_model::colbert::ColBertModel`,
//! the forward inference uses), scored by MaxSim, and
//! - `colbert_contrastive` reads every query against every document of the micro-batch
//!   (`[q, q·N]`: its own positive and hard negatives, and the other queries' documents), or
//! - `colbert_distillation` (and any group loss: `listnet`, `margin_mse`, `distill_kl`, ...)
//!   reads each query's MaxSim against its own group (`[q, N]`), with the teacher scores the
//!   groups carry (a training file's own, or a cross-encoder's raw logits on the same pairs:
//!   `[distill] teacher`, scored once before training through the shared inference path, as
//!   for bi-encoders) and/or the labels.
//!
//! Starting from a plain BERT-family checkpoint makes a new ColBERT as PyLate does
//! (`ColBert::from_encoder`: a seeded projection to `colbert.dim`, the marker tokens); a
//! ColBERT directory (PyLate or Stanford) continues with its own settings. Dev evaluation
//! reranks the BM25 candidates through the same scorer `rankforge rerank` uses (each document
//! encoded once), or, with `eval.mode = "retrieve"`, searches the whole corpus by exact MaxSim
//! as `rankforge retrieve --method colbert` does. The saved model is PyLate's directory.

use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Tensor, TensorData};
use rankforge_data::Corpus;
use rankforge_losses::{InputKind, Loss, LossConfig, LossInput};
use rankforge_model::colbert::{
    collate_colbert, maxsim_group_scores, maxsim_scores, ColBert, ColBertEncoded, ColBertFormat,
    ColBertIndex, ColBertModel, ColBertSettings, ColBertTokenizer,
};
use rankforge_model::precision::{cast_module, to_f32, Precision};
use rankforge_model::{rerank_run, EncoderConfig, LoadReport};

use crate::bi_encoder::wants_teacher;
use crate::config::{ColBertSection, EvalMode, TrainConfig};
use crate::data::{teacher_values, Group};
use crate::error::{Result, TrainError};
use crate::eval::{DevEvaluation, DevSet};
use crate::task::TrainTask;

/// Everything a ColBERT step and evaluation read.
#[derive(Debug)]
pub struct ColBertTask<'a, B: AutodiffBackend> {
    pub encoder_config: EncoderConfig,
    pub tokenizer: ColBertTokenizer,
    /// The directory training started from (its tokenizer files are copied when saving).
    pub base_dir: PathBuf,
    pub format: ColBertFormat,
    pub loss: Loss,
    pub corpus: &'a Corpus,
    pub dev: &'a DevSet,
    pub eval_batch_size: usize,
    pub eval_mode: EvalMode,
    pub device: B::Device,
    /// Forward/backward precision (master weights stay f32).
    pub precision: Precision,
}

/// The settings a new ColBERT gets from `[colbert]` (PyLate's defaults where unset).
pub fn new_model_settings(section: &ColBertSection) -> ColBertSettings {
    let mut settings = ColBertSettings::default();
    if let Some(prefix) = &section.query_prefix {
        settings.query_prefix = prefix.clone();
    }
    if let Some(prefix) = &section.document_prefix {
        settings.document_prefix = prefix.clone();
    }
    if let Some(attend) = section.attend_to_expansion_tokens {
        settings.attend_to_expansion_tokens = attend;
    }
    apply_lengths(&mut settings, section);
    settings
}

fn apply_lengths(settings: &mut ColBertSettings, section: &ColBertSection) {
    if let Some(length) = section.query_length {
        settings.query_length = length;
    }
    if let Some(length) = section.document_length {
        settings.document_length = length;
    }
}

impl<'a, B: AutodiffBackend> ColBertTask<'a, B> {
    /// Loads (or makes) the model; the load report says what was made up (a new projection).
    pub fn prepare(
        config: &TrainConfig,
        corpus: &'a Corpus,
        dev: &'a DevSet,
        device: &B::Device,
    ) -> Result<(Self, ColBertModel<B>, LoadReport)> {
        let base = &config.model.base;
        let section = config.colbert.clone().unwrap_or_default();
        let (colbert, report) = match ColBert::<B>::recognise(base) {
            Some(_) => {
                section.check_continuing(base)?;
                let (mut colbert, report) = ColBert::<B>::load(base, device)?;
                if section.query_length.is_some() || section.document_length.is_some() {
                    let mut settings = colbert.settings().clone();
                    apply_lengths(&mut settings, &section);
                    colbert.tokenizer = ColBertTokenizer::from_dir(base, &settings)?;
                }
                (colbert, report)
            }
            None => {
                let dim = section.dim.unwrap_or(crate::config::DEFAULT_COLBERT_DIM);
                let (colbert, mut report) = ColBert::<B>::from_encoder(
                    base,
                    dim,
                    config.run.seed,
                    &new_model_settings(&section),
                    device,
                )?;
                report.new_head_kind = Some(format!("ColBERT projection to {dim} dimensions"));
                (colbert, report)
            }
        };
        let positions = colbert.config.max_positions();
        let lengths = colbert
            .settings()
            .query_length
            .max(colbert.settings().document_length);
        if lengths > positions {
            return Err(TrainError::Other(format!(
                "[colbert] lengths ({lengths} tokens) exceed the {positions} positions of {}",
                base.display()
            )));
        }
        let ColBert {
            model,
            config: encoder_config,
            tokenizer,
            source_dir,
            format,
            ..
        } = colbert;
        let task = Self {
            encoder_config,
            tokenizer,
            base_dir: source_dir,
            format,
            loss: config.loss.build()?,
            corpus,
            dev,
            eval_batch_size: config.eval.batch_size,
            eval_mode: config.eval.mode,
            device: device.clone(),
            precision: config.run.precision,
        };
        Ok((task, model, report))
    }

    /// The model being trained as a scorer on the inner backend (dropout off), with this
    /// task's tokenizer and files.
    fn scorer(&self, model: &ColBertModel<B>) -> ColBert<B::InnerBackend> {
        let mut colbert = ColBert::from_parts(
            model.valid(),
            self.encoder_config.clone(),
            self.tokenizer.clone(),
            &self.base_dir,
            self.format,
            self.device.clone(),
        );
        colbert.run.batching.max_batch_size = self.eval_batch_size;
        colbert
    }

    /// Token vectors `[n, len, dim]` (f32) of tokenized sequences and which are scored
    /// (`[n, len]`: `keep` of each sequence, false at padding).
    fn encode(
        &self,
        model: &ColBertModel<B>,
        sequences: &[ColBertEncoded],
        keep: impl Fn(usize) -> bool,
    ) -> (Tensor<B, 3>, Tensor<B, 2, Bool>) {
        let refs: Vec<&ColBertEncoded> = sequences.iter().collect();
        let vectors = to_f32(model.forward(collate_colbert(&refs, &self.device)));
        let [n, len, _] = vectors.dims();
        let mut mask = vec![false; n * len];
        for (row, sequence) in sequences.iter().enumerate() {
            if keep(row) {
                for (col, &scored) in sequence.scored.iter().enumerate() {
                    mask[row * len + col] = scored;
                }
            }
        }
        let mask = Tensor::<B, 2, Bool>::from_data(TensorData::new(mask, [n, len]), &self.device);
        (vectors, mask)
    }
}

impl<B: AutodiffBackend> TrainTask<B> for ColBertTask<'_, B> {
    type Model = ColBertModel<B>;

    fn kind(&self) -> &'static str {
        "colbert"
    }

    fn pairs_in(&self, groups: &[Group]) -> usize {
        crate::data::real_entries(groups)
    }

    fn loss(&self, model: &Self::Model, groups: &[Group]) -> Result<Tensor<B, 1>> {
        let g = groups.len();
        let list = groups[0].docs.len();
        let queries: Vec<&str> = groups.iter().map(|gr| gr.query.as_str()).collect();
        let valid: Vec<bool> = groups.iter().flat_map(|gr| gr.valid.clone()).collect();
        let docs: Vec<&str> = groups
            .iter()
            .flat_map(|gr| gr.docs.iter().zip(&gr.valid))
            .map(|(d, &ok)| if ok { d.as_str() } else { "" })
            .collect();
        let model = &cast_module(model.clone(), self.precision);
        let query_sequences = self.tokenizer.encode_queries(&queries)?;
        let (q, query_mask) = self.encode(model, &query_sequences, |_| true);
        // Query vectors that are not scored (padding, or tokens without expansion) are zeroed:
        // their best product with any document vector is then 0, as if left out.
        let [_, lq, dim] = q.dims();
        let q = q * query_mask.float().reshape([g, lq, 1]);
        let doc_sequences = self.tokenizer.encode_documents(&docs)?;
        let (d, doc_mask) = self.encode(model, &doc_sequences, |row| valid[row]);
        debug_assert_eq!(d.dims()[2], dim);
        let valid_tensor = |values: Vec<bool>, shape: [usize; 2]| {
            Tensor::<B, 2, Bool>::from_data(TensorData::new(values, shape), &self.device)
        };
        if matches!(self.loss.config(), LossConfig::ColbertContrastive(_)) {
            let scores = maxsim_scores(q, d, doc_mask);
            let columns: Vec<bool> = (0..g).flat_map(|_| valid.iter().copied()).collect();
            let input = LossInput::from_scores(scores)
                .with_valid_mask(valid_tensor(columns, [g, g * list]));
            return Ok(self.loss.compute(&input)?);
        }
        let scores = maxsim_group_scores(q, d, doc_mask);
        let mut input =
            LossInput::from_scores(scores).with_valid_mask(valid_tensor(valid.clone(), [g, list]));
        if self.loss.inputs().uses(InputKind::Labels) {
            let labels: Vec<f32> = groups.iter().flat_map(|gr| gr.labels.clone()).collect();
            input = input.with_labels(Tensor::from_data(
                TensorData::new(labels, [g, list]),
                &self.device,
            ));
        }
        if wants_teacher(&self.loss, groups) {
            input = input.with_teacher_scores(Tensor::from_data(
                TensorData::new(teacher_values(groups, self.loss.name())?, [g, list]),
                &self.device,
            ));
        }
        Ok(self.loss.compute(&input)?)
    }

    fn evaluate(&self, model: &Self::Model) -> Result<DevEvaluation> {
        let scorer = self.scorer(model);
        let run = match self.eval_mode {
            EvalMode::Rerank => rerank_run(
                &scorer,
                self.corpus,
                &self.dev.queries,
                &self.dev.candidates,
                self.dev.top_k,
            )?,
            EvalMode::Retrieve => {
                let index = ColBertIndex::build(&scorer, self.corpus)?;
                let queries: Vec<(&str, &str)> = self
                    .dev
                    .queries
                    .iter()
                    .map(|q| (q.id.as_str(), q.text.as_str()))
                    .collect();
                index.search(&scorer, &queries, self.dev.top_k)?
            }
        };
        self.dev.evaluate_run(run)
    }

    fn save(&self, model: &Self::Model, dir: &Path) -> Result<()> {
        Ok(self.scorer(model).save(dir)?)
    }

    fn load(&self, dir: &Path) -> Result<Self::Model> {
        let (colbert, _) = ColBert::<B>::load(dir, &self.device)?;
        Ok(colbert.model)
    }

    /// The document length (queries run at `query_length`).
    fn max_length(&self) -> usize {
        self.tokenizer.settings().document_length
    }
}
