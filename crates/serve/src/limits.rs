//! Request limits: the JSON body extractor (size limit → 413, bad JSON → 400/422, all as JSON
//! errors) and the concurrency limit (429 when `--max-concurrent-requests` are in flight).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::errors::{ApiError, ErrorKind};

/// A JSON body parsed into `T`; every failure is an [`ApiError`]. The content type is not
/// checked: clients that forget `application/json` still get served.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        ErrorKind::PayloadTooLarge,
                        "request body is larger than the server's limit (--max-body-bytes)",
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorKind::InvalidJson,
                        format!("could not read the request body: {rejection}"),
                    )
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a body: bad JSON syntax is 400, JSON of the wrong shape 422.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        let status = if error.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(
            status,
            ErrorKind::InvalidJson,
            format!("invalid request body: {error}"),
        )
    })
}

/// At most `limit` requests handled at once; the rest are refused at once with 429 rather than
/// left waiting.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl ConcurrencyLimit {
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A slot for one request, held until the permit is dropped; 429 when none is free.
    pub fn try_enter(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::overloaded(self.limit))
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> usize {
        self.limit - self.permits.available_permits()
    }
}
