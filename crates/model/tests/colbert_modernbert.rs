//! ColBERT on a ModernBERT body against PyLate (issue 26): the tiny model of
//! `scripts/reference/colbert_modernbert.py` (`tests/fixtures/colbert/modernbert-tiny`, PyLate's
//! default `[Q] ` / `[D] ` prefixes) and `tests/fixtures/colbert_modernbert.json`: token ids
//! exactly, vectors within 1e-5, MaxSim scores within 1e-5 of their scale, a save → reload round
//! trip, `from_encoder` on the plain ModernBERT body, and the module paths the trainer sees.

mod common;

use std::path::PathBuf;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use common::{fixture, max_abs_diff, repo_root, B};
use rankforge_model::colbert::{maxsim, ColBert, ColBertModel, ColBertSettings, ColBertTokenizer};
use serde_json::Value;

fn dir() -> PathBuf {
    repo_root().join("tests/fixtures/colbert/modernbert-tiny")
}

fn load() -> ColBert<B> {
    let (model, report) = ColBert::<B>::load(dir(), &Default::default()).unwrap();
    assert!(
        report.unused.is_empty(),
        "unused tensors {:?}",
        report.unused
    );
    model
}

fn texts(entries: &Value) -> Vec<&str> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

fn flags(v: &Value) -> Vec<bool> {
    common::u32s(v).into_iter().map(|x| x == 1).collect()
}

fn rows(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(common::f32s)
        .collect()
}

fn scale(values: &[f32]) -> f32 {
    values.iter().fold(1.0f32, |m, x| m.max(x.abs()))
}

/// Ids, attention and scored tokens as PyLate's.
fn assert_tokenization(label: &str, tokenizer: &ColBertTokenizer, f: &Value) {
    let queries = tokenizer.encode_queries(&texts(&f["queries"])).unwrap();
    for (ours, want) in queries.iter().zip(f["queries"].as_array().unwrap()) {
        let text = &want["text"];
        assert_eq!(
            ours.ids,
            common::u32s(&want["input_ids"]),
            "{label}: {text}"
        );
        assert_eq!(ours.attention, flags(&want["attention_mask"]), "{label}");
    }
    let documents = tokenizer.encode_documents(&texts(&f["documents"])).unwrap();
    for (ours, want) in documents.iter().zip(f["documents"].as_array().unwrap()) {
        let text = &want["text"];
        assert_eq!(
            ours.ids,
            common::u32s(&want["input_ids"]),
            "{label}: {text}"
        );
        assert_eq!(ours.scored, flags(&want["scored"]), "{label}: {text}");
    }
}

fn score_grid(model: &ColBert<B>, f: &Value) -> Vec<f32> {
    let q = model.encode_queries(&texts(&f["queries"])).unwrap();
    let d = model.encode_documents(&texts(&f["documents"])).unwrap();
    q.iter()
        .flat_map(|q| d.iter().map(move |d| maxsim(q, d, None, None)))
        .collect()
}

#[test]
fn modernbert_colbert_matches_pylate() {
    let f = fixture("colbert_modernbert.json");
    let mut model = load();
    assert!(model.config.as_modernbert().is_some());
    assert!(model.model.bert.as_modernbert().is_some());
    let s = model.settings();
    let want = &f["settings"];
    assert_eq!(s.query_prefix, want["query_prefix"].as_str().unwrap());
    assert_eq!(s.document_prefix, want["document_prefix"].as_str().unwrap());
    assert_eq!(
        s.query_length as u64,
        want["query_length"].as_u64().unwrap()
    );
    assert_eq!(model.model.dim() as u64, want["dim"].as_u64().unwrap());
    assert_eq!(
        model.tokenizer.skiplist_ids(),
        common::u32s(&want["skiplist_ids"])
    );
    assert_eq!(
        model.tokenizer.mask_id() as u64,
        want["mask_token_id"].as_u64().unwrap()
    );
    assert_tokenization("loaded", &model.tokenizer, &f);

    // Small batches, so that sequences of different lengths share some.
    model.run.batching.max_batch_size = 3;
    let queries = &f["queries"];
    let documents = &f["documents"];
    let q = model.encode_queries(&texts(queries)).unwrap();
    let d = model.encode_documents(&texts(documents)).unwrap();
    let mut worst = 0.0f32;
    for (ours, want) in q
        .iter()
        .zip(queries.as_array().unwrap())
        .chain(d.iter().zip(documents.as_array().unwrap()))
    {
        worst = worst.max(max_abs_diff(&ours.data, &common::f32s(&want["vectors"])));
    }
    assert!(worst <= 1e-5, "vectors differ by {worst}");
    let want_scores = rows(&f["scores"]);
    let diff = max_abs_diff(&score_grid(&model, &f), &want_scores);
    assert!(
        diff <= 1e-5 * scale(&want_scores),
        "scores differ by {diff}"
    );
    eprintln!("modernbert: vectors within {worst:e}, scores within {diff:e} of PyLate's");
}

