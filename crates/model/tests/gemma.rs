//! Decoder-only rerankers on a Gemma body (issue 25: bge-reranker-v2-gemma's scoring, the raw
//! logit of `Yes` at the last position): the tiny random GemmaForCausalLM of
//! `scripts/reference/gemma_reference.py` (`tests/fixtures/gemma-tiny-reranker`, a plain
//! causal-LM directory: 4 query heads sharing one key/value head, GeGLU, embeddings × √hidden,
//! norm gains stored as `γ − 1`) with bge-reranker-v2-gemma's prompt as a plain template and
//! in FlagEmbedding's own layout (`FlagLLMReranker`: pieces tokenized apart, the query cut at
//! 3/4 of the max length), against transformers' outputs in `tests/fixtures/gemma.json`.
//!
//! Tolerances, as for Qwen3 (`tests/qwen3.rs`): ids exact; hidden states 1e-5 relative to
//! max(1, the layer's largest |value|); logits 1e-5; a batch against one by one 1e-5.

mod common;

use std::path::PathBuf;

use burn::tensor::{Int, Tensor, TensorData};
use common::*;
use rankforge_model::qwen3::{CausalLmFormat, CausalLmReranker, CausalLmSettings};
use rankforge_model::{
    Activation, BatchingConfig, Precision, Reranker, RerankerOptions, RunOptions,
};
use serde_json::Value;

fn dir() -> PathBuf {
    repo_root().join("tests/fixtures/gemma-tiny-reranker")
}

fn fx() -> Value {
    fixture("gemma.json")
}

fn settings(fx: &Value) -> CausalLmSettings {
    CausalLmSettings {
        prompt_template: Some(fx["prompt_template"].as_str().unwrap().into()),
        true_token: Some("Yes".into()),
        ..Default::default()
    }
}

fn load(batch: usize) -> CausalLmReranker<B> {
    CausalLmReranker::<B>::load(
        dir(),
        Some(settings(&fx())),
        None,
        Activation::Identity,
        RunOptions {
            batching: BatchingConfig {
                max_batch_size: batch,
                ..Default::default()
            },
            progress: false,
        },
        Precision::F32,
        &Default::default(),
    )
    .unwrap()
    .0
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            assert!(x.is_finite() && y.is_finite(), "{x} {y}");
            (x - y).abs()
        })
        .fold(0.0, f32::max)
}

/// The template (with `{{ bos_token }}` from tokenizer_config.json) renders and tokenizes as
/// the reference; the long pair keeps the instruction after the document.
#[test]
fn prompt_ids_match_and_keep_the_instruction() {
    let fx = fx();
    let reranker = load(8);
    assert_eq!(
        reranker.token_ids(),
        &[fx["true_token_id"].as_u64().unwrap() as u32]
    );
    assert_eq!(reranker.max_length(), 128);
    let pairs = query_document_pairs(&fx);
    assert_eq!(
        reranker.prompts().render(&pairs[0].0, &pairs[0].1).unwrap(),
        fx["first_prompt"].as_str().unwrap()
    );
    let suffix = u32s(&fx["suffix_ids"]);
    assert_eq!(reranker.prompts().suffix(), suffix.as_slice());
    let ids = reranker.encode(&refs(&pairs)).unwrap();
    for (got, entry) in ids.iter().zip(fx["pairs"].as_array().unwrap()) {
        assert_eq!(got, &u32s(&entry["ids"]), "{}", entry["query"]);
    }
    let long = ids.last().unwrap();
    assert_eq!(long.len(), 128);
    assert!(long.ends_with(&suffix));
}

#[test]
fn hidden_states_and_yes_logits_match_transformers() {
    let fx = fx();
    let reranker = load(8);
    let device = Default::default();
    for entry in fx["pairs"].as_array().unwrap() {
        let Some(states) = entry["hidden_states"].as_array() else {
            continue;
        };
        let ids: Vec<i64> = u32s(&entry["ids"]).iter().map(|&i| i as i64).collect();
        let n = ids.len();
        let masks = reranker.model.masks(&[n], n, &device);
        let input = Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [1, n]), &device);
        let ours = reranker.model.hidden_states(input, &masks);
        assert_eq!(ours.len(), states.len());
        for (layer, (ours, want)) in ours.iter().zip(states).enumerate() {
            let want: Vec<f32> = want.as_array().unwrap().iter().flat_map(f32s).collect();
            let got: Vec<f32> = ours.clone().into_data().into_vec().unwrap();
            let d = max_diff(&got, &want);
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            println!("state {layer}: max |Δ| {d:.2e} (values up to {scale:.2})");
            assert!(d < 1e-5 * scale, "state {layer}: {d}");
        }
    }
    let pairs = query_document_pairs(&fx);
    let want: Vec<f32> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["yes_logit"].as_f64().unwrap() as f32)
        .collect();
    let one = load(1).raw_scores(&refs(&pairs)).unwrap();
    let batched = reranker.raw_scores(&refs(&pairs)).unwrap();
    let (d_one, d_batch) = (max_diff(&one, &want), max_diff(&batched, &one));
    println!(
        "logit(Yes): one by one vs transformers {d_one:.2e}; batched vs one by one {d_batch:.2e}"
    );
    assert!(d_one < 1e-5, "{one:?} vs {want:?}");
    assert!(d_batch < 1e-5, "{batched:?} vs {one:?}");
}

