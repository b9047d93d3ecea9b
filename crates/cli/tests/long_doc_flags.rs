//! `--long-doc max-chunk` flags end to end: `--chunk-max-windows` reaches the scorer, a capped
//! document is reported on stderr, and a cap of 0 is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn minilm() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache/models/all-MiniLM-L6-v2")
        .canonicalize()
        .expect("run scripts/fetch_model.sh first (scripts/test.sh does)");
    assert!(dir.join("model.safetensors").is_file());
    dir
}

fn predict(input: &Path, output: &Path, extra: &[&str]) -> Output {
    let model = minilm();
    let mut args = vec![
        "predict".to_string(),
        "--model".into(),
        model.display().to_string(),
        "--input".into(),
        input.display().to_string(),
        "--output".into(),
        output.display().to_string(),
        "--long-doc".into(),
        "max-chunk".into(),
        "--chunk-window".into(),
        "128".into(),
        "--chunk-stride".into(),
        "128".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Command::new(env!("CARGO_BIN_EXE_rankforge"))
        .args(&args)
        .output()
        .expect("rankforge runs")
}

#[test]
fn chunk_max_windows_caps_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("pairs.jsonl");
    let long = "The weather report mentioned light rain in the afternoon. ".repeat(100);
    let lines = [
        serde_json::json!({"query": "capital of france", "document": long}),
        serde_json::json!({"query": "capital of france", "document": "Paris is in France."}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let output = tmp.path().join("scores.jsonl");

    let capped = predict(&input, &output, &["--chunk-max-windows", "2"]);
    let stderr = String::from_utf8_lossy(&capped.stderr);
    assert!(capped.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 document(s) need more than 2 windows"),
        "{stderr}"
    );
    assert!(stderr.contains("--chunk-max-windows"), "{stderr}");
    let scores = std::fs::read_to_string(&output).unwrap();
    assert_eq!(scores.lines().count(), 2, "{scores}");

    // The default cap (64 windows) covers the ~1,100-token document: nothing to report.
    let whole = predict(&input, &output, &[]);
    let stderr = String::from_utf8_lossy(&whole.stderr);
    assert!(whole.status.success(), "{stderr}");
    assert!(!stderr.contains("max-chunk:"), "{stderr}");

    let refused = predict(&input, &output, &["--chunk-max-windows", "0"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("--chunk-max-windows must be at least 1"),
        "{stderr}"
    );
}
