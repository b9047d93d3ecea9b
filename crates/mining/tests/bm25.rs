//! BM25 index and search: every variant against a brute-force formula and against bm25s's
//! scores (`tests/fixtures/bm25_variants.json` from `scripts/reference/bm25_variants.py`), tie
//! order, the dense and sparse accumulation paths, thread invariance, CJK retrieval,
//! persistence and its corruption checks.

use std::collections::HashMap;
use std::path::Path;

use rankforge_mining::*;
use serde_json::Value;

/// Every variant the crate ships (the exhaustive match in [`textbook_idf`] breaks the build
/// when one is added, as a reminder to list it here and in the bm25s fixture).
const VARIANTS: [Bm25Variant; 5] = [
    Bm25Variant::Lucene,
    Bm25Variant::Robertson,
    Bm25Variant::Atire,
    Bm25Variant::Bm25L,
    Bm25Variant::Bm25Plus,
];

fn corpus() -> Vec<(String, String)> {
    let texts = [
        "The quick brown fox jumps over the lazy dog",
        "A quick brown dog outpaces a quick red fox",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit",
        "Foxes are small omnivorous mammals; the red fox is the largest",
        "Dogs were domesticated from wolves; dogs and wolves interbreed",
        "quick quick quick quick quick",
        "Brown bears and brown dogs",
        "An unrelated sentence about databases and indexes",
    ];
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("doc{i}"), t.to_string()))
        .collect()
}

/// The idf of a term held by `df` of `n` documents, written out from Kamphuis et al. (ECIR
/// 2020) / bm25s, independently of [`Bm25Config::idf`].
fn textbook_idf(variant: Bm25Variant, df: f64, n: f64) -> f64 {
    match variant {
        Bm25Variant::Lucene => (1.0 + (n - df + 0.5) / (df + 0.5)).ln(),
        // bm25s's default (allow_negative=False): the ratio is raised to 1, so idf ≥ 0.
        Bm25Variant::Robertson => {
            let ratio = (n - df + 0.5) / (df + 0.5);
            if ratio < 1.0 {
                0.0
            } else {
                ratio.ln()
            }
        }
        Bm25Variant::Atire => (n / df).ln(),
        Bm25Variant::Bm25L => ((n + 1.0) / (df + 0.5)).ln(),
        Bm25Variant::Bm25Plus => ((n + 1.0) / df).ln(),
    }
}

/// Scores every document by the textbook formula, in f64, idf included.
fn brute_force(
    docs: &[(String, String)],
    config: &Bm25Config,
    query: &str,
) -> HashMap<String, f64> {
    let analyzer = Analyzer::new(config.analyzer.clone()).unwrap();
    let tokens: Vec<Vec<String>> = docs.iter().map(|(_, t)| analyzer.tokens(t)).collect();
    let n = docs.len() as f64;
    let avg = tokens.iter().map(Vec::len).sum::<usize>() as f64 / n;
    let (k1, b, delta) = (config.k1 as f64, config.b as f64, config.delta as f64);
    let mut scores = HashMap::new();
    let query_tokens: Vec<String> = analyzer
        .tokens(query)
        .into_iter()
        .filter(|t| tokens.iter().any(|d| d.contains(t)))
        .collect();
    for (i, doc) in tokens.iter().enumerate() {
        let l = 1.0 - b + b * doc.len() as f64 / avg;
        let mut score = 0.0;
        let mut matched = false;
        for term in &query_tokens {
            let df = tokens.iter().filter(|d| d.contains(term)).count() as f64;
            let tf = doc.iter().filter(|t| *t == term).count() as f64;
            let idf = textbook_idf(config.variant, df, n);
            if idf <= 0.0 {
                continue;
            }
            matched |= tf > 0.0;
            score += idf
                * match config.variant {
                    Bm25Variant::Lucene | Bm25Variant::Robertson => tf / (tf + k1 * l),
                    Bm25Variant::Atire => (k1 + 1.0) * tf / (tf + k1 * l),
                    Bm25Variant::Bm25L => {
                        let c = tf / l;
                        (k1 + 1.0) * (c + delta) / (k1 + c + delta)
                    }
                    Bm25Variant::Bm25Plus => (k1 + 1.0) * tf / (k1 * l + tf) + delta,
                };
        }
        if matched && score > 0.0 {
            scores.insert(docs[i].0.clone(), score);
        }
    }
    scores
}

