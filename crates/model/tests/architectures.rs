//! Families beyond BERT (issue 20): tiny random XLM-RoBERTa and ELECTRA checkpoints built with
//! transformers, against the outputs transformers and sentence-transformers gave for them
//! (`scripts/reference/tiny_models.py` → `tests/fixtures/tiny-models/`, `tiny_models.json`).
//!
//! Tolerances: token ids exact; logits 1e-5 relative to the largest |logit| (at least 1);
//! CrossEncoder sigmoid scores, embeddings and hidden states 1e-5 absolute; save → reload
//! bit-exact.

mod common;

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Tensor;
use common::*;
use rankforge_model::hf::safetensors_names;
use rankforge_model::inference::collate;
use rankforge_model::{
    Activation, Architecture, BatchingConfig, BertConfig, BiEncoder, CrossEncoder, HeadKind,
    LongDocMode, ModelError,
};
use serde_json::Value;

const XLMR_CE: &str = "xlm-roberta-ce";
const XLMR_BI: &str = "xlm-roberta-bi";
const ELECTRA_CE: &str = "electra-ce";
const CROSS_ENCODERS: [&str; 2] = [XLMR_CE, ELECTRA_CE];

fn tiny_dir(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/tiny-models").join(name)
}

fn pairs(fx: &Value) -> Vec<(String, String)> {
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

fn load_ce(name: &str) -> CrossEncoder<B> {
    let (ce, report) = CrossEncoder::<B>::builder(tiny_dir(name))
        .load(&Default::default())
        .unwrap();
    assert!(!report.new_head && !report.new_pooler, "{name}: {report:?}");
    assert!(report.unused.is_empty(), "{name}: {:?}", report.unused);
    ce
}

/// The BERT-family config of a cross-encoder of these families.
fn ce_config(ce: &CrossEncoder<B>) -> &BertConfig {
    ce.config.as_bert().expect("a BERT-family config")
}

/// The BERT-family model of a cross-encoder of these families.
fn bert_of(ce: &CrossEncoder<B>) -> &rankforge_model::BertCrossEncoderModel<B> {
    ce.model.as_bert().expect("a BERT-family cross-encoder")
}

fn logits(ce: &CrossEncoder<B>, pairs: &[(&str, &str)]) -> Vec<f32> {
    ce.logits(pairs)
        .unwrap()
        .into_iter()
        .map(|r| r[0])
        .collect()
}

fn assert_logits_match(name: &str, got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    let diff = max_abs_diff(got, want);
    assert!(
        diff <= 1e-5 * scale,
        "{name}: logits max abs diff {diff} (scale {scale})"
    );
    diff
}

#[test]
fn families_are_read_from_config_json() {
    let ce = load_ce(XLMR_CE);
    assert_eq!(ce_config(&ce).architecture, Architecture::XlmRoberta);
    assert_eq!(
        bert_of(&ce).head(),
        HeadKind::Dense(rankforge_model::layers::Activation::Tanh)
    );
    assert!(bert_of(&ce).bert.pooler.is_none() && bert_of(&ce).bert.embeddings_project.is_none());
    assert_eq!(ce_config(&ce).max_position_embeddings, 1026);
    assert_eq!(
        ce_config(&ce).max_positions(),
        1024,
        "padding_idx 1 reserves two rows"
    );
    assert_eq!(ce_config(&ce).layer_norm_eps, 1e-5);

    let ce = load_ce(ELECTRA_CE);
    assert_eq!(ce_config(&ce).architecture, Architecture::Electra);
    assert_eq!(
        bert_of(&ce).head(),
        HeadKind::Dense(rankforge_model::layers::Activation::Gelu)
    );
    assert_eq!(ce_config(&ce).embedding_width(), 16);
    let project = bert_of(&ce).bert.embeddings_project.as_ref().unwrap();
    assert_eq!(project.weight.dims(), [16, 32]);
    assert_eq!(ce_config(&ce).max_positions(), 256);

    let (bi, report) = BiEncoder::<B>::builder(tiny_dir(XLMR_BI))
        .load(&Default::default())
        .unwrap();
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    assert_eq!(
        bi.config.as_bert().unwrap().architecture,
        Architecture::XlmRoberta
    );
    assert!(
        bi.model.as_bert().unwrap().pooler.is_some(),
        "XLMRobertaModel has a pooler"
    );
}

#[test]
fn an_unsupported_family_is_named_with_the_supported_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config: serde_json::Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(tiny_dir(XLMR_CE).join("config.json")).unwrap(),
    )
    .unwrap();
    config.insert("model_type".into(), "deberta-v2".into());
    let path = tmp.path().join("config.json");
    let err = BertConfig::from_json(config.clone(), &path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ModelError::Unsupported { .. }), "{msg}");
    for name in ["deberta-v2", "bert", "xlm-roberta", "electra", "modernbert"] {
        assert!(msg.contains(name), "{msg}");
    }
    // A model_type of one family with another family's classes is refused too.
    config.insert("model_type".into(), "electra".into());
    let msg = BertConfig::from_json(config, &path)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("XLMRobertaForSequenceClassification"), "{msg}");
}

