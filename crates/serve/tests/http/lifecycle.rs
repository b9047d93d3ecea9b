//! Health, info, metrics, the OpenAPI document, and graceful shutdown.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn health_and_info_describe_the_server() {
    let server = shared();
    let (status, text) = get_text(&server.url("/health")).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["status"],
        "ok"
    );
    let (status, text) = get_text(&server.url("/info")).await;
    assert_eq!(status, 200);
    let info: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(info["model_id"], "all-MiniLM-L6-v2");
    assert_eq!(info["max_input_length"], MAX_LENGTH);
    assert_eq!(info["reranker"]["max_input_length"], MAX_LENGTH);
    assert_eq!(info["reranker"]["long_doc"]["mode"], "truncate");
    assert_eq!(info["reranker"]["new_head"], true);
    assert_eq!(info["embedder"]["dimension"], 384);
    assert_eq!(info["embedder"]["pooling"], "mean");
    assert_eq!(info["embedder"]["normalize"], true);
    assert_eq!(info["limits"]["max_client_batch_size"], 256);
    assert_eq!(info["limits"]["max_concurrent_requests"], 512);
    assert_eq!(info["cache_size"], 0);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let server = shared();
    let (status, _, _) = post_json(
        &server.url("/rerank"),
        &json!({ "query": QUERY, "texts": [DOCS[0], DOCS[1]] }),
    )
    .await;
    assert_eq!(status, 200);
    let response = client().get(server.url("/metrics")).send().await.unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for name in [
        "rankforge_requests_total",
        "rankforge_errors_total",
        "rankforge_queue_depth",
        "rankforge_in_flight_requests",
        "rankforge_batch_requests_bucket",
        "rankforge_batch_tokens_bucket",
        "rankforge_tokens_total",
        "rankforge_request_duration_seconds_bucket",
        "rankforge_queue_duration_seconds_bucket",
        "rankforge_tokenization_duration_seconds_bucket",
        "rankforge_inference_duration_seconds_bucket",
        "rankforge_cache_hits_total",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    assert!(metric(&text, "rankforge_requests_total{endpoint=\"/rerank\"}") >= 1.0);
    assert!(metric(&text, "rankforge_tokens_total") > 0.0);
}

#[tokio::test]
async fn openapi_document_describes_every_endpoint() {
    let server = shared();
    let (status, text) = get_text(&server.url("/openapi.json")).await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/rerank", "post"),
        ("/v2/rerank", "post"),
        ("/embed", "post"),
        ("/health", "get"),
        ("/info", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_then_refuses_connections() {
    let mut config = loopback_config();
    config.reranker = Some(reranker_config());
    let mut server = TestServer::start(config);
    let url = server.url("/rerank");
    let texts: Vec<String> = (0..32)
        .map(|i| format!("{} Passage {i}.", DOCS[i % DOCS.len()]))
        .collect();
    let in_flight = {
        let url = url.clone();
        let body = json!({ "query": QUERY, "texts": texts });
        tokio::spawn(async move { post_json(&url, &body).await })
    };
    wait_for_in_flight(&server, 1).await;
    server.begin_shutdown();
    let (status, _, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "in-flight request finished: {body}");
    assert_eq!(body.as_array().unwrap().len(), 32);
    server.stop().unwrap();
    let refused = client()
        .post(&url)
        .json(&json!({ "query": "q", "texts": ["a"] }))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(refused.is_err(), "the port no longer answers");
}
