"""bm25s side of `scripts/bench_scale.sh`: one index build and one retrieval of every query's top
k on all threads, with the settings of `scripts/reference/bm25_bench.py` (Lucene BM25, k1 0.9,
b 0.4, bm25s English stop words, Snowball English via PyStemmer). Prints one JSON object:
read / build / search seconds (search stops after --max-search-s, default 150), queries/s, peak RSS, RSS after reading the corpus, and the
index's own arrays (scores CSC matrix + vocabulary) in bytes.

usage: $(bash scripts/reference/setup.sh) scripts/reference/bm25_scale.py --corpus corpus.jsonl
           --queries queries.jsonl [--k 100] [--json OUT]
"""

import argparse
import json
import os
import resource
import sys
import time

import bm25s
import Stemmer


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--json", default=None)
    parser.add_argument("--max-search-s", type=float, default=150.0,
                        help="stop searching after the block of queries that passes this many seconds "
                             "(bm25s scores every document for every query: ~10 QPS at 1M); qps is "
                             "over the queries searched, reported as searched_queries")
    args = parser.parse_args()

    t = time.perf_counter()
    texts = []
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                texts.append(d.get("title", "") + " " + d["text"])
    with open(args.queries, encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for line in f if line.strip()]
    read_s = time.perf_counter() - t
    rss_after_read = rss_mb()
    print(f"read {len(texts)} documents, {len(queries)} queries in {read_s:.1f}s", file=sys.stderr, flush=True)

    stemmer = Stemmer.Stemmer("english")
    threads = os.cpu_count() or 1
    t = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25(method="lucene", k1=0.9, b=0.4)
    retriever.index(tokens, show_progress=False)
    build_s = time.perf_counter() - t
    del tokens
    rss_after_build = rss_mb()
    print(f"built in {build_s:.1f}s", file=sys.stderr, flush=True)
    index_bytes = sum(a.nbytes for a in retriever.scores.values() if hasattr(a, "nbytes"))
    index_bytes += sum(len(k) + 60 for k in retriever.vocab_dict)  # str + dict slot, roughly

    t = time.perf_counter()
    searched, score_sum, block = 0, 0.0, 100
    while searched < len(queries):
        q_tokens = bm25s.tokenize(queries[searched:searched + block], stopwords="en", stemmer=stemmer,
                                  show_progress=False)
        docs, scores = retriever.retrieve(q_tokens, k=args.k, n_threads=threads, show_progress=False)
        searched += len(q_tokens.ids)
        score_sum += float(scores.sum())
        if time.perf_counter() - t > args.max_search_s:
            break
    search_s = time.perf_counter() - t

    report = {
        "engine": f"bm25s {bm25s.__version__} (numpy backend)",
        "documents": len(texts),
        "queries": len(queries),
        "k": args.k,
        "threads": threads,
        "read_s": read_s,
        "build_s": build_s,
        "search_s": search_s,
        "searched_queries": searched,
        "qps": searched / search_s,
        "rss_after_read_mb": rss_after_read,
        "rss_after_build_mb": rss_after_build,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "index_bytes": index_bytes,
        "index_bytes_per_doc": index_bytes / max(len(texts), 1),
        "top_k_score_sum": score_sum,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