#[test]
fn token_ids_match_transformers() {
    let fx = fixture("tiny_models.json");
    let texts = strs(&fx["texts"]);
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    for name in CROSS_ENCODERS {
        let want = &fx[name];
        let ce = load_ce(name);
        assert_eq!(
            ce.tokenizer.max_length() as u64,
            want["max_length"].as_u64().unwrap(),
            "{name}: the saved model_max_length"
        );
        let encoded = ce.tokenizer.encode_texts(&text_refs).unwrap();
        assert_eq!(encoded.len(), texts.len());
        for (i, enc) in encoded.iter().enumerate() {
            assert_eq!(enc.ids, u32s(&want["text_ids"][i]), "{name} text {i}");
        }
        let encoded = ce.tokenizer.encode_pairs(&refs).unwrap();
        assert_eq!(encoded.len(), pairs.len());
        for (i, enc) in encoded.iter().enumerate() {
            assert_eq!(enc.ids, u32s(&want["pair_ids"][i]), "{name} pair {i}");
        }
        let longest = encoded.iter().map(|e| e.len()).max().unwrap();
        assert_eq!(
            longest,
            ce.tokenizer.max_length(),
            "{name}: one pair is cut"
        );
    }
    let (bi, _) = BiEncoder::<B>::builder(tiny_dir(XLMR_BI))
        .load(&Default::default())
        .unwrap();
    assert_eq!(bi.tokenizer.max_length(), 256, "max_seq_length");
    let encoded = bi.tokenizer.encode_texts(&text_refs).unwrap();
    for (i, enc) in encoded.iter().enumerate() {
        assert_eq!(enc.ids, u32s(&fx[XLMR_BI]["text_ids"][i]), "bi text {i}");
    }
}

#[test]
fn cross_encoder_logits_scores_and_hidden_states_match_transformers() {
    let fx = fixture("tiny_models.json");
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    let dims = fx["hidden_dims"].as_u64().unwrap() as usize;
    let hidden_pair = fx["hidden_pair"].as_u64().unwrap() as usize;
    for name in CROSS_ENCODERS {
        let want = &fx[name];
        let mut ce = load_ce(name);
        let diff = assert_logits_match(name, &logits(&ce, &refs), &f32s(&want["logits"]));
        eprintln!("{name}: logits max abs diff {diff:e}");

        ce.activation = Activation::Sigmoid;
        let scores = ce.score(&refs).unwrap();
        let diff = max_abs_diff(&scores, &f32s(&want["st_cross_encoder_scores"]));
        assert!(diff <= 1e-5, "{name}: vs CrossEncoder.predict: {diff}");

        // Token 0 after the embeddings (ELECTRA: after embeddings_project) and every layer.
        let encoded = ce
            .tokenizer
            .encode_pairs(&refs[hidden_pair..=hidden_pair])
            .unwrap();
        let states = bert_of(&ce)
            .bert
            .hidden_states(collate::<B>(&[&encoded[0]], &Default::default()));
        let want_states = want["hidden_states_token0"].as_array().unwrap();
        assert_eq!(states.len(), want_states.len(), "{name}");
        for (layer, (state, want)) in states.into_iter().zip(want_states).enumerate() {
            let first: Tensor<B, 1> = state.narrow(1, 0, 1).narrow(2, 0, dims).reshape([dims]);
            let got: Vec<f32> = first.into_data().into_vec().unwrap();
            let diff = max_abs_diff(&got, &f32s(want));
            assert!(diff <= 1e-5, "{name} hidden state {layer}: {diff}");
        }
    }
}

/// XLM-R's position ids count real tokens only: padding in a batch must not shift them.
#[test]
fn scores_do_not_depend_on_batching_or_padding() {
    let fx = fixture("tiny_models.json");
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    for name in CROSS_ENCODERS {
        let mut ce = load_ce(name);
        ce.run.batching = BatchingConfig {
            max_batch_size: 1,
            max_batch_tokens: 1 << 20,
        };
        let one_by_one = logits(&ce, &refs);
        ce.run.batching = BatchingConfig {
            max_batch_size: 32,
            max_batch_tokens: 1 << 20,
        };
        let together = logits(&ce, &refs);
        let diff = max_abs_diff(&one_by_one, &together);
        assert!(diff <= 1e-5, "{name}: batch 1 vs one padded batch: {diff}");
    }
}

