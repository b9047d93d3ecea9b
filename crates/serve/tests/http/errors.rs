//! Every error path answers its status and a JSON `{"error", "error_type"}`, and the server
//! keeps serving afterwards.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::support::*;

/// A reranker-only server with small limits: 4 documents, 2000-byte bodies.
fn limited() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut config = loopback_config();
        config.reranker = Some(reranker_config());
        config.limits.max_client_batch_size = 4;
        config.limits.max_body_bytes = 2000;
        TestServer::start(config)
    })
}

#[tokio::test]
async fn body_too_large_is_413() {
    let server = limited();
    let big = "x".repeat(3000);
    let (status, body) = post_raw(
        &server.url("/rerank"),
        json!({ "query": "q", "texts": [big] }).to_string(),
    )
    .await;
    assert_error(status, &body, 413, "payload_too_large");
}

#[tokio::test]
async fn too_many_documents_is_413() {
    let server = limited();
    for (path, field) in [("/rerank", "texts"), ("/v2/rerank", "documents")] {
        let (status, _, body) = post_json(
            &server.url(path),
            &json!({ "query": "q", field: ["a", "b", "c", "d", "e"] }),
        )
        .await;
        assert_error(status, &body, 413, "validation");
        assert!(
            body["error"].as_str().unwrap().contains("limit is 4"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn empty_query_or_documents_is_400() {
    let server = shared();
    let cases = [
        ("/rerank", json!({ "query": "", "texts": ["a"] })),
        ("/rerank", json!({ "query": "   ", "texts": ["a"] })),
        ("/rerank", json!({ "query": "q", "texts": [] })),
        ("/v2/rerank", json!({ "query": "", "documents": ["a"] })),
        ("/v2/rerank", json!({ "query": "q", "documents": [] })),
        ("/embed", json!({ "inputs": [] })),
    ];
    for (path, request) in cases {
        let (status, _, body) = post_json(&server.url(path), &request).await;
        assert_error(status, &body, 400, "empty");
    }
}

#[tokio::test]
async fn malformed_bodies_are_json_errors() {
    let server = shared();
    let url = server.url("/rerank");
    let syntax: [&[u8]; 4] = [
        b"{not json",
        b"",
        b"{\"query\": \"q\", \"texts\": [",
        b"\xff\xfe",
    ];
    for raw in syntax {
        let (status, body) = post_raw(&url, raw.to_vec()).await;
        assert_error(status, &body, 400, "invalid_json");
    }
    let shapes = [
        json!({ "query": "q" }),
        json!({ "query": 3, "texts": ["a"] }),
        json!({ "query": "q", "texts": "not a list" }),
        json!({ "query": "q", "texts": [1, 2] }),
        json!(["a", "b"]),
    ];
    for request in shapes {
        let (status, body) = post_raw(&url, request.to_string()).await;
        assert_error(status, &body, 422, "invalid_json");
    }
    let (status, body) = post_raw(
        &server.url("/v2/rerank"),
        json!({ "query": "q", "documents": [{ "title": "no text field" }] }).to_string(),
    )
    .await;
    assert_error(status, &body, 422, "invalid_json");
    // Deep nesting is refused, not a stack overflow.
    let nested = format!("{{\"query\": \"q\", \"texts\": {}", "[".repeat(100_000));
    let (status, body) = post_raw(&url, nested).await;
    assert!(status == 400 || status == 422, "{status}");
    assert_eq!(body["error_type"], "invalid_json");
}

#[tokio::test]
async fn parameters_out_of_range_are_422() {
    let server = shared();
    let cases = [
        json!({ "query": "q", "documents": ["a"], "top_n": 0 }),
        json!({ "query": "q", "documents": ["a"], "max_tokens_per_doc": 0 }),
        json!({ "query": "q", "documents": ["a"], "top_n": -1 }),
    ];
    for request in cases {
        let (status, _, body) = post_json(&server.url("/v2/rerank"), &request).await;
        assert_eq!(status, 422, "{request} → {body}");
        assert!(body["error_type"] == "validation" || body["error_type"] == "invalid_json");
    }
}

#[tokio::test]
async fn tokenizer_failure_is_422() {
    // The WordPiece tokenizer takes any UTF-8 text, so force the failure through the same
    // mapping the handlers use: an impossible max-chunk window.
    let tokenizer =
        rankforge_model::TextTokenizer::from_file(&minilm().join("tokenizer.json"), MAX_LENGTH)
            .unwrap();
    let lengths = rankforge_serve::tokenization::LengthTokenizer::new(&tokenizer).unwrap();
    let error = rankforge_serve::tokenization::tokenize_pairs(
        &tokenizer,
        &lengths,
        rankforge_model::LongDocMode::MaxChunk {
            window: 0,
            stride: 0,
        }
        .into(),
        "q",
        &["doc".to_string()],
        &[0],
        rankforge_serve::tokenization::PairOptions {
            truncate: true,
            max_tokens_per_doc: None,
        },
    )
    .unwrap_err();
    assert_eq!(error.status.as_u16(), 422);
    assert_eq!(error.kind.as_str(), "tokenizer");
}

#[tokio::test]
async fn queue_full_is_429() {
    let mut config = loopback_config();
    config.reranker = Some(reranker_config());
    config.limits.max_concurrent_requests = 1;
    let server = TestServer::start(config);
    let url = server.url("/rerank");
    let many: Vec<String> = (0..48)
        .map(|i| format!("{} Document number {i}.", DOCS[i % DOCS.len()]))
        .collect();
    let slow = {
        let url = url.clone();
        tokio::spawn(
            async move { post_json(&url, &json!({ "query": QUERY, "texts": many })).await },
        )
    };
    wait_for_in_flight(&server, 1).await;
    let (status, _, body) = post_json(&url, &json!({ "query": "q", "texts": ["a"] })).await;
    assert_error(status, &body, 429, "overloaded");
    let (slow_status, _, _) = slow.await.unwrap();
    assert_eq!(slow_status, 200, "the admitted request still completes");
    let (status, _, _) = post_json(&url, &json!({ "query": "q", "texts": ["a"] })).await;
    assert_eq!(status, 200, "a slot is free again");
    let (_, metrics) = get_text(&server.url("/metrics")).await;
    assert!(metric(&metrics, "rankforge_errors_total{kind=\"overloaded\"}") >= 1.0);
    server.stop().unwrap();
}

#[tokio::test]
async fn missing_models_are_404_with_a_json_error() {
    let server = limited();
    let (status, _, body) = post_json(&server.url("/embed"), &json!({ "inputs": "hi" })).await;
    assert_error(status, &body, 404, "model_not_loaded");
    assert!(
        body["error"].as_str().unwrap().contains("--embed-model"),
        "{body}"
    );

    let mut config = loopback_config();
    config.embedder = Some(embedder_config());
    let embed_only = TestServer::start(config);
    for path in ["/rerank", "/v2/rerank"] {
        let (status, _, body) = post_json(
            &embed_only.url(path),
            &json!({ "query": "q", "texts": ["a"], "documents": ["a"] }),
        )
        .await;
        assert_error(status, &body, 404, "model_not_loaded");
        assert!(
            body["error"].as_str().unwrap().contains("--model"),
            "{body}"
        );
    }
    embed_only.stop().unwrap();
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let server = shared();
    let (status, text) = get_text(&server.url("/no/such/route")).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_error(status, &body, 404, "not_found");
    let (status, text) = get_text(&server.url("/rerank")).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_error(status, &body, 405, "method_not_allowed");
}

#[tokio::test]
async fn malformed_requests_leave_the_server_serving_and_are_counted() {
    let server = limited();
    for raw in ["{", "null", "{\"query\": [}", "\u{0}"] {
        let (status, _) = post_raw(&server.url("/v2/rerank"), raw.to_string()).await;
        assert!(status.is_client_error());
    }
    let (status, _) = get_text(&server.url("/health")).await;
    assert_eq!(status, 200);
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": QUERY, "texts": [DOCS[0]] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, metrics) = get_text(&server.url("/metrics")).await;
    assert!(metric(&metrics, "rankforge_errors_total{kind=\"invalid_json\"}") >= 4.0);
}

#[tokio::test]
async fn a_server_without_models_does_not_start() {
    let error = TestServer::try_start(loopback_config())
        .err()
        .expect("refused");
    assert!(error.to_string().contains("nothing to serve"), "{error}");
    let mut config = loopback_config();
    let mut reranker = reranker_config();
    reranker.dir = "/nonexistent/model".into();
    config.reranker = Some(reranker);
    let error = TestServer::try_start(config).err().expect("refused");
    assert!(error.to_string().contains("/nonexistent/model"), "{error}");
}

/// Issue 19 (14): a JSON endpoint called without `Content-Type: application/json` is refused
/// with 415 and a JSON error, as text-embeddings-inference does; before, any content type (or
/// none) was parsed as JSON. `application/json` with parameters is accepted.
#[tokio::test]
async fn json_endpoints_refuse_other_content_types_with_415() {
    let server = shared();
    let cases = [
        ("/rerank", r#"{"query": "q", "texts": ["a", "b"]}"#),
        ("/v2/rerank", r#"{"query": "q", "documents": ["a", "b"]}"#),
        ("/embed", r#"{"inputs": ["a", "b"]}"#),
    ];
    for (path, body) in cases {
        let url = server.url(path);
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("text/json"),
            None,
        ] {
            let mut request = client().post(&url).body(body);
            if let Some(value) = content_type {
                request = request.header("content-type", value);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{path} {content_type:?}: not JSON ({e}): {text}"));
            assert_error(status, &json, 415, "unsupported_media_type");
            assert!(
                json["error"].as_str().unwrap().contains("application/json"),
                "{json}"
            );
        }
        for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
            let response = client()
                .post(&url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path} with {content_type}");
        }
    }
    let (_, metrics) = get_text(&server.url("/metrics")).await;
    assert!(
        metric(
            &metrics,
            "rankforge_errors_total{kind=\"unsupported_media_type\"}"
        ) >= 12.0
    );
}
