//! Generative reranking with a T5 (monoT5, RankT5): the (query, document) pair as a prompt,
//! one encoder pass and one decoder step from `decoder_start_token_id`, and the score read off
//! the LM head's logits of one or two tokens at that step.
//!
//! - monoT5 (Nogueira et al. 2020; castorini's checkpoints): `Query: {q} Document: {d}
//!   Relevant:` + `</s>`, raw score `logit(▁true) − logit(▁false)`, the log-odds of "true":
//!   its sigmoid is the 2-way softmax `softmax([true, false])[0]` that pygaggle reports (mT5
//!   rerankers answer `▁yes` / `▁no`: set the tokens).
//! - RankT5 (Zhuang et al. 2023): `Query: {q} Document: {d}` + `</s>`, raw score the logit of
//!   one token (`<extra_id_10>`), no "false" token.
//!
//! The prompt is tokenized whole (so ids are the tokenizer's own for any prompt that fits);
//! one that is longer than the max length loses document tokens from the end of the document,
//! never the template's end (`Relevant:`, `</s>`). Prompts go through the shared batching
//! ([`RunOptions::run`]: length-sorted batches under a token budget, padded per batch), and
//! only the scored tokens' rows of the LM head are multiplied.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use super::config::T5Config;
use super::io;
use super::model::T5ForConditionalGeneration;
use crate::error::{ModelError, Result};
use crate::hf::{self, LoadReport};
use crate::inference::ActivationShape;
use crate::reranker::{CandidateList, CandidateScorer};
use crate::run_options::{Activation, RunOptions};
use crate::tokenize::Encoded;
use rankforge_kernels::precision::{cast_module, Precision};

/// The prompt around a (query, document) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PromptTemplate {
    /// monoT5's `Query: {q} Document: {d} Relevant:`.
    #[default]
    Mono,
    /// RankT5's `Query: {q} Document: {d}`.
    Rank,
}

impl PromptTemplate {
    /// The prompt of a pair, and the byte span of the document in it.
    pub fn prompt(self, query: &str, document: &str) -> (String, (usize, usize)) {
        let prefix = format!("Query: {query} Document: ");
        let span = (prefix.len(), prefix.len() + document.len());
        let prompt = match self {
            PromptTemplate::Mono => format!("{prefix}{document} Relevant:"),
            PromptTemplate::Rank => format!("{prefix}{document}"),
        };
        (prompt, span)
    }

    fn describe(self) -> &'static str {
        match self {
            PromptTemplate::Mono => "monoT5 prompt `Query: {q} Document: {d} Relevant:`",
            PromptTemplate::Rank => "RankT5 prompt `Query: {q} Document: {d}`",
        }
    }
}

/// How a generative reranker turns a pair into a score. The default is castorini's monoT5:
/// monoT5's prompt, `logit(▁true) − logit(▁false)`. RankT5:
/// `{ template = "rank", true_token = "<extra_id_10>", false_token = null }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerativeSettings {
    pub template: PromptTemplate,
    /// The token whose logit scores relevance (a vocabulary piece, e.g. `▁true`, `▁yes`,
    /// `<extra_id_10>`).
    pub true_token: String,
    /// The token whose logit is subtracted (`▁false`, `▁no`); none: the raw score is the
    /// true token's logit alone.
    pub false_token: Option<String>,
}

impl Default for GenerativeSettings {
    fn default() -> Self {
        Self::mono_t5()
    }
}

impl GenerativeSettings {
    /// castorini's monoT5: `▁true` / `▁false`.
    pub fn mono_t5() -> Self {
        Self {
            template: PromptTemplate::Mono,
            true_token: "▁true".into(),
            false_token: Some("▁false".into()),
        }
    }

    /// RankT5: the logit of `<extra_id_10>`.
    pub fn rank_t5() -> Self {
        Self {
            template: PromptTemplate::Rank,
            true_token: "<extra_id_10>".into(),
            false_token: None,
        }
    }

    /// Settings from the separate command-line / config keys (`--generative-template`,
    /// `--true-token`, `--false-token`): none when no key is given; otherwise the template's
    /// own rule (mono: `▁true` / `▁false`, rank: `<extra_id_10>` alone) with the tokens given
    /// put in its place. A false token of `none` (or empty) scores by the true token alone.
    pub fn from_parts(
        template: Option<PromptTemplate>,
        true_token: Option<&str>,
        false_token: Option<&str>,
    ) -> Option<Self> {
        if template.is_none() && true_token.is_none() && false_token.is_none() {
            return None;
        }
        let mut settings = match template.unwrap_or_default() {
            PromptTemplate::Mono => Self::mono_t5(),
            PromptTemplate::Rank => Self::rank_t5(),
        };
        if let Some(token) = true_token {
            settings.true_token = token.to_string();
        }
        if let Some(token) = false_token {
            settings.false_token = match token {
                "" | "none" => None,
                token => Some(token.to_string()),
            };
        }
        Some(settings)
    }

