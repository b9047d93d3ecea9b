"""PyLate's new prefix tokens (issue 26): `pylate.models.ColBERT(<plain BERT dir>)` with its
default prefixes "[Q] " / "[D] ", which are not vocabulary tokens, so PyLate adds them to the
tokenizer and grows the word embedding. The reference for `ColBert::from_encoder`
(crates/model/tests/colbert_new_tokens.rs).

The plain BERT directory is the body of tests/fixtures/colbert/pylate-tiny (scripts/reference/
colbert.py): its config.json, model.safetensors, tokenizer.json and tokenizer_config.json, copied
to a temporary directory (the Rust test copies the same files). What PyLate does there
(pylate 1.6 `ColBERT.__init__`, transformers 5 `resize_token_embeddings`):

  1. `resize_token_embeddings(len(tokenizer))`: the table cut or grown to the tokenizer's length
     (added tokens included; here 700 = 700, nothing changes);
  2. `tokenizer.add_tokens([query_prefix, document_prefix])`: plain added tokens (special false,
     normalized true); a new one gets the next id (700, 701), one already in the vocabulary keeps
     its id but is listed among the added tokens too;
  3. `resize_token_embeddings(len(tokenizer))` with `mean_resizing=True` (the default): each new
     row is drawn from N(mean, 1e-9 * cov) of the old rows (torch's global generator) when
     1e-9 * cov is positive definite, else is the mean.

Writes tests/fixtures/colbert_new_tokens.json: the vocabulary sizes, the prefix ids, the added
tokens as tokenizer.json lists them after PyLate's save, the old rows' mean, PyLate's new rows and
the largest standard deviation of the noise (sqrt(1e-9 * max var)), the projection
(`linear.weight`, [dim, hidden]; widened as colbert.py does), token ids of the queries and
documents of colbert.py, and the MaxSim scores of every query x document. The Rust test copies
the new rows and the projection into its model and compares the scores.

usage: scripts/reference/setup_pylate.sh && .cache/venv-pylate/bin/python scripts/reference/colbert_new_tokens.py
"""
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from colbert import DIM, DOCUMENT_LENGTH, DOCUMENTS, QUERIES, QUERY_LENGTH, g, score_grid, tokenized, widen  # noqa: E402

from pylate import models  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "tests/fixtures/colbert/pylate-tiny")
BASE_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
FIXTURE = os.path.join(ROOT, "tests/fixtures/colbert_new_tokens.json")
torch.set_num_threads(2)


def main():
    work = tempfile.mkdtemp()
    try:
        base = os.path.join(work, "base")
        os.makedirs(base)
        for name in BASE_FILES:
            shutil.copy(os.path.join(SOURCE, name), base)
        old = load_file(os.path.join(base, "model.safetensors"))["embeddings.word_embeddings.weight"]
        with open(os.path.join(base, "tokenizer.json")) as f:
            before = json.load(f)
        torch.manual_seed(6)
        model = models.ColBERT(
            base, device="cpu", embedding_size=DIM, query_length=QUERY_LENGTH, document_length=DOCUMENT_LENGTH
        )
        assert (model.query_prefix, model.document_prefix) == ("[Q] ", "[D] ")
        widen(model[1], 7)
        table = model[0].auto_model.embeddings.word_embeddings.weight.detach()
        rows_before = old.shape[0]
        assert torch.equal(table[:rows_before], old), "old rows unchanged"
        mean = old.mean(0)
        centered = old - mean
        cov = centered.T @ centered / rows_before
        positive_definite = bool(torch.linalg.cholesky_ex(1e-9 * cov).info.eq(0))
        noise_std = float((1e-9 * cov.diagonal().max()).sqrt())
        saved = os.path.join(work, "saved")
        model.save(saved)
        with open(os.path.join(saved, "tokenizer.json")) as f:
            after = json.load(f)
        with open(os.path.join(saved, "config.json")) as f:
            saved_vocab = json.load(f)["vocab_size"]
        reloaded = models.ColBERT(saved, device="cpu")
        assert (reloaded.query_prefix_id, reloaded.document_prefix_id) == (model.query_prefix_id, model.document_prefix_id)
        fixture = {
            "about": "scripts/reference/colbert_new_tokens.py: PyLate's ColBERT on the plain tiny BERT body "
            "(tests/fixtures/colbert/pylate-tiny's base files) with the default prefixes [Q] / [D] added",
            "versions": {
                "pylate": __import__("pylate").__version__,
                "transformers": __import__("transformers").__version__,
                "tokenizers": __import__("tokenizers").__version__,
                "torch": torch.__version__,
            },
            "base_files": BASE_FILES,
            "source": "tests/fixtures/colbert/pylate-tiny",
            "settings": {
                "query_prefix": model.query_prefix,
                "document_prefix": model.document_prefix,
                "query_prefix_id": model.query_prefix_id,
                "document_prefix_id": model.document_prefix_id,
                "query_length": model.query_length,
                "document_length": model.document_length,
                "dim": DIM,
                "skiplist_ids": sorted(set(model.skiplist)),
            },
            "vocab_before": rows_before,
            "tokenizer_length_before": len(before["model"]["vocab"]) + sum(
                1 for t in before["added_tokens"] if t["content"] not in before["model"]["vocab"]
            ),
            "vocab_after": len(model.tokenizer),
            "saved_vocab_size": saved_vocab,
            "added_tokens_before": before["added_tokens"],
            "added_tokens": after["added_tokens"],
            "mean_of_old_rows": g(mean),
            "covariance_positive_definite": positive_definite,
            "noise_std_max": noise_std,
            "new_rows": [g(row) for row in table[rows_before:]],
            "projection": [g(row) for row in model[1].linear.weight.detach()],
            "queries": [{"text": t, **tokenized(model, t, True)} for t in QUERIES],
            "documents": [{"text": t, **tokenized(model, t, False)} for t in DOCUMENTS],
            "scores": [g(row) for row in score_grid(model)],
        }
        reloaded_scores = score_grid(reloaded)
        diff = max(abs(a - b) for ra, rb in zip(fixture["scores"], reloaded_scores) for a, b in zip(ra, rb))
        assert diff < 1e-5, diff
    finally:
        shutil.rmtree(work)
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    dev = max(abs(a - b) for row in fixture["new_rows"] for a, b in zip(row, fixture["mean_of_old_rows"]))
    print(
        f"wrote {FIXTURE}: vocabulary {fixture['vocab_before']} -> {fixture['vocab_after']}, "
        f"ids [Q] {model.query_prefix_id} [D] {model.document_prefix_id}; new rows within {dev:.2e} "
        f"of the old rows' mean (noise std <= {noise_std:.2e}, positive definite {positive_definite})"
    )


if __name__ == "__main__":
    main()
