//! Second-stage scoring by either kind of reranker, behind one interface.
//!
//! A cross-encoder scores each (query, document) pair jointly; a ColBERT encodes queries and
//! documents apart and scores them by MaxSim, so a document met under several queries needs
//! encoding only once. [`CandidateScorer`] is what the rerank path ([`crate::RerankCandidates`],
//! [`crate::rerank_run`]) asks of a scorer: the scores of whole candidate lists, each document
//! named by an id, which lets each kind batch in its own way. [`Reranker`] is the one the
//! commands hold: loaded from a directory ([`Reranker::load`]), it is a ColBERT when the
//! directory is marked as one ([`crate::colbert::ColBertFormat::recognise`]) and a
//! cross-encoder otherwise, so `predict`, `rerank`, `evaluate` and the trainer's dev reranking
//! keep one inference path per model kind and a single place that decides between them.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::backend::Backend;

use crate::colbert::{maxsim_many, ColBert, TokenVectors};
use crate::cross_encoder::CrossEncoder;
use crate::error::{ModelError, Result};
use crate::hf::LoadReport;
use crate::inference::BatchingConfig;
use crate::load::DEFAULT_HEAD_SEED;
use crate::qwen3::{CausalLmFormat, CausalLmReranker, CausalLmSettings};
use crate::run_options::{Activation, RunOptions};
use crate::t5::{GenerativeReranker, GenerativeSettings, PromptTemplate, T5Config};
use crate::tokenize::{LongDocMode, LongDocSettings};
use rankforge_kernels::precision::Precision;

/// One query and its candidates, `(document id, document text)`. The id keys the document
/// cache of scorers that have one (ColBERT): the same id must mean the same text.
#[derive(Debug, Clone)]
pub struct CandidateList<'a> {
    pub query: &'a str,
    pub documents: Vec<(&'a str, &'a str)>,
}

