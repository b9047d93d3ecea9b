//! Every reader on good input, and every error path: malformed line, missing field, wrong type,
//! duplicate id, unknown id, non-UTF-8 — each naming file, 1-based line and field — plus the
//! skip-and-report mode.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rankforge_data::*;

struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Scratch(tempfile::tempdir().unwrap())
    }
    fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

/// Asserts a parse error at `line` naming `field`, whose message contains `needle`.
fn assert_parse_error(
    error: &DataError,
    path: &Path,
    line: usize,
    field: Option<&str>,
    needle: &str,
) {
    match error {
        DataError::Parse {
            path: p,
            line: l,
            field: f,
            message,
        } => {
            assert_eq!(p, path, "{error}");
            assert_eq!(*l, line, "{error}");
            assert_eq!(f.as_deref(), field, "{error}");
            assert!(message.contains(needle), "`{message}` lacks `{needle}`");
        }
        other => panic!("expected a parse error, got {other}"),
    }
}

fn jsonl() -> TableOptions {
    TableOptions::default()
}

fn skip_jsonl() -> TableOptions {
    TableOptions {
        mode: ReadMode::Skip,
        ..TableOptions::default()
    }
}

#[test]
fn corpus_jsonl_good_input() {
    let s = Scratch::new();
    let path = s.file(
        "corpus.jsonl",
        "\u{feff}{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"one\", \"metadata\": {}}\r\n\n{\"_id\": 7, \"text\": \"two\"}\n{\"_id\": \"d3\", \"title\": null, \"text\": \"three\"}\n",
    );
    let loaded = Corpus::read(&path, &jsonl(), &CorpusColumns::default()).unwrap();
    assert!(loaded.is_clean());
    let corpus = loaded.data;
    assert_eq!(corpus.len(), 3);
    assert_eq!(corpus.get("d1").unwrap().full_text(), "T one");
    assert_eq!(corpus.get("7").unwrap().title, "");
    assert_eq!(corpus.get("d3").unwrap().full_text(), "three");
    assert_eq!(corpus.position("d3"), Some(2));

    let out = s.0.path().join("out/corpus.jsonl");
    corpus.write_beir(&out).unwrap();
    assert_eq!(Corpus::read_beir(&out).unwrap(), corpus);
}

#[test]
fn corpus_malformed_json_names_the_line() {
    let s = Scratch::new();
    let path = s.file(
        "c.jsonl",
        "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"text\": \n",
    );
    let err = Corpus::read_beir(&path).unwrap_err();
    assert_parse_error(&err, &path, 2, None, "malformed JSON");
    assert!(err
        .to_string()
        .starts_with(&format!("{}:2: malformed JSON", path.display())));

    let path = s.file("c2.jsonl", "[1, 2]\n");
    assert_parse_error(
        &Corpus::read_beir(&path).unwrap_err(),
        &path,
        1,
        None,
        "expected a JSON object",
    );
}

#[test]
fn corpus_missing_field() {
    let s = Scratch::new();
    let path = s.file(
        "c.jsonl",
        "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"title\": \"t\"}\n",
    );
    let err = Corpus::read_beir(&path).unwrap_err();
    assert_parse_error(&err, &path, 2, Some("text"), "missing");
    assert_eq!(
        err.to_string(),
        format!("{}:2: field `text`: missing", path.display())
    );

    let path = s.file("c2.jsonl", "{\"text\": \"x\"}\n");
    assert_parse_error(
        &Corpus::read_beir(&path).unwrap_err(),
        &path,
        1,
        Some("_id"),
        "missing",
    );
}

#[test]
fn corpus_wrong_types() {
    let s = Scratch::new();
    let cases = [
        (
            "{\"_id\": \"a\", \"text\": 5}",
            "text",
            "expected a string, found a number",
        ),
        (
            "{\"_id\": \"a\", \"title\": [\"t\"], \"text\": \"x\"}",
            "title",
            "found a list",
        ),
        (
            "{\"_id\": {\"x\": 1}, \"text\": \"x\"}",
            "_id",
            "expected a string or integer id, found an object",
        ),
        ("{\"_id\": 1.5, \"text\": \"x\"}", "_id", "found a number"),
        (
            "{\"_id\": \"\", \"text\": \"x\"}",
            "_id",
            "empty identifier",
        ),
    ];
    for (i, (line, field, needle)) in cases.iter().enumerate() {
        let path = s.file(&format!("c{i}.jsonl"), format!("{line}\n"));
        assert_parse_error(
            &Corpus::read_beir(&path).unwrap_err(),
            &path,
            1,
            Some(field),
            needle,
        );
    }
}

