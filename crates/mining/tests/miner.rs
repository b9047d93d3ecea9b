//! The hard-negative miner: each filter, sampling, multiple positives, unscored positives,
//! rescoring, every output format, and the summary.

use std::collections::HashMap;

use rankforge_data::{Corpus, Document, Qrels, Queries, Query, Run};
use rankforge_mining::*;

/// A first stage with fixed answers; scores positives on request from `extra`.
struct FixedRetriever {
    run: Run,
    extra: HashMap<String, f64>,
}

impl CandidateRetriever for FixedRetriever {
    fn retrieve(&self, queries: &[(&str, &str)], k: usize) -> Result<Run> {
        let mut run = Run::new();
        for (qid, _) in queries {
            if let Some(docs) = self.run.get(qid) {
                run.set(*qid, docs.iter().take(k).cloned().collect());
            }
        }
        Ok(run)
    }
    fn score_documents(&self, _query: &str, doc_ids: &[&str]) -> Result<Vec<Option<f64>>> {
        Ok(doc_ids
            .iter()
            .map(|d| self.extra.get(*d).copied())
            .collect())
    }
    fn name(&self) -> &str {
        "fixed"
    }
}

/// Scores a pair by the number in the document text ("doc 7" → 7).
struct NumberRescorer;

impl Rescorer for NumberRescorer {
    fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f64>> {
        Ok(pairs
            .iter()
            .map(|(_, doc)| doc.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .collect())
    }
    fn name(&self) -> &str {
        "numbers"
    }
}

struct Fixture {
    corpus: Corpus,
    queries: Queries,
    qrels: Qrels,
    retriever: FixedRetriever,
}

impl Fixture {
    fn new() -> Self {
        let mut corpus = Corpus::new();
        for i in 0..10 {
            corpus
                .push(Document::new(format!("d{i}"), "", format!("doc {i}")))
                .unwrap();
        }
        let mut queries = Queries::new();
        for (id, text) in [("q1", "first"), ("q2", "second"), ("q3", "third")] {
            queries.push(Query::new(id, text)).unwrap();
        }
        let mut qrels = Qrels::new();
        qrels.insert("q1", "d0", 1);
        qrels.insert("q1", "d9", 0); // judged non-relevant: may be a negative
        qrels.insert("q2", "d1", 2);
        qrels.insert("q2", "d2", 1);
        qrels.insert("q3", "missing", 1); // positive not in the corpus
        qrels.insert("q4", "d0", 1); // no query text
        let mut run = Run::new();
        for (d, s) in [
            ("d0", 9.0),
            ("d3", 8.0),
            ("d4", 7.0),
            ("d5", 6.0),
            ("d6", 5.0),
            ("d7", 4.0),
        ] {
            run.push("q1", d, s);
        }
        for (d, s) in [
            ("d3", 10.0),
            ("d1", 9.0),
            ("d4", 8.0),
            ("d5", 2.0),
            ("d6", 1.0),
        ] {
            run.push("q2", d, s);
        }
        let extra = [("d2".to_string(), 3.0)].into();
        Fixture {
            corpus,
            queries,
            qrels,
            retriever: FixedRetriever { run, extra },
        }
    }

    fn data(&self) -> MiningData<'_> {
        MiningData {
            corpus: &self.corpus,
            queries: &self.queries,
            qrels: &self.qrels,
        }
    }

    fn mine(&self, config: &MinerConfig) -> Mined {
        mine_hard_negatives(self.data(), &self.retriever, None, config, false).unwrap()
    }
}

fn negatives(mined: &Mined, qid: &str) -> Vec<String> {
    mined
        .queries
        .iter()
        .find(|q| q.query_id == qid)
        .unwrap()
        .negatives
        .iter()
        .map(|d| d.doc_id.clone())
        .collect()
}

