"""bm25s scores of every BM25 variant rankforge ships, on a small corpus defined here.

Writes tests/fixtures/bm25_variants.json, which `crates/mining/tests/bm25.rs` compares
against: for each variant (lucene, robertson, atire, bm25l, bm25plus) and each (k1, b, delta)
setting, the bm25s score of every document for every query, plus the score bm25s gives a
document that holds none of the query's terms (0, or the BM25L / BM25+ non-occurrence sum).

The texts are analysed once, here, with bm25s.tokenize(stopwords="en", stemmer=english) as in
scripts/reference/bm25_scifact.py, and the fixture carries the tokens: bm25s indexes those token
lists and the Rust test indexes the same tokens (joined by spaces, read back by an analyzer
without stop words or stemming), so the comparison is of scoring alone, not of tokenization.

The corpus has terms repeated within a document, terms in every document (idf 0 for ATIRE,
floored to 0 for Robertson), terms in more than half of the documents (Robertson's floor),
terms in one or two documents (the sparse accumulation path), a document with no terms left
after stop words, and documents from 1 to ~30 terms long.

usage: $(bash scripts/reference/setup.sh) scripts/reference/bm25_variants.py [--out FILE]
"""

import argparse
import json
import os
import sys

import bm25s
import numpy as np
import Stemmer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Every text mentions "data" (a term in every document); "model" is in more than half.
TEXTS = [
    "Data models and more data: a model of the data.",
    "A statistical model fitted to survey data",
    "Data data data data data",
    "The model predicts protein folding from sequence data",
    "Protein structure data and a deep learning model",
    "Data cleaning before any model is trained",
    "Sequence alignment data; alignment scores for every sequence",
    "Model selection by cross validation on held out data",
    "A very long document about data that goes on and on, repeating model after model, "
    "describing regression, classification, clustering, ranking and retrieval of data, "
    "with yet more data and one more model for good measure",
    "Data",
    "Retrieval models rank documents for a query using term statistics and data",
    "BM25 ranking data: term frequency saturation and document length normalisation",
    "Inverted index data structures for fast retrieval",
    "A model of ocean currents from satellite data",
    "Climate model ensembles and observational data",
    "Galaxy rotation curves: data without a dark matter model",
    "Data privacy and differential privacy model guarantees",
    "Model compression: pruning, quantisation and distillation; data free distillation",
    "Genome sequencing data at scale",
    "Traffic data from road sensors and a queueing model",
    "Data journalism with public records",
    "A language model trained on web data and books",
    "Sparse data, dense model: embeddings for retrieval",
    "Rare zygomorphic flowers and pollinator data",
    "Medical imaging data labelled by radiologists for a segmentation model",
    "Data lakes, data warehouses and a data model",
    "Time series data, forecasting model, seasonal model, trend model",
    "Data",
    "Unsupervised model discovery of topics in news data",
    "Of the and to data",
    "The and of it to a",
]

QUERIES = [
    "data model",
    "protein sequence alignment alignment",
    "zygomorphic flowers",
    "retrieval ranking model for documents",
    "distillation quokka data data",
]

# (k1, b, delta): bm25s's defaults, rankforge's (Anserini's) k1 and b, full and no length
# normalisation.
SETTINGS = [(1.5, 0.75, 0.5), (0.9, 0.4, 1.0), (2.0, 1.0, 0.25), (1.2, 0.0, 0.5)]

# rankforge's variant name -> bm25s's method name.
VARIANTS = [("lucene", "lucene"), ("robertson", "robertson"), ("atire", "atire"), ("bm25l", "bm25l"), ("bm25plus", "bm25+")]


def f32(x):
    """A float32 written with 9 significant digits (enough to round-trip it)."""
    return float(f"{float(np.float32(x)):.9g}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "bm25_variants.json"))
    args = parser.parse_args()

    stemmer = Stemmer.Stemmer("english")

    def analyse(texts):
        return [list(t) for t in bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)]

    doc_tokens = analyse(TEXTS)
    query_tokens = analyse(QUERIES)
    doc_ids = [f"d{i:02}" for i in range(len(TEXTS))]

    cases = []
    for variant, method in VARIANTS:
        for k1, b, delta in SETTINGS:
            retriever = bm25s.BM25(method=method, k1=k1, b=b, delta=delta)
            retriever.index(doc_tokens, show_progress=False)
            scores, no_match = {}, {}
            for qi, tokens in enumerate(query_tokens):
                ids = retriever.get_tokens_ids(tokens)
                assert ids, f"query {QUERIES[qi]!r} has no indexed term"
                scores[f"q{qi}"] = [f32(s) for s in retriever.get_scores(tokens)]
                # What bm25s adds to every document, matched or not (BM25L, BM25+).
                extra = 0.0 if retriever.nonoccurrence_array is None else retriever.nonoccurrence_array[ids].sum()
                no_match[f"q{qi}"] = f32(extra)
            cases.append({"variant": variant, "bm25s_method": method, "k1": k1, "b": b, "delta": delta, "scores": scores, "no_match_score": no_match})

    fixture = {
        "generator": "scripts/reference/bm25_variants.py",
        "bm25s_version": bm25s.__version__,
        "analysis": "bm25s.tokenize(stopwords='en', stemmer=Stemmer('english')); bm25s indexes these tokens",
        "documents": [{"id": i, "text": t, "tokens": toks} for i, t, toks in zip(doc_ids, TEXTS, doc_tokens)],
        "queries": [{"id": f"q{i}", "text": t, "tokens": toks} for i, (t, toks) in enumerate(zip(QUERIES, query_tokens))],
        "cases": cases,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        # One line per document, query and score vector keeps the file short and diffable.
        f.write("{\n")
        head = [k for k in fixture if k not in ("documents", "queries", "cases")]
        for k in head:
            f.write(f" {json.dumps(k)}: {json.dumps(fixture[k])},\n")
        for k in ("documents", "queries"):
            rows = ",\n  ".join(json.dumps(r, ensure_ascii=False) for r in fixture[k])
            f.write(f' "{k}": [\n  {rows}\n ],\n')
        f.write(' "cases": [\n')
        for ci, case in enumerate(cases):
            f.write("  {" + ", ".join(f"{json.dumps(k)}: {json.dumps(case[k])}" for k in ("variant", "bm25s_method", "k1", "b", "delta")) + ",\n")
            f.write(f'   "no_match_score": {json.dumps(case["no_match_score"])},\n')
            f.write('   "scores": {\n')
            f.write(",\n".join(f"    {json.dumps(q)}: {json.dumps(v)}" for q, v in case["scores"].items()))
            f.write("\n   }\n  }" + ("," if ci + 1 < len(cases) else "") + "\n")
        f.write(" ]\n}\n")
    json.load(open(args.out, encoding="utf-8"))  # well-formed
    print(f"wrote {args.out}: {len(cases)} cases, {len(TEXTS)} documents, {len(QUERIES)} queries", file=sys.stderr)


if __name__ == "__main__":
    main()
