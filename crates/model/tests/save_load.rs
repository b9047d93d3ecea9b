//! HF directories: load → save → load is bit-identical, saved files carry HF names, and bad
//! checkpoints are refused with errors that name the file and tensor.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::backend::Backend;
use burn_store::ModuleSnapshot;
use common::*;
use rankforge_model::hf::{self, safetensors_names};
use rankforge_model::{
    BertConfig, BiEncoder, CrossEncoder, CrossEncoderModel, EncoderConfig, ModelError,
};

/// Every parameter of a module as (path → raw f32 values).
fn params<Bk: Backend, M: ModuleSnapshot<Bk>>(module: &M) -> BTreeMap<String, Vec<f32>> {
    module
        .collect(None, None, false)
        .into_iter()
        .map(|snap| {
            let data = snap.to_data().unwrap();
            (snap.full_path(), data.into_vec::<f32>().unwrap())
        })
        .collect()
}

fn write_tiny_cross_encoder(dir: &Path) -> CrossEncoderModel<B> {
    let device = Default::default();
    let config = EncoderConfig::Bert(BertConfig::tiny(30522));
    let model = CrossEncoderModel::<B>::new(&config, 1, &device).reset_head(7, 0.5);
    hf::save_cross_encoder(&model, &config, &minilm_dir(), 64, dir).unwrap();
    model
}

#[test]
fn tiny_cross_encoder_roundtrip_is_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    let model = write_tiny_cross_encoder(&first);
    let device = Default::default();
    let (loaded, _, report) = hf::load_cross_encoder::<B>(&first, 0, &device).unwrap();
    assert!(
        !report.new_head && !report.new_pooler && report.unused.is_empty(),
        "{report:?}"
    );
    assert_eq!(params(&model), params(&loaded));

    // Saving what was loaded gives the same tensors again, under HF names.
    let second = tmp.path().join("second");
    let config = EncoderConfig::from_file(&first.join("config.json")).unwrap();
    hf::save_cross_encoder(&loaded, &config, &first, 64, &second).unwrap();
    let (again, _, _) = hf::load_cross_encoder::<B>(&second, 0, &device).unwrap();
    assert_eq!(params(&loaded), params(&again));
    let names = safetensors_names(&second.join("model.safetensors")).unwrap();
    assert!(names.contains("bert.encoder.layer.1.attention.self.query.weight"));
    assert!(names.contains("bert.embeddings.LayerNorm.weight"));
    assert!(names.contains("classifier.weight") && names.contains("bert.pooler.dense.bias"));
    for file in [
        "config.json",
        "tokenizer.json",
        "config_sentence_transformers.json",
    ] {
        assert!(second.join(file).is_file(), "{file} written");
    }
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(second.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(written["architectures"][0], "BertForSequenceClassification");
    assert_eq!(written["id2label"]["0"], "LABEL_0");
}

#[test]
fn minilm_bi_encoder_saves_the_same_tensors_it_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    let src = minilm_dir();
    let (bi, report) = BiEncoder::<B>::builder(&src).load(&device).unwrap();
    assert!(report.unused.is_empty(), "unused: {:?}", report.unused);
    let out = tmp.path().join("saved");
    bi.save(&out).unwrap();

    let original = std::fs::read(src.join("model.safetensors")).unwrap();
    let original = safetensors::SafeTensors::deserialize(&original).unwrap();
    let saved_bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let saved = safetensors::SafeTensors::deserialize(&saved_bytes).unwrap();
    let mut compared = 0;
    for (name, view) in original.tensors() {
        if name.ends_with("position_ids") {
            continue;
        }
        let ours = saved
            .tensor(&name)
            .unwrap_or_else(|_| panic!("{name} missing from the saved file"));
        assert_eq!(ours.shape(), view.shape(), "{name} shape");
        assert_eq!(ours.dtype(), view.dtype(), "{name} dtype");
        assert!(ours.data() == view.data(), "{name} bytes differ");
        compared += 1;
    }
    assert_eq!(
        compared,
        saved.len(),
        "the saved file has exactly the original's tensors"
    );
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&saved_bytes).unwrap();
    assert_eq!(
        metadata
            .metadata()
            .as_ref()
            .unwrap()
            .get("format")
            .map(String::as_str),
        Some("pt")
    );

    // sentence-transformers metadata: same pipeline read back.
    let settings = hf::read_sentence_transformer_settings(&out).unwrap();
    assert_eq!(settings, bi.settings);
    let (again, _) = BiEncoder::<B>::builder(&out).load(&device).unwrap();
    let texts = ["a saved model embeds like the original", "Zürich 東京 🚀"];
    assert_eq!(bi.embed(&texts).unwrap(), again.embed(&texts).unwrap());
}

