//! Columnar input (parquet and Arrow IPC, through polars) and training files in the layouts of
//! sentence-transformers and FlagEmbedding. The fixtures are committed under
//! tests/fixtures/parquet (written by scripts/reference/make_parquet_fixtures.py with pandas
//! and pyarrow), each beside a jsonl twin holding the same records: every layout read from
//! parquet or IPC must equal its twin record for record; blocks read in any order must equal a
//! sequential read; bad values are errors naming file, row (line for text) and column, or
//! skipped and reported.

use std::path::{Path, PathBuf};

use polars::prelude::{Column, DataFrame, IpcWriter, ParquetWriter, SerWriter};
use rankforge_data::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/parquet")
        .join(name)
}

fn open(path: &Path, columns: &TrainingColumns, mode: ReadMode, block_rows: usize) -> TrainingFile {
    let options = TableOptions {
        mode,
        ..TableOptions::default()
    };
    TrainingFile::open(path, columns, &options, block_rows)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn open_default(name: &str, block_rows: usize) -> TrainingFile {
    open(
        &fixture(name),
        &TrainingColumns::default(),
        ReadMode::Strict,
        block_rows,
    )
}

/// Every record, block by block in order.
fn sequential(source: &dyn TrainingSource) -> Vec<SourcedRecord> {
    (0..source.blocks())
        .flat_map(|i| source.read_block(i).unwrap())
        .collect()
}

/// The first error of reading every block in order.
fn sequential_error(source: &dyn TrainingSource) -> DataError {
    (0..source.blocks())
        .find_map(|i| source.read_block(i).err())
        .expect("a bad block")
}

fn open_error(path: &Path, columns: &TrainingColumns) -> String {
    TrainingFile::open(path, columns, &TableOptions::default(), 4)
        .unwrap_err()
        .to_string()
        .replace(&path.display().to_string(), "FILE")
}

const LAYOUTS: [(&str, TrainingLayout, usize); 7] = [
    ("st_triplets", TrainingLayout::Triplets, 8),
    ("st_ntuples", TrainingLayout::Triplets, 8),
    ("st_anchor_pairs", TrainingLayout::Triplets, 8),
    ("st_labeled_pairs", TrainingLayout::Pairs, 16),
    ("st_margin_mse", TrainingLayout::Triplets, 8),
    ("st_lists", TrainingLayout::Lists, 8),
    ("flag", TrainingLayout::Flag, 8),
];

#[test]
fn every_layout_from_parquet_and_ipc_equals_its_jsonl_twin() {
    for (name, layout, rows) in LAYOUTS {
        let jsonl = open_default(&format!("{name}.jsonl"), 3);
        assert_eq!(jsonl.layout(), layout, "{name}");
        assert_eq!(jsonl.rows(), rows, "{name}");
        let expected = sequential(&jsonl);
        assert_eq!(
            expected.iter().map(|r| r.row).collect::<Vec<_>>(),
            (1..=rows).collect::<Vec<_>>()
        );
        let mut twins = vec![format!("{name}.parquet")];
        if name == "st_triplets" {
            twins.push("st_triplets.arrow".into());
        }
        if name == "flag" {
            twins.push("flag.feather".into());
        }
        for twin in twins {
            let file = open_default(&twin, 3);
            assert_eq!(file.layout(), layout, "{twin}");
            assert_eq!(
                (file.rows(), file.blocks()),
                (rows, rows.div_ceil(3)),
                "{twin}"
            );
            assert_eq!(sequential(&file), expected, "{twin}");
            assert!(file.skipped().is_empty());
        }
    }
}

#[test]
fn records_have_each_layouts_shape() {
    let first = |name: &str| {
        open_default(name, 4)
            .read_block(0)
            .unwrap()
            .remove(0)
            .record
    };

    let triplet = first("st_triplets.parquet");
    assert_eq!((triplet.documents.len(), triplet.positives), (2, 1));
    assert_eq!(triplet.labels, [1.0, 0.0]);
    assert_eq!(triplet.teacher_scores, None);

    let ntuple = first("st_ntuples.parquet");
    assert_eq!(ntuple.labels, [1.0, 0.0, 0.0, 0.0, 0.0]);
    let raw: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(fixture("st_ntuples.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    for k in 1..=4 {
        assert_eq!(
            ntuple.documents[k],
            raw[format!("negative_{k}")].as_str().unwrap()
        );
    }

    let anchor = first("st_anchor_pairs.parquet");
    assert_eq!((anchor.documents.len(), anchor.positives), (1, 1));
    assert_eq!(anchor.labels, [1.0]);

    let pairs = open_default("st_labeled_pairs.parquet", 4)
        .read_block(0)
        .unwrap();
    assert_eq!(
        (pairs[0].record.labels[0], pairs[0].record.positives),
        (1.0, 1)
    );
    assert_eq!(
        (pairs[1].record.labels[0], pairs[1].record.positives),
        (0.0, 0)
    );

    // MarginMSE: a margin m of (positive, negative) is stored as [m, 0].
    let margin = first("st_margin_mse.parquet");
    assert_eq!(margin.teacher_scores, Some(vec![4.0, 0.0]));

    // Labeled lists: positives (label above 0) moved first, order otherwise kept.
    for record in sequential(&open_default("st_lists.parquet", 4)) {
        let r = record.record;
        assert!(r.positives >= 1);
        assert!(r.labels[..r.positives].iter().all(|&l| l > 0.0));
        assert!(r.labels[r.positives..].iter().all(|&l| l == 0.0));
        assert_eq!(r.labels[0], 2.0);
    }

    // FlagEmbedding: the prompt prepended as is; pos_scores then neg_scores.
    let flag = sequential(&open_default("flag.parquet", 4));
    let prompt = "Represent this question for retrieving answers: ";
    assert!(flag[0].record.query.starts_with(prompt));
    assert!(
        !flag[2].record.query.starts_with(prompt),
        "row 3 has no prompt"
    );
    let r = &flag[0].record;
    assert_eq!(r.teacher_scores, Some(vec![0.9, 0.3, 0.25, 0.2, 0.15]));
    assert_eq!(r.labels, [1.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn blocks_read_in_any_order_equal_a_sequential_read() {
    // st_ntuples.parquet has row groups of 3 rows, st_triplets.arrow record batches of 3:
    // blocks start and end inside them.
    for name in [
        "st_ntuples.parquet",
        "st_ntuples.jsonl",
        "st_triplets.arrow",
        "st_triplets.jsonl",
    ] {
        let all = sequential(&open_default(name, 8));
        assert_eq!(all.len(), 8);
        for block_rows in [1, 2, 3, 5, 8, 20] {
            let file = open_default(name, block_rows);
            assert_eq!(file.blocks(), 8usize.div_ceil(block_rows), "{name}");
            let order: Vec<usize> = (0..file.blocks()).rev().collect();
            let mut blocks: Vec<(usize, Vec<SourcedRecord>)> = order
                .iter()
                .map(|&i| (i, file.read_block(i).unwrap()))
                .collect();
            blocks.sort_by_key(|(i, _)| *i);
            for (i, block) in &blocks {
                assert_eq!(block.len(), block_rows.min(8 - i * block_rows), "{name}");
            }
            let joined: Vec<SourcedRecord> = blocks.into_iter().flat_map(|(_, b)| b).collect();
            assert_eq!(joined, all, "{name}, blocks of {block_rows}");
            assert!(file.read_block(file.blocks()).unwrap().is_empty());
        }
    }
}

#[test]
fn bad_values_name_file_row_and_column_or_are_skipped_and_reported() {
    let columns = TrainingColumns::default();
    // A NaN margin at row 3 and a null query at row 5; the jsonl twin has a string margin at
    // line 3 and a null query at line 5.
    // Strict parquet: the row count from the metadata; the bad value is the error of the read
    // of its block.
    let path = fixture("bad_values.parquet");
    let file = open(&path, &columns, ReadMode::Strict, 2);
    assert_eq!((file.rows(), file.blocks()), (8, 4));
    assert_eq!(file.read_block(0).unwrap().len(), 2);
    let error = file.read_block(1).unwrap_err().to_string();
    assert_eq!(
        error.replace(&path.display().to_string(), "FILE"),
        "FILE:3: field `score`: number is not finite"
    );
    assert_eq!(
        open_error(&fixture("bad_values.jsonl"), &columns),
        "FILE:3: field `score`: expected a number, found a string"
    );
    for name in ["bad_values.parquet", "bad_values.jsonl"] {
        let file = open(&fixture(name), &columns, ReadMode::Skip, 2);
        let skipped: Vec<(usize, Option<String>)> = file
            .skipped()
            .iter()
            .map(|e| match e {
                DataError::Parse { line, field, .. } => (*line, field.clone()),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(
            skipped,
            [(3, Some("score".into())), (5, Some("query".into()))],
            "{name}"
        );
        assert!(file
            .skip_report()
            .to_string()
            .contains("skipped 2 record(s)"));
        assert_eq!((file.rows(), file.blocks()), (6, 3), "{name}");
        let rows: Vec<Vec<usize>> = (0..3)
            .map(|i| file.read_block(i).unwrap().iter().map(|r| r.row).collect())
            .collect();
        assert_eq!(rows, [vec![1, 2], vec![4, 6], vec![7, 8]], "{name}");
    }

    // A FlagEmbedding score list one short at row / line 3.
    for name in ["bad_scores.parquet", "bad_scores.jsonl"] {
        let path = fixture(name);
        let error = match TrainingFile::open(&path, &columns, &TableOptions::default(), 4) {
            Err(error) => error,
            Ok(file) => sequential_error(&file),
        };
        assert_eq!(
            error
                .to_string()
                .replace(&path.display().to_string(), "FILE"),
            "FILE:3: field `pos_scores`: 0 scores for 2 positive passages",
            "{name}"
        );
        let file = open(&fixture(name), &columns, ReadMode::Skip, 4);
        assert_eq!((file.rows(), file.skipped().len()), (7, 1));
    }
}

#[test]
fn a_missing_column_lists_the_schema() {
    let path = fixture("bad_missing_column.parquet");
    let error = open_error(&path, &TrainingColumns::default());
    assert!(
        error.starts_with(
            "FILE: cannot tell the training layout from the columns (query, negative)"
        ),
        "{error}"
    );
    let triplets = TrainingColumns {
        layout: TrainingLayout::Triplets,
        ..TrainingColumns::default()
    };
    assert_eq!(
        open_error(&path, &triplets),
        "FILE: field `positive`: column not found in the parquet schema (columns: query, \
         negative), needed by the triplets layout"
    );
    // Renamed columns find it.
    let renamed = TrainingColumns {
        positive: vec!["negative".into()],
        negative: vec![],
        ..triplets
    };
    let file = open(&path, &renamed, ReadMode::Strict, 4);
    assert_eq!(file.rows(), 8);

    // The table readers name the schema's columns too.
    let error = Corpus::read(&path, &TableOptions::default(), &CorpusColumns::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "field `_id`: column not found in the parquet schema (columns: query, negative)"
        ),
        "{error}"
    );
}

#[test]
fn files_that_are_not_columnar_say_so() {
    let dir = tempfile::tempdir().unwrap();
    for (name, expected) in [
        ("fake.parquet", "not a readable parquet file"),
        ("fake.arrow", "not a readable Arrow IPC file"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, "query,positive\nq,p\n").unwrap();
        let error = open_error(&path, &TrainingColumns::default());
        assert!(error.starts_with(&format!("FILE: {expected}")), "{error}");
        let error = Corpus::read(&path, &TableOptions::default(), &CorpusColumns::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
}

#[test]
fn rows_without_the_optional_columns_are_still_rows() {
    // A corpus whose only columns are id and text, with titles asked for: every row is read,
    // titles empty.
    let columns = CorpusColumns {
        title: Some("no-such-column".into()),
        ..CorpusColumns::default()
    };
    let corpus = Corpus::read(
        fixture("beir_corpus.parquet"),
        &TableOptions::default(),
        &columns,
    )
    .unwrap()
    .into_data();
    assert_eq!(corpus.len(), 8);
    assert!(corpus.iter().all(|d| d.title.is_empty()));
}

#[test]
fn corpus_queries_pairs_and_triples_read_parquet_like_jsonl() {
    let options = TableOptions::default();
    let corpus = |name: &str| {
        Corpus::read(fixture(name), &options, &CorpusColumns::default())
            .unwrap()
            .into_data()
    };
    let from_parquet = corpus("beir_corpus.parquet");
    assert_eq!(from_parquet.len(), 8);
    assert_eq!(from_parquet, corpus("beir_corpus.jsonl"));
    let queries = |name: &str| {
        Queries::read(fixture(name), &options, &QueryColumns::default())
            .unwrap()
            .into_data()
    };
    assert_eq!(
        queries("beir_queries.parquet"),
        queries("beir_queries.jsonl")
    );
    let pairs = |name: &str| {
        read_labeled_pairs(fixture(name), &options, &PairColumns::default())
            .unwrap()
            .into_data()
    };
    assert_eq!(pairs("st_labeled_pairs.parquet").len(), 16);
    assert_eq!(
        pairs("st_labeled_pairs.parquet"),
        pairs("st_labeled_pairs.jsonl")
    );
    let triples = |name: &str| {
        read_triples(fixture(name), &options, &TripleColumns::default())
            .unwrap()
            .into_data()
    };
    let expected = triples("st_triplets.jsonl");
    assert_eq!(triples("st_triplets.parquet"), expected);
    assert_eq!(triples("st_triplets.arrow"), expected);
}

/// A parquet (and IPC) file written here with polars: integer ids, nulls, booleans.
fn write_frame(dir: &Path, name: &str, mut frame: DataFrame) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    if name.ends_with(".parquet") {
        ParquetWriter::new(file).finish(&mut frame).unwrap();
    } else {
        IpcWriter::new(file).finish(&mut frame).unwrap();
    }
    path
}

#[test]
fn columnar_corpus_with_named_columns_integer_ids_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["docs.parquet", "docs.arrow"] {
        let frame = DataFrame::new_infer_height(vec![
            Column::new("doc".into(), &[1i64, 2, 3]),
            Column::new("title".into(), &[Some("T1"), None, Some("T3")]),
            Column::new("body".into(), &[Some("one"), Some("two"), None]),
            Column::new("unused".into(), &[1.5f64, 2.5, 3.5]),
        ])
        .unwrap();
        let path = write_frame(dir.path(), name, frame);
        let columns = CorpusColumns {
            id: "doc".into(),
            title: Some("title".into()),
            text: "body".into(),
        };
        let error = Corpus::read(&path, &TableOptions::default(), &columns).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{}:3: field `body`: missing", path.display())
        );
        let skip = TableOptions {
            mode: ReadMode::Skip,
            ..TableOptions::default()
        };
        let loaded = Corpus::read(&path, &skip, &columns).unwrap();
        assert_eq!(loaded.data.len(), 2);
        assert_eq!(loaded.data.get("1").unwrap().full_text(), "T1 one");
        assert_eq!(loaded.data.get("2").unwrap().full_text(), "two");
        assert_eq!(loaded.skipped.len(), 1);

        // The id column is a number: fine as an id, wrong as text.
        let wrong = CorpusColumns {
            id: "body".into(),
            title: None,
            text: "doc".into(),
        };
        let error = Corpus::read(&path, &TableOptions::default(), &wrong)
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with(":1: field `doc`: expected a string, found a number"),
            "{error}"
        );
    }
}

#[test]
fn boolean_labels_and_score_lists_from_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let frame = DataFrame::new_infer_height(vec![
        Column::new("query".into(), &["q1", "q2"]),
        Column::new("document".into(), &["d1", "d2"]),
        Column::new("label".into(), &[true, false]),
        Column::new("score".into(), &[7.5f32, -1.0]),
    ])
    .unwrap();
    let path = write_frame(dir.path(), "pairs.parquet", frame);
    let file = open(&path, &TrainingColumns::default(), ReadMode::Strict, 8);
    assert_eq!(file.layout(), TrainingLayout::Pairs);
    let records: Vec<TrainingRecord> = sequential(&file).into_iter().map(|r| r.record).collect();
    assert_eq!(records[0].labels, [1.0]);
    assert_eq!(records[0].teacher_scores, Some(vec![7.5]));
    assert_eq!((records[1].labels[0], records[1].positives), (0.0, 0));
}

#[test]
fn csv_training_files_report_file_lines_across_quoted_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.csv");
    std::fs::write(
        &path,
        "\u{feff}query,positive,negative_1,negative_2,score\n\
         q1,p1,n1,n2,\"[1.0,0.5,0.25]\"\n\
         q2,\"p2 spans\ntwo lines\",n1,n2,\n\
         \n\
         q3,p3,n1,n2,x\n\
         q4,p4,n1,n2,\"[3,2]\"\n",
    )
    .unwrap();
    assert_eq!(
        open_error(&path, &TrainingColumns::default()),
        "FILE:6: field `score`: `x` is not a number"
    );
    let file = open(&path, &TrainingColumns::default(), ReadMode::Skip, 1);
    assert_eq!(file.skipped().len(), 1);
    let records: Vec<SourcedRecord> = (0..file.blocks())
        .rev()
        .flat_map(|i| file.read_block(i).unwrap())
        .collect();
    assert_eq!(records.iter().map(|r| r.row).collect::<Vec<_>>(), [7, 3, 2]);
    assert_eq!(records[1].record.documents[0], "p2 spans\ntwo lines");
    assert_eq!(records[2].record.teacher_scores, Some(vec![1.0, 0.5, 0.25]));
    assert_eq!(records[1].record.teacher_scores, None);
    // Two margins for two negatives: the positive carries the largest.
    assert_eq!(records[0].record.teacher_scores, Some(vec![3.0, 0.0, 1.0]));
    assert_eq!(records[0].record.documents, ["p4", "n1", "n2"]);
}

#[test]
fn jsonl_training_files_with_a_bom_and_blank_lines_keep_file_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.jsonl");
    std::fs::write(
        &path,
        "\u{feff}{\"anchor\": \"a1\", \"positive\": \"p1\"}\n\n\
         {\"anchor\": \"a2\", \"positive\": \"p2\"}\r\n\
         \n\n{\"anchor\": \"a3\", \"positive\": \"p3\"}\n",
    )
    .unwrap();
    let file = open(&path, &TrainingColumns::default(), ReadMode::Strict, 1);
    let rows: Vec<(usize, String)> = (0..3)
        .rev()
        .map(|i| {
            let r = file.read_block(i).unwrap().remove(0);
            (r.row, r.record.query)
        })
        .collect();
    assert_eq!(
        rows,
        [(6, "a3".to_string()), (3, "a2".into()), (1, "a1".into())]
    );
}

#[test]
fn training_columns_take_a_name_or_a_list_and_refuse_unknown_keys() {
    let columns: TrainingColumns = serde_json::from_str(
        r#"{"layout": "triplets", "query": "question", "negative": ["neg", "hard"], "prompt": []}"#,
    )
    .unwrap();
    assert_eq!(columns.layout, TrainingLayout::Triplets);
    assert_eq!(columns.query, ["question"]);
    assert_eq!(columns.negative, ["neg", "hard"]);
    assert!(columns.prompt.is_empty());
    assert_eq!(columns.positive, TrainingColumns::default().positive);
    assert!(serde_json::from_str::<TrainingColumns>(r#"{"querry": "q"}"#).is_err());
    assert!(serde_json::from_str::<TrainingColumns>(r#"{"layout": "grid"}"#).is_err());
}

#[test]
fn formats_come_from_the_extension() {
    for (name, format) in [
        ("a.parquet", TableFormat::Parquet),
        ("a.pq", TableFormat::Parquet),
        ("a.arrow", TableFormat::Ipc),
        ("a.ipc", TableFormat::Ipc),
        ("a.feather", TableFormat::Ipc),
        ("a.ndjson", TableFormat::Jsonl),
    ] {
        assert_eq!(TableFormat::Auto.resolve(Path::new(name)).unwrap(), format);
    }
}
