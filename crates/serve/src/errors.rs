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
    /// A JSON endpoint called without `Content-Type: application/json`.
    UnsupportedMediaType,
    /// The client did not send the whole body within the body read timeout.
    RequestTimeout,
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
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::Validation,
        ErrorKind::PayloadTooLarge,
        ErrorKind::InvalidJson,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::RequestTimeout,
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
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::RequestTimeout => "request_timeout",
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

    /// 415: a JSON endpoint called with another content type, or none.
    pub fn unsupported_media_type(got: Option<&str>) -> Self {
        let got = match got {
            Some(value) => format!("got `{value}`"),
            None => "got none".to_string(),
        };
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::UnsupportedMediaType,
            format!("expected a request with `Content-Type: application/json` ({got})"),
        )
    }

    /// 408: the body did not arrive in time (the connection is closed after the answer).
    pub fn body_timeout(timeout: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorKind::RequestTimeout,
            format!(
                "the request body did not arrive within {:.3} s (--body-read-timeout)",
                timeout.as_secs_f64()
            ),
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
        if self.kind == ErrorKind::RequestTimeout {
            // The rest of the body may still be on its way: this connection cannot be reused.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
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
