"""Loads the ColBERT directories rankforge saved (crates/model/tests/colbert.rs with
RANKFORGE_KEEP_COLBERT_SAVED=SAVED_DIR: the tiny PyLate model and the tiny Stanford model, both
re-saved in PyLate's format, the tiny model with PyLate's default "[Q] " / "[D] " prefix
tokens, and the new ColBERT `ColBert::from_encoder` made on the plain tiny BERT with those
prefixes added, tests/colbert_new_tokens.rs; the tiny ModernBERT ColBERT,
tests/colbert_modernbert.rs) with `pylate.models.ColBERT(dir)`, unchanged, and compares with
tests/fixtures/colbert.json (colbert_new_tokens.json, colbert_modernbert.json for the last two):

  - the encoder's tensors are exactly those of transformers' model (no missing or unexpected
    name), the projection is PyLate's Dense without bias;
  - the settings (prefixes, lengths, expansion, skiplist) are the fixture's;
  - token ids of queries and documents are the fixture's exactly;
  - query and document vectors, and the MaxSim scores of every query × document, are within
    1e-5 (vectors) and 1e-5 of their scale (scores); the largest differences are printed.

usage: scripts/reference/check_colbert_saved.sh   (saves with rankforge, then runs this)
       check_colbert_saved.py SAVED_DIR
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from safetensors import safe_open

from pylate import models
from pylate.scores import colbert_scores

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check(path, fixture, reference):
    """`reference`: the fixture's part for this model (the main model's, or `default_prefix`)."""
    model = models.ColBERT(path, device="cpu")
    assert len(model) == 2 and type(model[1]).__name__ == "Dense", [type(m) for m in model]
    assert model[1].linear.bias is None, "projection without bias"
    with safe_open(os.path.join(path, "model.safetensors"), framework="pt") as f:
        saved = set(f.keys())
    expected = set(model[0].auto_model.state_dict().keys())
    assert saved == expected, (sorted(saved - expected), sorted(expected - saved))
    settings = reference["settings"]
    for key in ("query_prefix", "document_prefix", "query_prefix_id", "document_prefix_id"):
        assert getattr(model, key) == settings[key], (key, getattr(model, key), settings[key])
    for key in ("query_length", "document_length"):
        assert getattr(model, key) == settings.get(key, fixture["settings"][key]), key
    skiplist = reference["settings"].get("skiplist_ids", fixture["settings"]["skiplist_ids"])
    assert sorted(set(model.skiplist)) == skiplist
    queries = [q["text"] for q in reference["queries"]]
    documents = [d["text"] for d in reference["documents"]]
    for entry in reference["queries"]:
        assert model.tokenize([entry["text"]], is_query=True)["input_ids"][0].tolist() == entry["input_ids"]
    for entry in reference["documents"]:
        assert model.tokenize([entry["text"]], is_query=False)["input_ids"][0].tolist() == entry["input_ids"]
    q = model.encode(queries, is_query=True, convert_to_tensor=True)
    d = model.encode(documents, is_query=False, convert_to_tensor=True)
    vec_diff, compared = 0.0, 0
    for ours, entry in list(zip(q, reference["queries"])) + list(zip(d, reference["documents"])):
        if "vectors" not in entry:
            continue
        want = torch.tensor(entry["vectors"]).reshape(ours.shape)
        vec_diff = max(vec_diff, float((ours - want).abs().max()))
        compared += 1
    scores = torch.tensor([[float(colbert_scores(qi[None], dj[None])[0, 0]) for dj in d] for qi in q])
    want = torch.tensor(reference["scores"])
    score_diff = float((scores - want).abs().max())
    scale = float(want.abs().max())
    assert vec_diff <= 1e-5, vec_diff
    assert score_diff <= 1e-5 * scale, score_diff
    vectors = f"vectors within {vec_diff:.2e}, " if compared else ""
    print(f"{os.path.basename(path)}: PyLate loads rankforge's save; {vectors}"
          f"MaxSim scores within {score_diff:.2e} (scale {scale:.1f}) of the fixture")


def main():
    saved = sys.argv[1]
    with open(os.path.join(ROOT, "tests/fixtures/colbert.json")) as f:
        fixture = json.load(f)
    references = {
        "pylate-tiny": fixture,
        "stanford-tiny": fixture,
        "pylate-default-prefix-tiny": fixture["default_prefix"],
        **{f"{name}-tiny": case for name, case in fixture["architectures"].items()},
    }
    # ColBert::from_encoder with PyLate's "[Q] " / "[D] " added (crates/model/tests/
    # colbert_new_tokens.rs, PyLate's new rows and projection copied in).
    with open(os.path.join(ROOT, "tests/fixtures/colbert_new_tokens.json")) as f:
        references["pylate-new-tokens-tiny"] = json.load(f)
    # ColBERT on ModernBERT (crates/model/tests/colbert_modernbert.rs).
    with open(os.path.join(ROOT, "tests/fixtures/colbert_modernbert.json")) as f:
        references["modernbert-tiny"] = json.load(f)
    names = [n for n in references if os.path.isdir(os.path.join(saved, n))]
    assert names, f"no saved ColBERT directory in {saved}"
    for name in names:
        check(os.path.join(saved, name), fixture, references[name])


if __name__ == "__main__":
    main()