#[test]
fn corpus_duplicate_id() {
    let s = Scratch::new();
    let path = s.file(
        "c.jsonl",
        "{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"text\": \"y\"}\n{\"_id\": \"a\", \"text\": \"z\"}\n",
    );
    let err = Corpus::read_beir(&path).unwrap_err();
    assert_parse_error(&err, &path, 3, Some("_id"), "duplicate document id `a`");
}

#[test]
fn non_utf8_is_a_parse_error_at_its_line() {
    let s = Scratch::new();
    let mut bytes = b"{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"text\": \"".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\"}\n");
    let path = s.file("c.jsonl", &bytes);
    assert_parse_error(
        &Corpus::read_beir(&path).unwrap_err(),
        &path,
        2,
        None,
        "invalid UTF-8 at byte 23",
    );

    let path = s.file("c.tsv", b"a\tok\nb\t\xc3\x28\n");
    let err = Corpus::read_msmarco(&path, ReadMode::Strict).unwrap_err();
    assert_parse_error(&err, &path, 2, None, "invalid UTF-8");

    let path = s.file("c.csv", b"_id,text\na,ok\nb,\xff\n");
    let err = Corpus::read(&path, &jsonl(), &CorpusColumns::default()).unwrap_err();
    assert_parse_error(&err, &path, 3, None, "invalid UTF-8 in column 2");

    let path = s.file("q.tsv", b"query-id\tcorpus-id\tscore\nq\xff\td\t1\n");
    assert_parse_error(
        &Qrels::read(&path).unwrap_err(),
        &path,
        2,
        None,
        "invalid UTF-8",
    );
}

#[test]
fn skip_mode_keeps_good_records_and_reports_the_rest() {
    let s = Scratch::new();
    let path = s.file(
        "c.jsonl",
        [
            "{\"_id\": \"a\", \"text\": \"x\"}",
            "not json",
            "{\"_id\": \"b\"}",
            "{\"_id\": \"c\", \"text\": 3}",
            "{\"_id\": \"a\", \"text\": \"again\"}",
            "{\"_id\": \"d\", \"text\": \"y\"}",
        ]
        .join("\n"),
    );
    let loaded = Corpus::read(&path, &skip_jsonl(), &CorpusColumns::default()).unwrap();
    let ids: Vec<&str> = loaded.data.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["a", "d"]);
    assert_eq!(
        loaded.data.get("a").unwrap().text,
        "x",
        "the first of a duplicate is kept"
    );
    let lines: Vec<usize> = loaded
        .skipped
        .iter()
        .map(|e| match e {
            DataError::Parse { line, .. } => *line,
            _ => 0,
        })
        .collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    let report = loaded.skip_report().to_string();
    assert!(report.starts_with("skipped 4 record(s):"), "{report}");
    assert!(report.contains(":3: field `text`: missing"), "{report}");
    assert!(report.contains(":5: field `_id`: duplicate"), "{report}");
}

#[test]
fn queries_readers_and_errors() {
    let s = Scratch::new();
    let path = s.file("q.jsonl", "{\"_id\": \"1\", \"text\": \"hello\", \"metadata\": {}}\n{\"_id\": \"2\", \"text\": \"bye\"}\n");
    let queries = Queries::read_beir(&path).unwrap();
    assert_eq!(queries.pairs(), [("1", "hello"), ("2", "bye")]);
    let out = s.0.path().join("q_out.jsonl");
    queries.write_beir(&out).unwrap();
    assert_eq!(Queries::read_beir(&out).unwrap(), queries);

    let path = s.file(
        "dup.jsonl",
        "{\"_id\": \"1\", \"text\": \"a\"}\n{\"_id\": \"1\", \"text\": \"b\"}\n",
    );
    assert_parse_error(
        &Queries::read_beir(&path).unwrap_err(),
        &path,
        2,
        Some("_id"),
        "duplicate query id `1`",
    );
    let path = s.file("missing.jsonl", "{\"_id\": \"1\"}\n");
    assert_parse_error(
        &Queries::read_beir(&path).unwrap_err(),
        &path,
        1,
        Some("text"),
        "missing",
    );
    let path = s.file("wrong.jsonl", "{\"_id\": \"1\", \"text\": true}\n");
    assert_parse_error(
        &Queries::read_beir(&path).unwrap_err(),
        &path,
        1,
        Some("text"),
        "found a boolean",
    );

    // MS MARCO queries.tsv: id<TAB>text, no header.
    let path = s.file("queries.tsv", "1\twhat is rust\n2\twho\n");
    let queries = Queries::read_msmarco(&path, ReadMode::Strict).unwrap().data;
    assert_eq!(queries.get("1").unwrap().text, "what is rust");
    let out = s.0.path().join("queries_out.tsv");
    queries.write_msmarco(&out).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "1\twhat is rust\n2\twho\n"
    );
}

