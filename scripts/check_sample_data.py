#!/usr/bin/env python3
"""Checks data/sample (or --data DIR): format and id integrity, and optionally baselines.

Always (standard library only): ids unique, no empty texts, passages 40-120 words and 2-5
sentences, qrels headers and grades, every judged id exists, no query in two splits, 1-3
judgments per query with one grade 2, every query judged.

With --baselines (needs bm25s, PyStemmer and sentence-transformers, e.g. the reference venv
in .cache/venv-ref): nDCG@10 per split for BM25 (bm25s Lucene, k1 0.9, b 0.4, English stop
words and Snowball stemmer, title + text, as in scripts/reference/bm25_scifact.py) and for
dense retrieval with all-MiniLM-L6-v2 (cosine, title + text).

usage: python3 scripts/check_sample_data.py [--data DIR] [--baselines] [--model PATH]
"""

import argparse
import json
import math
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(msg):
    sys.exit(f"check failed: {msg}")


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                fail(f"{path}:{n}: blank line")
            rows.append(json.loads(line))
    return rows


def read_qrels(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines[0] != "query-id\tcorpus-id\tscore" or lines[-1] != "":
        fail(f"{path}: bad header or missing final newline")
    qrels = {}
    for n, line in enumerate(lines[1:-1], 2):
        cols = line.split("\t")
        if len(cols) != 3 or cols[2] not in ("1", "2"):
            fail(f"{path}:{n}: bad row {line!r}")
        if cols[1] in qrels.setdefault(cols[0], {}):
            fail(f"{path}:{n}: duplicate judgment")
        qrels[cols[0]][cols[1]] = int(cols[2])
    return qrels


def validate(data):
    corpus = read_jsonl(os.path.join(data, "corpus.jsonl"))
    queries = read_jsonl(os.path.join(data, "queries.jsonl"))
    doc_ids = [d["_id"] for d in corpus]
    query_ids = [q["_id"] for q in queries]
    if len(set(doc_ids)) != len(doc_ids) or len(set(query_ids)) != len(query_ids):
        fail("duplicate ids")
    for d in corpus:
        if list(d) != ["_id", "title", "text"] or not d["title"].strip() or not d["text"].strip():
            fail(f"document {d.get('_id')}: bad fields or empty text")
        if not 40 <= len(d["text"].split()) <= 120:
            fail(f"document {d['_id']}: {len(d['text'].split())} words")
        if not 2 <= len(re.findall(r"[.!?](?: (?=[A-Z])|$)", d["text"])) <= 5:
            fail(f"document {d['_id']}: not 2-5 sentences")
    if len({d["text"] for d in corpus}) != len(corpus):
        fail("duplicate passage texts")
    for q in queries:
        if list(q) != ["_id", "text"] or not q["text"].strip():
            fail(f"query {q.get('_id')}: bad fields or empty text")
    known_docs, known_queries = set(doc_ids), set(query_ids)
    splits = {}
    for split in ("train", "dev"):
        splits[split] = read_qrels(os.path.join(data, "qrels", f"{split}.tsv"))
        for qid, rels in splits[split].items():
            if qid not in known_queries:
                fail(f"{split}: unknown query {qid}")
            if not 1 <= len(rels) <= 3 or 2 not in rels.values():
                fail(f"{split}: query {qid} needs 1-3 judgments including a 2")
            for did in rels:
                if did not in known_docs:
                    fail(f"{split}: unknown document {did}")
    if set(splits["train"]) & set(splits["dev"]):
        fail("a query is in both splits")
    unjudged = set(query_ids) - set(splits["train"]) - set(splits["dev"])
    if unjudged:
        fail(f"queries without judgments: {sorted(unjudged)[:5]}")
    words = [len(d["text"].split()) for d in corpus]
    print(
        f"ok: {len(corpus)} documents ({min(words)}-{max(words)} words, mean {sum(words) / len(words):.0f}), "
        f"{len(queries)} queries; train {len(splits['train'])} queries / {sum(map(len, splits['train'].values()))} judgments, "
        f"dev {len(splits['dev'])} queries / {sum(map(len, splits['dev'].values()))} judgments"
    )
    return corpus, {q["_id"]: q["text"] for q in queries}, splits


def ndcg_at_10(ranked, rels):
    dcg = sum((2 ** rels.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(rels.values(), reverse=True)[:10]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg


def baselines(corpus, queries, splits, model_path):
    import bm25s
    import numpy as np
    import Stemmer
    from sentence_transformers import SentenceTransformer

    doc_ids = [d["_id"] for d in corpus]
    texts = [d["title"] + " " + d["text"] for d in corpus]
    stemmer = Stemmer.Stemmer("english")
    bm25 = bm25s.BM25(method="lucene", k1=0.9, b=0.4)
    bm25.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    model = SentenceTransformer(model_path, device="cpu")
    doc_emb = model.encode(texts, normalize_embeddings=True, batch_size=64)

    for split, qrels in splits.items():
        qids = sorted(qrels)
        q_texts = [queries[q] for q in qids]
        res, scores = bm25.retrieve(
            bm25s.tokenize(q_texts, stopwords="en", stemmer=stemmer, show_progress=False), k=10, show_progress=False
        )
        bm = [
            ndcg_at_10([doc_ids[int(d)] for d, s in zip(res[i], scores[i]) if s > 0], qrels[q])
            for i, q in enumerate(qids)
        ]
        sims = model.encode(q_texts, normalize_embeddings=True) @ doc_emb.T
        de = [ndcg_at_10([doc_ids[j] for j in np.argsort(-sims[i])[:10]], qrels[q]) for i, q in enumerate(qids)]
        print(
            f"{split} ({len(qids)} queries) nDCG@10: BM25 {sum(bm) / len(bm):.3f}, "
            f"all-MiniLM-L6-v2 {sum(de) / len(de):.3f}"
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "sample"))
    parser.add_argument("--baselines", action="store_true")
    parser.add_argument("--model", default=os.path.join(ROOT, ".cache", "models", "all-MiniLM-L6-v2"))
    args = parser.parse_args()
    corpus, queries, splits = validate(args.data)
    if args.baselines:
        baselines(corpus, queries, splits, args.model)


if __name__ == "__main__":
    main()
