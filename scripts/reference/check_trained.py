"""Checks a cross-encoder rankforge trained against sentence-transformers: CrossEncoder(run/final)
must read the length the run trained at with no argument, and its scores of the run's dev
candidates must equal the trainer's own (run/final-dev.trec, 1e-5).

usage: scripts/reference/check_trained.sh   (trains with rankforge, then runs this)
       check_trained.py RUN_DIR BEIR_DIR MAX_LENGTH
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
from sentence_transformers import CrossEncoder

run, beir, max_length = sys.argv[1], sys.argv[2], int(sys.argv[3])


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


queries = {q["_id"]: q["text"] for q in read_jsonl(os.path.join(beir, "queries.jsonl"))}
corpus = {
    d["_id"]: f'{d["title"]} {d["text"]}' if d.get("title") else d["text"]
    for d in read_jsonl(os.path.join(beir, "corpus.jsonl"))
}
rows = [line.split() for line in open(os.path.join(run, "final-dev.trec")) if line.strip()]
pairs = [(queries[r[0]], corpus[r[2]]) for r in rows]
trainer = np.array([float(r[4]) for r in rows])

ce = CrossEncoder(os.path.join(run, "final"), device="cpu")
assert ce.max_length == max_length, f"sentence-transformers reads max_length {ce.max_length}, not {max_length}"
longer = sum(len(ce.tokenizer(q, d)["input_ids"]) > max_length for q, d in pairs)
ours = ce.predict(pairs, batch_size=8)
diff = float(np.max(np.abs(ours - trainer)))
print(json.dumps({"pairs": len(pairs), "longer_than_max_length": longer,
                  "max_length": ce.max_length, "max_abs_diff": diff}))
assert longer > 0, "no pair is longer than the trained length: the check would prove nothing"
assert diff <= 1e-5, "sentence-transformers' scores of the saved model differ from the trainer's"
print("OK: sentence-transformers reads the trained length and reproduces the trainer's dev scores")
