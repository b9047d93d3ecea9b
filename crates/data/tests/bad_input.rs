//! Issue 19's input defects, one test each: a UTF-8 byte-order mark is dropped by every reader
//! (it used to become part of a TREC run's first query id, and of a csv header's first column
//! name); qrels grades are exact integers (`1.9`, `0.5`, `NaN`, `inf` used to be truncated to
//! an `i32` silently); and a file without a single record is an error naming the file (every
//! reader used to return empty data, so commands wrote empty outputs with exit 0).

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
    /// The same content written twice: as is, and with a byte-order mark in front.
    fn with_and_without_bom(&self, name: &str, content: &str) -> (PathBuf, PathBuf) {
        let plain = self.file(&format!("plain-{name}"), content);
        let bom = self.file(&format!("bom-{name}"), format!("\u{feff}{content}"));
        (plain, bom)
    }
}

const BOM: &str = "\u{feff}";

fn options(format: TableFormat, header: bool) -> TableOptions {
    TableOptions {
        format,
        header,
        mode: ReadMode::Strict,
    }
}

#[test]
fn a_byte_order_mark_is_dropped_by_every_reader() {
    let s = Scratch::new();

    // TREC run: the BOM used to become part of `q1`, so q1's first line was evaluated as a
    // query without judgments.
    let (plain, bom) =
        s.with_and_without_bom("run.trec", "q1 Q0 d1 1 2.0 tag\nq1 Q0 d2 2 1.0 tag\n");
    let run = Run::read(&bom).unwrap();
    assert_eq!(run, Run::read(&plain).unwrap());
    assert_eq!(run.query_ids().collect::<Vec<_>>(), ["q1"]);
    assert_eq!(run.get("q1").unwrap().len(), 2);

    // qrels, BEIR tsv with its header and TREC without one.
    for (name, text) in [
        ("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n"),
        ("qrels.txt", "q1 0 d1 1\n"),
    ] {
        let (plain, bom) = s.with_and_without_bom(name, text);
        let qrels = Qrels::read(&bom).unwrap();
        assert_eq!(qrels, Qrels::read(&plain).unwrap(), "{name}");
        assert_eq!(qrels.get("q1").unwrap()["d1"], 1, "{name}");
    }

    // The jsonl inputs of predict / embed / bench.
    let (plain, bom) =
        s.with_and_without_bom("pairs.jsonl", "{\"query\":\"q\",\"document\":\"d\"}\n");
    let rows = read_string_fields(&bom, &["query", "document"]).unwrap();
    assert_eq!(
        rows,
        read_string_fields(&plain, &["query", "document"]).unwrap()
    );
    assert_eq!(rows, [["q", "d"]]);

    // BEIR corpus and queries.
    let (plain, bom) = s.with_and_without_bom(
        "corpus.jsonl",
        "{\"_id\":\"d1\",\"title\":\"T\",\"text\":\"x\"}\n",
    );
    assert_eq!(
        Corpus::read_beir(&bom).unwrap(),
        Corpus::read_beir(&plain).unwrap()
    );
    let (plain, bom) = s.with_and_without_bom("queries.jsonl", "{\"_id\":\"q1\",\"text\":\"x\"}\n");
    assert_eq!(
        Queries::read_beir(&bom).unwrap(),
        Queries::read_beir(&plain).unwrap()
    );

    // csv and tsv tables with a header: the BOM used to become part of the first column's
    // name, so a required `_id` column was "not found in the header".
    for (name, text, format) in [
        ("corpus.csv", "_id,text\nd1,one\nd2,two\n", TableFormat::Csv),
        (
            "corpus.tsv",
            "_id\ttext\nd1\tone\nd2\ttwo\n",
            TableFormat::Tsv,
        ),
        (
            "corpus.jsonl",
            "{\"_id\":\"d1\",\"text\":\"one\"}\n{\"_id\":\"d2\",\"text\":\"two\"}\n",
            TableFormat::Jsonl,
        ),
    ] {
        let (plain, bom) = s.with_and_without_bom(name, text);
        let columns = CorpusColumns::default();
        let read = |p: &Path| {
            Corpus::read(p, &options(format, true), &columns)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .into_data()
        };
        let corpus = read(&bom);
        assert_eq!(corpus, read(&plain), "{name}");
        assert_eq!(corpus.documents()[0].id, "d1", "{name}");
    }

    // Headerless tables: MS MARCO collection (the BOM used to start the first id) and triples.
    let (plain, bom) = s.with_and_without_bom("collection.tsv", "7\tseven\n8\teight\n");
    let corpus = Corpus::read_msmarco(&bom, ReadMode::Strict).unwrap().data;
    assert_eq!(
        corpus,
        Corpus::read_msmarco(&plain, ReadMode::Strict).unwrap().data
    );
    assert!(corpus.contains("7"));
    let (plain, bom) = s.with_and_without_bom("triples.tsv", "q\tpos\tneg\n");
    assert_eq!(
        read_msmarco_triples(&bom, ReadMode::Strict).unwrap().data,
        read_msmarco_triples(&plain, ReadMode::Strict).unwrap().data
    );
    let (plain, bom) = s.with_and_without_bom("triples.csv", "q,p,n\n");
    let columns = TripleColumns {
        query: "0".into(),
        positive: "1".into(),
        negative: "2".into(),
    };
    let triples = read_triples(&bom, &options(TableFormat::Csv, false), &columns)
        .unwrap()
        .data;
    assert_eq!(triples[0].query, "q");
    assert_eq!(
        triples,
        read_triples(&plain, &options(TableFormat::Csv, false), &columns)
            .unwrap()
            .data
    );

    // Labeled pairs (csv with a header) and FlagEmbedding jsonl.
    let (plain, bom) = s.with_and_without_bom("pairs.csv", "query,document,label\nq,d,1\n");
    let read = |p: &Path| {
        read_labeled_pairs(p, &options(TableFormat::Csv, true), &PairColumns::default())
            .unwrap()
            .data
    };
    assert_eq!(read(&bom), read(&plain));
    let (plain, bom) = s.with_and_without_bom("flag.jsonl", "{\"query\":\"q\",\"pos\":[\"p\"]}\n");
    assert_eq!(
        read_flag_jsonl(&bom, ReadMode::Strict).unwrap().data,
        read_flag_jsonl(&plain, ReadMode::Strict).unwrap().data
    );

    // A BOM-only file is an empty one; a mark after the start is data, not stripped.
    let only = s.file("only-bom.trec", BOM);
    assert!(Run::read(&only)
        .unwrap_err()
        .to_string()
        .contains("holds no records"));
    let later = s.file(
        "later.trec",
        format!("q1 Q0 d1 1 1 t\n{BOM}q2 Q0 d1 1 1 t\n"),
    );
    let run = Run::read(&later).unwrap();
    assert!(run.get(&format!("{BOM}q2")).is_some());
}

