//! ModernBERT (issue 20): the tiny random `ModernBertForSequenceClassification` and
//! sentence-transformers `ModernBertModel` bi-encoder built by `scripts/reference/tiny_models.py`
//! (`tests/fixtures/tiny-models/modernbert-*`), against transformers' and
//! sentence-transformers' outputs in `tests/fixtures/tiny_models.json`.
//!
//! The cross-encoder has 4 layers (0 and 3 global, 1 and 2 local) with a local window of 8 tokens
//! (±4) and the pairs are 22–128 tokens long, so local attention, the two rotary bases and
//! padding all change the outputs (checked below: each altered alone breaks parity).
//!
//! Tolerances: token ids exact; logits 1e-5 relative to the largest |logit| (at least 1);
//! CrossEncoder sigmoid scores, embeddings and hidden states 1e-5 absolute; save → reload
//! bit-exact.

mod common;

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::Tensor;
use common::*;
use rankforge_model::inference::collate;
use rankforge_model::modernbert::{self, ModernBertForSequenceClassification, ModernBertModel};
use rankforge_model::modernbert_config::ModernBertConfig;
use rankforge_model::{
    BertConfig, BiEncoder, CrossEncoder, Encoded, EncoderConfig, ModelError, Pooling, TextTokenizer,
};
use serde_json::Value;

const CE: &str = "modernbert-ce";
const BI: &str = "modernbert-bi";

fn tiny_dir(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/tiny-models").join(name)
}

fn tokenizer(name: &str, fx: &Value) -> TextTokenizer {
    let max_length = fx[name]["max_length"].as_u64().unwrap() as usize;
    TextTokenizer::from_file(&tiny_dir(name).join("tokenizer.json"), max_length).unwrap()
}

fn pairs(fx: &Value) -> Vec<(String, String)> {
    fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
        .collect()
}

fn encoded_pairs(fx: &Value) -> Vec<Encoded> {
    let pairs = pairs(fx);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect();
    tokenizer(CE, fx).encode_pairs(&refs).unwrap()
}

fn load_ce() -> ModernBertForSequenceClassification<B> {
    let (model, _, report) =
        modernbert::load_cross_encoder::<B>(&tiny_dir(CE), 0, &Default::default()).unwrap();
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    model
}

/// Logits of every pair, in one padded batch.
fn logits(model: &ModernBertForSequenceClassification<B>, encoded: &[Encoded]) -> Vec<f32> {
    let refs: Vec<&Encoded> = encoded.iter().collect();
    let out = model.forward(collate::<B>(&refs, &Default::default()));
    assert_eq!(out.dims()[1], 1);
    out.into_data().into_vec().unwrap()
}

fn logit_diff(got: &[f32], want: &[f32]) -> (f32, f32) {
    let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    (max_abs_diff(got, want), scale)
}

fn assert_logits_match(what: &str, got: &[f32], want: &[f32]) {
    let (diff, scale) = logit_diff(got, want);
    eprintln!("{what}: logits max abs diff {diff:e} (scale {scale})");
    assert!(
        diff <= 1e-5 * scale,
        "{what}: logits max abs diff {diff} (scale {scale})"
    );
}

