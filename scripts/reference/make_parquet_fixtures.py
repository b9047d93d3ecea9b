"""Writes the small parquet / Arrow IPC fixtures of rankforge-data's columnar and training-file
tests (crates/data/tests/parquet.rs) to tests/fixtures/parquet/, each beside a jsonl twin
holding the same records, so the tests compare parquet (or IPC) reading with jsonl reading
record for record.

The records come from the bundled sample (data/sample): train-split queries, their judged
documents as positives and fixed other documents as negatives, with made-up but consistent
teacher scores. Layouts, as sentence-transformers' trainers and FlagEmbedding name columns:

  st_triplets        query, positive, negative                      (+ st_triplets.arrow, IPC)
  st_ntuples         query, positive, negative_1..negative_4        (row groups of 3 rows)
  st_anchor_pairs    anchor, positive
  st_labeled_pairs   query, document, label
  st_margin_mse      query, positive, negative, score (teacher margin pos - neg)
  st_lists           query, docs (list), labels (list)
  flag               query, pos, neg, pos_scores, neg_scores, prompt  (+ flag.feather, IPC)
  beir_corpus        _id, title, text      beir_queries   _id, text
  bad_*              a null query at row 5 and a NaN score at row 3 (bad_values), a missing
                     `positive` column (bad_missing_column), a pos_scores list one short at
                     row 3 (bad_scores; its jsonl twin has the same defect at line 3)

usage: .cache/venv-ref/bin/python scripts/reference/make_parquet_fixtures.py
(needs pandas and pyarrow: scripts/reference/requirements.txt)
"""

import json
import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
OUT = ROOT / "tests" / "fixtures" / "parquet"
ROWS = 8


def first_sentence(text: str) -> str:
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def read_jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(name: str, records):
    with open(OUT / f"{name}.jsonl", "w", encoding="utf-8") as f:
        for record in records:
            clean = {k: v for k, v in record.items() if v is not None}
            f.write(json.dumps(clean, ensure_ascii=False) + "\n")


