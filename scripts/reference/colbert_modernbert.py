"""ColBERT on a ModernBERT body, built with PyLate (issue 26): the reference for rankforge's
ModernBERT ColBERT (crates/model/tests/colbert_modernbert.rs).

No hub is reachable, so the body is the tiny random ModernBertModel of
tests/fixtures/tiny-models/modernbert-bi (scripts/reference/tiny_models.py: hidden 32, 4 layers,
0 and 3 global, 1 and 2 local, every bias, a byte-level BPE vocabulary with [UNK] [CLS] [SEP]
[PAD] [MASK]) with its local_attention raised from 8 to 16 (the window, not a weight: 8 positions
either side, so that the queries below keep every token in reach of an attended one while
documents of 24 tokens still exceed the window); `pylate.models.ColBERT` on that config, the
weights and tokenizer with
PyLate's default prefixes "[Q] " / "[D] " (added to the tokenizer: ids 905 and 906, the word
embedding grown to 907 rows), a projection to 16 dims widened as scripts/reference/colbert.py
widens it, document_length 24 and query_length 12.

ModernBERT has no token type ids, and its rotary positions count every token (expansion tokens
included). PyLate does nothing ModernBERT-specific: the query's [MASK] expansion tokens are not
attended to (attention_mask 0) in global and local layers alike. query_length 12 keeps every
expansion token within `local_attention / 2` = 8 positions of an attended token (checked below):
a query token whose whole window is unattended gets no attention at all in transformers' SDPA
(torch >= 2.5 returns zero context for a row without keys), and rankforge does the same;
`window_without_attended_keys` records such a case (query_length 24).

Writes tests/fixtures/colbert/modernbert-tiny/ (the model as `ColBERT.save` writes it, model card
removed) and tests/fixtures/colbert_modernbert.json: settings, the token ids / attention masks /
skiplist masks of the queries and documents of colbert.py, per-token vectors as `ColBERT.encode`
returns them, MaxSim scores of every query x document, the query vectors with
attend_to_expansion_tokens = true (query_length 24: nothing is masked there), and the
window_without_attended_keys case.

usage: scripts/reference/setup_pylate.sh && .cache/venv-pylate/bin/python scripts/reference/colbert_modernbert.py
"""
import json
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from colbert import DIM, DOCUMENT_LENGTH, DOCUMENTS, QUERIES, g, score_grid, tokenized, widen  # noqa: E402

from pylate import models  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "tests/fixtures/tiny-models/modernbert-bi")
OUT = os.path.join(ROOT, "tests/fixtures/colbert/modernbert-tiny")
FIXTURE = os.path.join(ROOT, "tests/fixtures/colbert_modernbert.json")
BASE_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
QUERY_LENGTH = 12
LONG_QUERY_LENGTH = 24
LOCAL_ATTENTION = 16
torch.set_num_threads(2)


def query_vectors(model, texts):
    out = model.encode(texts, is_query=True, output_value=None)
    return [
        {
            "text": t,
            "input_ids": out["input_ids"][i].tolist(),
            "attention_mask": out["attention_mask"][i].tolist(),
            "vectors": g(out["token_embeddings"][i]),
        }
        for i, t in enumerate(texts)
    ]


def every_window_attended(entry, half_window):
    mask = entry["attention_mask"]
    attended = [i for i, m in enumerate(mask) if m]
    return all(any(abs(i - j) <= half_window for j in attended) for i in range(len(mask)))


def main():
    work = OUT + ".work"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for name in BASE_FILES:
        shutil.copy(os.path.join(SOURCE, name), work)
    with open(os.path.join(work, "config.json")) as f:
        config = json.load(f)
    config["local_attention"] = LOCAL_ATTENTION
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shutil.rmtree(OUT, ignore_errors=True)
    torch.manual_seed(20)
    model = models.ColBERT(
        work, device="cpu", embedding_size=DIM, query_length=QUERY_LENGTH, document_length=DOCUMENT_LENGTH
    )
    widen(model[1], 21)
    model.save(OUT)
    os.remove(os.path.join(OUT, "README.md"))
    shutil.rmtree(work)

    model = models.ColBERT(OUT, device="cpu")
    body = model[0].auto_model
    assert type(body).__name__ == "ModernBertModel", type(body)
    half_window = body.config.local_attention // 2
    queries = query_vectors(model, QUERIES)
    assert all(every_window_attended(q, half_window) for q in queries), "query_length too long"
    doc_out = model.encode(DOCUMENTS, is_query=False, output_value=None)
    doc_vectors = model.encode(DOCUMENTS, is_query=False)
    documents = []
    for i, text in enumerate(DOCUMENTS):
        entry = {"text": text, **tokenized(model, text, False)}
        n = len(entry["input_ids"])
        assert entry["input_ids"] == doc_out["input_ids"][i].tolist()[:n]
        entry["scored"] = [int(m) for m in doc_out["masks"][i].tolist()[:n]]
        entry["vectors"] = g(doc_vectors[i])
        documents.append(entry)
    for entry in queries:
        single = tokenized(model, entry["text"], True)
        assert single["input_ids"] == entry["input_ids"], entry["text"]

    attending = models.ColBERT(OUT, device="cpu", attend_to_expansion_tokens=True, query_length=LONG_QUERY_LENGTH)
    attend = query_vectors(attending, QUERIES[:2])

    long = models.ColBERT(OUT, device="cpu", query_length=LONG_QUERY_LENGTH)
    windows = query_vectors(long, QUERIES[3:4])
    for entry in windows:
        mask = entry["attention_mask"]
        attended = [i for i, m in enumerate(mask) if m]
        entry["window_attended"] = [int(any(abs(i - j) <= half_window for j in attended)) for i in range(len(mask))]
        assert 0 in entry["window_attended"], "the case shows a window without attended keys"

    fixture = {
        "about": "scripts/reference/colbert_modernbert.py: PyLate's ColBERT on the tiny ModernBERT body "
        "(tests/fixtures/colbert/modernbert-tiny), its tokenization, vectors and MaxSim scores",
        "versions": {
            "pylate": __import__("pylate").__version__,
            "transformers": __import__("transformers").__version__,
            "torch": torch.__version__,
        },
        "attn_implementation": body.config._attn_implementation,
        "settings": {
            "query_prefix": model.query_prefix,
            "document_prefix": model.document_prefix,
            "query_prefix_id": model.query_prefix_id,
            "document_prefix_id": model.document_prefix_id,
            "query_length": model.query_length,
            "document_length": model.document_length,
            "dim": DIM,
            "skiplist_ids": sorted(set(model.skiplist)),
            "mask_token_id": model.tokenizer.mask_token_id,
            "vocab_size": body.config.vocab_size,
            "half_window": half_window,
        },
        "queries": queries,
        "documents": documents,
        "scores": [g(row) for row in score_grid(model)],
        "attend_to_expansion_tokens": {"query_length": LONG_QUERY_LENGTH, "queries": attend},
        "window_without_attended_keys": {"query_length": LONG_QUERY_LENGTH, "queries": windows},
    }
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {FIXTURE} and {OUT} ({fixture['attn_implementation']} attention)")


if __name__ == "__main__":
    main()