    /// The rule in words, for the load notice.
    pub fn describe(&self) -> String {
        let rule = match &self.false_token {
            Some(f) => format!("logit({}) − logit({f})", self.true_token),
            None => format!("logit({})", self.true_token),
        };
        format!(
            "generative reranker (T5), {}; score = {rule} at the first decoder step",
            self.template.describe()
        )
    }
}

/// The max length of a prompt unless set: monoT5's and RankT5's training length.
pub const DEFAULT_MAX_LENGTH: usize = 512;

/// A T5 that scores (query, document) pairs by its first decoded token.
#[derive(Debug)]
pub struct GenerativeReranker<B: Backend> {
    pub model: T5ForConditionalGeneration<B>,
    pub config: T5Config,
    prompts: GenerativePrompts,
    settings: GenerativeSettings,
    /// The scored ids: the true token, then the false token if any.
    token_ids: Vec<u32>,
    activation: Activation,
    run: RunOptions,
    device: B::Device,
    source_dir: PathBuf,
}

impl<B: Backend> GenerativeReranker<B> {
    /// Loads a `T5ForConditionalGeneration` directory (`config.json`, `model.safetensors`,
    /// `tokenizer.json`) to score with `settings` (default: castorini's monoT5 rule), prompts cut
    /// at `max_length` tokens (default: `tokenizer_config.json`'s `model_max_length`, else
    /// [`DEFAULT_MAX_LENGTH`]), scores through `activation`
    /// (sigmoid of the raw score, or the raw score). The report's notes name the rule.
    pub fn load(
        dir: impl AsRef<Path>,
        settings: Option<GenerativeSettings>,
        max_length: Option<usize>,
        activation: Activation,
        run: RunOptions,
        precision: Precision,
        device: &B::Device,
    ) -> Result<(Self, LoadReport)> {
        let dir = dir.as_ref();
        precision
            .check_backend::<B>()
            .map_err(ModelError::Invalid)?;
        let settings = settings.unwrap_or_default();
        let (model, config, found) = io::load::<B>(dir, device)?;
        let tokenizer_path = hf::file_in(dir, hf::TOKENIZER_FILE)?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let token_id = |token: &str| -> Result<u32> {
            let id = tokenizer.token_to_id(token).ok_or_else(|| {
                ModelError::Tokenizer(format!(
                    "{}: no token {token:?} to score with (set the generative reranker's \
                     true/false tokens to vocabulary pieces, e.g. ▁true / ▁false, ▁yes / ▁no, \
                     <extra_id_10>)",
                    tokenizer_path.display()
                ))
            })?;
            if id as usize >= config.vocab_size {
                return Err(ModelError::Invalid(format!(
                    "{}: token {token:?} has id {id}, past the model's {} rows",
                    dir.display(),
                    config.vocab_size
                )));
            }
            Ok(id)
        };
        let mut token_ids = vec![token_id(&settings.true_token)?];
        if let Some(false_token) = &settings.false_token {
            token_ids.push(token_id(false_token)?);
        }
        let (max_length, length_source) = match max_length {
            Some(n) if n < 8 => {
                return Err(ModelError::Invalid(format!(
                    "max length {n} is too small for a prompt (at least 8)"
                )))
            }
            Some(n) => (n, "set at load".to_string()),
            None => match hf::saved_max_length(dir)? {
                Some((n, hf::SavedLengthSource::TokenizerConfig)) if n >= 8 => {
                    (n, hf::SavedLengthSource::TokenizerConfig.to_string())
                }
                _ => (
                    DEFAULT_MAX_LENGTH,
                    "monoT5 / RankT5 prompt length".to_string(),
                ),
            },
        };
        let mut notes = vec![settings.describe()];
        if !config.tie_word_embeddings && !found.own_lm_head {
            notes.push(
                "tie_word_embeddings is false but the checkpoint has no lm_head.weight: the \
                 shared embedding is the LM head (as transformers ties it)"
                    .into(),
            );
        }
        let report = LoadReport {
            unused: found.unused,
            source: dir.to_path_buf(),
            max_length: Some((max_length, length_source)),
            notes,
            ..Default::default()
        };
        let model = cast_module(model, precision);
        let prompts = GenerativePrompts {
            tokenizer,
            template: settings.template,
            max_length,
            eos: config.eos_id().expect("a checked config has an eos id"),
        };
        Ok((
            Self {
                model,
                config,
                prompts,
                settings,
                token_ids,
                activation,
                run,
                device: device.clone(),
                source_dir: dir.to_path_buf(),
            },
            report,
        ))
    }