#[test]
fn bi_encoder_embeddings_match_sentence_transformers() {
    let fx = fixture("tiny_models.json");
    let texts = strs(&fx["texts"]);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (bi, _) = BiEncoder::<B>::builder(tiny_dir(XLMR_BI))
        .load(&Default::default())
        .unwrap();
    assert!(bi.head().normalize);
    let ours = bi.embed(&refs).unwrap();
    let want = fx[XLMR_BI]["embeddings"].as_array().unwrap();
    assert_eq!(ours.len(), want.len());
    for (i, want) in want.iter().enumerate() {
        let diff = max_abs_diff(&ours[i], &f32s(want));
        assert!(diff <= 1e-5, "text {i} ({:?}): {diff}", texts[i]);
    }
}

/// The usable length is the position table less XLM-R's reserved rows.
#[test]
fn max_length_is_capped_by_the_usable_positions() {
    let device = Default::default();
    let err = CrossEncoder::<B>::builder(tiny_dir(XLMR_CE))
        .max_length(Some(1025))
        .load(&device)
        .unwrap_err();
    assert!(err.to_string().contains("1024"), "{err}");
    let (ce, _) = CrossEncoder::<B>::builder(tiny_dir(XLMR_CE))
        .max_length(Some(1024))
        .load(&device)
        .unwrap();
    assert_eq!(ce.tokenizer.max_length(), 1024);

    // A saved length beyond the table is cut to what the table holds, not to its row count.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_dir(&tiny_dir(XLMR_CE), &tmp.path().join("m"));
    let tok_config = dir.join("tokenizer_config.json");
    let mut config: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&tok_config).unwrap()).unwrap();
    config.insert("model_max_length".into(), 4096.into());
    std::fs::write(&tok_config, Value::Object(config).to_string()).unwrap();
    let (ce, report) = CrossEncoder::<B>::builder(&dir).load(&device).unwrap();
    assert_eq!(ce.tokenizer.max_length(), 1024, "{report:?}");
}

fn copy_dir(from: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
    to.to_path_buf()
}