#[test]
fn defaults_take_the_top_candidates_after_removing_positives() {
    let f = Fixture::new();
    let mined = f.mine(&MinerConfig::default());
    assert_eq!(negatives(&mined, "q1"), ["d3", "d4", "d5"]);
    assert_eq!(negatives(&mined, "q2"), ["d3", "d4", "d5"]);
    let s = &mined.summary;
    assert_eq!(s.queries_judged, 4);
    assert_eq!(s.queries_mined, 2);
    assert_eq!(s.queries_missing_text, ["q4"]);
    assert_eq!(s.queries_without_positives, ["q3"]);
    assert_eq!(s.positives_missing_from_corpus, 1);
    assert_eq!(s.candidates_retrieved, 11);
    assert_eq!(s.removed.positives, 2);
    assert_eq!(s.removed.not_sampled, 2 + 1);
    assert_eq!(s.negatives_selected, 6);
    // d2 was not retrieved: its score came from score_documents.
    let q2 = &mined.queries[1];
    assert_eq!(
        q2.positives.iter().map(|d| d.score).collect::<Vec<_>>(),
        [Some(9.0), Some(3.0)]
    );
    assert_eq!(s.positives_without_score, 0);
    assert_eq!(s.positive_scores.count, 3);
    assert_eq!(s.negative_scores.count, 6);
}

#[test]
fn rank_range() {
    let f = Fixture::new();
    let config = MinerConfig {
        range_min: 1,
        range_max: 3,
        ..Default::default()
    };
    let mined = f.mine(&config);
    // q1 after removing d0: d3 d4 d5 d6 d7 → ranks 1, 2.
    assert_eq!(negatives(&mined, "q1"), ["d4", "d5"]);
    assert_eq!(mined.summary.queries_with_too_few_negatives, ["q1", "q2"]);
    assert!(mined.summary.removed.rank_range >= 3);
}

#[test]
fn max_and_min_score() {
    let f = Fixture::new();
    let config = MinerConfig {
        max_score: Some(7.5),
        num_negatives: 10,
        ..Default::default()
    };
    let mined = f.mine(&config);
    assert_eq!(negatives(&mined, "q1"), ["d4", "d5", "d6", "d7"]);
    assert_eq!(mined.summary.removed.max_score, 1 + 2);

    let config = MinerConfig {
        min_score: Some(5.5),
        num_negatives: 10,
        ..Default::default()
    };
    let mined = f.mine(&config);
    assert_eq!(negatives(&mined, "q1"), ["d3", "d4", "d5"]);
    assert_eq!(mined.summary.removed.min_score, 2 + 2);
}

#[test]
fn absolute_margin() {
    let f = Fixture::new();
    let config = MinerConfig {
        absolute_margin: Some(1.5),
        num_negatives: 10,
        ..Default::default()
    };
    let mined = f.mine(&config);
    // q1: positive 9 → drop scores above 7.5.
    assert_eq!(negatives(&mined, "q1"), ["d4", "d5", "d6", "d7"]);
    // q2: lowest positive 3 (d2, scored on request) → drop above 1.5.
    assert_eq!(negatives(&mined, "q2"), ["d6"]);
    assert_eq!(mined.summary.removed.absolute_margin, 1 + 3);
}

#[test]
fn relative_margin() {
    let f = Fixture::new();
    let config = MinerConfig {
        relative_margin: Some(0.2),
        num_negatives: 10,
        ..Default::default()
    };
    let mined = f.mine(&config);
    // q1: 9 × 0.8 = 7.2 → d3 (8) goes, d4 (7) stays.
    assert_eq!(negatives(&mined, "q1"), ["d4", "d5", "d6", "d7"]);
    // q2: 3 × 0.8 = 2.4.
    assert_eq!(negatives(&mined, "q2"), ["d5", "d6"]);
    assert_eq!(mined.summary.removed.relative_margin, 1 + 2);
}

#[test]
fn margins_are_skipped_and_reported_without_a_positive_score() {
    let mut f = Fixture::new();
    f.retriever.extra.clear();
    f.qrels = Qrels::new();
    f.qrels.insert("q2", "d2", 1); // d2 is never retrieved and cannot be scored
    let config = MinerConfig {
        absolute_margin: Some(0.0),
        ..Default::default()
    };
    let mined = f.mine(&config);
    assert_eq!(negatives(&mined, "q2"), ["d3", "d1", "d4"]);
    assert_eq!(mined.summary.positives_without_score, 1);
    assert_eq!(mined.summary.queries_without_margin_reference, 1);
}