    pub fn settings(&self) -> &GenerativeSettings {
        &self.settings
    }

    /// The model, and everything else that scores with it (a trainer trains the model and
    /// rebuilds a scorer around each version: [`GenerativeParts::with_model`]).
    pub fn split(self) -> (T5ForConditionalGeneration<B>, GenerativeParts) {
        let parts = GenerativeParts {
            config: self.config,
            prompts: self.prompts,
            settings: self.settings,
            token_ids: self.token_ids,
            activation: self.activation,
            run: self.run,
            source_dir: self.source_dir,
        };
        (self.model, parts)
    }

    pub fn max_length(&self) -> usize {
        self.prompts.max_length
    }

    /// The prompt encoder (cheap to clone): what a server tokenizes with off the model's
    /// thread.
    /// Prompts per forward pass at most.
    pub fn set_batch_size(&mut self, max_batch_size: usize) {
        self.run.batching.max_batch_size = max_batch_size;
    }

    pub fn prompts(&self) -> &GenerativePrompts {
        &self.prompts
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The ids whose logits are read: the true token, then the false token if any.
    pub fn token_ids(&self) -> &[u32] {
        &self.token_ids
    }

    pub fn source_dir(&self) -> &Path {
        &self.source_dir
    }

    /// The prompt ids of each pair (`</s>` last), documents cut to fit the max length.
    pub fn encode(&self, pairs: &[(&str, &str)]) -> Result<Vec<Vec<u32>>> {
        self.prompts.encode(pairs)
    }

    /// The raw scores of already encoded prompts (true − false logit, or the true logit), in
    /// order, through the shared batching.
    pub fn raw_scores_encoded(&self, prompts: &[Vec<u32>]) -> Vec<f32> {
        let sequences: Vec<Encoded> = prompts
            .iter()
            .map(|ids| GenerativePrompts::sequence(ids.clone()))
            .collect();
        self.raw_scores_sequences(&sequences)
    }

    /// The raw scores of prompts already made sequences ([`GenerativePrompts::sequence`]).
    pub fn raw_scores_sequences(&self, sequences: &[Encoded]) -> Vec<f32> {
        let shape = ActivationShape {
            heads: self.config.num_heads,
            widest_row: self
                .config
                .d_ff
                .max(self.config.num_heads * self.config.d_kv),
        };
        let start = self.config.decoder_start_id();
        let rows = self
            .run
            .run::<B>(sequences, shape, &self.device, "scoring", |input| {
                self.model.first_step_logits(&input, start, &self.token_ids)
            });
        rows.iter()
            .map(|row| match row.as_slice() {
                [t, f] => t - f,
                [t] => *t,
                _ => unreachable!("one or two scored tokens"),
            })
            .collect()
    }

    /// The raw scores of (query, document) pairs.
    pub fn raw_scores(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        Ok(self.raw_scores_encoded(&self.encode(pairs)?))
    }

    /// The scores of (query, document) pairs: the raw scores through the activation (sigmoid,
    /// the probability of the true token against the false one, unless raw).
    pub fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        Ok(self
            .raw_scores(pairs)?
            .into_iter()
            .map(|s| self.activation.apply(s))
            .collect())
    }
}

/// A [`GenerativeReranker`] without its model ([`GenerativeReranker::split`]).
#[derive(Debug, Clone)]
pub struct GenerativeParts {
    pub config: T5Config,
    pub prompts: GenerativePrompts,
    pub settings: GenerativeSettings,
    /// The scored ids: the true token, then the false token if any.
    pub token_ids: Vec<u32>,
    pub activation: Activation,
    pub run: RunOptions,
    /// The directory the model was loaded from (config and tokenizer files).
    pub source_dir: PathBuf,
}

impl GenerativeParts {
    /// A scorer around `model` (on any backend).
    pub fn with_model<B2: Backend>(
        &self,
        model: T5ForConditionalGeneration<B2>,
        device: &B2::Device,
    ) -> GenerativeReranker<B2> {
        GenerativeReranker {
            model,
            config: self.config.clone(),
            prompts: self.prompts.clone(),
            settings: self.settings.clone(),
            token_ids: self.token_ids.clone(),
            activation: self.activation,
            run: self.run.clone(),
            device: device.clone(),
            source_dir: self.source_dir.clone(),
        }
    }
}

