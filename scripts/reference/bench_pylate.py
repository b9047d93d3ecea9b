"""PyLate peer for scripts/bench_colbert.sh (issue 26): ColBERT rerank throughput on the workload
file that script writes, the same candidates rankforge reranks, as JSON.

- cold: the documents are not encoded yet: `model.encode(docs, is_query=False)` over the
  workload's distinct documents (each once, as rankforge's rerank encodes each distinct
  document id once per run), `model.encode(queries, is_query=True)`, then
  `pylate.rank.rerank(...)` per query list;
- warm: the documents were encoded beforehand (by the cold pass of the same round): only the warm
  queries are encoded and reranked against their (already encoded) candidate lists.

Batch size 32 on both sides, the model's own query_length / document_length. An untimed
warm-up on the first list, then `--rounds` timed rounds; medians. `--scores` also writes the cold pass's
scores (qid -> doc id -> MaxSim) for the agreement check against rankforge.

usage: bench_pylate.py MODEL_DIR WORKLOAD.json [--threads 2] [--rounds 3] [--batch-size 32]
       [--output out.json] [--scores scores.json]
"""
import argparse
import json
import os
import resource
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("workload")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--output")
    ap.add_argument("--scores")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import pylate
    from pylate import models, rank

    work = json.load(open(args.workload))
    texts = work["documents"]  # doc id -> title + " " + text, as rankforge's rerank joins them
    cold, warm = work["cold"], work["warm"]
    cold_ids = list(dict.fromkeys(d for q in cold for d in q["doc_ids"]))
    model = models.ColBERT(model_name_or_path=args.model, device="cpu")
    model.eval()

    def encode(sentences, is_query):
        return model.encode(
            sentences, batch_size=args.batch_size, is_query=is_query, show_progress_bar=False
        )

    def rerank(lists, vectors):
        queries = encode([q["query"] for q in lists], True)
        return rank.rerank(
            documents_ids=[q["doc_ids"] for q in lists],
            queries_embeddings=queries,
            documents_embeddings=[[vectors[d] for d in q["doc_ids"]] for q in lists],
        )

    def cold_pass(lists):
        ids = list(dict.fromkeys(d for q in lists for d in q["doc_ids"]))
        vectors = dict(zip(ids, encode([texts[d] for d in ids], False)))
        return rerank(lists, vectors), vectors

    with torch.inference_mode():
        # Warm-up (not timed): the first cold list, and one warm query against it.
        _, vectors = cold_pass(cold[:1])
        rerank([q for q in warm if q["doc_ids"] == cold[0]["doc_ids"]][:1], vectors)
        cold_seconds, warm_seconds = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            results, vectors = cold_pass(cold)
            cold_seconds.append(time.perf_counter() - start)
            # Warm: the documents' vectors from the cold pass just timed.
            start = time.perf_counter()
            rerank(warm, vectors)
            warm_seconds.append(time.perf_counter() - start)

    cold_pairs = sum(len(q["doc_ids"]) for q in cold)
    warm_pairs = sum(len(q["doc_ids"]) for q in warm)
    result = {
        "system": "pylate",
        "versions": {
            "pylate": pylate.__version__,
            "torch": torch.__version__,
            "sentence_transformers": __import__("sentence_transformers").__version__,
        },
        "threads": args.threads,
        "batch_size": args.batch_size,
        "query_length": model.query_length,
        "document_length": model.document_length,
        "cold": {
            "queries": len(cold),
            "pairs": cold_pairs,
            "documents_encoded": len(cold_ids),
            "seconds": cold_seconds,
            "median_seconds": statistics.median(cold_seconds),
            "candidates_per_second": cold_pairs / statistics.median(cold_seconds),
        },
        "warm": {
            "queries": len(warm),
            "pairs": warm_pairs,
            "seconds": warm_seconds,
            "median_seconds": statistics.median(warm_seconds),
            "candidates_per_second": warm_pairs / statistics.median(warm_seconds),
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    if args.scores:
        scores = {
            q["qid"]: {r["id"]: r["score"] for r in ranked} for q, ranked in zip(cold, results)
        }
        with open(args.scores, "w") as f:
            json.dump(scores, f)


if __name__ == "__main__":
    main()
