//! ColBERT against PyLate (issue 26): the tiny random model of `scripts/reference/colbert.py`
//! in PyLate's format (`tests/fixtures/colbert/pylate-tiny`) and Stanford ColBERT's
//! (`stanford-tiny`, the same weights), and `tests/fixtures/colbert.json`: token ids exactly,
//! vectors within 1e-5, MaxSim scores within 1e-5 of their scale, both formats alike, and a
//! save → reload round trip.

mod common;

use std::path::PathBuf;

use common::{fixture, max_abs_diff, repo_root, B};
use rankforge_model::colbert::{maxsim, ColBert, ColBertFormat, ColBertTokenizer, TokenVectors};
use serde_json::Value;

fn dir(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/colbert").join(name)
}

fn load(name: &str) -> ColBert<B> {
    let (model, report) = ColBert::<B>::load(dir(name), &Default::default()).unwrap();
    assert!(
        report.unused.is_empty(),
        "{name}: unused tensors {:?}",
        report.unused
    );
    model
}

fn texts(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

fn ints(v: &Value) -> Vec<u32> {
    common::u32s(v)
}

fn flags(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() == 1)
        .collect()
}

/// The fixture's scores (query × document), PyLate's.
fn reference_scores(f: &Value) -> Vec<f32> {
    f["scores"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(common::f32s)
        .collect()
}

fn score_grid(queries: &[TokenVectors], documents: &[TokenVectors]) -> Vec<f32> {
    queries
        .iter()
        .flat_map(|q| documents.iter().map(move |d| maxsim(q, d, None, None)))
        .collect()
}

fn scale(values: &[f32]) -> f32 {
    values.iter().fold(1.0f32, |m, x| m.max(x.abs()))
}

/// Ids, attention and scored tokens of queries and documents, exactly as PyLate's.
fn assert_tokenization(label: &str, tokenizer: &ColBertTokenizer, f: &Value) {
    let queries = f["queries"].as_array().unwrap();
    for (ours, want) in tokenizer
        .encode_queries(&texts(queries))
        .unwrap()
        .iter()
        .zip(queries)
    {
        assert_eq!(
            ours.ids,
            ints(&want["input_ids"]),
            "{label}: query {}",
            want["text"]
        );
        assert_eq!(
            ours.attention,
            flags(&want["attention_mask"]),
            "{label}: {}",
            want["text"]
        );
        assert!(
            ours.scored.iter().all(|&s| s),
            "every query vector is scored"
        );
    }
    let documents = f["documents"].as_array().unwrap();
    for (ours, want) in tokenizer
        .encode_documents(&texts(documents))
        .unwrap()
        .iter()
        .zip(documents)
    {
        assert_eq!(
            ours.ids,
            ints(&want["input_ids"]),
            "{label}: document {}",
            want["text"]
        );
        assert_eq!(
            ours.attention,
            flags(&want["attention_mask"]),
            "{label}: {}",
            want["text"]
        );
        assert_eq!(
            ours.scored,
            flags(&want["scored"]),
            "{label}: scored {}",
            want["text"]
        );
    }
}

#[test]
fn both_formats_are_detected_and_read_alike() {
    let f = fixture("colbert.json");
    let pylate = load("pylate-tiny");
    let stanford = load("stanford-tiny");
    assert_eq!(pylate.format, ColBertFormat::PyLate);
    assert_eq!(stanford.format, ColBertFormat::Stanford);
    assert_eq!(pylate.settings(), stanford.settings());
    let s = pylate.settings();
    let want = &f["settings"];
    assert_eq!(s.query_prefix, want["query_prefix"].as_str().unwrap());
    assert_eq!(s.document_prefix, want["document_prefix"].as_str().unwrap());
    assert_eq!(
        s.query_length as u64,
        want["query_length"].as_u64().unwrap()
    );
    assert_eq!(
        s.document_length as u64,
        want["document_length"].as_u64().unwrap()
    );
    assert_eq!(pylate.model.dim() as u64, want["dim"].as_u64().unwrap());
    assert_eq!(pylate.tokenizer.skiplist_ids(), ints(&want["skiplist_ids"]));
    assert_eq!(
        pylate.tokenizer.mask_id() as u64,
        want["mask_token_id"].as_u64().unwrap()
    );
}

#[test]
fn tokenization_matches_pylate_exactly() {
    let f = fixture("colbert.json");
    // The fixture shows each case: a query expanded with [MASK] (not attended), one
    // truncated, documents truncated, one of punctuation only, skiplist and [UNK] tokens.
    let queries = f["queries"].as_array().unwrap();
    assert!(queries
        .iter()
        .any(|q| flags(&q["attention_mask"]).contains(&false)));
    let documents = f["documents"].as_array().unwrap();
    assert!(documents.iter().any(|d| ints(&d["input_ids"]).contains(&1)));
    assert_tokenization("pylate", &load("pylate-tiny").tokenizer, &f);
    assert_tokenization("stanford", &load("stanford-tiny").tokenizer, &f);
}

#[test]
fn vectors_and_scores_match_pylate_in_both_formats() {
    let f = fixture("colbert.json");
    let queries = f["queries"].as_array().unwrap();
    let documents = f["documents"].as_array().unwrap();
    let want_scores = reference_scores(&f);
    for name in ["pylate-tiny", "stanford-tiny"] {
        let mut model = load(name);
        // Small batches, so that queries and documents of different lengths share some.
        model.run.batching.max_batch_size = 3;
        let q = model.encode_queries(&texts(queries)).unwrap();
        let d = model.encode_documents(&texts(documents)).unwrap();
        let mut worst = 0.0f32;
        for (ours, want) in q.iter().zip(queries).chain(d.iter().zip(documents)) {
            let want = common::f32s(&want["vectors"]);
            worst = worst.max(max_abs_diff(&ours.data, &want));
        }
        assert!(worst <= 1e-5, "{name}: vectors differ by {worst}");
        let scores = score_grid(&q, &d);
        let diff = max_abs_diff(&scores, &want_scores);
        assert!(
            diff <= 1e-5 * scale(&want_scores),
            "{name}: scores differ by {diff}"
        );
        eprintln!("{name}: vectors within {worst:e}, scores within {diff:e} of PyLate's");
        // The convenience path gives the same numbers.
        let one = model
            .score(queries[0]["text"].as_str().unwrap(), &texts(documents))
            .unwrap();
        assert!(max_abs_diff(&one, &scores[..documents.len()]) <= 1e-6);
    }
}

#[test]
fn attending_to_expansion_tokens_matches_pylate() {
    let f = fixture("colbert.json");
    let mut model = load("pylate-tiny");
    let mut settings = model.settings().clone();
    settings.attend_to_expansion_tokens = true;
    model.tokenizer = ColBertTokenizer::from_dir(&dir("pylate-tiny"), &settings).unwrap();
    let entries = f["attend_to_expansion_tokens"].as_array().unwrap();
    let encoded = model.tokenizer.encode_queries(&texts(entries)).unwrap();
    for (ours, want) in encoded.iter().zip(entries) {
        assert_eq!(ours.ids, ints(&want["input_ids"]));
        assert_eq!(ours.attention, flags(&want["attention_mask"]));
    }
    let vectors = model.encode_queries(&texts(entries)).unwrap();
    for (ours, want) in vectors.iter().zip(entries) {
        let diff = max_abs_diff(&ours.data, &common::f32s(&want["vectors"]));
        assert!(diff <= 1e-5, "attended expansion: vectors differ by {diff}");
    }
}

#[test]
fn saved_directory_reloads_with_the_same_scores_in_pylate_format() {
    let f = fixture("colbert.json");
    let queries = f["queries"].as_array().unwrap();
    let documents = f["documents"].as_array().unwrap();
    let want_scores = reference_scores(&f);
    let tmp = tempfile::tempdir().unwrap();
    // scripts/reference/check_colbert_saved.sh keeps the saved directories there and loads
    // them with PyLate.
    let keep = std::env::var_os("RANKFORGE_KEEP_COLBERT_SAVED").map(PathBuf::from);
    for name in ["pylate-tiny", "stanford-tiny"] {
        let out = keep.as_deref().unwrap_or(tmp.path()).join(name);
        load(name).save(&out).unwrap();
        for file in [
            "config.json",
            "model.safetensors",
            "modules.json",
            "config_sentence_transformers.json",
            "sentence_bert_config.json",
            "tokenizer.json",
            "1_Dense/config.json",
            "1_Dense/model.safetensors",
        ] {
            assert!(out.join(file).is_file(), "{name}: {file} not saved");
        }
        let body = rankforge_model::hf::safetensors_names(&out.join("model.safetensors")).unwrap();
        assert!(
            body.contains("embeddings.word_embeddings.weight"),
            "{body:?}"
        );
        assert!(
            body.contains("encoder.layer.0.attention.self.query.weight"),
            "{body:?}"
        );
        assert!(body
            .iter()
            .all(|n| !n.starts_with("bert.") && !n.contains("linear")));
        let dense =
            rankforge_model::hf::safetensors_names(&out.join("1_Dense/model.safetensors")).unwrap();
        assert_eq!(dense.into_iter().collect::<Vec<_>>(), ["linear.weight"]);

        let (reloaded, report) = ColBert::<B>::load(&out, &Default::default()).unwrap();
        assert!(report.unused.is_empty(), "{:?}", report.unused);
        assert_eq!(reloaded.format, ColBertFormat::PyLate);
        assert_eq!(reloaded.settings(), load(name).settings());
        let q = reloaded.encode_queries(&texts(queries)).unwrap();
        let d = reloaded.encode_documents(&texts(documents)).unwrap();
        let diff = max_abs_diff(&score_grid(&q, &d), &want_scores);
        assert!(
            diff <= 1e-5 * scale(&want_scores),
            "{name} saved: scores differ by {diff}"
        );
    }
}

#[test]
fn a_directory_of_neither_format_is_refused_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir("pylate-tiny").join("config.json"),
        tmp.path().join("config.json"),
    )
    .unwrap();
    let err = ColBert::<B>::load(tmp.path(), &Default::default()).unwrap_err();
    assert!(err.to_string().contains("not a ColBERT directory"), "{err}");
}

