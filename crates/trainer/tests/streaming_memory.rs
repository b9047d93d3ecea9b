//! Bounded memory: a training file several times larger than a memory cap trains within it.
//!
//! The test writes two seeded sentence-transformers triplet files (`query`, `positive`,
//! `negative` per jsonl line) of the same shape: a small one (~2 MB) and a large one
//! (~220 MB), and trains a few steps of the tiny cross-encoder on each in a child process (this
//! test binary re-run on [`child_trains_from_the_config_in_the_environment`]), which reports
//! its peak resident set (`VmHWM` of `/proc/self/status`) after training. The large file's
//! peak may exceed the small file's by at most [`CAP_MB`].
//!
//! Why the cap is honest: the large file holds ~220 MB of text (every byte distinct text
//! drawn from a seeded generator). Loading it whole — as `String`s of its records, or as the
//! file's bytes — would put at least those 220 MB into the resident set, far over the 60 MB
//! cap; a stream keeps only one shuffle window (`shuffle_buffer` = 2,000 rows ≈ 4.4 MB) plus
//! the reader's index of block offsets. The small file's run measures everything else (the
//! test harness, the model, burn's allocations for the same batches) as the baseline.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use rankforge_trainer::{train, TrainConfig, TrainOptions};

/// Peak RSS over the small-file run's that the large file's run may use, in MB.
const CAP_MB: u64 = 60;
/// Bytes of text per record (query + positive + negative) and records per file.
const RECORD_BYTES: usize = 2_200;
const LARGE_ROWS: usize = 100_000;
const SMALL_ROWS: usize = 1_000;

const CONFIG_VAR: &str = "RANKFORGE_TEST_STREAM_CONFIG";
const REPORT_VAR: &str = "RANKFORGE_TEST_STREAM_REPORT";

/// Seeded words (xorshift), so every record's text is distinct.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn text(&mut self, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes + 16);
        while out.len() < bytes {
            let word = self.next();
            // Some words the tiny tokenizer knows, the rest unknown.
            if word.is_multiple_of(4) {
                out.push_str(&format!("t{}w{} ", word % 6, (word >> 8) % 5));
            } else {
                out.push_str(&format!("x{:x} ", word >> 20));
            }
        }
        out
    }
}

fn write_triplets(path: &Path, rows: usize, seed: u64) -> u64 {
    let mut words = Words(seed | 1);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let part = RECORD_BYTES / 3;
    for _ in 0..rows {
        let line = serde_json::json!({
            "query": words.text(part / 4),
            "positive": words.text(part + part / 2),
            "negative": words.text(part + part / 4),
        });
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn config_text(base: &Path, file: &Path, out: &Path) -> String {
    format!(
        r#"
[run]
output_dir = "{out}"
seed = 3

[model]
kind = "cross_encoder"
base = "{base}"
max_length = 32

[data]
train_file = "{file}"
negatives = 1
shuffle_buffer = 2000
block_rows = 500

[train]
max_steps = 4
batch_size = 4
learning_rate = 1e-3

[checkpoint]
every_steps = 2

[loss]
loss = "listnet"
"#,
        out = out.display(),
        base = base.display(),
        file = file.display(),
    )
}

/// Runs this test binary's child test on `config`; returns the child's peak RSS in kB.
fn peak_rss_of_child(config: &Path, report: &Path) -> u64 {
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_trains_from_the_config_in_the_environment",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CONFIG_VAR, config)
        .env(REPORT_VAR, report)
        .status()
        .unwrap();
    assert!(status.success(), "child run failed: {status}");
    std::fs::read_to_string(report)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// The child: trains from the config named in the environment and writes its peak RSS (kB).
#[test]
#[ignore = "run as a child process by a_file_larger_than_the_cap_trains_within_it"]
fn child_trains_from_the_config_in_the_environment() {
    let config = PathBuf::from(std::env::var(CONFIG_VAR).unwrap());
    let report = PathBuf::from(std::env::var(REPORT_VAR).unwrap());
    let config = TrainConfig::from_file(&config).unwrap();
    let summary = train::<common::CpuAutodiff>(
        &config,
        &TrainOptions {
            quiet: true,
            ..Default::default()
        },
        &Default::default(),
    )
    .unwrap();
    assert_eq!(summary.steps, 4);
    std::fs::write(report, vm_hwm_kb().to_string()).unwrap();
}

#[test]
#[cfg(target_os = "linux")]
fn a_file_larger_than_the_cap_trains_within_it() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    common::write_base_model(&base);
    let mut peaks = Vec::new();
    for (name, rows) in [("small", SMALL_ROWS), ("large", LARGE_ROWS)] {
        let file = tmp.path().join(format!("{name}.jsonl"));
        let bytes = write_triplets(&file, rows, 11);
        let config = tmp.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            config_text(&base, &file, &tmp.path().join(format!("run-{name}"))),
        )
        .unwrap();
        let peak = peak_rss_of_child(&config, &tmp.path().join(format!("{name}.rss")));
        eprintln!(
            "{name}: {:.0} MB file, peak RSS {:.1} MB",
            bytes as f64 / 1e6,
            peak as f64 / 1024.0
        );
        peaks.push((bytes, peak));
        std::fs::remove_file(&file).unwrap();
    }
    let (large_bytes, large_peak) = peaks[1];
    let (_, small_peak) = peaks[0];
    assert!(
        large_bytes > 3 * CAP_MB * 1_000_000,
        "the file ({large_bytes} bytes) must be several times the cap"
    );
    let over = large_peak.saturating_sub(small_peak) / 1024;
    assert!(
        over <= CAP_MB,
        "peak RSS {} MB on the large file vs {} MB on the small one: {over} MB over, cap {CAP_MB}",
        large_peak / 1024,
        small_peak / 1024
    );
}
