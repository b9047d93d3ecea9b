//! PNG charts: the files are real PNGs of the requested size, and bad data is an error.
//! Set RANKFORGE_EVAL_PLOT_DIR to keep the images (to look at them) instead of a temp dir.

use std::path::{Path, PathBuf};

use rankforge_data::{Qrels, Run};
use rankforge_eval::{compare, parse_metrics, BarChart, CompareOptions, EvalError, LinePlot};

fn output_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("RANKFORGE_EVAL_PLOT_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            (None, PathBuf::from(dir))
        }
        None => {
            let temp = tempfile::tempdir().unwrap();
            let path = temp.path().to_path_buf();
            (Some(temp), path)
        }
    }
}

/// (width, height) from the PNG signature and IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

fn comparison() -> rankforge_eval::Comparison {
    let mut qrels = Qrels::new();
    let mut bm25 = Run::new();
    let mut cross_encoder = Run::new();
    let mut distilled = Run::new();
    for q in 0..30 {
        let query = format!("q{q}");
        qrels.insert(&query, format!("rel{q}"), 1 + (q % 3));
        qrels.insert(&query, "shared", i32::from(q % 4 == 0));
        for d in 0..20 {
            let doc = if d == 7 {
                format!("rel{q}")
            } else {
                format!("d{d}")
            };
            bm25.push(&query, &doc, -(((d + q) % 20) as f64));
            cross_encoder.push(
                &query,
                &doc,
                if d == 7 && q % 3 != 0 {
                    5.0
                } else {
                    -(d as f64)
                },
            );
            distilled.push(
                &query,
                &doc,
                if d == 7 && q % 2 == 0 {
                    5.0
                } else {
                    -(d as f64)
                },
            );
        }
    }
    let metrics = parse_metrics("ndcg@10,mrr@10,map,recall@5,p@1").unwrap();
    let runs = [
        ("bm25", bm25),
        ("cross-encoder", cross_encoder),
        ("distilled", distilled),
    ];
    compare(&qrels, &runs, &metrics, &CompareOptions::default()).unwrap()
}

#[test]
fn comparison_bar_chart_is_a_png_of_the_requested_size() {
    let (_keep, dir) = output_dir();
    let comparison = comparison();
    let path = dir.join("comparison.png");
    comparison
        .bar_chart("Reranking on a toy collection")
        .write_png(&path)
        .unwrap();
    assert_eq!(png_size(&path), (900, 500));

    let path = dir.join("small.png");
    comparison
        .bar_chart("small")
        .with_size(400, 300)
        .write_png(&path)
        .unwrap();
    assert_eq!(png_size(&path), (400, 300));

    let path = dir.join("single.png");
    comparison.evaluations[1]
        .bar_chart("cross-encoder", "cross-encoder")
        .write_png(&path)
        .unwrap();
    assert_eq!(png_size(&path), (900, 500));
}

#[test]
fn bar_chart_with_negative_values() {
    let (_keep, dir) = output_dir();
    let path = dir.join("deltas.png");
    BarChart::new("Delta vs bm25", vec!["ndcg@10".into(), "map".into()])
        .with_series("ce", vec![0.12, -0.03])
        .with_series("distilled", vec![-0.05, 0.02])
        .with_y_label("delta")
        .write_png(&path)
        .unwrap();
    assert_eq!(png_size(&path), (900, 500));
}

#[test]
fn line_plot_is_a_png_of_the_requested_size() {
    let (_keep, dir) = output_dir();
    let path = dir.join("loss.png");
    let train: Vec<(f64, f64)> = (0..200)
        .map(|step| {
            (
                step as f64 * 10.0,
                2.0 * (-(step as f64) / 60.0).exp() + 0.3 + 0.05 * ((step * 7 % 11) as f64 / 11.0),
            )
        })
        .collect();
    let eval: Vec<(f64, f64)> = (0..=8)
        .map(|i| (i as f64 * 250.0, 2.1 * (-(i as f64) / 2.0).exp() + 0.45))
        .collect();
    LinePlot::new("Training loss", "step", "loss")
        .with_series("train", train)
        .with_series("dev", eval)
        .with_size(800, 450)
        .write_png(&path)
        .unwrap();
    assert_eq!(png_size(&path), (800, 450));

    let path = dir.join("single_point.png");
    LinePlot::new("one point", "x", "y")
        .with_series("", vec![(1.0, 1.0)])
        .write_png(&path)
        .unwrap();
    assert_eq!(png_size(&path), (900, 500));
}

#[test]
fn bad_chart_data_is_an_error_not_a_panic() {
    let (_keep, dir) = output_dir();
    let path = dir.join("never.png");
    let invalid = |result: rankforge_eval::Result<()>| match result {
        Err(EvalError::InvalidChart(message)) => message,
        other => panic!("expected InvalidChart, got {other:?}"),
    };
    let message = invalid(
        BarChart::new("t", vec!["a".into(), "b".into()])
            .with_series("s", vec![1.0])
            .write_png(&path),
    );
    assert!(message.contains("has 1 values for 2 groups"), "{message}");
    let message = invalid(
        BarChart::new("t", vec!["a".into()])
            .with_series("s", vec![f64::NAN])
            .write_png(&path),
    );
    assert!(message.contains("non-finite"), "{message}");
    invalid(
        BarChart::new("t", vec![])
            .with_series("s", vec![])
            .write_png(&path),
    );
    invalid(BarChart::new("t", vec!["a".into()]).write_png(&path));
    invalid(
        BarChart::new("t", vec!["a".into()])
            .with_series("s", vec![1.0])
            .with_size(0, 500)
            .write_png(&path),
    );
    invalid(LinePlot::new("t", "x", "y").write_png(&path));
    invalid(
        LinePlot::new("t", "x", "y")
            .with_series("s", vec![(0.0, f64::INFINITY)])
            .write_png(&path),
    );
    assert!(!path.exists());

    // A missing directory is created (as for every output); a file in the way of one is not.
    let in_new_dir = dir.join("new-dir").join("chart.png");
    BarChart::new("t", vec!["a".into()])
        .with_series("s", vec![1.0])
        .write_png(&in_new_dir)
        .unwrap();
    assert!(in_new_dir.is_file());
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let unwritable = blocker.join("chart.png");
    let err = BarChart::new("t", vec!["a".into()])
        .with_series("s", vec![1.0])
        .write_png(&unwritable)
        .unwrap_err();
    assert!(matches!(err, EvalError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("chart.png"), "{err}");
}
