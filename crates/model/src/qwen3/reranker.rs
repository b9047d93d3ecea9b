//! Decoder-only yes/no reranking ([`CausalLmReranker`]): the (query, document) pair as a
//! prompt ([`PromptBuilder`]), one causal pass over the left-padded batch, and the score read
//! at the last position off the LM head's rows of one or two tokens: `logit(true) −
//! logit(false)` (the log-odds of "yes": its sigmoid is the 2-way softmax), or the true token's
//! logit alone. Prompts go through the shared batching ([`RunOptions::run`]: length-sorted
//! batches under a token budget), and only the scored rows of the LM head are kept after load.
//!
//! Two directory formats:
//! - sentence-transformers 6 (`CrossEncoder(…).save`): `modules.json` with a `Transformer`
//!   (`sentence_bert_config.json`: `transformer_task: "text-generation"`, the message format,
//!   `processing_kwargs.chat_template`, `max_seq_length`) and a `LogitScore` module
//!   (`true_token_id`, `false_token_id`); the prompt is the model's chat template over the
//!   `query` and `document` roles;
//! - a plain `Qwen3ForCausalLM` / `GemmaForCausalLM` directory: the prompt is
//!   [`CausalLmSettings::prompt_template`]
//!   (or the tokenizer's chat template), the tokens `yes` / `no` unless set (as
//!   sentence-transformers picks them for such a directory).

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokenizers::Tokenizer;

use super::config::{architecture, Qwen3Config};
use super::io;
use super::model::Qwen3ForCausalLM;
use super::prompt::{self, MessageFormat, PromptBuilder, TemplateKind};
use crate::error::{ModelError, Result};
use crate::hf::{self, LoadReport};
use crate::inference::ActivationShape;
use crate::reranker::{CandidateList, CandidateScorer};
use crate::run_options::{Activation, RunOptions};
use crate::tokenize::Encoded;
use rankforge_kernels::precision::{cast_module, Precision};

/// What to change in a decoder-only reranker's prompt and score tokens (all unset: as the
/// directory says).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CausalLmSettings {
    /// A Jinja template of the whole prompt with `{{ query }}` and `{{ document }}` (e.g.
    /// `"<|im_start|>user\n<Query>: {{ query }}\n<Document>: {{ document }}<|im_end|>\n<|im_start|>assistant\n"`).
    /// Default: the model's chat template over the `query` and `document` roles.
    pub prompt_template: Option<String>,
    /// The token whose logit scores relevance (a vocabulary piece, e.g. `yes`). Setting it
    /// replaces the directory's pair: the false token is then [`Self::false_token`] or none.
    pub true_token: Option<String>,
    /// The token whose logit is subtracted (e.g. `no`); none: the raw score is the true
    /// token's logit alone.
    pub false_token: Option<String>,
    /// A system message before each pair (sentence-transformers' `prompt`, e.g.
    /// Qwen3-Reranker's task instruction when its chat template renders one); a plain template
    /// sees it as `{{ instruction }}`. Default: the saved default prompt
    /// (`config_sentence_transformers.json`'s `default_prompt_name`), else none; `""`: none.
    pub instruction: Option<String>,
    /// FlagEmbedding's LLM-reranker layout with this instruction instead of a template (its
    /// pieces tokenized apart: BOS, `A: {query}`, `\n`, `B: {document}`, `\n`, the
    /// instruction; the max length, by default 512, counts all but the last two):
    /// bge-reranker-v2-gemma's documented use ([`Self::bge_reranker_v2_gemma`]).
    pub flag_llm_prompt: Option<String>,
}

/// bge-reranker-v2-gemma's instruction (FlagEmbedding's `FlagLLMReranker`).
pub const BGE_GEMMA_PROMPT: &str = "Given a query A and a passage B, determine whether the \
    passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'.";

/// FlagEmbedding's default max length of the query and passage pieces.
pub const FLAG_LLM_MAX_LENGTH: usize = 512;

