//! `--shard I/N` and `rankforge merge` (issue 22 §3): each of `retrieve` (BM25, dense),
//! `embed` (jsonl and `--multi-vector`), `mine` and `rerank` run unsplit and split N ways (N = 1,
//! 3, and more shards than items, so that some shards are empty), the shards merged, and the
//! merged file compared byte for byte with the unsplit output; then the refusals (bad `--shard`
//! values, overlapping, corrupt, missing or mixed merge inputs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn sample(file: &str) -> String {
    s(&root().join("data/sample").join(file))
}

fn fixture(path: &str) -> String {
    s(&root().join("tests/fixtures").join(path))
}

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

fn rankforge_env(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rankforge"));
    command.args(args).env_remove("RANKFORGE_SHARD");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("rankforge runs")
}

fn rankforge(args: &[String]) -> Output {
    rankforge_env(args, &[])
}

fn ok(args: &[String]) -> String {
    let out = rankforge(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "rankforge {args:?} failed: {stderr}");
    stderr
}

fn fails(args: &[String]) -> String {
    let out = rankforge(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "rankforge {args:?} should fail");
    stderr
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn with(args: &[String], more: &[&str]) -> Vec<String> {
    args.iter().cloned().chain(strings(more)).collect()
}

/// Runs `args` unsplit into `whole`, then for each N of `splits` as N shards (`--shard I/N`,
/// the last split through the `RANKFORGE_SHARD` variable instead of the flag) merged with
/// `rankforge merge`, and checks that every merge is byte-identical to `whole`. Returns the
/// unsplit output's bytes.
fn check_split(dir: &Path, name: &str, args: &[String], splits: &[usize]) -> Vec<u8> {
    check_split_as(dir, name, args, splits, Same::Bytes)
}

/// How a merged output must match the unsplit one.
#[derive(Clone, Copy, PartialEq)]
enum Same {
    Bytes,
    /// The same text, except numbers, which may differ by this much (model scores with
    /// batches of several sequences: a sequence's padding depends on its batch neighbours).
    Within(f64),
}

/// `a` and `b` alike but for numbers within `tolerance`.
fn close(a: &[u8], b: &[u8], tolerance: f64) -> Result<(), String> {
    let split = |x: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(x)
            .split(|c: char| c.is_whitespace() || ",[]{}:".contains(c))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (split(a), split(b));
    if a.len() != b.len() {
        return Err(format!("{} tokens vs {}", a.len(), b.len()));
    }
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(&b) {
        match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(u), Ok(v)) if x.contains('.') || y.contains('.') => {
                worst = worst.max((u - v).abs());
                if (u - v).abs() > tolerance {
                    return Err(format!("{x} vs {y}"));
                }
            }
            _ if x == y => {}
            _ => return Err(format!("`{x}` vs `{y}`")),
        }
    }
    eprintln!("largest difference: {worst:e}");
    Ok(())
}

fn check_split_as(
    dir: &Path,
    name: &str,
    args: &[String],
    splits: &[usize],
    same: Same,
) -> Vec<u8> {
    let whole = dir.join(format!("{name}-whole"));
    ok(&with(args, &["--output", &s(&whole)]));
    let expected = std::fs::read(&whole).unwrap();
    assert!(!expected.is_empty(), "{name}: the unsplit output is empty");
    for (which, &n) in splits.iter().enumerate() {
        let by_env = which + 1 == splits.len();
        let mut shards = Vec::new();
        for i in 0..n {
            // Zero-padded, as a job template should name them, so that a glob lists them in
            // shard order.
            let shard = dir.join(format!("{name}-{n}-{i:03}"));
            let spec = format!("{i}/{n}");
            let out = if by_env {
                rankforge_env(
                    &with(args, &["--output", &s(&shard)]),
                    &[("RANKFORGE_SHARD", &spec)],
                )
            } else {
                rankforge(&with(args, &["--output", &s(&shard), "--shard", &spec]))
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{name}: shard {spec} failed: {stderr}"
            );
            assert!(
                stderr.contains(&format!("shard {spec}:")),
                "{name}: shard {spec} does not say which it is: {stderr}"
            );
            shards.push(shard);
        }
        let merged = dir.join(format!("{name}-{n}-merged"));
        let mut merge = strings(&["merge", "--output", &s(&merged), "--inputs"]);
        merge.extend(shards.iter().map(|p| s(p)));
        ok(&merge);
        let got = std::fs::read(&merged).unwrap();
        if let Same::Within(tolerance) = same {
            if let Err(e) = close(&expected, &got, tolerance) {
                panic!("{name}: {n} shards merged differ from the unsplit output: {e}");
            }
            continue;
        }
        assert!(
            got == expected,
            "{name}: {n} shards merged differ from the unsplit output:\n--- unsplit\n{}\n--- merged\n{}",
            String::from_utf8_lossy(&expected[..expected.len().min(2000)]),
            String::from_utf8_lossy(&got[..got.len().min(2000)])
        );
        if n > 1 {
            let sizes: Vec<u64> = shards
                .iter()
                .map(|p| std::fs::metadata(p).unwrap().len())
                .collect();
            assert!(
                sizes.iter().filter(|&&b| b > 0).count() > 1,
                "{name}: the work was not split: {sizes:?}"
            );
        }
    }
    expected
}

