//! Decoder-only yes/no rerankers (issue 25): the tiny random Qwen3ForCausalLM reranker of
//! `scripts/reference/qwen3_reference.py`, saved by sentence-transformers 6.3's CrossEncoder
//! (`tests/fixtures/qwen3-tiny-reranker`: `Transformer` text-generation + `LogitScore(yes, no)`,
//! a chat template over the `query` / `document` roles, max length 160), against
//! sentence-transformers' and transformers' outputs in `tests/fixtures/qwen3.json`.
//!
//! Tolerances: token ids exact (template included, the long pair cut with the template's suffix
//! kept); hidden states of every layer 1e-5 relative to max(1, the layer's largest |value|); logits and raw scores 1e-5. Both sides
//! run f32 through 2 layers of width 32; what differs is the summation order of the products
//! and rotary angles whose cosine/sine are taken in f64 then rounded (`--nocapture` prints the
//! measured differences: ~1e-6); a missing q/k norm, a wrong θ, head_dim or key/value grouping
//! moves these values by 1e-2 or more. A left-padded mixed-length batch against one by one:
//! 1e-5 (each row's positions count from its first real token, so only GEMM shapes differ).
//! sentence-transformers' own batched scores differ from its one-by-one scores by up to ~1e-5
//! (transformers counts positions over the padded width), so they are compared at 5e-5.

mod common;

use std::path::PathBuf;

use burn::tensor::{Int, Tensor, TensorData};
use common::*;
use rankforge_model::qwen3::{CausalLmFormat, CausalLmReranker, CausalLmSettings};
use rankforge_model::{
    Activation, CandidateList, CandidateScorer, LongDocMode, LongDocSettings, Precision, Reranker,
    RerankerOptions,
};
use serde_json::Value;

fn dir() -> PathBuf {
    repo_root().join("tests/fixtures/qwen3-tiny-reranker")
}

fn fx() -> Value {
    fixture("qwen3.json")
}

fn load_from(
    dir: &std::path::Path,
    settings: Option<CausalLmSettings>,
    batch: usize,
) -> CausalLmReranker<B> {
    CausalLmReranker::<B>::load(
        dir,
        settings,
        None,
        Activation::Identity,
        run(batch),
        Precision::F32,
        &Default::default(),
    )
    .unwrap()
    .0
}

fn load(batch: usize) -> CausalLmReranker<B> {
    load_from(&dir(), None, batch)
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

#[test]
fn the_sentence_transformers_directory_is_recognised() {
    match CausalLmFormat::recognise(&dir()) {
        Some(CausalLmFormat::SentenceTransformers {
            true_token_id,
            false_token_id,
            ..
        }) => {
            let fx = fx();
            assert_eq!(true_token_id as u64, fx["true_token_id"].as_u64().unwrap());
            assert_eq!(false_token_id.map(u64::from), fx["false_token_id"].as_u64());
        }
        other => panic!("{other:?}"),
    }
    let reranker = load(8);
    assert_eq!(
        reranker.max_length(),
        fx()["max_length"].as_u64().unwrap() as usize
    );
}

/// The chat template rendered by minijinja and tokenized without special tokens gives
/// sentence-transformers' ids; the long pair is cut to the max length in its document and
/// keeps the template's suffix (`<|im_end|>`, the assistant turn, the empty think block).
#[test]
fn prompt_ids_match_sentence_transformers_and_keep_the_suffix() {
    let fx = fx();
    let reranker = load(8);
    let pairs = query_document_pairs(&fx);
    let ids = reranker.encode(&refs(&pairs)).unwrap();
    let suffix = u32s(&fx["suffix_ids"]);
    assert_eq!(reranker.prompts().suffix(), suffix.as_slice());
    for (got, entry) in ids.iter().zip(fx["pairs"].as_array().unwrap()) {
        assert_eq!(got, &u32s(&entry["ids"]), "{}", entry["query"]);
    }
    assert_eq!(
        reranker.prompts().render(&pairs[0].0, &pairs[0].1).unwrap(),
        fx["first_prompt"].as_str().unwrap()
    );
    let max = reranker.max_length();
    let long = ids.last().unwrap();
    assert_eq!(long.len(), max);
    assert!(long.ends_with(&suffix));
    // Untruncated, the long prompt is several times the max length: its body was cut.
    let whole = reranker
        .prompts()
        .tokenizer()
        .encode(
            reranker.prompts().render(&pairs[3].0, &pairs[3].1).unwrap(),
            false,
        )
        .unwrap();
    assert!(whole.get_ids().len() > 3 * max);
    assert_eq!(
        &long[..max - suffix.len()],
        &whole.get_ids()[..max - suffix.len()]
    );
    // A shorter max length cuts more of the document and still ends in the suffix.
    let short = CausalLmReranker::<B>::load(
        dir(),
        None,
        Some(suffix.len() + 30),
        Activation::Identity,
        run(8),
        Precision::F32,
        &Default::default(),
    )
    .unwrap()
    .0;
    let cut = short.encode(&refs(&pairs)).unwrap();
    for ids in &cut {
        assert!(ids.len() <= suffix.len() + 30);
        assert!(ids.ends_with(&suffix), "{ids:?}");
    }
}

/// Every layer's hidden states at every position, a pair at a time, against transformers.
#[test]
fn hidden_states_match_transformers() {
    let fx = fx();
    let reranker = load(8);
    let device = Default::default();
    let mut worst = 0f32;
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
            worst = worst.max(d);
        }
    }
    println!("hidden states: max |Δ| {worst:.2e}");
}

