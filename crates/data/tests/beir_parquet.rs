//! BEIR corpus and queries given as parquet (the form Hugging Face ships BEIR sets in) read
//! through `read_beir`, the reader every CLI command's `--corpus` / `--queries` uses, equal to
//! their jsonl twins; any other extension is read as BEIR's jsonl.

use std::path::PathBuf;

use rankforge_data::{Corpus, Queries, TableFormat};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/parquet")
        .join(name)
}

#[test]
fn beir_corpus_and_queries_read_from_parquet_equal_jsonl() {
    let parquet = Corpus::read_beir(fixture("beir_corpus.parquet")).unwrap();
    let jsonl = Corpus::read_beir(fixture("beir_corpus.jsonl")).unwrap();
    assert!(!jsonl.is_empty());
    assert_eq!(parquet.len(), jsonl.len());
    for (a, b) in parquet.iter().zip(jsonl.iter()) {
        assert_eq!(a, b);
    }
    let parquet = Queries::read_beir(fixture("beir_queries.parquet")).unwrap();
    let jsonl = Queries::read_beir(fixture("beir_queries.jsonl")).unwrap();
    assert!(!jsonl.is_empty());
    assert_eq!(parquet.pairs(), jsonl.pairs());
}

#[test]
fn beir_format_is_columnar_only_by_extension() {
    assert_eq!(
        TableFormat::beir("a/corpus.parquet".as_ref()),
        TableFormat::Parquet
    );
    assert_eq!(
        TableFormat::beir("a/corpus.arrow".as_ref()),
        TableFormat::Ipc
    );
    assert_eq!(
        TableFormat::beir("a/corpus.jsonl".as_ref()),
        TableFormat::Jsonl
    );
    assert_eq!(
        TableFormat::beir("a/corpus.txt".as_ref()),
        TableFormat::Jsonl
    );
    assert_eq!(TableFormat::beir("a/corpus".as_ref()), TableFormat::Jsonl);
}