/// How many of the N shard outputs of `name` are empty files (`header` bytes long).
fn empty_shards(dir: &Path, name: &str, n: usize, header: u64) -> usize {
    (0..n)
        .filter(|i| {
            let path = dir.join(format!("{name}-{n}-{i:03}"));
            std::fs::metadata(path).unwrap().len() == header
        })
        .count()
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

fn distinct_queries(run: &[u8]) -> usize {
    let text = String::from_utf8_lossy(run);
    let mut ids: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    ids.dedup();
    ids.len()
}

fn retrieve_args(method: &str) -> Vec<String> {
    strings(&[
        "retrieve",
        "--method",
        method,
        "--corpus",
        &sample("corpus.jsonl"),
        "--queries",
        &sample("queries.jsonl"),
        "--top-k",
        "10",
        "--quiet",
    ])
}

#[test]
fn bm25_retrieval_split_by_query_merges_to_the_unsplit_run() {
    let tmp = tempfile::tempdir().unwrap();
    let args = retrieve_args("bm25");
    let whole = check_split(tmp.path(), "bm25", &args, &[1, 3, 7]);
    assert_eq!(
        distinct_queries(&whole),
        lines(&root().join("data/sample/queries.jsonl"))
    );

    // With --qrels (the judged queries are split), and more shards than queries: the empty
    // shards write empty runs, and merge takes them.
    let judged = with(&args, &["--qrels", &sample("qrels/dev.tsv")]);
    let whole = check_split(tmp.path(), "bm25-dev", &judged, &[3]);
    let n = distinct_queries(&whole) + 4;
    check_split(tmp.path(), "bm25-dev-many", &judged, &[n]);
    assert_eq!(empty_shards(tmp.path(), "bm25-dev-many", n, 0), 4);

    // merge --top-k keeps each query's best k: the unsplit top 10 cut to 5 per query.
    let mut merge = strings(&["merge", "--top-k", "5", "--output"]);
    let top5 = tmp.path().join("bm25-top5");
    merge.push(s(&top5));
    merge.push("--inputs".into());
    merge.extend((0..3).map(|i| s(&tmp.path().join(format!("bm25-3-{i:03}")))));
    ok(&merge);
    let mut expected = String::new();
    let mut last = (String::new(), 0);
    for line in String::from_utf8(std::fs::read(tmp.path().join("bm25-whole")).unwrap())
        .unwrap()
        .lines()
    {
        let qid = line.split_whitespace().next().unwrap().to_string();
        if qid != last.0 {
            last = (qid, 0);
        }
        last.1 += 1;
        if last.1 <= 5 {
            expected.push_str(line);
            expected.push('\n');
        }
    }
    assert_eq!(std::fs::read_to_string(&top5).unwrap(), expected);
}

#[test]
fn dense_retrieval_split_by_query_merges_to_the_unsplit_run() {
    let tmp = tempfile::tempdir().unwrap();
    let args = with(
        &retrieve_args("dense"),
        &[
            "--model",
            &fixture("tiny-models/xlm-roberta-bi"),
            "--no-cache",
            "--qrels",
            &sample("qrels/dev.tsv"),
        ],
    );
    // Queries of one token length are embedded together (no padding), so a query's vector
    // does not depend on the queries that share its shard.
    check_split(tmp.path(), "dense", &args, &[1, 3]);
}

#[test]
fn colbert_retrieval_split_by_query_merges_to_the_unsplit_run() {
    let tmp = tempfile::tempdir().unwrap();
    let args = with(
        &retrieve_args("colbert"),
        &[
            "--model",
            &fixture("colbert/pylate-tiny"),
            "--qrels",
            &sample("qrels/dev.tsv"),
        ],
    );
    check_split(tmp.path(), "colbert", &args, &[3]);
}

/// Corpus texts as an `embed` input (`{"text"}` per line): the first `n`, then the same again
/// in reverse order (so that texts of one length share batches).
fn texts(dir: &Path, n: usize) -> PathBuf {
    let corpus = std::fs::read_to_string(root().join("data/sample/corpus.jsonl")).unwrap();
    let mut rows: Vec<String> = corpus
        .lines()
        .take(n)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            serde_json::json!({ "text": v["text"] }).to_string() + "\n"
        })
        .collect();
    rows.extend(rows.clone().into_iter().rev());
    let rows: String = rows.concat();
    let path = dir.join("texts.jsonl");
    std::fs::write(&path, rows).unwrap();
    path
}