impl CausalLmSettings {
    /// bge-reranker-v2-gemma as FlagEmbedding scores it: its layout and instruction, the raw
    /// logit of `Yes`.
    pub fn bge_reranker_v2_gemma() -> Self {
        Self {
            flag_llm_prompt: Some(BGE_GEMMA_PROMPT.into()),
            true_token: Some("Yes".into()),
            ..Default::default()
        }
    }
}

/// How a directory holds a decoder-only reranker.
#[derive(Debug, Clone, PartialEq)]
pub enum CausalLmFormat {
    /// sentence-transformers' `Transformer` (text-generation) + `LogitScore`.
    SentenceTransformers {
        /// The Transformer module's folder.
        transformer: PathBuf,
        true_token_id: u32,
        false_token_id: Option<u32>,
        /// `sentence_bert_config.json` of the Transformer.
        transformer_config: Map<String, Value>,
    },
    /// A `*ForCausalLM` directory (`config.json` `architectures`).
    Plain,
}

impl CausalLmFormat {
    /// A sentence-transformers directory with a `LogitScore` module, or a `*ForCausalLM`
    /// directory; `None` otherwise.
    pub fn recognise(dir: &Path) -> Option<Self> {
        if let Some(format) = Self::sentence_transformers(dir) {
            return Some(format);
        }
        architecture(dir)
            .filter(|a| a.ends_with("ForCausalLM"))
            .map(|_| CausalLmFormat::Plain)
    }

    fn sentence_transformers(dir: &Path) -> Option<Self> {
        let modules: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("modules.json")).ok()?).ok()?;
        let modules = modules.as_array()?;
        let type_of = |m: &Value| {
            m.get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let path_of = |m: &Value| {
            m.get("path")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let score = modules
            .iter()
            .find(|m| type_of(m).ends_with("LogitScore"))?;
        let transformer = modules
            .iter()
            .find(|m| type_of(m).ends_with(".Transformer"))
            .map(path_of)
            .unwrap_or_default();
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(path_of(score)).join("config.json")).ok()?,
        )
        .ok()?;
        let id = |key: &str| config.get(key).and_then(Value::as_u64).map(|v| v as u32);
        let transformer = dir.join(transformer);
        let transformer_config =
            std::fs::read_to_string(transformer.join("sentence_bert_config.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
        Some(CausalLmFormat::SentenceTransformers {
            transformer,
            true_token_id: id("true_token_id")?,
            false_token_id: id("false_token_id"),
            transformer_config,
        })
    }
}

/// A decoder-only LM (Qwen3, Gemma) that scores (query, document) pairs by its next-token logits.
#[derive(Debug)]
pub struct CausalLmReranker<B: Backend> {
    pub model: Qwen3ForCausalLM<B>,
    pub config: Qwen3Config,
    pub format: CausalLmFormat,
    prompts: PromptBuilder,
    /// The scored ids: the true token, then the false token if any.
    token_ids: Vec<u32>,
    /// Their LM head rows, `[tokens, hidden]`.
    rows: Tensor<B, 2>,
    activation: Activation,
    run: RunOptions,
    device: B::Device,
    source_dir: PathBuf,
}

/// `chat_template` kwargs that only size the tokenization (sentence-transformers hoists them
/// out of the render) or are its own flags.
const NOT_TEMPLATE_KWARGS: [&str; 5] = [
    "padding",
    "truncation",
    "max_length",
    "return_tensors",
    "restore_suffix",
];

impl<B: Backend> CausalLmReranker<B> {
    /// Loads a decoder-only reranker directory ([`CausalLmFormat::recognise`]) with `settings`
    /// over what the directory says, prompts cut at `max_length` tokens (default: the saved
    /// `max_seq_length`, else the tokenizer's `model_max_length` within the position limit, as
    /// sentence-transformers takes it, capped at [`DEFAULT_MAX_LENGTH_CAP`]), scores through
    /// `activation`.
    pub fn load(
        dir: impl AsRef<Path>,
        settings: Option<CausalLmSettings>,
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
        let format = CausalLmFormat::recognise(dir).ok_or_else(|| ModelError::Unsupported {
            path: dir.to_path_buf(),
            message: "not a decoder-only reranker (no sentence-transformers LogitScore module, \
                      no *ForCausalLM architecture)"
                .into(),
        })?;
        let (model_dir, st_config) = match &format {
            CausalLmFormat::SentenceTransformers {
                transformer,
                transformer_config,
                ..
            } => (transformer.clone(), transformer_config.clone()),
            CausalLmFormat::Plain => (dir.to_path_buf(), Map::new()),
        };
        let (mut model, config, found) = io::load::<B>(&model_dir, device)?;

        let tokenizer_path = hf::file_in(&model_dir, hf::TOKENIZER_FILE)?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);