def write_parquet(name: str, records, schema: pa.Schema, row_group_size=None):
    table = pa.Table.from_pandas(pd.DataFrame(records), schema=schema, preserve_index=False)
    pq.write_table(table, OUT / f"{name}.parquet", row_group_size=row_group_size)
    return table


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    corpus = read_jsonl(SAMPLE / "corpus.jsonl")
    queries = {q["_id"]: q["text"] for q in read_jsonl(SAMPLE / "queries.jsonl")}
    docs = {d["_id"]: d for d in corpus}
    judged = {}
    with open(SAMPLE / "qrels" / "train.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, grade = line.rstrip("\n").split("\t")
            if int(grade) > 0:
                judged.setdefault(qid, []).append(did)
    qids = sorted(judged)[:ROWS]
    relevant = set(d for q in qids for d in judged[q])
    others = [d["_id"] for d in corpus if d["_id"] not in relevant]

    def text(did):
        return first_sentence(docs[did]["text"])

    rows = []
    for i, qid in enumerate(qids):
        negatives = [others[(7 * i + 13 * k) % len(others)] for k in range(4)]
        positives = judged[qid][:2]
        rows.append((queries[qid], [text(d) for d in positives], [text(d) for d in negatives]))

    string = pa.string()
    strings = pa.list_(string)
    floats = pa.list_(pa.float64())

    triplets = [{"query": q, "positive": p[0], "negative": n[0]} for q, p, n in rows]
    schema = pa.schema([("query", string), ("positive", string), ("negative", string)])
    table = write_parquet("st_triplets", triplets, schema)
    write_jsonl("st_triplets", triplets)
    # Arrow IPC, record batches of 3 rows (row ranges cross batch boundaries).
    feather.write_feather(table, OUT / "st_triplets.arrow", chunksize=3)

    ntuples = [
        {"query": q, "positive": p[0], **{f"negative_{k + 1}": n[k] for k in range(4)}}
        for q, p, n in rows
    ]
    schema = pa.schema(
        [("query", string), ("positive", string)]
        + [(f"negative_{k + 1}", string) for k in range(4)]
    )
    write_parquet("st_ntuples", ntuples, schema, row_group_size=3)
    write_jsonl("st_ntuples", ntuples)

    pairs = [{"anchor": q, "positive": p[0]} for q, p, _ in rows]
    write_parquet("st_anchor_pairs", pairs, pa.schema([("anchor", string), ("positive", string)]))
    write_jsonl("st_anchor_pairs", pairs)

    labeled = []
    for q, p, n in rows:
        labeled.append({"query": q, "document": p[0], "label": 1})
        labeled.append({"query": q, "document": n[0], "label": 0})
    labeled = labeled[:16]
    schema = pa.schema([("query", string), ("document", string), ("label", pa.int64())])
    write_parquet("st_labeled_pairs", labeled, schema)
    write_jsonl("st_labeled_pairs", labeled)

    margins = [
        {"query": q, "positive": p[0], "negative": n[0], "score": round(4.0 + 0.75 * i, 2)}
        for i, (q, p, n) in enumerate(rows)
    ]
    schema = pa.schema(
        [("query", string), ("positive", string), ("negative", string), ("score", pa.float64())]
    )
    write_parquet("st_margin_mse", margins, schema)
    write_jsonl("st_margin_mse", margins)

    # Listwise: documents in a mixed order (a negative first), graded labels.
    lists = []
    for q, p, n in rows:
        documents = [n[0]] + p + n[1:3]
        labels = [0] + [2, 1][: len(p)] + [0, 0]
        lists.append({"query": q, "docs": documents, "labels": labels})
    schema = pa.schema([("query", string), ("docs", strings), ("labels", pa.list_(pa.int64()))])
    write_parquet("st_lists", lists, schema)
    write_jsonl("st_lists", lists)

    flag = []
    for i, (q, p, n) in enumerate(rows):
        flag.append(
            {
                "query": q,
                "pos": p,
                "neg": n,
                "pos_scores": [round(0.9 - 0.05 * k, 2) for k in range(len(p))],
                "neg_scores": [round(0.3 - 0.05 * k, 2) for k in range(len(n))],
                # One row without a prompt (null in parquet, absent in jsonl).
                "prompt": None if i == 2 else "Represent this question for retrieving answers: ",
            }
        )
    flag_schema = pa.schema(
        [
            ("query", string),
            ("pos", strings),
            ("neg", strings),
            ("pos_scores", floats),
            ("neg_scores", floats),
            ("prompt", string),
        ]
    )
    table = write_parquet("flag", flag, flag_schema)
    write_jsonl("flag", flag)
    feather.write_feather(table, OUT / "flag.feather", chunksize=5)

    beir_docs = [
        {"_id": d["_id"], "title": d["title"], "text": first_sentence(d["text"])}
        for d in corpus[:ROWS]
    ]
    schema = pa.schema([("_id", string), ("title", string), ("text", string)])
    write_parquet("beir_corpus", beir_docs, schema)
    write_jsonl("beir_corpus", beir_docs)
    beir_queries = [{"_id": qid, "text": queries[qid]} for qid in qids]
    write_parquet("beir_queries", beir_queries, pa.schema([("_id", string), ("text", string)]))
    write_jsonl("beir_queries", beir_queries)

    # Bad files. A NaN teacher margin at row 3, a null query at row 5.
    bad = [dict(r) for r in margins]
    bad[2]["score"] = math.nan
    bad[4]["query"] = None
    schema = pa.schema(
        [("query", string), ("positive", string), ("negative", string), ("score", pa.float64())]
    )
    table = pa.Table.from_pylist(bad, schema=schema)
    pq.write_table(table, OUT / "bad_values.parquet")
    # The jsonl twin: a margin that is a string at line 3, a null query at line 5.
    bad_jsonl = [dict(r) for r in margins]
    bad_jsonl[2]["score"] = "high"
    with open(OUT / "bad_values.jsonl", "w", encoding="utf-8") as f:
        for i, record in enumerate(bad_jsonl):
            if i == 4:
                record["query"] = None
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    missing = [{"query": r["query"], "negative": r["negative"]} for r in triplets]
    write_parquet(
        "bad_missing_column", missing, pa.schema([("query", string), ("negative", string)])
    )

    scores = [dict(r) for r in flag]
    scores[2]["pos_scores"] = scores[2]["pos_scores"][:-1] or []
    scores[2]["pos"] = scores[2]["pos"] + ["An extra positive without a score."]
    write_parquet("bad_scores", scores, flag_schema)
    write_jsonl("bad_scores", scores)


if __name__ == "__main__":
    main()