/// Attending to the expansion tokens (nothing masked): PyLate's vectors.
#[test]
fn attending_to_expansion_tokens_matches_pylate() {
    let f = fixture("colbert_modernbert.json");
    let case = &f["attend_to_expansion_tokens"];
    let mut model = load();
    let settings = ColBertSettings {
        attend_to_expansion_tokens: true,
        query_length: case["query_length"].as_u64().unwrap() as usize,
        ..model.settings().clone()
    };
    model.tokenizer = model.tokenizer.with_settings(&settings).unwrap();
    let queries = &case["queries"];
    let encoded = model.tokenizer.encode_queries(&texts(queries)).unwrap();
    let vectors = model.encode_queries(&texts(queries)).unwrap();
    for ((ours, vectors), want) in encoded
        .iter()
        .zip(&vectors)
        .zip(queries.as_array().unwrap())
    {
        assert_eq!(ours.ids, common::u32s(&want["input_ids"]));
        assert_eq!(ours.attention, flags(&want["attention_mask"]));
        let diff = max_abs_diff(&vectors.data, &common::f32s(&want["vectors"]));
        assert!(diff <= 1e-5, "attended expansion: vectors differ by {diff}");
    }
}

/// A query longer than the local window reaches past every attended token: an expansion
/// token whose window (`local_attention / 2` either side) holds only unattended tokens gets
/// zero context in those layers, as in transformers' SDPA; every vector is PyLate's, those
/// tokens' included.
#[test]
fn expansion_tokens_beyond_the_local_window() {
    let f = fixture("colbert_modernbert.json");
    let case = &f["window_without_attended_keys"];
    let mut model = load();
    let settings = ColBertSettings {
        query_length: case["query_length"].as_u64().unwrap() as usize,
        ..model.settings().clone()
    };
    model.tokenizer = model.tokenizer.with_settings(&settings).unwrap();
    let dim = model.model.dim();
    let queries = &case["queries"];
    let vectors = model.encode_queries(&texts(queries)).unwrap();
    for (ours, want) in vectors.iter().zip(queries.as_array().unwrap()) {
        let reference = common::f32s(&want["vectors"]);
        let reach = flags(&want["window_attended"]);
        let (mut inside, mut outside) = (0.0f32, 0.0f32);
        for (i, &reached) in reach.iter().enumerate() {
            let diff = max_abs_diff(
                &ours.data[i * dim..(i + 1) * dim],
                &reference[i * dim..(i + 1) * dim],
            );
            if reached {
                inside = inside.max(diff);
            } else {
                outside = outside.max(diff);
            }
        }
        assert!(
            inside <= 1e-5,
            "tokens with an attended key in reach differ by {inside}"
        );
        assert!(reach.contains(&false), "the case has a window without keys");
        assert!(
            outside <= 1e-5,
            "tokens without a key in reach differ by {outside}"
        );
        eprintln!(
            "modernbert, query_length {}: tokens with a key in reach within {inside:e}, \
             without within {outside:e} of PyLate's",
            settings.query_length
        );
    }
}

#[test]
fn modernbert_colbert_saves_in_pylate_format_and_reloads() {
    let f = fixture("colbert_modernbert.json");
    let model = load();
    let tmp = tempfile::tempdir().unwrap();
    // scripts/reference/check_colbert_saved.sh keeps it there and loads it with PyLate.
    let out = std::env::var_os("RANKFORGE_KEEP_COLBERT_SAVED")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf())
        .join("modernbert-tiny");
    model.save(&out).unwrap();
    let names = rankforge_model::hf::safetensors_names(&out.join("model.safetensors")).unwrap();
    let original =
        rankforge_model::hf::safetensors_names(&dir().join("model.safetensors")).unwrap();
    assert_eq!(names, original, "ModernBertModel's tensor names");
    assert!(names.contains("layers.0.attn.Wqkv.weight"), "{names:?}");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["model_type"], "modernbert");
    assert_eq!(config["architectures"][0], "ModernBertModel");
    assert_eq!(config["vocab_size"], f["settings"]["vocab_size"]);
    let (reloaded, report) = ColBert::<B>::load(&out, &Default::default()).unwrap();
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    assert_eq!(reloaded.settings(), model.settings());
    let want_scores = rows(&f["scores"]);
    let diff = max_abs_diff(&score_grid(&reloaded, &f), &want_scores);
    assert!(
        diff <= 1e-5 * scale(&want_scores),
        "saved: scores differ by {diff}"
    );
}

