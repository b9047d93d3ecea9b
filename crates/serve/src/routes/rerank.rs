//! `POST /rerank` (text-embeddings-inference) and `POST /v2/rerank` (Cohere): both validate,
//! look up the cache, tokenize the rest off the inference thread, queue it for the worker, and
//! differ only in their JSON. With a ColBERT model the query and documents are tokenized by its
//! own tokenizer and scored by MaxSim (no sigmoid, no score cache; documents are cut at its
//! document length, so `truncate: false` and `max_tokens_per_doc` do not apply). A generative
//! reranker (T5) is scored like a cross-encoder, one prompt per pair: its raw score (true −
//! false logit) is cached, answered through the sigmoid unless `raw_scores`; so is a
//! decoder-only reranker (Qwen3, Gemma), its prompt built by the model's `PromptBuilder` off the
//! worker.

use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rankforge_model::Activation;

use crate::cache::ScoreContext;
use crate::errors::ApiError;
use crate::inference::infer;
use crate::limits::ApiJson;
use crate::queue::Work;
use crate::schemas::{
    ApiVersion, BilledUnits, CohereMeta, CohereRerankRequest, CohereRerankResponse, CohereResult,
    DocumentText, TeiRank, TeiRerankRequest, TokenCounts, Usage,
};
use crate::state::AppState;
use crate::timing::Timings;
use crate::tokenization::{tokenize_pairs, PairOptions};
use crate::worker::{CausalLmInfo, ColBertInfo, GenerativeInfo, RerankerInfo};
use rankforge_model::qwen3::prompt::TemplateKind;
use rankforge_model::t5::GenerativePrompts;
use rankforge_model::Encoded;

/// A rerank request in either API's terms.
struct RerankInput {
    query: String,
    documents: Vec<String>,
    options: PairOptions,
}

/// Raw logits in document order, with where the time went.
struct RerankOutput {
    logits: Vec<f32>,
    documents: Vec<String>,
    /// Tokens the model ran for this request (cached scores cost none).
    tokens: usize,
    timings: Timings,
    /// ColBERT MaxSim sums: answered as they are, with no activation.
    maxsim: bool,
}