/// Raw scores (`logit(yes) − logit(no)`) one by one and in a left-padded mixed-length batch
/// against sentence-transformers, and the batch against one by one.
#[test]
fn raw_scores_match_and_batching_changes_nothing() {
    let fx = fx();
    let pairs = query_document_pairs(&fx);
    let want: Vec<f32> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["raw_score"].as_f64().unwrap() as f32)
        .collect();
    let one = load(1).raw_scores(&refs(&pairs)).unwrap();
    let batched = load(8).raw_scores(&refs(&pairs)).unwrap();
    let d_one = max_diff(&one, &want);
    let d_batch = max_diff(&batched, &one);
    let d_st_batch = max_diff(&batched, &f32s(&fx["batch_raw_scores"]));
    println!(
        "one by one vs sentence-transformers {d_one:.2e}; batched vs one by one {d_batch:.2e}; \
         batched vs sentence-transformers batched {d_st_batch:.2e}"
    );
    assert!(d_one < 1e-5, "{one:?} vs {want:?}");
    assert!(d_batch < 1e-5, "{batched:?} vs {one:?}");
    assert!(d_st_batch < 5e-5, "{batched:?}");
    // The two logits themselves.
    let reranker = load(1);
    let yes_only = load_from(
        &dir(),
        Some(CausalLmSettings {
            true_token: Some("yes".into()),
            ..Default::default()
        }),
        8,
    );
    assert_eq!(yes_only.token_ids(), &reranker.token_ids()[..1]);
    let logits = yes_only.raw_scores(&refs(&pairs)).unwrap();
    let want_yes: Vec<f32> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["logits"][0].as_f64().unwrap() as f32)
        .collect();
    assert!(
        max_diff(&logits, &want_yes) < 1e-5,
        "{logits:?} vs {want_yes:?}"
    );
}

/// The model on a left-padded batch gives each row's states as that row alone (the last
/// column, where the score is read).
#[test]
fn a_left_padded_batch_equals_each_row_alone() {
    let fx = fx();
    let reranker = load(8);
    let device = Default::default();
    let rows: Vec<Vec<u32>> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| u32s(&e["ids"]))
        .collect();
    let lengths: Vec<usize> = rows.iter().map(Vec::len).collect();
    let seq = *lengths.iter().max().unwrap();
    assert!(lengths.iter().any(|&n| n < seq));
    let mut ids = vec![0i64; rows.len() * seq];
    for (r, row) in rows.iter().enumerate() {
        for (c, &id) in row.iter().enumerate() {
            ids[r * seq + seq - row.len() + c] = id as i64;
        }
    }
    let masks = reranker.model.masks(&lengths, seq, &device);
    let batch = reranker.model.last_hidden(
        Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [rows.len(), seq]), &device),
        &masks,
    );
    for (r, row) in rows.iter().enumerate() {
        let n = row.len();
        let alone = reranker.model.last_hidden(
            Tensor::<B, 2, Int>::from_data(
                TensorData::new(row.iter().map(|&i| i as i64).collect::<Vec<_>>(), [1, n]),
                &device,
            ),
            &reranker.model.masks(&[n], n, &device),
        );
        let got: Vec<f32> = batch
            .clone()
            .narrow(0, r, 1)
            .into_data()
            .into_vec()
            .unwrap();
        let want: Vec<f32> = alone.into_data().into_vec().unwrap();
        let d = max_diff(&got, &want);
        assert!(d < 1e-5, "row {r} (padding {}): {d}", seq - n);
    }
}

