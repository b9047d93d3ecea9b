//! `GET /health`, `/info`, `/metrics` and `/openapi.json`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rankforge_model::LongDocMode;
use serde_json::json;

use crate::errors::ApiError;
use crate::schemas::{
    EmbedderDescription, HealthResponse, InfoResponse, Limits, RerankerDescription,
};
use crate::state::AppState;

/// 200 `{"status": "ok"}` while the inference worker runs, else 503.
pub async fn health(State(state): State<AppState>) -> Response {
    if state.worker.is_alive() && !state.queue.is_closed() {
        Json(HealthResponse {
            status: "ok".into(),
        })
        .into_response()
    } else {
        ApiError::unhealthy().into_response()
    }
}

fn long_doc_json(mode: LongDocMode, max_windows: usize) -> serde_json::Value {
    match mode {
        LongDocMode::Truncate => json!({ "mode": "truncate" }),
        LongDocMode::MaxChunk { window, stride } => json!({
            "mode": "max-chunk",
            "window": window,
            "stride": stride,
            "max_windows": max_windows
        }),
    }
}

/// The models, their input lengths and the server's limits.
pub fn describe(state: &AppState) -> InfoResponse {
    let config = &state.config;
    let reranker = state.models.reranker.as_ref().map(|r| RerankerDescription {
        model_dir: config
            .reranker
            .as_ref()
            .map(|c| c.dir.display().to_string())
            .unwrap_or_default(),
        max_input_length: r.max_length,
        long_doc: long_doc_json(r.long_doc, r.max_windows),
        new_head: r.new_head,
        precision: config
            .reranker
            .as_ref()
            .map(|c| c.precision.name().to_string())
            .unwrap_or_default(),
        colbert: None,
        generative: None,
    });
    // A ColBERT behind `/rerank`: its document length is the input length.
    let reranker = reranker.or_else(|| {
        let c = state.models.colbert.as_ref()?;
        let dir = config.reranker.as_ref();
        Some(RerankerDescription {
            model_dir: dir.map(|c| c.dir.display().to_string()).unwrap_or_default(),
            max_input_length: c.document_length,
            long_doc: json!({ "mode": "truncate" }),
            new_head: false,
            precision: dir
                .map(|c| c.precision.name().to_string())
                .unwrap_or_default(),
            colbert: Some(json!({
                "dim": c.dim,
                "query_length": c.query_length,
                "document_length": c.document_length,
            })),
            generative: None,
        })
    });
    // A generative reranker (T5): its prompt length is the input length.
    let reranker = reranker.or_else(|| {
        let g = state.models.generative.as_ref()?;
        let dir = config.reranker.as_ref();
        Some(RerankerDescription {
            model_dir: dir.map(|c| c.dir.display().to_string()).unwrap_or_default(),
            max_input_length: g.prompts.max_length(),
            long_doc: json!({ "mode": "truncate" }),
            new_head: false,
            precision: dir
                .map(|c| c.precision.name().to_string())
                .unwrap_or_default(),
            colbert: None,
            generative: serde_json::to_value(&g.settings).ok(),
        })
    });
    // A decoder-only reranker (Qwen3, Gemma): its prompt length is the input length.
    let reranker = reranker.or_else(|| {
        let c = state.models.causal_lm.as_ref()?;
        let dir = config.reranker.as_ref();
        Some(RerankerDescription {
            model_dir: dir.map(|c| c.dir.display().to_string()).unwrap_or_default(),
            max_input_length: c.prompts.max_length(),
            long_doc: json!({ "mode": "truncate" }),
            new_head: false,
            precision: dir
                .map(|c| c.precision.name().to_string())
                .unwrap_or_default(),
            colbert: None,
            generative: Some(c.description.clone()),
        })
    });
    let embedder = state.models.embedder.as_ref().map(|e| EmbedderDescription {
        model_dir: config
            .embedder
            .as_ref()
            .map(|c| c.dir.display().to_string())
            .unwrap_or_default(),
        max_input_length: e.max_length,
        dimension: e.dimension,
        pooling: e.head.pooling.as_str().into(),
        normalize: e.head.normalize,
        precision: config
            .embedder
            .as_ref()
            .map(|c| c.precision.name().to_string())
            .unwrap_or_default(),
    });
    let max_input_length = reranker
        .as_ref()
        .map(|r| r.max_input_length)
        .or(embedder.as_ref().map(|e| e.max_input_length))
        .unwrap_or(0);
    InfoResponse {
        model_id: state.model_id.to_string(),
        version: env!("CARGO_PKG_VERSION").into(),
        max_input_length,
        reranker,
        embedder,
        limits: Limits {
            max_client_batch_size: config.limits.max_client_batch_size,
            max_concurrent_requests: config.limits.max_concurrent_requests,
            max_body_bytes: config.limits.max_body_bytes,
            max_batch_tokens: config.batching.max_batch_tokens,
            max_batch_requests: config.batching.max_batch_requests,
            max_batch_size: config.batching.max_batch_size,
        },
        cache_size: state.cache.as_ref().map_or(0, |c| c.capacity()),
    }
}

pub async fn info(State(state): State<AppState>) -> Json<InfoResponse> {
    Json(describe(&state))
}

/// Prometheus text format 0.0.4.
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.queue_depth.set(state.queue.depth() as i64);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}