fn param_values<M: Module<B>>(module: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl burn::module::ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
            self.0
                .push(param.val().into_data().convert::<f32>().into_vec().unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

/// Save → reload gives the same weights and scores bit for bit, under the checkpoint's own
/// tensor names (so transformers loads the saved directory as the family's class;
/// `scripts/reference/check_tiny_saved.sh` checks that it does).
#[test]
fn save_then_reload_is_bit_exact_under_the_original_names() {
    let fx = fixture("tiny_models.json");
    let pairs = pairs(&fx);
    let refs = as_refs(&pairs);
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    for name in CROSS_ENCODERS {
        let ce = load_ce(name);
        let out = tmp.path().join(name);
        ce.save(&out).unwrap();
        let original = safetensors_names(&tiny_dir(name).join("model.safetensors")).unwrap();
        let saved = safetensors_names(&out.join("model.safetensors")).unwrap();
        assert_eq!(saved, original, "{name}: tensor names");
        let config: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(
            config["architectures"][0].as_str(),
            Some(ce_config(&ce).architecture.sequence_classifier())
        );
        assert_eq!(config["model_type"], fx_config(name)["model_type"]);
        let (again, report) = CrossEncoder::<B>::builder(&out).load(&device).unwrap();
        assert!(!report.new_head && report.unused.is_empty(), "{report:?}");
        assert_eq!(again.tokenizer.max_length(), ce.tokenizer.max_length());
        assert_eq!(
            param_values(&again.model),
            param_values(&ce.model),
            "{name}"
        );
        assert_eq!(logits(&again, &refs), logits(&ce, &refs), "{name}");
    }

    let (bi, _) = BiEncoder::<B>::builder(tiny_dir(XLMR_BI))
        .load(&device)
        .unwrap();
    let out = tmp.path().join(XLMR_BI);
    bi.save(&out).unwrap();
    assert_eq!(
        safetensors_names(&out.join("model.safetensors")).unwrap(),
        safetensors_names(&tiny_dir(XLMR_BI).join("model.safetensors")).unwrap()
    );
    let (again, _) = BiEncoder::<B>::builder(&out).load(&device).unwrap();
    assert_eq!(again.settings.head, bi.settings.head);
    assert_eq!(again.tokenizer.max_length(), 256, "the saved length");
    assert_eq!(param_values(&again.model), param_values(&bi.model));
    let texts = strs(&fx["texts"]);
    let text_refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    assert_eq!(
        again.embed(&text_refs).unwrap(),
        bi.embed(&text_refs).unwrap()
    );
}

fn fx_config(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(tiny_dir(name).join("config.json")).unwrap())
        .unwrap()
}

/// A bi-encoder directory loaded as a cross-encoder gets a new, seeded dense head (as
/// transformers initialises `classifier.dense` and `classifier.out_proj`); XLMRobertaModel's
/// pooler has no place in it and is reported unused.
#[test]
fn a_bi_encoder_loaded_as_cross_encoder_gets_a_seeded_dense_head() {
    let device = Default::default();
    let load = |seed| {
        CrossEncoder::<B>::builder(tiny_dir(XLMR_BI))
            .head_seed(seed)
            .load(&device)
            .unwrap()
    };
    let (a, report) = load(3);
    assert!(report.new_head && !report.new_pooler, "{report:?}");
    assert_eq!(
        report.unused,
        ["roberta.pooler.dense.bias", "roberta.pooler.dense.weight"]
            .map(String::from)
            .to_vec()
    );
    let (b, _) = load(3);
    let (c, _) = load(4);
    let dense = |ce: &CrossEncoder<B>| param_values(bert_of(ce).head_dense.as_ref().unwrap());
    assert_eq!(dense(&a), dense(&b));
    assert_ne!(dense(&a), dense(&c));
    let bias = &dense(&a)[1];
    assert!(bias.iter().all(|&x| x == 0.0), "biases start at zero");
    let pairs = [("q", "d")];
    assert_eq!(logits(&a, &pairs), logits(&b, &pairs));
}

/// Max-chunk on XLM-R: windows keep `<s> q </s></s> window </s>` and a document that fits is one
/// window with the truncation score.
#[test]
fn max_chunk_works_on_xlm_roberta() {
    let fx = fixture("tiny_models.json");
    let pairs = pairs(&fx);
    let mut ce = load_ce(XLMR_CE);
    let short = (pairs[0].0.as_str(), pairs[0].1.as_str());
    let truncated = logits(&ce, &[short])[0];
    ce.long_doc = LongDocMode::MaxChunk {
        window: 64,
        stride: 48,
    };
    let chunked = logits(&ce, &[short])[0];
    assert!((truncated - chunked).abs() <= 1e-5);
    let long = pairs.last().unwrap();
    let (windows, owners) = ce.encode(&[(long.0.as_str(), long.1.as_str())]).unwrap();
    assert!(windows.len() > 3, "{} windows", windows.len());
    assert!(owners.iter().all(|&o| o == 0));
    for w in &windows {
        assert!(w.len() <= ce.tokenizer.max_length());
        assert_eq!(w.ids[0], 0, "<s> first");
        assert_eq!(*w.ids.last().unwrap(), 2, "</s> last");
        assert!(w.type_ids.iter().all(|&t| t == 0));
    }
    let best = logits(&ce, &[(long.0.as_str(), long.1.as_str())])[0];
    assert!(best.is_finite());
}

/// The backward pass of a training step on the tiny XLM-R and ELECTRA cross-encoders, against
/// PyTorch's: the autodiff forward with dropout ≈ 0 gives the inference logits, and the gradient
/// of sum(logits²) over four pairs (one padded batch) has, for every parameter (head and
/// `embeddings_project` included), PyTorch's L2 norm and sum (within 1e-4 of the norm, at least
/// 1e-6) and, for vectors, PyTorch's first values.
#[test]
fn training_gradients_match_pytorch_for_every_parameter() {
    type T = rankforge_model::backend::CpuAutodiff;
    let fx = fixture("tiny_models.json");
    let pairs = pairs(&fx);
    let n = fx["grad_pairs"].as_u64().unwrap() as usize;
    let refs = as_refs(&pairs[..n]);
    let _rng = rankforge_model::backend::seeded_rng_section();
    let device = Default::default();
    for name in CROSS_ENCODERS {
        let (mut ce, _) = CrossEncoder::<T>::builder(tiny_dir(name))
            .load(&device)
            .unwrap();
        let arch = ce.config.as_bert().unwrap().architecture;
        let tiny = 1e-12;
        let model = ce.model.as_bert_mut().unwrap();
        model.dropout.prob = tiny;
        model.bert.embeddings.dropout.prob = tiny;
        for layer in &mut model.bert.encoder.layer {
            layer.attention.self_attn.dropout.prob = tiny;
            layer.attention.output.dropout.prob = tiny;
            layer.output.dropout.prob = tiny;
        }
        let encoded = ce.tokenizer.encode_pairs(&refs).unwrap();
        let items: Vec<_> = encoded.iter().collect();
        let out = ce.model.forward(collate::<T>(&items, &device));
        let got: Vec<f32> = out.clone().into_data().convert::<f32>().into_vec().unwrap();
        assert_logits_match(name, &got, &f32s(&fx[name]["logits"])[..n]);

        let grads = out.powi_scalar(2).sum().backward();
        let want = fx[name]["gradients"].as_object().unwrap();
        assert_gradients_match(name, &ce.model, &grads, want, |path| {
            rankforge_model::hf::hf_tensor_name(path, arch, true)
                .replace("LayerNorm.gamma", "LayerNorm.weight")
                .replace("LayerNorm.beta", "LayerNorm.bias")
        });
    }
}
