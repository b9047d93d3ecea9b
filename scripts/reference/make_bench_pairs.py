"""Realistic reranking pairs for the predict benchmark: SciFact claims as queries (~10-20 words)
and SciFact abstracts cut to 100-150 words as passages (deterministic).

usage: make_bench_pairs.py SCIFACT_DIR OUT.jsonl [--pairs 512] [--full]
  --full: whole abstracts of at least 300 words instead (pairs that fill 512 tokens)
"""
import argparse
import json
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scifact")
    ap.add_argument("out")
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    rng = random.Random(13)
    queries = [json.loads(l)["text"] for l in open(f"{args.scifact}/queries.jsonl")]
    docs = []
    for line in open(f"{args.scifact}/corpus.jsonl"):
        d = json.loads(line)
        words = (d["title"] + ". " + d["text"]).split()
        if args.full:
            if len(words) >= 300:
                docs.append(" ".join(words))
        elif len(words) >= 100:
            docs.append(" ".join(words[: rng.randint(100, 150)]))
    with open(args.out, "w") as f:
        for _ in range(args.pairs):
            f.write(json.dumps({"query": rng.choice(queries), "document": rng.choice(docs)}) + "\n")


if __name__ == "__main__":
    main()