#[test]
fn config_reads_both_spellings_of_layers_and_rotary_bases() {
    let path = tiny_dir(CE).join("config.json");
    let config = ModernBertConfig::from_file(&path).unwrap();
    assert_eq!(config.layer_types().unwrap(), [true, false, false, true]);
    assert_eq!(config.rope_theta(true), 160_000.0);
    assert_eq!(config.rope_theta(false), 10_000.0);
    assert_eq!(config.half_window(), 4);
    assert_eq!(config.pooling().unwrap(), Pooling::Mean);
    assert!(!config.norm_bias && !config.attention_bias && !config.mlp_bias);
    // gte-reranker-modernbert-base's spelling (transformers 4): no layer_types, no
    // rope_parameters.
    let mut raw = config.raw.clone();
    raw.remove("layer_types");
    raw.remove("rope_parameters");
    raw.insert("global_attn_every_n_layers".into(), 2.into());
    raw.insert("global_rope_theta".into(), 1234.0.into());
    raw.insert("local_rope_theta".into(), 56.0.into());
    let old = ModernBertConfig::from_json(raw.clone(), &path).unwrap();
    assert_eq!(old.layer_types().unwrap(), [true, false, true, false]);
    assert_eq!(
        (old.rope_theta(true), old.rope_theta(false)),
        (1234.0, 56.0)
    );
    raw.remove("global_attn_every_n_layers");
    raw.remove("global_rope_theta");
    raw.remove("local_rope_theta");
    let defaults = ModernBertConfig::from_json(raw.clone(), &path).unwrap();
    assert_eq!(defaults.layer_types().unwrap(), [true, false, false, true]);
    assert_eq!(
        (defaults.rope_theta(true), defaults.rope_theta(false)),
        (160_000.0, 10_000.0)
    );
    // What rankforge does not run is refused by name.
    let mut scaled = raw.clone();
    scaled.insert(
        "rope_scaling".into(),
        serde_json::json!({"rope_type": "yarn", "factor": 2.0}),
    );
    let msg = ModernBertConfig::from_json(scaled, &path)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("rope_scaling"), "{msg}");
    let mut pooled = raw.clone();
    pooled.insert("classifier_pooling".into(), "max".into());
    let msg = ModernBertConfig::from_json(pooled, &path)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("classifier_pooling"), "{msg}");
    let mut act = raw;
    act.insert("hidden_activation".into(), "silu".into());
    let msg = ModernBertConfig::from_json(act, &path)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("silu"), "{msg}");
}

/// `BertConfig` alone refuses a ModernBERT directory and says what reads it; `EncoderConfig`
/// (what every builder reads) takes it.
#[test]
fn the_bert_body_config_points_modernbert_to_encoder_config() {
    let path = tiny_dir(CE).join("config.json");
    let err = BertConfig::from_file(&path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::Unsupported { .. }), "{msg}");
    for part in ["modernbert", "EncoderConfig"] {
        assert!(msg.contains(part), "{msg}");
    }
    let config = EncoderConfig::from_file(&path).unwrap();
    assert_eq!(config.model_type(), "modernbert");
    assert!(config.as_modernbert().is_some());
}

/// The builders every command loads through run ModernBERT: the cross-encoder's logits and
/// sigmoid scores, and the bi-encoder's embeddings, equal transformers' and
/// sentence-transformers' outputs.
#[test]
fn the_builders_load_modernbert_and_match_transformers() {
    let fx = fixture("tiny_models.json");
    let pairs = pairs(&fx);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect();
    let max_length = fx[CE]["max_length"].as_u64().unwrap() as usize;
    let (ce, report) = CrossEncoder::<B>::builder(tiny_dir(CE))
        .max_length(Some(max_length))
        .load(&Default::default())
        .unwrap();
    assert!(!report.new_head && report.unused.is_empty(), "{report:?}");
    assert!(ce.model.as_modernbert().is_some());
    let logits: Vec<f32> = ce
        .logits(&refs)
        .unwrap()
        .into_iter()
        .map(|r| r[0])
        .collect();
    assert_logits_match("builder", &logits, &f32s(&fx[CE]["logits"]));
    let diff = max_abs_diff(
        &ce.score(&refs).unwrap(),
        &f32s(&fx[CE]["st_cross_encoder_scores"]),
    );
    assert!(diff <= 1e-5, "scores vs CrossEncoder.predict: {diff}");

    let texts = strs(&fx["texts"]);
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (bi, _) = BiEncoder::<B>::builder(tiny_dir(BI))
        .load(&Default::default())
        .unwrap();
    assert_eq!(bi.tokenizer.max_length(), 128, "sentence_bert_config.json");
    let embeddings = bi.embed(&texts).unwrap();
    for (i, want) in fx[BI]["embeddings"].as_array().unwrap().iter().enumerate() {
        let diff = max_abs_diff(&embeddings[i], &f32s(want));
        assert!(diff <= 1e-5, "text {i}: {diff}");
    }
}