/// Indices of `scores` from highest to lowest (ties: lower index first).
fn ranking(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

async fn rerank(state: &AppState, input: RerankInput) -> Result<RerankOutput, ApiError> {
    let started = Instant::now();
    let colbert = state.models.colbert.clone();
    let reranker = state.models.reranker.clone();
    let generative = state.models.generative.clone();
    let causal_lm = state.models.causal_lm.clone();
    if reranker.is_none() && colbert.is_none() && generative.is_none() && causal_lm.is_none() {
        return Err(ApiError::model_not_loaded("reranker", "--model"));
    }
    let _slot = state.admit()?;
    if input.query.trim().is_empty() {
        return Err(ApiError::empty("`query` is empty"));
    }
    if input.documents.is_empty() {
        return Err(ApiError::empty("no documents to rerank"));
    }
    let max_documents = state.config.limits.max_client_batch_size;
    if input.documents.len() > max_documents {
        return Err(ApiError::too_large(format!(
            "{} documents in one request; the limit is {max_documents} (--max-client-batch-size)",
            input.documents.len()
        )));
    }
    if input.options.max_tokens_per_doc == Some(0) {
        return Err(ApiError::invalid("`max_tokens_per_doc` must be at least 1"));
    }
    let scorer = match (reranker, generative, causal_lm) {
        (Some(reranker), _, _) => PairScorer::CrossEncoder(reranker),
        (None, Some(generative), _) => PairScorer::Generative(generative),
        (None, None, Some(causal_lm)) => PairScorer::CausalLm(causal_lm),
        (None, None, None) => {
            let colbert = colbert.expect("one of the four is loaded");
            return colbert_rerank(state, input, colbert, started).await;
        }
    };

    let context = ScoreContext {
        model: state.model_id.to_string(),
        max_length: scorer.max_length(),
        long_doc: scorer.settings_key(),
        max_tokens_per_doc: input.options.max_tokens_per_doc,
    };
    let keys: Vec<u128> = match &state.cache {
        Some(_) => input
            .documents
            .iter()
            .map(|doc| context.key(&input.query, doc))
            .collect(),
        None => Vec::new(),
    };
    let cached: Vec<Option<f32>> = match &state.cache {
        Some(cache) => {
            let found = cache.get_many(&keys);
            let hits = found.iter().filter(|f| f.is_some()).count();
            state.metrics.cache_hits.inc_by(hits as u64);
            state
                .metrics
                .cache_misses
                .inc_by((found.len() - hits) as u64);
            found
        }
        None => vec![None; input.documents.len()],
    };
    let misses: Vec<usize> = (0..cached.len()).filter(|&i| cached[i].is_none()).collect();
    let mut logits: Vec<f32> = cached.iter().map(|c| c.unwrap_or(f32::NAN)).collect();
    let mut timings = Timings::default();
    let mut tokens = 0;

    let RerankInput {
        query,
        documents,
        options,
    } = input;
    let must_validate_cached = !options.truncate;
    let documents = if misses.is_empty() && !must_validate_cached {
        documents
    } else {
        let tokenizing = Instant::now();
        let selected = misses.clone();
        let (encoded, documents) = tokio::task::spawn_blocking(move || {
            let encoded = scorer.tokenize(&query, &documents, &selected, options);
            (encoded, documents)
        })
        .await
        .map_err(|e| ApiError::backend(format!("tokenization task failed: {e}")))?;
        let (sequences, owners) = encoded?;
        timings.tokenization = tokenizing.elapsed();
        state
            .metrics
            .tokenization_seconds
            .observe(timings.tokenization.as_secs_f64());
        if !misses.is_empty() {
            tokens = sequences.iter().map(|s| s.len()).sum();
            let work = Work::Rerank {
                sequences,
                owners,
                pairs: misses.len(),
            };
            let output = infer(&state.queue, &state.metrics, work).await?;
            timings.queue = output.queue_time;
            timings.inference = output.inference_time;
            timings.batch_requests = output.batch_requests;
            for (&index, row) in misses.iter().zip(&output.rows) {
                logits[index] = row[0];
            }
            if let Some(cache) = &state.cache {
                cache.insert_many(misses.iter().map(|&i| (keys[i], logits[i])));
                state.metrics.cache_entries.set(cache.len() as i64);
            }
        }
        documents
    };
    timings.total = started.elapsed();
    Ok(RerankOutput {
        logits,
        documents,
        tokens,
        timings,
        maxsim: false,
    })
}

/// The model behind a cached, pair-wise rerank: a cross-encoder (its logits) or a generative
/// reranker (its raw scores, true − false logit).
enum PairScorer {
    CrossEncoder(RerankerInfo),
    Generative(GenerativeInfo),
    CausalLm(CausalLmInfo),
}

impl PairScorer {
    fn max_length(&self) -> usize {
        match self {
            PairScorer::CrossEncoder(r) => r.max_length,
            PairScorer::Generative(g) => g.prompts.max_length(),
            PairScorer::CausalLm(c) => c.prompts.max_length(),
        }
    }

    /// What else decides a score, for the cache key.
    fn settings_key(&self) -> String {
        match self {
            PairScorer::CrossEncoder(r) => {
                format!("{:?} max_windows {}", r.long_doc, r.max_windows)
            }
            PairScorer::Generative(g) => format!("generative {:?}", g.settings),
            PairScorer::CausalLm(c) => format!(
                "decoder-only {} {:?} {:?}",
                c.description,
                c.prompts.kind(),
                c.prompts.suffix()
            ),
        }
    }

    /// The sequences of the `selected` pairs and their owners, as [`tokenize_pairs`] gives
    /// them. A generative reranker makes one prompt per pair (documents cut to
    /// `max_tokens_per_doc` first; with `truncate: false`, a prompt longer than the max length
    /// is refused, as a pair is).
    fn tokenize(
        &self,
        query: &str,
        documents: &[String],
        selected: &[usize],
        options: PairOptions,
    ) -> Result<(Vec<Encoded>, Vec<usize>), ApiError> {
        let reranker = match self {
            PairScorer::CrossEncoder(reranker) => reranker,
            PairScorer::Generative(generative) => {
                return generative_prompts(generative, query, documents, selected, options)
            }
            PairScorer::CausalLm(causal_lm) => {
                return causal_lm_prompts(causal_lm, query, documents, selected, options)
            }
        };
        let long_doc = rankforge_model::LongDocSettings::from(reranker.long_doc)
            .with_max_windows(reranker.max_windows);
        tokenize_pairs(
            &reranker.tokenizer,
            &reranker.lengths,
            long_doc,
            query,
            documents,
            selected,
            options,
        )
    }
}

fn generative_prompts(
    generative: &GenerativeInfo,
    query: &str,
    documents: &[String],
    selected: &[usize],
    options: PairOptions,
) -> Result<(Vec<Encoded>, Vec<usize>), ApiError> {
    let prompts = &generative.prompts;
    let tokenizer_error = |e: rankforge_model::ModelError| ApiError::tokenizer(e.to_string());
    let cut: Vec<&str> = documents
        .iter()
        .map(|doc| match options.max_tokens_per_doc {
            Some(n) => prompts.cut_document(doc, n).map_err(tokenizer_error),
            None => Ok(doc.as_str()),
        })
        .collect::<Result<_, _>>()?;
    if !options.truncate {
        let all: Vec<(&str, &str)> = cut.iter().map(|&d| (query, d)).collect();
        let max_length = prompts.max_length();
        for (index, length) in prompts
            .full_lengths(&all)
            .map_err(tokenizer_error)?
            .into_iter()
            .enumerate()
        {
            if length > max_length {
                return Err(ApiError::too_large(format!(
                    "document {index}: the prompt has {length} tokens, more than the model's \
                     {max_length}; send `truncate: true` to cut the document"
                )));
            }
        }
    }
    let pairs: Vec<(&str, &str)> = selected.iter().map(|&i| (query, cut[i])).collect();
    let sequences: Vec<Encoded> = prompts
        .encode(&pairs)
        .map_err(tokenizer_error)?
        .into_iter()
        .map(GenerativePrompts::sequence)
        .collect();
    let owners = (0..sequences.len()).collect();
    Ok((sequences, owners))
}

/// A decoder-only reranker's prompts of the `selected` pairs, one per pair, built off the
/// worker: documents cut to `max_tokens_per_doc` tokens first (at a token boundary, as the
/// tokenizer reads the document alone); with `truncate: false`, a prompt over the max length is
/// refused.
fn causal_lm_prompts(
    causal_lm: &CausalLmInfo,
    query: &str,
    documents: &[String],
    selected: &[usize],
    options: PairOptions,
) -> Result<(Vec<Encoded>, Vec<usize>), ApiError> {
    let prompts = &causal_lm.prompts;
    let tokenizer_error = |e: rankforge_model::ModelError| ApiError::tokenizer(e.to_string());
    let cut_document = |document: &str, max_tokens: usize| -> Result<usize, ApiError> {
        let encoding = prompts
            .tokenizer()
            .encode(document, false)
            .map_err(|e| ApiError::tokenizer(e.to_string()))?;
        let offsets = encoding.get_offsets();
        if offsets.len() <= max_tokens {
            return Ok(document.len());
        }
        Ok(offsets[max_tokens - 1].1.min(document.len()))
    };
    let cut: Vec<&str> = documents
        .iter()
        .map(|doc| match options.max_tokens_per_doc {
            Some(n) => cut_document(doc, n).map(|end| &doc[..end]),
            None => Ok(doc.as_str()),
        })
        .collect::<Result<_, _>>()?;
    if !options.truncate {
        // FlagEmbedding's layout keeps its instruction outside the max length.
        let allowed = match prompts.kind() {
            TemplateKind::FlagLlm(_) => prompts.max_length() + prompts.suffix().len(),
            _ => prompts.max_length(),
        };
        for (index, document) in cut.iter().enumerate() {
            let rendered = prompts.render(query, document).map_err(tokenizer_error)?;
            let length = prompts
                .tokenizer()
                .encode(rendered, false)
                .map_err(|e| ApiError::tokenizer(e.to_string()))?
                .get_ids()
                .len();
            if length > allowed {
                return Err(ApiError::too_large(format!(
                    "document {index}: the prompt has {length} tokens, more than the model's \
                     {allowed}; send `truncate: true` to cut the pair"
                )));
            }
        }
    }
    let sequences: Vec<Encoded> = selected
        .iter()
        .map(|&i| {
            prompts
                .encode(query, cut[i])
                .map(GenerativePrompts::sequence)
        })
        .collect::<Result<_, _>>()
        .map_err(tokenizer_error)?;
    let owners = (0..sequences.len()).collect();
    Ok((sequences, owners))
}

/// A validated rerank request scored by the ColBERT: query and documents tokenized off the
/// worker, then MaxSim of each document against the query on the worker.
async fn colbert_rerank(
    state: &AppState,
    input: RerankInput,
    colbert: ColBertInfo,
    started: Instant,
) -> Result<RerankOutput, ApiError> {
    let mut timings = Timings::default();
    let tokenizing = Instant::now();
    let RerankInput {
        query, documents, ..
    } = input;
    let tokenizer = colbert.tokenizer.clone();
    let (encoded, documents) = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = documents.iter().map(String::as_str).collect();
        let encoded = tokenizer
            .encode_queries(&[query.as_str()])
            .and_then(|mut q| Ok((q.remove(0), tokenizer.encode_documents(&refs)?)));
        (encoded, documents)
    })
    .await
    .map_err(|e| ApiError::backend(format!("tokenization task failed: {e}")))?;
    let (query, encoded) = encoded.map_err(|e| ApiError::tokenizer(e.to_string()))?;
    timings.tokenization = tokenizing.elapsed();
    state
        .metrics
        .tokenization_seconds
        .observe(timings.tokenization.as_secs_f64());
    let work = Work::ColBertRerank {
        query: Box::new(query),
        documents: encoded,
    };
    let tokens = work.tokens();
    let output = infer(&state.queue, &state.metrics, work).await?;
    timings.queue = output.queue_time;
    timings.inference = output.inference_time;
    timings.batch_requests = output.batch_requests;
    timings.total = started.elapsed();
    Ok(RerankOutput {
        logits: output.rows.iter().map(|row| row[0]).collect(),
        documents,
        tokens,
        timings,
        maxsim: true,
    })
}

