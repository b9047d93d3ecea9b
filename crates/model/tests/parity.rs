//! Parity with PyTorch / sentence-transformers on all-MiniLM-L6-v2, against the fixture written
//! by `scripts/reference/model_parity.py`.

mod common;

use burn::tensor::Tensor;
use common::*;
use rankforge_model::inference::collate;
use rankforge_model::{Activation, BatchingConfig, BiEncoder, CrossEncoder, LongDocMode};

fn pairs(fx: &serde_json::Value) -> Vec<(String, String)> {
    fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
        .collect()
}

fn as_refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect()
}

fn seeded_cross_encoder(fx: &serde_json::Value) -> CrossEncoder<B> {
    let device = Default::default();
    let (mut ce, report) = CrossEncoder::<B>::builder(minilm_dir())
        .head_seed(0)
        .load(&device)
        .unwrap();
    assert!(
        report.new_head,
        "all-MiniLM-L6-v2 has no classifier, so a new head is made"
    );
    ce.model = ce
        .model
        .set_head(&f32s(&fx["head"]["weight"]), &f32s(&fx["head"]["bias"]));
    ce
}

#[test]
fn token_ids_match_transformers() {
    let fx = fixture("model_parity.json");
    let device = Default::default();
    let (bi, _) = BiEncoder::<B>::builder(minilm_dir()).load(&device).unwrap();
    assert_eq!(
        bi.tokenizer.max_length() as u64,
        fx["max_seq_length"].as_u64().unwrap()
    );
    let texts = strs(&fx["texts"]);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let encoded = bi.tokenizer.encode_texts(&refs).unwrap();
    let want_ids = fx["text_ids"].as_array().unwrap();
    assert_eq!(encoded.len(), want_ids.len());
    assert_eq!(encoded.len(), texts.len());
    for (i, (enc, want)) in encoded.iter().zip(want_ids).enumerate() {
        assert_eq!(enc.ids, u32s(want), "text {i}: {:?}", texts[i]);
    }
    let ce = seeded_cross_encoder(&fx);
    assert_eq!(ce.tokenizer.max_length(), 512);
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    let encoded = ce.tokenizer.encode_pairs(&refs).unwrap();
    assert_eq!(encoded.len(), fx["pair_ids"].as_array().unwrap().len());
    assert_eq!(encoded.len(), fx["pair_type_ids"].as_array().unwrap().len());
    for (i, enc) in encoded.iter().enumerate() {
        assert_eq!(enc.ids, u32s(&fx["pair_ids"][i]), "pair {i} ids");
        assert_eq!(
            enc.type_ids,
            u32s(&fx["pair_type_ids"][i]),
            "pair {i} type ids"
        );
    }
}

#[test]
fn embeddings_match_sentence_transformers() {
    let fx = fixture("model_parity.json");
    let device = Default::default();
    let (bi, _) = BiEncoder::<B>::builder(minilm_dir()).load(&device).unwrap();
    assert!(bi.head().normalize);
    let texts = strs(&fx["texts"]);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let ours = bi.embed(&refs).unwrap();
    let want_embeddings = fx["embeddings"].as_array().unwrap();
    assert_eq!(ours.len(), want_embeddings.len());
    for (i, want) in want_embeddings.iter().enumerate() {
        let diff = max_abs_diff(&ours[i], &f32s(want));
        assert!(
            diff <= 1e-5,
            "text {i} ({:?}): max abs diff {diff}",
            texts[i]
        );
    }
}

#[test]
fn cross_encoder_logits_and_hidden_states_match_pytorch() {
    let fx = fixture("model_parity.json");
    let mut ce = seeded_cross_encoder(&fx);
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    let want = f32s(&fx["logits"]);
    let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    ce.activation = Activation::Identity;
    let logits = ce.score(&refs).unwrap();
    let diff = max_abs_diff(&logits, &want);
    assert!(
        diff <= 1e-5 * scale,
        "logits max abs diff {diff} (scale {scale})"
    );

    ce.activation = Activation::Sigmoid;
    let scores = ce.score(&refs).unwrap();
    let diff = max_abs_diff(&scores, &f32s(&fx["st_cross_encoder_scores"]));
    assert!(
        diff <= 1e-5,
        "sigmoid scores vs sentence-transformers CrossEncoder: {diff}"
    );

    // Intermediate vectors: [CLS] after the embeddings and after every layer, pair 0.
    let encoded = ce.tokenizer.encode_pairs(&refs[..1]).unwrap();
    let states = ce
        .model
        .as_bert()
        .unwrap()
        .bert
        .hidden_states(collate::<B>(&[&encoded[0]], &Default::default()));
    let want_states = fx["cls_hidden_states_pair0"].as_array().unwrap();
    assert_eq!(states.len(), want_states.len());
    for (layer, (state, want)) in states.into_iter().zip(want_states).enumerate() {
        let cls: Tensor<B, 1> = state.narrow(1, 0, 1).narrow(2, 0, 16).reshape([16]);
        let got: Vec<f32> = cls.into_data().into_vec().unwrap();
        let diff = max_abs_diff(&got, &f32s(want));
        assert!(diff <= 1e-5, "hidden state {layer}: max abs diff {diff}");
    }
}

