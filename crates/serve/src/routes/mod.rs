//! The HTTP surface: the router, and one module per endpoint group (handlers parse the
//! request, call [`crate::inference::infer`] for model work, and shape the response).

mod embed;
mod info;
mod rerank;

pub use info::describe;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::errors::{method_not_allowed, route_not_found};
use crate::metrics::track_requests;
use crate::state::AppState;

/// Every endpoint, with JSON errors for unknown routes and methods, the body size limit and
/// request metrics.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    Router::new()
        .route("/rerank", post(rerank::tei_rerank))
        .route("/v2/rerank", post(rerank::cohere_rerank))
        .route("/embed", post(embed::embed))
        .route("/embed_all", post(embed::embed_all))
        .route("/health", get(info::health))
        .route("/info", get(info::info))
        .route("/metrics", get(info::metrics))
        .route("/openapi.json", get(info::openapi))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            track_requests,
        ))
        .with_state(state)
}
