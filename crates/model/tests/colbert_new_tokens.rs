//! `ColBert::from_encoder` with prefixes that are not vocabulary tokens (PyLate's default `[Q] `
//! / `[D] `), against `tests/fixtures/colbert_new_tokens.json` (scripts/reference/
//! colbert_new_tokens.py: `pylate.models.ColBERT` on the same plain tiny BERT directory): the
//! tokens get PyLate's ids and flags, the vocabulary grows by two, the new rows are the old
//! rows' mean up to transformers' tiny `mean_resizing` noise, and with PyLate's drawn rows and
//! projection copied in, the scores are PyLate's; saved and reloaded (by rankforge and by the
//! saved tokenizer alone), the ids and scores stay.

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use common::{fixture, max_abs_diff, repo_root, B};
use rankforge_model::colbert::{maxsim, ColBert, ColBertSettings, ColBertTokenizer};
use serde_json::Value;

/// The plain BERT directory PyLate started from: the body files of the tiny PyLate model.
fn plain_bert(f: &Value, into: &Path) -> PathBuf {
    let source = repo_root().join(f["source"].as_str().unwrap());
    let dir = into.join("plain-bert");
    std::fs::create_dir_all(&dir).unwrap();
    for name in common::strs(&f["base_files"]) {
        std::fs::copy(source.join(&name), dir.join(&name)).unwrap();
    }
    dir
}

fn settings(f: &Value) -> ColBertSettings {
    let s = &f["settings"];
    ColBertSettings {
        query_prefix: s["query_prefix"].as_str().unwrap().into(),
        document_prefix: s["document_prefix"].as_str().unwrap().into(),
        query_length: s["query_length"].as_u64().unwrap() as usize,
        document_length: s["document_length"].as_u64().unwrap() as usize,
        ..ColBertSettings::default()
    }
}

fn texts(entries: &Value) -> Vec<&str> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

fn assert_ids(label: &str, tokenizer: &ColBertTokenizer, f: &Value) {
    let queries = tokenizer.encode_queries(&texts(&f["queries"])).unwrap();
    for (ours, want) in queries.iter().zip(f["queries"].as_array().unwrap()) {
        assert_eq!(
            ours.ids,
            common::u32s(&want["input_ids"]),
            "{label}: {}",
            want["text"]
        );
        let attention: Vec<u32> = ours.attention.iter().map(|&a| u32::from(a)).collect();
        assert_eq!(attention, common::u32s(&want["attention_mask"]), "{label}");
    }
    let documents = tokenizer.encode_documents(&texts(&f["documents"])).unwrap();
    for (ours, want) in documents.iter().zip(f["documents"].as_array().unwrap()) {
        assert_eq!(
            ours.ids,
            common::u32s(&want["input_ids"]),
            "{label}: {}",
            want["text"]
        );
    }
}

fn scores(model: &ColBert<B>, f: &Value) -> Vec<f32> {
    let q = model.encode_queries(&texts(&f["queries"])).unwrap();
    let d = model.encode_documents(&texts(&f["documents"])).unwrap();
    q.iter()
        .flat_map(|q| d.iter().map(move |d| maxsim(q, d, None, None)))
        .collect()
}

fn rows(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(common::f32s)
        .collect()
}