/// `Reranker::load` picks the decoder-only reranker; sigmoid scores are sentence-transformers'
/// default output; candidate lists score as pairs do.
#[test]
fn the_reranker_hook_scores_with_sigmoid_by_default() {
    let fx = fx();
    let pairs = query_document_pairs(&fx);
    let (reranker, report) =
        Reranker::<B>::load(dir(), &RerankerOptions::default(), &Default::default()).unwrap();
    assert!(
        matches!(reranker, Reranker::CausalLm(_)),
        "{}",
        reranker.kind()
    );
    assert!(
        report.notes[0].contains("decoder-only"),
        "{:?}",
        report.notes
    );
    let scores = reranker.score_pairs(&refs(&pairs)).unwrap();
    let want = f32s(&fx["batch_sigmoid_scores"]);
    assert!(max_diff(&scores, &want) < 1e-5, "{scores:?} vs {want:?}");
    let lists = vec![
        CandidateList {
            query: &pairs[0].0,
            documents: vec![("a", &pairs[0].1), ("b", &pairs[1].1)],
        },
        CandidateList {
            query: &pairs[2].0,
            documents: vec![("c", &pairs[2].1)],
        },
    ];
    let by_list = reranker.score_candidates(&lists).unwrap();
    let direct = reranker
        .score_pairs(&[
            (&pairs[0].0, &pairs[0].1),
            (&pairs[0].0, &pairs[1].1),
            (&pairs[2].0, &pairs[2].1),
        ])
        .unwrap();
    assert!(max_diff(&by_list.concat(), &direct) < 1e-6);
    let chunked = RerankerOptions {
        long_doc: LongDocSettings::from(LongDocMode::MaxChunk {
            window: 64,
            stride: 32,
        }),
        ..Default::default()
    };
    assert!(Reranker::<B>::load(dir(), &chunked, &Default::default()).is_err());
}

/// A plain `Qwen3ForCausalLM` directory (no modules.json, no chat template) with an explicit
/// prompt template scores as the sentence-transformers directory does (`yes` / `no` by
/// default); without a template it is refused with a message that says what to set.
#[test]
fn a_plain_causal_lm_directory_takes_an_explicit_template() {
    let fx = fx();
    let pairs = query_document_pairs(&fx);
    let plain = tempfile::tempdir().unwrap();
    for name in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(dir().join(name), plain.path().join(name)).unwrap();
    }
    assert_eq!(
        CausalLmFormat::recognise(plain.path()),
        Some(CausalLmFormat::Plain)
    );
    let err = CausalLmReranker::<B>::load(
        plain.path(),
        None,
        Some(160),
        Activation::Identity,
        run(8),
        Precision::F32,
        &Default::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("prompt template"), "{err}");
    // The chat template without its `{%- set … %}` lines reads `query` and `document` (and
    // `system`, undefined: the default instruction).
    let template = std::fs::read_to_string(dir().join("chat_template.jinja"))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("{%- set"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let settings = CausalLmSettings {
        prompt_template: Some(template),
        ..Default::default()
    };
    let options = RerankerOptions {
        max_length: Some(160),
        activation: Activation::Identity,
        ..Default::default()
    };
    let (reranker, _) =
        Reranker::<B>::load_with(plain.path(), &options, Some(settings), &Default::default())
            .unwrap();
    let Reranker::CausalLm(scorer) = &reranker else {
        panic!("{}", reranker.kind());
    };
    let ids = scorer.encode(&refs(&pairs)).unwrap();
    for (got, entry) in ids.iter().zip(fx["pairs"].as_array().unwrap()) {
        assert_eq!(got, &u32s(&entry["ids"]));
    }
    let scores = reranker.score_pairs(&refs(&pairs)).unwrap();
    let want: Vec<f32> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["raw_score"].as_f64().unwrap() as f32)
        .collect();
    assert!(max_diff(&scores, &want) < 1e-5, "{scores:?} vs {want:?}");
    // Settings are for decoder-only directories only.
    let t5 = repo_root().join("tests/fixtures/t5-tiny-relu");
    assert!(Reranker::<B>::load_with(
        &t5,
        &RerankerOptions::default(),
        Some(CausalLmSettings::default()),
        &Default::default()
    )
    .is_err());
}

