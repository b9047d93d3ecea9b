//! `POST /embed` (text-embeddings-inference): one embedding per input, through the
//! bi-encoder's pooling and (by default) L2 normalisation.

use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::errors::ApiError;
use crate::inference::infer;
use crate::limits::ApiJson;
use crate::queue::Work;
use crate::schemas::EmbedRequest;
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