#[test]
fn msmarco_collection_and_missing_column() {
    let s = Scratch::new();
    let path = s.file(
        "collection.tsv",
        "0\tThe \"quoted\" text, with commas\n1\tsecond\n",
    );
    let corpus = Corpus::read_msmarco(&path, ReadMode::Strict).unwrap().data;
    assert_eq!(
        corpus.get("0").unwrap().text,
        "The \"quoted\" text, with commas"
    );
    let out = s.0.path().join("out.tsv");
    corpus.write_msmarco(&out).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );

    let path = s.file("short.tsv", "0\tok\n1\n");
    let err = Corpus::read_msmarco(&path, ReadMode::Strict).unwrap_err();
    assert_parse_error(&err, &path, 2, Some("1"), "the row has 1 column(s)");
    let loaded = Corpus::read_msmarco(&path, ReadMode::Skip).unwrap();
    assert_eq!(loaded.data.len(), 1);
    assert_eq!(loaded.skipped.len(), 1);
}

#[test]
fn tsv_writer_refuses_fields_it_cannot_write() {
    let s = Scratch::new();
    let mut corpus = Corpus::new();
    corpus.push(Document::new("a", "", "fine")).unwrap();
    corpus.push(Document::new("b", "", "has\ta tab")).unwrap();
    let out = s.0.path().join("c.tsv");
    let err = corpus.write_msmarco(&out).unwrap_err();
    assert_parse_error(&err, &out, 2, Some("2"), "cannot be written as tsv");
    assert!(corpus.push(Document::new("a", "", "dup")).is_err());
}

#[test]
fn msmarco_triples_round_trip_and_errors() {
    let s = Scratch::new();
    let path = s.file(
        "triples.tsv",
        "q1\tpos one\tneg one\nq2\tpos two\tneg two\n",
    );
    let triples = read_msmarco_triples(&path, ReadMode::Strict).unwrap().data;
    assert_eq!(
        triples[1],
        Triple {
            query: "q2".into(),
            positive: "pos two".into(),
            negative: "neg two".into()
        }
    );
    let out = s.0.path().join("t.tsv");
    write_msmarco_triples(&out, &triples).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );

    let path = s.file("bad.tsv", "q1\tpos\tneg\nq2\tpos only\n");
    assert_parse_error(
        &read_msmarco_triples(&path, ReadMode::Strict).unwrap_err(),
        &path,
        2,
        Some("2"),
        "missing",
    );
}

#[test]
fn generic_csv_and_jsonl_with_named_columns() {
    let s = Scratch::new();
    let path = s.file(
        "docs.csv",
        "doc,heading,body\nd1,\"Title, with comma\",\"Body \"\"quoted\"\"\"\nd2,,plain\n",
    );
    let columns = CorpusColumns {
        id: "doc".into(),
        title: Some("heading".into()),
        text: "body".into(),
    };
    let corpus = Corpus::read(&path, &TableOptions::default(), &columns)
        .unwrap()
        .data;
    assert_eq!(
        corpus.get("d1").unwrap().full_text(),
        "Title, with comma Body \"quoted\""
    );
    assert_eq!(corpus.get("d2").unwrap().full_text(), "plain");

    // Written back with write_csv (quoting as needed), read again.
    let out = s.0.path().join("written.csv");
    write_csv(
        &out,
        Some(&["doc", "heading", "body"]),
        corpus
            .iter()
            .map(|d| [d.id.as_str(), d.title.as_str(), d.text.as_str()]),
    )
    .unwrap();
    assert_eq!(
        Corpus::read(&out, &TableOptions::default(), &columns)
            .unwrap()
            .data,
        corpus
    );

    // A required column absent from the header: an error at line 1 naming it, in any mode.
    let bad = CorpusColumns {
        text: "content".into(),
        ..columns.clone()
    };
    let options = TableOptions {
        mode: ReadMode::Skip,
        ..TableOptions::default()
    };
    let err = Corpus::read(&path, &options, &bad).unwrap_err();
    assert_parse_error(
        &err,
        &path,
        1,
        Some("content"),
        "column not found in the header (columns: doc, heading, body)",
    );

    // Headerless files refer to columns by position.
    let path = s.file("noheader.csv", "x,y\n");
    let options = TableOptions {
        header: false,
        ..TableOptions::default()
    };
    let err = Corpus::read(&path, &options, &CorpusColumns::default()).unwrap_err();
    assert_parse_error(&err, &path, 0, Some("_id"), "0-based position");

    // Labeled pairs from tsv with a header and from jsonl; a non-number label is an error.
    let path = s.file("pairs.tsv", "query\tdocument\tlabel\nq\td\t1\nq\te\tzero\n");
    let err =
        read_labeled_pairs(&path, &TableOptions::default(), &PairColumns::default()).unwrap_err();
    assert_parse_error(&err, &path, 3, Some("label"), "`zero` is not a number");
    let path = s.file("pairs.jsonl", "{\"query\": \"q\", \"document\": \"d\", \"label\": 0.5}\n{\"query\": \"q\", \"document\": \"d\", \"label\": \"1\"}\n");
    let err =
        read_labeled_pairs(&path, &TableOptions::default(), &PairColumns::default()).unwrap_err();
    assert_parse_error(
        &err,
        &path,
        2,
        Some("label"),
        "expected a number, found a string",
    );

    // Triples from jsonl with renamed columns.
    let path = s.file(
        "t.jsonl",
        "{\"anchor\": \"q\", \"pos\": \"p\", \"negative\": \"n\"}\n",
    );
    let columns = TripleColumns {
        query: "anchor".into(),
        positive: "pos".into(),
        ..Default::default()
    };
    assert_eq!(
        read_triples(&path, &TableOptions::default(), &columns)
            .unwrap()
            .data
            .len(),
        1
    );

    // Unknown extension without an explicit format.
    let path = s.file("data.bin", "");
    assert!(Corpus::read(&path, &TableOptions::default(), &CorpusColumns::default()).is_err());
}

