//! Concurrent clients get their own, correct answers, and the worker batches them together.

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_clients_get_unmixed_correct_scores() {
    let mut config = loopback_config();
    config.reranker = Some(reranker_config());
    config.embedder = Some(embedder_config());
    let server = TestServer::start(config);
    let queries: Vec<String> = (0..16)
        .map(|i| {
            format!(
                "{} (variant {i}: {})",
                QUERY,
                ["cats", "flour", "weights", "rivers"][i % 4]
            )
        })
        .collect();
    let mut tasks = Vec::new();
    for (i, query) in queries.iter().enumerate() {
        let docs: Vec<&str> = (0..3).map(|k| DOCS[(i + k) % DOCS.len()]).collect();
        let url = server.url("/rerank");
        let body = json!({ "query": query, "texts": docs, "raw_scores": true });
        tasks.push(tokio::spawn(async move { post_json(&url, &body).await }));
    }
    // Embeddings interleaved with the reranks: a different kind of work in the same queue.
    let embed_url = server.url("/embed");
    let embed_task =
        tokio::spawn(async move { post_json(&embed_url, &json!({ "inputs": DOCS })).await });
    let mut largest_batch = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        let (status, headers, body) = task.await.unwrap();
        assert_eq!(status, 200, "client {i}: {body}");
        largest_batch = largest_batch.max(
            headers["x-batch-requests"]
                .to_str()
                .unwrap()
                .parse::<usize>()
                .unwrap(),
        );
        let docs: Vec<&str> = (0..3).map(|k| DOCS[(i + k) % DOCS.len()]).collect();
        let expected = library_logits(&queries[i], &docs);
        let results = body.as_array().unwrap();
        assert_eq!(results.len(), 3, "client {i}");
        for result in results {
            let index = result["index"].as_u64().unwrap() as usize;
            let score = result["score"].as_f64().unwrap() as f32;
            assert!(
                (score - expected[index]).abs() <= 1e-5,
                "client {i} document {index}: {score} vs {}",
                expected[index]
            );
        }
    }
    let (status, _, embeddings) = embed_task.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(embeddings.as_array().unwrap().len(), DOCS.len());
    assert!(
        largest_batch > 1,
        "16 concurrent requests never shared a worker batch"
    );
    let (_, metrics) = get_text(&server.url("/metrics")).await;
    assert_eq!(
        metric(&metrics, "rankforge_requests_total{endpoint=\"/rerank\"}"),
        16.0
    );
    assert!(metric(&metrics, "rankforge_batch_requests_count") < 17.0);
    server.stop().unwrap();
}
