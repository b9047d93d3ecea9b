//! Both rerank API shapes give the library's scores and order.

use rankforge_model::LongDocMode;
use serde_json::{json, Value};

use crate::support::*;

fn tei_scores(body: &Value) -> (Vec<usize>, Vec<f32>) {
    let items = body.as_array().expect("a list");
    (
        items
            .iter()
            .map(|r| r["index"].as_u64().unwrap() as usize)
            .collect(),
        items
            .iter()
            .map(|r| r["score"].as_f64().unwrap() as f32)
            .collect(),
    )
}

#[tokio::test]
async fn tei_rerank_matches_library_scores_and_order() {
    let server = shared();
    let (status, headers, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": QUERY, "texts": DOCS, "return_text": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let expected = library_scores(QUERY, &DOCS);
    let (order, scores) = tei_scores(&body);
    assert_eq!(order, ranking(&expected), "order");
    let expected_in_order: Vec<f32> = order.iter().map(|&i| expected[i]).collect();
    assert_close(&scores, &expected_in_order, 1e-5, "tei scores");
    for item in body.as_array().unwrap() {
        let index = item["index"].as_u64().unwrap() as usize;
        assert_eq!(item["text"], DOCS[index]);
    }
    for header in [
        "x-queue-time",
        "x-tokenization-time",
        "x-inference-time",
        "x-total-time",
    ] {
        let value: f64 = headers[header].to_str().unwrap().parse().unwrap();
        assert!(value >= 0.0, "{header}: {value}");
    }
}

#[tokio::test]
async fn tei_raw_scores_are_the_library_logits() {
    let server = shared();
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": QUERY, "texts": DOCS, "raw_scores": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let logits = library_logits(QUERY, &DOCS);
    let (order, scores) = tei_scores(&body);
    assert_eq!(order, ranking(&logits));
    let expected: Vec<f32> = order.iter().map(|&i| logits[i]).collect();
    assert_close(&scores, &expected, 1e-5, "raw scores");
    assert!(body[0].get("text").is_none(), "no text unless asked");
}

#[tokio::test]
async fn cohere_rerank_matches_library_and_accepts_document_objects() {
    let server = shared();
    let documents: Vec<Value> = DOCS
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                json!(d)
            } else {
                json!({ "text": d, "title": "ignored" })
            }
        })
        .collect();
    let (status, headers, body) = post_json(
        &server.url("/v2/rerank"),
        &json!({
            "model": "whatever-the-client-calls-it",
            "query": QUERY,
            "documents": documents,
            "top_n": 3,
            "return_documents": true
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.contains_key("x-total-time"));
    let expected = library_scores(QUERY, &DOCS);
    let best3: Vec<usize> = ranking(&expected).into_iter().take(3).collect();
    let results = body["results"].as_array().unwrap();
    let order: Vec<usize> = results
        .iter()
        .map(|r| r["index"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(order, best3);
    for result in results {
        let index = result["index"].as_u64().unwrap() as usize;
        let score = result["relevance_score"].as_f64().unwrap() as f32;
        assert!(
            (score - expected[index]).abs() <= 1e-5,
            "{score} vs {}",
            expected[index]
        );
        assert_eq!(result["document"]["text"], DOCS[index]);
    }
    let id = body["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "uuid: {id}");
    assert_eq!(body["meta"]["api_version"]["version"], "2");
    assert_eq!(body["meta"]["billed_units"]["search_units"], 1);
    let tokens = body["meta"]["tokens"]["input_tokens"].as_u64().unwrap();
    assert!(tokens > 0);
    assert_eq!(body["usage"]["total_tokens"].as_u64().unwrap(), tokens);
}

#[tokio::test]
async fn both_shapes_agree() {
    let server = shared();
    let (_, _, tei) = post_json(
        &server.url("/rerank"),
        &json!({ "query": QUERY, "texts": DOCS }),
    )
    .await;
    let (_, _, cohere) = post_json(
        &server.url("/v2/rerank"),
        &json!({ "query": QUERY, "documents": DOCS }),
    )
    .await;
    let (tei_order, tei_scores) = tei_scores(&tei);
    let results = cohere["results"].as_array().unwrap();
    assert_eq!(results.len(), DOCS.len(), "all documents without top_n");
    assert!(
        results[0].get("document").is_none(),
        "no documents unless asked"
    );
    let cohere_order: Vec<usize> = results
        .iter()
        .map(|r| r["index"].as_u64().unwrap() as usize)
        .collect();
    let cohere_scores: Vec<f32> = results
        .iter()
        .map(|r| r["relevance_score"].as_f64().unwrap() as f32)
        .collect();
    assert_eq!(tei_order, cohere_order);
    assert_close(&cohere_scores, &tei_scores, 1e-5, "cohere vs tei");
}

#[tokio::test]
async fn max_tokens_per_doc_cuts_documents_first() {
    let server = shared();
    let long = "the red cat sat on the mat and the dog ran far away from the house";
    let (status, _, body) = post_json(
        &server.url("/v2/rerank"),
        &json!({ "query": QUERY, "documents": [long], "max_tokens_per_doc": 5 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let score = body["results"][0]["relevance_score"].as_f64().unwrap() as f32;
    let expected = library_scores(QUERY, &["the red cat sat on"])[0];
    let uncut = library_scores(QUERY, &[long])[0];
    assert!(
        (score - expected).abs() <= 1e-5,
        "{score} vs cut {expected}"
    );
    assert!(
        (score - uncut).abs() > 1e-6,
        "cutting changed nothing: {score} vs {uncut}"
    );
}

#[tokio::test]
async fn long_documents_truncate_by_default() {
    let server = shared();
    let long = "gradient descent updates the weights of the network. ".repeat(60);
    let docs = [long.as_str(), DOCS[0]];
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": QUERY, "texts": docs }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let expected = library_scores(QUERY, &docs);
    let (order, scores) = tei_scores(&body);
    let expected_in_order: Vec<f32> = order.iter().map(|&i| expected[i]).collect();
    assert_close(&scores, &expected_in_order, 1e-5, "truncated long document");

    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": QUERY, "texts": docs, "truncate": false }),
    )
    .await;
    assert_error(status, &body, 413, "validation");
    assert!(
        body["error"].as_str().unwrap().contains("document 0"),
        "{body}"
    );
}

#[tokio::test]
async fn max_chunk_server_scores_like_the_library_max_chunk() {
    let mode = LongDocMode::MaxChunk {
        window: 24,
        stride: 16,
    };
    let mut config = loopback_config();
    let mut reranker = reranker_config();
    reranker.long_doc = mode;
    config.reranker = Some(reranker);
    let server = TestServer::start(config);
    let long = format!(
        "{} {} {}",
        "the recipe needs flour and salt and water.".repeat(6),
        DOCS[2],
        "paris is a city in france.".repeat(6)
    );
    let docs = [long.as_str(), DOCS[1]];
    let (status, _, body) = post_json(
        &server.url("/rerank"),
        &json!({ "query": QUERY, "texts": docs }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let expected = library_scores_with(mode, QUERY, &docs);
    let (order, scores) = tei_scores(&body);
    let expected_in_order: Vec<f32> = order.iter().map(|&i| expected[i]).collect();
    assert_close(&scores, &expected_in_order, 1e-5, "max-chunk");
    let truncated = library_scores(QUERY, &docs);
    assert!(
        (expected[0] - truncated[0]).abs() > 1e-6,
        "max-chunk should differ from truncation on a long document"
    );
    let (_, info) = get_text(&server.url("/info")).await;
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["reranker"]["long_doc"]["mode"], "max-chunk");
    assert_eq!(info["reranker"]["long_doc"]["window"], 24);
    assert_eq!(
        info["reranker"]["long_doc"]["max_windows"],
        rankforge_model::DEFAULT_MAX_WINDOWS
    );
    server.stop().unwrap();
}
