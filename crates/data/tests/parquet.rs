//! Parquet input (feature `parquet`): named columns, integer ids, missing columns and wrong
//! types reported with the row number, skip mode.
#![cfg(feature = "parquet")]

use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use rankforge_data::*;

/// Writes a parquet file with columns `doc` (int64), `title` (optional string), `body`
/// (optional string).
fn write_docs(
    path: &std::path::Path,
    ids: &[i64],
    titles: &[Option<&str>],
    bodies: &[Option<&str>],
) {
    let schema = Arc::new(
        parse_message_type(
            "message docs { REQUIRED INT64 doc; OPTIONAL BYTE_ARRAY title (UTF8); OPTIONAL BYTE_ARRAY body (UTF8); }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer =
        SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    column
        .typed::<Int64Type>()
        .write_batch(ids, None, None)
        .unwrap();
    column.close().unwrap();
    for strings in [titles, bodies] {
        let mut column = group.next_column().unwrap().unwrap();
        let values: Vec<ByteArray> = strings
            .iter()
            .flatten()
            .map(|s| ByteArray::from(*s))
            .collect();
        let levels: Vec<i16> = strings.iter().map(|s| s.is_some() as i16).collect();
        column
            .typed::<ByteArrayType>()
            .write_batch(&values, Some(&levels), None)
            .unwrap();
        column.close().unwrap();
    }
    group.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_corpus_with_named_columns_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docs.parquet");
    write_docs(
        &path,
        &[1, 2, 3],
        &[Some("T1"), None, Some("T3")],
        &[Some("one"), Some("two"), None],
    );
    let columns = CorpusColumns {
        id: "doc".into(),
        title: Some("title".into()),
        text: "body".into(),
    };

    let err = Corpus::read(&path, &TableOptions::default(), &columns).unwrap_err();
    match &err {
        DataError::Parse {
            line,
            field,
            message,
            ..
        } => {
            assert_eq!((*line, field.as_deref()), (3, Some("body")), "{err}");
            assert!(message.contains("missing"), "{err}");
        }
        other => panic!("{other}"),
    }
    let options = TableOptions {
        mode: ReadMode::Skip,
        ..TableOptions::default()
    };
    let loaded = Corpus::read(&path, &options, &columns).unwrap();
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
    let err = Corpus::read(&path, &TableOptions::default(), &wrong).unwrap_err();
    assert!(
        err.to_string()
            .contains(":1: field `doc`: expected a string, found a number"),
        "{err}"
    );

    let absent = CorpusColumns {
        text: "content".into(),
        ..columns
    };
    let err = Corpus::read(&path, &TableOptions::default(), &absent).unwrap_err();
    assert!(
        err.to_string()
            .contains("column not found in the parquet schema (columns: doc, title, body)"),
        "{err}"
    );

    let not_parquet = dir.path().join("fake.parquet");
    std::fs::write(&not_parquet, "not parquet").unwrap();
    assert!(Corpus::read(
        &not_parquet,
        &TableOptions::default(),
        &CorpusColumns::default()
    )
    .is_err());
}