#[test]
fn maxsim_takes_each_query_vectors_best_match_and_skips_masked_entries() {
    let q = TokenVectors::new(2, vec![1.0, 0.0, 0.0, 1.0]);
    let d = TokenVectors::new(2, vec![0.5, 0.5, 0.9, -0.1, -1.0, 0.0]);
    assert!((maxsim(&q, &d, None, None) - (0.9 + 0.5)).abs() < 1e-6);
    // Without the second document vector, the first is the best for both.
    let mask = [true, false, true];
    assert!((maxsim(&q, &d, None, Some(&mask)) - 1.0).abs() < 1e-6);
    // A masked query vector adds nothing; an all-negative row keeps its (negative) best.
    let only_second = [false, true];
    let neg = TokenVectors::new(2, vec![-1.0, 0.0]);
    assert!((maxsim(&q, &neg, Some(&only_second), None) - 0.0).abs() < 1e-6);
    assert!((maxsim(&q, &neg, None, None) - (-1.0)).abs() < 1e-6);
}

type Ad = rankforge_model::backend::CpuAutodiff;

/// A document padded to `length` as PyLate's training collator pads (`pad=True`): mask-token
/// ids, neither attended to nor scored.
fn padded(
    mut doc: rankforge_model::colbert::ColBertEncoded,
    length: usize,
    pad_id: u32,
) -> rankforge_model::colbert::ColBertEncoded {
    doc.ids.resize(length, pad_id);
    doc.attention.resize(length, false);
    doc.scored.resize(length, false);
    doc
}