#[test]
fn every_variant_matches_the_formula() {
    let docs = corpus();
    let queries = [
        "quick brown fox",
        "dogs wolves",
        "red fox fox",
        "databases",
        "quick",
    ];
    for variant in VARIANTS {
        for (k1, b) in [(0.9, 0.4), (1.2, 0.75), (2.0, 1.0), (0.5, 0.0)] {
            let config = Bm25Config {
                variant,
                k1,
                b,
                ..Default::default()
            };
            let index = Bm25Index::build(&docs, &config, false).unwrap();
            for query in queries {
                let expected = brute_force(&docs, &config, query);
                let hits = index.search(query, 100);
                assert_eq!(hits.len(), expected.len(), "{variant:?} {query}");
                for hit in &hits {
                    let want = expected[index.doc_id(hit.doc)];
                    assert!(
                        (hit.score as f64 - want).abs() < 1e-4 * want.abs().max(1.0),
                        "{variant:?} k1={k1} b={b} {query}: {} vs {want}",
                        hit.score
                    );
                    let single = index.score_document(query, hit.doc);
                    assert!((single - hit.score).abs() < 1e-5);
                }
                assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
            }
        }
    }
}

/// Reads space-joined tokens back unchanged: no stop words, no stemming.
fn verbatim_analyzer() -> AnalyzerConfig {
    AnalyzerConfig {
        stopwords: StopWords::Builtin(StopWordList::None),
        stemmer: StemmerLanguage::None,
        ..Default::default()
    }
}

fn strings(value: &Value) -> Vec<&str> {
    let array = value.as_array().expect("an array");
    array
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

/// Whether our score is bm25s's up to f32 noise: 1e-4 relative, plus 1e-5 absolute for
/// scores near 0 (bm25s sums float32 parts, we sum f32 parts in another order).
fn close_to_bm25s(ours: f64, bm25s: f64) -> bool {
    (ours - bm25s).abs() <= 1e-4 * bm25s.abs() + 1e-5
}

#[test]
fn every_variant_matches_bm25s() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bm25_variants.json");
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    // Index bm25s's tokens (analysed by bm25s.tokenize in the script), so that this checks
    // scoring alone.
    let analyzer = Analyzer::new(verbatim_analyzer()).unwrap();
    let entries = |key: &str| -> Vec<(String, String)> {
        let rows = fixture[key].as_array().unwrap().iter().map(|entry| {
            let tokens = strings(&entry["tokens"]);
            let text = tokens.join(" ");
            assert_eq!(analyzer.tokens(&text), tokens, "{key} {}", entry["id"]);
            (entry["id"].as_str().unwrap().to_string(), text)
        });
        rows.collect()
    };
    let docs = entries("documents");
    let queries = entries("queries");

    let mut variants = Vec::new();
    let (mut matched, mut unmatched) = (0, 0);
    for case in fixture["cases"].as_array().unwrap() {
        let config = Bm25Config {
            variant: serde_json::from_value(case["variant"].clone()).unwrap(),
            k1: case["k1"].as_f64().unwrap() as f32,
            b: case["b"].as_f64().unwrap() as f32,
            delta: case["delta"].as_f64().unwrap() as f32,
            analyzer: verbatim_analyzer(),
        };
        let label = format!(
            "{:?} k1={} b={} delta={}",
            config.variant, config.k1, config.b, config.delta
        );
        if !variants.contains(&config.variant) {
            variants.push(config.variant);
        }
        let index = Bm25Index::build(&docs, &config, false).unwrap();
        for (qid, query) in &queries {
            let bm25s: Vec<f64> = case["scores"][qid]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_f64().unwrap())
                .collect();
            assert_eq!(bm25s.len(), docs.len(), "{label} {qid}");
            // What bm25s gives a document holding no query term (BM25L / BM25+ add the
            // tf = 0 part of every query term to every document); we do not return those.
            let no_match = case["no_match_score"][qid].as_f64().unwrap();
            let hits: HashMap<&str, f64> = index
                .search(query, docs.len())
                .iter()
                .map(|h| (index.doc_id(h.doc), h.score as f64))
                .collect();
            let formula = brute_force(&docs, &config, query);
            for ((id, _), &want) in docs.iter().zip(&bm25s) {
                let ours = hits.get(id.as_str()).copied();
                match ours {
                    Some(_) => matched += 1,
                    None => unmatched += 1,
                }
                let ours = ours.unwrap_or(no_match);
                assert!(
                    close_to_bm25s(ours, want),
                    "{label} {qid} {id}: index {ours} vs bm25s {want}"
                );
                let textbook = formula.get(id).copied().unwrap_or(no_match);
                assert!(
                    close_to_bm25s(textbook, want),
                    "{label} {qid} {id}: formula {textbook} vs bm25s {want}"
                );
            }
        }
    }
    assert_eq!(
        variants, VARIANTS,
        "the fixture covers every variant, in order"
    );
    assert!(matched > 100 && unmatched > 100, "{matched} {unmatched}");
}

