//! BM25 speed benchmark (not a test): index build time and queries/s, single-threaded and on
//! all threads, on BEIR SciFact and on a synthetic Zipfian corpus. Its Python twin is
//! `scripts/reference/bm25_bench.py`; `scripts/bench_bm25.sh` runs both back to back.
//!
//! ```text
//! cargo bench -p rankforge-mining --bench bm25 -- generate DIR [--docs N] [--queries N]
//! cargo bench -p rankforge-mining --bench bm25 -- run --name NAME --corpus C.jsonl --queries Q.jsonl
//!       [--runs R] [--build-runs B] [--k K] [--json OUT] [--stream] [--all-threads-only]
//! ```
//!
//! `--stream` reads the corpus in batches into a [`Bm25Builder`] instead of holding it (the
//! build time then includes reading and parsing the file; `read_s` says how much of it that
//! was); `--all-threads-only` skips the single-thread build and search (large corpora).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use std::io::BufRead;

use rankforge_data::{Corpus, Document, Queries};
use rankforge_mining::bm25::Bm25Builder;
use rankforge_mining::{Bm25Config, Bm25Index};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("generate") => generate(&args[1..]),
        Some("run") => run(&args[1..]),
        _ => {
            eprintln!("usage: bm25 generate DIR [--docs N] [--queries N] | bm25 run --name NAME --corpus FILE --queries FILE [--runs R] [--build-runs B] [--k K] [--json OUT]");
            eprintln!("(no arguments given: nothing to do)");
        }
    }
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("bad value for {name}")))
        .unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn run(args: &[String]) {
    let name: String = flag(args, "--name", "corpus".to_string());
    let corpus_path: PathBuf = flag(args, "--corpus", PathBuf::new());
    let queries_path: PathBuf = flag(args, "--queries", PathBuf::new());
    let runs: usize = flag(args, "--runs", 3);
    let build_runs: usize = flag(args, "--build-runs", runs);
    let k: usize = flag(args, "--k", 10);
    let json_out: Option<PathBuf> = args
        .iter()
        .position(|a| a == "--json")
        .map(|i| PathBuf::from(&args[i + 1]));

    let stream = args.iter().any(|a| a == "--stream");
    let all_only = args.iter().any(|a| a == "--all-threads-only");
    let t = Instant::now();
    let corpus = (!stream).then(|| Corpus::read_beir(&corpus_path).expect("corpus"));
    let queries = Queries::read_beir(&queries_path).expect("queries");
    let read_s = t.elapsed().as_secs_f64();
    eprintln!(
        "[{name}] read {} documents, {} queries in {read_s:.1}s",
        corpus.as_ref().map_or(0, |c| c.len()),
        queries.len(),
    );
    let rss_before_build_mb = status_mb("VmRSS:");
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let all = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let config = Bm25Config::default();

    let mut build_times = Vec::new();
    let mut build_times_1t = Vec::new();
    let mut stream_read_s = Vec::new();
    let mut index = None;
    for _ in 0..build_runs {
        drop(index.take()); // free the previous index before building the next
        if let Some(corpus) = &corpus {
            if !all_only {
                let t = Instant::now();
                let built =
                    one.install(|| Bm25Index::build(corpus.documents(), &config, false).unwrap());
                build_times_1t.push(t.elapsed().as_secs_f64());
                drop(built);
            }
            let t = Instant::now();
            index =
                Some(all.install(|| Bm25Index::build(corpus.documents(), &config, false).unwrap()));
            build_times.push(t.elapsed().as_secs_f64());
        } else {
            let t = Instant::now();
            let (built, read) = all.install(|| build_streaming(&corpus_path, &config));
            build_times.push(t.elapsed().as_secs_f64());
            stream_read_s.push(read);
            index = Some(built);
        }
    }
    let documents = index.as_ref().map_or(0, |i| i.num_docs());
    let rss_after_build_mb = status_mb("VmRSS:");
    let index = index.expect("at least one build");
    let mut qps_1t = Vec::new();
    let mut qps_all = Vec::new();
    let mut checksum = 0.0f64;
    for _ in 0..runs {
        if !all_only {
            let t = Instant::now();
            let results = one.install(|| index.search_batch(&texts, k));
            qps_1t.push(texts.len() as f64 / t.elapsed().as_secs_f64());
            checksum = results.iter().flatten().map(|h| h.score as f64).sum();
        } else {
            checksum = f64::NAN;
        }
        let t = Instant::now();
        let results = all.install(|| index.search_batch(&texts, k));
        qps_all.push(texts.len() as f64 / t.elapsed().as_secs_f64());
        let sum: f64 = results.iter().flatten().map(|h| h.score as f64).sum();
        if checksum.is_nan() {
            checksum = sum;
        }
        assert!(
            (results
                .iter()
                .flatten()
                .map(|h| h.score as f64)
                .sum::<f64>()
                - checksum)
                .abs()
                < 1e-6
        );
    }
    let report = serde_json::json!({
        "engine": "rankforge",
        "name": name,
        "documents": documents,
        "streamed": stream,
        "read_s": read_s,
        "stream_read_s": stream_read_s,
        "rss_before_build_mb": rss_before_build_mb,
        "rss_after_build_mb": rss_after_build_mb,
        "queries": texts.len(),
        "k": k,
        "threads": threads,
        "runs": runs,
        "build_runs": build_runs,
        "build_s_median": median(build_times.clone()),
        "build_s_all": build_times,
        "build_1thread_s_median": if build_times_1t.is_empty() { None } else { Some(median(build_times_1t.clone())) },
        "qps_1thread_median": if qps_1t.is_empty() { None } else { Some(median(qps_1t.clone())) },
        "qps_1thread_all": qps_1t,
        "qps_all_threads_median": median(qps_all.clone()),
        "qps_all_threads_all": qps_all,
        "index_terms": index.num_terms(),
        "index_postings": index.num_postings(),
        "index_memory_mb": index.memory_bytes() as f64 / 1e6,
        "index_bytes_per_doc": index.memory_bytes() as f64 / documents.max(1) as f64,
        "peak_rss_mb": peak_rss_mb(),
        "top_k_score_sum": checksum,
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    if let Some(path) = json_out {
        std::fs::write(path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
}

/// Indexes a BEIR corpus.jsonl read in batches of 65,536 documents, never holding more than
/// one batch of texts. Returns the index and the seconds spent reading and parsing.
fn build_streaming(path: &PathBuf, config: &Bm25Config) -> (Bm25Index, f64) {
    const BATCH: usize = 1 << 16;
    let file = std::fs::File::open(path).expect("corpus");
    let mut lines = std::io::BufReader::with_capacity(1 << 22, file).lines();
    let mut builder = Bm25Builder::new(config).unwrap();
    let mut batch: Vec<Document> = Vec::with_capacity(BATCH);
    let mut read = 0.0;
    loop {
        let t = Instant::now();
        batch.clear();
        for line in lines.by_ref() {
            let line = line.expect("corpus line");
            if line.trim().is_empty() {
                continue;
            }
            batch.push(serde_json::from_str(&line).expect("a BEIR corpus line"));
            if batch.len() == BATCH {
                break;
            }
        }
        read += t.elapsed().as_secs_f64();
        if batch.is_empty() {
            break;
        }
        builder.add(&batch).unwrap();
    }
    (builder.finish().unwrap(), read)
}

/// splitmix64: a tiny, well-mixed, reproducible generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const VOCABULARY: usize = 200_000;
const ZIPF_EXPONENT: f64 = 1.07;

/// The word of Zipf rank `rank` (0-based): two or three consonant-vowel syllables, so no word
/// is a stop word or shorter than four letters.
fn word(rank: usize) -> String {
    const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
    const VOWELS: &[u8] = b"aeiou";
    let syllables = CONSONANTS.len() * VOWELS.len();
    let mut n = rank;
    let count = if n < syllables * syllables { 2 } else { 3 };
    if count == 3 {
        n -= syllables * syllables;
    }
    let mut out = String::new();
    for _ in 0..count {
        let s = n % syllables;
        n /= syllables;
        out.push(CONSONANTS[s / VOWELS.len()] as char);
        out.push(VOWELS[s % VOWELS.len()] as char);
    }
    out
}

/// Writes `corpus.jsonl` (documents of 20–100 words drawn from a Zipf(1.07) vocabulary of
/// 200,000 words) and `queries.jsonl` (2–6 words, drawn from the same law without its 50
/// most frequent words, which play the part of stop words). Deterministic.
fn generate(args: &[String]) {
    let dir = PathBuf::from(args.first().expect("output directory"));
    let docs: usize = flag(args, "--docs", 1_000_000);
    let num_queries: usize = flag(args, "--queries", 1000);
    std::fs::create_dir_all(&dir).unwrap();
    let words: Vec<String> = (0..VOCABULARY).map(word).collect();
    let mut cdf = Vec::with_capacity(VOCABULARY);
    let mut total = 0.0;
    for r in 0..VOCABULARY {
        total += 1.0 / ((r + 1) as f64).powf(ZIPF_EXPONENT);
        cdf.push(total);
    }
    let mut rng = SplitMix(20_240_601);
    let draw = |rng: &mut SplitMix| {
        let u = rng.unit() * total;
        cdf.partition_point(|&c| c < u).min(VOCABULARY - 1)
    };
    let t = Instant::now();
    let mut out = BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(dir.join("corpus.jsonl")).unwrap(),
    );
    let mut text = String::new();
    for i in 0..docs {
        text.clear();
        let len = 20 + (rng.next() % 81) as usize;
        for j in 0..len {
            if j > 0 {
                text.push(' ');
            }
            text.push_str(&words[draw(&mut rng)]);
        }
        writeln!(
            out,
            "{{\"_id\":\"s{i}\",\"title\":\"\",\"text\":\"{text}\"}}"
        )
        .unwrap();
    }
    out.flush().unwrap();
    let mut out = BufWriter::new(std::fs::File::create(dir.join("queries.jsonl")).unwrap());
    for i in 0..num_queries {
        text.clear();
        let len = 2 + (rng.next() % 5) as usize;
        for j in 0..len {
            let mut rank = draw(&mut rng);
            while rank < 50 {
                rank = draw(&mut rng);
            }
            if j > 0 {
                text.push(' ');
            }
            text.push_str(&words[rank]);
        }
        writeln!(out, "{{\"_id\":\"q{i}\",\"text\":\"{text}\"}}").unwrap();
    }
    out.flush().unwrap();
    eprintln!(
        "wrote {docs} documents and {num_queries} queries to {} in {:.1}s",
        dir.display(),
        t.elapsed().as_secs_f64()
    );
}