/// A bare ModernBERT encoder loaded as a cross-encoder gets a new head from the seed (as a BERT
/// one does), saves as `ModernBertForSequenceClassification`, and reloads with its scores; a
/// classifier checkpoint loads as a bi-encoder (its encoder under `model.`).
#[test]
fn a_bare_modernbert_encoder_gets_a_seeded_head_and_round_trips() {
    let fx = fixture("tiny_models.json");
    let pairs = pairs(&fx);
    let refs: Vec<(&str, &str)> = pairs[..3]
        .iter()
        .map(|(q, d)| (q.as_str(), d.as_str()))
        .collect();
    let load = |seed: u64| {
        CrossEncoder::<B>::builder(tiny_dir(BI))
            .head_seed(seed)
            .load(&Default::default())
            .unwrap()
    };
    let (ce, report) = load(3);
    assert!(report.new_head, "{report:?}");
    let scores = ce.logits(&refs).unwrap();
    assert_eq!(
        scores,
        load(3).0.logits(&refs).unwrap(),
        "same seed, same head"
    );
    assert_ne!(scores, load(4).0.logits(&refs).unwrap(), "the seed matters");

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("saved");
    ce.save(&out).unwrap();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["architectures"][0],
        "ModernBertForSequenceClassification"
    );
    let (again, report) = CrossEncoder::<B>::builder(&out)
        .load(&Default::default())
        .unwrap();
    assert!(!report.new_head && report.unused.is_empty(), "{report:?}");
    assert_eq!(again.logits(&refs).unwrap(), scores);

    let (bi, report) = BiEncoder::<B>::builder(tiny_dir(CE))
        .load(&Default::default())
        .unwrap();
    assert!(matches!(
        bi.model,
        rankforge_model::BiEncoderModel::ModernBert(_)
    ));
    let unused = report.unused.join(" ");
    assert!(unused.contains("classifier.weight"), "{unused}");
}

#[test]
fn token_ids_match_transformers() {
    let fx = fixture("tiny_models.json");
    let texts = strs(&fx["texts"]);
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for name in [CE, BI] {
        let encoded = tokenizer(name, &fx).encode_texts(&text_refs).unwrap();
        assert_eq!(encoded.len(), texts.len());
        for (i, enc) in encoded.iter().enumerate() {
            assert_eq!(enc.ids, u32s(&fx[name]["text_ids"][i]), "{name} text {i}");
        }
    }
    let encoded = encoded_pairs(&fx);
    assert_eq!(encoded.len(), pairs(&fx).len());
    for (i, enc) in encoded.iter().enumerate() {
        assert_eq!(enc.ids, u32s(&fx[CE]["pair_ids"][i]), "pair {i}");
    }
    // [CLS] q [SEP] d [SEP] with ModernBERT's specials after the BPE vocabulary.
    let cls = *encoded[0].ids.first().unwrap();
    let sep = *encoded[0].ids.last().unwrap();
    assert!(cls > 800 && sep == cls + 1, "{cls} {sep}");
    let longest = encoded.iter().map(|e| e.len()).max().unwrap();
    assert_eq!(longest, 128, "the long pair is cut at the max length");
}

#[test]
fn cross_encoder_logits_and_scores_match_transformers() {
    let fx = fixture("tiny_models.json");
    let want = &fx[CE];
    let encoded = encoded_pairs(&fx);
    let mut model = load_ce();
    assert_eq!(model.pooling(), Pooling::Mean);
    let got = logits(&model, &encoded);
    assert_logits_match("mean pooling", &got, &f32s(&want["logits"]));

    // sentence_transformers.CrossEncoder: sigmoid of the one logit.
    let scores: Vec<f32> = got.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect();
    let diff = max_abs_diff(&scores, &f32s(&want["st_cross_encoder_scores"]));
    eprintln!("CrossEncoder.predict: max abs diff {diff:e}");
    assert!(diff <= 1e-5, "vs CrossEncoder.predict: {diff}");

    // One at a time (no padding) gives the padded batch's logits.
    let one_by_one: Vec<f32> = encoded
        .iter()
        .flat_map(|e| logits(&model, std::slice::from_ref(e)))
        .collect();
    let diff = max_abs_diff(&one_by_one, &got);
    assert!(diff <= 1e-5, "batch of 1 vs one padded batch: {diff}");

    model.set_pooling(Pooling::Cls);
    assert_logits_match(
        "cls pooling",
        &logits(&model, &encoded),
        &f32s(&want["logits_cls_pooling"]),
    );
}