#[test]
fn minilm_cross_encoder_with_new_head_roundtrips() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    let (ce, report) = CrossEncoder::<B>::builder(minilm_dir())
        .head_seed(42)
        .load(&device)
        .unwrap();
    assert!(report.new_head && !report.new_pooler);
    let out = tmp.path().join("ce");
    ce.save(&out).unwrap();
    let (again, report) = CrossEncoder::<B>::builder(&out)
        .head_seed(0)
        .load(&device)
        .unwrap();
    assert!(
        !report.new_head,
        "the saved head is loaded, not re-initialised"
    );
    assert_eq!(params(&ce.model), params(&again.model));
    let pairs = [
        ("query", "a document"),
        ("another query", "another document"),
    ];
    assert_eq!(ce.score(&pairs).unwrap(), again.score(&pairs).unwrap());
    // The same seed gives the same new head; another seed another.
    let (same, _) = CrossEncoder::<B>::builder(minilm_dir())
        .head_seed(42)
        .load(&device)
        .unwrap();
    let (other, _) = CrossEncoder::<B>::builder(minilm_dir())
        .head_seed(43)
        .load(&device)
        .unwrap();
    assert_eq!(
        params(&ce.model.as_bert().unwrap().classifier),
        params(&same.model.as_bert().unwrap().classifier)
    );
    assert_ne!(
        params(&ce.model.as_bert().unwrap().classifier),
        params(&other.model.as_bert().unwrap().classifier)
    );
}

/// Rewrites `dir/model.safetensors` keeping only tensors for which `keep` holds.
fn filter_weights(dir: &Path, keep: impl Fn(&str) -> bool) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .tensors()
        .into_iter()
        .filter(|(name, _)| keep(name))
        .collect();
    let mut metadata = std::collections::HashMap::new();
    metadata.insert("format".to_string(), "pt".to_string());
    let out = safetensors::serialize(kept, Some(metadata)).unwrap();
    std::fs::write(&path, out).unwrap();
}

fn patch_config(dir: &Path, key: &str, value: serde_json::Value) {
    let path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config[key] = value;
    std::fs::write(&path, config.to_string()).unwrap();
}

fn load_err(dir: &Path) -> String {
    let err: ModelError = hf::load_cross_encoder::<B>(dir, 0, &Default::default()).unwrap_err();
    err.to_string()
}

#[test]
fn bad_checkpoints_are_refused_with_named_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    write_tiny_cross_encoder(&dir);

    filter_weights(&dir, |name| {
        name != "bert.encoder.layer.1.attention.self.key.weight"
    });
    let msg = load_err(&dir);
    assert!(
        msg.contains("model.safetensors")
            && msg.contains("bert.encoder.layer.1.attention.self.key.weight"),
        "{msg}"
    );

    write_tiny_cross_encoder(&dir);
    filter_weights(&dir, |name| name != "classifier.bias");
    assert!(load_err(&dir).contains("classifier.bias"));

    write_tiny_cross_encoder(&dir);
    patch_config(&dir, "intermediate_size", serde_json::json!(48));
    let msg = load_err(&dir);
    assert!(
        msg.contains("intermediate.dense") && msg.to_lowercase().contains("shape"),
        "{msg}"
    );

    write_tiny_cross_encoder(&dir);
    patch_config(&dir, "model_type", serde_json::json!("roberta"));
    let msg = load_err(&dir);
    assert!(
        msg.contains("config.json") && msg.contains("roberta"),
        "{msg}"
    );

    write_tiny_cross_encoder(&dir);
    patch_config(&dir, "hidden_act", serde_json::json!("relu"));
    assert!(load_err(&dir).contains("hidden_act `relu`"));

    write_tiny_cross_encoder(&dir);
    patch_config(&dir, "hidden_size", serde_json::json!("wide"));
    let msg = load_err(&dir);
    assert!(
        msg.contains("config.json") && msg.contains("hidden_size"),
        "{msg}"
    );

    std::fs::remove_file(dir.join("config.json")).unwrap();
    assert!(load_err(&dir).contains("config.json"));
    let missing = tmp.path().join("nowhere");
    assert!(load_err(&missing).contains("nowhere"));
}

#[test]
fn tiny_model_forward_is_finite_and_dropout_free_in_inference() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    write_tiny_cross_encoder(&dir);
    let device = Default::default();
    let (ce, _) = CrossEncoder::<B>::builder(&dir)
        .head_seed(0)
        .load(&device)
        .unwrap();
    let pairs = [
        ("q", "d"),
        ("a longer query here", "and a somewhat longer document text"),
    ];
    let a = ce.score(&pairs).unwrap();
    let b = ce.score(&pairs).unwrap();
    assert_eq!(a, b, "inference is deterministic (no dropout)");
    assert!(a.iter().all(|s| s.is_finite() && (0.0..=1.0).contains(s)));
}

