//! Request limits: the JSON body extractor (content type → 415, body read timeout → 408, size
//! limit → 413, bad JSON → 400/422, all as JSON errors) and the concurrency limit (429 when
//! `--max-concurrent-requests` are in flight).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::errors::{ApiError, ErrorKind};
use crate::state::AppState;

/// A JSON body parsed into `T`; every failure is an [`ApiError`]. The request must say
/// `Content-Type: application/json` (parameters such as `; charset=utf-8` allowed, as is a
/// `+json` type such as `application/vnd.api+json`), else 415 as text-embeddings-inference
/// answers; the whole body must arrive within the body read timeout, else 408.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Whether the request's `Content-Type` is JSON: `application/json` or `application/*+json`,
/// in any case, with any parameters. `Err` carries what was sent (`None`: no header).
pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), Option<String>> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(None);
    };
    let shown = || Some(String::from_utf8_lossy(value.as_bytes()).into_owned());
    let Ok(text) = value.to_str() else {
        return Err(shown());
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_json = match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    };
    if is_json {
        Ok(())
    } else {
        Err(shown())
    }
}

impl<T> FromRequest<AppState> for ApiJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        check_json_content_type(request.headers())
            .map_err(|got| ApiError::unsupported_media_type(got.as_deref()))?;
        let timeout = state.body_read_timeout;
        let bytes = tokio::time::timeout(timeout, Bytes::from_request(request, state))
            .await
            .map_err(|_| ApiError::body_timeout(timeout))?
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_type(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn json_content_types_are_recognised() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
            " application/json ",
            "application/vnd.api+json",
        ] {
            assert_eq!(check_json_content_type(&with_type(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "text/json",
            "json",
            "",
        ] {
            assert_eq!(
                check_json_content_type(&with_type(bad)),
                Err(Some(bad.to_string())),
                "{bad}"
            );
        }
        assert_eq!(check_json_content_type(&HeaderMap::new()), Err(None));
    }
}