#[test]
fn ties_come_out_by_descending_id_and_cut_deterministically() {
    let docs: Vec<(String, String)> = ["b", "a", "d", "c", "e"]
        .iter()
        .map(|id| (id.to_string(), "same text here".to_string()))
        .collect();
    let index = Bm25Index::build(&docs, &Bm25Config::default(), false).unwrap();
    let ids = |k| -> Vec<String> {
        index
            .search("text", k)
            .iter()
            .map(|h| index.doc_id(h.doc).to_string())
            .collect()
    };
    assert_eq!(ids(10), ["e", "d", "c", "b", "a"]);
    assert_eq!(ids(2), ["e", "d"]);
    // The run agrees with trec_eval's order.
    let run = index.search_run(&[("q", "text")], 3, false);
    let mut sorted = run.get("q").unwrap().to_vec();
    rankforge_data::sort_trec(&mut sorted);
    assert_eq!(sorted, run.get("q").unwrap());
}

#[test]
fn dense_and_sparse_paths_agree() {
    // 200 documents; "common" is in all of them (dense path), "rare" in three (sparse path).
    let docs: Vec<(String, String)> = (0..200)
        .map(|i| {
            let extra = if i % 70 == 0 { " rare" } else { "" };
            (
                format!("d{i:03}"),
                format!("common word{} filler{}{extra}", i % 7, i % 3),
            )
        })
        .collect();
    let index = Bm25Index::build(&docs, &Bm25Config::default(), false).unwrap();
    for query in ["common", "rare", "common rare word3", "word1 filler2"] {
        let expected = brute_force(&docs, &Bm25Config::default(), query);
        for k in [1, 5, 50, 500] {
            let hits = index.search(query, k);
            assert_eq!(hits.len(), expected.len().min(k), "{query} k={k}");
            let mut want: Vec<(&String, &f64)> = expected.iter().collect();
            want.sort_by(|a, b| b.1.total_cmp(a.1).then(b.0.cmp(a.0)));
            for (hit, (id, score)) in hits.iter().zip(want) {
                assert!((hit.score as f64 - score).abs() < 1e-4);
                if (hit.score as f64 - score).abs() < 1e-7 {
                    assert_eq!(index.doc_id(hit.doc), id.as_str(), "{query} k={k}");
                }
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_threads() {
    let docs: Vec<(String, String)> = (0..3000)
        .map(|i| {
            (
                format!("d{i}"),
                format!("alpha{} beta{} gamma{} delta", i % 13, i % 17, i % 5),
            )
        })
        .collect();
    let index = Bm25Index::build(&docs, &Bm25Config::default(), false).unwrap();
    let queries: Vec<String> = (0..100)
        .map(|i| format!("alpha{} beta{} delta", i % 13, i % 11))
        .collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let one = single.install(|| index.search_batch(&queries, 10));
    let many = index.search_batch(&queries, 10);
    assert_eq!(one, many);
    // An index built on one thread is the same index.
    let rebuilt =
        single.install(|| Bm25Index::build(&docs, &Bm25Config::default(), false).unwrap());
    assert_eq!(rebuilt.search_batch(&queries, 10), many);
}

#[test]
fn empty_queries_and_edge_cases() {
    let index = Bm25Index::build(&corpus(), &Bm25Config::default(), false).unwrap();
    assert!(index.search("", 10).is_empty());
    assert!(index.search("the and of", 10).is_empty(), "stop words only");
    assert!(index.search("zzzunknown", 10).is_empty());
    assert!(index.search("fox", 0).is_empty());
    assert_eq!(index.search("fox", 100).len(), 3);
    assert_eq!(index.doc_frequency("fox"), 3);
    assert_eq!(
        index.internal_doc("doc3").map(|d| index.doc_id(d)),
        Some("doc3")
    );
    assert_eq!(index.internal_doc("nope"), None);
    // Repeating a query term counts it twice.
    let once = index.search("fox", 1)[0].score;
    let twice = index.search("fox fox", 1)[0].score;
    assert!((twice - 2.0 * once).abs() < 1e-5);

    let empty: Vec<(String, String)> = Vec::new();
    let index = Bm25Index::build(&empty, &Bm25Config::default(), false).unwrap();
    assert!(index.search("anything", 5).is_empty());
}

#[test]
fn build_rejects_duplicates_and_bad_settings() {
    let docs = vec![
        ("a".to_string(), "x y".to_string()),
        ("a".to_string(), "z".to_string()),
    ];
    let err = Bm25Index::build(&docs, &Bm25Config::default(), false).unwrap_err();
    assert!(
        err.to_string().contains("duplicate document id `a`"),
        "{err}"
    );
    for bad in [
        Bm25Config {
            b: 1.5,
            ..Default::default()
        },
        Bm25Config {
            k1: -1.0,
            ..Default::default()
        },
        Bm25Config {
            delta: f32::NAN,
            ..Default::default()
        },
    ] {
        assert!(Bm25Index::build(&corpus(), &bad, false).is_err());
    }
    let config: Bm25Config =
        toml::from_str("k1 = 1.2\nvariant = \"bm25plus\"\n[analyzer]\nstemmer = \"none\"").unwrap();
    assert_eq!(config.variant, Bm25Variant::Bm25Plus);
    assert_eq!(config.analyzer.stemmer, StemmerLanguage::None);
    assert!(toml::from_str::<Bm25Config>("k = 1.2").is_err());
}

#[test]
fn cjk_documents_are_retrievable() {
    let docs = vec![
        ("zh".to_string(), "北京大学是中国的一所大学".to_string()),
        ("ja".to_string(), "東京でラーメンを食べました".to_string()),
        ("ko".to_string(), "서울은 한국의 수도입니다".to_string()),
        ("en".to_string(), "Peking University in Beijing".to_string()),
    ];
    let index = Bm25Index::build(&docs, &Bm25Config::default(), false).unwrap();
    let top = |q: &str| {
        index
            .search(q, 1)
            .first()
            .map(|h| index.doc_id(h.doc).to_string())
    };
    assert_eq!(top("大学").as_deref(), Some("zh"));
    assert_eq!(top("ラーメン").as_deref(), Some("ja"));
    assert_eq!(top("한국").as_deref(), Some("ko"));
    assert_eq!(top("beijing").as_deref(), Some("en"));
}

#[test]
fn save_load_round_trip_and_corruption() {
    let config = Bm25Config {
        variant: Bm25Variant::Bm25L,
        k1: 1.1,
        ..Default::default()
    };
    let index = Bm25Index::build(&corpus(), &config, false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.bm25");
    index.save(&path).unwrap();
    let loaded = Bm25Index::load(&path).unwrap();
    assert_eq!(loaded.config(), index.config());
    for query in ["quick brown fox", "dogs", "databases"] {
        assert_eq!(loaded.search(query, 10), index.search(query, 10));
    }

    let bytes = std::fs::read(&path).unwrap();
    let load = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        Bm25Index::load(&p).unwrap_err().to_string()
    };
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    let err = load("flipped", &flipped);
    assert!(
        err.contains("checksum") || err.contains("not a valid"),
        "{err}"
    );
    assert!(load("truncated", &bytes[..bytes.len() - 9]).contains("ends"));
    assert!(load("magic", b"NOTANINDEX").contains("magic"));
    let mut version = bytes.clone();
    version[8] = 99;
    assert!(load("version", &version).contains("version 99"));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(load("trailing", &trailing).contains("trailing"));
    assert!(Bm25Index::load(dir.path().join("absent")).is_err());
}

#[test]
fn retriever_trait_and_retrieve_command() {
    let docs = corpus();
    let index = Bm25Index::build(&docs, &Bm25Config::default(), false).unwrap();
    let retriever: &dyn CandidateRetriever = &index;
    let run = retriever
        .retrieve(&[("q1", "red fox"), ("q2", "nothing matches zzz")], 2)
        .unwrap();
    assert_eq!(run.get("q1").unwrap().len(), 2);
    assert_eq!(run.get("q2").unwrap().len(), 0);
    let scores = retriever
        .score_documents("red fox", &["doc1", "doc2", "missing"])
        .unwrap();
    assert!(scores[0].unwrap() > 0.0);
    assert_eq!(scores[1], Some(0.0));
    assert_eq!(scores[2], None);

    let mut corpus = rankforge_data::Corpus::new();
    for (id, text) in &docs {
        corpus
            .push(rankforge_data::Document::new(id, "", text))
            .unwrap();
    }
    let mut queries = rankforge_data::Queries::new();
    queries
        .push(rankforge_data::Query::new("q1", "red fox"))
        .unwrap();
    let config: Bm25RetrieveConfig = toml::from_str("top_k = 2\n[bm25]\nk1 = 1.2").unwrap();
    let run = bm25_retrieve(&corpus, &queries, &config, false).unwrap();
    assert_eq!(run.get("q1").unwrap().len(), 2);
}