/// `--precision int8` / `bf16` on the CPU run the prepared Linear kernels of the facade's
/// layers; the raw scores stay near f32's (within a tenth of their spread, in the same order).
#[test]
fn reduced_precision_scores_stay_near_f32() {
    let fx = fx();
    let pairs = query_document_pairs(&fx);
    let scores = |precision| {
        CausalLmReranker::<B>::load(
            dir(),
            None,
            None,
            Activation::Identity,
            run(8),
            precision,
            &Default::default(),
        )
        .unwrap()
        .0
        .raw_scores(&refs(&pairs))
        .unwrap()
    };
    let f32_scores = scores(Precision::F32);
    let spread = f32_scores.iter().cloned().fold(f32::MIN, f32::max)
        - f32_scores.iter().cloned().fold(f32::MAX, f32::min);
    let order = |scores: &[f32]| {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        order
    };
    for precision in [Precision::Int8, Precision::Bf16] {
        let got = scores(precision);
        let diff = max_diff(&got, &f32_scores);
        println!("{precision:?}: max |Δ| {diff:.1e} from f32: {got:?} vs {f32_scores:?}");
        // Measured: int8 2.2e-1, bf16 5.5e-2 on scores spread over ~3 (random weights of a
        // width-32 model amplify rounding more than a trained model does); the order stays.
        assert!(
            diff < 0.1 * spread,
            "{precision:?}: {got:?} vs {f32_scores:?}"
        );
        assert_eq!(order(&got), order(&f32_scores), "{precision:?}");
    }
}

/// Without a saved `max_seq_length`, the max length is the tokenizer's `model_max_length`
/// within the positions, capped; another `*ForCausalLM` body is refused by name.
#[test]
fn default_max_length_and_other_bodies() {
    let plain = tempfile::tempdir().unwrap();
    for name in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "chat_template.jinja",
    ] {
        std::fs::copy(dir().join(name), plain.path().join(name)).unwrap();
    }
    let load = |dir: &std::path::Path| {
        CausalLmReranker::<B>::load(
            dir,
            None,
            None,
            Activation::Identity,
            run(8),
            Precision::F32,
            &Default::default(),
        )
    };
    // No tokenizer_config.json: the 512 positions.
    let (reranker, report) = load(plain.path()).unwrap();
    assert_eq!(reranker.max_length(), 512);
    assert_eq!(report.max_length.unwrap().1, "max_position_embeddings");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("config.json")).unwrap()).unwrap();
    config["max_position_embeddings"] = 40960.into();
    std::fs::write(plain.path().join("config.json"), config.to_string()).unwrap();
    let (reranker, _) = load(plain.path()).unwrap();
    assert_eq!(
        reranker.max_length(),
        rankforge_model::qwen3::reranker::DEFAULT_MAX_LENGTH_CAP
    );
    config["model_type"] = "llama".into();
    config["architectures"] = serde_json::json!(["LlamaForCausalLM"]);
    std::fs::write(plain.path().join("config.json"), config.to_string()).unwrap();
    let err = load(plain.path()).unwrap_err().to_string();
    assert!(err.contains("llama") && err.contains("qwen3"), "{err}");
    let err = Reranker::<B>::load(
        plain.path(),
        &RerankerOptions::default(),
        &Default::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("decoder-only"), "{err}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
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
}

/// An instruction is a system message before the pair, as sentence-transformers' `prompt=`
/// renders it (the template puts it in `<Instruct>:`): set at load, or the saved default
/// prompt (`default_prompt_name`); `""` turns the saved one off.
#[test]
fn an_instruction_is_a_system_message_as_sentence_transformers_renders_it() {
    let fx = fx();
    let pairs = query_document_pairs(&fx);
    let instruction = fx["instruction"].as_str().unwrap();
    let want_ids: Vec<Vec<u32>> = fx["instructed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| u32s(&e["ids"]))
        .collect();
    let want_scores: Vec<f32> = fx["instructed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["raw_score"].as_f64().unwrap() as f32)
        .collect();
    let check = |reranker: &CausalLmReranker<B>| {
        assert_eq!(reranker.prompts().system(), Some(instruction));
        assert_eq!(reranker.encode(&refs(&pairs)).unwrap(), want_ids);
        let scores = reranker.raw_scores(&refs(&pairs)).unwrap();
        let d = max_diff(&scores, &want_scores);
        assert!(d < 1e-5, "{scores:?} vs {want_scores:?}");
    };
    check(&load_from(
        &dir(),
        Some(CausalLmSettings {
            instruction: Some(instruction.into()),
            ..Default::default()
        }),
        8,
    ));
    let saved = tempfile::tempdir().unwrap();
    copy_dir(&dir(), saved.path());
    let path = saved.path().join("config_sentence_transformers.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["prompts"] = serde_json::json!({"finishing": instruction});
    config["default_prompt_name"] = "finishing".into();
    std::fs::write(&path, config.to_string()).unwrap();
    check(&load_from(saved.path(), None, 8));
    let off = load_from(
        saved.path(),
        Some(CausalLmSettings {
            instruction: Some(String::new()),
            ..Default::default()
        }),
        8,
    );
    assert_eq!(off.prompts().system(), None);
    let ids: Vec<Vec<u32>> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| u32s(&e["ids"]))
        .collect();
    assert_eq!(off.encode(&refs(&pairs)).unwrap(), ids);
}