/// The training forward of `documents` (padded to the document length) and their scoring mask.
fn training_documents(
    model: &ColBert<Ad>,
    documents: &[&str],
) -> (
    burn::tensor::Tensor<Ad, 3>,
    burn::tensor::Tensor<Ad, 2, burn::tensor::Bool>,
) {
    use rankforge_model::colbert::collate_colbert;
    let length = model.settings().document_length;
    let docs: Vec<_> = model
        .tokenizer
        .encode_documents(documents)
        .unwrap()
        .into_iter()
        .map(|d| padded(d, length, model.tokenizer.mask_id()))
        .collect();
    let refs: Vec<_> = docs.iter().collect();
    let vectors = model.model.forward(collate_colbert(&refs, &model.device));
    let flags: Vec<bool> = docs.iter().flat_map(|d| d.scored.clone()).collect();
    let mask = burn::tensor::Tensor::from_data(
        burn::tensor::TensorData::new(flags, [docs.len(), length]),
        &model.device,
    );
    (vectors, mask)
}

fn training_queries(model: &ColBert<Ad>, queries: &[&str]) -> burn::tensor::Tensor<Ad, 3> {
    let encoded = model.tokenizer.encode_queries(queries).unwrap();
    let refs: Vec<_> = encoded.iter().collect();
    model
        .model
        .forward(rankforge_model::colbert::collate_colbert(
            &refs,
            &model.device,
        ))
}