#[test]
fn random_sampling_is_seeded_and_in_rank_order() {
    let f = Fixture::new();
    let config = MinerConfig {
        sampling: Sampling::Random,
        num_negatives: 2,
        ..Default::default()
    };
    let a = f.mine(&config);
    let b = f.mine(&config);
    assert_eq!(negatives(&a, "q1"), negatives(&b, "q1"));
    let eligible = ["d3", "d4", "d5", "d6", "d7"];
    let mut seen = std::collections::HashSet::new();
    for seed in 0..20 {
        let mined = f.mine(&MinerConfig {
            seed,
            ..config.clone()
        });
        let picked = negatives(&mined, "q1");
        assert_eq!(picked.len(), 2);
        let ranks: Vec<usize> = picked
            .iter()
            .map(|d| eligible.iter().position(|e| e == d).unwrap())
            .collect();
        assert!(ranks[0] < ranks[1], "kept in rank order");
        seen.insert(picked);
    }
    assert!(seen.len() > 3, "different seeds draw different negatives");
}

#[test]
fn rescorer_replaces_scores_and_reranks() {
    let f = Fixture::new();
    let config = MinerConfig {
        num_negatives: 2,
        ..Default::default()
    };
    let mined = mine_hard_negatives(
        f.data(),
        &f.retriever,
        Some(&NumberRescorer),
        &config,
        false,
    )
    .unwrap();
    // q1 candidates d3..d7 rescored 3..7 → best are d7, d6.
    assert_eq!(negatives(&mined, "q1"), ["d7", "d6"]);
    let q1 = &mined.queries[0];
    assert_eq!(q1.positives[0].score, Some(0.0));
    assert_eq!(q1.negatives[0].score, Some(7.0));
    assert_eq!(mined.summary.rescorer.as_deref(), Some("numbers"));
    assert!(mined
        .summary
        .to_string()
        .contains("fixed candidates rescored by numbers"));
}

#[test]
fn too_few_negatives_are_reported_and_n_tuples_skip_them() {
    let f = Fixture::new();
    let config = MinerConfig {
        num_negatives: 5,
        output: OutputFormat::NTuple,
        ..Default::default()
    };
    let mined = f.mine(&config);
    // q1 has 5 candidates besides its positive, q2 only 4.
    assert_eq!(mined.summary.queries_with_too_few_negatives, ["q2"]);
    let records = mined_records(&mined, f.data(), OutputFormat::NTuple);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["negative_5"], "doc 7");
    // Triplets keep what there is: q1 5, q2 2 positives × 4.
    assert_eq!(
        mined_records(&mined, f.data(), OutputFormat::Triplet).len(),
        5 + 8
    );
}

#[test]
fn every_output_format() {
    let f = Fixture::new();
    let config = MinerConfig {
        num_negatives: 2,
        ..Default::default()
    };
    let mined = f.mine(&config);
    let data = f.data();

    let triplets = mined_records(&mined, data, OutputFormat::Triplet);
    assert_eq!(triplets.len(), 2 + 4);
    assert_eq!(
        triplets[0],
        serde_json::json!({"query": "first", "positive": "doc 0", "negative": "doc 3"})
    );

    let tuples = mined_records(&mined, data, OutputFormat::NTupleScores);
    assert_eq!(tuples.len(), 1 + 2);
    assert_eq!(tuples[0]["negative_2"], "doc 4");
    assert_eq!(tuples[0]["score"], serde_json::json!([9.0, 8.0, 7.0]));

    let pairs = mined_records(&mined, data, OutputFormat::LabeledPair);
    assert_eq!(pairs.len(), 3 + 4);
    assert_eq!(pairs[0]["label"], 1);
    assert_eq!(
        pairs[1],
        serde_json::json!({"query": "first", "passage": "doc 3", "label": 0})
    );

    let lists = mined_records(&mined, data, OutputFormat::LabeledList);
    assert_eq!(lists.len(), 2);
    assert_eq!(
        lists[1]["passages"],
        serde_json::json!(["doc 1", "doc 2", "doc 3", "doc 4"])
    );
    assert_eq!(lists[1]["labels"], serde_json::json!([1, 1, 0, 0]));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flag.jsonl");
    let mined_flag = f.mine(&MinerConfig {
        output: OutputFormat::FlagEmbedding,
        ..config
    });
    assert_eq!(write_mined(&path, &mined_flag, data).unwrap(), 2);
    let examples = rankforge_data::read_flag_jsonl(&path, rankforge_data::ReadMode::Strict)
        .unwrap()
        .data;
    assert_eq!(examples[1].pos, ["doc 1", "doc 2"]);
    assert_eq!(examples[1].neg, ["doc 3", "doc 4"]);
    assert_eq!(examples[1].pos_scores, Some(vec![9.0, 3.0]));
    assert_eq!(examples[1].neg_scores, Some(vec![10.0, 8.0]));
}