        // The scored tokens.
        let token_id = |token: &str| -> Result<u32> {
            tokenizer.token_to_id(token).ok_or_else(|| {
                ModelError::Tokenizer(format!(
                    "{}: no token {token:?} to score with (set the true/false tokens to \
                     vocabulary pieces, e.g. yes / no)",
                    tokenizer_path.display()
                ))
            })
        };
        let (true_id, false_id, token_source) = match (&settings.true_token, &format) {
            (Some(t), _) => (
                token_id(t)?,
                settings.false_token.as_deref().map(token_id).transpose()?,
                "set at load",
            ),
            (
                None,
                CausalLmFormat::SentenceTransformers {
                    true_token_id,
                    false_token_id,
                    ..
                },
            ) => (*true_token_id, *false_token_id, "the LogitScore module"),
            (None, CausalLmFormat::Plain) => (
                token_id("yes")?,
                Some(token_id("no")?),
                "sentence-transformers' default",
            ),
        };
        let mut token_ids = vec![true_id];
        token_ids.extend(false_id);
        for &id in &token_ids {
            if id as usize >= config.vocab_size {
                return Err(ModelError::Invalid(format!(
                    "{}: token id {id} is past the model's {} rows",
                    dir.display(),
                    config.vocab_size
                )));
            }
        }

        // The prompt.
        let message_format = st_config
            .get("modality_config")
            .and_then(|m| m.get("message"))
            .and_then(|m| m.get("format"))
            .and_then(Value::as_str)
            .map(|f| {
                if f == "structured" {
                    MessageFormat::Structured
                } else {
                    MessageFormat::Flat
                }
            });
        let positions = config.max_position_embeddings;
        let (prompts, length_source, template_source) = if let Some(instruction) =
            &settings.flag_llm_prompt
        {
            if settings.prompt_template.is_some() {
                return Err(ModelError::Invalid(
                    "set a prompt template or FlagEmbedding's layout, not both".into(),
                ));
            }
            let bos = prompt::special_tokens(&model_dir)
                .get("bos_token")
                .and_then(Value::as_str)
                .and_then(|t| tokenizer.token_to_id(t))
                .ok_or_else(|| {
                    ModelError::Tokenizer(format!(
                        "{}: FlagEmbedding's layout starts with BOS, and tokenizer_config.json \
                         names no bos_token in the vocabulary",
                        model_dir.display()
                    ))
                })?;
            let (max_length, length_source) = match max_length {
                Some(n) => (n, "set at load".to_string()),
                None => (FLAG_LLM_MAX_LENGTH, "FlagEmbedding's default".to_string()),
            };
            let prompts = PromptBuilder::flag_llm(instruction, bos, tokenizer, max_length)?;
            let longest = max_length + prompts.suffix().len();
            if longest > positions || max_length < 2 {
                return Err(ModelError::Invalid(format!(
                    "max length {max_length} (+ {} instruction tokens) does not fit the model's \
                     {positions} positions",
                    prompts.suffix().len()
                )));
            }
            (
                prompts,
                length_source,
                "FlagEmbedding's LLM-reranker layout",
            )
        } else {
            let (template, kind, template_source) = match &settings.prompt_template {
                Some(t) => (t.clone(), TemplateKind::Plain, "set at load"),
                None => {
                    let t = prompt::chat_template(&model_dir).ok_or_else(|| {
                        ModelError::Invalid(format!(
                            "{}: no chat template (chat_template.jinja or tokenizer_config.json); \
                             set a prompt template with {{{{ query }}}} and {{{{ document }}}}",
                            model_dir.display()
                        ))
                    })?;
                    let format = message_format.unwrap_or_else(|| MessageFormat::infer(&t));
                    (t, TemplateKind::Chat(format), "the model's chat template")
                }
            };
            let mut context = prompt::special_tokens(&model_dir);
            if let Some(kwargs) = st_config
                .get("processing_kwargs")
                .and_then(|p| p.get("chat_template"))
                .and_then(Value::as_object)
            {
                for (k, v) in kwargs {
                    if !NOT_TEMPLATE_KWARGS.contains(&k.as_str()) {
                        context.insert(k.clone(), v.clone());
                    }
                }
            }
            let (max_length, length_source) = match max_length {
                Some(n) => (n, "set at load".to_string()),
                None => default_max_length(&st_config, &model_dir, positions),
            };
            if max_length > positions {
                return Err(ModelError::Invalid(format!(
                    "max length {max_length} exceeds what the model supports ({positions} positions)"
                )));
            }
            let system = match &settings.instruction {
                Some(s) => Some(s.clone()),
                None => saved_default_prompt(dir),
            }
            .filter(|s| !s.is_empty());
            let prompts =
                PromptBuilder::new(&template, kind, context, system, tokenizer, max_length)?;
            if max_length <= prompts.suffix().len() {
                return Err(ModelError::Invalid(format!(
                    "max length {max_length} leaves no room for a query and document after the \
                     template's {}-token suffix",
                    prompts.suffix().len()
                )));
            }
            (prompts, length_source, template_source)
        };