fn tensor_values<const D: usize>(t: burn::tensor::Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

/// Backpropagates `Σ scores · dL/dscores` (PyLate's gradient of the loss with respect to the
/// score matrix, from the fixture): by the chain rule the parameters then get PyLate's
/// gradients of the loss itself, which the fixture holds for a few named parameters. The loss
/// side (dL/dscores) is checked in rankforge-losses (colbert_contrastive / colbert_distillation).
fn assert_parameter_gradients(
    label: &str,
    model: &ColBert<Ad>,
    scores: burn::tensor::Tensor<Ad, 2>,
    case: &Value,
) {
    let want_scores: Vec<f32> = case["scores"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(common::f32s)
        .collect();
    let diff = max_abs_diff(&tensor_values(scores.clone().inner()), &want_scores);
    assert!(
        diff <= 1e-5 * scale(&want_scores),
        "{label}: training scores differ by {diff}"
    );
    let dims = scores.dims();
    let upstream: Vec<f32> = case["score_gradients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(common::f32s)
        .collect();
    let upstream = burn::tensor::Tensor::<Ad, 2>::from_data(
        burn::tensor::TensorData::new(upstream, dims),
        &model.device,
    );
    let grads = (scores * upstream).sum().backward();
    let bert = model.model.bert.as_bert().expect("a BERT body");
    let layer0 = &bert.encoder.layer[0];
    let layer1 = &bert.encoder.layer[1];
    // (PyLate's name, our gradient in PyTorch's layout)
    let ours: Vec<(&str, Vec<f32>)> = vec![
        (
            "1.linear.weight",
            tensor_values(
                model
                    .model
                    .projection
                    .weight
                    .grad(&grads)
                    .unwrap()
                    .transpose(),
            ),
        ),
        (
            "0.auto_model.encoder.layer.1.output.dense.bias",
            tensor_values(
                layer1
                    .output
                    .dense
                    .bias
                    .as_ref()
                    .unwrap()
                    .grad(&grads)
                    .unwrap(),
            ),
        ),
        (
            "0.auto_model.encoder.layer.0.attention.self.query.weight",
            tensor_values(
                layer0
                    .attention
                    .self_attn
                    .query
                    .weight
                    .grad(&grads)
                    .unwrap()
                    .transpose(),
            ),
        ),
        (
            "0.auto_model.embeddings.LayerNorm.weight",
            tensor_values(bert.embeddings.layer_norm.gamma.grad(&grads).unwrap()),
        ),
        (
            "0.auto_model.embeddings.position_embeddings.weight",
            tensor_values(
                bert.embeddings
                    .position_embeddings
                    .weight
                    .grad(&grads)
                    .unwrap(),
            ),
        ),
    ];
    let want = case["gradients"].as_object().unwrap();
    assert_eq!(
        want.len(),
        ours.len(),
        "{label}: every fixture gradient checked"
    );
    for (name, values) in ours {
        let reference = common::f32s(&want[name]["values"]);
        let diff = max_abs_diff(&values, &reference);
        let tol = 1e-4 * scale(&reference).max(1e-2);
        assert!(
            diff <= tol,
            "{label} {name}: gradient differs by {diff} (tolerance {tol})"
        );
        eprintln!("{label} {name}: within {diff:e} of PyLate's");
    }
}

#[test]
fn contrastive_training_step_gives_pylates_gradients() {
    let f = fixture("colbert.json");
    let case = &f["contrastive"];
    let (model, _) = ColBert::<Ad>::load(dir("pylate-tiny"), &Default::default()).unwrap();
    let batch = case["batch"].as_array().unwrap();
    let queries: Vec<&str> = batch.iter().map(|b| b["query"].as_str().unwrap()).collect();
    // Query-major: query j's positive, then its hard negative.
    let documents: Vec<&str> = batch
        .iter()
        .flat_map(|b| {
            [
                b["positive"].as_str().unwrap(),
                b["negative"].as_str().unwrap(),
            ]
        })
        .collect();
    let q = training_queries(&model, &queries);
    let (d, mask) = training_documents(&model, &documents);
    let scores = rankforge_model::colbert::maxsim_scores(q, d, mask);
    assert_parameter_gradients("contrastive", &model, scores, case);
}

#[test]
fn distillation_training_step_gives_pylates_gradients() {
    let f = fixture("colbert.json");
    let case = &f["distillation"];
    let (model, _) = ColBert::<Ad>::load(dir("pylate-tiny"), &Default::default()).unwrap();
    let batch = case["batch"].as_array().unwrap();
    let queries: Vec<&str> = batch.iter().map(|b| b["query"].as_str().unwrap()).collect();
    let q = training_queries(&model, &queries);
    // Each query against its own candidates only.
    let rows: Vec<burn::tensor::Tensor<Ad, 2>> = batch
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let docs: Vec<&str> = b["documents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            let (d, mask) = training_documents(&model, &docs);
            rankforge_model::colbert::maxsim_scores(q.clone().narrow(0, i, 1), d, mask)
        })
        .collect();
    let scores = burn::tensor::Tensor::cat(rows, 0);
    assert_parameter_gradients("distillation", &model, scores, case);
}

/// Without query expansion (PyLate's `do_query_expansion = false`) a query is not padded and
/// only its own tokens are scored; the expanded ids are the same ids followed by [MASK]s.
#[test]
fn without_expansion_queries_keep_their_own_tokens() {
    let f = fixture("colbert.json");
    let model = load("pylate-tiny");
    let mut settings = model.settings().clone();
    settings.do_query_expansion = false;
    let tokenizer = ColBertTokenizer::from_dir(&dir("pylate-tiny"), &settings).unwrap();
    let queries = f["queries"].as_array().unwrap();
    for (ours, want) in tokenizer
        .encode_queries(&texts(queries))
        .unwrap()
        .iter()
        .zip(queries)
    {
        let expanded = ints(&want["input_ids"]);
        let attended = flags(&want["attention_mask"]);
        let own: Vec<u32> = expanded
            .iter()
            .zip(&attended)
            .filter(|(_, &a)| a)
            .map(|(&id, _)| id)
            .collect();
        assert_eq!(ours.ids, own);
        assert!(ours.attention.iter().chain(&ours.scored).all(|&x| x));
    }
}

/// PyLate's default prefixes `[Q] ` / `[D] `: tokens PyLate added to the tokenizer (ids past
/// the original vocabulary, the word embedding grown to match), looked up whole, trailing space
/// included; ids exact, scores as PyLate's, and the same after a save and reload.
#[test]
fn default_prefix_tokens_added_by_pylate_are_found_and_scored_alike() {
    let f = fixture("colbert.json");
    let case = &f["default_prefix"];
    let model = load("pylate-default-prefix-tiny");
    assert_eq!(model.settings().query_prefix, "[Q] ");
    assert_eq!(model.settings().document_prefix, "[D] ");
    let queries = case["queries"].as_array().unwrap();
    let documents = case["documents"].as_array().unwrap();
    for (ours, want) in model
        .tokenizer
        .encode_queries(&texts(queries))
        .unwrap()
        .iter()
        .zip(queries)
    {
        assert_eq!(ours.ids, ints(&want["input_ids"]), "query {}", want["text"]);
        assert_eq!(ours.attention, flags(&want["attention_mask"]));
    }
    for (ours, want) in model
        .tokenizer
        .encode_documents(&texts(documents))
        .unwrap()
        .iter()
        .zip(documents)
    {
        assert_eq!(
            ours.ids,
            ints(&want["input_ids"]),
            "document {}",
            want["text"]
        );
    }
    let want_scores: Vec<f32> = case["scores"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(common::f32s)
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    // scripts/reference/check_colbert_saved.sh loads this one with PyLate too.
    let out = std::env::var_os("RANKFORGE_KEEP_COLBERT_SAVED")
        .map(|d| PathBuf::from(d).join("pylate-default-prefix-tiny"))
        .unwrap_or_else(|| tmp.path().join("saved"));
    model.save(&out).unwrap();
    let (reloaded, _) = ColBert::<B>::load(&out, &Default::default()).unwrap();
    for (label, m) in [("loaded", &model), ("saved and reloaded", &reloaded)] {
        let q = m.encode_queries(&texts(queries)).unwrap();
        let d = m.encode_documents(&texts(documents)).unwrap();
        let diff = max_abs_diff(&score_grid(&q, &d), &want_scores);
        assert!(
            diff <= 1e-5 * scale(&want_scores),
            "{label}: scores differ by {diff}"
        );
    }
}

/// A PyLate directory that also keeps Stanford's `artifact.metadata` (as converted models
/// sometimes do) is read as PyLate, as PyLate reads it.
#[test]
fn pylate_modules_win_over_stanford_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("both");
    load("pylate-tiny").save(&out).unwrap();
    std::fs::copy(
        dir("stanford-tiny").join("artifact.metadata"),
        out.join("artifact.metadata"),
    )
    .unwrap();
    let model = ColBert::<B>::load(&out, &Default::default()).unwrap().0;
    assert_eq!(model.format, ColBertFormat::PyLate);
}

/// ColBERT on the other BERT-family bodies (PyLate on the tiny ELECTRA and XLM-RoBERTa
/// checkpoints, default prefixes): ids, skiplist masks and scores as PyLate's, also after a
/// save and reload. XLM-RoBERTa's position ids count the query's unattended expansion tokens,
/// as transformers does.
#[test]
fn electra_and_xlm_roberta_bodies_score_like_pylate() {
    let f = fixture("colbert.json");
    for (name, case) in f["architectures"].as_object().unwrap() {
        let model = load(&format!("{name}-tiny"));
        let want = &case["settings"];
        assert_eq!(
            model.tokenizer.mask_id() as u64,
            want["mask_token_id"].as_u64().unwrap()
        );
        assert_eq!(
            model.tokenizer.skiplist_ids(),
            ints(&want["skiplist_ids"]),
            "{name}"
        );
        let queries = case["queries"].as_array().unwrap();
        let documents = case["documents"].as_array().unwrap();
        let encoded = model.tokenizer.encode_queries(&texts(queries)).unwrap();
        for (ours, want) in encoded.iter().zip(queries) {
            assert_eq!(
                ours.ids,
                ints(&want["input_ids"]),
                "{name}: {}",
                want["text"]
            );
            assert_eq!(ours.attention, flags(&want["attention_mask"]), "{name}");
        }
        let encoded = model.tokenizer.encode_documents(&texts(documents)).unwrap();
        for (ours, want) in encoded.iter().zip(documents) {
            assert_eq!(
                ours.ids,
                ints(&want["input_ids"]),
                "{name}: {}",
                want["text"]
            );
            assert_eq!(
                ours.scored,
                flags(&want["scored"]),
                "{name}: {}",
                want["text"]
            );
        }
        let want_scores: Vec<f32> = case["scores"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(common::f32s)
            .collect();
        // Saved and reloaded too (scripts/reference/check_colbert_saved.sh keeps the saved
        // directories and loads them with PyLate).
        let tmp = tempfile::tempdir().unwrap();
        let out = std::env::var_os("RANKFORGE_KEEP_COLBERT_SAVED")
            .map(PathBuf::from)
            .unwrap_or_else(|| tmp.path().to_path_buf())
            .join(format!("{name}-tiny"));
        model.save(&out).unwrap();
        let (reloaded, report) = ColBert::<B>::load(&out, &Default::default()).unwrap();
        assert!(report.unused.is_empty(), "{:?}", report.unused);
        for (label, m) in [("loaded", &model), ("saved and reloaded", &reloaded)] {
            let q = m.encode_queries(&texts(queries)).unwrap();
            let d = m.encode_documents(&texts(documents)).unwrap();
            let diff = max_abs_diff(&score_grid(&q, &d), &want_scores);
            eprintln!("{name} ({label}): scores within {diff:e} of PyLate's");
            assert!(
                diff <= 1e-5 * scale(&want_scores),
                "{name} {label}: scores differ by {diff}"
            );
        }
    }
}

/// A new ColBERT on a plain encoder (here the tiny ELECTRA cross-encoder's body, whose head is
/// reported unused): the body's weights, a projection drawn from the seed (the same seed gives
/// the same model, another seed another), saved and reloaded unchanged; a prefix that is not
/// a vocabulary token is added to the tokenizer (tests/colbert_new_tokens.rs checks it against
/// PyLate).
#[test]
fn a_new_colbert_on_a_plain_encoder_is_seeded_and_saves() {
    use rankforge_model::colbert::ColBertSettings;
    let source = repo_root().join("tests/fixtures/tiny-models/electra-ce");
    let settings = ColBertSettings {
        query_prefix: "[CLS]".into(),
        document_prefix: "[SEP]".into(),
        query_length: 16,
        document_length: 40,
        ..ColBertSettings::default()
    };
    let device = Default::default();
    let new = |seed| ColBert::<B>::from_encoder(&source, 8, seed, &settings, &device).unwrap();
    let (a, report) = new(7);
    assert!(report.new_head && report.unused.iter().any(|n| n.contains("classifier")));
    assert_eq!(a.model.dim(), 8);
    let texts = [
        "what causes squealing disc brakes",
        "Salt raises the boiling point.",
    ];
    let score = |m: &ColBert<B>| m.score(texts[0], &texts).unwrap();
    let first = score(&a);
    assert_eq!(first, score(&new(7).0), "same seed, same model");
    assert_ne!(first, score(&new(8).0), "another seed, another projection");
    let tmp = tempfile::tempdir().unwrap();
    a.save(&tmp.path().join("new")).unwrap();
    let (reloaded, _) = ColBert::<B>::load(tmp.path().join("new"), &device).unwrap();
    assert_eq!(reloaded.settings(), &settings);
    assert!(max_abs_diff(&score(&reloaded), &first) <= 1e-6);

    let with_new_token = ColBertSettings {
        query_prefix: "[Q] ".into(),
        ..settings.clone()
    };
    let (grown, _) = ColBert::<B>::from_encoder(&source, 8, 7, &with_new_token, &device).unwrap();
    assert_eq!(grown.added_tokens(), [("[Q] ".to_string(), 1000)]);
    assert_eq!(grown.config.vocab_size(), 1001);
}