/// Module paths as the trainer's optimizer sees them (an enum's variant is not part of them).
struct Paths {
    path: Vec<String>,
    found: Vec<String>,
}

impl<Bk: Backend> ModuleVisitor<Bk> for Paths {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.push(name.to_string());
        }
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.pop();
        }
    }

    fn visit_float<const D: usize>(&mut self, _param: &Param<Tensor<Bk, D>>) {
        self.found.push(self.path.join("."));
    }
}

fn paths(model: &ColBertModel<B>) -> Vec<String> {
    let mut visitor = Paths {
        path: Vec::new(),
        found: Vec::new(),
    };
    model.visit(&mut visitor);
    visitor.found
}

/// A BERT body keeps its `bert.…` paths; a ModernBERT body sits under `bert.` too.
#[test]
fn module_paths_keep_the_bert_prefix() {
    let bert = ColBert::<B>::load(
        repo_root().join("tests/fixtures/colbert/pylate-tiny"),
        &Default::default(),
    )
    .unwrap()
    .0;
    let bert_paths = paths(&bert.model);
    for want in [
        "bert.embeddings.word_embeddings.weight",
        "bert.encoder.layer.0.attention.self_attn.query.weight",
        "projection.weight",
    ] {
        assert!(
            bert_paths.iter().any(|p| p == want),
            "{want} in {bert_paths:?}"
        );
    }
    let modern = paths(&load().model);
    for want in [
        "bert.embeddings.tok_embeddings.weight",
        "bert.layers.0.attn.wqkv.weight",
        "bert.final_norm.gamma",
        "projection.weight",
    ] {
        assert!(modern.iter().any(|p| p == want), "{want} in {modern:?}");
    }
}

/// `from_encoder` on the plain ModernBERT body (the tiny sentence-transformers bi-encoder)
/// with PyLate's default prefixes: the tokens PyLate added, with its ids, and its tokenization.
#[test]
fn from_encoder_on_a_modernbert_body_adds_pylates_tokens() {
    let f = fixture("colbert_modernbert.json");
    let want = &f["settings"];
    let settings = ColBertSettings {
        query_prefix: "[Q] ".into(),
        document_prefix: "[D] ".into(),
        query_length: want["query_length"].as_u64().unwrap() as usize,
        document_length: want["document_length"].as_u64().unwrap() as usize,
        ..ColBertSettings::default()
    };
    let source = repo_root().join("tests/fixtures/tiny-models/modernbert-bi");
    let device = Default::default();
    let (model, report) = ColBert::<B>::from_encoder(&source, 16, 5, &settings, &device).unwrap();
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    assert_eq!(
        model.added_tokens(),
        [
            (
                "[Q] ".to_string(),
                want["query_prefix_id"].as_u64().unwrap() as u32
            ),
            (
                "[D] ".to_string(),
                want["document_prefix_id"].as_u64().unwrap() as u32
            ),
        ]
    );
    let rows = want["vocab_size"].as_u64().unwrap() as usize;
    assert_eq!(model.config.vocab_size(), rows);
    assert_eq!(model.model.word_embeddings().dims()[0], rows);
    assert_tokenization("from_encoder", &model.tokenizer, &f);
    // The body is the bi-encoder's: its first rows are the fixture's.
    let body = |m: &ColBert<B>| -> Vec<f32> {
        m.model
            .word_embeddings()
            .narrow(0, 0, rows - 2)
            .into_data()
            .to_vec::<f32>()
            .unwrap()
    };
    assert_eq!(body(&model), body(&load()));
    let tmp = tempfile::tempdir().unwrap();
    model.save(&tmp.path().join("new")).unwrap();
    let (reloaded, _) = ColBert::<B>::load(tmp.path().join("new"), &device).unwrap();
    assert_tokenization("saved and reloaded", &reloaded.tokenizer, &f);
    let a = model
        .score("varnish", &["Film finishes such as varnish"])
        .unwrap();
    let b = reloaded
        .score("varnish", &["Film finishes such as varnish"])
        .unwrap();
    assert!(max_abs_diff(&a, &b) <= 1e-6);
}