        let rule = match false_id {
            Some(_) => format!(
                "logit({:?}) − logit({:?})",
                prompts.tokenizer().id_to_token(true_id).unwrap_or_default(),
                prompts
                    .tokenizer()
                    .id_to_token(token_ids[1])
                    .unwrap_or_default()
            ),
            None => format!(
                "logit({:?})",
                prompts.tokenizer().id_to_token(true_id).unwrap_or_default()
            ),
        };
        let mut notes = vec![format!(
            "decoder-only reranker ({}, {}), prompt from {template_source}; score = {rule} \
             (tokens from {token_source}) at the last position; a long pair is cut in its body, \
             the template's last {} tokens kept",
            config.model_type,
            match format {
                CausalLmFormat::SentenceTransformers { .. } => "sentence-transformers LogitScore",
                CausalLmFormat::Plain => "causal LM directory",
            },
            prompts.suffix().len()
        )];
        if let Some(system) = prompts.system() {
            notes.push(format!("each pair follows the system message {system:?}"));
        }
        if config.tie_word_embeddings() == found.own_lm_head {
            notes.push(format!(
                "tie_word_embeddings is {} but the checkpoint {} lm_head.weight: {}",
                config.tie_word_embeddings(),
                if found.own_lm_head { "has" } else { "has no" },
                if found.own_lm_head {
                    "its lm_head scores"
                } else {
                    "the embedding is the LM head"
                }
            ));
        }
        let rows = model.head_rows(&token_ids);
        // Only the scored rows are needed: the rest of an untied head is dropped.
        model.lm_head = None;
        let model = cast_module(model, precision);
        let report = LoadReport {
            unused: found.unused,
            source: dir.to_path_buf(),
            max_length: Some((prompts.max_length(), length_source)),
            notes,
            ..Default::default()
        };
        Ok((
            Self {
                model,
                config,
                format,
                prompts,
                token_ids,
                rows,
                activation,
                run,
                device: device.clone(),
                source_dir: dir.to_path_buf(),
            },
            report,
        ))
    }

    pub fn max_length(&self) -> usize {
        self.prompts.max_length()
    }

    /// The ids whose logits are read: the true token, then the false token if any.
    pub fn token_ids(&self) -> &[u32] {
        &self.token_ids
    }

    pub fn prompts(&self) -> &PromptBuilder {
        &self.prompts
    }

    pub fn source_dir(&self) -> &Path {
        &self.source_dir
    }

    /// The prompt ids of each pair, cut to the max length with the template's suffix kept.
    pub fn encode(&self, pairs: &[(&str, &str)]) -> Result<Vec<Vec<u32>>> {
        pairs
            .iter()
            .map(|&(q, d)| self.prompts.encode(q, d))
            .collect()
    }

    /// The raw scores of already encoded prompts, in order, through the shared batching.
    pub fn raw_scores_encoded(&self, prompts: &[Vec<u32>]) -> Vec<f32> {
        let sequences: Vec<Encoded> = prompts
            .iter()
            .map(|ids| Encoded {
                ids: ids.clone(),
                type_ids: vec![0; ids.len()],
            })
            .collect();
        let shape = ActivationShape {
            heads: self.config.num_attention_heads,
            widest_row: self
                .config
                .intermediate_size
                .max(self.config.num_attention_heads * self.config.head_dim()),
        };
        let rows = self
            .run
            .run::<B>(&sequences, shape, &self.device, "scoring", |input| {
                self.model.last_logits(&input, &self.rows)
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

    /// The scores of pairs: the raw scores through the activation (sigmoid unless raw).
    pub fn score(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        Ok(self
            .raw_scores(pairs)?
            .into_iter()
            .map(|s| self.activation.apply(s))
            .collect())
    }
}

/// sentence-transformers' default prompt: `prompts[default_prompt_name]` of
/// `config_sentence_transformers.json`.
fn saved_default_prompt(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("config_sentence_transformers.json")).ok()?;
    let config: Value = serde_json::from_str(&text).ok()?;
    let name = config.get("default_prompt_name")?.as_str()?;
    config.get("prompts")?.get(name)?.as_str().map(String::from)
}

/// The most tokens a prompt gets by default when neither the caller nor a saved
/// `max_seq_length` says (Qwen3-Reranker's documented length; its tokenizer allows 131,072 and
/// its positions 40,960, and attention is quadratic in the length).
pub const DEFAULT_MAX_LENGTH_CAP: usize = 8192;

/// sentence-transformers' max length: `max_seq_length` if saved, else the tokenizer's
/// `model_max_length` within the positions, else the positions; those two capped at
/// [`DEFAULT_MAX_LENGTH_CAP`].
fn default_max_length(
    st_config: &Map<String, Value>,
    model_dir: &Path,
    positions: usize,
) -> (usize, String) {
    if let Some(n) = st_config.get("max_seq_length").and_then(Value::as_u64) {
        return (
            n as usize,
            "sentence_bert_config.json max_seq_length".into(),
        );
    }
    let tokenizer_max = prompt::tokenizer_config(model_dir)
        .and_then(|c| c.get("model_max_length").and_then(Value::as_f64))
        .filter(|n| (1.0..1e12).contains(n))
        .map(|n| n as usize);
    let (n, source) = match tokenizer_max {
        Some(n) if n < positions => (n, "tokenizer_config.json model_max_length"),
        _ => (positions, "max_position_embeddings"),
    };
    if n > DEFAULT_MAX_LENGTH_CAP {
        (
            DEFAULT_MAX_LENGTH_CAP,
            format!("{source} {n}, capped at {DEFAULT_MAX_LENGTH_CAP}"),
        )
    } else {
        (n, source.into())
    }
}

impl<B: Backend> CandidateScorer for CausalLmReranker<B> {
    /// Every pair in one pass through the shared batching.
    fn score_candidates(&self, lists: &[CandidateList<'_>]) -> Result<Vec<Vec<f32>>> {
        crate::reranker::score_lists_pairwise(lists, |pairs| self.score(pairs))
    }
}

/// A decoder-only reranker as a hard-negative miner's rescorer.
impl<B: Backend> rankforge_mining::Rescorer for CausalLmReranker<B>
where
    B::Device: Sync,
{
    fn score_pairs(&self, pairs: &[(&str, &str)]) -> rankforge_mining::Result<Vec<f64>> {
        crate::dense_index::rescores(self.score(pairs))
    }

    fn name(&self) -> &str {
        "decoder-only reranker"
    }
}
