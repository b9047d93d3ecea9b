"""Checks that transformers serves a decoder-only reranker exported by `rankforge
export-classifier` (issue 25) as a one-logit sequence classifier: exports the tiny Qwen3
fixture (tests/fixtures/qwen3-tiny-reranker, a sentence-transformers LogitScore directory),
loads the result with `AutoModelForSequenceClassification.from_pretrained` (no missing or
unexpected tensors: the body's weights and `score.weight` = W[yes] − W[no]) and compares its
logit on each fixture prompt (tests/fixtures/qwen3.json: the prompt ids sentence-transformers
built, with and without the instruction) with the reference raw score logit(yes) − logit(no).
Qwen3ForSequenceClassification pools the last non-pad token: each prompt goes alone (a batch of
one, no padding); a right-padded batch is checked too.

usage: cargo build -p rankforge-cli && .cache/venv-ref/bin/python scripts/reference/check_qwen3_classifier.py
"""
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
from transformers import AutoModelForSequenceClassification

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("RANKFORGE_BIN", os.path.join(ROOT, "target/debug/rankforge"))
torch.set_num_threads(2)
TOLERANCE = 1e-5


def main():
    fixture = json.load(open(os.path.join(ROOT, "tests/fixtures/qwen3.json")))
    cases = [(p["ids"], p["raw_score"], "pair") for p in fixture["pairs"]]
    cases += [(p["ids"], p["raw_score"], "instructed") for p in fixture["instructed"]]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "classifier")
        subprocess.run(
            [BIN, "export-classifier", "--model",
             os.path.join(ROOT, "tests/fixtures/qwen3-tiny-reranker"), "--output", out],
            check=True,
        )
        model, info = AutoModelForSequenceClassification.from_pretrained(
            out, output_loading_info=True, dtype=torch.float32
        )
        model.eval()
        print(type(model).__name__, {k: v for k, v in info.items() if v})
        bad = [k for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if info.get(k)]
        if bad:
            sys.exit(f"loading the export: {bad}: {info}")
        worst = 0.0
        with torch.no_grad():
            for ids, want, kind in cases:
                logit = model(input_ids=torch.tensor([ids])).logits[0, 0].item()
                worst = max(worst, abs(logit - want) / max(1.0, abs(want)))
                print(f"{kind}: classifier {logit:+.6f}  reference {want:+.6f}")
            # Right padding, as transformers expects: the last non-pad token is pooled.
            pad = model.config.pad_token_id
            if pad is not None:
                longest = max(len(ids) for ids, _, _ in cases)
                batch = torch.tensor([ids + [pad] * (longest - len(ids)) for ids, _, _ in cases])
                mask = torch.tensor([[1] * len(ids) + [0] * (longest - len(ids)) for ids, _, _ in cases])
                logits = model(input_ids=batch, attention_mask=mask).logits[:, 0].tolist()
                for (ids, want, kind), logit in zip(cases, logits):
                    worst = max(worst, abs(logit - want) / max(1.0, abs(want)))
                print(f"right-padded batch of {len(cases)} (pad id {pad}) checked")
            else:
                print("no pad_token_id: the batched check is skipped (transformers needs one)")
        print(f"largest relative difference {worst:.2e} over {len(cases)} prompts")
        if worst > TOLERANCE:
            sys.exit(f"the classifier's logits differ from the reference raw scores by {worst:.2e}")
        print("ok")


if __name__ == "__main__":
    main()