#[test]
fn scores_do_not_depend_on_batch_size_or_padding() {
    let fx = fixture("model_parity.json");
    let mut ce = seeded_cross_encoder(&fx);
    ce.activation = Activation::Identity;
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    ce.run.batching = BatchingConfig {
        max_batch_size: 1,
        max_batch_tokens: 1 << 20,
    };
    let one_by_one = ce.score(&refs).unwrap();
    ce.run.batching = BatchingConfig {
        max_batch_size: 32,
        max_batch_tokens: 1 << 20,
    };
    let together = ce.score(&refs).unwrap();
    let diff = max_abs_diff(&one_by_one, &together);
    assert!(diff <= 1e-5, "batch 1 vs 32: {diff}");
    // Token budget small enough to split the batch differently.
    ce.run.batching = BatchingConfig {
        max_batch_size: 32,
        max_batch_tokens: 600,
    };
    let budgeted = ce.score(&refs).unwrap();
    assert!(max_abs_diff(&one_by_one, &budgeted) <= 1e-5);
}

#[test]
fn max_chunk_scores_the_best_window() {
    let fx = fixture("model_parity.json");
    let mut ce = seeded_cross_encoder(&fx);
    ce.activation = Activation::Identity;
    let short = (
        "capital of france",
        "Paris is the capital and most populous city of France.",
    );
    let truncated = ce.score(&[short]).unwrap()[0];
    ce.long_doc = LongDocMode::MaxChunk {
        window: 128,
        stride: 96,
    };
    // A document that fits is one window: the same score as truncation.
    let chunked = ce.score(&[short]).unwrap()[0];
    assert!((truncated - chunked).abs() <= 1e-5);

    let filler = "The weather report mentioned light rain in the afternoon. ".repeat(60);
    let long_doc = format!("{filler} Paris is the capital and most populous city of France.");
    let windows = ce
        .tokenizer
        .encode_pair_windows(short.0, &long_doc, 128, 96, 64)
        .unwrap()
        .sequences;
    assert!(
        windows.len() > 3,
        "a long document is split into several windows"
    );
    for w in &windows {
        assert!(w.len() <= 128 + 8, "window of {} tokens", w.len());
        assert_eq!(w.ids[0], windows[0].ids[0], "each window starts with [CLS]");
    }
    // The window holding the answer scores highest; max-chunk reports it.
    let per_window: Vec<f32> = {
        let rows = rankforge_model::run_batched::<B>(
            &windows,
            &ce.run.batching,
            None,
            &ce.device,
            None,
            |b| ce.model.forward(b),
        );
        rows.into_iter().map(|r| r[0]).collect()
    };
    assert_eq!(per_window.len(), windows.len());
    assert!(per_window.iter().all(|s| s.is_finite()), "{per_window:?}");
    let best = per_window.iter().cloned().fold(f32::MIN, f32::max);
    let got = ce.score(&[(short.0, long_doc.as_str())]).unwrap()[0];
    assert!((got - best).abs() <= 1e-5);
}

#[test]
fn head_data_roundtrips_through_set_head() {
    let fx = fixture("model_parity.json");
    let ce = seeded_cross_encoder(&fx);
    let w: Tensor<B, 2> = ce.model.as_bert().unwrap().classifier.weight.val();
    let got: Vec<f32> = w.transpose().into_data().into_vec().unwrap();
    assert_eq!(got, f32s(&fx["head"]["weight"]));
}

/// The training forward (autodiff backend: explicit attention softmax with its dropout, host
/// dropout masks) with dropout probabilities of ~0 gives the inference forward's logits.
#[test]
fn training_forward_without_dropout_matches_inference_logits() {
    type T = rankforge_model::backend::CpuAutodiff;
    let fx = fixture("model_parity.json");
    let device = Default::default();
    let (mut ce, _) = CrossEncoder::<T>::builder(minilm_dir())
        .head_seed(0)
        .load(&device)
        .unwrap();
    ce.model = ce
        .model
        .set_head(&f32s(&fx["head"]["weight"]), &f32s(&fx["head"]["bias"]));
    let tiny = 1e-12;
    let model = ce.model.as_bert_mut().unwrap();
    model.dropout.prob = tiny;
    model.bert.embeddings.dropout.prob = tiny;
    for layer in &mut model.bert.encoder.layer {
        layer.attention.self_attn.dropout.prob = tiny;
        layer.attention.output.dropout.prob = tiny;
        layer.output.dropout.prob = tiny;
    }
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    let encoded = ce.tokenizer.encode_pairs(&refs).unwrap();
    let items: Vec<_> = encoded.iter().collect();
    // One padded batch: the attention mask matters too.
    let logits: Vec<f32> = ce
        .model
        .forward(collate::<T>(&items, &device))
        .into_data()
        .convert::<f32>()
        .into_vec()
        .unwrap();
    let want = f32s(&fx["logits"]);
    let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    let diff = max_abs_diff(&logits, &want);
    assert!(
        diff <= 1e-5 * scale,
        "training-path logits differ by {diff}"
    );
}

/// bf16 and f16 inference (weights cast once, every op in the half type): logits within 1% of
/// the largest PyTorch f32 logit, and the same ranking of the fixture pairs.
#[test]
fn half_precision_logits_stay_within_one_percent() {
    use rankforge_model::precision::{cast_module, Precision};
    let fx = fixture("model_parity.json");
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    let want = f32s(&fx["logits"]);
    let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for precision in [Precision::Bf16, Precision::F16] {
        let mut ce = seeded_cross_encoder(&fx);
        ce.activation = Activation::Identity;
        ce.model = cast_module(ce.model, precision);
        let logits = ce.score(&refs).unwrap();
        let diff = max_abs_diff(&logits, &want);
        eprintln!("{precision:?}: max abs diff {diff} (scale {scale})");
        assert!(
            diff <= 1e-2 * scale,
            "{precision:?}: {diff} vs scale {scale}"
        );
        let order = |v: &[f32]| {
            let mut idx: Vec<usize> = (0..v.len()).collect();
            idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
            idx
        };
        assert_eq!(order(&logits), order(&want), "{precision:?}: {logits:?}");
    }
}