#[test]
fn every_layer_matches_transformers_at_the_first_and_last_token() {
    let fx = fixture("tiny_models.json");
    let want = &fx[CE];
    let pair = want["hidden_pair"].as_u64().unwrap() as usize;
    let encoded = encoded_pairs(&fx);
    let seq = encoded[pair].len();
    assert_eq!(
        seq, 128,
        "the hidden-state pair is far longer than the local window"
    );
    let model = load_ce();
    let states = model
        .model
        .hidden_states(collate::<B>(&[&encoded[pair]], &Default::default()));
    // Ours: embeddings, layers 0..3, final_norm; transformers': embeddings, layers 0..2,
    // final_norm(layer 3).
    let layers = model.model.layers.len();
    assert_eq!(states.len(), layers + 2);
    let want_states = want["hidden_states_first_last"].as_array().unwrap();
    assert_eq!(want_states.len(), layers + 1);
    let mut worst = 0.0f32;
    let ours: Vec<&Tensor<B, 3>> = states[..layers]
        .iter()
        .chain([&states[layers + 1]])
        .collect();
    for (i, (state, want)) in ours.into_iter().zip(want_states).enumerate() {
        for (which, token) in [(0, 0), (1, seq - 1)] {
            let dims = want[which].as_array().unwrap().len();
            let row: Tensor<B, 1> = state
                .clone()
                .narrow(1, token, 1)
                .narrow(2, 0, dims)
                .reshape([dims]);
            let got: Vec<f32> = row.into_data().into_vec().unwrap();
            let diff = max_abs_diff(&got, &f32s(&want[which]));
            assert!(diff <= 1e-5, "state {i} token {token}: {diff}");
            worst = worst.max(diff);
        }
    }
    eprintln!("hidden states: max abs diff {worst:e}");
}

/// The parity above is not luck: with the local layers made global, the two rotary bases
/// swapped, or the classifier pooling changed, the logits leave the tolerance by far.
#[test]
fn local_attention_rotary_bases_and_pooling_each_matter() {
    let fx = fixture("tiny_models.json");
    let want = f32s(&fx[CE]["logits"]);
    let encoded = encoded_pairs(&fx);
    let far = |model: &ModernBertForSequenceClassification<B>, what: &str| {
        let (diff, scale) = logit_diff(&logits(model, &encoded), &want);
        assert!(diff > 1e-3 * scale, "{what}: logits moved by only {diff}");
    };
    let mut model = load_ce();
    model.model.set_half_window(1 << 20);
    far(&model, "every layer global");
    let mut model = load_ce();
    model.model.set_half_window(3);
    far(&model, "a window of ±3 instead of ±4");
    let mut model = load_ce();
    let (global, local) = model.model.rope_thetas();
    model.model.set_rope_thetas(local, global);
    far(&model, "rotary bases swapped");
    let mut model = load_ce();
    model.set_pooling(Pooling::Cls);
    far(&model, "cls pooling");
}

#[test]
fn bi_encoder_embeddings_match_sentence_transformers() {
    let fx = fixture("tiny_models.json");
    let texts = strs(&fx["texts"]);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (model, config, settings, report) =
        modernbert::load_bi_encoder::<B>(&tiny_dir(BI), &Default::default()).unwrap();
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    assert!(config.norm_bias && config.attention_bias && config.mlp_bias);
    assert_eq!(settings.head.pooling, Pooling::Cls);
    assert!(settings.head.normalize);
    assert_eq!(settings.max_seq_length, Some(128));
    let encoded = tokenizer(BI, &fx).encode_texts(&refs).unwrap();
    let batch: Vec<&Encoded> = encoded.iter().collect();
    let embeddings = modernbert::embed(
        &model,
        settings.head,
        collate::<B>(&batch, &Default::default()),
    );
    let want = fx[BI]["embeddings"].as_array().unwrap();
    let [rows, dim] = embeddings.dims();
    assert_eq!(rows, want.len());
    let values: Vec<f32> = embeddings.into_data().into_vec().unwrap();
    let mut worst = 0.0f32;
    for (i, want) in want.iter().enumerate() {
        let diff = max_abs_diff(&values[i * dim..(i + 1) * dim], &f32s(want));
        assert!(diff <= 1e-5, "text {i} ({:?}): {diff}", texts[i]);
        worst = worst.max(diff);
    }
    eprintln!("bi-encoder embeddings: max abs diff {worst:e}");
}