/// Turns (query, document) pairs into a generative reranker's prompt ids: the template,
/// tokenized whole, documents cut to fit the max length, `</s>` last. Cloned out of a
/// [`GenerativeReranker`] ([`GenerativeReranker::prompts`]) so that tokenizing can run off the
/// model's thread.
#[derive(Debug, Clone)]
pub struct GenerativePrompts {
    pub(super) tokenizer: Tokenizer,
    template: PromptTemplate,
    pub(super) max_length: usize,
    pub(super) eos: u32,
}

impl GenerativePrompts {
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn template(&self) -> PromptTemplate {
        self.template
    }

    fn tokenize(
        &self,
        pairs: &[(&str, &str)],
    ) -> Result<Vec<(tokenizers::Encoding, (usize, usize))>> {
        let prompts: Vec<(String, (usize, usize))> = pairs
            .iter()
            .map(|&(q, d)| self.template.prompt(q, d))
            .collect();
        let texts: Vec<&str> = prompts.iter().map(|(p, _)| p.as_str()).collect();
        let encodings = self
            .tokenizer
            .encode_batch(texts, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(encodings
            .into_iter()
            .zip(prompts.into_iter().map(|(_, span)| span))
            .collect())
    }

    /// The prompt ids of each pair (`</s>` last), documents cut to fit the max length.
    pub fn encode(&self, pairs: &[(&str, &str)]) -> Result<Vec<Vec<u32>>> {
        Ok(self
            .tokenize(pairs)?
            .iter()
            .map(|(encoding, span)| {
                let mut ids = fit(
                    encoding.get_ids(),
                    encoding.get_offsets(),
                    *span,
                    self.max_length - 1,
                );
                ids.push(self.eos);
                ids
            })
            .collect())
    }

    /// The length of each pair's whole prompt (`</s>` included) before any cut.
    pub fn full_lengths(&self, pairs: &[(&str, &str)]) -> Result<Vec<usize>> {
        Ok(self
            .tokenize(pairs)?
            .iter()
            .map(|(encoding, _)| encoding.get_ids().len() + 1)
            .collect())
    }

    /// `document` cut to its first `max_tokens` tokens (as the tokenizer reads the document
    /// alone), at a token boundary.
    pub fn cut_document<'a>(&self, document: &'a str, max_tokens: usize) -> Result<&'a str> {
        let encoding = self
            .tokenizer
            .encode(document, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let offsets = encoding.get_offsets();
        if offsets.len() <= max_tokens {
            return Ok(document);
        }
        let end = match max_tokens {
            0 => 0,
            n => offsets[n - 1].1,
        };
        Ok(&document[..end.min(document.len())])
    }

    /// Prompt ids as a sequence of the shared inference path (no token types).
    pub fn sequence(ids: Vec<u32>) -> Encoded {
        let n = ids.len();
        Encoded {
            ids,
            type_ids: vec![0; n],
        }
    }
}

/// `ids` (with byte `offsets`) of a prompt cut to `budget` tokens: the tokens overlapping the
/// document's bytes `span` go first, from the document's end; if the rest is still too long,
/// it loses tokens from its start, so the template's end always stays.
pub fn fit(
    ids: &[u32],
    offsets: &[(usize, usize)],
    span: (usize, usize),
    budget: usize,
) -> Vec<u32> {
    if ids.len() <= budget {
        return ids.to_vec();
    }
    let (start, end) = span;
    let in_document: Vec<bool> = offsets.iter().map(|&(s, e)| s < end && e > start).collect();
    let document_tokens = in_document.iter().filter(|&&d| d).count();
    let keep = document_tokens.saturating_sub(ids.len() - budget);
    let mut seen = 0;
    let kept: Vec<u32> = ids
        .iter()
        .zip(&in_document)
        .filter(|(_, &inside)| {
            if inside {
                seen += 1;
                seen <= keep
            } else {
                true
            }
        })
        .map(|(&id, _)| id)
        .collect();
    kept[kept.len().saturating_sub(budget)..].to_vec()
}

impl<B: Backend> CandidateScorer for GenerativeReranker<B> {
    /// Every pair in one pass through the shared batching (no per-document cache: each pair's
    /// prompt is its own).
    fn score_candidates(&self, lists: &[CandidateList<'_>]) -> Result<Vec<Vec<f32>>> {
        crate::reranker::score_lists_pairwise(lists, |pairs| self.score(pairs))
    }
}

/// A generative reranker as a hard-negative miner's rescorer (the scores through the
/// activation, as for a cross-encoder).
impl<B: Backend> rankforge_mining::Rescorer for GenerativeReranker<B>
where
    B::Device: Sync,
{
    fn score_pairs(&self, pairs: &[(&str, &str)]) -> rankforge_mining::Result<Vec<f64>> {
        crate::dense_index::rescores(self.score(pairs))
    }

    fn name(&self) -> &str {
        "generative reranker"
    }
}