#[test]
fn embed_split_by_text_merges_to_the_unsplit_embeddings() {
    let tmp = tempfile::tempdir().unwrap();
    let input = texts(tmp.path(), 20);
    let args = strings(&[
        "embed",
        "--model",
        &fixture("tiny-models/xlm-roberta-bi"),
        "--input",
        &s(&input),
        "--quiet",
    ]);
    // embed batches texts of one length together (no padding), so the split does not change
    // a text's bits, at any batch size.
    let whole = check_split(tmp.path(), "embed", &args, &[1, 3, 43]);
    assert_eq!(lines(&tmp.path().join("embed-whole")), 40);
    assert_eq!(empty_shards(tmp.path(), "embed", 43, 0), 3);
    let one = check_split(
        tmp.path(),
        "embed-one",
        &with(&args, &["--batch-size", "1"]),
        &[3],
    );
    assert!(one == whole, "--batch-size 1 changed the embeddings");
}

#[test]
fn multi_vector_embed_split_by_text_merges_to_the_unsplit_file() {
    let tmp = tempfile::tempdir().unwrap();
    let input = texts(tmp.path(), 12);
    let args = strings(&[
        "embed",
        "--model",
        &fixture("colbert/pylate-tiny"),
        "--input",
        &s(&input),
        "--multi-vector",
        "--quiet",
    ]);
    let whole = check_split(tmp.path(), "multi", &args, &[1, 3, 27]);
    assert_eq!(empty_shards(tmp.path(), "multi", 27, 20), 3);
    assert_eq!(&whole[..4], b"RFMV");
    assert_eq!(u64::from_le_bytes(whole[12..20].try_into().unwrap()), 24);
    // Queries too (every query gets query_length vectors).
    let queries = with(&args, &["--queries"]);
    check_split(tmp.path(), "multi-q", &queries, &[5]);
}

fn mine_args() -> Vec<String> {
    strings(&[
        "mine",
        "--corpus",
        &sample("corpus.jsonl"),
        "--queries",
        &sample("queries.jsonl"),
        "--qrels",
        &sample("qrels/train.tsv"),
        "--retriever",
        "bm25",
        "--num-negatives",
        "3",
        "--range-min",
        "1",
        "--range-max",
        "20",
        "--sampling",
        "random",
        "--seed",
        "7",
        "--quiet",
    ])
}

