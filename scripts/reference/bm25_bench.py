"""bm25s twin of `cargo bench -p rankforge-mining --bench bm25 -- run ...`: index build time and
queries/s (one thread and all threads) with the same settings as rankforge's default BM25
(Lucene variant, k1 0.9, b 0.4, English stop words, Snowball English stemmer), timing query
tokenization + retrieval of the top k, as the Rust side does.

usage: $(bash scripts/reference/setup.sh) scripts/reference/bm25_bench.py --name NAME \
           --corpus corpus.jsonl --queries queries.jsonl [--runs 3] [--build-runs 3] [--k 10] [--json OUT]
"""

import argparse
import json
import os
import resource
import statistics
import time

import bm25s
import Stemmer


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="corpus")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build-runs", type=int, default=None)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    build_runs = args.build_runs if args.build_runs is not None else args.runs

    t = time.perf_counter()
    corpus = read_jsonl(args.corpus)
    texts = [d.get("title", "") + " " + d["text"] for d in corpus]
    del corpus
    queries = [q["text"] for q in read_jsonl(args.queries)]
    print(f"[{args.name}] read {len(texts)} documents, {len(queries)} queries in {time.perf_counter() - t:.1f}s", flush=True)

    stemmer = Stemmer.Stemmer("english")
    threads = os.cpu_count() or 1
    build_times = []
    retriever = None
    for _ in range(build_runs):
        retriever = None
        t = time.perf_counter()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
        retriever = bm25s.BM25(method="lucene", k1=0.9, b=0.4)
        retriever.index(tokens, show_progress=False)
        build_times.append(time.perf_counter() - t)
        del tokens

    def search(n_threads):
        t = time.perf_counter()
        q_tokens = bm25s.tokenize(queries, stopwords="en", stemmer=stemmer, show_progress=False)
        docs, scores = retriever.retrieve(q_tokens, k=args.k, n_threads=n_threads, show_progress=False)
        return len(queries) / (time.perf_counter() - t), float(scores.sum())

    qps_1t, qps_all = [], []
    checksum = 0.0
    for _ in range(args.runs):
        qps, checksum = search(1)
        qps_1t.append(qps)
        qps, _ = search(threads)
        qps_all.append(qps)

    report = {
        "engine": f"bm25s {bm25s.__version__} (numpy backend)",
        "name": args.name,
        "documents": len(texts),
        "queries": len(queries),
        "k": args.k,
        "threads": threads,
        "runs": args.runs,
        "build_runs": build_runs,
        "build_s_median": statistics.median(build_times),
        "build_s_all": build_times,
        "qps_1thread_median": statistics.median(qps_1t),
        "qps_1thread_all": qps_1t,
        "qps_all_threads_median": statistics.median(qps_all),
        "qps_all_threads_all": qps_all,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "top_k_score_sum": checksum,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