#[test]
fn table_options_from_toml_rejects_unknown_keys() {
    let options: TableOptions =
        serde_json::from_str(r#"{"format": "tsv", "header": false, "mode": "skip"}"#).unwrap();
    assert_eq!(options, TableOptions::headerless_tsv(ReadMode::Skip));
    assert!(serde_json::from_str::<TableOptions>(r#"{"fromat": "tsv"}"#).is_err());
    assert!(serde_json::from_str::<CorpusColumns>(r#"{"idd": "x"}"#).is_err());
    let columns: CorpusColumns = serde_json::from_str(r#"{"id": "docid"}"#).unwrap();
    assert_eq!(columns.text, "text");
}

#[test]
fn qrels_checked_against_corpus_and_queries() {
    let s = Scratch::new();
    let mut corpus = Corpus::new();
    corpus.push(Document::new("d1", "", "x")).unwrap();
    corpus.push(Document::new("d2", "", "y")).unwrap();
    let mut queries = Queries::new();
    queries.push(Query::new("q1", "a")).unwrap();
    let check = QrelsCheck {
        queries: Some(&queries),
        corpus: Some(&corpus),
    };

    let path = s.file(
        "qrels.tsv",
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td9\t1\nq7\td2\t1\nq1\td2\t0\n",
    );
    let err = Qrels::read_checked(&path, ReadMode::Strict, &check).unwrap_err();
    assert_parse_error(&err, &path, 3, Some("corpus-id"), "unknown document `d9`");

    let loaded = Qrels::read_checked(&path, ReadMode::Skip, &check).unwrap();
    assert_eq!(loaded.data.num_judgments(), 2);
    assert_eq!(loaded.skipped.len(), 2);
    assert_parse_error(
        &loaded.skipped[1],
        &path,
        4,
        Some("query-id"),
        "unknown query `q7`",
    );
    assert_eq!(loaded.data.relevant("q1"), ["d1"]);

    // Without checks the plain reader accepts unknown ids; its other errors are unchanged.
    assert_eq!(Qrels::read(&path).unwrap().num_judgments(), 4);
    let ids: HashSet<String> = ["q1".to_string()].into();
    let only_queries = QrelsCheck {
        queries: Some(&ids),
        corpus: None,
    };
    assert_eq!(
        Qrels::read_checked(&path, ReadMode::Skip, &only_queries)
            .unwrap()
            .skipped
            .len(),
        1
    );

    let path = s.file("bad.tsv", "q1 d1\n");
    assert_parse_error(
        &Qrels::read(&path).unwrap_err(),
        &path,
        1,
        None,
        "expected 3 columns",
    );
    let path = s.file("bad2.tsv", "q1\td1\thigh\n");
    assert_parse_error(
        &Qrels::read(&path).unwrap_err(),
        &path,
        1,
        Some("score"),
        "`high` is not an integer relevance grade",
    );
    let path = s.file("dup.tsv", "q1\td1\t1\nq1 0 d1 2\n");
    assert_parse_error(
        &Qrels::read(&path).unwrap_err(),
        &path,
        2,
        Some("corpus-id"),
        "duplicate judgment",
    );
}

#[test]
#[cfg_attr(
    not(shared_data_flagembedding_toy),
    ignore = "needs ../shared/data/flagembedding-toy (see DATA.md there)"
)]
fn flagembedding_toy_files_read_and_round_trip() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/flagembedding-toy"
    ));
    assert!(
        dir.exists(),
        "{} not found (see DATA.md in ../shared/data)",
        dir.display()
    );
    let reranker = read_flag_jsonl(
        dir.join("reranker_example_data_normal_examples.jsonl"),
        ReadMode::Strict,
    )
    .unwrap();
    assert!(reranker.is_clean());
    assert_eq!(reranker.data.len(), 10);
    for example in &reranker.data {
        assert_eq!(example.pos.len(), 1);
        assert_eq!(example.neg.len(), 25);
        assert_eq!(example.neg_scores.as_ref().unwrap().len(), 25);
    }
    let nq = read_flag_jsonl(
        dir.join("embedder_example_data_retrieval_nq.jsonl"),
        ReadMode::Strict,
    )
    .unwrap()
    .data;
    assert_eq!(nq.len(), 10);
    assert!(nq[0].prompt.is_some() && nq[0].kind.is_some());

    let s = Scratch::new();
    let out = s.0.path().join("flag.jsonl");
    write_flag_jsonl(&out, &nq).unwrap();
    assert_eq!(read_flag_jsonl(&out, ReadMode::Strict).unwrap().data, nq);
    let line = std::fs::read_to_string(&out).unwrap();
    assert!(line.lines().next().unwrap().contains("\"type\":"));
}

#[test]
fn flagembedding_errors() {
    let s = Scratch::new();
    let cases = [
        (r#"{"pos": ["p"]}"#, "query", "missing"),
        (r#"{"query": "q", "neg": ["n"]}"#, "pos", "missing"),
        (
            r#"{"query": "q", "pos": []}"#,
            "pos",
            "no positive passages",
        ),
        (
            r#"{"query": "q", "pos": "p"}"#,
            "pos",
            "expected a list, found a string",
        ),
        (
            r#"{"query": "q", "pos": ["p"], "neg": ["n", 3]}"#,
            "neg",
            "item 1: expected a string",
        ),
        (
            r#"{"query": "q", "pos": ["p"], "pos_scores": [1, 2]}"#,
            "pos_scores",
            "2 scores for 1 passages",
        ),
        (
            r#"{"query": "q", "pos": ["p"], "neg": ["n"], "neg_scores": ["high"]}"#,
            "neg_scores",
            "item 0: expected a number",
        ),
        (
            r#"{"query": "q", "pos": ["p"], "prompt": 1}"#,
            "prompt",
            "expected a string",
        ),
    ];
    for (i, (line, field, needle)) in cases.iter().enumerate() {
        let path = s.file(
            &format!("f{i}.jsonl"),
            format!("{{\"query\": \"ok\", \"pos\": [\"p\"]}}\n{line}\n"),
        );
        let err = read_flag_jsonl(&path, ReadMode::Strict).unwrap_err();
        assert_parse_error(&err, &path, 2, Some(field), needle);
        let loaded = read_flag_jsonl(&path, ReadMode::Skip).unwrap();
        assert_eq!((loaded.data.len(), loaded.skipped.len()), (1, 1));
    }
}

#[test]
fn io_errors_name_the_file() {
    let missing = Path::new("/nonexistent/corpus.jsonl");
    let err = Corpus::read_beir(missing).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent/corpus.jsonl:"));
}

#[test]
#[cfg_attr(
    not(shared_data_scifact),
    ignore = "needs ../shared/data/scifact (see DATA.md there)"
)]
fn beir_scifact_loads_with_checked_qrels() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/scifact"
    ));
    assert!(
        dir.exists(),
        "{} not found (see DATA.md in ../shared/data)",
        dir.display()
    );
    let data = BeirDataset::load(dir, "dev", ReadMode::Strict).unwrap();
    assert!(data.is_clean());
    let data = data.data;
    assert_eq!(data.corpus.len(), 5183);
    assert_eq!(data.queries.len(), 1109);
    assert_eq!(data.qrels.num_queries(), 165);
    assert_eq!(data.qrels.num_judgments(), 194);
    assert_eq!(data.judged_queries().len(), 165);
    let train = BeirDataset::load(dir, "train", ReadMode::Strict)
        .unwrap()
        .data;
    assert_eq!(
        (train.qrels.num_queries(), train.qrels.num_judgments()),
        (809, 919)
    );
}