#[test]
fn qrels_grades_are_exact_integers() {
    let s = Scratch::new();
    let path = s.file(
        "qrels.tsv",
        "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1.0\nq1\td3\t-1\nq1\td4\t0.00\n",
    );
    let qrels = Qrels::read(&path).unwrap();
    let judged = qrels.get("q1").unwrap();
    assert_eq!(
        [judged["d1"], judged["d2"], judged["d3"], judged["d4"]],
        [2, 1, -1, 0]
    );

    // Each used to be read as `f64 as i32`: 1, 0, 0, i32::MAX, i32::MIN, 100, ... silently.
    for bad in [
        "1.9",
        "0.5",
        "NaN",
        "inf",
        "-inf",
        "1e308",
        "1e2",
        "2147483648",
        "-1.5",
        "1.",
    ] {
        for (name, text) in [
            (
                "qrels.tsv",
                format!("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t{bad}\n"),
            ),
            ("qrels.txt", format!("q1 0 d1 1\nq1 0 d2 {bad}\n")),
        ] {
            let path = s.file(name, &text);
            let error = Qrels::read(&path).unwrap_err();
            let line = if name.ends_with("tsv") { 3 } else { 2 };
            match &error {
                DataError::Parse {
                    path: p,
                    line: l,
                    field,
                    message,
                } => {
                    assert_eq!((p, *l), (&path, line), "{bad}: {error}");
                    assert_eq!(field.as_deref(), Some("score"), "{bad}: {error}");
                    assert!(
                        message.contains(&format!("`{bad}`")) && message.contains("integer"),
                        "{bad}: {error}"
                    );
                }
                other => panic!("{bad}: expected a parse error, got {other}"),
            }
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("{}:{line}: field `score`: ", path.display())),
                "{error}"
            );
        }
    }
}

