//! Helpers shared by the binary's end-to-end tests (`tests/cli.rs`, `tests/wgpu.rs`,
//! `crates/cli/tests/architectures.rs`): paths, running `rankforge`, jsonl and TREC files, the
//! PyTorch fixture's cross-encoder, and a `rankforge serve` child process. Each test binary
//! uses a part of them.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rankforge_model::backend::Cpu;
use rankforge_model::CrossEncoder;
use serde_json::Value;

use super::model_common::f32s;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// all-MiniLM-L6-v2 as fetched by `scripts/fetch_model.sh`.
pub fn minilm() -> PathBuf {
    let dir = root().join(".cache/models/all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "run scripts/fetch_model.sh first (scripts/test.sh does)"
    );
    dir
}

/// `tests/fixtures/model_parity.json` (scripts/reference/model_parity.py).
pub fn fixture() -> Value {
    let path = root().join("tests/fixtures/model_parity.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs the binary.
pub fn rankforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rankforge"))
        .args(args)
        .output()
        .expect("rankforge runs")
}

/// Runs the binary, asserts success and returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = rankforge(args);
    assert!(
        out.status.success(),
        "rankforge {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the binary, asserts failure and returns stderr.
pub fn err(args: &[&str]) -> String {
    let out = rankforge(args);
    assert!(!out.status.success(), "rankforge {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

pub fn write_jsonl(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| r.to_string() + "\n").collect();
    std::fs::write(path, text).unwrap();
}

/// A fixture's `pairs` (`[[query, document], ...]`) as a `predict` input file `pairs.jsonl` in
/// `dir`.
pub fn write_fixture_pairs(dir: &Path, fx: &Value) -> std::path::PathBuf {
    let rows: Vec<Value> = fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| serde_json::json!({"query": p[0], "document": p[1]}))
        .collect();
    let input = dir.join("pairs.jsonl");
    write_jsonl(&input, &rows);
    input
}

/// `field` of every line of a jsonl file.
pub fn read_field(path: &Path, field: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()[field].clone())
        .collect()
}

/// The `score` field of every line, as f32.
pub fn scores(path: &Path) -> Vec<f32> {
    read_field(path, "score")
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

/// The fixture's cross-encoder (MiniLM + the PyTorch reference's seeded head) saved as an HF
/// directory in `dir`.
pub fn fixture_cross_encoder(dir: &Path) -> PathBuf {
    let fx = fixture();
    let (mut ce, _) = CrossEncoder::<Cpu>::builder(minilm())
        .head_seed(0)
        .load(&Default::default())
        .unwrap();
    ce.model = ce
        .model
        .set_head(&f32s(&fx["head"]["weight"]), &f32s(&fx["head"]["bias"]));
    let out = dir.join("ce");
    ce.save(&out).unwrap();
    out
}

/// One TREC line's (query, document, score).
pub fn trec_scores(path: &Path) -> Vec<(String, String, f64)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 6, "{l}");
            (f[0].to_string(), f[2].to_string(), f[4].parse().unwrap())
        })
        .collect()
}

/// `id → text` of a BEIR jsonl file (`full`: a corpus's "title text", as every command joins
/// them).
pub fn beir_texts(path: &Path, full: bool) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let text = v["text"].as_str().unwrap();
            let title = v["title"].as_str().unwrap_or("");
            let text = if full && !title.is_empty() {
                format!("{title} {text}")
            } else {
                text.to_string()
            };
            (v["_id"].as_str().unwrap().to_string(), text)
        })
        .collect()
}

/// A two-step cross-encoder training config on the bundled sample (max length 32, 4 dev
/// queries × top 8) training `base` into `output_dir`.
pub fn tiny_train_config(output_dir: &Path, base: &Path) -> String {
    format!(
        "[run]\noutput_dir = {:?}\nseed = 7\n\
         [model]\nkind = \"cross_encoder\"\nbase = {:?}\nmax_length = 32\n\
         [data]\ndir = {:?}\nnegatives = 1\nnegative_pool = 5\nmax_dev_queries = 4\n\
         [train]\nmax_steps = 2\nbatch_size = 2\nlearning_rate = 1e-4\nlog_every_steps = 1\n\
         [eval]\nevery_steps = 0\ntop_k = 8\n\
         [checkpoint]\nevery_steps = 0\n\
         [loss]\nloss = \"listnet\"\n",
        output_dir.to_str().unwrap(),
        base.to_str().unwrap(),
        root().join("data/sample").to_str().unwrap()
    )
}

/// A running `rankforge serve`; dropping it kills and reaps the process, so a failing
/// assertion never leaves a server behind.
pub struct Server {
    child: std::process::Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rankforge serve --model MODEL` on a free loopback port, with the address it printed.
pub fn spawn_server(model: &Path) -> Server {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rankforge"))
        .args(["serve", "--port", "0", "--model", model.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line.split("on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap().to_string();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Server { child, addr };
        }
        printed.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("rankforge serve exited before listening: {printed:?}");
}

/// POSTs `body` as JSON to `http://addr{path}` (HTTP/1.1, one request per connection) and
/// returns the 200 response's JSON.
pub fn post_json(addr: &str, path: &str, body: &Value) -> Value {
    use std::io::{Read, Write};
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Runs `embed --model MODEL` (plus `extra` flags) on `texts` (a JSON array of strings) in
/// `dir`, and checks every embedding against `want` (an array of arrays) within 1e-5.
pub fn assert_embed_matches(dir: &Path, model: &Path, texts: &Value, want: &Value, extra: &[&str]) {
    let rows: Vec<Value> = texts
        .as_array()
        .unwrap()
        .iter()
        .map(|t| serde_json::json!({ "text": t }))
        .collect();
    let input = dir.join("texts.jsonl");
    write_jsonl(&input, &rows);
    let output = dir.join("emb.jsonl");
    let mut args = vec![
        "embed",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&args);
    let got = read_field(&output, "embedding");
    let want = want.as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (i, (got, want)) in got.iter().zip(want).enumerate() {
        let diff = super::model_common::max_abs_diff(&f32s(got), &f32s(want));
        assert!(diff <= 1e-5, "embedding {i}: max abs diff {diff}");
    }
}