/// A plain GemmaForCausalLM directory is a decoder-only reranker to `Reranker::load_with`;
/// without a prompt template (it has no chat template) or a `Yes`/`no` pair it is refused.
#[test]
fn the_reranker_hook_takes_the_settings() {
    let fx = fx();
    assert_eq!(
        CausalLmFormat::recognise(&dir()),
        Some(CausalLmFormat::Plain)
    );
    let options = RerankerOptions {
        activation: Activation::Identity,
        ..Default::default()
    };
    let (reranker, report) =
        Reranker::<B>::load_with(dir(), &options, Some(settings(&fx)), &Default::default())
            .unwrap();
    assert!(matches!(reranker, Reranker::CausalLm(_)));
    assert!(
        report.notes[0].contains("gemma") && report.notes[0].contains("logit(\"Yes\")"),
        "{:?}",
        report.notes
    );
    let pairs = query_document_pairs(&fx);
    let scores = reranker.score_pairs(&refs(&pairs)).unwrap();
    let want: Vec<f32> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["yes_logit"].as_f64().unwrap() as f32)
        .collect();
    assert!(max_diff(&scores, &want) < 1e-5);
    let no_template = CausalLmSettings {
        prompt_template: None,
        ..settings(&fx)
    };
    let err = Reranker::<B>::load_with(dir(), &options, Some(no_template), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no chat template"), "{err}");
}

/// bge-reranker-v2-gemma as FlagEmbedding scores it (`CausalLmSettings::bge_reranker_v2_gemma`):
/// the pieces tokenized apart after BOS, a long query cut at 3/4 of the max length, the passage
/// cut to fit it, the instruction after them whatever the length; ids exact, logits of `Yes`
/// within 1e-5, one by one and batched.
#[test]
fn flag_embedding_layout_matches_flag_llm_reranker() {
    let fx = fx();
    let max_length = fx["flag_max_length"].as_u64().unwrap() as usize;
    let settings = CausalLmSettings::bge_reranker_v2_gemma();
    assert_eq!(
        settings.flag_llm_prompt.as_deref(),
        fx["flag_instruction"].as_str()
    );
    let entries = fx["flag"].as_array().unwrap();
    let pairs: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["query"].as_str().unwrap().to_string(),
                e["document"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<f32> = entries
        .iter()
        .map(|e| e["yes_logit"].as_f64().unwrap() as f32)
        .collect();
    for batch in [1, 8] {
        let reranker = CausalLmReranker::<B>::load(
            dir(),
            Some(settings.clone()),
            Some(max_length),
            Activation::Identity,
            RunOptions {
                batching: BatchingConfig {
                    max_batch_size: batch,
                    ..Default::default()
                },
                progress: false,
            },
            Precision::F32,
            &Default::default(),
        )
        .unwrap()
        .0;
        let ids = reranker.encode(&refs(&pairs)).unwrap();
        for (got, entry) in ids.iter().zip(entries) {
            assert_eq!(got, &u32s(&entry["ids"]), "{}", entry["query"]);
            assert!(got.ends_with(reranker.prompts().suffix()));
        }
        let scores = reranker.raw_scores(&refs(&pairs)).unwrap();
        let d = max_diff(&scores, &want);
        println!("FlagEmbedding layout, batch {batch}: max |Δ| {d:.2e}");
        assert!(d < 1e-5, "{scores:?} vs {want:?}");
    }
    // The default max length is FlagEmbedding's 512, past this model's 256 positions.
    let err = CausalLmReranker::<B>::load(
        dir(),
        Some(settings),
        None,
        Activation::Identity,
        RunOptions::default(),
        Precision::F32,
        &Default::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("max length 512"), "{err}");
}
