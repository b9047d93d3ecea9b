//! `/embed` gives `BiEncoder::embed`'s vectors.

use serde_json::{json, Value};

use crate::support::*;

fn rows(body: &Value) -> Vec<Vec<f32>> {
    body.as_array()
        .expect("a list of rows")
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn embed_matches_library_embeddings() {
    let server = shared();
    let texts = [DOCS[0], DOCS[1], DOCS[3]];
    let (status, headers, body) =
        post_json(&server.url("/embed"), &json!({ "inputs": texts })).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.contains_key("x-inference-time"));
    let got = rows(&body);
    let expected = library_embeddings(&texts);
    assert_eq!(got.len(), 3);
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g.len(), 384);
        assert_close(g, e, 1e-5, &format!("embedding {i}"));
    }
}

#[tokio::test]
async fn embed_takes_a_single_string_and_normalize_false() {
    let server = shared();
    let (status, _, body) = post_json(&server.url("/embed"), &json!({ "inputs": DOCS[2] })).await;
    assert_eq!(status, 200, "{body}");
    let one = rows(&body);
    assert_eq!(one.len(), 1);
    assert_close(&one[0], &library_embeddings(&[DOCS[2]])[0], 1e-5, "single");
    let norm: f32 = one[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "normalised by default: {norm}");

    let (status, _, body) = post_json(
        &server.url("/embed"),
        &json!({ "inputs": [DOCS[2]], "normalize": false }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let raw = &rows(&body)[0];
    let raw_norm: f32 = raw.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((raw_norm - 1.0).abs() > 1e-3, "not normalised: {raw_norm}");
    let renormalised: Vec<f32> = raw.iter().map(|x| x / raw_norm).collect();
    assert_close(&renormalised, &one[0], 1e-5, "same direction");
}

#[tokio::test]
async fn embed_refuses_long_inputs_without_truncation() {
    let server = shared();
    let long = "word ".repeat(400);
    let (status, _, body) = post_json(
        &server.url("/embed"),
        &json!({ "inputs": [long], "truncate": false }),
    )
    .await;
    assert_error(status, &body, 413, "validation");
    let (status, _, body) = post_json(&server.url("/embed"), &json!({ "inputs": [long] })).await;
    assert_eq!(status, 200, "{body}");
}