/// Scores candidate lists: one score per document of each list, in order.
pub trait CandidateScorer {
    fn score_candidates(&self, lists: &[CandidateList<'_>]) -> Result<Vec<Vec<f32>>>;
}

/// Cuts `scores` (all lists' in order) back into one vector per list.
fn split_by_list(lists: &[CandidateList<'_>], scores: Vec<f32>) -> Vec<Vec<f32>> {
    let mut scores = scores.into_iter();
    lists
        .iter()
        .map(|list| scores.by_ref().take(list.documents.len()).collect())
        .collect()
}

/// The candidate lists of a pairwise scorer (cross-encoders, generative rerankers: each
/// pair's input is its own, so there is nothing to cache): every pair scored in one call of
/// `score` (one pass through the shared batching), cut back into one vector per list.
pub(crate) fn score_lists_pairwise(
    lists: &[CandidateList<'_>],
    score: impl FnOnce(&[(&str, &str)]) -> Result<Vec<f32>>,
) -> Result<Vec<Vec<f32>>> {
    let pairs: Vec<(&str, &str)> = lists
        .iter()
        .flat_map(|list| {
            list.documents
                .iter()
                .map(move |&(_, text)| (list.query, text))
        })
        .collect();
    Ok(split_by_list(lists, score(&pairs)?))
}

impl<B: Backend> CandidateScorer for CrossEncoder<B> {
    /// Every pair in one pass through the shared inference path.
    fn score_candidates(&self, lists: &[CandidateList<'_>]) -> Result<Vec<Vec<f32>>> {
        score_lists_pairwise(lists, |pairs| self.score(pairs))
    }
}

/// Distinct documents a ColBERT encodes at once while reranking: bounds the vectors held
/// (`DOCUMENT_CHUNK × document_length × dim × 4` bytes at most, ~190 MB for 2048 documents of
/// 180 tokens at dim 128) while each document is still encoded once.
const DOCUMENT_CHUNK: usize = 2048;

impl<B: Backend> CandidateScorer for ColBert<B> {
    /// Each distinct query text is encoded once, and each distinct document id once per call
    /// (a run's candidates: a document retrieved for many queries costs one encoding), in
    /// chunks of [`DOCUMENT_CHUNK`] documents whose vectors are dropped once their pairs are
    /// scored. Scores are MaxSim over the scored vectors ([`maxsim_many`]: one matrix product
    /// per list and chunk, as PyLate scores a candidate list), as [`ColBert::score`] gives.
    fn score_candidates(&self, lists: &[CandidateList<'_>]) -> Result<Vec<Vec<f32>>> {
        let mut query_index: HashMap<&str, usize> = HashMap::new();
        let mut query_texts: Vec<&str> = Vec::new();
        let list_query: Vec<usize> = lists
            .iter()
            .map(|list| {
                *query_index.entry(list.query).or_insert_with(|| {
                    query_texts.push(list.query);
                    query_texts.len() - 1
                })
            })
            .collect();
        let queries = self.encode_queries(&query_texts)?;

        // Distinct documents in order of first appearance, with every (list, position) that
        // holds them.
        let mut document_index: HashMap<&str, usize> = HashMap::new();
        let mut documents: Vec<(&str, Vec<(usize, usize)>)> = Vec::new();
        for (l, list) in lists.iter().enumerate() {
            for (p, &(id, text)) in list.documents.iter().enumerate() {
                let index = *document_index.entry(id).or_insert_with(|| {
                    documents.push((text, Vec::new()));
                    documents.len() - 1
                });
                documents[index].1.push((l, p));
            }
        }
        let mut out: Vec<Vec<f32>> = lists
            .iter()
            .map(|list| vec![0.0; list.documents.len()])
            .collect();
        for chunk in documents.chunks(DOCUMENT_CHUNK) {
            let texts: Vec<&str> = chunk.iter().map(|(text, _)| *text).collect();
            let vectors: Vec<TokenVectors> = self.encode_documents(&texts)?;
            // Each list's documents of this chunk, scored against its query in one product.
            let mut by_list: Vec<Vec<(usize, &TokenVectors)>> = vec![Vec::new(); lists.len()];
            for ((_, places), document) in chunk.iter().zip(&vectors) {
                for &(l, p) in places {
                    by_list[l].push((p, document));
                }
            }
            for (l, members) in by_list.iter().enumerate() {
                if members.is_empty() {
                    continue;
                }
                let refs: Vec<&TokenVectors> = members.iter().map(|&(_, d)| d).collect();
                let scores = maxsim_many::<B>(&queries[list_query[l]], &refs, &self.device);
                for (&(p, _), score) in members.iter().zip(scores) {
                    out[l][p] = score;
                }
            }
        }
        Ok(out)
    }
}

/// How [`Reranker::load`] loads either kind.
#[derive(Debug, Clone)]
pub struct RerankerOptions {
    /// Cross-encoder: tokens per pair (default: as saved). ColBERT: the document length
    /// (default: the saved `document_length`); queries keep their `query_length`.
    pub max_length: Option<usize>,
    pub precision: Precision,
    pub batching: BatchingConfig,
    pub progress: bool,
    /// Cross-encoder only: the seed of a head made for a checkpoint without one.
    pub head_seed: u64,
    /// Cross-encoder only: sigmoid (default) or raw logits. ColBERT scores are MaxSim sums,
    /// with no activation.
    pub activation: Activation,
    /// Cross-encoder only: truncation or max-chunk. A ColBERT truncates documents at its
    /// document length; max-chunk is refused for it.
    pub long_doc: LongDocSettings,
    /// Generative rerankers (T5) only: the prompt and score rule (default: castorini's monoT5,
    /// `logit(▁true) − logit(▁false)`). Activation applies to the raw score as for a
    /// cross-encoder's logit.
    pub generative: Option<GenerativeSettings>,
}

impl Default for RerankerOptions {
    fn default() -> Self {
        Self {
            max_length: None,
            precision: Precision::default(),
            batching: BatchingConfig::default(),
            progress: false,
            head_seed: DEFAULT_HEAD_SEED,
            activation: Activation::Sigmoid,
            long_doc: LongDocSettings::from(LongDocMode::Truncate),
            generative: None,
        }
    }
}

/// The prompt and score-token settings of a generative reranker as a command's flags or an
/// `evaluate` entry's keys give them, before the model's kind is known: [`Self::split`] hands
/// them to the kind the directory holds (T5: [`GenerativeSettings`]; decoder-only:
/// [`CausalLmSettings`]) and refuses those that do not apply to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerativeOptions {
    /// T5 only: `mono` or `rank`.
    pub template: Option<PromptTemplate>,
    /// Decoder-only only: a Jinja template with `{{ query }}` and `{{ document }}`, or the path
    /// of a file holding one.
    pub prompt_template: Option<String>,
    /// Either kind: the token whose logit scores relevance.
    pub true_token: Option<String>,
    /// Either kind: the token whose logit is subtracted; `none`: the true token's logit alone.
    pub false_token: Option<String>,
    /// Decoder-only only: the system message before each pair (`""`: none).
    pub instruction: Option<String>,
}

impl GenerativeOptions {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The settings for the model in `dir`: `(T5 settings, decoder-only settings)`, at most one
    /// of them set. Fails when a setting does not apply to the directory's kind (`names`: how
    /// the caller calls `[template, prompt_template, true_token, false_token, instruction]`,
    /// for the message).
    pub fn split(
        &self,
        dir: &Path,
        names: [&str; 5],
    ) -> Result<(Option<GenerativeSettings>, Option<CausalLmSettings>)> {
        let [template, prompt_template, true_token, false_token, instruction] = names;
        if self.is_empty() {
            return Ok((None, None));
        }
        if T5Config::is_conditional_generation_dir(dir) {
            if self.prompt_template.is_some() || self.instruction.is_some() {
                return Err(ModelError::Invalid(format!(
                    "{}: {prompt_template} / {instruction} are for decoder-only rerankers \
                     (*ForCausalLM or sentence-transformers LogitScore directories); a T5 takes \
                     {template}",
                    dir.display()
                )));
            }
            let settings = GenerativeSettings::from_parts(
                self.template,
                self.true_token.as_deref(),
                self.false_token.as_deref(),
            );
            return Ok((settings, None));
        }
        if CausalLmFormat::recognise(dir).is_some() {
            if self.template.is_some() {
                return Err(ModelError::Invalid(format!(
                    "{}: {template} is for T5 generative rerankers; a decoder-only reranker takes \
                     {prompt_template} (a Jinja template with {{{{ query }}}} and \
                     {{{{ document }}}})",
                    dir.display()
                )));
            }
            if self.false_token.is_some() && self.true_token.is_none() {
                return Err(ModelError::Invalid(format!(
                    "{}: {false_token} replaces the pair of score tokens with {true_token}; set \
                     both",
                    dir.display()
                )));
            }
            let prompt_template = match &self.prompt_template {
                Some(t) if Path::new(t).is_file() => Some(
                    std::fs::read_to_string(t)
                        .map_err(|e| ModelError::Invalid(format!("{prompt_template} {t}: {e}")))?,
                ),
                other => other.clone(),
            };
            let settings = CausalLmSettings {
                prompt_template,
                true_token: self.true_token.clone(),
                false_token: self
                    .false_token
                    .clone()
                    .filter(|t| !t.is_empty() && t != "none"),
                instruction: self.instruction.clone(),
                flag_llm_prompt: None,
            };
            return Ok((None, Some(settings)));
        }
        Err(ModelError::Invalid(format!(
            "{}: {template} / {prompt_template} / {true_token} / {false_token} / {instruction} \
             are for generative rerankers (T5ForConditionalGeneration, *ForCausalLM or \
             sentence-transformers LogitScore directories)",
            dir.display()
        )))
    }
}

/// A loaded second-stage model of either kind.
#[derive(Debug)]
pub enum Reranker<B: Backend> {
    CrossEncoder(Box<CrossEncoder<B>>),
    /// Both boxed: the two models differ much in size.
    ColBert(Box<ColBert<B>>),
    /// A T5 scoring by its first decoded token (monoT5, RankT5).
    Generative(Box<GenerativeReranker<B>>),
    /// A decoder-only LM scoring by its next token at the last position (Qwen3-Reranker,
    /// bge-reranker-v2-gemma, sentence-transformers `LogitScore` directories).
    CausalLm(Box<CausalLmReranker<B>>),
}

impl<B: Backend> Reranker<B> {
    /// A ColBERT if `dir` is marked as one ([`ColBert::recognise`]: PyLate or Stanford
    /// format), a generative reranker if it is a `T5ForConditionalGeneration`
    /// ([`T5Config::is_conditional_generation_dir`]), else a cross-encoder through
    /// [`CrossEncoder::builder`].
    pub fn load(
        dir: impl AsRef<Path>,
        options: &RerankerOptions,
        device: &B::Device,
    ) -> Result<(Self, LoadReport)> {
        Self::load_with(dir, options, None, device)
    }

    /// [`Self::load`], and a decoder-only reranker (a sentence-transformers directory with a
    /// `LogitScore` module, or a `*ForCausalLM` directory: [`CausalLmFormat::recognise`]) with
    /// `causal_lm` over what its directory says (prompt template, score tokens).
    pub fn load_with(
        dir: impl AsRef<Path>,
        options: &RerankerOptions,
        causal_lm: Option<CausalLmSettings>,
        device: &B::Device,
    ) -> Result<(Self, LoadReport)> {
        let dir = dir.as_ref();
        if causal_lm.is_some() && CausalLmFormat::recognise(dir).is_none() {
            return Err(ModelError::Invalid(format!(
                "{}: a prompt template and score tokens are for decoder-only rerankers (a \
                 sentence-transformers LogitScore directory or a *ForCausalLM directory)",
                dir.display()
            )));
        }
        let run = RunOptions {
            batching: options.batching.clone(),
            progress: options.progress,
        };
        if ColBert::<B>::recognise(dir).is_some() {
            if options.long_doc.mode != LongDocMode::Truncate {
                return Err(ModelError::Invalid(format!(
                    "{}: a ColBERT model truncates documents at its document length; max-chunk \
                     is for cross-encoders",
                    dir.display()
                )));
            }
            let (colbert, report) = ColBert::<B>::load_for_inference(
                dir,
                device,
                run,
                options.precision,
                options.max_length,
            )?;
            return Ok((Self::ColBert(Box::new(colbert)), report));
        }
        if T5Config::is_conditional_generation_dir(dir) {
            if options.long_doc.mode != LongDocMode::Truncate {
                return Err(ModelError::Invalid(format!(
                    "{}: a generative reranker cuts the document to fit its prompt; max-chunk \
                     is for cross-encoders",
                    dir.display()
                )));
            }
            let (scorer, report) = GenerativeReranker::<B>::load(
                dir,
                options.generative.clone(),
                options.max_length,
                options.activation,
                run,
                options.precision,
                device,
            )?;
            return Ok((Self::Generative(Box::new(scorer)), report));
        }
        if CausalLmFormat::recognise(dir).is_some() {
            if options.long_doc.mode != LongDocMode::Truncate {
                return Err(ModelError::Invalid(format!(
                    "{}: a decoder-only reranker cuts the pair to fit its prompt; max-chunk is \
                     for cross-encoders",
                    dir.display()
                )));
            }
            let (scorer, report) = CausalLmReranker::<B>::load(
                dir,
                causal_lm,
                options.max_length,
                options.activation,
                run,
                options.precision,
                device,
            )?;
            return Ok((Self::CausalLm(Box::new(scorer)), report));
        }
        let (scorer, report) = CrossEncoder::<B>::builder(dir)
            .max_length(options.max_length)
            .precision(options.precision)
            .head_seed(options.head_seed)
            .batching(options.batching.clone())
            .progress(options.progress)
            .activation(options.activation)
            .long_doc(options.long_doc)
            .load(device)?;
        Ok((Self::CrossEncoder(Box::new(scorer)), report))
    }

    /// `"cross-encoder"`, `"ColBERT"`, `"generative (T5)"` or `"decoder-only (Qwen3 / Gemma)"`, for
    /// messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CrossEncoder(_) => "cross-encoder",
            Self::ColBert(_) => "ColBERT",
            Self::Generative(_) => "generative (T5)",
            Self::CausalLm(_) => "decoder-only (Qwen3 / Gemma)",
        }
    }

    /// One score per (query, document) pair, in order. A ColBERT encodes each distinct query
    /// and document text once.
    pub fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        match self {
            Self::CrossEncoder(scorer) => scorer.score(pairs),
            Self::Generative(scorer) => scorer.score(pairs),
            Self::CausalLm(scorer) => scorer.score(pairs),
            Self::ColBert(colbert) => {
                // The text is the document's key: pairs carry no ids.
                let lists: Vec<CandidateList<'_>> = pairs
                    .iter()
                    .map(|&(query, document)| CandidateList {
                        query,
                        documents: vec![(document, document)],
                    })
                    .collect();
                Ok(colbert
                    .score_candidates(&lists)?
                    .into_iter()
                    .flatten()
                    .collect())
            }
        }
    }
}

impl<B: Backend> CandidateScorer for Reranker<B> {
    fn score_candidates(&self, lists: &[CandidateList<'_>]) -> Result<Vec<Vec<f32>>> {
        match self {
            Self::CrossEncoder(scorer) => scorer.score_candidates(lists),
            Self::ColBert(colbert) => colbert.score_candidates(lists),
            Self::Generative(scorer) => scorer.score_candidates(lists),
            Self::CausalLm(scorer) => scorer.score_candidates(lists),
        }
    }
}