fn values(t: Tensor<B, 2>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

/// The tokenizer file's added tokens without their ids' order mattering.
fn added_tokens(path: &Path) -> Value {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["added_tokens"].clone()
}

#[test]
fn new_prefix_tokens_are_added_as_pylate_adds_them() {
    let f = fixture("colbert_new_tokens.json");
    let tmp = tempfile::tempdir().unwrap();
    let dir = plain_bert(&f, tmp.path());
    let device = Default::default();
    let settings = settings(&f);
    let dim = f["settings"]["dim"].as_u64().unwrap() as usize;
    let (mut model, report) = ColBert::<B>::from_encoder(&dir, dim, 3, &settings, &device).unwrap();
    assert!(report.new_head);

    // Ids: PyLate's, the vocabulary grown by the two prefixes.
    let before = f["vocab_before"].as_u64().unwrap() as usize;
    let after = f["vocab_after"].as_u64().unwrap() as usize;
    assert_eq!(after, before + 2);
    let want = &f["settings"];
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
    assert_eq!(model.config.vocab_size(), after);
    assert_eq!(model.model.word_embeddings().dims(), [after, 32]);
    assert_eq!(
        model.tokenizer.skiplist_ids(),
        common::u32s(&want["skiplist_ids"])
    );
    assert_ids("from_encoder", &model.tokenizer, &f);

    // The old rows unchanged; the new ones the old rows' mean up to the `mean_resizing` noise
    // (N(0, 1e-9·Σ): a few of its largest standard deviation), as PyLate's are.
    let table = values(model.model.word_embeddings());
    let original = rankforge_model::hf::safetensors_names(&dir.join("model.safetensors")).unwrap();
    assert!(original.contains("embeddings.word_embeddings.weight"));
    let (reference, _) = ColBert::<B>::load(
        repo_root().join("tests/fixtures/colbert/pylate-tiny"),
        &device,
    )
    .unwrap();
    assert_eq!(
        &table[..before * 32],
        &values(reference.model.word_embeddings())[..]
    );
    let mean = common::f32s(&f["mean_of_old_rows"]);
    let bound = 6.0 * f["noise_std_max"].as_f64().unwrap() as f32 + 1e-6;
    let pylate_rows = rows(&f["new_rows"]);
    for (label, new) in [
        ("ours", &table[before * 32..]),
        ("PyLate's", &pylate_rows[..]),
    ] {
        for row in new.chunks(32) {
            let diff = max_abs_diff(row, &mean);
            assert!(
                diff <= bound,
                "{label} new row is {diff} from the mean (bound {bound})"
            );
        }
    }
    assert_ne!(
        &table[before * 32..before * 32 + 32],
        &table[before * 32 + 32..],
        "two draws"
    );

    // PyLate's drawn rows and projection copied in: PyLate's scores.
    let mut grown = table[..before * 32].to_vec();
    grown.extend(&pylate_rows);
    model.model.set_word_embeddings(Tensor::from_data(
        TensorData::new(grown, [after, 32]),
        &device,
    ));
    let projection = rows(&f["projection"]);
    let weight = Tensor::<B, 2>::from_data(TensorData::new(projection, [dim, 32]), &device);
    model.model.projection.weight = burn::module::Param::from_tensor(weight.transpose());
    let want_scores = rows(&f["scores"]);
    let scale = want_scores.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    let diff = max_abs_diff(&scores(&model, &f), &want_scores);
    assert!(diff <= 1e-5 * scale, "scores differ by {diff}");
    eprintln!("new tokens: scores within {diff:e} of PyLate's");

    // Saved (scripts/reference/check_colbert_saved.sh keeps it and loads it with PyLate): the
    // tokenizer file lists the added tokens as PyLate's save does, the config the grown
    // vocabulary; reloaded, the same ids and scores; the saved tokenizer alone, the same ids.
    let out = std::env::var_os("RANKFORGE_KEEP_COLBERT_SAVED")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf())
        .join("pylate-new-tokens-tiny");
    model.save(&out).unwrap();
    assert_eq!(added_tokens(&out.join("tokenizer.json")), f["added_tokens"]);
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["vocab_size"], f["saved_vocab_size"]);
    let (reloaded, report) = ColBert::<B>::load(&out, &device).unwrap();
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    assert!(reloaded.added_tokens().is_empty(), "nothing added on load");
    assert_eq!(reloaded.settings(), &settings);
    assert_ids("saved and reloaded", &reloaded.tokenizer, &f);
    assert_ids(
        "the saved tokenizer",
        &ColBertTokenizer::from_dir(&out, &settings).unwrap(),
        &f,
    );
    let diff = max_abs_diff(&scores(&reloaded, &f), &want_scores);
    assert!(
        diff <= 1e-5 * scale,
        "saved and reloaded: scores differ by {diff}"
    );
    // The source directory is untouched.
    assert_eq!(
        added_tokens(&dir.join("tokenizer.json")),
        f["added_tokens_before"]
    );
}

/// The same seed draws the same new rows, another seed others; other settings keep the added
/// tokens ([`ColBertTokenizer::with_settings`]); a prefix already in the vocabulary keeps its id
/// and grows nothing.
#[test]
fn new_rows_are_seeded_and_known_prefixes_add_no_row() {
    let f = fixture("colbert_new_tokens.json");
    let tmp = tempfile::tempdir().unwrap();
    let dir = plain_bert(&f, tmp.path());
    let device = Default::default();
    let settings = settings(&f);
    let table = |seed, settings: &ColBertSettings| {
        let (model, _) = ColBert::<B>::from_encoder(&dir, 8, seed, settings, &device).unwrap();
        (values(model.model.word_embeddings()), model)
    };
    let (a, model) = table(1, &settings);
    assert_eq!(a, table(1, &settings).0);
    assert_ne!(a, table(2, &settings).0);
    let longer = ColBertSettings {
        document_length: 40,
        ..settings.clone()
    };
    let retokenized = model.tokenizer.with_settings(&longer).unwrap();
    assert_eq!(retokenized.added_tokens(), model.added_tokens());
    assert_eq!(retokenized.settings(), &longer);
    let queries = texts(&f["queries"]);
    assert_eq!(
        retokenized.encode_queries(&queries).unwrap(),
        model.tokenizer.encode_queries(&queries).unwrap()
    );

    let known = ColBertSettings {
        query_prefix: "[unused0]".into(),
        document_prefix: "[D] ".into(),
        ..settings.clone()
    };
    let (b, model) = table(1, &known);
    assert_eq!(model.added_tokens(), [("[D] ".to_string(), 700)]);
    assert_eq!(b.len(), 701 * 32);
    assert_eq!(model.config.vocab_size(), 701);
}