/// `POST /rerank`: `[{"index", "score", "text"?}]`, best first.
pub async fn tei_rerank(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<TeiRerankRequest>,
) -> Result<Response, ApiError> {
    let input = RerankInput {
        query: request.query,
        documents: request.texts,
        options: PairOptions {
            truncate: request.truncate.unwrap_or(true),
            max_tokens_per_doc: None,
        },
    };
    let output = rerank(&state, input).await?;
    let activation = if request.raw_scores || output.maxsim {
        Activation::Identity
    } else {
        Activation::Sigmoid
    };
    let scores: Vec<f32> = output.logits.iter().map(|&l| activation.apply(l)).collect();
    let ranks: Vec<TeiRank> = ranking(&scores)
        .into_iter()
        .map(|index| TeiRank {
            index,
            score: scores[index],
            text: request.return_text.then(|| output.documents[index].clone()),
        })
        .collect();
    Ok((output.timings.headers(), Json(ranks)).into_response())
}

/// `POST /v2/rerank`: `{"id", "model", "results": [{"index", "relevance_score",
/// "document"?}], "meta", "usage"}`, best first, at most `top_n`.
pub async fn cohere_rerank(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CohereRerankRequest>,
) -> Result<Response, ApiError> {
    if request.top_n == Some(0) {
        return Err(ApiError::invalid("`top_n` must be at least 1"));
    }
    let document_count = request.documents.len();
    let input = RerankInput {
        query: request.query,
        documents: request
            .documents
            .into_iter()
            .map(|d| match d {
                crate::schemas::DocumentInput::Text(text)
                | crate::schemas::DocumentInput::Object { text } => text,
            })
            .collect(),
        options: PairOptions {
            truncate: true,
            max_tokens_per_doc: request.max_tokens_per_doc,
        },
    };
    let output = rerank(&state, input).await?;
    let activation = if output.maxsim {
        Activation::Identity
    } else {
        Activation::Sigmoid
    };
    let scores: Vec<f32> = output.logits.iter().map(|&l| activation.apply(l)).collect();
    let return_documents = request.return_documents.unwrap_or(false);
    let results: Vec<CohereResult> = ranking(&scores)
        .into_iter()
        .take(request.top_n.unwrap_or(usize::MAX))
        .map(|index| CohereResult {
            index,
            relevance_score: scores[index],
            document: return_documents.then(|| DocumentText {
                text: output.documents[index].clone(),
            }),
        })
        .collect();
    let response = CohereRerankResponse {
        id: request_id(),
        model: state.model_id.to_string(),
        results,
        meta: CohereMeta {
            api_version: ApiVersion {
                version: "2".into(),
            },
            billed_units: BilledUnits {
                search_units: document_count.div_ceil(100),
            },
            tokens: TokenCounts {
                input_tokens: output.tokens,
                output_tokens: 0,
            },
        },
        usage: Usage {
            total_tokens: output.tokens,
        },
    };
    Ok((output.timings.headers(), Json(response)).into_response())
}

/// A random UUID (version 4), as Cohere's response ids.
fn request_id() -> String {
    let bits: u128 = rand::random();
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_is_descending_with_stable_ties() {
        assert_eq!(ranking(&[0.1, 0.9, 0.5, 0.9]), [1, 3, 2, 0]);
        assert!(ranking(&[]).is_empty());
    }

    #[test]
    fn request_ids_are_uuid_v4() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, request_id());
    }
}
