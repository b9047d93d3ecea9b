//! `POST /embed` (text-embeddings-inference): one embedding per input, through the
//! bi-encoder's pooling and (by default) L2 normalisation. `POST /embed_all` (TEI's per-token
//! endpoint): a ColBERT's scored token vectors of each input.

use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::errors::ApiError;
use crate::inference::infer;
use crate::limits::ApiJson;
use crate::queue::Work;
use crate::schemas::{EmbedAllRequest, EmbedRequest};
use crate::state::AppState;
use crate::timing::Timings;
use crate::tokenization::tokenize_texts;

pub async fn embed(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EmbedRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let embedder = state
        .models
        .embedder
        .clone()
        .ok_or_else(|| ApiError::model_not_loaded("embedding", "--embed-model"))?;
    let _slot = state.admit()?;
    let texts = request.inputs.into_vec();
    if texts.is_empty() {
        return Err(ApiError::empty("`inputs` is empty"));
    }
    let max_inputs = state.config.limits.max_client_batch_size;
    if texts.len() > max_inputs {
        return Err(ApiError::too_large(format!(
            "{} inputs in one request; the limit is {max_inputs} (--max-client-batch-size)",
            texts.len()
        )));
    }
    let truncate = request.truncate.unwrap_or(true);
    let normalize = request.normalize.unwrap_or(true);

    let mut timings = Timings::default();
    let tokenizing = Instant::now();
    let tokenizer = embedder.tokenizer.clone();
    let lengths = embedder.lengths.clone();
    let sequences =
        tokio::task::spawn_blocking(move || tokenize_texts(&tokenizer, &lengths, &texts, truncate))
            .await
            .map_err(|e| ApiError::backend(format!("tokenization task failed: {e}")))??;
    timings.tokenization = tokenizing.elapsed();
    state
        .metrics
        .tokenization_seconds
        .observe(timings.tokenization.as_secs_f64());

    let work = Work::Embed {
        sequences,
        normalize,
    };
    let output = infer(&state.queue, &state.metrics, work).await?;
    timings.queue = output.queue_time;
    timings.inference = output.inference_time;
    timings.batch_requests = output.batch_requests;
    timings.total = started.elapsed();
    Ok((timings.headers(), Json(output.rows)).into_response())
}

/// `POST /embed_all`: for each input, its ColBERT token vectors (`[[[f32]]]`), as documents
/// by default or as queries (`"queries": true`), exactly what the ColBERT scores with.
pub async fn embed_all(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EmbedAllRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let colbert = state
        .models
        .colbert
        .clone()
        .ok_or_else(|| ApiError::model_not_loaded("ColBERT", "--model"))?;
    let _slot = state.admit()?;
    let texts = request.inputs.into_vec();
    if texts.is_empty() {
        return Err(ApiError::empty("`inputs` is empty"));
    }
    let max_inputs = state.config.limits.max_client_batch_size;
    if texts.len() > max_inputs {
        return Err(ApiError::too_large(format!(
            "{} inputs in one request; the limit is {max_inputs} (--max-client-batch-size)",
            texts.len()
        )));
    }
    let mut timings = Timings::default();
    let tokenizing = Instant::now();
    let tokenizer = colbert.tokenizer.clone();
    let queries = request.queries;
    let sequences = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        if queries {
            tokenizer.encode_queries(&refs)
        } else {
            tokenizer.encode_documents(&refs)
        }
    })
    .await
    .map_err(|e| ApiError::backend(format!("tokenization task failed: {e}")))?
    .map_err(|e| ApiError::tokenizer(e.to_string()))?;
    timings.tokenization = tokenizing.elapsed();
    state
        .metrics
        .tokenization_seconds
        .observe(timings.tokenization.as_secs_f64());

    let output = infer(&state.queue, &state.metrics, Work::EmbedAll { sequences }).await?;
    timings.queue = output.queue_time;
    timings.inference = output.inference_time;
    timings.batch_requests = output.batch_requests;
    timings.total = started.elapsed();
    let vectors: Vec<Vec<&[f32]>> = output
        .rows
        .iter()
        .map(|row| row.chunks(colbert.dim).collect())
        .collect();
    Ok((timings.headers(), Json(vectors)).into_response())
}