/// A cross-encoder saved at a short length loads at that length with no argument (the length
/// it was trained and evaluated at), where sentence-transformers reads it
/// (`tokenizer_config.json` `model_max_length`); `max_length` still overrides it; a model saved
/// by an earlier rankforge (only `config_sentence_transformers.json` `max_length`) loads at its
/// length; transformers' "unset" sentinel falls back to the position table capped at 512.
#[test]
fn saved_max_length_is_the_default_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Default::default();
    let (short, _) = CrossEncoder::<B>::builder(minilm_dir())
        .max_length(Some(48))
        .head_seed(42)
        .load(&device)
        .unwrap();
    let out = tmp.path().join("ce48");
    short.save(&out).unwrap();
    let tokenizer_config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("tokenizer_config.json")).unwrap())
            .unwrap();
    assert_eq!(tokenizer_config["model_max_length"], 48);
    assert_eq!(tokenizer_config["do_lower_case"], true, "other keys kept");

    let long_doc = "word ".repeat(400);
    let pairs = [("a query", long_doc.as_str()), ("q", "a short document")];
    let (again, report) = CrossEncoder::<B>::builder(&out).load(&device).unwrap();
    assert_eq!(again.tokenizer.max_length(), 48);
    let (length, source) = report.max_length.clone().unwrap();
    assert_eq!(length, 48);
    assert!(source.contains("model_max_length"), "{source}");
    assert!(
        report.notices()[0].contains("max length 48"),
        "{:?}",
        report.notices()
    );
    assert_eq!(short.score(&pairs).unwrap(), again.score(&pairs).unwrap());
    let (at_512, _) = CrossEncoder::<B>::builder(&out)
        .max_length(Some(512))
        .load(&device)
        .unwrap();
    assert_eq!(at_512.tokenizer.max_length(), 512);
    assert_ne!(
        at_512.score(&pairs).unwrap()[0],
        again.score(&pairs).unwrap()[0]
    );

    // An earlier rankforge's save: the length only in config_sentence_transformers.json.
    let write = |file: &str, value: serde_json::Value| {
        std::fs::write(out.join(file), serde_json::to_string(&value).unwrap()).unwrap()
    };
    let mut legacy = tokenizer_config.clone();
    legacy["model_max_length"] = serde_json::json!(1e30);
    write("tokenizer_config.json", legacy);
    let (old, report) = CrossEncoder::<B>::builder(&out).load(&device).unwrap();
    assert_eq!(old.tokenizer.max_length(), 48);
    assert!(report.max_length.unwrap().1.contains("earlier rankforge"));

    // No length anywhere but the sentinel: the position table capped at 512.
    write(
        "config_sentence_transformers.json",
        serde_json::json!({"model_type": "CrossEncoder"}),
    );
    let (unset, _) = CrossEncoder::<B>::builder(&out).load(&device).unwrap();
    assert_eq!(unset.tokenizer.max_length(), 512);
}

/// A copy of all-MiniLM-L6-v2 (weights linked) whose tokenizer has one added token more than
/// the word embedding has rows: id 30522 of a 30522-row table.
fn minilm_with_token_past_the_embedding(out: &Path) {
    fn copy_dir(src: &Path, out: &Path) {
        std::fs::create_dir_all(out).unwrap();
        for entry in std::fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            let (name, kind) = (entry.file_name(), entry.file_type().unwrap());
            if kind.is_dir() {
                copy_dir(&entry.path(), &out.join(&name));
            } else if name == "model.safetensors" {
                std::os::unix::fs::symlink(entry.path(), out.join(&name)).unwrap();
            } else {
                std::fs::copy(entry.path(), out.join(&name)).unwrap();
            }
        }
    }
    copy_dir(&minilm_dir(), out);
    let path = out.join("tokenizer.json");
    let mut tokenizer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    tokenizer["added_tokens"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": 30522, "content": "[NEWTOKEN]", "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true
        }));
    std::fs::write(&path, serde_json::to_string(&tokenizer).unwrap()).unwrap();
}

/// A tokenizer with ids past the word embedding is refused at load, naming both files and both
/// numbers (it used to load, then panic inside the embedding gather on the new token).
#[test]
fn a_tokenizer_larger_than_the_embedding_is_refused_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("minilm-extra-token");
    minilm_with_token_past_the_embedding(&dir);
    let device = Default::default();
    let check = |err: ModelError| {
        let message = err.to_string();
        for part in [
            dir.join("config.json").display().to_string(),
            dir.join("tokenizer.json").display().to_string(),
            "vocab_size".into(),
            "30522 rows".into(),
            "ids up to 30522".into(),
            "30523 tokens".into(),
        ] {
            assert!(message.contains(&part), "{part:?} not in: {message}");
        }
    };
    check(CrossEncoder::<B>::builder(&dir).load(&device).unwrap_err());
    check(BiEncoder::<B>::builder(&dir).load(&device).unwrap_err());
    // The unchanged model loads.
    assert!(CrossEncoder::<B>::builder(minilm_dir())
        .load(&device)
        .is_ok());
}