#[test]
fn mining_split_by_judged_query_merges_to_the_unsplit_records() {
    let tmp = tempfile::tempdir().unwrap();
    let args = mine_args();
    check_split(tmp.path(), "mine", &args, &[1, 3]);
    let judged: std::collections::BTreeSet<String> =
        std::fs::read_to_string(root().join("data/sample/qrels/train.tsv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect();
    check_split(
        tmp.path(),
        "mine-many",
        &with(&args, &["--format", "n_tuple_scores"]),
        &[judged.len() + 3],
    );
}

#[test]
fn mining_with_a_rescorer_split_by_judged_query_merges_to_the_unsplit_records() {
    let tmp = tempfile::tempdir().unwrap();
    let args = with(
        &mine_args(),
        &[
            "--rescorer",
            &fixture("tiny-models/electra-ce"),
            "--format",
            "flag_embedding",
        ],
    );
    // The rescorer scores one query's pairs at a time.
    check_split(tmp.path(), "mine-rescored", &args, &[3]);
}

#[test]
fn mining_with_a_bi_encoder_split_by_judged_query_merges_to_the_unsplit_records() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = mine_args();
    let at = args.iter().position(|a| a == "bm25").unwrap();
    args[at] = "fused".into();
    let args = with(
        &args,
        &[
            "--model",
            &fixture("tiny-models/xlm-roberta-bi"),
            "--format",
            "n_tuple_scores",
        ],
    );
    check_split(tmp.path(), "mine-fused", &args, &[3]);
}

#[test]
fn rerank_split_by_query_merges_to_the_unsplit_run() {
    let tmp = tempfile::tempdir().unwrap();
    let first_stage = tmp.path().join("bm25.trec");
    ok(&with(
        &retrieve_args("bm25"),
        &[
            "--qrels",
            &sample("qrels/dev.tsv"),
            "--output",
            &s(&first_stage),
        ],
    ));
    let args = strings(&[
        "rerank",
        "--model",
        &fixture("tiny-models/electra-ce"),
        "--corpus",
        &sample("corpus.jsonl"),
        "--queries",
        &sample("queries.jsonl"),
        "--run",
        &s(&first_stage),
        "--top-k",
        "8",
        "--quiet",
    ]);
    // Each query's candidates are scored on their own.
    let whole = check_split(tmp.path(), "rerank", &args, &[1, 3]);
    check_split(
        tmp.path(),
        "rerank-many",
        &args,
        &[distinct_queries(&whole) + 2],
    );

    // A ColBERT scores the whole run at once (each document encoded once, in batches across
    // queries): its shards agree with the unsplit run to the last bits of an f32.
    let colbert = strings(&[
        "rerank",
        "--model",
        &fixture("colbert/pylate-tiny"),
        "--corpus",
        &sample("corpus.jsonl"),
        "--queries",
        &sample("queries.jsonl"),
        "--run",
        &s(&first_stage),
        "--top-k",
        "8",
        "--quiet",
    ]);
    check_split_as(
        tmp.path(),
        "rerank-colbert",
        &colbert,
        &[3],
        Same::Within(1e-5),
    );
}

#[test]
fn bad_shard_values_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = s(&tmp.path().join("run.trec"));
    let args = with(&retrieve_args("bm25"), &["--output", &out]);
    for bad in ["3/3", "4/3", "0/0", "-1/3", "1", "a/3", "1/b", "1/2/3", ""] {
        let stderr = fails(&with(&args, &[&format!("--shard={bad}")]));
        assert!(
            stderr.contains("--shard") && stderr.contains("I/N"),
            "--shard {bad:?}: {stderr}"
        );
    }
    let out = rankforge_env(&args, &[("RANKFORGE_SHARD", "8/8")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("8/8") && stderr.contains("0 to 7"),
        "{stderr}"
    );
    assert!(!tmp.path().join("run.trec").exists());
    // The flag wins over the variable.
    let out = rankforge_env(
        &with(&args, &["--shard", "1/2"]),
        &[("RANKFORGE_SHARD", "8/8")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard 1/2:"));
}

fn merge(inputs: &[&Path], output: &Path, more: &[&str]) -> Output {
    let mut args = strings(&["merge", "--output", &s(output)]);
    args.extend(strings(more));
    args.push("--inputs".into());
    args.extend(inputs.iter().map(|p| s(p)));
    rankforge(&args)
}

fn merge_fails(inputs: &[&Path], output: &Path, more: &[&str]) -> String {
    let out = merge(inputs, output, more);
    assert!(!out.status.success(), "merge {inputs:?} should fail");
    assert!(
        !output.exists(),
        "a failed merge wrote {}",
        output.display()
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn merge_refuses_overlapping_corrupt_missing_and_mixed_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let write = |name: &str, text: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let out = dir.join("merged");
    let a = write("a.trec", b"q1 Q0 d1 1 2.5 bm25\nq1 Q0 d2 2 1.5 bm25\n");
    let b = write("b.trec", b"q2 Q0 d1 1 3 bm25\n");
    let c = write("c.trec", b"q3 Q0 d4 1 1 bm25\nq1 Q0 d9 1 9 bm25\n");

    // Fine: disjoint queries, ranks rewritten, lists sorted.
    let unsorted = write("u.trec", b"q4 Q0 d1 7 1 x\nq4 Q0 d2 3 2 x\n");
    let ok_out = merge(&[&a, &b, &unsorted], &out, &[]);
    assert!(ok_out.status.success(), "{ok_out:?}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "q1 Q0 d1 1 2.5 bm25\nq1 Q0 d2 2 1.5 bm25\nq2 Q0 d1 1 3 bm25\nq4 Q0 d2 1 2 x\nq4 Q0 d1 2 1 x\n"
    );
    std::fs::remove_file(&out).unwrap();

    // A query in two inputs: both files named.
    let stderr = merge_fails(&[&a, &b, &c], &out, &[]);
    assert!(
        stderr.contains(&format!("{}:2", c.display()))
            && stderr.contains(&s(&a))
            && stderr.contains("`q1`"),
        "{stderr}"
    );
    // The same file twice.
    let stderr = merge_fails(&[&a, &b, &a], &out, &[]);
    assert!(stderr.contains("given twice"), "{stderr}");

    // Corrupt lines: file and line named.
    for (text, says) in [
        (&b"q5 Q0 d1 1 1 t\nq5 Q0 d2 x 0.5 t\n"[..], "rank"),
        (b"q5 Q0 d1 1 1 t\nq5 Q0 d2 2 NaN t\n", "score"),
        (b"q5 Q0 d1 1 1 t\nq5 Q0 d2\n", "columns"),
        (b"q5 Q0 d1 1 1 t\nq5 Q0 d1 2 0.5 t\n", "twice"),
    ] {
        let bad = write("bad.trec", text);
        let stderr = merge_fails(&[&a, &bad], &out, &[]);
        assert!(
            stderr.contains(&format!("{}:2", bad.display())) && stderr.contains(says),
            "{stderr}"
        );
    }

    // A missing shard.
    let missing = dir.join("missing.trec");
    let stderr = merge_fails(&[&a, &missing], &out, &[]);
    assert!(stderr.contains(&s(&missing)), "{stderr}");

    // jsonl: a cut-short last line.
    let j1 = write("a.jsonl", b"{\"embedding\": [1.0, 2.0]}\n");
    let j2 = write(
        "b.jsonl",
        b"{\"embedding\": [3.0, 4.0]}\n{\"embedding\": [5.0,",
    );
    let stderr = merge_fails(&[&j1, &j2], &out, &[]);
    assert!(
        stderr.contains(&format!("{}:2", j2.display())) && stderr.contains("cut short"),
        "{stderr}"
    );
    // Mixed formats, and --top-k for records.
    let stderr = merge_fails(&[&j1, &a], &out, &[]);
    assert!(
        stderr.contains(&s(&a)) && stderr.contains(&s(&j1)),
        "{stderr}"
    );
    let stderr = merge_fails(&[&j1], &out, &["--top-k", "3"]);
    assert!(stderr.contains("--top-k"), "{stderr}");
    let stderr = merge_fails(&[&a], &out, &["--format", "jsonl"]);
    assert!(stderr.contains(&s(&a)), "{stderr}");

    // Multi-vector: a truncated file, and two widths.
    let vectors = |dim: u32, lengths: &[u32]| {
        let mut bytes = b"RFMV".to_vec();
        bytes.extend(1u32.to_le_bytes());
        bytes.extend(dim.to_le_bytes());
        bytes.extend((lengths.len() as u64).to_le_bytes());
        for l in lengths {
            bytes.extend(l.to_le_bytes());
        }
        let values: u32 = lengths.iter().sum::<u32>() * dim;
        for v in 0..values {
            bytes.extend((v as f32).to_le_bytes());
        }
        bytes
    };
    let v1 = write("a.bin", &vectors(2, &[1, 2]));
    let v2 = write("b.bin", &vectors(2, &[3]));
    let v0 = write("empty.bin", &vectors(0, &[]));
    let ok_out = merge(&[&v1, &v0, &v2], &out, &[]);
    assert!(ok_out.status.success(), "{ok_out:?}");
    let mut joined = vectors(2, &[1, 2, 3]);
    // The values of the three texts are those of v1 then v2.
    let header = 20 + 4 * 3;
    joined.truncate(header);
    joined.extend(&vectors(2, &[1, 2])[20 + 8..]);
    joined.extend(&vectors(2, &[3])[20 + 4..]);
    assert_eq!(std::fs::read(&out).unwrap(), joined);
    std::fs::remove_file(&out).unwrap();
    let mut cut = vectors(2, &[1, 2]);
    cut.truncate(cut.len() - 3);
    let cut = write("cut.bin", &cut);
    let stderr = merge_fails(&[&v1, &cut], &out, &[]);
    assert!(
        stderr.contains(&s(&cut)) && stderr.contains("not a complete"),
        "{stderr}"
    );
    let wide = write("wide.bin", &vectors(3, &[1]));
    let stderr = merge_fails(&[&v1, &wide], &out, &[]);
    assert!(stderr.contains("width"), "{stderr}");
}