fn param_values<M: Module<B>>(module: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl burn::module::ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
            self.0.push(param.val().into_data().into_vec().unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

#[test]
fn save_then_reload_is_bit_exact_under_the_original_names() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    // Cross-encoder.
    let (model, config, _) =
        modernbert::load_cross_encoder::<B>(&tiny_dir(CE), 0, &device).unwrap();
    let out = tmp.path().join(CE);
    modernbert::save_cross_encoder(&model, &config, &tiny_dir(CE), 128, &out).unwrap();
    let names = |dir: &PathBuf| {
        rankforge_model::hf::safetensors_names(&dir.join("model.safetensors")).unwrap()
    };
    assert_eq!(names(&out), names(&tiny_dir(CE)));
    assert!(names(&out).contains("model.layers.1.attn.Wqkv.weight"));
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        saved["architectures"][0],
        "ModernBertForSequenceClassification"
    );
    assert_eq!(saved["model_type"], "modernbert");
    assert_eq!(saved["classifier_pooling"], "mean");
    let tok_config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("tokenizer_config.json")).unwrap())
            .unwrap();
    assert_eq!(tok_config["model_max_length"], 128);
    let (reloaded, _, report) = modernbert::load_cross_encoder::<B>(&out, 0, &device).unwrap();
    assert!(report.unused.is_empty());
    assert_eq!(param_values(&model), param_values(&reloaded));
    let fx = fixture("tiny_models.json");
    let encoded = encoded_pairs(&fx);
    assert_eq!(logits(&model, &encoded), logits(&reloaded, &encoded));

    // Bi-encoder.
    let (model, config, settings, _) =
        modernbert::load_bi_encoder::<B>(&tiny_dir(BI), &device).unwrap();
    let out = tmp.path().join(BI);
    modernbert::save_bi_encoder(&model, &config, &settings, &tiny_dir(BI), &out).unwrap();
    assert_eq!(names(&out), names(&tiny_dir(BI)));
    assert!(names(&out).contains("layers.2.mlp.Wi.bias"));
    let (reloaded, config2, settings2, report): (ModernBertModel<B>, _, _, _) =
        modernbert::load_bi_encoder::<B>(&out, &device).unwrap();
    assert!(report.unused.is_empty());
    assert_eq!(settings2, settings);
    assert_eq!(
        config2.layer_types().unwrap(),
        config.layer_types().unwrap()
    );
    assert_eq!(param_values(&model), param_values(&reloaded));
}

/// A training step's backward pass against PyTorch's: with every dropout ≈ 0 (so the training
/// kernels run: the fused attention on global layers, the masked softmax on local ones), the
/// autodiff forward gives the logits, and the gradient of sum(logits²) over four pairs (one
/// padded batch, longer than the local window) has, for every parameter, PyTorch's L2 norm and
/// sum (within 1e-4 of the norm, at least 1e-6) and, for vectors, PyTorch's first values.
#[test]
fn training_gradients_match_pytorch_for_every_parameter() {
    type T = rankforge_model::backend::CpuAutodiff;
    let fx = fixture("tiny_models.json");
    let n = fx["grad_pairs"].as_u64().unwrap() as usize;
    let encoded = encoded_pairs(&fx);
    let _rng = rankforge_model::backend::seeded_rng_section();
    let device = Default::default();
    let (mut model, _, _) = modernbert::load_cross_encoder::<T>(&tiny_dir(CE), 0, &device).unwrap();
    let tiny = 1e-12;
    model.drop.prob = tiny;
    model.model.embeddings.drop.prob = tiny;
    for layer in &mut model.model.layers {
        layer.attn.dropout.prob = tiny;
        layer.attn.out_dropout.prob = tiny;
        layer.mlp.dropout.prob = tiny;
    }
    let items: Vec<&Encoded> = encoded[..n].iter().collect();
    let out = model.forward(collate::<T>(&items, &device));
    let got: Vec<f32> = out.clone().into_data().convert::<f32>().into_vec().unwrap();
    assert_logits_match("autodiff forward", &got, &f32s(&fx[CE]["logits"])[..n]);

    let grads = out.powi_scalar(2).sum().backward();
    let want = fx[CE]["gradients"].as_object().unwrap();
    assert_gradients_match(CE, &model, &grads, want, |path| {
        modernbert::hf_tensor_name(path)
            .replace("norm.gamma", "norm.weight")
            .replace("norm.beta", "norm.bias")
    });
}