/// Asserts `result` is the "holds no records" error for `path`, shown as `path: holds …`.
fn assert_no_records<T: std::fmt::Debug>(result: Result<T>, path: &Path, what: &str) {
    let error = result.expect_err(what);
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("{}: holds no records", path.display())),
        "{what}: {text}"
    );
}

#[test]
fn a_file_without_records_is_an_error_naming_it() {
    let s = Scratch::new();
    let blanks = ["", "\n", "  \n\t\n\r\n", BOM, "\u{feff}\n\n"];
    for (i, text) in blanks.into_iter().enumerate() {
        let file = |name: &str| s.file(&format!("{i}-{name}"), text);

        let p = file("run.trec");
        assert_no_records(Run::read(&p), &p, "run");
        let p = file("qrels.tsv");
        assert_no_records(Qrels::read(&p), &p, "qrels");
        let p = file("pairs.jsonl");
        assert_no_records(read_string_fields(&p, &["query", "document"]), &p, "fields");
        let p = file("corpus.jsonl");
        assert_no_records(Corpus::read_beir(&p), &p, "corpus");
        let p = file("queries.jsonl");
        assert_no_records(Queries::read_beir(&p), &p, "queries");
        let p = file("collection.tsv");
        assert_no_records(Corpus::read_msmarco(&p, ReadMode::Strict), &p, "msmarco");
        let p = file("queries.tsv");
        assert_no_records(Queries::read_msmarco(&p, ReadMode::Skip), &p, "msmarco q");
        let p = file("triples.tsv");
        assert_no_records(read_msmarco_triples(&p, ReadMode::Strict), &p, "triples");
        let p = file("flag.jsonl");
        assert_no_records(read_flag_jsonl(&p, ReadMode::Strict), &p, "flag");
        for (name, format) in [
            ("pairs.csv", TableFormat::Csv),
            ("pairs.tsv", TableFormat::Tsv),
        ] {
            let p = file(name);
            let read = read_labeled_pairs(&p, &options(format, true), &PairColumns::default());
            assert_no_records(read, &p, name);
            let columns = PairColumns {
                query: "0".into(),
                document: "1".into(),
                label: "2".into(),
            };
            let read = read_labeled_pairs(&p, &options(format, false), &columns);
            assert_no_records(read, &p, name);
        }
    }

    // Only a header is no records either.
    let p = s.file("header.tsv", "query-id\tcorpus-id\tscore\n");
    assert_no_records(Qrels::read(&p), &p, "qrels header");
    let p = s.file("header.csv", "_id,title,text\n");
    let read = Corpus::read(&p, &options(TableFormat::Csv, true), &Default::default());
    assert_no_records(read, &p, "csv header");
    let p = s.file("header2.tsv", "query\tdocument\tlabel\n\n");
    let read = read_labeled_pairs(&p, &options(TableFormat::Tsv, true), &Default::default());
    assert_no_records(read, &p, "tsv header");

    // In skip mode a file whose every record was bad says so, with the first reason.
    let p = s.file("bad.jsonl", "{\"_id\": \"d1\"}\nnot json\n");
    let error = Corpus::read(
        &p,
        &TableOptions {
            mode: ReadMode::Skip,
            ..Default::default()
        },
        &Default::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with(&format!("{}: holds no records", p.display()))
            && error.contains("all 2 were skipped")
            && error.contains(":1: field `text`: missing"),
        "{error}"
    );
    let p = s.file("bad-qrels.tsv", "q1 d1 x\n");
    let error = Qrels::read_checked(&p, ReadMode::Skip, &QrelsCheck::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("all 1 were skipped"), "{error}");

    // A file with one record still reads.
    let p = s.file("one.trec", "\n\nq Q0 d 1 0.5 t\n\n");
    assert_eq!(Run::read(&p).unwrap().num_queries(), 1);
}
