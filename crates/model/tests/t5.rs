//! Generative rerankers (issue 25): the tiny random `T5ForConditionalGeneration` checkpoints of
//! `scripts/reference/t5_reference.py` (`tests/fixtures/t5-tiny-relu`: relu feed-forward, tied
//! embeddings with the `d_model^-0.5` rescale; `tests/fixtures/t5-tiny-gated`: gated-gelu,
//! its own `lm_head`, no rescale, 16 buckets up to distance 20) against transformers' outputs in
//! `tests/fixtures/t5.json`.
//!
//! Tolerances: token ids and position buckets exact; hidden states 1e-5 absolute; logits and
//! raw scores 1e-5 relative to max(1, |value|) (the gated model's logits reach ~10). f32 on
//! both sides through 2 + 2 blocks of width 32: what differs is the summation order of the
//! products (`--nocapture` prints the measured differences: at most ~1e-6); a wrong bucket, a missing
//! norm or rescale moves these values by 1e-3 or more. Batched against one-by-one: 1e-5 (the
//! same model, other padding and GEMM shapes).

mod common;

use std::path::PathBuf;

use common::*;
use rankforge_model::inference::collate;
use rankforge_model::layers::relative_position_bucket;
use rankforge_model::t5::{
    io, GenerativeReranker, GenerativeSettings, PromptTemplate, T5Config,
    T5ForConditionalGeneration,
};
use rankforge_model::{Activation, Encoded, LongDocMode, Precision, Reranker, RerankerOptions};
use serde_json::Value;

const MODELS: [&str; 2] = ["t5-tiny-relu", "t5-tiny-gated"];

fn dir(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

fn fx() -> Value {
    fixture("t5.json")
}

fn load(name: &str, settings: GenerativeSettings, batch: usize) -> GenerativeReranker<B> {
    GenerativeReranker::<B>::load(
        dir(name),
        Some(settings),
        None,
        Activation::Identity,
        run(batch),
        Precision::F32,
        &Default::default(),
    )
    .unwrap()
    .0
}

fn model(name: &str) -> T5ForConditionalGeneration<B> {
    let (model, _, found) = io::load::<B>(&dir(name), &Default::default()).unwrap();
    assert!(found.unused.is_empty(), "{:?}", found.unused);
    model
}

fn input(ids: &[u32]) -> rankforge_model::BertInput<B> {
    let encoded = Encoded {
        ids: ids.to_vec(),
        type_ids: vec![0; ids.len()],
    };
    collate::<B>(&[&encoded], &Default::default())
}

fn rows(t: burn::tensor::Tensor<B, 3>) -> Vec<f32> {
    t.into_data().into_vec().unwrap()
}

fn flat(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().flat_map(f32s).collect()
}

/// max |a − b| / max(1, |b|).
fn rel_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| {
            let d = (g - w).abs() / w.abs().max(1.0);
            assert!(d.is_finite(), "{g} vs {w}");
            d
        })
        .fold(0.0, f32::max)
}

