//! The score cache returns the same scores and counts hits and misses.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn cache_returns_identical_scores_and_counts_hits() {
    let mut config = loopback_config();
    config.reranker = Some(reranker_config());
    config.cache_size = 100;
    let server = TestServer::start(config);
    let url = server.url("/rerank");
    let request = json!({ "query": QUERY, "texts": DOCS, "raw_scores": true });

    let (status, first_headers, first) = post_json(&url, &request).await;
    assert_eq!(status, 200);
    assert_eq!(first_headers["x-batch-requests"], "1");
    let (status, second_headers, second) = post_json(&url, &request).await;
    assert_eq!(status, 200);
    assert_eq!(first, second, "cached scores are bit-identical");
    assert_eq!(
        second_headers["x-batch-requests"], "0",
        "nothing ran the model"
    );

    let (_, metrics) = get_text(&server.url("/metrics")).await;
    assert_eq!(metric(&metrics, "rankforge_cache_hits_total"), 5.0);
    assert_eq!(metric(&metrics, "rankforge_cache_misses_total"), 5.0);
    assert_eq!(metric(&metrics, "rankforge_cache_entries"), 5.0);

    // Sigmoid scores come from the same cached logits; one new document is one miss.
    let (status, _, mixed) = post_json(
        &server.url("/v2/rerank"),
        &json!({ "query": QUERY, "documents": [DOCS[0], "A document never seen before."] }),
    )
    .await;
    assert_eq!(status, 200);
    let expected = library_scores(QUERY, &[DOCS[0], "A document never seen before."]);
    for result in mixed["results"].as_array().unwrap() {
        let index = result["index"].as_u64().unwrap() as usize;
        let score = result["relevance_score"].as_f64().unwrap() as f32;
        assert!((score - expected[index]).abs() <= 1e-5);
    }
    let (_, metrics) = get_text(&server.url("/metrics")).await;
    assert_eq!(metric(&metrics, "rankforge_cache_hits_total"), 6.0);
    assert_eq!(metric(&metrics, "rankforge_cache_misses_total"), 6.0);

    // Another query is another key.
    let (_, _, other) = post_json(
        &url,
        &json!({ "query": "another query", "texts": [DOCS[0]], "raw_scores": true }),
    )
    .await;
    let expected = library_logits("another query", &[DOCS[0]])[0];
    assert!((other[0]["score"].as_f64().unwrap() as f32 - expected).abs() <= 1e-5);
    server.stop().unwrap();
}
