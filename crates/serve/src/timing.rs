//! Per-request timings, sent back as headers in milliseconds (as text-embeddings-inference
//! does): `x-queue-time`, `x-tokenization-time`, `x-inference-time`, `x-total-time`.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

pub const QUEUE_TIME: &str = "x-queue-time";
pub const TOKENIZATION_TIME: &str = "x-tokenization-time";
pub const INFERENCE_TIME: &str = "x-inference-time";
pub const TOTAL_TIME: &str = "x-total-time";
/// Requests that shared the worker batch this one ran in (0: every score came from the cache).
pub const BATCH_REQUESTS: &str = "x-batch-requests";

/// Where one request's time went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    pub tokenization: Duration,
    pub queue: Duration,
    /// The worker's time on the batch this request ran in.
    pub inference: Duration,
    pub total: Duration,
    pub batch_requests: usize,
}

fn millis(duration: Duration) -> HeaderValue {
    HeaderValue::from_str(&format!("{:.3}", duration.as_secs_f64() * 1000.0))
        .expect("a number is a valid header value")
}

impl Timings {
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: HeaderValue| {
            headers.insert(HeaderName::from_static(name), value);
        };
        put(QUEUE_TIME, millis(self.queue));
        put(TOKENIZATION_TIME, millis(self.tokenization));
        put(INFERENCE_TIME, millis(self.inference));
        put(TOTAL_TIME, millis(self.total));
        put(BATCH_REQUESTS, HeaderValue::from(self.batch_requests));
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_milliseconds() {
        let timings = Timings {
            tokenization: Duration::from_micros(1500),
            queue: Duration::from_millis(2),
            inference: Duration::from_millis(30),
            total: Duration::from_millis(40),
            batch_requests: 3,
        };
        let headers = timings.headers();
        assert_eq!(headers[TOKENIZATION_TIME], "1.500");
        assert_eq!(headers[QUEUE_TIME], "2.000");
        assert_eq!(headers[INFERENCE_TIME], "30.000");
        assert_eq!(headers[TOTAL_TIME], "40.000");
        assert_eq!(headers[BATCH_REQUESTS], "3");
    }
}