#[test]
fn summary_table_and_statistics() {
    let f = Fixture::new();
    let mined = f.mine(&MinerConfig::default());
    let table = mined.summary.to_string();
    for needle in [
        "score",
        "positive",
        "negative",
        "difference",
        "mean",
        "median",
        "25%",
        "75%",
        "queries: 4 judged, 2 mined",
        "removed 2 positives",
    ] {
        assert!(table.contains(needle), "{needle} missing from\n{table}");
    }
    let stats = ScoreStats::of(&[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(
        (stats.min, stats.p25, stats.median, stats.p75, stats.max),
        (1.0, 1.75, 2.5, 3.25, 4.0)
    );
    assert!((stats.std - 1.25f64.sqrt()).abs() < 1e-12);
}

#[test]
fn config_validation_and_toml() {
    let config: MinerConfig = toml::from_str(
        "range_min = 10\nrange_max = 50\nnum_negatives = 5\nrelative_margin = 0.05\nsampling = \"random\"\noutput = \"flag_embedding\"",
    )
    .unwrap();
    assert_eq!(config.sampling, Sampling::Random);
    assert_eq!(config.output, OutputFormat::FlagEmbedding);
    assert_eq!(config.seed, 42);
    assert!(toml::from_str::<MinerConfig>("margin = 0.1").is_err());
    let f = Fixture::new();
    for bad in [
        MinerConfig {
            range_min: 5,
            range_max: 5,
            ..Default::default()
        },
        MinerConfig {
            num_negatives: 0,
            ..Default::default()
        },
        MinerConfig {
            min_score: Some(2.0),
            max_score: Some(1.0),
            ..Default::default()
        },
        MinerConfig {
            absolute_margin: Some(f64::NAN),
            ..Default::default()
        },
    ] {
        assert!(mine_hard_negatives(f.data(), &f.retriever, None, &bad, false).is_err());
    }
}

#[test]
#[cfg_attr(
    not(shared_data_scifact),
    ignore = "needs ../shared/data/scifact (see DATA.md there)"
)]
fn bm25_mines_scifact_train() {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/scifact"
    ));
    assert!(
        dir.exists(),
        "SciFact not found at {} (see DATA.md in ../shared/data)",
        dir.display()
    );
    let data = rankforge_data::BeirDataset::load(dir, "train", rankforge_data::ReadMode::Strict)
        .unwrap()
        .data;
    let index = Bm25Index::build(data.corpus.documents(), &Bm25Config::default(), false).unwrap();
    let config = MinerConfig {
        range_min: 2,
        range_max: 30,
        num_negatives: 4,
        relative_margin: Some(0.05),
        ..Default::default()
    };
    let mining_data = MiningData {
        corpus: &data.corpus,
        queries: &data.queries,
        qrels: &data.qrels,
    };
    let mined = mine_hard_negatives(mining_data, &index, None, &config, false).unwrap();
    println!("{}", mined.summary);
    let s = &mined.summary;
    assert_eq!(s.queries_judged, 809);
    // Queries whose positive shares no term with them (BM25 score 0) get no negative under
    // a relative margin; the rest are mined.
    assert!(s.queries_mined > 600, "{}", s.queries_mined);
    assert_eq!(
        s.positives_without_score, 0,
        "BM25 scores unretrieved positives"
    );
    assert!(s.positive_scores.mean > s.negative_scores.mean * 0.9);
    for q in &mined.queries {
        let min_positive = q
            .positives
            .iter()
            .filter_map(|d| d.score)
            .fold(f64::INFINITY, f64::min);
        for n in &q.negatives {
            assert!(
                n.score.unwrap() <= min_positive * 0.95 + 1e-9,
                "relative margin holds"
            );
            assert!(q.positives.iter().all(|p| p.doc_id != n.doc_id));
        }
    }
    // score_documents agrees with search for a retrieved document.
    let (qid, text) = ("1", data.queries.get("1").unwrap().text.as_str());
    let hits = index.search(text, 3);
    let ids: Vec<&str> = hits.iter().map(|h| index.doc_id(h.doc)).collect();
    let scored = index.score_documents(text, &ids).unwrap();
    for (h, s) in hits.iter().zip(scored) {
        assert!((h.score as f64 - s.unwrap()).abs() < 1e-5, "query {qid}");
    }
}