fn ids_of(entry: &Value, key: &str) -> Vec<Vec<u32>> {
    entry["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| u32s(&p[key]))
        .collect()
}

#[test]
fn prompt_ids_are_the_tokenizers_and_a_long_document_keeps_the_template_end() {
    let fx = fx();
    for name in MODELS {
        let entry = &fx[name];
        let pairs = query_document_pairs(entry);
        let mono = load(name, GenerativeSettings::mono_t5(), 32);
        let rank = load(name, GenerativeSettings::rank_t5(), 32);
        assert_eq!(mono.max_length(), 512);
        let mono_ids = mono.encode(&refs(&pairs)).unwrap();
        assert_eq!(mono_ids, ids_of(entry, "mono_ids"), "{name}");
        assert_eq!(
            rank.encode(&refs(&pairs)).unwrap(),
            ids_of(entry, "rank_ids"),
            "{name}"
        );

        // The long document is cut: 512 tokens ending in `▁Relevant`, `:`, `</s>`.
        let tokenizer = tokenizers::Tokenizer::from_file(dir(name).join("tokenizer.json")).unwrap();
        let id = |t: &str| tokenizer.token_to_id(t).unwrap();
        let long = mono_ids.last().unwrap();
        assert_eq!(long.len(), 512);
        assert_eq!(long[509..], [id("▁Relevant"), id(":"), 1]);
        // …and it starts as the untruncated prompt does (`Query: … Document:` stays whole).
        let (q, d) = pairs.last().unwrap();
        let (prompt, _) = PromptTemplate::Mono.prompt(q, d);
        let whole = tokenizer.encode(prompt, false).unwrap();
        assert!(whole.get_ids().len() > 600);
        assert_eq!(long[..20], whole.get_ids()[..20]);
        // A shorter limit cuts more of the document and still keeps the end.
        let short = GenerativeReranker::<B>::load(
            dir(name),
            None,
            Some(40),
            Activation::Identity,
            run(32),
            Precision::F32,
            &Default::default(),
        )
        .unwrap()
        .0;
        let cut = short.encode(&[(q, d)]).unwrap().remove(0);
        assert_eq!(cut.len(), 40);
        assert_eq!(cut[..20], whole.get_ids()[..20]);
        assert_eq!(cut[37..], [id("▁Relevant"), id(":"), 1]);
    }
}

#[test]
fn position_buckets_are_transformers() {
    let fx = fx();
    for name in MODELS {
        let config = T5Config::from_file(&dir(name).join("config.json")).unwrap();
        let table = &fx[name]["buckets"];
        let from = table["from"].as_i64().unwrap();
        for (key, bidirectional) in [("bidirectional", true), ("causal", false)] {
            let want = u32s(&table[key]);
            let got: Vec<u32> = (0..want.len() as i64)
                .map(|i| {
                    relative_position_bucket(
                        from + i,
                        bidirectional,
                        config.relative_attention_num_buckets,
                        config.relative_attention_max_distance,
                    ) as u32
                })
                .collect();
            assert_eq!(got, want, "{name} {key}");
        }
    }
}

#[test]
fn encoder_hidden_states_match_transformers() {
    let fx = fx();
    for name in MODELS {
        let model = model(name);
        for p in fx[name]["pairs"].as_array().unwrap() {
            let ids = u32s(&p["mono_ids"]);
            if let Some(states) = p["encoder_hidden_states"].as_array() {
                let ours = model.encoder_hidden_states(&input(&ids));
                assert_eq!(ours.len(), states.len(), "{name}: blocks + final");
                for (i, (got, want)) in ours.into_iter().zip(states).enumerate() {
                    let diff = max_abs_diff(&rows(got), &flat(want));
                    eprintln!("{name}: encoder state {i}: max |Δ| {diff:.1e}");
                    assert!(diff < 1e-5, "{name} state {i}: {diff}");
                }
            }
            if let Some(last) = p.get("encoder_last_hidden_state") {
                let got = rows(model.encode(&input(&ids)));
                let diff = max_abs_diff(&got, &flat(last));
                assert!(diff < 1e-5, "{name} last state: {diff}");
            }
        }
    }
}

/// The step-1 logits of every scored token, each prompt alone (the long one too).
#[test]
fn first_step_logits_match_transformers() {
    let fx = fx();
    for name in MODELS {
        let entry = &fx[name];
        let model = model(name);
        let start = entry["decoder_start_token_id"].as_u64().unwrap() as u32;
        let scored: Vec<(String, u32)> = entry["scored_ids"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(t, id)| (t.clone(), id.as_u64().unwrap() as u32))
            .collect();
        let tokens: Vec<u32> = scored.iter().map(|(_, id)| *id).collect();
        for p in entry["pairs"].as_array().unwrap() {
            for (ids, logits) in [("mono_ids", "mono_logits"), ("rank_ids", "rank_logits")] {
                let got: Vec<f32> = model
                    .first_step_logits(&input(&u32s(&p[ids])), start, &tokens)
                    .into_data()
                    .into_vec()
                    .unwrap();
                let want: Vec<f32> = scored
                    .iter()
                    .map(|(t, _)| p[logits][t].as_f64().unwrap() as f32)
                    .collect();
                let diff = rel_diff(&got, &want);
                eprintln!(
                    "{name}: {logits} ({} tokens): max relative Δ {diff:.1e}",
                    u32s(&p[ids]).len()
                );
                assert!(diff < 1e-5, "{name} {logits}: {got:?} vs {want:?}");
            }
        }
    }
}

/// monoT5's and RankT5's raw scores of all pairs in one batched call; the sigmoid of monoT5's
/// is transformers' 2-way softmax; `▁yes` / `▁no` as the tokens.
#[test]
fn raw_scores_match_transformers() {
    let fx = fx();
    for name in MODELS {
        let entry = &fx[name];
        let pairs = query_document_pairs(entry);
        let want = |key: &str| -> Vec<f32> {
            entry["pairs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[key].as_f64().unwrap() as f32)
                .collect()
        };
        let mono = load(name, GenerativeSettings::mono_t5(), 32);
        let raw = mono.raw_scores(&refs(&pairs)).unwrap();
        let diff = rel_diff(&raw, &want("mono_raw"));
        assert!(
            diff < 1e-5,
            "{name} monoT5: {raw:?} vs {:?}",
            want("mono_raw")
        );
        let probability: Vec<f32> = raw.iter().map(|&s| Activation::Sigmoid.apply(s)).collect();
        assert!(max_abs_diff(&probability, &want("mono_softmax_true")) < 1e-6);

        let rank = load(name, GenerativeSettings::rank_t5(), 32);
        let raw = rank.raw_scores(&refs(&pairs)).unwrap();
        let diff = rel_diff(&raw, &want("rank_raw"));
        assert!(
            diff < 1e-5,
            "{name} RankT5: {raw:?} vs {:?}",
            want("rank_raw")
        );

        let yes_no = GenerativeSettings {
            true_token: "▁yes".into(),
            false_token: Some("▁no".into()),
            ..GenerativeSettings::mono_t5()
        };
        let raw = load(name, yes_no, 32).raw_scores(&refs(&pairs)).unwrap();
        assert!(
            rel_diff(&raw, &want("mono_yes_no_raw")) < 1e-5,
            "{name} yes/no"
        );
    }
}

/// With no false token the raw score is the true token's logit alone.
#[test]
fn the_single_token_rule_is_that_tokens_logit() {
    let fx = fx();
    for name in MODELS {
        let entry = &fx[name];
        let pairs = query_document_pairs(entry);
        let single = GenerativeSettings {
            false_token: None,
            ..GenerativeSettings::mono_t5()
        };
        let scorer = load(name, single, 32);
        assert_eq!(scorer.token_ids().len(), 1);
        let raw = scorer.raw_scores(&refs(&pairs)).unwrap();
        let want: Vec<f32> = entry["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["mono_logits"]["▁true"].as_f64().unwrap() as f32)
            .collect();
        assert!(rel_diff(&raw, &want) < 1e-5, "{name}: {raw:?} vs {want:?}");
    }
}

/// Prompts of 27 to 512 tokens in padded batches (several batch sizes and a token budget that
/// splits them) score as each prompt alone.
#[test]
fn mixed_length_batches_score_as_one_by_one() {
    let fx = fx();
    for name in MODELS {
        let pairs = query_document_pairs(&fx[name]);
        let alone: Vec<f32> = {
            let scorer = load(name, GenerativeSettings::mono_t5(), 1);
            refs(&pairs)
                .iter()
                .map(|pair| scorer.raw_scores(&[*pair]).unwrap()[0])
                .collect()
        };
        for batch in [2, 3, 32] {
            let scorer = load(name, GenerativeSettings::mono_t5(), batch);
            let batched = scorer.raw_scores(&refs(&pairs)).unwrap();
            let diff = rel_diff(&batched, &alone);
            assert!(
                diff < 1e-5,
                "{name} batch {batch}: {batched:?} vs {alone:?}"
            );
        }
    }
}

/// `Reranker::load` recognises the directories: scores are the raw scores, or their sigmoid;
/// the load notes name the rule; max-chunk is refused; an unknown token is an error naming it.
#[test]
fn the_reranker_loads_t5_directories_as_generative() {
    let fx = fx();
    let device = Default::default();
    for name in MODELS {
        let entry = &fx[name];
        let pairs = query_document_pairs(entry);
        let want: Vec<f32> = entry["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["mono_raw"].as_f64().unwrap() as f32)
            .collect();
        let raw_options = RerankerOptions {
            activation: Activation::Identity,
            ..Default::default()
        };
        let (reranker, report) = Reranker::<B>::load(dir(name), &raw_options, &device).unwrap();
        assert!(matches!(reranker, Reranker::Generative(_)), "{name}");
        assert_eq!(reranker.kind(), "generative (T5)");
        let notices = report.notices().join("\n");
        assert!(
            notices.contains("score = logit(▁true) − logit(▁false)")
                && notices.contains("max length 512"),
            "{notices}"
        );
        let raw = reranker.score_pairs(&refs(&pairs)).unwrap();
        assert!(rel_diff(&raw, &want) < 1e-5, "{name}");

        let (reranker, _) = Reranker::<B>::load(dir(name), &Default::default(), &device).unwrap();
        let probability = reranker.score_pairs(&refs(&pairs)).unwrap();
        let sigmoid: Vec<f32> = want.iter().map(|&s| 1.0 / (1.0 + (-s).exp())).collect();
        assert!(max_abs_diff(&probability, &sigmoid) < 1e-6, "{name}");

        let rank_options = RerankerOptions {
            activation: Activation::Identity,
            generative: Some(GenerativeSettings::rank_t5()),
            ..Default::default()
        };
        let (reranker, report) = Reranker::<B>::load(dir(name), &rank_options, &device).unwrap();
        assert!(report.notices().join("\n").contains("logit(<extra_id_10>)"));
        let raw = reranker.score_pairs(&refs(&pairs)).unwrap();
        let rank_want: Vec<f32> = entry["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["rank_raw"].as_f64().unwrap() as f32)
            .collect();
        assert!(rel_diff(&raw, &rank_want) < 1e-5, "{name}");

        let chunked = RerankerOptions {
            long_doc: LongDocMode::MaxChunk {
                window: 64,
                stride: 32,
            }
            .into(),
            ..Default::default()
        };
        let err = Reranker::<B>::load(dir(name), &chunked, &device).unwrap_err();
        assert!(err.to_string().contains("max-chunk"), "{err}");

        let unknown = RerankerOptions {
            generative: Some(GenerativeSettings {
                true_token: "▁maybe".into(),
                ..GenerativeSettings::mono_t5()
            }),
            ..Default::default()
        };
        let err = Reranker::<B>::load(dir(name), &unknown, &device).unwrap_err();
        assert!(err.to_string().contains("▁maybe"), "{err}");
    }
    // Other families are not taken for T5.
    for other in ["tiny-models/xlm-roberta-ce", "tiny-models/modernbert-ce"] {
        assert!(!T5Config::is_conditional_generation_dir(&dir(other)));
    }
}

/// As a miner's rescorer it gives the scores (sigmoid by default).
#[test]
fn the_generative_reranker_is_a_rescorer() {
    use rankforge_mining::Rescorer;
    let fx = fx();
    let pairs = query_document_pairs(&fx["t5-tiny-relu"]);
    let (scorer, _) = GenerativeReranker::<B>::load(
        dir("t5-tiny-relu"),
        None,
        None,
        Activation::Sigmoid,
        run(32),
        Precision::F32,
        &Default::default(),
    )
    .unwrap();
    let scores = scorer.score(&refs(&pairs)).unwrap();
    let rescored = Rescorer::score_pairs(&scorer, &refs(&pairs)).unwrap();
    assert_eq!(
        rescored,
        scores.iter().map(|&s| s as f64).collect::<Vec<_>>()
    );
}

/// `--precision int8` / `bf16` on the CPU run the prepared Linear kernels (the facade's
/// `Linear` layers); their raw scores stay near f32's.
#[test]
fn reduced_precision_scores_stay_near_f32() {
    let fx = fx();
    for name in MODELS {
        let pairs = query_document_pairs(&fx[name]);
        let scores = |precision| {
            GenerativeReranker::<B>::load(
                dir(name),
                None,
                None,
                Activation::Identity,
                run(32),
                precision,
                &Default::default(),
            )
            .unwrap()
            .0
            .raw_scores(&refs(&pairs))
            .unwrap()
        };
        let f32_scores = scores(Precision::F32);
        for precision in [Precision::Int8, Precision::Bf16] {
            let got = scores(precision);
            let diff = max_abs_diff(&got, &f32_scores);
            eprintln!("{name} {precision:?}: max |Δ| {diff:.1e} from f32");
            assert!(
                diff < 0.1,
                "{name} {precision:?}: {got:?} vs {f32_scores:?}"
            );
        }
    }
}

/// A tied checkpoint has no `lm_head` and rescales; an untied one has its own and does not.
#[test]
fn the_lm_head_follows_tie_word_embeddings() {
    let tied = model("t5-tiny-relu");
    assert!(tied.lm_head.is_none() && tied.scales_decoder_output());
    let untied = model("t5-tiny-gated");
    assert!(untied.lm_head.is_some() && !untied.scales_decoder_output());
}

/// duoT5 (`scripts/reference/duot5_reference.py`, `tests/fixtures/duot5.json`): the ordered
/// pairs' prompt ids (exact, the long case cut as `longest_first` shares the budget, the
/// template's end kept), their raw scores against transformers (1e-5 relative), and the four
/// aggregations against pygaggle's formulas over transformers' probabilities (1e-5 relative).
#[test]
fn duo_prompts_scores_and_aggregations_match_the_reference() {
    use rankforge_model::t5::DuoAggregation;
    let fx = fixture("duot5.json");
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let max_length = case["max_length"].as_u64().unwrap() as usize;
        let scorer = GenerativeReranker::<B>::load(
            dir("t5-tiny-relu"),
            None,
            Some(max_length),
            Activation::Identity,
            run(3),
            Precision::F32,
            &Default::default(),
        )
        .unwrap()
        .0;
        let query = case["query"].as_str().unwrap();
        let documents: Vec<&str> = case["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let k = documents.len();
        for i in 0..k {
            for j in (0..k).filter(|&j| j != i) {
                let ids = scorer
                    .prompts()
                    .encode_duo(&[(query, documents[i], documents[j])])
                    .unwrap()
                    .remove(0);
                let want: Vec<u32> = case["ids"][i][j]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect();
                assert_eq!(ids, want, "{name}: prompt ({i}, {j})");
            }
        }
        let raw = scorer
            .duo_raw_scores(&[(query, documents.clone())])
            .unwrap()
            .remove(0);
        for i in 0..k {
            let want: Vec<f32> = f32s(&case["raw"][i]);
            let got: Vec<f32> = (0..k).map(|j| raw[i][j]).collect();
            let d = rel_diff(&got, &want);
            assert!(d <= 1e-5, "{name}: raw row {i}: {got:?} vs {want:?}");
        }
        for aggregation in DuoAggregation::ALL {
            let got = aggregation.aggregate(&raw);
            let want = &case["aggregates"][aggregation.name()];
            for (i, g) in got.iter().enumerate() {
                let w = want[i].as_f64().unwrap();
                assert!(
                    (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                    "{name} {}: document {i}: {g} vs {w}",
                    aggregation.name()
                );
            }
        }
    }
}
