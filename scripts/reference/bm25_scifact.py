"""BM25 reference numbers and a parity fixture from bm25s on BEIR SciFact.

Indexes SciFact (title + " " + text) with bm25s's Lucene variant (k1 0.9, b 0.4, English stop
words, Snowball English stemmer via PyStemmer), reports nDCG@10 on qrels/dev.tsv with
pytrec_eval, and writes tests/fixtures/bm25_scifact.json: the top-10 documents and scores of a
handful of dev queries plus the analysed tokens of a few texts, which the Rust test
`crates/mining/tests/bm25_scifact.rs` compares against.

usage: $(bash scripts/reference/setup.sh) scripts/reference/bm25_scifact.py [--data DIR] [--out FILE]
"""

import argparse
import json
import os
import sys

import bm25s
import numpy as np
import pytrec_eval
import Stemmer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path):
    qrels = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            cols = line.split()
            if i == 0 and cols[0] == "query-id":
                continue
            qrels.setdefault(cols[0], {})[cols[1]] = int(cols[2])
    return qrels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "scifact"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "bm25_scifact.json"))
    parser.add_argument("--fixture-queries", type=int, default=12)
    args = parser.parse_args()

    corpus = read_jsonl(os.path.join(args.data, "corpus.jsonl"))
    queries = {q["_id"]: q["text"] for q in read_jsonl(os.path.join(args.data, "queries.jsonl"))}
    qrels = read_qrels(os.path.join(args.data, "qrels", "dev.tsv"))
    doc_ids = [d["_id"] for d in corpus]
    texts = [d.get("title", "") + " " + d["text"] for d in corpus]

    stemmer = Stemmer.Stemmer("english")
    k1, b = 0.9, 0.4
    retriever = bm25s.BM25(method="lucene", k1=k1, b=b)
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)

    qids = sorted(qrels, key=lambda q: (len(q), q))
    q_tokens = bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=stemmer, show_progress=False)
    k = 100
    results, scores = retriever.retrieve(q_tokens, k=k, show_progress=False)

    run = {}
    for qi, qid in enumerate(qids):
        run[qid] = {doc_ids[int(d)]: float(s) for d, s in zip(results[qi], scores[qi]) if s > 0}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10"})
    per_query = evaluator.evaluate(run)
    ndcg = float(np.mean([m["ndcg_cut_10"] for m in per_query.values()]))
    print(f"bm25s {bm25s.__version__} lucene k1={k1} b={b}: nDCG@10 on scifact dev ({len(qids)} queries) = {ndcg:.4f}")

    fixture_queries = []
    for qi, qid in enumerate(qids[: args.fixture_queries]):
        top = [(doc_ids[int(d)], float(s)) for d, s in zip(results[qi][:10], scores[qi][:10]) if s > 0]
        fixture_queries.append({"query_id": qid, "text": queries[qid], "top10": [{"doc_id": d, "score": s} for d, s in top]})

    samples = [queries[qids[0]], texts[0][:300], "The Running dogs ran to a 5 km Marathon; it's e.g. COVID_19 studies."]
    sample_tokens = bm25s.tokenize(samples, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)

    fixture = {
        "generator": "scripts/reference/bm25_scifact.py",
        "bm25s_version": bm25s.__version__,
        "pystemmer_version": Stemmer.__version__ if hasattr(Stemmer, "__version__") else "unknown",
        "config": {"method": "lucene", "k1": k1, "b": b, "stopwords": "en", "stemmer": "english", "document": "title + ' ' + text"},
        "dev_ndcg_at_10": round(ndcg, 6),
        "num_dev_queries": len(qids),
        "queries": fixture_queries,
        "analyzer_samples": [{"text": t, "tokens": list(toks)} for t, toks in zip(samples, sample_tokens)],
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
