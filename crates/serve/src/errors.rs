//! Every failure a client can see: an HTTP status and a JSON body `{"error", "error_type"}`,
//! as text-embeddings-inference answers. The kind travels in the response's extensions so the
//! metrics layer can count errors by kind.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// What went wrong, as clients and `/metrics` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A request the server will not run: too many documents, an input too long with
    /// `truncate: false`, a parameter out of range.
    Validation,
    /// The body is larger than `--max-body-bytes`.
    PayloadTooLarge,
    /// The body is not JSON, or not the JSON this endpoint takes.
    InvalidJson,
    /// An empty query, document list or input list.
    Empty,
    /// The tokenizer failed on an input.
    Tokenizer,
    /// `--max-concurrent-requests` requests are already being handled.
    Overloaded,
    /// The endpoint's model was not given to this server.
    ModelNotLoaded,
    /// No such route.
    NotFound,
    /// The route exists, with another method.
    MethodNotAllowed,
    /// The model failed while running.
    Backend,
    /// The inference worker is gone (shutting down, or it died).
    Unhealthy,
}

impl ErrorKind {
    /// Every kind, in a fixed order (for metrics).
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::Validation,
        ErrorKind::PayloadTooLarge,
        ErrorKind::InvalidJson,
        ErrorKind::Empty,
        ErrorKind::Tokenizer,
        ErrorKind::Overloaded,
        ErrorKind::ModelNotLoaded,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::Backend,
        ErrorKind::Unhealthy,
    ];

    /// The `error_type` string of the JSON body.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::InvalidJson => "invalid_json",
            ErrorKind::Empty => "empty",
            ErrorKind::Tokenizer => "tokenizer",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::ModelNotLoaded => "model_not_loaded",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Backend => "backend",
            ErrorKind::Unhealthy => "unhealthy",
        }
    }
}

/// A failed request: status, kind and a message for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub message: String,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: String,
    pub error_type: &'static str,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    /// 422: a parameter out of range.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Validation,
            message,
        )
    }

    /// 413: more than the server takes (documents, tokens).
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Validation,
            message,
        )
    }

    /// 400: an empty query, document list or input list.
    pub fn empty(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorKind::Empty, message)
    }

    /// 422: the tokenizer failed.
    pub fn tokenizer(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Tokenizer,
            message,
        )
    }

    /// 429: too many requests at once.
    pub fn overloaded(limit: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Overloaded,
            format!("model is overloaded: {limit} requests are already being handled; retry later"),
        )
    }

    /// 404: this server was started without the endpoint's model.
    pub fn model_not_loaded(what: &str, flag: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::ModelNotLoaded,
            format!(
                "this server has no {what} model: start it with {flag} DIR to use this endpoint"
            ),
        )
    }

    /// 500: the model failed.
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Backend,
            message,
        )
    }

    /// 503: the worker no longer takes work.
    pub fn unhealthy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unhealthy,
            "the inference worker is not running (the server is shutting down)",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status,
            self.kind.as_str(),
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
            error_type: self.kind.as_str(),
        };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(self.kind);
        response
    }
}

/// JSON 404 for unknown routes.
pub async fn route_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorKind::NotFound,
        "no such endpoint (see /openapi.json)",
    )
}

/// JSON 405 for a known route called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::MethodNotAllowed,
        "method not allowed for this endpoint (see /openapi.json)",
    )
}
